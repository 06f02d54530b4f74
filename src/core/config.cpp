#include <spindle/config.hpp>

#include <cctype>
#include <string>

namespace spindle {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// 1024^power for the unit suffix, nullopt for an unknown unit. K, KB, KiB (any case) all mean
// 1024, as du and fclones treat them.
std::optional<std::uint64_t> unit_multiplier(std::string_view suffix) {
  if (suffix.empty()) {
    return 1;
  }
  std::string unit;
  for (char c : suffix) {
    unit += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if ((unit.size() == 3 && unit.substr(1) == "IB") || (unit.size() == 2 && unit[1] == 'B')) {
    unit.resize(1);
  }
  static constexpr std::string_view k_units = "BKMGTP";
  std::size_t power = unit.size() == 1 ? k_units.find(unit[0]) : std::string_view::npos;
  if (power == std::string_view::npos) {
    return std::nullopt;
  }
  return std::uint64_t{1} << (10 * power);
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text, SizeRounding rounding) {
  // Digits with at most one '.', then an optional unit: no signs, spaces, exponents or hex.
  // Computed exactly in integers (a double loses bytes above 2^53 and rounds 6.5 to even).
  std::size_t at = 0;
  while (at < text.size() && is_digit(text[at])) {
    ++at;
  }
  const std::string_view whole = text.substr(0, at);
  std::string_view fraction;
  if (at < text.size() && text[at] == '.') {
    const std::size_t start = ++at;
    while (at < text.size() && is_digit(text[at])) {
      ++at;
    }
    fraction = text.substr(start, at - start);
  }
  if (whole.empty() && fraction.empty()) {
    return std::nullopt;
  }
  const std::optional<std::uint64_t> multiplier = unit_multiplier(text.substr(at));
  if (!multiplier) {
    return std::nullopt;
  }

  std::uint64_t bytes = 0;
  for (char c : whole) {
    if (__builtin_mul_overflow(bytes, std::uint64_t{10}, &bytes) ||
        __builtin_add_overflow(bytes, static_cast<std::uint64_t>(c - '0'), &bytes)) {
      return std::nullopt;
    }
  }
  if (__builtin_mul_overflow(bytes, *multiplier, &bytes)) {
    return std::nullopt;
  }
  // multiplier x 0.d1d2...dk by long multiplication from the last digit: what carries past d1 is
  // the whole bytes, any digit left behind is a fraction of a byte. The carry stays below
  // multiplier (at most 2^50), so nothing overflows however many digits there are.
  std::uint64_t carry = 0;
  bool part_of_a_byte = false;
  for (auto digit = fraction.rbegin(); digit != fraction.rend(); ++digit) {
    const std::uint64_t product = static_cast<std::uint64_t>(*digit - '0') * *multiplier + carry;
    part_of_a_byte = part_of_a_byte || product % 10 != 0;
    carry = product / 10;
  }
  if (__builtin_add_overflow(bytes, carry, &bytes)) {
    return std::nullopt;
  }
  if (part_of_a_byte && rounding == SizeRounding::up && __builtin_add_overflow(bytes, std::uint64_t{1}, &bytes)) {
    return std::nullopt;
  }
  return bytes;
}

}  // namespace spindle
