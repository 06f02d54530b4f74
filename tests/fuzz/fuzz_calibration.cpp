// Fuzz parse_calibration, the parser of the calibration store ($XDG_CONFIG_HOME/spindle/
// calibration): any text gives a Calibration whose counts are within 1..1024, never a crash.
#include <spindle/calibrate.hpp>
#include <spindle/log.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Errors only: the warnings about malformed lines would flood the fuzzer's output.
  spindle::Logger log(stderr, spindle::LogLevel::error);
  const spindle::Calibration calibration = spindle::parse_calibration(text, "fuzz", log);
  for (const auto& [key, counts] : calibration.best_threads) {
    if (key.empty() || counts.small < 1 || counts.small > 1024 || counts.large < 1 || counts.large > 1024) {
      std::abort();
    }
  }
  return 0;
}
