#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
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

}  // namespace spindle::fakes
