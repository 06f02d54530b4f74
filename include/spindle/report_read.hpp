#pragma once

#include <spindle/hash.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace spindle {

// What `spindle group --format json` recorded of a file when it was walked: actions compare it
// with the file as it is now, and skip a file that changed since.
struct RecordedState {
  std::uint64_t device = 0;  // st_dev
  std::uint64_t inode = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
};

// One file of a group read back from a report. `path` holds the exact bytes of the name (JSON's
// \udcXX lone surrogates become the raw bytes they stand for).
struct ReportFile {
  std::string path;
  std::uint32_t root = 0;              // index of the PATH given to group (0 when not recorded)
  std::optional<RecordedState> state;  // JSON reports only: text reports carry no per-file state
};

// One group of identical files: the size and XXH3-128 every copy had, and its files.
struct ReportGroup {
  std::uint64_t size = 0;
  Digest hash;
  std::vector<ReportFile> files;
  std::size_t line = 0;  // where the group starts in the report (for messages)
};

struct ParsedReport {
  std::vector<ReportGroup> groups;
};

// A report that cannot be trusted: nothing may be acted on. what() is "NAME:LINE: what is wrong".
struct ReportError : std::runtime_error {
  ReportError(const std::string& name, std::size_t at_line, const std::string& message)
      : std::runtime_error(name + ":" + std::to_string(at_line) + ": " + message), line(at_line) {}
  std::size_t line;
};

// Parse a report of `spindle group` in its json, jsonl or default text format (told apart by the
// first byte that is not white space: '{' is JSON, and then jsonl when the first object has no
// "groups"). The whole report is checked before it is returned,
// so a malformed one is rejected before any file is touched: unknown syntax, a group of fewer than
// two files, a hash that is not 32 hex digits, a text header whose count does not match its
// paths, an empty path or one holding NUL. `name` is what messages call the report (a file name or
// "<stdin>"). Throws ReportError.
ParsedReport parse_report(std::string_view text, const std::string& name);

// The same, one format each (exposed for tests and the fuzzer).
ParsedReport parse_json_report(std::string_view text, const std::string& name);
ParsedReport parse_text_report(std::string_view text, const std::string& name);
// --format jsonl: one group object per line (as in a JSON report's "groups"), perhaps ended by a
// {"stats":{...}} line whose "groups" must count the lines before it.
ParsedReport parse_jsonl_report(std::string_view text, const std::string& name);

// A Digest from the 32 lowercase or uppercase hex digits to_hex() writes; nullopt otherwise.
std::optional<Digest> digest_from_hex(std::string_view hex);

}  // namespace spindle
