#pragma once

#include <spindle/config.hpp>
#include <spindle/device_class.hpp>
#include <spindle/error.hpp>
#include <spindle/file_table.hpp>
#include <spindle/hash.hpp>
#include <spindle/log.hpp>
#include <spindle/threads_spec.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace spindle {

class CancelToken;
class DeviceProbe;

// Files with identical content. `files` is sorted by path (bytewise).
struct DuplicateGroup {
  std::uint64_t size = 0;
  Digest hash;  // XXH3-128 of the whole content
  std::vector<FileIndex> files;
  std::uint64_t wasted() const { return files.empty() ? 0 : size * (files.size() - 1); }
};

// How one pool spent the run (--stats).
struct PoolReport {
  std::string device;  // "vda", "loop0", "tmpfs", "main"
  DeviceClass device_class = DeviceClass::unknown;
  ThreadCounts threads;
  std::uint64_t files = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t busy_ns = 0;
  int max_running = 0;
};

// One pass of the pipeline (--stats).
struct StageReport {
  std::string name;  // "walk", "size", "prefix", "suffix", "full"
  std::uint64_t files_in = 0;
  std::uint64_t files_out = 0;  // candidates left after the pass
  std::uint64_t groups_out = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t elapsed_ns = 0;
  // Per pool (as RunStats::pools), the thread count its team really had in this stage; 0 when
  // the pool read nothing in it. Empty for passes that read nothing (walk, size).
  std::vector<int> pool_threads;
};

struct RunStats {
  std::uint64_t files_scanned = 0;
  std::uint64_t bytes_scanned = 0;
  std::uint64_t directories = 0;
  std::uint64_t skipped_special = 0;
  std::uint64_t groups = 0;
  std::uint64_t duplicate_files = 0;  // files in groups, minus one per group
  std::uint64_t wasted_bytes = 0;
  std::uint64_t errors = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t elapsed_ns = 0;
  std::vector<StageReport> stages;
  std::vector<PoolReport> pools;
};

struct GroupResult {
  FileTable files;
  std::vector<DuplicateGroup> groups;  // sorted: most wasted space first, then size, hash, path
  std::vector<FileError> errors;       // every file that could not be read (also logged)
  RunStats stats;
  bool cancelled = false;  // SIGINT/SIGTERM: the groups are incomplete and must not be reported
};

// The whole `spindle group` pipeline: walk → devices → size → prefix → suffix → full → sort.
// File errors are logged as they happen and collected in the result; nothing is printed to stdout.
GroupResult run_group(const Config& config, Logger& log, const CancelToken& cancel, DeviceProbe& probe);

// Order groups for the report: most wasted space first, then larger size, hash, first path.
void sort_groups(std::vector<DuplicateGroup>& groups, const FileTable& files);

}  // namespace spindle
