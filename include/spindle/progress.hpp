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

// The width of the terminal on stderr (TIOCGWINSZ), else $COLUMNS, else 80: the line is clipped
// to it so that it never wraps (a wrapped line leaves a stale row behind on every redraw).
int stderr_columns();
// TERM=dumb: such a terminal understands no escape sequence, so the line is erased with
// carriage returns and blanks only.
bool dumb_terminal();

// What a Progress needs from its surroundings; each is a seam for tests (a clock they move by
// hand, a fixed width, plain or not), so no test sleeps or needs a real terminal.
struct ProgressOptions {
  std::function<std::chrono::steady_clock::time_point()> clock = [] { return std::chrono::steady_clock::now(); };
  // Phases of the run as the line counts them ("stage k/n"): each begin_stage is the next one.
  // 0: the line shows no stage number (a run of one phase).
  int stages = 0;
  // Nothing is drawn until the run is this old: a run that ends sooner shows no line at all.
  std::chrono::milliseconds delay{500};
  std::function<int()> columns = stderr_columns;
  bool plain = dumb_terminal();
};

// A one-line progress display on stderr ("stage k/n", the phase's name, files and bytes done of
// total, rate, ETA), redrawn at most ten times a second by its own thread. Workers only add to
// atomics, once per batch, so it costs nothing measurable when on and nothing at all when off.
// Hidden when the logger logs errors only (-q).
//
// The ETA covers the rest of the run, never one phase: it is shown only in the last phase and
// only when that phase's total bytes are known (a walk's total is not known until it ends, so
// an earlier phase shows a rate but no ETA, which would be a guess). A duplicate search's last
// phase starts from an upper bound of its reads that shrinks as files turn out unique
// (reduce_total), so its ETA errs long, never short, and converges. It reads "ETA 42 s",
// "ETA 3 min 05 s" or "ETA 2 h 07 min".
class Progress {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  Progress(Logger& log, bool enabled, ProgressOptions options = {});
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return m_enabled; }
  // Start the next phase; totals of 0 mean unknown (the walk).
  void begin_stage(const char* name, std::uint64_t files_total, std::uint64_t bytes_total);
  // Take bytes off the phase's total: work it will not do after all. A duplicate search knows
  // only an upper bound of its reads at the start (every candidate read through every stage);
  // each file that turns out unique takes its unread stages off, so the ETA shrinks to the truth.
  void reduce_total(std::uint64_t bytes) {
    std::uint64_t total = m_bytes_total.load(std::memory_order_relaxed);
    while (!m_bytes_total.compare_exchange_weak(total, total - std::min(total, bytes), std::memory_order_relaxed)) {
    }
  }
  void add(std::uint64_t files, std::uint64_t bytes) {
    m_files.fetch_add(files, std::memory_order_relaxed);
    m_bytes.fetch_add(bytes, std::memory_order_relaxed);
  }

  // The phase's bytes done and its (estimated) total.
  std::uint64_t bytes_done() const { return m_bytes.load(std::memory_order_relaxed); }
  std::uint64_t bytes_total() const { return m_bytes_total.load(std::memory_order_relaxed); }

  // The line as it would be drawn now, before clipping (exposed for tests).
  std::string render() const;
  // Draw the line now, clipped to the terminal, unless the run is younger than the delay: what
  // the drawing thread does every 100 ms. Returns whether it drew.
  bool draw();

 private:
  void run();
  std::int64_t now_ns() const;

  Logger& m_log;
  bool m_enabled;
  ProgressOptions m_options;
  std::int64_t m_created_ns;
  std::atomic<const char*> m_stage{""};
  std::atomic<int> m_stage_number{0};
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

// "42 s", "3 min 05 s", "2 h 07 min" (rounded to the second).
std::string eta_text(double seconds);

}  // namespace spindle
