// The report writers: exact output of every format for a hand-built result whose paths hold
// spaces, newlines, commas, quotes, invalid UTF-8 and valid multi-byte UTF-8; json_escape_path
// checked against an independent decoder (the test's own) on random byte strings.
#include <spindle/report.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spindle {
namespace {

FileIndex add_file(FileTable& table, std::string_view path, std::uint64_t size) {
  FileEntry entry;
  entry.size = size;
  return table.add(entry, path);
}

// A file with the identity and times an action checks, as the walk would have recorded them.
FileIndex add_file_with_state(FileTable& table, std::string_view path, std::uint64_t size, std::uint64_t ino) {
  FileEntry entry;
  entry.size = size;
  entry.ino = ino;
  entry.set_device(makedev(8, 1));
  entry.root = static_cast<std::uint32_t>(ino % 2);
  entry.mtime_ns = -5;  // before 1970: negative times round-trip too
  entry.ctime_ns = 1'700'000'000'123'456'789;
  return table.add(entry, path);
}

// Two groups (sorted as group.hpp promises) with awkward names, full stats and two errors.
GroupResult sample_result() {
  GroupResult result;
  DuplicateGroup big;
  big.size = 1536;
  big.hash = Digest{0x0123456789abcdef, 0xfedcba9876543210};
  std::uint64_t ino = 10;
  for (std::string_view path : {"/d/a b", "/d/new\nline", "/d/x,\"q\""}) {
    big.files.push_back(add_file_with_state(result.files, path, big.size, ++ino));
  }
  DuplicateGroup small;
  small.size = 10;
  small.hash = Digest{0, 1};
  for (std::string_view path : {
           "/d/\xc0\xaf",          // overlong '/'
           "/d/\xc3\xa9",          // é
           "/d/\xe2\x82",          // truncated €
           "/d/\xed\xa0\x80",      // U+D800 encoded in UTF-8
           "/d/\xf0\x9f\x98\x80",  // emoji
           "/d/\xff",
       }) {
    small.files.push_back(add_file(result.files, path, small.size));
  }
  result.groups = {big, small};
  result.errors.push_back(FileError{"/d/secret\xff", EACCES, "open", ""});
  result.errors.push_back(FileError{"/d/gone", 0, "changed", "size changed since it was scanned"});

  RunStats& stats = result.stats;
  stats.files_scanned = 12;
  stats.bytes_scanned = 4700;
  stats.directories = 3;
  stats.skipped_special = 1;
  stats.groups = 2;
  stats.duplicate_files = 7;
  stats.wasted_bytes = 3122;
  stats.errors = 2;
  stats.bytes_read = 5000;
  stats.elapsed_ns = 12'345'678;
  stats.stages = {
      StageReport{"walk", 12, 12, 0, 0, 1'000'000, {}}, StageReport{"size", 12, 9, 2, 0, 500, {}},
      StageReport{"full", 9, 9, 2, 4668, 2'500'999, {2, 0}},  // loop0 had nothing to read
  };
  stats.pools = {
      PoolReport{.device = "vda",
                 .device_class = DeviceClass::ssd,
                 .threads = ThreadCounts{8, 2},
                 .files = 9,
                 .bytes_read = 5000,
                 .busy_ns = 3'000'000,
                 .idle_ns = 1'500'000,
                 .max_running = 4},
      PoolReport{.device = "loop0",
                 .device_class = DeviceClass::hdd,
                 .threads = ThreadCounts{1, 1},
                 .files = 0,
                 .bytes_read = 0,
                 .busy_ns = 0,
                 .idle_ns = 0,
                 .max_running = 1},
  };
  return result;
}

std::string render(ReportFormat format, const GroupResult& result) {
  std::ostringstream out;
  make_reporter(format)->write(result, out);
  return out.str();
}

TEST(Report, Text) {
  const std::string expected =
      "# 3 files of 1.5 KiB (1536 bytes), 0123456789abcdeffedcba9876543210, 3.0 KiB wasted\n"
      "/d/a b\n"
      "/d/new\nline\n"
      "/d/x,\"q\"\n"
      "\n"
      "# 6 files of 10 B (10 bytes), 00000000000000000000000000000001, 50 B wasted\n"
      "/d/\xc0\xaf\n"
      "/d/\xc3\xa9\n"
      "/d/\xe2\x82\n"
      "/d/\xed\xa0\x80\n"
      "/d/\xf0\x9f\x98\x80\n"
      "/d/\xff\n";
  EXPECT_EQ(render(ReportFormat::text, sample_result()), expected);
}

TEST(Report, Fdupes) {
  // As `fdupes -r` 2.2.0 prints: raw paths, an empty line after every group including the last.
  const std::string expected =
      "/d/a b\n"
      "/d/new\nline\n"
      "/d/x,\"q\"\n"
      "\n"
      "/d/\xc0\xaf\n"
      "/d/\xc3\xa9\n"
      "/d/\xe2\x82\n"
      "/d/\xed\xa0\x80\n"
      "/d/\xf0\x9f\x98\x80\n"
      "/d/\xff\n"
      "\n";
  EXPECT_EQ(render(ReportFormat::fdupes, sample_result()), expected);
}

TEST(Report, Csv) {
  const std::string expected =
      "size,hash,count,path\n"
      "1536,0123456789abcdeffedcba9876543210,3,/d/a b\n"
      "1536,0123456789abcdeffedcba9876543210,3,\"/d/new\nline\"\n"
      "1536,0123456789abcdeffedcba9876543210,3,\"/d/x,\"\"q\"\"\"\n"
      "10,00000000000000000000000000000001,6,/d/\xc0\xaf\n"
      "10,00000000000000000000000000000001,6,/d/\xc3\xa9\n"
      "10,00000000000000000000000000000001,6,/d/\xe2\x82\n"
      "10,00000000000000000000000000000001,6,/d/\xed\xa0\x80\n"
      "10,00000000000000000000000000000001,6,/d/\xf0\x9f\x98\x80\n"
      "10,00000000000000000000000000000001,6,/d/\xff\n";
  EXPECT_EQ(render(ReportFormat::csv, sample_result()), expected);
}

TEST(Report, Json) {
  const std::string expected =
      R"({"groups":[)"
      R"({"size":1536,"hash":"0123456789abcdeffedcba9876543210","files":[)"
      R"({"path":"/d/a b","root":1,"device":2049,"inode":11,"mtime_ns":-5,"ctime_ns":1700000000123456789},)"
      R"({"path":"/d/new\nline","root":0,"device":2049,"inode":12,"mtime_ns":-5,"ctime_ns":1700000000123456789},)"
      R"({"path":"/d/x,\"q\"","root":1,"device":2049,"inode":13,"mtime_ns":-5,"ctime_ns":1700000000123456789}]},)"
      R"({"size":10,"hash":"00000000000000000000000000000001","files":)"
      R"([{"path":"/d/\udcc0\udcaf","root":0,"device":0,"inode":0,"mtime_ns":0,"ctime_ns":0},{"path":"/d/)"
      "\xc3\xa9"
      R"(","root":0,"device":0,"inode":0,"mtime_ns":0,"ctime_ns":0},{"path":"/d/\udce2\udc82","root":0,"device":0,"inode":0,"mtime_ns":0,"ctime_ns":0},{"path":"/d/\udced\udca0\udc80","root":0,"device":0,"inode":0,"mtime_ns":0,"ctime_ns":0},)"
      R"({"path":"/d/)"
      "\xf0\x9f\x98\x80"
      R"(","root":0,"device":0,"inode":0,"mtime_ns":0,"ctime_ns":0},{"path":"/d/\udcff","root":0,"device":0,"inode":0,"mtime_ns":0,"ctime_ns":0}]}],)"
      R"("stats":{"files_scanned":12,"bytes_scanned":4700,"directories":3,"skipped_special":1,)"
      R"("groups":2,"duplicate_files":7,"wasted_bytes":3122,"errors":2,"bytes_read":5000,"elapsed_ms":12.345,)"
      R"("stages":[)"
      R"({"name":"walk","files_in":12,"files_out":12,"groups_out":0,"bytes_read":0,"elapsed_ms":1.000,)"
      R"("pool_threads":[]},)"
      R"({"name":"size","files_in":12,"files_out":9,"groups_out":2,"bytes_read":0,"elapsed_ms":0.000,)"
      R"("pool_threads":[]},)"
      R"({"name":"full","files_in":9,"files_out":9,"groups_out":2,"bytes_read":4668,"elapsed_ms":2.500,)"
      R"("pool_threads":[2,0]}],)"
      R"("pools":[)"
      R"({"device":"vda","class":"ssd","threads":[8,2],"files":9,"bytes_read":5000,"busy_ms":3.000,"idle_ms":1.500,"max_running":4},)"
      R"({"device":"loop0","class":"hdd","threads":[1,1],"files":0,"bytes_read":0,"busy_ms":0.000,"idle_ms":0.000,"max_running":1}],)"
      R"("errors_list":[)"
      R"({"path":"/d/secret\udcff","op":"open","reason":"Permission denied"},)"
      R"({"path":"/d/gone","op":"changed","reason":"size changed since it was scanned"}]}})"
      "\n";
  EXPECT_EQ(render(ReportFormat::json, sample_result()), expected);
}

// The sample's names plus the ones a terminal would obey: a title-setting OSC, a colour CSI, a
// C1 CSI (U+009B) and a lone 0x9b byte.
GroupResult hostile_result() {
  GroupResult result = sample_result();
  for (std::string_view path : {"/d/\x1b]0;pwned\x07", "/d/\x1b[31mred",
                                "/d/c1\xc2\x9b"
                                "2J",
                                "/d/8bit\x9b"
                                "2J"}) {
    result.groups[1].files.push_back(add_file(result.files, path, 10));
  }
  return result;
}

std::string render_for_terminal(ReportFormat format, const GroupResult& result) {
  std::ostringstream out;
  make_reporter(format, ReportOptions{.escape_names = true})->write(result, out);
  return out.str();
}

bool has_terminal_control(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte < 0x20 && byte != '\n') || byte == 0x7f || byte == 0x9b ||
        (byte == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xa0)) {
      return true;
    }
  }
  return false;
}

TEST(Report, TextForTerminalEscapesNames) {
  const std::string expected =
      "# 3 files of 1.5 KiB (1536 bytes), 0123456789abcdeffedcba9876543210, 3.0 KiB wasted\n"
      "/d/a b\n"
      "/d/new\\nline\n"
      "/d/x,\"q\"\n"
      "\n"
      "# 10 files of 10 B (10 bytes), 00000000000000000000000000000001, 90 B wasted\n"
      "/d/\\xc0\\xaf\n"
      "/d/\xc3\xa9\n"
      "/d/\\xe2\\x82\n"
      "/d/\\xed\\xa0\\x80\n"
      "/d/\xf0\x9f\x98\x80\n"
      "/d/\\xff\n"
      "/d/\\x1b]0;pwned\\x07\n"
      "/d/\\x1b[31mred\n"
      "/d/c1\\xc2\\x9b2J\n"
      "/d/8bit\\x9b2J\n";
  const std::string text = render_for_terminal(ReportFormat::text, hostile_result());
  EXPECT_EQ(text, expected);
  EXPECT_FALSE(has_terminal_control(text));
}

TEST(Report, FdupesAndCsvForTerminalEscapeNames) {
  const std::string fdupes = render_for_terminal(ReportFormat::fdupes, hostile_result());
  EXPECT_FALSE(has_terminal_control(fdupes)) << fdupes;
  EXPECT_NE(fdupes.find("/d/\\x1b]0;pwned\\x07\n/d/\\x1b[31mred\n"), std::string::npos) << fdupes;
  EXPECT_NE(fdupes.find("\n/d/new\\nline\n"), std::string::npos) << fdupes;
  const std::string csv = render_for_terminal(ReportFormat::csv, hostile_result());
  EXPECT_FALSE(has_terminal_control(csv)) << csv;
  EXPECT_NE(csv.find("10,00000000000000000000000000000001,10,/d/\\x1b]0;pwned\\x07\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",/d/new\\nline\n"), std::string::npos) << csv;
}

TEST(Report, RawBytesUnlessForTerminal) {
  // The default (a pipe or a file): every name byte for byte, escape sequences included.
  for (ReportFormat format : {ReportFormat::text, ReportFormat::fdupes, ReportFormat::csv}) {
    const std::string text = render(format, hostile_result());
    EXPECT_NE(text.find("/d/\x1b]0;pwned\x07\n"), std::string::npos);
    EXPECT_NE(text.find("/d/\x1b[31mred\n"), std::string::npos);
    EXPECT_NE(text.find("/d/8bit\x9b"
                        "2J\n"),
              std::string::npos);
  }
  // json escapes the same way wherever it goes; no raw control either way.
  const std::string json = render(ReportFormat::json, hostile_result());
  EXPECT_EQ(json, render_for_terminal(ReportFormat::json, hostile_result()));
  EXPECT_FALSE(has_terminal_control(json)) << json;
}

TEST(Report, EmptyResult) {
  const GroupResult empty;
  EXPECT_EQ(render(ReportFormat::text, empty), "");
  EXPECT_EQ(render(ReportFormat::fdupes, empty), "");
  EXPECT_EQ(render(ReportFormat::csv, empty), "size,hash,count,path\n");
  EXPECT_EQ(render(ReportFormat::json, empty),
            R"({"groups":[],"stats":{"files_scanned":0,"bytes_scanned":0,"directories":0,"skipped_special":0,)"
            R"("groups":0,"duplicate_files":0,"wasted_bytes":0,"errors":0,"bytes_read":0,"elapsed_ms":0.000,)"
            R"("stages":[],"pools":[],"errors_list":[]}})"
            "\n");
}

TEST(Report, LargeReportIsWrittenWhole) {
  // Far more than one 64 KiB chunk: nothing may be lost or reordered at chunk boundaries.
  GroupResult result;
  DuplicateGroup group;
  group.size = 1;
  std::string expected;
  for (int i = 0; i < 20'000; ++i) {
    const std::string path = "/some/longer/directory/name/file-" + std::to_string(i);
    group.files.push_back(add_file(result.files, path, 1));
    expected += path + '\n';
  }
  result.groups.push_back(group);
  EXPECT_EQ(render(ReportFormat::fdupes, result), expected + '\n');
  const std::string json = render(ReportFormat::json, result);
  EXPECT_NE(json.find(R"("files":[{"path":"/some/longer/directory/name/file-0","root":0,)"), std::string::npos);
  EXPECT_NE(json.find(R"({"path":"/some/longer/directory/name/file-19999","root":0,"device":0,"inode":0,)"
                      R"("mtime_ns":0,"ctime_ns":0}]}],"stats")"),
            std::string::npos);
}

TEST(HumanSize, Examples) {
  EXPECT_EQ(human_size(0), "0 B");
  EXPECT_EQ(human_size(512), "512 B");
  EXPECT_EQ(human_size(1023), "1023 B");
  EXPECT_EQ(human_size(1024), "1.0 KiB");
  EXPECT_EQ(human_size(1536), "1.5 KiB");
  EXPECT_EQ(human_size(3 * 1024 * 1024), "3.0 MiB");
  EXPECT_EQ(human_size(1'288'490'189), "1.2 GiB");
  // Never "1024.0 KiB": a value that rounds up to 1024 moves to the next unit.
  EXPECT_EQ(human_size(1024 * 1024 - 1), "1.0 MiB");
  EXPECT_EQ(human_size(UINT64_MAX), "16.0 EiB");
}

TEST(CsvField, Quoting) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field(" spaces stay "), " spaces stay ");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("\""), "\"\"\"\"");
  EXPECT_EQ(csv_field("a\nb"), "\"a\nb\"");
  EXPECT_EQ(csv_field("a\rb"), "\"a\rb\"");
  EXPECT_EQ(csv_field("\xff\xfe"), "\xff\xfe");  // bytes are bytes: no transcoding
}

TEST(JsonEscapePath, Cases) {
  EXPECT_EQ(json_escape_path("plain/path"), "plain/path");
  EXPECT_EQ(json_escape_path("q\"b\\"), "q\\\"b\\\\");
  EXPECT_EQ(json_escape_path("\b\f\n\r\t"), "\\b\\f\\n\\r\\t");
  EXPECT_EQ(json_escape_path(std::string_view("\0\x01\x1f\x7f", 4)), "\\u0000\\u0001\\u001f\\u007f");
  // The C1 controls U+0080..U+009F are escaped too (a terminal may obey them); U+00A0 is not.
  EXPECT_EQ(json_escape_path("\xc2\x80"), "\\u0080");
  EXPECT_EQ(json_escape_path("a\xc2\x9b"
                             "31m"),
            "a\\u009b31m");
  EXPECT_EQ(json_escape_path("\xc2\x9f\xc2\xa0"), "\\u009f\xc2\xa0");
  // Valid UTF-8, shortest and longest of each length, stays as is.
  for (std::string_view valid : {"\xc2\xa0", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
                                 "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xc3\xa9", "\xf0\x9f\x98\x80"}) {
    EXPECT_EQ(json_escape_path(valid), valid);
  }
  EXPECT_EQ(json_escape_path("\xff"), "\\udcff");
  EXPECT_EQ(json_escape_path("\x80"), "\\udc80");
  EXPECT_EQ(json_escape_path("\xe2\x82"), "\\udce2\\udc82");  // truncated
  EXPECT_EQ(json_escape_path("\xe2\x82x"), "\\udce2\\udc82x");
  EXPECT_EQ(json_escape_path("\xc3\xc3\xa9"), "\\udcc3\xc3\xa9");                   // a stray lead byte, then é
  EXPECT_EQ(json_escape_path("\xc0\xaf"), "\\udcc0\\udcaf");                        // overlong 2-byte
  EXPECT_EQ(json_escape_path("\xc1\xbf"), "\\udcc1\\udcbf");                        // overlong 2-byte
  EXPECT_EQ(json_escape_path("\xe0\x9f\xbf"), "\\udce0\\udc9f\\udcbf");             // overlong 3-byte
  EXPECT_EQ(json_escape_path("\xf0\x8f\xbf\xbf"), "\\udcf0\\udc8f\\udcbf\\udcbf");  // overlong 4
  EXPECT_EQ(json_escape_path("\xed\xa0\x80"), "\\udced\\udca0\\udc80");             // U+D800
  EXPECT_EQ(json_escape_path("\xed\xb3\xbf"), "\\udced\\udcb3\\udcbf");             // U+DCFF
  EXPECT_EQ(json_escape_path("\xf4\x90\x80\x80"), "\\udcf4\\udc90\\udc80\\udc80");  // U+110000
  EXPECT_EQ(json_escape_path("\xf5\x80\x80\x80"), "\\udcf5\\udc80\\udc80\\udc80");
  EXPECT_EQ(json_escape_path("\xf0\x9f\x98"), "\\udcf0\\udc9f\\udc98");  // truncated emoji
}

// --- An independent decoder, the oracle for the round trip ---------------------------------

// The code point of the well-formed UTF-8 sequence at text[at] and its length, by decoding and
// then rejecting overlong forms, surrogates and values above U+10FFFF (not by Table 3-7 ranges).
std::optional<std::pair<char32_t, std::size_t>> decode_utf8(std::string_view text, std::size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  std::size_t length = 0;
  char32_t cp = 0;
  if (lead < 0x80) {
    return std::pair{char32_t{lead}, std::size_t{1}};
  } else if ((lead & 0xe0) == 0xc0) {
    length = 2;
    cp = lead & 0x1f;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3;
    cp = lead & 0x0f;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4;
    cp = lead & 0x07;
  } else {
    return std::nullopt;
  }
  if (at + length > text.size()) {
    return std::nullopt;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[at + i]);
    if ((byte & 0xc0) != 0x80) {
      return std::nullopt;
    }
    cp = (cp << 6) | (byte & 0x3f);
  }
  const char32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_length[length] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return std::nullopt;
  }
  return std::pair{cp, length};
}

// Decode a JSON string body (as json.loads would) and map each lone surrogate \udcXX back to
// byte XX (as os.fsencode would). Fails the test on anything a JSON parser would reject.
std::string decode_json_path(std::string_view body) {
  std::string bytes;
  std::size_t at = 0;
  while (at < body.size()) {
    const char c = body[at];
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || byte < 0x20) {
      ADD_FAILURE() << "unescaped quote or control character at " << at;
      return {};
    }
    if (c != '\\') {
      const auto decoded = decode_utf8(body, at);
      if (!decoded) {
        ADD_FAILURE() << "raw invalid UTF-8 in the JSON text at " << at;
        return {};
      }
      bytes.append(body.substr(at, decoded->second));
      at += decoded->second;
      continue;
    }
    if (at + 1 >= body.size()) {
      ADD_FAILURE() << "dangling backslash";
      return {};
    }
    const char kind = body[at + 1];
    at += 2;
    switch (kind) {
      case '"':
      case '\\':
      case '/':
        bytes += kind;
        break;
      case 'b':
        bytes += '\b';
        break;
      case 'f':
        bytes += '\f';
        break;
      case 'n':
        bytes += '\n';
        break;
      case 'r':
        bytes += '\r';
        break;
      case 't':
        bytes += '\t';
        break;
      case 'u': {
        const unsigned long unit = std::stoul(std::string(body.substr(at, 4)), nullptr, 16);
        at += 4;
        if (unit >= 0xdc80 && unit <= 0xdcff) {
          bytes += static_cast<char>(unit - 0xdc00);
        } else if (unit < 0x80) {
          bytes += static_cast<char>(unit);
        } else if (unit < 0xa0) {
          bytes += static_cast<char>(0xc2);  // a C1 control, U+0080..U+009F
          bytes += static_cast<char>(unit);
        } else {
          ADD_FAILURE() << "unexpected \\u escape " << unit;
          return {};
        }
        break;
      }
      default:
        ADD_FAILURE() << "bad escape \\" << kind;
        return {};
    }
  }
  return bytes;
}

// Append the UTF-8 encoding of `cp`.
void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

TEST(JsonEscapePath, RoundTripsEveryByte) {
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    EXPECT_EQ(decode_json_path(json_escape_path(one)), one) << "byte " << b;
  }
}

TEST(JsonEscapePath, RoundTripsRandomByteStrings) {
  // Pieces chosen to hit the edges: any byte, ASCII, valid sequences of every length, and the
  // lead bytes whose second byte is restricted (E0, ED, F0, F4) followed by random continuations.
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> any_byte(0, 255);
  std::uniform_int_distribution<int> piece_kind(0, 5);
  std::uniform_int_distribution<int> length_of(0, 16);
  std::uniform_int_distribution<char32_t> code_point(0x80, 0x10ffff);
  std::uniform_int_distribution<int> continuation(0x80, 0xbf);
  const unsigned char tricky_leads[] = {0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
  std::uniform_int_distribution<std::size_t> tricky_index(0, sizeof(tricky_leads) - 1);
  for (int round = 0; round < 500; ++round) {
    std::string bytes;
    const int pieces = length_of(rng);
    for (int p = 0; p < pieces; ++p) {
      switch (piece_kind(rng)) {
        case 0:
        case 1:
          bytes += static_cast<char>(any_byte(rng));
          break;
        case 2:
          bytes += static_cast<char>(0x20 + any_byte(rng) % 0x60);
          break;
        case 3: {
          const char32_t cp = code_point(rng);
          if (cp < 0xd800 || cp > 0xdfff) {
            append_utf8(bytes, cp);
          }
          break;
        }
        default: {
          bytes += static_cast<char>(tricky_leads[tricky_index(rng)]);
          const int follow = any_byte(rng) % 4;
          for (int i = 0; i < follow; ++i) {
            bytes += static_cast<char>(continuation(rng));
          }
          break;
        }
      }
    }
    const std::string escaped = json_escape_path(bytes);
    EXPECT_EQ(decode_json_path(escaped), bytes) << "escaped: " << escaped;
  }
}

TEST(FormatStats, Block) {
  const std::string expected =
      "scanned 12 files (4.6 KiB) in 3 directories, skipped 1 special file, 2 errors\n"
      "found 2 groups, 7 duplicate files, 3.0 KiB wasted\n"
      "read 4.9 KiB in 12.345 ms\n"
      "bytes read: 5000\n"
      "stage walk  12 -> 12 files, 0 groups, 0 B read, 1.000 ms\n"
      "stage size  12 -> 9 files, 2 groups, 0 B read, 0.000 ms\n"
      "stage full  9 -> 9 files, 2 groups, 4.6 KiB read, 2.500 ms, threads vda=2\n"
      "pool vda (ssd)    threads 8/2, 9 files, 4.9 KiB read, busy 3.000 ms, idle 1.500 ms, at most 4 running\n"
      "pool loop0 (hdd)  threads 1/1, 0 files, 0 B read, busy 0.000 ms, idle 0.000 ms, at most 1 running\n";
  EXPECT_EQ(format_stats(sample_result().stats), expected);
}

TEST(FormatStats, DeviceNamesAreEscapedForStderr) {
  // A FUSE or network device is named after its mount source, which whoever mounted it chose.
  RunStats stats;
  stats.pools = {PoolReport{"evil\x1b]0;t\x07", DeviceClass::network, ThreadCounts{4, 4}, 0, 0, 0, 0}};
  const std::string text = format_stats(stats);
  EXPECT_NE(text.find("pool evil\\x1b]0;t\\x07 (network)  threads 4/4"), std::string::npos) << text;
  EXPECT_FALSE(has_terminal_control(text)) << text;
}

TEST(MakeReporter, EveryFormat) {
  for (ReportFormat format : {ReportFormat::text, ReportFormat::fdupes, ReportFormat::csv, ReportFormat::json}) {
    EXPECT_NE(make_reporter(format), nullptr);
  }
}

}  // namespace
}  // namespace spindle
