#include <spindle/config.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

namespace spindle {

std::optional<std::uint64_t> parse_size(const std::string& text) {
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.')) {
    return std::nullopt;
  }
  // Digits with at most one '.', then an optional unit: no signs, exponents or hex (strtod
  // would take them).
  std::size_t digits_end = text.find_first_not_of("0123456789.");
  std::string number_text = text.substr(0, digits_end);
  if (std::count(number_text.begin(), number_text.end(), '.') > 1 || number_text == ".") {
    return std::nullopt;
  }
  double number = std::strtod(number_text.c_str(), nullptr);
  std::string suffix = digits_end == std::string::npos ? "" : text.substr(digits_end);
  double multiplier = 1;
  if (!suffix.empty()) {
    // Accept K, KB, KiB (any case): all mean 1024, as du and fclones treat them.
    std::string unit;
    for (char c : suffix) {
      unit += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if ((unit.size() == 3 && unit.substr(1) == "IB") || (unit.size() == 2 && unit[1] == 'B')) {
      unit.resize(1);
    }
    static constexpr const char* k_units = "BKMGTP";
    std::size_t power = unit.size() == 1 ? std::string(k_units).find(unit[0]) : std::string::npos;
    if (power == std::string::npos) {
      return std::nullopt;
    }
    multiplier = std::pow(1024.0, static_cast<double>(power));
  }
  double bytes = number * multiplier;
  // 2^64 is exactly representable; anything at or above it does not fit (llround would stop
  // at 2^63).
  if (!std::isfinite(bytes) || bytes < 0 || bytes >= 18446744073709551616.0) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(std::nearbyint(bytes));
}

}  // namespace spindle
