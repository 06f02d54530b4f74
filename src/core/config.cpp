#include <spindle/config.hpp>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

namespace spindle {

std::optional<std::uint64_t> parse_size(const std::string& text) {
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.')) {
    return std::nullopt;
  }
  char* end = nullptr;
  double number = std::strtod(text.c_str(), &end);
  std::string suffix(end);
  double multiplier = 1;
  if (!suffix.empty()) {
    // Accept K, KB, KiB (any case): all mean 1024, as du and fclones treat them.
    std::string unit;
    for (char c : suffix) {
      unit += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (unit.size() == 3 && unit.substr(1) == "IB") {
      unit.resize(1);
    } else if (unit.size() == 2 && unit[1] == 'B') {
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
  if (!std::isfinite(bytes) || bytes < 0 || bytes > 1.8e19) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(std::llround(bytes));
}

}  // namespace spindle
