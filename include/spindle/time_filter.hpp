#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace spindle {

// A --newer-than/--older-than value: an instant (ns since the epoch) it names, or nullopt when the
// text is neither form below.
//   Durations back from `now_ns`: a whole number and one unit, s (seconds), m (minutes), h, d (days
//   of 24 hours) or w (weeks): "30d", "12h", "90m", "2w", "45s".
//   ISO 8601 dates and times: "2026-01-31" (midnight), "2026-01-31T12:00", "2026-01-31T12:00:00",
//   a space instead of 'T', optional fractional seconds (".5", up to nanoseconds), then optionally
//   "Z" or an offset ("+02:00", "-0530"). Without Z or an offset the time is local time (the TZ
//   environment variable, as date(1), touch -d and find -newermt read it).
// Calendar fields are range-checked (no February 30th, no hour 24).
std::optional<std::int64_t> parse_time_point(std::string_view text, std::int64_t now_ns);

// The mtime window of --newer-than A --older-than B: a file is kept when A <= mtime < B, so the
// two flags split every tree in two with no file in both or neither at the same instant.
struct TimeWindow {
  std::optional<std::int64_t> newer_than_ns;  // kept: mtime_ns >= this
  std::optional<std::int64_t> older_than_ns;  // kept: mtime_ns < this
  bool contains(std::int64_t mtime_ns) const {
    return (!newer_than_ns || mtime_ns >= *newer_than_ns) && (!older_than_ns || mtime_ns < *older_than_ns);
  }
};

}  // namespace spindle
