#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace spindle::fakes {

// Run `fn` on its own thread and return its result; when it has not returned after `limit`,
// print `what` and end the test binary with status 1. For calls that can only fail by hanging
// (opening a FIFO): the test fails with a message instead of blocking ctest, and no future's
// destructor waits on the stuck thread.
template <typename Fn>
auto within(std::chrono::seconds limit, const std::string& what, Fn fn) -> decltype(fn()) {
  using Value = decltype(fn());
  auto promise = std::make_shared<std::promise<Value>>();
  std::future<Value> future = promise->get_future();
  std::thread([promise, fn = std::move(fn)]() mutable {
    try {
      promise->set_value(fn());
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  }).detach();
  if (future.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "watchdog: %s did not return within %lld s\n", what.c_str(),
                 static_cast<long long>(limit.count()));
    std::fflush(stderr);
    std::_Exit(1);
  }
  return future.get();
}

// Turns a hang into a failure with a message. A test whose bug shows only as a hang (a join that
// never returns, a gate never opened) would otherwise block until ctest's TIMEOUT kills it with no
// word about what hung. The watchdog waits on its own thread; if `kick()` is not called within
// `bound`, it prints "watchdog: <what()> did not finish within N s" and ends the process, since a
// hung thread cannot be stopped from outside. The bound is generous (a loaded machine must
// never trip it): it measures "stuck", not "slow".
class Watchdog {
 public:
  Watchdog(std::chrono::seconds bound, std::function<std::string()> what)
      : m_bound(bound), m_what(std::move(what)), m_thread([this] { run(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(m_mutex);
      m_done = true;
    }
    m_cv.notify_all();
    m_thread.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Progress was made: the bound starts over.
  void kick() {
    std::lock_guard lock(m_mutex);
    ++m_kicks;
    m_cv.notify_all();
  }

 private:
  void run() {
    std::unique_lock lock(m_mutex);
    for (;;) {
      unsigned long seen = m_kicks;
      if (m_cv.wait_for(lock, m_bound, [&] { return m_done || m_kicks != seen; })) {
        if (m_done) {
          return;
        }
        continue;
      }
      std::string what = m_what();
      std::fprintf(stderr, "\nwatchdog: %s did not finish within %lld s (hung); failing the test\n", what.c_str(),
                   static_cast<long long>(m_bound.count()));
      std::fflush(stderr);
      std::_Exit(1);
    }
  }

  std::chrono::seconds m_bound;
  std::function<std::string()> m_what;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  unsigned long m_kicks = 0;
  bool m_done = false;
  std::thread m_thread;  // last: starts after every other member is ready
};

// Run `body` under a watchdog of `bound`: a body that hangs fails the test binary with a message
// naming `what`, instead of blocking until an outer timeout.
inline void with_watchdog(const std::string& what, const std::function<void()>& body,
                          std::chrono::seconds bound = std::chrono::seconds(120)) {
  Watchdog watchdog(bound, [&] { return what; });
  body();
}

// A GoogleTest fixture whose every test runs under a Watchdog naming the test: for suites whose
// failures can show as hangs (joins, gates, blocking reads). Use with TEST_F.
class WatchedTest : public ::testing::Test {
 protected:
  static std::string current_test() {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return info == nullptr ? std::string("a test") : std::string(info->test_suite_name()) + "." + info->name();
  }

 private:
  Watchdog m_watchdog{std::chrono::seconds(120), [] { return current_test(); }};
};

}  // namespace spindle::fakes
