#include <spindle/progress.hpp>
#include <spindle/units.hpp>

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace spindle {

bool progress_enabled(ProgressMode mode) {
  return mode == ProgressMode::always || (mode == ProgressMode::auto_detect && ::isatty(STDERR_FILENO) == 1);
}

int stderr_columns() {
  struct winsize size {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return size.ws_col;
  }
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr) {
    char* end = nullptr;
    const long value = std::strtol(columns, &end, 10);
    if (end != columns && *end == '\0' && value > 0 && value < 10000) {
      return static_cast<int>(value);
    }
  }
  return 80;
}

bool dumb_terminal() {
  const char* term = std::getenv("TERM");
  return term != nullptr && std::strcmp(term, "dumb") == 0;
}

std::string eta_text(double seconds) {
  const auto total = static_cast<std::uint64_t>(std::llround(std::max(seconds, 0.0)));
  char text[48];
  if (total < 60) {
    std::snprintf(text, sizeof text, "%llu s", static_cast<unsigned long long>(total));
  } else if (total < 3600) {
    std::snprintf(text, sizeof text, "%llu min %02llu s", static_cast<unsigned long long>(total / 60),
                  static_cast<unsigned long long>(total % 60));
  } else {
    std::snprintf(text, sizeof text, "%llu h %02llu min", static_cast<unsigned long long>(total / 3600),
                  static_cast<unsigned long long>(total / 60 % 60));
  }
  return text;
}

std::int64_t Progress::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(m_options.clock().time_since_epoch()).count();
}

// -q (a logger of errors only) hides the line whatever --progress says.
Progress::Progress(Logger& log, bool enabled, ProgressOptions options)
    : m_log(log),
      m_enabled(enabled && log.enabled(LogLevel::warning)),
      m_options(std::move(options)),
      m_created_ns(now_ns()) {
  if (m_enabled) {
    m_thread = std::thread([this] { run(); });
  }
}

Progress::~Progress() {
  if (m_enabled) {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_wake.notify_all();
    m_thread.join();
    m_log.clear_status();
  }
}

void Progress::begin_stage(const char* name, std::uint64_t files_total, std::uint64_t bytes_total) {
  m_files.store(0, std::memory_order_relaxed);
  m_bytes.store(0, std::memory_order_relaxed);
  m_files_total.store(files_total, std::memory_order_relaxed);
  m_bytes_total.store(bytes_total, std::memory_order_relaxed);
  m_stage_start_ns.store(now_ns(), std::memory_order_relaxed);
  m_stage_number.fetch_add(1, std::memory_order_relaxed);
  m_stage.store(name, std::memory_order_release);
}

std::string Progress::render() const {
  const std::uint64_t files = m_files.load(std::memory_order_relaxed);
  const std::uint64_t bytes = m_bytes.load(std::memory_order_relaxed);
  const std::uint64_t files_total = m_files_total.load(std::memory_order_relaxed);
  const std::uint64_t bytes_total = m_bytes_total.load(std::memory_order_relaxed);
  const double seconds = static_cast<double>(now_ns() - m_stage_start_ns.load(std::memory_order_relaxed)) / 1e9;
  const int stage = m_stage_number.load(std::memory_order_relaxed);
  std::string line;
  if (m_options.stages > 0) {
    line = "stage " + std::to_string(std::min(stage, m_options.stages)) + "/" + std::to_string(m_options.stages) + " ";
  }
  line += m_stage.load(std::memory_order_acquire);
  line += ": " + std::to_string(files);
  if (files_total != 0) {
    line += "/" + std::to_string(files_total);
  }
  line += " files";
  if (bytes_total != 0) {
    line += ", " + human_size(bytes) + "/" + human_size(bytes_total);
  }
  if (seconds > 0.2) {
    double rate = static_cast<double>(bytes) / seconds;
    if (bytes_total != 0 && rate > 0) {
      line += ", " + human_size(static_cast<std::uint64_t>(rate)) + "/s";
      // Only the last phase's remaining bytes are the rest of the run.
      if (m_options.stages == 0 || stage >= m_options.stages) {
        line += ", ETA " + eta_text(static_cast<double>(bytes_total - std::min(bytes, bytes_total)) / rate);
      }
    } else if (files_total == 0) {
      line += ", " + std::to_string(static_cast<std::uint64_t>(static_cast<double>(files) / seconds)) + " files/s";
    }
  }
  return line;
}

bool Progress::draw() {
  if (now_ns() - m_created_ns < std::chrono::nanoseconds(m_options.delay).count()) {
    return false;
  }
  std::string line = render();
  // One column short of the width: a line that fills the last column leaves some terminals
  // waiting to wrap, and the next redraw would then start on a new row. The line is ASCII.
  const int columns = m_options.columns ? m_options.columns() : 0;
  if (columns > 1 && line.size() > static_cast<std::size_t>(columns - 1)) {
    line.resize(static_cast<std::size_t>(columns - 1));
  }
  m_log.set_status(line, m_options.plain ? StatusStyle::plain : StatusStyle::ansi);
  return true;
}

void Progress::run() {
  std::unique_lock lock(m_mutex);
  while (!m_stop) {
    m_wake.wait_for(lock, std::chrono::milliseconds(100));
    if (!m_stop) {
      draw();
    }
  }
}

}  // namespace spindle
