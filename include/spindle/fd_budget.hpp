#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <span>

// File descriptors are a budget, like memory: every reader thread holds one file open and a
// one-thread pool keeps a window of files open ahead of its reader. Run past RLIMIT_NOFILE and
// open(2) fails with EMFILE, which must never turn a readable file into an error. So the readers
// of a run share a counted budget sized from the limit, and wait for a descriptor instead.

namespace spindle {

class CancelToken;

// Descriptors this process can still open: the soft RLIMIT_NOFILE minus the descriptors open
// now and `reserve` (left for stdio, the report and libraries); at least 1.
std::size_t free_descriptors(std::size_t reserve);

// How many threads a pool may run when each holds up to `per_thread` descriptors at a time:
// `wanted`, capped so that all of them together stay within free_descriptors(reserve), and never
// below 1 (one thread always runs; it waits for descriptors rather than failing). The walk's cap.
int threads_within_descriptor_budget(int wanted, std::size_t per_thread, std::size_t reserve);

// A counting semaphore of descriptors, shared by every reader of a run. Acquire one before
// opening a file, release it after closing it. Thread-safe; never spins.
class FdBudget {
 public:
  explicit FdBudget(std::size_t capacity);
  FdBudget(const FdBudget&) = delete;
  FdBudget& operator=(const FdBudget&) = delete;

  std::size_t capacity() const;
  std::size_t in_use() const;
  // Take a descriptor if one is free and no reader is waiting for one (read-ahead is optional
  // work: it yields to readers that need a descriptor for the file they must read now).
  bool try_acquire();
  // Take a descriptor, waiting for a release while none is free. False, with nothing taken,
  // when `cancel` (may be null) is set. A waiter is woken by every release, and the holders are readers that
  // check `cancel` between blocks, so a cancelled run does not stay here.
  bool acquire(const CancelToken* cancel);
  void release();
  // open(2) failed with EMFILE/ENFILE although the caller holds a descriptor of the budget:
  // the process has fewer descriptors than counted (some are held elsewhere). Lowers the
  // capacity to what the other holders have, releases the caller's descriptor and returns how
  // many the others hold: when that is 0 there is no release to wait for.
  std::size_t exhausted();

 private:
  mutable std::mutex m_mutex;
  std::condition_variable m_released;
  std::size_t m_capacity;
  std::size_t m_in_use = 0;
  std::size_t m_waiting = 0;
};

// Fit one join's readers into `budget` descriptors. Pool p runs threads[p] readers, each holding
// one file; a one-thread pool also keeps read_ahead[p] files open ahead of its reader. Windows
// shrink first (the longest one file at a time, so they stay even), then thread counts (the
// largest first), never below one thread. Pools with 0 threads (no work) are left alone.
// Returns whether anything was shrunk. A budget below the number of busy pools leaves one
// thread each: they then take turns through FdBudget.
bool fit_descriptors(std::span<int> threads, std::span<std::size_t> read_ahead, std::size_t budget);

}  // namespace spindle
