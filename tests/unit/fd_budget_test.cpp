#include <spindle/cancel.hpp>
#include <spindle/fd_budget.hpp>

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <future>
#include <thread>
#include <vector>

namespace spindle {
namespace {

TEST(FitDescriptors, WindowsShrinkFirstThenTheLargestTeams) {
  struct Row {
    std::vector<int> threads;
    std::vector<std::size_t> ahead;
    std::size_t budget;
    std::vector<int> threads_after;
    std::vector<std::size_t> ahead_after;
    bool shrunk;
  };
  const Row rows[] = {
      // Fits: nothing changes.
      {{1, 16}, {32, 0}, 100, {1, 16}, {32, 0}, false},
      // Windows go first, the longest one file at a time, so two windows end up even.
      {{1, 1, 8}, {32, 32, 0}, 20, {1, 1, 8}, {5, 5, 0}, true},
      // No window left to take: the largest team gives threads, down to one.
      {{1, 16, 4}, {32, 0, 0}, 9, {1, 4, 4}, {0, 0, 0}, true},
      {{32}, {0}, 5, {5}, {0}, true},
      // Below one descriptor per busy pool: one thread each, they take turns through FdBudget.
      {{4, 4, 4}, {0, 0, 0}, 2, {1, 1, 1}, {0, 0, 0}, true},
      // Idle pools (0 threads) need nothing and are left alone.
      {{0, 16}, {0, 0}, 4, {0, 4}, {0, 0}, true},
      // A window only belongs to a pool of one thread.
      {{2}, {32}, 2, {2}, {0}, false},
  };
  for (const Row& row : rows) {
    std::vector<int> threads = row.threads;
    std::vector<std::size_t> ahead = row.ahead;
    EXPECT_EQ(fit_descriptors(threads, ahead, row.budget), row.shrunk) << row.budget;
    EXPECT_EQ(threads, row.threads_after) << row.budget;
    EXPECT_EQ(ahead, row.ahead_after) << row.budget;
  }
}

TEST(FreeDescriptors, IsTheSoftLimitMinusWhatIsOpenAndTheReserve) {
  struct rlimit limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > (1U << 20)) {
    GTEST_SKIP() << "no finite soft descriptor limit to compare with";
  }
  const std::size_t free0 = free_descriptors(0);
  EXPECT_LT(free0, limit.rlim_cur);
  EXPECT_GT(free0, limit.rlim_cur - 64);  // a test process holds a few descriptors, not dozens
  EXPECT_EQ(free_descriptors(10), free0 - 10);
  EXPECT_EQ(free_descriptors(limit.rlim_cur * 2), 1u) << "never less than one";
}

TEST(FdBudget, CountsAndRefusesWhenFull) {
  FdBudget budget(2);
  EXPECT_TRUE(budget.try_acquire());
  EXPECT_TRUE(budget.try_acquire());
  EXPECT_FALSE(budget.try_acquire());
  EXPECT_EQ(budget.in_use(), 2u);
  budget.release();
  EXPECT_TRUE(budget.try_acquire());
  budget.release();
  budget.release();
  EXPECT_EQ(budget.in_use(), 0u);
}

TEST(FdBudget, CancelledAcquireTakesNothingAndReturns) {
  FdBudget budget(1);
  ASSERT_TRUE(budget.try_acquire());
  CancelToken cancel;
  cancel.cancel();
  EXPECT_FALSE(budget.acquire(&cancel));  // full, but it must not wait: the run is ending
  EXPECT_EQ(budget.in_use(), 1u);
}

// EMFILE although the budget had room: the capacity drops to what the others hold, so readers
// wait for those instead of failing files; with no other holder there is nothing to wait for.
TEST(FdBudget, ExhaustedLowersTheCapacityToTheOtherHolders) {
  FdBudget budget(10);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(budget.try_acquire());
  }
  EXPECT_EQ(budget.exhausted(), 3u);
  EXPECT_EQ(budget.capacity(), 3u);
  EXPECT_FALSE(budget.try_acquire());
  budget.release();
  budget.release();
  EXPECT_EQ(budget.exhausted(), 0u);
  EXPECT_EQ(budget.capacity(), 1u);
}

// Many threads take and give back descriptors of a budget of 3: never more than 3 held, and
// every acquire is eventually served (the waits end on releases, not on timeouts).
TEST(FdBudget, NeverMoreHeldThanTheCapacityAndEveryWaiterIsServed) {
  FdBudget budget(3);
  CancelToken cancel;
  std::atomic<int> held{0};
  std::atomic<int> most{0};
  std::atomic<int> served{0};
  auto work = std::async(std::launch::async, [&] {
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 500; ++i) {
          ASSERT_TRUE(budget.acquire(&cancel));
          const int now = ++held;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          --held;
          budget.release();
          ++served;
        }
      });
    }
    for (std::thread& thread : threads) {
      thread.join();
    }
  });
  // Watchdog: a lost wake-up would hang here; fail with a message instead.
  ASSERT_EQ(work.wait_for(std::chrono::minutes(2)), std::future_status::ready) << "a waiter was never woken";
  EXPECT_EQ(served.load(), 8 * 500);
  EXPECT_LE(most.load(), 3);
  EXPECT_EQ(budget.in_use(), 0u);
}

}  // namespace
}  // namespace spindle
