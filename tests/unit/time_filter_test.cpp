// --newer-than/--older-than values as a table: each text, the instant it names (or none), and
// the window's boundaries to the nanosecond.
#include <spindle/time_filter.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace spindle {
namespace {

constexpr std::int64_t k_s = 1'000'000'000;
constexpr std::int64_t k_now = 1'800'000'000 * k_s + 123;  // 2027-01-15T08:00:00Z and 123 ns
constexpr std::int64_t k_jan31 = 1'769'817'600 * k_s;      // 2026-01-31T00:00:00Z

// Sets TZ for one test and restores it after.
class ZoneGuard {
 public:
  explicit ZoneGuard(const char* zone) {
    if (const char* old = std::getenv("TZ")) {
      m_old = old;
    }
    ::setenv("TZ", zone, 1);
    ::tzset();
  }
  ~ZoneGuard() {
    if (m_old) {
      ::setenv("TZ", m_old->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  ZoneGuard(const ZoneGuard&) = delete;
  ZoneGuard& operator=(const ZoneGuard&) = delete;

 private:
  std::optional<std::string> m_old;
};

struct Row {
  const char* text;
  std::optional<std::int64_t> expected;
};

void check(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    EXPECT_EQ(parse_time_point(row.text, k_now), row.expected) << "'" << row.text << "'";
  }
}

TEST(TimeFilter, Durations) {
  check({
      {"30d", k_now - 30 * 86400 * k_s},
      {"12h", k_now - 12 * 3600 * k_s},
      {"90m", k_now - 90 * 60 * k_s},
      {"2w", k_now - 14 * 86400 * k_s},
      {"45s", k_now - 45 * k_s},
      {"0d", k_now},
      {"", std::nullopt},
      {"d", std::nullopt},
      {"30", std::nullopt},
      {"30D", std::nullopt},
      {"30y", std::nullopt},
      {"-3d", std::nullopt},
      {"+3d", std::nullopt},
      {"3.5d", std::nullopt},
      {" 3d", std::nullopt},
      {"3d ", std::nullopt},
      {"1d12h", std::nullopt},
      {"99999999999999999999d", std::nullopt},
      {"200000w", std::nullopt},  // 3835 years: more than 64-bit nanoseconds hold
  });
}

TEST(TimeFilter, IsoInUtcAndOffsets) {
  check({
      {"2026-01-31T00:00:00Z", k_jan31},
      {"2026-01-31T12:00:00Z", k_jan31 + 12 * 3600 * k_s},
      {"2026-01-31 12:00Z", k_jan31 + 12 * 3600 * k_s},
      {"2026-01-31T12:00:00.5Z", k_jan31 + 12 * 3600 * k_s + 500'000'000},
      {"2026-01-31T00:00:00.000000001Z", k_jan31 + 1},
      {"2026-01-31T12:00:00+02:00", k_jan31 + 10 * 3600 * k_s},
      {"2026-01-31T12:00:00-0530", k_jan31 + 17 * 3600 * k_s + 30 * 60 * k_s},
      {"2026-01-31Z", k_jan31},
      {"2024-02-29T00:00:00Z", 1'709'164'800 * k_s},
      {"1969-12-31T23:59:59Z", -k_s},
      {"2026-01-31T00:00:00.0000000001Z", std::nullopt},  // finer than a nanosecond
      {"2026-01-31T00:00:00.Z", std::nullopt},
      {"2025-02-29", std::nullopt},
      {"2026-13-01", std::nullopt},
      {"2026-00-10", std::nullopt},
      {"2026-04-31", std::nullopt},
      {"2026-01-31T24:00:00Z", std::nullopt},
      {"2026-01-31T12:60Z", std::nullopt},
      {"2026-01-31T12:00:60Z", std::nullopt},
      {"2026-01-31T12Z", std::nullopt},
      {"2026-1-31", std::nullopt},
      {"2026/01/31", std::nullopt},
      {"2026-01-31T12:00:00+2", std::nullopt},
      {"2026-01-31T12:00:00+24:00", std::nullopt},
      {"2026-01-31x", std::nullopt},
      {"2026-01-31T12:00:00Zjunk", std::nullopt},
  });
}

TEST(TimeFilter, BareDatesAreLocalTime) {
  {
    ZoneGuard zone("UTC0");
    check({{"2026-01-31", k_jan31}, {"2026-01-31T12:00:00", k_jan31 + 12 * 3600 * k_s}});
  }
  {
    ZoneGuard zone("EST5");  // POSIX TZ: 5 hours west of UTC, no daylight saving time
    check({{"2026-01-31", k_jan31 + 5 * 3600 * k_s},
           {"2026-01-31T12:00:00.25", k_jan31 + 17 * 3600 * k_s + 250'000'000},
           {"2026-01-31T12:00:00Z", k_jan31 + 12 * 3600 * k_s}});  // Z: not local
  }
}

TEST(TimeFilter, WindowIsHalfOpen) {
  const TimeWindow window{.newer_than_ns = 100, .older_than_ns = 200};
  EXPECT_FALSE(window.contains(99));
  EXPECT_TRUE(window.contains(100));
  EXPECT_TRUE(window.contains(199));
  EXPECT_FALSE(window.contains(200));
  EXPECT_TRUE(TimeWindow{}.contains(-5));
  const TimeWindow newer{.newer_than_ns = 100, .older_than_ns = {}};
  EXPECT_TRUE(newer.contains(1'000'000));
  const TimeWindow older{.newer_than_ns = {}, .older_than_ns = 100};
  EXPECT_FALSE(older.contains(100));
  EXPECT_TRUE(older.contains(99));
}

}  // namespace
}  // namespace spindle
