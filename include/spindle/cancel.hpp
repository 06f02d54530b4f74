#pragma once

#include <atomic>

namespace spindle {

// Set from a signal handler (SIGINT/SIGTERM) or by a failing task; checked by tasks between files
// and by readers between blocks.
class CancelToken {
 public:
  void cancel() noexcept { m_cancelled.store(true, std::memory_order_relaxed); }
  bool cancelled() const noexcept { return m_cancelled.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> m_cancelled{false};
};

}  // namespace spindle
