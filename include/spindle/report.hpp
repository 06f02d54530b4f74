#pragma once

#include <spindle/config.hpp>
#include <spindle/group.hpp>
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

std::unique_ptr<Reporter> make_reporter(ReportFormat format);

// JSON string body for a path that may not be UTF-8: valid UTF-8 is written as is (escaping only
// what JSON requires); every byte that is not part of valid UTF-8 becomes a lone surrogate
// "\udcXX" (XX = the byte), so Python's os.fsencode(json.loads(...)) restores the exact bytes.
std::string json_escape_path(std::string_view path);

// CSV field per RFC 4180: quoted when it holds a comma, quote, CR or LF; quotes doubled.
std::string csv_field(std::string_view text);

// The --stats block for stderr: totals, one line per stage, one line per device pool.
std::string format_stats(const RunStats& stats);

}  // namespace spindle
