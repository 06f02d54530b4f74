// A stress test of the multi-scope join: thousands of joins over random pool sets, each with a
// random plan (clean work, failures, several failures at once, a failure followed by more spawns
// and a failure of `fn`, cancellation from a task or from another thread). After every join it
// checks the contract of PoolSet::multi_scope by counting, never by timing:
//   - every spawned task ran at most once, and all of them ran unless the join failed or was
//     cancelled (a task is dropped only after that);
//   - every task's captures were released before the join returned (run or dropped);
//   - no pool ran more tasks at once than its size for this join, each on its own pool's threads;
//   - the first exception is rethrown and every other one reaches on_extra_exception exactly once;
//   - the join returned: a watchdog fails the test with the seed and join number if it hangs.
// The seed is printed; SPINDLE_STRESS_SEED=<seed> repeats a run, SPINDLE_STRESS_JOINS=<n> sets
// the number of joins (fewer by default under sanitizers, which slow joins down several times).
#include "fakes/gate.hpp"
#include "fakes/watchdog.hpp"

#include <spindle/pools.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SPINDLE_STRESS_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SPINDLE_STRESS_SANITIZED 1
#endif

namespace spindle {
namespace {

using fakes::Gate;

int joins_to_run() {
  if (const char* env = std::getenv("SPINDLE_STRESS_JOINS")) {
    return std::max(1, std::atoi(env));
  }
#ifdef SPINDLE_STRESS_SANITIZED
  return 500;
#else
  return 1000;
#endif
}

std::uint64_t stress_seed() {
  if (const char* env = std::getenv("SPINDLE_STRESS_SEED")) {
    return std::strtoull(env, nullptr, 10);
  }
  return (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
}

// A small deterministic generator per task (the schedule is not deterministic, each task's choices are).
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// What a task or fn throws: its id says who threw it.
struct Failure : std::runtime_error {
  explicit Failure(long id_) : std::runtime_error("failure " + std::to_string(id_)), id(id_) {}
  long id;
};

// A gate that opens once `count` parties arrived; no timing involved.
class Barrier {
 public:
  explicit Barrier(int count) : m_left(count) {}
  void arrive_and_wait() {
    std::unique_lock lock(m_mutex);
    if (--m_left <= 0) {
      m_cv.notify_all();
    }
    m_cv.wait(lock, [&] { return m_left <= 0; });
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  int m_left;
};

enum class Plan {
  clean,                // random work spawning work into other pools; nothing fails
  failures,             // random tasks (and maybe fn) throw
  several_at_once,      // the first task of k pools throw together, maybe fn too
  fail_then_fn_spawns,  // a task fails; fn then spawns more (all dropped) and throws itself
  cancel_from_task,     // a task cancels mid-join
  cancel_from_outside,  // another thread cancels once enough tasks ran
};
constexpr int k_plans = 6;

const char* name(Plan plan) {
  switch (plan) {
    case Plan::clean:
      return "clean";
    case Plan::failures:
      return "failures";
    case Plan::several_at_once:
      return "several_at_once";
    case Plan::fail_then_fn_spawns:
      return "fail_then_fn_spawns";
    case Plan::cancel_from_task:
      return "cancel_from_task";
    case Plan::cancel_from_outside:
      return "cancel_from_outside";
  }
  return "?";
}

// Everything one join is checked against. Tasks update it; the checks run after the join.
struct Join {
  Join(std::uint64_t seed_, std::vector<int> sizes_)
      : seed(seed_), sizes(std::move(sizes_)), running(sizes.size()), max_seen(sizes.size()), ran_on(sizes.size()) {}

  std::uint64_t seed;
  std::vector<int> sizes;  // team size of each pool in this join
  CancelToken cancel;
  long cap = 0;               // spawn no more than about this many tasks
  double throw_chance = 0;    // per task
  long cancel_at = -1;        // the task with this id cancels (cancel_from_task)
  long expected_throws = -1;  // when the plan fixes it (several_at_once)

  std::atomic<long> spawned{0};
  std::atomic<long> ran{0};
  std::atomic<long> released{0};
  std::atomic<long> dropped{0};
  std::atomic<long> late_ran{0};           // tasks fn spawned after a failure it waited for
  std::atomic<long> errors{0};             // broken invariants seen inside tasks (details in `first_problem`)
  std::atomic<bool> stop_expected{false};  // set before any throw or cancel: drops are allowed from then on
  std::vector<std::atomic<int>> running;
  std::vector<std::atomic<int>> max_seen;
  std::vector<std::atomic<long>> ran_on;

  std::mutex mutex;
  std::vector<long> thrown;  // ids of every exception thrown, in no particular order
  std::string first_problem;

  void problem(const std::string& what) {
    ++errors;
    std::lock_guard lock(mutex);
    if (first_problem.empty()) {
      first_problem = what;
    }
  }

  [[noreturn]] void fail(long id) {
    stop_expected.store(true);
    {
      std::lock_guard lock(mutex);
      thrown.push_back(id);
    }
    throw Failure(id);
  }

  void do_cancel() {
    stop_expected.store(true);
    cancel.cancel();
  }
};

// Owned by a task's closure; its destructor is the task's release (after running, or when dropped).
struct Probe {
  Probe(Join& join_, long id_) : join(join_), id(id_) {}
  ~Probe() {
    if (!ran.load()) {
      ++join.dropped;
      // Dropping unrun is allowed only once the join is failing or cancelled.
      if (!join.stop_expected.load() && !join.cancel.cancelled()) {
        join.problem("task " + std::to_string(id) + " was dropped unrun with no failure and no cancel");
      }
    }
    ++join.released;
  }
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;
  Join& join;
  long id;
  std::atomic<bool> ran{false};
};

using Body = std::function<void(Worker&, long id)>;

// Spawn `body` on pool `pool` with bookkeeping around it.
void spawn(Join& join, std::span<Scope> scopes, std::size_t pool, Body body) {
  long id = join.spawned.fetch_add(1);
  auto probe = std::make_shared<Probe>(join, id);
  scopes[pool].spawn([&join, probe, pool, body = std::move(body)](Worker& worker) {
    if (probe->ran.exchange(true)) {
      join.problem("task " + std::to_string(probe->id) + " ran twice");
    }
    ++join.ran;
    ++join.ran_on[pool];
    if (static_cast<std::size_t>(worker.pool_index()) != pool) {
      join.problem("a task of pool " + std::to_string(pool) + " ran on pool " + std::to_string(worker.pool_index()));
    }
    if (worker.thread_index() < 0 || worker.thread_index() >= join.sizes[pool]) {
      join.problem("thread index " + std::to_string(worker.thread_index()) + " outside pool " + std::to_string(pool));
    }
    int now = ++join.running[pool];
    int seen = join.max_seen[pool].load();
    while (now > seen && !join.max_seen[pool].compare_exchange_weak(seen, now)) {
    }
    struct Leave {
      std::atomic<int>& running;
      ~Leave() { --running; }
    } leave{join.running[pool]};
    body(worker, probe->id);
  });
}

// The generic task: a little work, maybe spawn children into random pools, maybe throw or cancel.
void work(Join& join, std::span<Scope> scopes, Worker&, long id) {
  std::uint64_t r = mix(join.seed ^ static_cast<std::uint64_t>(id) * 0x100000001b3ULL);
  volatile std::uint64_t sink = 0;
  for (std::uint64_t i = 0; i < (r & 0xff); ++i) {
    sink = sink + i;  // a little CPU so tasks overlap
  }
  if (id == join.cancel_at) {
    join.do_cancel();
  }
  int children = static_cast<int>((r >> 8) % 4);
  for (int c = 0; c < children && join.spawned.load() < join.cap; ++c) {
    std::size_t pool = (r >> (16 + 4 * c)) % scopes.size();
    spawn(join, scopes, pool, [&join, scopes](Worker& w, long child) { work(join, scopes, w, child); });
  }
  if (static_cast<double>((r >> 40) & 0xffff) / 65536.0 < join.throw_chance) {
    join.fail(id);
  }
}

// A chain that keeps one task alive until the join is cancelled (for cancellation from outside);
// opens `reached` once `open_at` tasks of the join have run.
void chain(Join& join, std::span<Scope> scopes, long step, long open_at, Gate& reached) {
  if (join.ran.load() >= open_at) {
    reached.open();
  }
  if (join.cancel.cancelled()) {
    return;
  }
  std::size_t next = mix(join.seed + static_cast<std::uint64_t>(step)) % scopes.size();
  spawn(join, scopes, next,
        [&join, scopes, step, open_at, &reached](Worker&, long) { chain(join, scopes, step + 1, open_at, reached); });
}

// Opens its gate when released without having run: the join dropped the task holding it.
struct Opener {
  explicit Opener(Gate& gate_) : gate(gate_) {}
  ~Opener() {
    if (!ran.load()) {
      gate.open();
    }
  }
  Opener(const Opener&) = delete;
  Opener& operator=(const Opener&) = delete;
  Gate& gate;
  std::atomic<bool> ran{false};
};

// Keeps one task queued on `pool` until the join drops it, which it does only once a failure is
// recorded; the drop opens `dropped`.
void detect_drop(Join& join, std::span<Scope> scopes, std::size_t pool, Gate& dropped) {
  auto opener = std::make_shared<Opener>(dropped);
  spawn(join, scopes, pool, [&join, scopes, pool, &dropped, opener](Worker&, long) {
    opener->ran = true;
    detect_drop(join, scopes, pool, dropped);
  });
}

struct Outcome {
  bool threw = false;
  long caught = -2;          // id of the Failure the join rethrew
  std::vector<long> extras;  // ids reported to on_extra_exception, in call order
  std::string unexpected;
};

// Build a random pool set and plan from `seed`, run one join, and check what only this function
// can see (captures released when the join returns, the pools' own counters).
std::unique_ptr<Join> run_one(std::uint64_t seed, Plan plan, bool callback_throws, Outcome& out) {
  std::mt19937_64 rng(seed);
  auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const int pool_count = pick(1, 4);
  std::vector<PoolSpec> specs;
  for (int p = 0; p < pool_count; ++p) {
    specs.push_back({"p" + std::to_string(p), pick(1, 4)});
  }
  const bool per_join = pick(0, 1) == 1;
  std::vector<int> sizes;
  for (const PoolSpec& spec : specs) {
    sizes.push_back(per_join ? pick(1, 4) : spec.threads);
  }
  auto join_owner = std::make_unique<Join>(seed, sizes);
  Join& join = *join_owner;
  join.cap = pick(0, 150);
  const int initial = pick(0, 20);
  const bool fn_throws = pick(0, 2) == 0;
  const int several = std::min(pool_count, pick(2, 4));
  const long open_at = pick(1, 200);
  if (plan == Plan::failures) {
    join.throw_chance = 0.03 * pick(1, 4);
  } else if (plan == Plan::cancel_from_task) {
    join.cap = pick(10, 300);
    join.cancel_at = pick(0, 40);
  } else if (plan == Plan::several_at_once) {
    join.expected_throws = several + (fn_throws ? 1 : 0);
  }

  PoolSet pools(std::move(specs));
  Barrier together(several + (fn_throws ? 1 : 0));
  Gate failure_recorded;
  Gate reached;
  std::thread outside;
  if (plan == Plan::cancel_from_outside) {
    outside = std::thread([&join, &reached] {
      reached.wait();
      join.do_cancel();
    });
  }

  auto fn = [&](std::span<Scope> scopes) {
    auto generic = [&join, scopes](Worker& w, long id) { work(join, scopes, w, id); };
    auto spawn_initial = [&] {
      for (int i = 0; i < initial; ++i) {
        spawn(join, scopes, static_cast<std::size_t>(pick(0, pool_count - 1)), generic);
      }
    };
    switch (plan) {
      case Plan::clean:
      case Plan::cancel_from_task:
        spawn_initial();
        break;
      case Plan::failures:
        spawn_initial();
        if (fn_throws) {
          join.fail(-1);
        }
        break;
      case Plan::several_at_once:
        // First in each of `several` queues, so no failure can drop one of them before it runs.
        for (int p = 0; p < several; ++p) {
          spawn(join, scopes, static_cast<std::size_t>(p), [&join, &together](Worker&, long id) {
            together.arrive_and_wait();
            join.fail(id);
          });
        }
        spawn_initial();
        if (fn_throws) {
          together.arrive_and_wait();
          join.fail(-1);
        }
        break;
      case Plan::fail_then_fn_spawns: {
        const std::size_t pool = static_cast<std::size_t>(pick(0, pool_count - 1));
        spawn(join, scopes, pool, [&join](Worker&, long id) { join.fail(id); });
        detect_drop(join, scopes, pool, failure_recorded);
        failure_recorded.wait();
        // The failure is recorded: everything spawned from now on must be dropped unrun.
        for (int i = 0; i <= initial; ++i) {
          spawn(join, scopes, static_cast<std::size_t>(pick(0, pool_count - 1)),
                [&join](Worker&, long) { ++join.late_ran; });
        }
        join.fail(-1);
      }
      case Plan::cancel_from_outside:
        spawn_initial();
        for (std::size_t p = 0; p < std::min<std::size_t>(scopes.size(), 3); ++p) {
          spawn(join, scopes, p, [&join, scopes, p, open_at, &reached](Worker&, long) {
            chain(join, scopes, static_cast<long>(p) * 100'000, open_at, reached);
          });
        }
        break;
    }
  };

  auto on_extra = [&out, callback_throws](const std::exception_ptr& e) {
    try {
      std::rethrow_exception(e);
    } catch (const Failure& f) {
      out.extras.push_back(f.id);
    } catch (...) {
      out.unexpected = "on_extra_exception got an exception that no task threw";
    }
    if (callback_throws) {
      throw std::logic_error("on_extra_exception failed");
    }
  };

  try {
    if (per_join) {
      pools.multi_scope(join.cancel, fn, on_extra, join.sizes);
    } else {
      pools.multi_scope(join.cancel, fn, on_extra);
    }
  } catch (const Failure& f) {
    out.threw = true;
    out.caught = f.id;
  } catch (const std::exception& e) {
    out.threw = true;
    out.unexpected = std::string("the join threw an exception no task threw: ") + e.what();
  }
  // Checked first: every closure must be released by the time the join returns.
  if (join.released.load() != join.spawned.load()) {
    join.problem("the join returned with " + std::to_string(join.spawned.load() - join.released.load()) +
                 " task closures not yet released");
  }
  if (outside.joinable()) {
    reached.open();  // the join may have ended another way first
    outside.join();
  }
  for (std::size_t p = 0; p < join.sizes.size(); ++p) {
    const PoolCounters& counters = pools.counters(p);
    if (counters.max_running.load() > join.sizes[p] || join.max_seen[p].load() > join.sizes[p]) {
      join.problem("pool " + std::to_string(p) + " ran " + std::to_string(join.max_seen[p].load()) +
                   " tasks at once (its counter says " + std::to_string(counters.max_running.load()) + "), size " +
                   std::to_string(join.sizes[p]));
    }
    if (static_cast<long>(counters.tasks.load()) != join.ran_on[p].load()) {
      join.problem("pool " + std::to_string(p) + " counted " + std::to_string(counters.tasks.load()) + " tasks, ran " +
                   std::to_string(join.ran_on[p].load()));
    }
  }
  return join_owner;
}

TEST(MultiScopeStress, RandomJoinsKeepEveryPromise) {
  const std::uint64_t seed = stress_seed();
  const int joins = joins_to_run();
  std::printf("multi_scope stress: %d joins, seed %llu (repeat with SPINDLE_STRESS_SEED=%llu)\n", joins,
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::atomic<int> current{0};
  fakes::Watchdog watchdog(std::chrono::seconds(60), [&] {
    return "multi_scope join " + std::to_string(current.load()) +
           " of the stress test (SPINDLE_STRESS_SEED=" + std::to_string(seed) + ")";
  });
  std::array<int, k_plans> per_plan{};
  for (int j = 0; j < joins; ++j) {
    current = j;
    const std::uint64_t join_seed = mix(seed + static_cast<std::uint64_t>(j));
    const Plan plan = static_cast<Plan>(join_seed % k_plans);
    const bool callback_throws = (join_seed >> 8) % 4 == 0;
    ++per_plan[static_cast<std::size_t>(plan)];
    SCOPED_TRACE("SPINDLE_STRESS_SEED=" + std::to_string(seed) + ", join " + std::to_string(j) + ", plan " +
                 name(plan) + (callback_throws ? ", on_extra_exception throws" : ""));
    Outcome out;
    std::unique_ptr<Join> owner = run_one(join_seed, plan, callback_throws, out);
    Join& join = *owner;
    watchdog.kick();

    ASSERT_EQ(join.errors.load(), 0) << join.first_problem;
    ASSERT_EQ(out.unexpected, "");
    ASSERT_EQ(join.released.load(), join.spawned.load());
    ASSERT_EQ(join.ran.load() + join.dropped.load(), join.spawned.load());
    ASSERT_EQ(join.late_ran.load(), 0) << "tasks spawned after a recorded failure ran";
    std::vector<long> thrown = join.thrown;
    const bool stopped = !thrown.empty() || join.cancel.cancelled();
    if (!stopped) {
      ASSERT_EQ(join.dropped.load(), 0) << "tasks dropped from a join that neither failed nor was cancelled";
    }
    // Exceptions: the first one is rethrown, every other one reaches on_extra_exception once.
    ASSERT_EQ(out.threw, !thrown.empty());
    ASSERT_EQ(out.extras.size(), thrown.empty() ? 0 : thrown.size() - 1);
    if (!thrown.empty()) {
      std::vector<long> reported = out.extras;
      reported.push_back(out.caught);
      std::sort(reported.begin(), reported.end());
      std::sort(thrown.begin(), thrown.end());
      ASSERT_EQ(reported, thrown);
    }
    if (plan == Plan::fail_then_fn_spawns) {
      ASSERT_NE(out.caught, -1) << "fn's exception came after a recorded task failure, yet was rethrown first";
      ASSERT_EQ(out.extras, std::vector<long>{-1});
    }
    if (join.expected_throws >= 0) {
      ASSERT_EQ(static_cast<long>(thrown.size()), join.expected_throws);
    }
    if (plan == Plan::cancel_from_outside) {
      ASSERT_TRUE(join.cancel.cancelled());
    }
  }
  for (int p = 0; p < k_plans; ++p) {
    EXPECT_GT(per_plan[static_cast<std::size_t>(p)], 0) << name(static_cast<Plan>(p));
  }
}

}  // namespace
}  // namespace spindle
