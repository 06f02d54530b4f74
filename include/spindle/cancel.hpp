#pragma once

#include <atomic>

namespace spindle {

// Set from the signal watcher (SIGINT/SIGTERM) or by a failing task. Checked by tasks between
// files and by readers between blocks, so a run stops within one block read of the signal.
class CancelToken {
 public:
  void cancel() noexcept { m_cancelled.store(true, std::memory_order_relaxed); }
  bool cancelled() const noexcept { return m_cancelled.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> m_cancelled{false};
};

}  // namespace spindle
