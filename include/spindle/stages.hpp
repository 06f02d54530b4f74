#pragma once

#include <spindle/config.hpp>
#include <spindle/error.hpp>
#include <spindle/file_table.hpp>
#include <spindle/group.hpp>
#include <spindle/hash.hpp>
#include <spindle/log.hpp>
#include <spindle/pools.hpp>
#include <spindle/progress.hpp>

#include <cstdint>
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
};

// Which share of these files already hold in the page cache the data a stage reads first? One
// 1-byte preadv2(RWF_NOWAIT) per file at that offset (and mid-file for whole-file reads); 0 when
// none could be probed or the kernel lacks RWF_NOWAIT. Queue depth only pays while reads wait on
// the device: on cached data, threads beyond the CPUs only contend.
double stage_cache_hits(StageKind kind, const FileTable& files, std::span<const FileIndex> sample);

// Per-file results carried between stages.
struct StageState {
  std::vector<FileError> errors;  // files dropped because they could not be read
  std::uint64_t bytes_read = 0;
};

// Does this stage read anything for a group of files of `size` bytes? Small files skip the
// stages they do not need: a file of at most one block is hashed whole by the prefix read, and
// for files of at most two blocks the suffix read would cost as much as the full read.
bool stage_reads(StageKind kind, std::uint64_t size);

// Run one stage as one multi_scope join over the device pools (each distinct inode read once,
// on the pool of its device), then split every group by the stage's digest, keeping groups
// that still hold duplicates. Unreadable files leave their group and go to state.errors.
Candidates run_stage(StageKind kind, const Candidates& input, const StageContext& context, StageState& state);

}  // namespace spindle
