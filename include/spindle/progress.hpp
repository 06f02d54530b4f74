#pragma once

#include <spindle/config.hpp>
#include <spindle/log.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace spindle {

// Whether a progress display is wanted: `always`, or `auto` when stderr is a terminal.
bool progress_enabled(ProgressMode mode);

// A one-line progress display on stderr (stage, files and bytes done of total, rate, ETA),
// redrawn at most ten times a second by its own thread. Workers only add to atomics, once per
// batch, so it costs nothing measurable when on and nothing at all when off.
class Progress {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // `clock` times the rate and ETA; a seam for tests, which pass a clock they move by hand.
  Progress(
      Logger& log, bool enabled, Clock clock = [] { return std::chrono::steady_clock::now(); });
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return m_enabled; }
  // Start a stage; totals of 0 mean unknown (the walk).
  void begin_stage(const char* name, std::uint64_t files_total, std::uint64_t bytes_total);
  void add(std::uint64_t files, std::uint64_t bytes) {
    m_files.fetch_add(files, std::memory_order_relaxed);
    m_bytes.fetch_add(bytes, std::memory_order_relaxed);
  }

  // The line as it would be drawn now (exposed for tests).
  std::string render() const;
  // Draw the line now: what the drawing thread does every 100 ms.
  void draw() { m_log.set_status(render()); }

 private:
  void run();
  std::int64_t now_ns() const;

  Logger& m_log;
  bool m_enabled;
  Clock m_clock;
  std::atomic<const char*> m_stage{""};
  std::atomic<std::uint64_t> m_files{0};
  std::atomic<std::uint64_t> m_bytes{0};
  std::atomic<std::uint64_t> m_files_total{0};
  std::atomic<std::uint64_t> m_bytes_total{0};
  std::atomic<std::int64_t> m_stage_start_ns{0};
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stop = false;
  std::thread m_thread;
};

}  // namespace spindle
