// The pipeline's shared state (pipeline.cpp): candidate groups in flight, each pool's queue of
// reads, and what each kind of read did. In a header of its own so that tests can reach it.
#pragma once

#include <spindle/hash.hpp>
#include <spindle/stage_kind.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace spindle::pipeline_state {

// A candidate's place in the pipeline's per-position arrays.
using Position = std::uint32_t;

// One candidate group on its way: positions [begin, end), the reads of `kind` still to finish.
struct GroupState {
  Position begin = 0;
  Position end = 0;
  StageKind kind = StageKind::prefix;
  std::atomic<std::uint32_t> pending{0};
  // A round of a progressive full read (progressive.hpp) reads `round_bytes` at `round_offset`
  // of each file; round_bytes 0: not progressive (each file read whole in one piece).
  std::uint64_t round_offset = 0;
  std::uint64_t round_bytes = 0;
  // The digests of this read, one per position of [begin, end), allocated by its first read to
  // start and freed by the split: only groups being read hold digests, not every candidate
  // (every prefix read is queued at the start; 16 bytes per file for all of them would be most of
  // the pipeline's memory).
  std::atomic<Digest*> digests{nullptr};

  GroupState() = default;
  GroupState(const GroupState&) = delete;
  GroupState& operator=(const GroupState&) = delete;
  ~GroupState() { delete[] digests.load(); }  // a cancelled run leaves groups mid-read
  // The digest slots, allocated now if no read of the group allocated them yet. Any thread.
  Digest* digest_slots() {
    Digest* slots = digests.load(std::memory_order_acquire);
    if (slots != nullptr) {
      return slots;
    }
    auto fresh = std::make_unique<Digest[]>(end - begin);
    if (digests.compare_exchange_strong(slots, fresh.get(), std::memory_order_acq_rel)) {
      return fresh.release();
    }
    return slots;  // another read allocated them first
  }
  // Takes the slots from the group (the splitting thread owns them then).
  std::unique_ptr<Digest[]> take_digests() { return std::unique_ptr<Digest[]>(digests.exchange(nullptr)); }
};

using GroupId = std::uint32_t;

// Queued reads are runs of positions of one group on one pool (a group's reads sit next to each
// other, in inode order), so a queue costs a few bytes per group, not per file, although every
// candidate's prefix read is queued at the start.
struct ReadRun {
  GroupId group = 0;
  Position begin = 0;
  Position end = 0;  // every position of [begin, end) is one read
};

// Moves up to `count` reads from the front of `runs` to the end of `out`, splitting the run where
// the count ends; returns how many it moved.
inline std::size_t take_reads(std::deque<ReadRun>& runs, std::size_t count, std::vector<ReadRun>& out) {
  std::size_t taken = 0;
  while (taken < count && !runs.empty()) {
    ReadRun& front = runs.front();
    const std::size_t n = std::min<std::size_t>(front.end - front.begin, count - taken);
    out.push_back(ReadRun{front.group, front.begin, static_cast<Position>(front.begin + n)});
    taken += n;
    front.begin += static_cast<Position>(n);
    if (front.begin == front.end) {
      runs.pop_front();
    }
  }
  return taken;
}

// The groups in flight, by id, reused once a group has split. Groups in flight have disjoint
// ranges of at least two positions, so there are never more than half as many as positions:
// the chunk table is reserved for that many up front and never moves, which lets readers index
// it without a lock while another thread adds a chunk.
class GroupStore {
 public:
  explicit GroupStore(std::size_t positions) : m_capacity(positions / 2 + 1) {
    m_chunks.reserve(m_capacity / k_chunk + 1);
  }
  GroupId acquire() {
    std::lock_guard lock(m_mutex);
    if (!m_free.empty()) {
      GroupId id = m_free.back();
      m_free.pop_back();
      return id;
    }
    if (m_count == m_chunks.size() * k_chunk) {
      if (m_chunks.size() == m_chunks.capacity()) {
        throw std::logic_error("pipeline: more groups in flight than half the candidates");
      }
      m_chunks.push_back(std::make_unique<GroupState[]>(k_chunk));
    }
    return m_count++;
  }
  void release(GroupId id) {
    std::lock_guard lock(m_mutex);
    m_free.push_back(id);
  }
  GroupState& operator[](GroupId id) { return m_chunks[id / k_chunk][id % k_chunk]; }

 private:
  static constexpr std::size_t k_chunk = 1024;
  std::size_t m_capacity;
  std::mutex m_mutex;
  std::vector<std::unique_ptr<GroupState[]>> m_chunks;
  GroupId m_count = 0;
  std::vector<GroupId> m_free;
};

// One pool's queued reads and its drainers. Guarded by `mutex`.
struct PoolQueue {
  std::mutex mutex;
  std::array<std::deque<ReadRun>, k_stage_kinds> pending;
  std::array<std::size_t, k_stage_kinds> queued{};  // reads in `pending`
  std::array<int, k_stage_kinds> active{};          // drainers reading each kind now
  std::array<int, k_stage_kinds> limit{};           // threads for each kind, once decided
  std::array<bool, k_stage_kinds> decided{};
  int drainers = 0;            // drain tasks spawned and not yet returned
  int team = 1;                // the pool's threads in this join
  std::size_t read_ahead = 0;  // files a lone reader keeps open ahead of it
};

// Readers a kind may have now: its decided thread count, or one while a drainer decides it.
inline int kind_limit(const PoolQueue& queue, std::size_t k) {
  return queue.decided[k] ? std::max(queue.limit[k], 1) : 1;
}

// Readers of all kinds at once: the largest count any kind was given, not their sum. Kinds share
// the pool's threads: a pool whose data is cached gets one reader per CPU for each kind, and three
// kinds reading side by side would put three readers on every CPU, where a preempted lock holder
// leaves the others waiting and CPUs idle.
inline int pool_limit(const PoolQueue& queue) {
  int limit = 1;
  for (std::size_t k = 0; k < k_stage_kinds; ++k) {
    if (queue.decided[k]) {
      limit = std::max(limit, queue.limit[k]);
    }
  }
  return std::min(limit, std::max(queue.team, 1));
}

// The kind a free drainer reads next, or k_stage_kinds when it should return (nothing queued, or
// every queued kind and the pool are at their limits). Earlier kinds first: a prefix read prunes
// more per byte than any later read.
inline std::size_t next_kind(const PoolQueue& queue) {
  int reading = 0;
  for (std::size_t k = 0; k < k_stage_kinds; ++k) {
    reading += queue.active[k];
  }
  if (reading >= pool_limit(queue)) {
    return k_stage_kinds;
  }
  for (std::size_t k = 0; k < k_stage_kinds; ++k) {
    if (!queue.pending[k].empty() && queue.active[k] < kind_limit(queue, k)) {
      return k;
    }
  }
  return k_stage_kinds;
}

// Drainers the pool's queue can keep busy: what each kind may run (or runs, when it has nothing
// queued), within the pool's limit.
inline int wanted_drainers(const PoolQueue& queue) {
  int wanted = 0;
  for (std::size_t k = 0; k < k_stage_kinds; ++k) {
    wanted += queue.pending[k].empty() ? queue.active[k] : kind_limit(queue, k);
  }
  return std::min(wanted, pool_limit(queue));
}

// What a stage did, summed over every group that went through it.
struct StageTally {
  std::atomic<std::uint64_t> files_in{0};
  std::atomic<std::uint64_t> files_out{0};
  std::atomic<std::uint64_t> groups_out{0};
  std::atomic<std::uint64_t> bytes_read{0};
  std::atomic<std::uint64_t> pieces{0};         // progressive pieces read (full)
  std::atomic<std::uint64_t> bytes_skipped{0};  // not read: the group split before the end (full)
  std::atomic<std::int64_t> first_read_ns{INT64_MAX};
  std::atomic<std::int64_t> last_read_ns{0};
};

inline void lower_to(std::atomic<std::int64_t>& value, std::int64_t candidate) {
  std::int64_t seen = value.load(std::memory_order_relaxed);
  while (candidate < seen && !value.compare_exchange_weak(seen, candidate, std::memory_order_relaxed)) {
  }
}

inline void raise_to(std::atomic<std::int64_t>& value, std::int64_t candidate) {
  std::int64_t seen = value.load(std::memory_order_relaxed);
  while (candidate > seen && !value.compare_exchange_weak(seen, candidate, std::memory_order_relaxed)) {
  }
}

}  // namespace spindle::pipeline_state
