#include "signals.hpp"

#include "exit_code.hpp"

#include <unistd.h>

#include <csignal>

namespace spindle::cli {

namespace {

// SIGUSR1 is how the destructor wakes the watcher; it is blocked like the others, so it can
// only be received by sigwait.
sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  return set;
}

}  // namespace

SignalWatcher::SignalWatcher(CancelToken& token) {
  sigset_t set = watched_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  m_thread = std::thread([set, &token] {
    int received = 0;
    bool cancelled = false;
    while (sigwait(&set, &received) == 0) {
      if (received == SIGUSR1) {
        return;
      }
      if (cancelled) {
        _exit(k_exit_interrupted);
      }
      cancelled = true;
      token.cancel();
    }
  });
}

SignalWatcher::~SignalWatcher() {
  pthread_kill(m_thread.native_handle(), SIGUSR1);
  m_thread.join();
}

}  // namespace spindle::cli
