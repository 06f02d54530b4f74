#pragma once

#include <spindle/pools.hpp>

#include <pthread.h>

#include <thread>

namespace spindle::cli {

// Turns SIGINT/SIGTERM into a cancellation without a signal handler or a global: the signals are
// blocked in every thread (construct this before any thread starts) and one thread waits for them
// with sigwait. The first signal cancels the run; a second one ends the process at once.
class SignalWatcher {
 public:
  explicit SignalWatcher(CancelToken& token);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  std::thread m_thread;
};

}  // namespace spindle::cli
