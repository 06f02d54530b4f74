#pragma once

#include <spindle/cancel.hpp>
#include <spindle/config.hpp>
#include <spindle/error.hpp>
#include <spindle/fd_budget.hpp>
#include <spindle/file_table.hpp>
#include <spindle/group.hpp>
#include <spindle/hash.hpp>
#include <spindle/log.hpp>
#include <spindle/pools.hpp>
#include <spindle/progress.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace spindle {

// Candidate groups as index ranges over one array: group g is files[starts[g] .. starts[g+1]).
struct Candidates {
  std::vector<FileIndex> files;
  std::vector<std::uint32_t> starts{0};
  std::vector<Digest> hashes;  // per group: XXH3-128 of the whole content, once a stage knew it

  std::size_t groups() const { return starts.size() - 1; }
  std::span<const FileIndex> group(std::size_t g) const {
    return {files.data() + starts[g], files.data() + starts[g + 1]};
  }
  void add_group(std::span<const FileIndex> members, Digest hash = {});
};

// Block size of the prefix and suffix reads.
inline constexpr std::uint64_t k_block_size = 4096;

// Groups of equal size that could hold duplicates: at least two distinct inodes, or, with
// config.hard_links, at least two paths.
Candidates group_by_size(const FileTable& files, const Config& config);

enum class StageKind { prefix, suffix, full };

// Test seam (as ninja's DiskInterface is): a reader tells it, on the reader's thread, that it has
// hashed the bytes `kind` reads of `file`, before it checks that the file is still the walked
// one. A test changes, truncates or deletes the file there (a change made while the file was
// read, without timing), or cancels the run.
class ReadObserver {
 public:
  virtual ~ReadObserver() = default;
  virtual void after_read(StageKind kind, FileIndex file) = 0;
};

// What a stage needs besides its input: shared read-only context, borrowed by every task.
struct StageContext {
  const Config& config;
  Logger& log;
  const CancelToken& cancel;
  const FileTable& files;
  PoolSet& pools;
  std::span<const std::uint32_t> pool_of_file;  // pool index per FileIndex
  std::span<const int> small_threads;           // per pool, for prefix/suffix joins
  std::span<const int> large_threads;           // per pool, for whole-file joins
  // Per pool: may a join use fewer threads when the data it will read is already cached? Not
  // for sizes the user set with --threads, which are honoured exactly.
  std::span<const std::uint8_t> cache_adaptive;
  int cached_threads;  // the pool size for cached data: one reader per usable CPU
  Progress& progress;
  // Descriptors the readers may hold open at once; null: not counted (tests).
  FdBudget* descriptors = nullptr;
  ReadObserver* observer = nullptr;
};

// Which share of these files already hold in the page cache the data a stage reads first? One
// 1-byte preadv2(RWF_NOWAIT) per file at that offset (and mid-file for whole-file reads).
// Files the probe cannot tell about are left out of the share: the filesystem lacks RWF_NOWAIT
// (EOPNOTSUPP on tmpfs, EINVAL on old kernels) or the file cannot be opened. std::nullopt when
// no file could tell. Queue depth only pays while reads wait on the device: on cached data,
// threads beyond the CPUs only contend.
std::optional<double> stage_cache_hits(StageKind kind, const FileTable& files, std::span<const FileIndex> sample);

// Share of sampled files whose data is cached from which a join uses one reader per CPU.
inline constexpr double k_cached_enough = 0.85;

// A pool's team size for one stage: `configured`, except that a pool allowed to adapt (not sized
// by --threads) uses `cached_threads` when that is smaller and at least k_cached_enough of the
// sample was cached. When the sample could not tell (`hits` empty), the configured size stays.
int stage_team_size(int configured, bool adaptive, int cached_threads, std::optional<double> hits);

// Per-file results carried between stages.
struct StageState {
  std::vector<FileError> errors;  // files dropped because they could not be read
  std::uint64_t bytes_read = 0;
  // Per pool, the team size the last stage's join really ran with (0: the pool read nothing).
  std::vector<int> threads_used;
};

// Does this stage read anything for a group of files of `size` bytes? Small files skip the
// stages they do not need: a file of at most one block is hashed whole by the prefix read, and
// for files of at most two blocks the suffix read would cost as much as the full read.
bool stage_reads(StageKind kind, std::uint64_t size);

// Run one stage as one multi_scope join over the device pools (each distinct inode read once,
// on the pool of its device), then split every group by the stage's digest, keeping groups
// that still hold duplicates. Unreadable files leave their group and go to state.errors; so do
// files that changed or vanished between the walk and the end of their read (InputFile).
// Cancellation: a file is in an output group only if this stage read it (or the stage had
// nothing to read for its group). A stage cancelled before every read finished returns no
// groups at all: its result is incomplete, and no caller may take it for a report.
Candidates run_stage(StageKind kind, const Candidates& input, const StageContext& context, StageState& state);

}  // namespace spindle
