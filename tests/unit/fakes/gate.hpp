#pragma once

#include <condition_variable>
#include <mutex>

namespace spindle::fakes {

// A gate that tasks block on until it is opened: orders events between threads without timing.
class Gate {
 public:
  void open() {
    std::lock_guard lock(m_mutex);
    m_open = true;
    m_cv.notify_all();
  }
  void wait() {
    std::unique_lock lock(m_mutex);
    m_cv.wait(lock, [&] { return m_open; });
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_open = false;
};

}  // namespace spindle::fakes
