#pragma once

#include <spindle/cancel.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace spindle {

// One thread of one pool, handed to every task it runs. Owns per-thread scratch (read buffer),
// reused across tasks and joins, so tasks need no locks and no allocation per file.
class Worker {
 public:
  int pool_index() const { return m_pool; }
  int thread_index() const { return m_thread; }
  // Unique over all threads of all pools in the current join: 0 .. total threads - 1.
  std::size_t slot() const { return m_slot; }
  // A page-aligned buffer of at least `bytes`, kept for the next task on this thread.
  std::span<std::byte> buffer(std::size_t bytes);

 private:
  friend class PoolSet;
  struct FreeDeleter {
    void operator()(std::byte* p) const;
  };
  int m_pool = 0;
  int m_thread = 0;
  std::size_t m_slot = 0;
  std::unique_ptr<std::byte, FreeDeleter> m_buffer;
  std::size_t m_buffer_size = 0;
};

// Counters of one pool over its lifetime (all joins), for --stats and for tests.
struct PoolCounters {
  std::atomic<std::uint64_t> tasks{0};
  std::atomic<std::uint64_t> files{0};
  std::atomic<std::uint64_t> bytes_read{0};
  std::atomic<std::uint64_t> busy_ns{0};
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};  // highest number of this pool's tasks that ever ran at once
};

struct PoolSpec {
  std::string name;  // "sda", "main", ...
  int threads = 1;
};

using Task = std::function<void(Worker&)>;

// A handle to one pool inside a multi_scope join: spawn work that runs only on that pool's threads.
class Scope {
 public:
  // Queue `task` on this pool. Tasks run in the order spawned when the pool has one thread
  // (HDD pools rely on it to read in physical order). May be called from any thread,
  // including from tasks of any pool, until the join returns. Throws std::bad_alloc when the
  // task cannot be queued; the join is then as if this spawn never happened.
  void spawn(Task task);
  int index() const { return m_index; }
  int threads() const { return m_threads; }

  struct Shared;  // the join's queues and counters; defined in pools.cpp

 private:
  friend class PoolSet;
  Scope(Shared* shared, int index, int threads) : m_shared(shared), m_index(index), m_threads(threads) {}
  Shared* m_shared;
  int m_index;
  int m_threads;
};

// A fixed set of pools. Each pool is its own OpenMP team of exactly its configured size, so a
// pool's threads never run another pool's tasks (no starvation across devices) and a task that
// blocks can only hold up its own pool.
class PoolSet {
 public:
  explicit PoolSet(std::vector<PoolSpec> specs);
  ~PoolSet();
  PoolSet(const PoolSet&) = delete;
  PoolSet& operator=(const PoolSet&) = delete;

  std::size_t size() const { return m_specs.size(); }
  const PoolSpec& spec(std::size_t pool) const { return m_specs[pool]; }
  const PoolCounters& counters(std::size_t pool) const { return *m_counters[pool]; }
  PoolCounters& counters(std::size_t pool) { return *m_counters[pool]; }
  std::size_t total_threads() const;
  // Per pool, the size its team really had in the last multi_scope, as the team itself counted
  // it (omp_get_num_threads); empty before the first join. A join whose runtime gives a pool
  // fewer threads than asked fails instead of running with them.
  std::span<const int> last_team_sizes() const { return m_last_team_sizes; }

  // The multi-scope join. `fn` runs on its own thread and receives one Scope per pool; it and
  // the tasks it spawns may spawn more tasks into any scope. Returns when `fn` and every task of
  // every pool have finished. Tasks may borrow anything that outlives this call.
  // The first exception thrown by `fn` or a task is rethrown here; every later one is passed to
  // `on_extra_exception` once, on the caller's thread, before that (an exception thrown by
  // `on_extra_exception` itself is ignored, so it cannot hide the first one). After a failure or
  // `cancel`, queued tasks are dropped unrun; their closures are destroyed before this returns.
  // `sizes`, when given, sets each pool's thread count for this join only (a pool may use fewer
  // readers for whole-file reads than for short prefix reads); otherwise PoolSpec::threads.
  // A pool whose team gets fewer threads than that is a failure (std::runtime_error, rethrown
  // here): an undersized team would silently change what --threads asked for.
  void multi_scope(const CancelToken& cancel, const std::function<void(std::span<Scope>)>& fn,
                   const std::function<void(const std::exception_ptr&)>& on_extra_exception = {},
                   std::span<const int> sizes = {});

 private:
  std::vector<PoolSpec> m_specs;
  std::vector<std::unique_ptr<PoolCounters>> m_counters;
  std::vector<std::vector<Worker>> m_workers;
  std::vector<int> m_last_team_sizes;
};

}  // namespace spindle
