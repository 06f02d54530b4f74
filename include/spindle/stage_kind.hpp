#pragma once

#include <algorithm>
#include <cstdint>

namespace spindle {

// The reads that narrow a candidate group: its files' first block, their last block, then all of
// each file. A group takes them in this order, each only while it still holds duplicates.
enum class StageKind { prefix, suffix, full };
inline constexpr std::size_t k_stage_kinds = 3;

const char* stage_name(StageKind kind);

// Block size of the prefix and suffix reads.
inline constexpr std::uint64_t k_block_size = 4096;

// A file of at most two blocks is read whole by its prefix read: the second block costs a
// memcpy in the same pread, where a later full read would cost another open, stat, read and
// close (on a tree of small files, those syscalls are the run's time).
inline constexpr std::uint64_t k_whole_at_prefix = 2 * k_block_size;

// Does this stage read anything for a group of files of `size` bytes? Small files skip the
// stages they do not need: a file of at most two blocks is hashed whole by the prefix read.
bool stage_reads(StageKind kind, std::uint64_t size);

// Is the digest of this stage's read the hash of the whole file (the full read, or the prefix
// read of a file of at most two blocks)?
inline bool stage_hashes_whole_file(StageKind kind, std::uint64_t size) {
  return kind == StageKind::full || size <= k_whole_at_prefix;
}

// Where a stage's read of a file of `size` bytes starts, and how many bytes it reads.
inline std::uint64_t stage_offset(StageKind kind, std::uint64_t size) {
  return kind == StageKind::suffix ? size - k_block_size : 0;
}
inline std::uint64_t bytes_for_stage(StageKind kind, std::uint64_t size) {
  if (kind == StageKind::full || (kind == StageKind::prefix && size <= k_whole_at_prefix)) {
    return size;
  }
  return std::min(size, k_block_size);
}

// The bytes a file of `size` bytes still has to be read for if it stays a candidate through
// every stage after `done`: what the progress line's ETA takes off its estimate when a file
// leaves early.
inline std::uint64_t bytes_after_stage(StageKind done, std::uint64_t size) {
  std::uint64_t bytes = 0;
  for (std::size_t k = static_cast<std::size_t>(done) + 1; k < k_stage_kinds; ++k) {
    const auto kind = static_cast<StageKind>(k);
    bytes += stage_reads(kind, size) ? bytes_for_stage(kind, size) : 0;
  }
  return bytes;
}

}  // namespace spindle
