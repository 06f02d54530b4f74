#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace spindle {

// Progressive full reads (rmlint's shredder reads in growing increments too): a group of files
// larger than one round is read in rounds, 1 MiB first, each round 4 times the last (capped at
// 1 GiB), and split by the digests of what its files hold so far after every round. Two files
// that differ at byte N are read to at most about 4 N + 1 MiB each (N + 1 GiB past the cap)
// instead of to their end: two 2 GiB files that differ at 100 MiB stop at 341 MiB. x4 rather than rmlint's x8: with x8
// the round that passes 100 MiB ends at 585 MiB. The last round's digest is the XXH3-128 of the
// whole content, as a one-piece full read gives.
inline constexpr std::uint64_t k_first_round_bytes = std::uint64_t{1} << 20;
inline constexpr std::uint64_t k_round_growth = 4;
inline constexpr std::uint64_t k_max_round_bytes = std::uint64_t{1} << 30;

// Files in progressive rounds at once, each holding a StreamingHash (about 600 bytes): 9 MiB at
// most. A group that would pass the limit is read in one piece instead, as smaller files are.
inline constexpr std::size_t k_max_progressive_files = 16384;

// Is a file of `size` bytes read in rounds (when its full read comes)? Files of at most one round
// are read in one piece and pay nothing for the rounds.
inline bool reads_in_rounds(std::uint64_t size) {
  return size > k_first_round_bytes;
}

// The bytes of the round after one of `previous` bytes that ended at `offset` (0 and 0 for the
// first round), of a file of `size` bytes.
inline std::uint64_t next_round_bytes(std::uint64_t previous, std::uint64_t offset, std::uint64_t size) {
  const std::uint64_t wanted =
      previous == 0 ? k_first_round_bytes : std::min(previous * k_round_growth, k_max_round_bytes);
  return std::min(wanted, size - offset);
}

}  // namespace spindle
