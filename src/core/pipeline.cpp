// The hashing run: one multi_scope join in which every candidate group advances on its own.
//
//   size group ──prefix reads──▶ split by digest ──suffix reads──▶ split ──full reads──▶ split ──▶ result
//        (each arrow: reads queued on the pools of the group's files; the group's last read to
//         finish splits it and queues the parts' next reads, on whatever thread did that read)
//
// rmlint's shredder is the model: there is no stage barrier, so a pool moves on to whatever its
// device has queued, and a slow device delays only the groups that have files on it.
//
// State is per candidate position (the file, a failed flag) in two arrays over the size groups'
// files; a group is a range of positions, and splitting it reorders its own range in place. The
// digests of a read live with its group (GroupState::digest_slots) from its first read to its
// split, so only the groups being read hold them. Ranges are disjoint and a range is touched only by its group's reads
// (each position by one read) and then by the one thread that splits it, so the arrays need no lock: the counter of a
// group's outstanding reads (acq_rel) orders the reads before the split.
//
// Every pool has a queue of reads per kind and runs "drainers": tasks that take a batch of one
// kind and read it. A pool's join team is big enough for either kind; how many drainers read one
// kind at once is that kind's thread count (pool_sizing.hpp), so whole-file reads keep their own
// parallelism and a one-thread pool never reads twice at once.
//
// Files larger than one round (progressive.hpp) take their full read in growing rounds: a round
// reads the next piece of each distinct inode into a StreamingHash kept for its position, and
// the group splits by the digests of what each file holds so far, like after any read, and the
// parts go on to the next, larger round; the last round's digest is the whole content's. Only
// those files hold a hash state (the positions of large groups: m_states), within a fixed budget
// (k_max_progressive_files); a group that would pass it is read in one piece per file instead.
// A file whose full hash the cache knows (asked at the first round) is complete: its group is
// then not split early (a partial digest says nothing against a whole one) but read to the end
// in one more round.
#include "pipeline_state.hpp"

#include <spindle/physical_order.hpp>
#include <spindle/pipeline.hpp>
#include <spindle/progressive.hpp>
#include <spindle/read_ahead.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace spindle {

namespace {

using namespace pipeline_state;  // the state types are this file's, in a header for the tests

using Clock = std::chrono::steady_clock;

// Files sampled to tell whether a pool's data is cached (stage_cache_hits).
constexpr std::size_t k_cache_sample = 16;

// What is known of a position (m_status): its digest is of its group's current read; its file
// could not be read; or its digest is already the whole content's (a cache hit at the first
// round of a progressive read, which no later round reads).
constexpr std::uint8_t k_status_ok = 0;
constexpr std::uint8_t k_status_failed = 1;
constexpr std::uint8_t k_status_complete = 2;

// Where and how much one read of a position reads.
struct ReadRange {
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
  bool piece = false;  // a round of a progressive read (FileReader::read_part)
};

// One read a drainer took: a position and the group waiting for it.
struct QueuedRead {
  Position at = 0;
  GroupId group = 0;
};

std::size_t kind_index(StageKind kind) {
  return static_cast<std::size_t>(kind);
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

class Pipeline {
 public:
  Pipeline(std::vector<FileIndex> files, std::span<const std::uint32_t> starts, const PipelineContext& context);
  PipelineResult run(std::span<const std::uint32_t> starts);

 private:
  const FileEntry& entry(Position at) const { return m_context.files[m_member[at]]; }
  bool same_inode(Position a, Position b) const {
    return entry(a).device() == entry(b).device() && entry(a).ino == entry(b).ino;
  }
  // Queue the reads of `kind` for the files at [begin, end), or pass the group on when the kind
  // reads nothing at its size.
  void enter(Position begin, Position end, StageKind kind);
  // Queue one read per distinct inode of the group (files already complete skip it), or
  // advance it at once when there is none.
  void queue_reads(GroupId id);
  // Progressive full reads (progressive.hpp): start them for a group of large files when the
  // reader can and the budget of hash states allows, else false (read each file whole).
  bool start_progressive(Position begin, Position end);
  // `digests` (of positions [begin, end), or null) carries the whole-content digests of the
  // files a cache hit made complete, which the round does not read again.
  void enter_round(Position begin, Position end, std::uint64_t offset, std::uint64_t bytes,
                   const Digest* digests = nullptr);
  // A round is done and the group [begin, end) ordered by digest: split it and send the parts
  // on to the round after one of `bytes` bytes that ended at `offset`.
  void next_round(Position begin, Position end, const Digest* digests, std::uint64_t offset, std::uint64_t bytes);
  StreamingHash* state_of(Position at) { return at >= m_large_begin ? m_states[at - m_large_begin].get() : nullptr; }
  void drop_state(Position at);
  // The progress line's estimate of the bytes left to read (progress.hpp): the reads the files
  // at [begin, end) will not make after all, each inode once.
  std::uint64_t inodes(Position begin, Position end) const;
  void unplanned(std::uint64_t bytes_per_inode, Position begin, Position end);
  std::uint64_t planned_bytes(std::span<const std::uint32_t> starts) const;
  ReadRange range_of(QueuedRead read, StageKind kind);
  // All reads of the group's kind are done: split it by digest and send each part on.
  void advance(GroupId id);
  void pass_on(Position begin, Position end, StageKind done, Digest digest);
  void finish_read(QueuedRead read, Result<Digest> result);
  void spawn_drainers(std::size_t pool);
  void drain(std::size_t pool, Worker& worker);
  void read_batch(std::size_t pool, StageKind kind, const std::vector<ReadRun>& runs, Worker& worker);
  int decide_threads(std::size_t pool, StageKind kind, std::span<const FileIndex> sample) const;
  // Fit every pool's readers and read-ahead windows into the descriptor budget (fit_descriptors):
  // windows shrink first, then thread counts; -v says what shrank.
  void fit_to_descriptors(std::vector<int>& teams, std::vector<std::size_t>& ahead) const;

  const PipelineContext& m_context;
  std::vector<FileIndex> m_member;
  std::vector<std::uint8_t> m_status;  // k_status_*
  GroupStore m_groups;
  // Hash states of progressive reads, for the positions from m_large_begin on (the groups of
  // files larger than one round; none when there are none), and how many are held.
  Position m_large_begin = 0;
  std::vector<std::unique_ptr<StreamingHash>> m_states;
  std::atomic<std::size_t> m_states_held{0};
  std::vector<std::unique_ptr<PoolQueue>> m_queues;
  std::span<Scope> m_scopes;
  std::array<StageTally, k_stage_kinds> m_tally;
  std::atomic<std::uint64_t> m_bytes_read{0};
  std::mutex m_result_mutex;
  Candidates m_out;
  std::vector<FileError> m_errors;
};

Pipeline::Pipeline(std::vector<FileIndex> files, std::span<const std::uint32_t> starts, const PipelineContext& context)
    : m_context(context),
      m_member(std::move(files)),
      m_status(m_member.size(), k_status_ok),
      m_groups(m_member.size()),
      m_large_begin(static_cast<Position>(m_member.size())) {
  const std::size_t pools = context.pools.size();
  std::vector<int> teams(pools);
  std::vector<std::size_t> ahead(pools);
  for (std::size_t p = 0; p < pools; ++p) {
    teams[p] = team_size(context.sizing[p]);
    ahead[p] = teams[p] == 1 ? k_read_ahead_files : 0;
  }
  fit_to_descriptors(teams, ahead);
  for (std::size_t g = 0; g + 1 < starts.size(); ++g) {
    if (starts[g] < m_large_begin && reads_in_rounds(context.files[m_member[starts[g]]].size)) {
      m_large_begin = starts[g];
    }
  }
  m_states.resize(m_member.size() - m_large_begin);
  for (std::size_t p = 0; p < pools; ++p) {
    auto queue = std::make_unique<PoolQueue>();
    queue->team = teams[p];
    queue->read_ahead = ahead[p];
    m_queues.push_back(std::move(queue));
  }
}

void Pipeline::fit_to_descriptors(std::vector<int>& teams, std::vector<std::size_t>& ahead) const {
  if (m_context.descriptors == nullptr) {
    return;
  }
  std::vector<int> fitted = teams;
  std::vector<std::size_t> fitted_ahead = ahead;
  const std::size_t budget = m_context.descriptors->capacity();
  if (!fit_descriptors(fitted, fitted_ahead, budget)) {
    return;
  }
  std::string shrunk;
  for (std::size_t p = 0; p < teams.size(); ++p) {
    const std::string pool = "; pool " + escape_for_terminal(m_context.pools.spec(p).name) + ": ";
    if (fitted_ahead[p] < ahead[p]) {
      shrunk += pool + "read-ahead " + std::to_string(ahead[p]) + " -> " + std::to_string(fitted_ahead[p]) + " files";
    }
    if (fitted[p] < teams[p]) {
      shrunk += pool + std::to_string(teams[p]) + " -> " + std::to_string(fitted[p]) + " threads";
    }
  }
  m_context.log.info("descriptor limit leaves " + std::to_string(budget) + " files open for reading" + shrunk);
  teams = std::move(fitted);
  ahead = std::move(fitted_ahead);
}

void Pipeline::enter(Position begin, Position end, StageKind kind) {
  m_tally[kind_index(kind)].files_in.fetch_add(end - begin, std::memory_order_relaxed);
  if (!stage_reads(kind, entry(begin).size)) {
    pass_on(begin, end, kind, Digest{});
    return;
  }
  if (kind == StageKind::full && start_progressive(begin, end)) {
    return;
  }
  const GroupId id = m_groups.acquire();
  GroupState& group = m_groups[id];
  group.begin = begin;
  group.end = end;
  group.kind = kind;
  group.round_offset = 0;
  group.round_bytes = 0;
  queue_reads(id);
}

void Pipeline::queue_reads(GroupId id) {
  GroupState& group = m_groups[id];
  const Position begin = group.begin;
  const Position end = group.end;
  const StageKind kind = group.kind;
  // One read per distinct inode: members of a group sit in inode order, hard links together.
  std::vector<std::pair<std::uint32_t, Position>> reads;
  for (Position i = begin; i < end; ++i) {
    if ((i == begin || !same_inode(i, i - 1)) && m_status[i] != k_status_complete) {
      reads.emplace_back(m_context.pool_of_file[m_member[i]], i);
    }
  }
  if (reads.empty()) {
    advance(id);  // every file of a progressive round was complete already
    return;
  }
  group.pending.store(static_cast<std::uint32_t>(reads.size()), std::memory_order_relaxed);
  std::stable_sort(reads.begin(), reads.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  // From the first read queued on, the group belongs to its reads: touch nothing of it below.
  const std::size_t k = kind_index(kind);
  for (std::size_t first = 0; first < reads.size();) {
    const std::uint32_t pool = reads[first].first;
    std::size_t last = first;
    {
      PoolQueue& queue = *m_queues[pool];
      std::lock_guard lock(queue.mutex);
      for (; last < reads.size() && reads[last].first == pool; ++last) {
        std::deque<ReadRun>& runs = queue.pending[k];
        const Position at = reads[last].second;
        if (last > first && !runs.empty() && runs.back().group == id && runs.back().end == at) {
          ++runs.back().end;  // the next position: the same run
        } else {
          runs.push_back(ReadRun{id, at, at + 1});
        }
      }
      queue.queued[k] += last - first;
    }
    spawn_drainers(pool);
    first = last;
  }
}

void Pipeline::advance(GroupId id) {
  GroupState& group = m_groups[id];
  const Position begin = group.begin;
  const StageKind kind = group.kind;
  const std::uint64_t round_bytes = group.round_bytes;
  const std::uint64_t hashed = group.round_offset + round_bytes;  // of a progressive read
  // Hard links take their inode's digest; unreadable files leave; the rest is ordered by digest
  // (stable: equal digests keep inode order, so hard links stay together).
  std::unique_ptr<Digest[]> slots = group.take_digests();
  if (!slots) {
    slots = std::make_unique<Digest[]>(group.end - begin);  // every read failed: none was stored
  }
  Digest* const digest = slots.get() - begin;  // digest[i] for position i
  std::vector<Position> kept;
  for (Position i = begin; i < group.end; ++i) {
    if (i > begin && same_inode(i, i - 1)) {
      digest[i] = digest[i - 1];
      m_status[i] = m_status[i - 1];
    }
    if (m_status[i] != k_status_failed) {
      kept.push_back(i);
    } else {
      if (i == begin || !same_inode(i, i - 1)) {
        const std::uint64_t size = entry(i).size;
        // Its failed read was never counted as done either.
        const std::uint64_t rest = round_bytes > 0           ? size - std::min(size, group.round_offset)
                                   : stage_reads(kind, size) ? bytes_for_stage(kind, size)
                                                             : 0;
        unplanned(bytes_after_stage(kind, size) + rest, i, i + 1);
      }
      drop_state(i);
    }
  }
  const Position old_end = group.end;
  m_groups.release(id);  // its parts get their own ids; the range is this thread's alone now
  std::stable_sort(kept.begin(), kept.end(), [&](Position a, Position b) { return digest[a] < digest[b]; });
  std::vector<FileIndex> members(kept.size());
  std::vector<Digest> digests(kept.size());  // digests[i - begin] for position i, from here on
  for (std::size_t k = 0; k < kept.size(); ++k) {
    members[k] = m_member[kept[k]];
    digests[k] = digest[kept[k]];
  }
  std::copy(members.begin(), members.end(), m_member.begin() + begin);
  const Position end = begin + static_cast<Position>(kept.size());
  if (round_bytes > 0) {
    // A progressive round: the hash states and the complete marks move with their files (the
    // failed ones' are gone).
    std::vector<std::unique_ptr<StreamingHash>> states(kept.size());
    std::vector<std::uint8_t> status(kept.size());
    for (std::size_t k = 0; k < kept.size(); ++k) {
      states[k] = std::move(m_states[kept[k] - m_large_begin]);
      status[k] = m_status[kept[k]];
    }
    std::move(states.begin(), states.end(), m_states.begin() + (begin - m_large_begin));
    std::copy(status.begin(), status.end(), m_status.begin() + begin);
    std::fill(m_status.begin() + end, m_status.begin() + old_end, k_status_ok);
    if (begin < end && hashed < entry(begin).size) {
      next_round(begin, end, digests.data(), hashed, round_bytes);
      return;
    }
    for (Position i = begin; i < end; ++i) {
      drop_state(i);  // the last round: every digest is the whole content's
    }
  }
  std::fill(m_status.begin() + begin, m_status.begin() + end, k_status_ok);
  for (Position first = begin; first < end;) {
    Position last = first + 1;
    while (last < end && digests[last - begin] == digests[first - begin]) {
      ++last;
    }
    pass_on(first, last, kind, digests[first - begin]);
    first = last;
  }
}

bool Pipeline::start_progressive(Position begin, Position end) {
  if (!reads_in_rounds(entry(begin).size) || begin < m_large_begin || !m_context.reader.reads_parts()) {
    return false;
  }
  std::size_t inodes = 0;
  for (Position i = begin; i < end; ++i) {
    inodes += i == begin || !same_inode(i, i - 1) ? 1 : 0;
  }
  // Within the budget of hash states, or not at all (never waits: a group waiting for the
  // states of another could wait on its own pool).
  std::size_t held = m_states_held.load(std::memory_order_relaxed);
  do {
    if (held + inodes > k_max_progressive_files) {
      return false;
    }
  } while (!m_states_held.compare_exchange_weak(held, held + inodes, std::memory_order_relaxed));
  for (Position i = begin; i < end; ++i) {
    if (i == begin || !same_inode(i, i - 1)) {
      m_states[i - m_large_begin] = std::make_unique<StreamingHash>();
    }
  }
  enter_round(begin, end, 0, next_round_bytes(0, 0, entry(begin).size));
  return true;
}

void Pipeline::enter_round(Position begin, Position end, std::uint64_t offset, std::uint64_t bytes,
                           const Digest* digests) {
  const GroupId id = m_groups.acquire();
  GroupState& group = m_groups[id];
  group.begin = begin;
  group.end = end;
  group.kind = StageKind::full;
  group.round_offset = offset;
  group.round_bytes = bytes;
  if (digests != nullptr) {
    Digest* slots = group.digest_slots();
    for (Position i = begin; i < end; ++i) {
      if (m_status[i] == k_status_complete) {
        slots[i - begin] = digests[i - begin];
      }
    }
  }
  queue_reads(id);
}

void Pipeline::next_round(Position begin, Position end, const Digest* digests, std::uint64_t offset,
                          std::uint64_t bytes) {
  const std::uint64_t size = entry(begin).size;
  const bool any_complete = std::any_of(m_status.begin() + begin, m_status.begin() + end,
                                        [](std::uint8_t status) { return status == k_status_complete; });
  if (any_complete) {
    // A file the cache knows whole: the others are read to the end, then compared with it.
    std::span<const FileIndex> members(m_member.data() + begin, end - begin);
    if (holds_duplicates(members, m_context.files, m_context.config.hard_links)) {
      enter_round(begin, end, offset, size - offset, digests);
    } else {
      for (Position i = begin; i < end; ++i) {
        if ((i == begin || !same_inode(i, i - 1)) && m_status[i] != k_status_complete) {
          unplanned(size - offset, i, i + 1);
        }
        drop_state(i);
      }
    }
    return;
  }
  for (Position first = begin; first < end;) {
    Position last = first + 1;
    while (last < end && digests[last - begin] == digests[first - begin]) {
      ++last;
    }
    std::span<const FileIndex> members(m_member.data() + first, last - first);
    if (holds_duplicates(members, m_context.files, m_context.config.hard_links)) {
      enter_round(first, last, offset, next_round_bytes(bytes, offset, size));
    } else {
      for (Position i = first; i < last; ++i) {
        if (i == first || !same_inode(i, i - 1)) {
          m_tally[kind_index(StageKind::full)].bytes_skipped.fetch_add(size - offset, std::memory_order_relaxed);
          unplanned(size - offset, i, i + 1);
        }
        drop_state(i);  // no copy left: its read ends here, short of the file's end
      }
    }
    first = last;
  }
}

std::uint64_t Pipeline::inodes(Position begin, Position end) const {
  std::uint64_t count = 0;
  for (Position i = begin; i < end; ++i) {
    count += i == begin || !same_inode(i, i - 1) ? 1 : 0;
  }
  return count;
}

void Pipeline::unplanned(std::uint64_t bytes_per_inode, Position begin, Position end) {
  if (m_context.progress.enabled() && bytes_per_inode > 0 && begin < end) {
    m_context.progress.reduce_total(bytes_per_inode * inodes(begin, end));
  }
}

// Every candidate read through every stage that reads at its size: the most the run can read.
std::uint64_t Pipeline::planned_bytes(std::span<const std::uint32_t> starts) const {
  std::uint64_t bytes = 0;
  for (std::size_t g = 0; g + 1 < starts.size(); ++g) {
    const std::uint64_t size = entry(starts[g]).size;
    const std::uint64_t first = stage_reads(StageKind::prefix, size) ? bytes_for_stage(StageKind::prefix, size) : 0;
    bytes += (first + bytes_after_stage(StageKind::prefix, size)) * inodes(starts[g], starts[g + 1]);
  }
  return bytes;
}

void Pipeline::drop_state(Position at) {
  if (at >= m_large_begin && m_states[at - m_large_begin]) {
    m_states[at - m_large_begin].reset();
    m_states_held.fetch_sub(1, std::memory_order_relaxed);
  }
}

ReadRange Pipeline::range_of(QueuedRead read, StageKind kind) {
  const std::uint64_t size = entry(read.at).size;
  if (kind == StageKind::full && state_of(read.at) != nullptr) {
    const GroupState& group = m_groups[read.group];
    return ReadRange{.offset = group.round_offset, .bytes = group.round_bytes, .piece = true};
  }
  return ReadRange{.offset = stage_offset(kind, size), .bytes = bytes_for_stage(kind, size), .piece = false};
}

void Pipeline::pass_on(Position begin, Position end, StageKind done, Digest digest) {
  std::span<const FileIndex> members(m_member.data() + begin, end - begin);
  const std::uint64_t size = entry(begin).size;
  if (!holds_duplicates(members, m_context.files, m_context.config.hard_links)) {
    unplanned(bytes_after_stage(done, size), begin, end);
    return;
  }
  const bool whole = stage_reads(done, size) && stage_hashes_whole_file(done, size);
  if (whole) {
    unplanned(bytes_after_stage(done, size), begin, end);
  }
  // A group whose hash is known skips the later stages; they count it as passing through.
  for (std::size_t k = kind_index(done); k < k_stage_kinds; ++k) {
    if (k > kind_index(done) && !whole) {
      break;
    }
    if (k > kind_index(done)) {
      m_tally[k].files_in.fetch_add(end - begin, std::memory_order_relaxed);
    }
    m_tally[k].files_out.fetch_add(end - begin, std::memory_order_relaxed);
    m_tally[k].groups_out.fetch_add(1, std::memory_order_relaxed);
  }
  if (whole) {
    std::lock_guard lock(m_result_mutex);
    if (m_context.sink != nullptr) {
      m_context.sink->add(m_context.files, members, digest);  // final: written now, not kept
    } else {
      m_out.add_group(members, digest);
    }
    return;
  }
  enter(begin, end, static_cast<StageKind>(kind_index(done) + 1));
}

void Pipeline::finish_read(QueuedRead read, Result<Digest> result) {
  const GroupId id = read.group;
  GroupState& group = m_groups[id];
  if (result.ok()) {
    group.digest_slots()[read.at - group.begin] = *result;
  } else {
    m_status[read.at] = k_status_failed;
    m_context.log.file_error(result.error());
    std::lock_guard lock(m_result_mutex);
    m_errors.push_back(std::move(result).error());
  }
  if (group.pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    advance(id);
  }
}

void Pipeline::spawn_drainers(std::size_t pool) {
  PoolQueue& queue = *m_queues[pool];
  int more = 0;
  {
    std::lock_guard lock(queue.mutex);
    more = std::min(wanted_drainers(queue), queue.team) - queue.drainers;
    if (more <= 0) {
      return;
    }
    queue.drainers += more;
  }
  for (int i = 0; i < more; ++i) {
    m_scopes[pool].spawn([this, pool](Worker& worker) { drain(pool, worker); });
  }
}

int Pipeline::decide_threads(std::size_t pool, StageKind kind, std::span<const FileIndex> sample) const {
  const PoolSizing& sizing = m_context.sizing[pool];
  std::optional<double> share;
  if (cache_probe_useful(kind, sizing, m_context.cached_threads)) {
    share = stage_cache_hits(kind, m_context.files, sample);
  }
  const int threads = std::min(threads_for(kind, sizing, share, m_context.cached_threads), m_queues[pool]->team);
  if (share) {
    m_context.log.debug("pool " + m_context.pools.spec(pool).name + ": " +
                        std::to_string(static_cast<int>(*share * 100)) + "% of a " + stage_name(kind) +
                        " sample cached, " + std::to_string(threads) + " threads for these reads");
  }
  return threads;
}

void Pipeline::drain(std::size_t pool, Worker& worker) {
  PoolQueue& queue = *m_queues[pool];
  std::vector<ReadRun> batch;
  for (;;) {
    StageKind kind = StageKind::prefix;
    std::vector<FileIndex> sample;
    bool deciding = false;
    {
      std::lock_guard lock(queue.mutex);
      const std::size_t k = next_kind(queue);
      if (k == k_stage_kinds || m_context.cancel.cancelled()) {
        --queue.drainers;
        return;
      }
      kind = static_cast<StageKind>(k);
      std::deque<ReadRun>& pending = queue.pending[k];
      const std::size_t queued = queue.queued[k];
      if (!queue.decided[k]) {
        // This drainer decides the kind's thread count from a sample of what is queued now; the
        // others wait for its answer (limit 1 meanwhile).
        deciding = true;
        queue.decided[k] = true;
        queue.limit[k] = 1;
        const std::size_t step = std::max<std::size_t>(1, queued / k_cache_sample);
        std::size_t seen = 0;  // reads before this run: every step-th read is sampled
        for (const ReadRun& run : pending) {
          const std::size_t length = run.end - run.begin;
          for (std::size_t j = (step - seen % step) % step; j < length; j += step) {
            sample.push_back(m_member[run.begin + j]);
          }
          seen += length;
        }
      }
      // A lone reader takes everything queued (to read it in physical order); several take
      // batches small enough to balance them, large enough that queueing costs nothing.
      std::size_t take = queued;
      if (queue.team > 1) {
        const std::size_t threads = static_cast<std::size_t>(queue.decided[k] ? std::max(queue.limit[k], 1) : 1);
        take = std::clamp<std::size_t>(queued / (threads * 8) + 1, 1, kind == StageKind::full ? 16 : 256);
      }
      batch.clear();
      queue.queued[k] -= take_reads(pending, take, batch);
      ++queue.active[k];
    }
    if (deciding) {
      const int threads = decide_threads(pool, kind, sample);
      {
        std::lock_guard lock(queue.mutex);
        queue.limit[kind_index(kind)] = threads;
      }
      spawn_drainers(pool);
    }
    read_batch(pool, kind, batch, worker);
    {
      std::lock_guard lock(queue.mutex);
      --queue.active[kind_index(kind)];
    }
  }
}

void Pipeline::read_batch(std::size_t pool, StageKind kind, const std::vector<ReadRun>& runs, Worker& worker) {
  const FileTable& files = m_context.files;
  const CancelToken& cancel = m_context.cancel;
  StageTally& tally = m_tally[kind_index(kind)];
  PoolCounters& counters = m_context.pools.counters(pool);
  // Digests known without reading (persistent cache hits) first: such a file is neither opened
  // ahead nor ordered on the disk, and its bytes are not counted as read.
  std::vector<QueuedRead> batch;
  std::size_t known = 0;
  for (const ReadRun& run : runs) {
    for (Position at = run.begin; at < run.end; ++at) {
      const QueuedRead read{at, run.group};
      const ReadRange range = range_of(read, kind);
      if (range.offset > 0 && range.piece) {
        batch.push_back(read);  // a later round: the cache was asked at the first
        continue;
      }
      if (std::optional<Digest> digest = m_context.reader.known(kind, files, m_member[at])) {
        // Known at a progressive read's first round: none of its rounds is read.
        unplanned(range.piece ? entry(at).size : range.bytes, at, at + 1);
        if (range.piece) {
          m_status[at] = k_status_complete;  // the whole content's digest, at the first round
          drop_state(at);
        }
        finish_read(read, *digest);
        ++known;
      } else {
        batch.push_back(read);
      }
    }
  }
  std::unique_ptr<ReadAhead> ahead;
  const std::size_t depth = m_queues[pool]->read_ahead;
  if (m_queues[pool]->team == 1 && batch.size() > 1 && depth > 0) {
    // One reader: keep the head moving forward. Physical offsets are worth their extra open
    // only before the long reads of the suffix and full stages; inode order is free. ReadAhead
    // queues the next reads in that order, so the device is not idle while the reader hashes.
    std::vector<FileIndex> ids(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      ids[i] = m_member[batch[i].at];
    }
    std::vector<std::uint32_t> order = single_reader_order(ids, files, kind != StageKind::prefix);
    std::vector<QueuedRead> ordered;
    ordered.reserve(batch.size());
    for (std::uint32_t i : order) {
      ordered.push_back(batch[i]);
    }
    batch.swap(ordered);
    ahead = std::make_unique<ReadAhead>(
        batch.size(),
        [&](std::size_t k) {
          const FileIndex f = m_member[batch[k].at];
          const ReadRange range = range_of(batch[k], kind);
          return ReadHint{files.path(f), range.offset, std::min(range.bytes, k_read_ahead_bytes)};
        },
        depth, k_read_ahead_bytes, m_context.descriptors);
  }
  raise_to(tally.last_read_ns, now_ns());
  lower_to(tally.first_read_ns, now_ns());
  std::uint64_t bytes = 0;
  std::uint64_t pieces = 0;
  std::size_t done = 0;
  for (; done < batch.size() && !cancel.cancelled(); ++done) {
    const QueuedRead read = batch[done];
    const FileIndex f = m_member[read.at];
    const int opened = ahead ? ahead->take(done) : -1;
    const ReadRange range = range_of(read, kind);
    Result<Digest> result = range.piece
                                ? m_context.reader.read_part(files, f, *state_of(read.at), range.offset, range.bytes,
                                                             worker, opened, cancel, m_context.descriptors)
                                : m_context.reader.read(kind, files, f, worker, opened, cancel, m_context.descriptors);
    if (cancel.cancelled()) {
      break;  // a read cut short is not a result; its group never completes
    }
    if (result.ok()) {
      bytes += range.bytes;
      pieces += range.piece ? 1 : 0;
    }
    finish_read(read, std::move(result));
  }
  raise_to(tally.last_read_ns, now_ns());
  tally.bytes_read.fetch_add(bytes, std::memory_order_relaxed);
  tally.pieces.fetch_add(pieces, std::memory_order_relaxed);
  m_bytes_read.fetch_add(bytes, std::memory_order_relaxed);
  m_context.progress.add(known + done, bytes);
  counters.files.fetch_add(known + done, std::memory_order_relaxed);
  counters.bytes_read.fetch_add(bytes, std::memory_order_relaxed);
}

PipelineResult Pipeline::run(std::span<const std::uint32_t> starts) {
  PipelineResult result;
  const std::size_t pools = m_context.pools.size();
  std::vector<int> teams(pools);
  for (std::size_t p = 0; p < pools; ++p) {
    teams[p] = m_queues[p]->team;
  }
  std::vector<std::uint64_t> busy_before(pools);
  for (std::size_t p = 0; p < pools; ++p) {
    busy_before[p] = m_context.pools.counters(p).busy_ns.load();
  }
  m_context.progress.begin_stage("hash", 0, m_context.progress.enabled() ? planned_bytes(starts) : 0);
  const Clock::time_point start = Clock::now();
  m_context.pools.multi_scope(
      m_context.cancel,
      [&](std::span<Scope> scopes) {
        m_scopes = scopes;
        for (std::size_t g = 0; g + 1 < starts.size(); ++g) {
          enter(starts[g], starts[g + 1], StageKind::prefix);
        }
      },
      [&](const std::exception_ptr& extra) {
        try {
          std::rethrow_exception(extra);
        } catch (const std::exception& e) {
          m_context.log.error(std::string("another task failed too: ") + e.what());
        } catch (...) {
          m_context.log.error("another task failed too");
        }
      },
      teams);
  result.elapsed_ns = static_cast<std::uint64_t>(std::chrono::nanoseconds(Clock::now() - start).count());
  result.cancelled = m_context.cancel.cancelled();
  result.bytes_read = m_bytes_read.load();
  for (std::size_t k = 0; k < k_stage_kinds; ++k) {
    const StageTally& tally = m_tally[k];
    const std::int64_t first = tally.first_read_ns.load();
    const std::int64_t last = tally.last_read_ns.load();
    result.stages[k] = StageReport{.name = stage_name(static_cast<StageKind>(k)),
                                   .files_in = tally.files_in.load(),
                                   .files_out = tally.files_out.load(),
                                   .groups_out = tally.groups_out.load(),
                                   .bytes_read = tally.bytes_read.load(),
                                   .elapsed_ns = last > first ? static_cast<std::uint64_t>(last - first) : 0,
                                   .pool_threads = {},
                                   .pieces = tally.pieces.load(),
                                   .bytes_skipped = tally.bytes_skipped.load()};
    for (std::size_t p = 0; p < pools; ++p) {
      result.stages[k].pool_threads.push_back(m_queues[p]->decided[k] ? m_queues[p]->limit[k] : 0);
    }
  }
  if (result.cancelled) {
    return result;  // groups still in flight never completed; the finished ones are not the answer
  }
  result.groups = std::move(m_out);
  result.errors = std::move(m_errors);
  std::sort(result.errors.begin(), result.errors.end(),
            [](const FileError& a, const FileError& b) { return a.path < b.path; });
  return result;
}

}  // namespace

PipelineResult hash_candidates(Candidates input, const PipelineContext& context) {
  Pipeline pipeline(std::move(input.files), input.starts, context);
  return pipeline.run(input.starts);
}

}  // namespace spindle
