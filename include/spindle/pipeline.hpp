#pragma once

#include <spindle/cancel.hpp>
#include <spindle/config.hpp>
#include <spindle/error.hpp>
#include <spindle/fd_budget.hpp>
#include <spindle/file_table.hpp>
#include <spindle/group_sink.hpp>
#include <spindle/log.hpp>
#include <spindle/pool_sizing.hpp>
#include <spindle/pools.hpp>
#include <spindle/progress.hpp>
#include <spindle/reader.hpp>
#include <spindle/run_stats.hpp>
#include <spindle/stages.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace spindle {

// What the hashing run borrows from its caller for the length of its one join.
struct PipelineContext {
  const Config& config;
  Logger& log;
  const CancelToken& cancel;
  const FileTable& files;
  PoolSet& pools;                               // one pool per physical device
  std::span<const std::uint32_t> pool_of_file;  // pool index per FileIndex
  std::span<const PoolSizing> sizing;           // per pool
  int cached_threads;                           // a pool's size for cached data: one per usable CPU
  FileReader& reader;
  Progress& progress;
  // Descriptors the readers may hold open at once; null: not counted (tests).
  FdBudget* descriptors = nullptr;
  // Where final groups go at once (a report written as the run goes on); null: into
  // PipelineResult::groups. Called under the pipeline's lock, one group at a time.
  GroupSink* sink = nullptr;
};

struct PipelineResult {
  Candidates groups;              // duplicate groups, each with the XXH3-128 of its content (none with a sink)
  std::vector<FileError> errors;  // files that could not be read, sorted by path
  // Per kind of read; pool_threads: the threads each pool read that kind with (0: none).
  std::array<StageReport, k_stage_kinds> stages;
  std::uint64_t bytes_read = 0;
  std::uint64_t elapsed_ns = 0;  // of the join
  // SIGINT/SIGTERM: `groups` is empty, whatever had been decided (nothing partial can leak).
  bool cancelled = false;
};

// Narrow size groups down to duplicate groups in ONE multi_scope join over the device pools. A
// group advances on its own: when the last read of its current stage is done, the thread that did
// it splits the group by digest and queues each surviving part's next reads on the pools of its
// files' devices. No pool waits for another pool's stage, so a slow device delays only the groups
// that have files on it. Each distinct inode is read once per stage, by the pool of its device;
// a one-thread pool reads what it has queued in physical order with read-ahead; a pool not sized
// by --threads reads cached data with `cached_threads`. The result does not depend on timing.
PipelineResult hash_candidates(Candidates input, const PipelineContext& context);

}  // namespace spindle
