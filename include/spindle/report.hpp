#pragma once

#include <spindle/config.hpp>
#include <spindle/group.hpp>
#include <spindle/group_sink.hpp>
#include <spindle/units.hpp>

#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace spindle {

// Writes a duplicate report in one format. One implementation per format (report_*.cpp).
class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void write(const GroupResult& result, std::ostream& out) = 0;
};

// How a report writes names, decided by the caller (the core never asks what stdout is).
struct ReportOptions {
  // The report goes to a terminal: text, fdupes and csv write each name through
  // escape_for_terminal (log.hpp), so no name can send a terminal escape sequence or break a line.
  // False (a pipe or a file): names are written as raw bytes, exactly as the filesystem has them.
  // json is the same either way: it escapes every control character losslessly.
  bool escape_names = false;
  // -z: text and fdupes end every line (group separators included) with NUL instead of a
  // newline and write names raw, so any name survives `xargs -0`.
  bool zero_terminated = false;
  // --color: the text report's group headers in bold (never for -o FILE, see cli/output.hpp).
  bool colour = false;
  // jsonl: end with a `{"stats":{...}}` line (--stats); the other formats ignore it.
  bool stats_line = false;
};

std::unique_ptr<Reporter> make_reporter(ReportFormat format, ReportOptions options = {});

// --format jsonl written while the run goes on: each group `add`ed becomes one line of `out` at
// once (its files sorted by path), the line a JSON report's group would be. The reporter of
// ReportFormat::jsonl then writes the groups the result still holds, and the stats line.
std::unique_ptr<GroupSink> make_jsonl_sink(std::ostream& out);

// JSON string body for a path that may not be UTF-8: valid UTF-8 is written as is (escaping what
// JSON requires, and DEL and the C1 controls U+0080..U+009F as \u00XX so that no raw control
// reaches a terminal); every byte that is not part of valid UTF-8 becomes a lone surrogate
// "\udcXX" (XX = the byte), so Python's os.fsencode(json.loads(...)) restores the exact bytes.
std::string json_escape_path(std::string_view path);

// CSV field per RFC 4180: quoted when it holds a comma, quote, CR or LF; quotes doubled.
std::string csv_field(std::string_view text);

// The --stats block for stderr: totals, one line per stage, one line per device pool.
std::string format_stats(const RunStats& stats);

}  // namespace spindle
