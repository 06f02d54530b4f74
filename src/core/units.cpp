#include <spindle/units.hpp>

#include <array>
#include <charconv>
#include <string_view>

namespace spindle {

std::string human_size(std::uint64_t bytes) {
  static constexpr std::array<std::string_view, 7> k_units{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) {
    return std::to_string(bytes) + " B";
  }
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  // Move up while the value would print as 1024.0 or more: 1048575 bytes is "1.0 MiB".
  while (value >= 1023.95 && unit + 1 < k_units.size()) {
    value /= 1024.0;
    ++unit;
  }
  // to_chars, not printf: the CLI may set a locale whose decimal separator is ','.
  std::array<char, 32> digits{};
  const std::to_chars_result end =
      std::to_chars(digits.data(), digits.data() + digits.size(), value, std::chars_format::fixed, 1);
  std::string text(digits.data(), end.ptr);
  text += ' ';
  text += k_units[unit];
  return text;
}

}  // namespace spindle
