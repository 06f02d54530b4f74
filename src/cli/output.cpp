#include "output.hpp"

#include <spindle/pools.hpp>

namespace spindle::cli {

OutputFile open_report(const std::string& path, const CancelToken& cancel) {
  return OutputFile::open(path, OutputFile::Options{.cancel = &cancel});
}

LogLevel log_level_for(int verbosity) {
  if (verbosity < 0) {
    return LogLevel::error;
  }
  if (verbosity == 0) {
    return LogLevel::warning;
  }
  return verbosity == 1 ? LogLevel::info : LogLevel::debug;
}

}  // namespace spindle::cli
