// Fuzz parse_report, the reader of group's json and text reports that every action trusts:
// any bytes give either a report whose groups each have at least two non-empty paths without NUL,
// or a ReportError naming a line within the input; never a crash or a hang.
#include <spindle/report_read.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const spindle::ParsedReport report = spindle::parse_report(text, "fuzz");
    for (const spindle::ReportGroup& group : report.groups) {
      if (group.files.size() < 2) {
        std::abort();
      }
      for (const spindle::ReportFile& file : group.files) {
        if (file.path.empty() || file.path.find('\0') != std::string::npos) {
          std::abort();
        }
      }
    }
  } catch (const spindle::ReportError& e) {
    const std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    if (e.line < 1 || e.line > lines) {
      std::abort();
    }
  }
  return 0;
}
