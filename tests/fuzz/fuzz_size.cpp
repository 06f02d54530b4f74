// Fuzz parse_size (--min-size, --max-size): a value parsed both ways differs by at most one byte,
// rounding up never gives less than rounding down, and a value parses iff it is well formed.
#include <spindle/config.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::optional<std::uint64_t> up = spindle::parse_size(text, spindle::SizeRounding::up);
  const std::optional<std::uint64_t> down = spindle::parse_size(text, spindle::SizeRounding::down);
  if (up) {
    // Rounding up can only fail where rounding down is already the largest size.
    if (!down || *up < *down || *up - *down > 1) {
      std::abort();
    }
  } else if (down && *down != UINT64_MAX) {
    std::abort();
  }
  return 0;
}
