#pragma once

// The walk shared by the ranks of an MPI job (spindle-mpi). Rank 0 coordinates: it holds the
// directories still to list and hands them out in batches to whichever rank asks; a rank lists
// its batch (the single-node walk over those directories, one level deep: WalkBudget::hand_off)
// and sends back the subdirectories it found. So one deep subtree or one huge directory keeps
// one rank busy, never the others waiting for it. With one rank, that rank does it all.

#include "mpi_comm.hpp"

#include <spindle/cancel.hpp>
#include <spindle/config.hpp>
#include <spindle/device.hpp>
#include <spindle/error.hpp>
#include <spindle/file_table.hpp>
#include <spindle/log.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace spindle::mpi {

// What one rank's share of the walk found: its files, packed for the rank that owns each one's
// size (owner_of), and the counts and errors of the directories it listed.
struct RankWalk {
  std::vector<std::string> outboxes;  // one per rank: pack_file records
  std::vector<FileError> errors;
  std::uint64_t files = 0;
  std::uint64_t directories = 0;
  std::uint64_t skipped_special = 0;
  std::uint64_t skipped_unreliable = 0;
};

// The rank that owns every file of `size` (a mix of the size, so neighbouring sizes spread).
int owner_of(std::uint64_t size, int ranks);

// A file as it travels between ranks: its FileEntry's fields and its whole path (52 bytes + the path).
void pack_file(Packer& out, const FileEntry& entry, std::string_view path);
// Adds the records of `bytes` to `table`.
void unpack_files(std::string_view bytes, FileTable& table);

// Why --mpi cannot run these PATHs and flags (nullopt: it can). Resolves the PATHs (rank 0).
std::optional<std::string> mpi_refusal(const Config& config);

// Every rank calls it at once; returns when the whole tree is listed (or the run is cancelled).
RankWalk walk_shared(const Config& config, Logger& log, const CancelToken& cancel, std::span<const Mount> mounts,
                     const Session& session);

}  // namespace spindle::mpi
