#include "output.hpp"

#include <spindle/pools.hpp>

#include <unistd.h>

#include <cstdlib>
#include <cstring>

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

bool colour_wanted(ColorMode mode, int fd) {
  if (mode != ColorMode::auto_detect) {
    return mode == ColorMode::always;
  }
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') {
    return false;
  }
  const char* term = std::getenv("TERM");
  if (term == nullptr || *term == '\0' || std::strcmp(term, "dumb") == 0) {
    return false;
  }
  return ::isatty(fd) == 1;
}

bool report_colour(ColorMode mode, const OutputFile& output) {
  return output.kind() == OutputKind::standard_output && colour_wanted(mode, STDOUT_FILENO);
}

std::vector<std::string> stage_thread_lines(const RunStats& stats) {
  std::vector<std::string> lines;
  for (const StageReport& stage : stats.stages) {
    std::string threads;
    for (std::size_t p = 0; p < stage.pool_threads.size() && p < stats.pools.size(); ++p) {
      if (stage.pool_threads[p] > 0) {
        threads += (threads.empty() ? "" : ", ") + escape_for_terminal(stats.pools[p].device) + "=" +
                   std::to_string(stage.pool_threads[p]);
      }
    }
    if (!threads.empty()) {
      lines.push_back("stage " + stage.name + ": threads " + threads);
    }
  }
  return lines;
}

Logger make_logger(const Config& config) {
  return Logger(stderr, log_level_for(config.verbosity), colour_wanted(config.color, STDERR_FILENO));
}

}  // namespace spindle::cli
