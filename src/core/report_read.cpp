// Reading back a report of `spindle group` (json or text) for the actions. The JSON reader is a
// small strict parser of RFC 8259 plus the one liberty the writer takes (lone surrogates
// \udc80..\udcff standing for the bytes of a name that is not UTF-8, as Python's surrogateescape
// does); it knows where every error is, so a bad report is rejected naming its line.
#include "utf8.hpp"

#include <spindle/host.hpp>
#include <spindle/report_read.hpp>

#include <charconv>
#include <limits>

namespace spindle {

namespace {

// Nested arrays and objects beyond this are not a report: a bound keeps the recursion of a
// hostile input from exhausting the stack.
constexpr int k_max_depth = 64;

// Why a report of --rf-under or --unique (report_json.cpp writes "rf_under" first) is refused:
// its groups are what has too few copies, and acting on them could remove the only copy.
constexpr const char* k_rf_under_report =
    "a report of files with fewer than N copies (spindle group --rf-under or --unique): it lists what lacks copies, "
    "not duplicates to act on; run spindle group without them for a report of duplicates";

class JsonReader {
 public:
  JsonReader(std::string_view text, const std::string& name) : m_text(text), m_name(name) {}

  ParsedReport read() {
    ParsedReport report;
    bool seen_groups = false;
    skip_space();
    expect('{', "a report starts with '{'");
    read_members([&](const std::string& key) {
      if (key == "groups") {
        seen_groups = true;
        read_groups(report);
      } else if (key == "rf_under") {
        fail(k_rf_under_report);
      } else {
        skip_value(1);
      }
    });
    skip_space();
    if (m_at != m_text.size()) {
      fail("unexpected text after the report");
    }
    if (!seen_groups) {
      fail_at(1, "no \"groups\" in the report");
    }
    return report;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const { throw ReportError(m_name, m_line, message); }
  [[noreturn]] void fail_at(std::size_t line, const std::string& message) const {
    throw ReportError(m_name, line, message);
  }

  void skip_space() {
    while (m_at < m_text.size()) {
      const char c = m_text[m_at];
      if (c == '\n') {
        ++m_line;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        return;
      }
      ++m_at;
    }
  }

  char peek() {
    skip_space();
    if (m_at == m_text.size()) {
      fail("the report ends too early");
    }
    return m_text[m_at];
  }

  void expect(char c, const char* what) {
    if (peek() != c) {
      fail(what);
    }
    ++m_at;
  }

  // Calls on_key for each member of an object whose '{' was read; on_key reads the value.
  template <typename OnKey>
  void read_members(OnKey on_key) {
    if (peek() == '}') {
      ++m_at;
      return;
    }
    while (true) {
      if (peek() != '"') {
        fail("expected a member name in quotes");
      }
      const std::string key = read_string();
      expect(':', "expected ':' after a member name");
      on_key(key);
      const char next = peek();
      ++m_at;
      if (next == '}') {
        return;
      }
      if (next != ',') {
        fail("expected ',' or '}' in an object");
      }
    }
  }

  // Calls on_item for each element of an array whose '[' was read; on_item reads the element.
  template <typename OnItem>
  void read_elements(OnItem on_item) {
    if (peek() == ']') {
      ++m_at;
      return;
    }
    while (true) {
      on_item();
      const char next = peek();
      ++m_at;
      if (next == ']') {
        return;
      }
      if (next != ',') {
        fail("expected ',' or ']' in an array");
      }
    }
  }

  unsigned read_u_escape() {
    if (m_text.size() - m_at < 4) {
      fail("a \\u escape needs four hex digits");
    }
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = hex_digit_value(m_text[m_at++]);
      if (digit < 0) {
        fail("a \\u escape needs four hex digits");
      }
      value = value * 16 + static_cast<unsigned>(digit);
    }
    return value;
  }

  // A string whose opening quote is next; returns its bytes.
  std::string read_string() {
    ++m_at;  // the quote
    std::string out;
    while (true) {
      if (m_at >= m_text.size()) {
        fail("a string is not closed");
      }
      const char c = m_text[m_at++];
      if (c == '"') {
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        fail("a control character inside a string (a name is written with \\n, \\t or \\u00XX)");
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (m_at >= m_text.size()) {
        fail("a string is not closed");
      }
      const char e = m_text[m_at++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u':
          read_code_point(out);
          break;
        default:
          fail(std::string("unknown escape \\") + (static_cast<unsigned char>(e) < 0x20 ? '?' : e));
      }
    }
  }

  void read_code_point(std::string& out) {
    const unsigned cp = read_u_escape();
    if (cp >= 0xd800 && cp <= 0xdbff) {
      if (m_text.substr(m_at, 2) != "\\u") {
        fail("a high surrogate without its low surrogate");
      }
      m_at += 2;
      const unsigned low = read_u_escape();
      if (low < 0xdc00 || low > 0xdfff) {
        fail("a high surrogate without its low surrogate");
      }
      append_utf8(out, 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00));
    } else if (cp >= 0xdc80 && cp <= 0xdcff) {
      out += static_cast<char>(cp - 0xdc00);  // a byte of a name that is not UTF-8
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      fail("a lone surrogate that stands for no byte");
    } else {
      append_utf8(out, cp);
    }
  }

  std::string_view number_text() {
    skip_space();
    const std::size_t start = m_at;
    while (m_at < m_text.size() &&
           (m_text[m_at] == '-' || m_text[m_at] == '+' || m_text[m_at] == '.' || m_text[m_at] == 'e' ||
            m_text[m_at] == 'E' || (m_text[m_at] >= '0' && m_text[m_at] <= '9'))) {
      ++m_at;
    }
    return m_text.substr(start, m_at - start);
  }

  template <typename Int>
  Int read_integer(const char* what) {
    const std::string_view digits = number_text();
    Int value{};
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
        (digits.size() > 1 && digits[0] == '0') || (digits.size() > 2 && digits.starts_with("-0"))) {
      fail(std::string(what) + " is not a whole number in range");
    }
    return value;
  }

  void skip_value(int depth) {
    if (depth > k_max_depth) {
      fail("nested too deeply");
    }
    const char c = peek();
    if (c == '{') {
      ++m_at;
      read_members([&](const std::string&) { skip_value(depth + 1); });
    } else if (c == '[') {
      ++m_at;
      read_elements([&] { skip_value(depth + 1); });
    } else if (c == '"') {
      read_string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      if (number_text().empty()) {
        fail("a malformed number");
      }
    } else if (m_text.substr(m_at, 4) == "true" || m_text.substr(m_at, 4) == "null") {
      m_at += 4;
    } else if (m_text.substr(m_at, 5) == "false") {
      m_at += 5;
    } else {
      fail("expected a JSON value");
    }
  }

 public:
  // --format jsonl: one group object per line, and perhaps a {"stats":...} line (skipped).
  ParsedReport read_lines() {
    ParsedReport report;
    bool stats_seen = false;
    for (;;) {
      skip_space();
      if (m_at == m_text.size()) {
        return report;
      }
      if (peek() != '{') {
        fail("a jsonl line must be a group object");
      }
      if (stats_seen) {
        fail("a line after the stats line (it comes last)");
      }
      if (is_stats_line()) {
        read_stats_line(report);
        stats_seen = true;
      } else {
        read_group(report);
      }
      while (m_at < m_text.size() && (m_text[m_at] == ' ' || m_text[m_at] == '\t' || m_text[m_at] == '\r')) {
        ++m_at;
      }
      if (m_at < m_text.size() && m_text[m_at] != '\n') {
        fail("unexpected text after a group (jsonl has one group per line)");
      }
    }
  }

  // Does the object that starts here have a member "groups" (a JSON report, not a jsonl line)?
  // Reads it to the end, so the reader is used for nothing else afterwards.
  bool first_object_has_groups() {
    bool has = false;
    skip_space();
    expect('{', "a report starts with '{'");
    read_members([&](const std::string& key) {
      has = has || key == "groups";
      skip_value(1);
    });
    return has;
  }

 private:
  // A jsonl stats line: {"stats": ...} and nothing else.
  bool is_stats_line() const {
    std::size_t at = m_at + 1;
    while (at < m_text.size() && (m_text[at] == ' ' || m_text[at] == '\t')) {
      ++at;
    }
    return m_text.substr(at, 7) == "\"stats\"";
  }

  // {"stats":{"groups":N,...}}: N must be the number of groups before it, so a report cut
  // short (or a JSON document that lost its "groups") is not taken for a complete one.
  void read_stats_line(const ParsedReport& report) {
    const std::size_t line = m_line;
    std::optional<std::uint64_t> groups;
    expect('{', "a stats line must be an object");
    read_members([&](const std::string& key) {
      if (key != "stats") {
        skip_value(2);
        return;
      }
      expect('{', "\"stats\" must be an object");
      read_members([&](const std::string& member) {
        if (member == "groups") {
          groups = read_integer<std::uint64_t>("\"groups\"");
        } else {
          skip_value(3);
        }
      });
    });
    if (!groups) {
      fail_at(line, "a stats line without \"groups\" (a JSON report needs \"groups\" at its top)");
    }
    if (*groups != report.groups.size()) {
      fail_at(line, "the stats line counts " + std::to_string(*groups) + " groups but " +
                        std::to_string(report.groups.size()) + " precede it (a report cut short?)");
    }
  }

  void read_groups(ParsedReport& report) {
    expect('[', "\"groups\" must be an array");
    read_elements([&] { read_group(report); });
  }

  void read_group(ParsedReport& report) {
    {
      ReportGroup group;
      group.line = m_line;
      expect('{', "a group must be an object");
      bool has_size = false;
      bool has_hash = false;
      bool has_files = false;
      read_members([&](const std::string& key) {
        if (key == "size") {
          group.size = read_integer<std::uint64_t>("\"size\"");
          has_size = true;
        } else if (key == "hash") {
          if (peek() == 'n') {
            fail(k_rf_under_report);  // only a one-file group of --rf-under has a null hash
          }
          if (peek() != '"') {
            fail("\"hash\" must be a string");
          }
          std::optional<Digest> digest = digest_from_hex(read_string());
          if (!digest) {
            fail("\"hash\" is not 32 hex digits");
          }
          group.hash = *digest;
          has_hash = true;
        } else if (key == "files") {
          read_files(group);
          has_files = true;
        } else {
          skip_value(3);
        }
      });
      if (!has_size || !has_hash || !has_files) {
        fail_at(group.line, "a group needs \"size\", \"hash\" and \"files\"");
      }
      if (group.files.size() < 2) {
        fail_at(group.line, "a group of fewer than two files");
      }
      report.groups.push_back(std::move(group));
    }
  }

  void check_path(const std::string& path) const {
    if (path.empty() || path.find('\0') != std::string::npos) {
      fail(path.empty() ? "an empty path" : "a path holding a NUL byte");
    }
  }

  void read_files(ReportGroup& group) {
    expect('[', "\"files\" must be an array");
    read_elements([&] {
      ReportFile file;
      if (peek() == '"') {
        // The format before files carried their state: a bare path.
        file.path = read_string();
        check_path(file.path);
        group.files.push_back(std::move(file));
        return;
      }
      expect('{', "a file must be an object or a path");
      RecordedState state;
      int state_members = 0;
      bool has_path = false;
      read_members([&](const std::string& key) {
        if (key == "path") {
          if (peek() != '"') {
            fail("\"path\" must be a string");
          }
          file.path = read_string();
          has_path = true;
        } else if (key == "root") {
          file.root = read_integer<std::uint32_t>("\"root\"");
        } else if (key == "host") {
          // spindle group --catalog: a file of another host is never acted on here.
          if (peek() != '"') {
            fail("\"host\" must be a string");
          }
          const std::string host = read_string();
          if (!m_local_host) {
            m_local_host = local_host_name();
          }
          if (host != *m_local_host) {
            fail(other_host_refusal(host));
          }
        } else if (key == "device") {
          state.device = read_integer<std::uint64_t>("\"device\"");
          ++state_members;
        } else if (key == "inode") {
          state.inode = read_integer<std::uint64_t>("\"inode\"");
          ++state_members;
        } else if (key == "mtime_ns") {
          state.mtime_ns = read_integer<std::int64_t>("\"mtime_ns\"");
          ++state_members;
        } else if (key == "ctime_ns") {
          state.ctime_ns = read_integer<std::int64_t>("\"ctime_ns\"");
          ++state_members;
        } else {
          skip_value(4);
        }
      });
      if (!has_path) {
        fail("a file without \"path\"");
      }
      check_path(file.path);
      if (state_members == 4) {
        file.state = state;
      } else if (state_members != 0) {
        fail("a file needs all of \"device\", \"inode\", \"mtime_ns\" and \"ctime_ns\", or none");
      }
      group.files.push_back(std::move(file));
    });
  }

  std::string_view m_text;
  const std::string& m_name;
  std::size_t m_at = 0;
  std::size_t m_line = 1;
  std::optional<std::string> m_local_host;  // looked up at the first "host" member
};

}  // namespace

std::optional<Digest> digest_from_hex(std::string_view hex) {
  if (hex.size() != 32) {
    return std::nullopt;
  }
  std::uint64_t words[2] = {0, 0};
  for (std::size_t i = 0; i < 32; ++i) {
    const char c = hex[i];
    int digit = -1;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    }
    if (digit < 0) {
      return std::nullopt;
    }
    words[i / 16] = words[i / 16] << 4 | static_cast<std::uint64_t>(digit);
  }
  return Digest{words[0], words[1]};
}

ParsedReport parse_json_report(std::string_view text, const std::string& name) {
  return JsonReader(text, name).read();
}

ParsedReport parse_jsonl_report(std::string_view text, const std::string& name) {
  return JsonReader(text, name).read_lines();
}

ParsedReport parse_report(std::string_view text, const std::string& name) {
  for (char c : text) {
    if (c == '{') {
      // A JSON report is one object with "groups"; a jsonl report, an object per line without.
      bool json = false;
      try {
        json = JsonReader(text, name).first_object_has_groups();
      } catch (const ReportError&) {
        json = true;  // malformed: the JSON reader says where
      }
      return json ? parse_json_report(text, name) : parse_jsonl_report(text, name);
    }
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      break;
    }
  }
  return parse_text_report(text, name);
}

}  // namespace spindle
