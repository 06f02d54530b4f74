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
#include <spindle/run_stats.hpp>
#include <spindle/stages.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace spindle {

// What the byte-by-byte compare (--paranoid) borrows from the run, as the pipeline does.
struct ParanoidContext {
  const Config& config;
  Logger& log;
  const CancelToken& cancel;
  const FileTable& files;
  PoolSet& pools;                               // one pool per physical device
  std::span<const std::uint32_t> pool_of_file;  // pool index per FileIndex
  std::span<const PoolSizing> sizing;           // per pool: compares use its `large` count
  FdBudget* descriptors = nullptr;              // null: not counted (tests)
  GroupSink* sink = nullptr;                    // where final groups go at once; null: the result
};

struct ParanoidResult {
  Candidates groups;              // groups whose files are equal byte for byte (none with a sink)
  std::vector<FileError> errors;  // files that failed to read or changed, sorted by path
  StageReport stage;              // "paranoid": files in and out, groups, bytes read, time
  bool cancelled = false;         // SIGINT/SIGTERM: `groups` is empty
};

// Bytes compared per read of each of the two files of a compare: a worker holds two such buffers.
inline constexpr std::size_t k_compare_block = 128 * 1024;

// --paranoid: trust no hash. Each member of each group (one per distinct inode; hard links
// follow theirs) is compared byte by byte with the group's first file, on the pool of the
// member's device, in bounded buffers; members that differ form a group of their own that is
// compared again in the same way, so a hash collision splits a group instead of reporting
// different files as copies. A file that cannot be read or changed since the walk is a FileError
// and leaves its group (when the first file fails, the next takes its place). A device whose pool
// reads with one thread is never read by two compares at once, even when the first file of one
// compare lives on it: such devices are locked for the length of a compare. One multi_scope join;
// the result does not depend on timing.
ParanoidResult compare_groups(Candidates groups, const ParanoidContext& context);

}  // namespace spindle
