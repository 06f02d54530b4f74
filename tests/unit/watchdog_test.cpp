// The watchdog that turns a hang into a failure must itself be trusted: a body that never returns
// ends the process with a message naming what hung, and a body that returns is left alone.
#include "fakes/watchdog.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

namespace spindle {
namespace {

TEST(WatchdogDeathTest, AHungBodyFailsWithAMessageNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        fakes::with_watchdog(
            "the stuck body",
            [] {
              std::mutex mutex;
              std::condition_variable never;
              std::unique_lock lock(mutex);
              never.wait(lock, [] { return false; });
            },
            std::chrono::seconds(1));
      },
      ::testing::ExitedWithCode(1), "watchdog: the stuck body did not finish within 1 s");
}

TEST(Watchdog, ABodyThatReturnsIsLeftAlone) {
  int ran = 0;
  fakes::with_watchdog("a quick body", [&] { ++ran; });
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace spindle
