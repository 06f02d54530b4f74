// The seeds' failures (../shared/seeds/) must be impossible with PoolSet::multi_scope:
// starvation of one pool's work by another's, deadlock when a pool's only thread blocks on another
// pool, and pools exceeding their sizes. Also borrowing, exceptions and cancellation.
#include "fakes/gate.hpp"
#include "fakes/watchdog.hpp"

#include <spindle/pools.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace spindle {
namespace {

using fakes::Gate;

// Every failure of a join can show as a hang: each test runs under a watchdog that names it.
class MultiScope : public fakes::WatchedTest {};

TEST_F(MultiScope, FloodedPoolDoesNotStarveAnotherPool) {
  // Seed 000: pool A is flooded by a task that keeps spawning work on A until a task on pool B
  // sets a flag. B's task is a late-comer: it is spawned only once A's queue is long. If it had
  // to wait behind A's work (one shared pool), this join would never return.
  PoolSet pools({{"a", 2}, {"b", 1}});
  CancelToken cancel;
  std::atomic<bool> flag{false};
  std::atomic<long> spawned_on_a{0};
  // Declared outside the body: tasks may only borrow what outlives the join.
  std::function<void(Worker&)> flood;
  pools.multi_scope(cancel, [&](std::span<Scope> scopes) {
    Scope& a = scopes[0];
    Scope& b = scopes[1];
    flood = [&, &a = a, &b = b](Worker&) {
      if (flag.load()) {
        return;
      }
      if (++spawned_on_a == 1000) {
        b.spawn([&](Worker& w) {
          EXPECT_EQ(w.pool_index(), 1);
          flag.store(true);
        });
      }
      a.spawn(flood);
      a.spawn(flood);  // A's queue only grows while the flag is unset
    };
    a.spawn(flood);
  });
  EXPECT_TRUE(flag.load());
  EXPECT_GE(spawned_on_a.load(), 1000);
}

TEST_F(MultiScope, PoolBlockedOnAnotherPoolDoesNotDeadlock) {
  // Seed 001: A's only thread blocks until a task on B produces a value.
  for (int round = 0; round < 50; ++round) {
    PoolSet pools({{"a", 1}, {"b", 1}});
    CancelToken cancel;
    std::promise<int> produced;
    std::shared_future<int> value = produced.get_future().share();
    int seen = 0;
    pools.multi_scope(cancel, [&](std::span<Scope> scopes) {
      scopes[0].spawn([&](Worker&) { seen = value.get(); });
      scopes[1].spawn([&](Worker&) { produced.set_value(42 + round); });
    });
    EXPECT_EQ(seen, 42 + round);
  }
}

TEST_F(MultiScope, EachPoolRunsExactlyItsThreadCountAtOnce) {
  // Tasks block until as many as possible are running, so the recorded maximum is the pool size
  // exactly: never more (isolation), and not less (the team really has that many threads).
  PoolSet pools({{"hdd", 1}, {"ssd", 4}});
  CancelToken cancel;
  std::array<std::atomic<int>, 2> running{};
  std::array<Gate, 2> all_started;
  std::array<std::atomic<int>, 2> started{};
  const std::array<int, 2> size{1, 4};
  pools.multi_scope(cancel, [&](std::span<Scope> scopes) {
    for (int p = 0; p < 2; ++p) {
      for (int i = 0; i < 40; ++i) {
        scopes[static_cast<std::size_t>(p)].spawn([&, p](Worker& w) {
          EXPECT_EQ(w.pool_index(), p);
          EXPECT_LT(w.thread_index(), size[static_cast<std::size_t>(p)]);
          ++running[static_cast<std::size_t>(p)];
          if (++started[static_cast<std::size_t>(p)] == size[static_cast<std::size_t>(p)]) {
            all_started[static_cast<std::size_t>(p)].open();
          }
          all_started[static_cast<std::size_t>(p)].wait();
          --running[static_cast<std::size_t>(p)];
        });
      }
    }
  });
  EXPECT_EQ(pools.counters(0).max_running.load(), 1);
  EXPECT_EQ(pools.counters(1).max_running.load(), 4);
  EXPECT_EQ(pools.counters(0).tasks.load(), 40u);
  EXPECT_EQ(pools.counters(1).tasks.load(), 40u);
}

TEST_F(MultiScope, TasksBorrowTheCallersStackAndSeeEveryWrite) {
  PoolSet pools({{"a", 3}, {"b", 2}, {"c", 1}});
  CancelToken cancel;
  std::vector<long> per_slot(pools.total_threads(), 0);
  const std::vector<int> input(1000, 3);  // borrowed read-only by every task
  pools.multi_scope(cancel, [&](std::span<Scope> scopes) {
    for (std::size_t i = 0; i < input.size(); ++i) {
      scopes[i % scopes.size()].spawn([&, i](Worker& w) { per_slot[w.slot()] += input[i]; });
    }
  });
  long total = 0;
  for (long v : per_slot) {
    total += v;
  }
  EXPECT_EQ(total, 3000);
}

TEST_F(MultiScope, FirstExceptionIsRethrownAndTheRestAreReported) {
  PoolSet pools({{"a", 2}, {"b", 2}});
  CancelToken cancel;
  std::atomic<int> extra{0};
  Gate both_thrown;
  std::atomic<int> throwing{0};
  EXPECT_THROW(pools.multi_scope(
                   cancel,
                   [&](std::span<Scope> scopes) {
                     for (Scope& scope : scopes) {
                       scope.spawn([&](Worker&) {
                         // Both tasks reach the throw before either throws, so both are recorded.
                         if (++throwing == 2) {
                           both_thrown.open();
                         }
                         both_thrown.wait();
                         throw std::runtime_error("task failed");
                       });
                     }
                   },
                   [&](const std::exception_ptr&) { ++extra; }),
               std::runtime_error);
  EXPECT_EQ(extra.load(), 1);
}

TEST_F(MultiScope, OnExtraExceptionThatThrowsHidesNeitherTheFirstNorTheOthers) {
  // Three tasks fail at once; the reporter of extra exceptions fails on each call. The join must
  // still rethrow a task's exception (not the reporter's) and report both extras.
  PoolSet pools({{"a", 1}, {"b", 1}, {"c", 1}});
  CancelToken cancel;
  std::atomic<int> throwing{0};
  Gate all_thrown;
  int reported = 0;
  bool rethrew_task_failure = false;
  try {
    pools.multi_scope(
        cancel,
        [&](std::span<Scope> scopes) {
          for (Scope& scope : scopes) {
            scope.spawn([&](Worker&) {
              if (++throwing == 3) {
                all_thrown.open();
              }
              all_thrown.wait();
              throw std::runtime_error("task failed");
            });
          }
        },
        [&](const std::exception_ptr&) {
          ++reported;
          throw std::logic_error("reporter failed");
        });
  } catch (const std::runtime_error& e) {
    rethrew_task_failure = std::string(e.what()) == "task failed";
  } catch (const std::logic_error&) {
    rethrew_task_failure = false;
  }
  EXPECT_TRUE(rethrew_task_failure) << "the join did not rethrow the first task's exception";
  EXPECT_EQ(reported, 2);
}

TEST_F(MultiScope, ExceptionFromTheBodyIsRethrown) {
  PoolSet pools({{"a", 1}});
  CancelToken cancel;
  EXPECT_THROW(pools.multi_scope(cancel, [&](std::span<Scope>) { throw std::logic_error("body"); }), std::logic_error);
}

TEST_F(MultiScope, AfterAFailureQueuedTasksAreDroppedUnrun) {
  PoolSet pools({{"a", 1}});
  CancelToken cancel;
  std::atomic<int> ran{0};
  EXPECT_THROW(pools.multi_scope(cancel,
                                 [&](std::span<Scope> scopes) {
                                   scopes[0].spawn([&](Worker&) { throw std::runtime_error("first"); });
                                   for (int i = 0; i < 100; ++i) {
                                     scopes[0].spawn([&](Worker&) { ++ran; });
                                   }
                                 }),
               std::runtime_error);
  // FIFO on one thread: the failing task ran first, so none of the others did.
  EXPECT_EQ(ran.load(), 0);
}

TEST_F(MultiScope, TasksDroppedAfterCancelReleaseTheirCapturesBeforeTheJoinReturns) {
  // Tasks may borrow and own; a dropped task's closure must be destroyed by the time the join
  // returns, or what it owns outlives the join (and what it borrows may dangle).
  PoolSet pools({{"a", 1}, {"b", 2}});
  CancelToken cancel;
  auto token = std::make_shared<int>(0);
  std::atomic<int> ran{0};
  pools.multi_scope(cancel, [&](std::span<Scope> scopes) {
    scopes[0].spawn([&](Worker&) { cancel.cancel(); });
    for (int i = 0; i < 100; ++i) {
      // Pool a has one thread and runs in order: the cancelling task runs before any of these.
      scopes[0].spawn([&, token](Worker&) { ++ran; });
    }
  });
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(token.use_count(), 1) << "dropped tasks still hold their captures after the join";
}

TEST_F(MultiScope, CancellationStopsEveryPoolAndTheJoinReturns) {
  PoolSet pools({{"a", 2}, {"b", 1}});
  CancelToken cancel;
  std::atomic<long> ran{0};
  // Each task respawns itself forever; only cancellation can end this join.
  std::function<void(Worker&)> forever_a;
  std::function<void(Worker&)> forever_b;
  pools.multi_scope(cancel, [&](std::span<Scope> scopes) {
    forever_a = [&, scopes](Worker&) {
      if (++ran >= 1000) {  // B counts too, so == could be skipped
        cancel.cancel();
      }
      scopes[0].spawn(forever_a);
    };
    forever_b = [&, scopes](Worker&) {
      ++ran;
      scopes[1].spawn(forever_b);
    };
    scopes[0].spawn(forever_a);
    scopes[1].spawn(forever_b);
  });
  EXPECT_TRUE(cancel.cancelled());
  EXPECT_GE(ran.load(), 1000);
}

TEST_F(MultiScope, PerJoinSizesOverrideThePoolSize) {
  PoolSet pools({{"a", 1}});
  CancelToken cancel;
  std::atomic<int> started{0};
  Gate all;
  const std::array<int, 1> sizes{3};
  pools.multi_scope(
      cancel,
      [&](std::span<Scope> scopes) {
        EXPECT_EQ(scopes[0].threads(), 3);
        for (int i = 0; i < 3; ++i) {
          scopes[0].spawn([&](Worker&) {
            if (++started == 3) {
              all.open();
            }
            all.wait();  // only returns if three tasks run at once
          });
        }
      },
      {}, sizes);
  EXPECT_EQ(pools.counters(0).max_running.load(), 3);
  // The team counted itself: what --stats reports as the size a stage really used.
  ASSERT_EQ(pools.last_team_sizes().size(), 1u);
  EXPECT_EQ(pools.last_team_sizes()[0], 3);
  pools.multi_scope(cancel, [](std::span<Scope>) {});
  EXPECT_EQ(pools.last_team_sizes()[0], 1);
}

TEST_F(MultiScope, ManyJoinsInARowDoNotHang) {
  PoolSet pools({{"a", 1}, {"b", 4}});
  CancelToken cancel;
  long total = 0;
  for (int round = 0; round < 200; ++round) {
    std::atomic<int> count{0};
    pools.multi_scope(cancel, [&](std::span<Scope> scopes) {
      for (int i = 0; i < 10; ++i) {
        scopes[static_cast<std::size_t>(i % 2)].spawn([&](Worker&) { ++count; });
      }
    });
    total += count.load();
  }
  EXPECT_EQ(total, 2000);
}

TEST(Worker, BufferIsPageAlignedAndGrows) {
  PoolSet pools({{"a", 1}});
  CancelToken cancel;
  pools.multi_scope(cancel, [&](std::span<Scope> scopes) {
    scopes[0].spawn([](Worker& w) {
      std::span<std::byte> small = w.buffer(100);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(small.data()) % 4096, 0u);
      EXPECT_EQ(small.size(), 100u);
      std::span<std::byte> big = w.buffer(1 << 20);
      EXPECT_EQ(big.size(), 1u << 20);
      big[big.size() - 1] = std::byte{1};
    });
  });
}

}  // namespace
}  // namespace spindle
