// Fuzz parse_threads_argument (--threads): any text either parses into rules within the limits or
// throws ThreadsSpecError; nothing else (no other exception, no crash, no sanitizer report).
#include <spindle/threads_spec.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    for (const spindle::ThreadsRule& rule : spindle::parse_threads_argument(text)) {
      const spindle::ThreadCounts counts = rule.counts;
      if (counts.small < 1 || counts.small > 1024 || counts.large < 1 || counts.large > 1024) {
        std::abort();  // the grammar promises 1..1024
      }
      if (rule.target == spindle::ThreadsRule::Target::device && rule.device.empty()) {
        std::abort();
      }
    }
  } catch (const spindle::ThreadsSpecError&) {
    // A malformed spec: the expected outcome for most inputs.
  }
  return 0;
}
