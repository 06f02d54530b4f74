#include <spindle/pools.hpp>

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

// How a join runs: one outer OpenMP team with one thread per pool plus one for `fn`. Each pool
// thread opens a nested team of exactly that pool's size, and those threads drain the pool's own
// queue. Nothing is ever spawned into a team from outside; tasks go into queues that only the
// owning team reads, which is what keeps pools isolated (design lessons 1 and 2).
//
// Termination: `outstanding` counts `fn` plus every task spawned and not yet finished. It can only
// reach zero when no task can spawn anymore, so the thread that brings it to zero wakes every
// pool and the teams return.

namespace spindle {

struct Scope::Shared {
  struct Queue {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<Task> tasks;
  };
  std::vector<Queue> queues;
  std::atomic<long> outstanding{1};
  std::atomic<bool> failed{false};
  const CancelToken* cancel = nullptr;
  std::mutex error_mutex;
  std::exception_ptr first_error;
  std::vector<std::exception_ptr> extra_errors;

  explicit Shared(std::size_t pools) : queues(pools) {}

  bool stopping() const { return failed.load(std::memory_order_relaxed) || cancel->cancelled(); }

  void record(std::exception_ptr error) {
    std::lock_guard lock(error_mutex);
    if (!first_error) {
      first_error = std::move(error);
    } else {
      extra_errors.push_back(std::move(error));
    }
    failed.store(true, std::memory_order_relaxed);
  }

  void finish_one() {
    if (outstanding.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      for (Queue& q : queues) {
        std::lock_guard lock(q.mutex);
        q.ready.notify_all();
      }
    }
  }
};

void Scope::spawn(Task task) {
  Shared::Queue& q = m_shared->queues[static_cast<std::size_t>(m_index)];
  // Counted before it is queued, so the count cannot reach zero while a worker runs it; and
  // uncounted if queuing fails (bad_alloc), or the join would wait forever for a task that was
  // never queued. A caller inside the join (fn or a task) holds its own count, so this cannot
  // end the join.
  m_shared->outstanding.fetch_add(1, std::memory_order_relaxed);
  try {
    std::lock_guard lock(q.mutex);
    q.tasks.push_back(std::move(task));
  } catch (...) {
    m_shared->finish_one();
    throw;
  }
  q.ready.notify_one();
}

void Worker::FreeDeleter::operator()(std::byte* p) const {
  std::free(p);
}

std::span<std::byte> Worker::buffer(std::size_t bytes) {
  if (bytes > m_buffer_size) {
    constexpr std::size_t k_align = 4096;
    std::size_t rounded = (bytes + k_align - 1) / k_align * k_align;
    void* p = std::aligned_alloc(k_align, rounded);
    if (p == nullptr) {
      throw std::bad_alloc();
    }
    m_buffer.reset(static_cast<std::byte*>(p));
    m_buffer_size = rounded;
  }
  return {m_buffer.get(), bytes};
}

PoolSet::PoolSet(std::vector<PoolSpec> specs) : m_specs(std::move(specs)) {
  for (PoolSpec& spec : m_specs) {
    spec.threads = std::max(1, spec.threads);
    m_counters.push_back(std::make_unique<PoolCounters>());
  }
  m_workers.resize(m_specs.size());
}

PoolSet::~PoolSet() = default;

std::size_t PoolSet::total_threads() const {
  std::size_t total = 0;
  for (const PoolSpec& spec : m_specs) {
    total += static_cast<std::size_t>(spec.threads);
  }
  return total;
}

namespace {

void note_running(PoolCounters& counters) {
  int now = counters.running.fetch_add(1, std::memory_order_relaxed) + 1;
  int seen = counters.max_running.load(std::memory_order_relaxed);
  while (now > seen && !counters.max_running.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
}

void drain(Scope::Shared& shared, Scope::Shared::Queue& q, Worker& worker, PoolCounters& counters) {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(q.mutex);
      q.ready.wait(lock, [&] { return !q.tasks.empty() || shared.outstanding.load(std::memory_order_acquire) == 0; });
      if (q.tasks.empty()) {
        return;  // outstanding == 0: nothing can spawn anymore
      }
      task = std::move(q.tasks.front());
      q.tasks.pop_front();
    }
    if (!shared.stopping()) {
      note_running(counters);
      auto start = std::chrono::steady_clock::now();
      try {
        task(worker);
      } catch (...) {
        shared.record(std::current_exception());
      }
      auto busy = std::chrono::steady_clock::now() - start;
      counters.busy_ns.fetch_add(static_cast<std::uint64_t>(std::chrono::nanoseconds(busy).count()),
                                 std::memory_order_relaxed);
      counters.tasks.fetch_add(1, std::memory_order_relaxed);
      counters.running.fetch_sub(1, std::memory_order_relaxed);
    }
    task = nullptr;  // release what the task captured before the join can end
    shared.finish_one();
  }
}

}  // namespace

void PoolSet::multi_scope(const CancelToken& cancel, const std::function<void(std::span<Scope>)>& fn,
                          const std::function<void(const std::exception_ptr&)>& on_extra_exception,
                          std::span<const int> sizes) {
  const int pools = static_cast<int>(m_specs.size());
  std::vector<int> team_sizes(m_specs.size());
  std::size_t slots = 0;
  for (std::size_t i = 0; i < m_specs.size(); ++i) {
    team_sizes[i] = std::max(1, sizes.empty() ? m_specs[i].threads : sizes[i]);
    if (m_workers[i].size() < static_cast<std::size_t>(team_sizes[i])) {
      m_workers[i].resize(static_cast<std::size_t>(team_sizes[i]));
    }
    for (int t = 0; t < team_sizes[i]; ++t) {
      Worker& w = m_workers[i][static_cast<std::size_t>(t)];
      w.m_pool = static_cast<int>(i);
      w.m_thread = t;
      w.m_slot = slots++;
    }
  }

  Scope::Shared shared(m_specs.size());
  shared.cancel = &cancel;
  std::vector<Scope> scopes;
  scopes.reserve(m_specs.size());
  for (int i = 0; i < pools; ++i) {
    scopes.push_back(Scope(&shared, i, team_sizes[static_cast<std::size_t>(i)]));
  }

  // Nested teams must really be created with the sizes asked for; dynamic adjustment would let
  // the runtime shrink a pool (or, worse, serialise the pools behind one another).
  omp_set_dynamic(0);
  omp_set_max_active_levels(std::max(omp_get_max_active_levels(), 2));
  std::atomic<bool> undersized{false};
  std::vector<int> used(m_specs.size(), 0);

#pragma omp parallel num_threads(pools + 1) default(shared)
  {
    const int role = omp_get_thread_num();
    if (omp_get_num_threads() != pools + 1) {
      // Without a thread per pool some queue would never drain: refuse instead of hanging.
      undersized.store(true);
    } else if (role == pools) {
      try {
        fn(scopes);
      } catch (...) {
        shared.record(std::current_exception());
      }
      shared.finish_one();
    } else {
      const std::size_t pool = static_cast<std::size_t>(role);
      Scope::Shared::Queue& q = shared.queues[pool];
      PoolCounters& counters = *m_counters[pool];
#pragma omp parallel num_threads(team_sizes[pool]) default(shared)
      {
        // The runtime may give a nested team fewer threads than asked (OMP_THREAD_LIMIT, a
        // thread that could not be created): say so loudly rather than run a smaller pool.
        const int got = omp_get_num_threads();
        if (omp_get_thread_num() == 0) {
          used[pool] = got;
          if (got < team_sizes[pool]) {
            shared.record(std::make_exception_ptr(std::runtime_error(
                "pool " + m_specs[pool].name + ": the OpenMP runtime gave " + std::to_string(got) + " of " +
                std::to_string(team_sizes[pool]) + " threads (is OMP_THREAD_LIMIT set too low?)")));
          }
        }
        Worker& worker = m_workers[pool][static_cast<std::size_t>(omp_get_thread_num())];
        drain(shared, q, worker, counters);
      }
    }
  }

  m_last_team_sizes = std::move(used);
  if (undersized.load()) {
    throw std::runtime_error(
        "multi_scope: the OpenMP runtime did not provide one thread per pool "
        "(is OMP_THREAD_LIMIT set too low?)");
  }
  if (shared.first_error) {
    if (on_extra_exception) {
      for (const std::exception_ptr& e : shared.extra_errors) {
        try {
          on_extra_exception(e);
        } catch (...) {
          // A reporter that fails must neither replace the join's real failure (rethrown below)
          // nor keep the other extra exceptions from being reported.
        }
      }
    }
    std::rethrow_exception(shared.first_error);
  }
}

}  // namespace spindle
