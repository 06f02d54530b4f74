// The report reader: what group writes comes back exactly (names of any bytes included), and
// every malformed report is rejected naming its line.
#include <spindle/group.hpp>
#include <spindle/report.hpp>
#include <spindle/report_read.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>

namespace spindle {
namespace {

GroupResult two_groups() {
  GroupResult result;
  const std::vector<std::string> names = {"/d/a b", "/d/new\nline", std::string("/d/\xff\xfe", 5), "/d/\xc3\xa9",
                                          "/d/x\"q\\"};
  DuplicateGroup big{.size = 1536, .hash = Digest{0x0123456789abcdef, 0xfedcba9876543210}, .files = {}};
  DuplicateGroup small{.size = 10, .hash = Digest{0, 1}, .files = {}};
  for (std::size_t i = 0; i < names.size(); ++i) {
    FileEntry entry;
    entry.size = i < 3 ? 1536 : 10;
    entry.ino = 100 + i;
    entry.set_device(makedev(254, 3));
    entry.root = static_cast<std::uint32_t>(i % 3);
    entry.mtime_ns = -1'000'000'001 + static_cast<std::int64_t>(i);
    entry.ctime_ns = 1'700'000'000'000'000'000 + static_cast<std::int64_t>(i);
    (i < 3 ? big : small).files.push_back(result.files.add(entry, names[i]));
  }
  result.groups = {big, small};
  return result;
}

std::string render(ReportFormat format, const GroupResult& result) {
  std::ostringstream out;
  make_reporter(format)->write(result, out);
  return out.str();
}

TEST(ReportRead, JsonRoundTripsEveryField) {
  const GroupResult result = two_groups();
  const ParsedReport report = parse_report(render(ReportFormat::json, result), "r.json");
  ASSERT_EQ(report.groups.size(), 2u);
  for (std::size_t g = 0; g < 2; ++g) {
    const DuplicateGroup& want = result.groups[g];
    const ReportGroup& got = report.groups[g];
    EXPECT_EQ(got.size, want.size);
    EXPECT_EQ(got.hash, want.hash);
    ASSERT_EQ(got.files.size(), want.files.size());
    for (std::size_t f = 0; f < got.files.size(); ++f) {
      const FileEntry& entry = result.files[want.files[f]];
      EXPECT_EQ(got.files[f].path, result.files.path(want.files[f]));
      EXPECT_EQ(got.files[f].root, entry.root);
      ASSERT_TRUE(got.files[f].state.has_value());
      EXPECT_EQ(got.files[f].state->device, entry.device());
      EXPECT_EQ(got.files[f].state->inode, entry.ino);
      EXPECT_EQ(got.files[f].state->mtime_ns, entry.mtime_ns);
      EXPECT_EQ(got.files[f].state->ctime_ns, entry.ctime_ns);
    }
  }
}

TEST(ReportRead, TextRoundTripsNamesWithoutNewlines) {
  GroupResult result = two_groups();
  result.groups.erase(result.groups.begin());  // the group with "new\nline"
  const ParsedReport report = parse_report(render(ReportFormat::text, result), "r.txt");
  ASSERT_EQ(report.groups.size(), 1u);
  EXPECT_EQ(report.groups[0].size, 10u);
  EXPECT_EQ(report.groups[0].hash, (Digest{0, 1}));
  ASSERT_EQ(report.groups[0].files.size(), 2u);
  EXPECT_EQ(report.groups[0].files[0].path, "/d/\xc3\xa9");
  EXPECT_EQ(report.groups[0].files[1].path, "/d/x\"q\\");
  EXPECT_FALSE(report.groups[0].files[0].state.has_value());
}

TEST(ReportRead, TextNameWithANewlineIsRejectedNotSplit) {
  try {
    parse_report(render(ReportFormat::text, two_groups()), "r.txt");
    FAIL() << "a text report whose name holds a newline was accepted";
  } catch (const ReportError& e) {
    EXPECT_EQ(e.line, 5u) << e.what();  // header, "a b", "new", "line", then "\xff\xfe" is a 4th path
  }
}

TEST(ReportRead, OldJsonWithBarePathsIsRead) {
  const ParsedReport report =
      parse_report(R"({"groups":[{"size":3,"hash":"00000000000000000000000000000002","files":["a","b\udcff"]}]})", "x");
  ASSERT_EQ(report.groups.size(), 1u);
  EXPECT_EQ(report.groups[0].files[1].path, "b\xff");
  EXPECT_FALSE(report.groups[0].files[1].state.has_value());
}

struct Bad {
  std::string text;
  std::size_t line;
};

TEST(ReportRead, MalformedReportsNameTheLine) {
  const char* hash = "00000000000000000000000000000002";
  const std::string ok_group = std::string(R"({"size":3,"hash":")") + hash + R"(","files":["a","b"]})";
  const std::vector<Bad> bad = {
      {"{", 1},
      {"{\n\"groups\":[\n" + std::string("{\"size\":3,\"hash\":\"") + hash + "\",\"files\":[\"a\"]}]}", 3},
      {"{\"groups\":[\n" + ok_group + ",\n{\"size\":-1,\"hash\":\"" + hash + "\",\"files\":[\"a\",\"b\"]}]}", 3},
      {"{\"groups\":[{\"size\":3,\"hash\":\"xyz\",\"files\":[\"a\",\"b\"]}]}", 1},
      {"{\"groups\":[\n{\"size\":3,\"hash\":\"" + std::string(hash) + "\",\"files\":[\"a\",\"\"]}]}", 2},
      {"{\"groups\":[" + ok_group + "]}\n\ntrailing", 3},
      {"{\"groups\":[{\"size\":3,\"hash\":\"" + std::string(hash) + "\",\"files\":[\"a\",\"\\udc10\"]}]}", 1},
      {"{\"groups\":[{\"size\":3,\"hash\":\"" + std::string(hash) + "\",\"files\":[\"a\",\"\\ud800x\"]}]}", 1},
      {"{\"groups\":[{\"size\":3,\"hash\":\"" + std::string(hash) +
           "\",\"files\":[{\"path\":\"a\",\"inode\":1},{\"path\":\"b\"}]}]}",
       1},
      {"{\"stats\":{}}", 1},
      {"# 2 files of 3 B (3 bytes), 00000000000000000000000000000002, 3 B wasted\na\n", 2},
      {"# 2 files of 3 B (3 bytes), 00000000000000000000000000000002, 3 B wasted\na\nb\nc\n", 4},
      {"# 1 files of 3 B (3 bytes), 00000000000000000000000000000002, 0 B wasted\na\n", 1},
      {"a\nb\n", 1},
      {"# 2 files of 3 B (3 bytes), 0000000000000000000000000000000, 3 B wasted\na\nb\n", 1},
  };
  for (const Bad& b : bad) {
    try {
      parse_report(b.text, "r");
      ADD_FAILURE() << "accepted: " << b.text;
    } catch (const ReportError& e) {
      EXPECT_EQ(e.line, b.line) << b.text << "\n" << e.what();
      EXPECT_TRUE(std::string(e.what()).starts_with("r:" + std::to_string(b.line) + ": ")) << e.what();
    }
  }
}

TEST(ReportRead, EmptyTextReportHasNoGroups) {
  // What group prints when it finds no duplicates.
  EXPECT_TRUE(parse_report("", "r").groups.empty());
}

TEST(ReportRead, DeepNestingIsRejectedNotACrash) {
  const std::string deep = "{\"x\":" + std::string(100000, '[') + std::string(100000, ']') + ",\"groups\":[]}";
  EXPECT_THROW(parse_report(deep, "r"), ReportError);
}

TEST(ReportRead, DigestFromHex) {
  EXPECT_EQ(digest_from_hex("0123456789abcdeffedcba9876543210"), (Digest{0x0123456789abcdef, 0xfedcba9876543210}));
  EXPECT_EQ(to_hex(*digest_from_hex("0123456789ABCDEFFEDCBA9876543210")), "0123456789abcdeffedcba9876543210");
  EXPECT_FALSE(digest_from_hex("0123").has_value());
  EXPECT_FALSE(digest_from_hex("g123456789abcdeffedcba9876543210").has_value());
}

// --format jsonl: one line per group, the JSON report's group objects; read back the same, the
// stats line skipped; a JSON report is still told apart from it.
TEST(ReportRead, JsonlRoundTripsEveryFieldAndSkipsTheStatsLine) {
  GroupResult result = two_groups();
  result.stats.groups = 2;
  std::ostringstream out;
  make_reporter(ReportFormat::jsonl, ReportOptions{.stats_line = true})->write(result, out);
  const std::string text = out.str();
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 3) << text;
  EXPECT_TRUE(text.starts_with("{\"size\":1536,")) << text;
  EXPECT_NE(text.find("\n{\"stats\":{"), std::string::npos) << text;
  const ParsedReport lines = parse_report(text, "r.jsonl");
  const ParsedReport json = parse_report(render(ReportFormat::json, result), "r.json");
  ASSERT_EQ(lines.groups.size(), 2u);
  ASSERT_EQ(json.groups.size(), 2u);
  for (std::size_t g = 0; g < 2; ++g) {
    EXPECT_EQ(lines.groups[g].size, json.groups[g].size);
    EXPECT_EQ(lines.groups[g].hash, json.groups[g].hash);
    ASSERT_EQ(lines.groups[g].files.size(), json.groups[g].files.size());
    for (std::size_t f = 0; f < lines.groups[g].files.size(); ++f) {
      EXPECT_EQ(lines.groups[g].files[f].path, json.groups[g].files[f].path);
      EXPECT_EQ(lines.groups[g].files[f].root, json.groups[g].files[f].root);
      ASSERT_TRUE(lines.groups[g].files[f].state.has_value());
      EXPECT_EQ(lines.groups[g].files[f].state->inode, json.groups[g].files[f].state->inode);
      EXPECT_EQ(lines.groups[g].files[f].state->mtime_ns, json.groups[g].files[f].state->mtime_ns);
    }
  }
  EXPECT_EQ(lines.groups[1].line, 2u);
}

// The stats line counts the groups: a report that lost lines is rejected, not acted on in part.
TEST(ReportRead, JsonlCutShortIsRejectedByItsStatsLine) {
  GroupResult result = two_groups();
  result.stats.groups = 2;
  std::ostringstream out;
  make_reporter(ReportFormat::jsonl, ReportOptions{.stats_line = true})->write(result, out);
  std::string text = out.str();
  EXPECT_EQ(parse_report(text, "r.jsonl").groups.size(), 2u);
  text.erase(0, text.find('\n') + 1);  // the first group's line lost
  try {
    parse_report(text, "r.jsonl");
    ADD_FAILURE() << "accepted a report cut short";
  } catch (const ReportError& e) {
    EXPECT_EQ(e.line, 2u) << e.what();
  }
  EXPECT_THROW(parse_report(text + text.substr(0, text.find('\n') + 1), "r.jsonl"), ReportError)
      << "a group after the stats line";
}

TEST(ReportRead, JsonlWithTwoGroupsOnALineIsRejected) {
  GroupResult result = two_groups();
  std::ostringstream out;
  make_reporter(ReportFormat::jsonl)->write(result, out);
  std::string text = out.str();
  text[text.find('\n')] = ' ';
  EXPECT_THROW(parse_report(text, "r.jsonl"), ReportError);
}

// The sink writes a group the moment it is given one, its files sorted by path.
TEST(ReportRead, JsonlSinkWritesEachGroupAtOnce) {
  GroupResult result = two_groups();
  std::ostringstream out;
  std::unique_ptr<GroupSink> sink = make_jsonl_sink(out);
  const DuplicateGroup& small = result.groups[1];
  std::vector<FileIndex> reversed(small.files.rbegin(), small.files.rend());
  sink->add(result.files, reversed, small.hash);
  const ParsedReport first = parse_report(out.str(), "r.jsonl");
  ASSERT_EQ(first.groups.size(), 1u);
  EXPECT_EQ(first.groups[0].hash, small.hash);
  const FileIndex least = *std::min_element(small.files.begin(), small.files.end(), [&](FileIndex a, FileIndex b) {
    return result.files.compare_paths(a, b) < 0;
  });
  EXPECT_EQ(first.groups[0].files[0].path, result.files.path(least));
  sink->add(result.files, result.groups[0].files, result.groups[0].hash);
  EXPECT_EQ(parse_report(out.str(), "r.jsonl").groups.size(), 2u);
}

}  // namespace
}  // namespace spindle
