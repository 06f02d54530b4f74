#pragma once

#include <atomic>

namespace spindle {

// Set from the signal watcher (SIGINT/SIGTERM) or by a failing task. Checked by tasks between
// files and by readers between blocks, so a run stops within one block read of the signal.
class CancelToken {
 public:
  CancelToken() = default;
  // A token for a part of the run that may also stop on its own (a walk that has found enough):
  // cancelled when `parent` is, or when cancel() is called on it; cancelling it leaves the parent
  // as it is.
  explicit CancelToken(const CancelToken* parent) : m_parent(parent) {}

  void cancel() noexcept { m_cancelled.store(true, std::memory_order_relaxed); }
  bool cancelled() const noexcept {
    return m_cancelled.load(std::memory_order_relaxed) || (m_parent != nullptr && m_parent->cancelled());
  }

 private:
  std::atomic<bool> m_cancelled{false};
  const CancelToken* m_parent = nullptr;
};

}  // namespace spindle
