#include <spindle/time_filter.hpp>

#include <charconv>
#include <cstdint>
#include <ctime>
#include <limits>

namespace spindle {

namespace {

constexpr std::int64_t k_ns_per_second = 1'000'000'000;

// Reads exactly `digits` decimal digits at `at`; nullopt when there are fewer.
std::optional<int> read_digits(std::string_view text, std::size_t& at, std::size_t digits) {
  if (text.size() - at < digits) {
    return std::nullopt;
  }
  int value = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const char c = text[at + i];
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  at += digits;
  return value;
}

bool leap_year(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && leap_year(year) ? 29 : k_days[month - 1];
}

// Days from 1970-01-01 to the date (proleptic Gregorian; Howard Hinnant's days_from_civil):
// UTC needs no time zone database, and timegm is not in POSIX.
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<std::int64_t> parse_duration(std::string_view text, std::int64_t now_ns) {
  if (text.size() < 2) {
    return std::nullopt;
  }
  std::int64_t seconds_per_unit = 0;
  switch (text.back()) {
    case 's':
      seconds_per_unit = 1;
      break;
    case 'm':
      seconds_per_unit = 60;
      break;
    case 'h':
      seconds_per_unit = 3600;
      break;
    case 'd':
      seconds_per_unit = 86400;
      break;
    case 'w':
      seconds_per_unit = 7 * 86400;
      break;
    default:
      return std::nullopt;
  }
  const std::string_view number = text.substr(0, text.size() - 1);
  if (number.empty() || number.front() < '0' || number.front() > '9') {
    return std::nullopt;  // from_chars would take a sign
  }
  std::int64_t count = 0;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), count);
  if (error != std::errc() || end != number.data() + number.size()) {
    return std::nullopt;
  }
  // Back to before the epoch is fine; beyond what ns in 64 bits hold (292 years) is not a time.
  constexpr std::int64_t k_max = std::numeric_limits<std::int64_t>::max();
  if (count > k_max / k_ns_per_second / seconds_per_unit) {
    return std::nullopt;
  }
  const std::int64_t back = count * seconds_per_unit * k_ns_per_second;
  if (now_ns < std::numeric_limits<std::int64_t>::min() + back) {
    return std::nullopt;
  }
  return now_ns - back;
}

std::optional<std::int64_t> parse_iso(std::string_view text) {
  std::size_t at = 0;
  const std::optional<int> year = read_digits(text, at, 4);
  if (!year || at >= text.size() || text[at++] != '-') {
    return std::nullopt;
  }
  const std::optional<int> month = read_digits(text, at, 2);
  if (!month || at >= text.size() || text[at++] != '-') {
    return std::nullopt;
  }
  const std::optional<int> day = read_digits(text, at, 2);
  if (!day || *month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month)) {
    return std::nullopt;
  }
  int hour = 0;
  int minute = 0;
  int second = 0;
  std::int64_t fraction_ns = 0;
  if (at < text.size() && (text[at] == 'T' || text[at] == ' ')) {
    ++at;
    const std::optional<int> h = read_digits(text, at, 2);
    if (!h || at >= text.size() || text[at++] != ':') {
      return std::nullopt;
    }
    const std::optional<int> m = read_digits(text, at, 2);
    if (!m) {
      return std::nullopt;
    }
    hour = *h;
    minute = *m;
    if (at < text.size() && text[at] == ':') {
      ++at;
      const std::optional<int> s = read_digits(text, at, 2);
      if (!s) {
        return std::nullopt;
      }
      second = *s;
      if (at < text.size() && text[at] == '.') {
        ++at;
        std::int64_t scale = k_ns_per_second;
        std::size_t digits = 0;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
          if (++digits > 9) {
            return std::nullopt;  // finer than a nanosecond: no file time has it
          }
          scale /= 10;
          fraction_ns += (text[at] - '0') * scale;
          ++at;
        }
        if (digits == 0) {
          return std::nullopt;
        }
      }
    }
    if (hour > 23 || minute > 59 || second > 59) {
      return std::nullopt;
    }
  }
  std::optional<std::int64_t> offset_seconds;  // east of UTC; nullopt: local time
  if (at < text.size() && text[at] == 'Z') {
    ++at;
    offset_seconds = 0;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const int sign = text[at++] == '-' ? -1 : 1;
    const std::optional<int> oh = read_digits(text, at, 2);
    if (!oh) {
      return std::nullopt;
    }
    if (at < text.size() && text[at] == ':') {
      ++at;
    }
    const std::optional<int> om = read_digits(text, at, 2);
    if (!om || *oh > 23 || *om > 59) {
      return std::nullopt;
    }
    offset_seconds = sign * (*oh * 3600 + *om * 60);
  }
  if (at != text.size()) {
    return std::nullopt;
  }
  std::int64_t seconds = 0;
  if (offset_seconds) {
    seconds = days_from_civil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day)) * 86400 + hour * 3600 +
              minute * 60 + second - *offset_seconds;
  } else {
    std::tm local{};
    local.tm_year = *year - 1900;
    local.tm_mon = *month - 1;
    local.tm_mday = *day;
    local.tm_hour = hour;
    local.tm_min = minute;
    local.tm_sec = second;
    local.tm_isdst = -1;  // the zone's rule for that date decides (a clock-change hour: mktime's reading)
    const std::time_t t = std::mktime(&local);
    if (t == static_cast<std::time_t>(-1) && !(local.tm_year == 69 && local.tm_mon == 11 && local.tm_mday == 31)) {
      return std::nullopt;
    }
    seconds = static_cast<std::int64_t>(t);
  }
  return seconds * k_ns_per_second + fraction_ns;
}

}  // namespace

std::optional<std::int64_t> parse_time_point(std::string_view text, std::int64_t now_ns) {
  if (text.size() >= 10 && text[4] == '-') {
    return parse_iso(text);
  }
  return parse_duration(text, now_ns);
}

}  // namespace spindle
