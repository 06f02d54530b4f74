#include <spindle/progress.hpp>
#include <spindle/units.hpp>

#include <unistd.h>

#include <cstdio>
#include <utility>

namespace spindle {

bool progress_enabled(ProgressMode mode) {
  return mode == ProgressMode::always || (mode == ProgressMode::auto_detect && ::isatty(STDERR_FILENO) == 1);
}

std::int64_t Progress::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(m_clock().time_since_epoch()).count();
}

Progress::Progress(Logger& log, bool enabled, Clock clock) : m_log(log), m_enabled(enabled), m_clock(std::move(clock)) {
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
  m_stage.store(name, std::memory_order_release);
}

std::string Progress::render() const {
  const std::uint64_t files = m_files.load(std::memory_order_relaxed);
  const std::uint64_t bytes = m_bytes.load(std::memory_order_relaxed);
  const std::uint64_t files_total = m_files_total.load(std::memory_order_relaxed);
  const std::uint64_t bytes_total = m_bytes_total.load(std::memory_order_relaxed);
  const double seconds = static_cast<double>(now_ns() - m_stage_start_ns.load(std::memory_order_relaxed)) / 1e9;
  std::string line = m_stage.load(std::memory_order_acquire);
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
      char eta[32];
      std::snprintf(eta, sizeof eta, ", ETA %.0f s",
                    static_cast<double>(bytes_total - std::min(bytes, bytes_total)) / rate);
      line += eta;
    } else if (files_total == 0) {
      line += ", " + std::to_string(static_cast<std::uint64_t>(static_cast<double>(files) / seconds)) + " files/s";
    }
  }
  return line;
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
