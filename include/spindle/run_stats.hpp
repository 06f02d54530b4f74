#pragma once

#include <spindle/device_class.hpp>
#include <spindle/threads_spec.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace spindle {

// How one pool spent the run (--stats).
struct PoolReport {
  std::string device;  // "vda", "loop0", "tmpfs", "main"
  DeviceClass device_class = DeviceClass::unknown;
  ThreadCounts threads;
  std::uint64_t files = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t busy_ns = 0;  // summed over its threads
  std::uint64_t idle_ns = 0;  // its threads' time in the hashing join not spent reading
  int max_running = 0;
};

// One pass of the pipeline (--stats).
struct StageReport {
  std::string name;  // "walk", "size", "prefix", "suffix", "full"
  std::uint64_t files_in = 0;
  std::uint64_t files_out = 0;  // candidates left after the pass
  std::uint64_t groups_out = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t elapsed_ns = 0;  // from its first read to its last (stages overlap)
  // Per pool (as RunStats::pools), the threads it read this stage's kind of read with; 0 when
  // the pool read nothing in it. Empty for passes that read nothing (walk, size).
  std::vector<int> pool_threads;
  // full: reads of one piece of a file by progressive rounds (progressive.hpp), and the bytes
  // its files did not need read because their group split before their end.
  std::uint64_t pieces = 0;
  std::uint64_t bytes_skipped = 0;
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
  std::uint64_t bytes_read = 0;  // file content read, exactly (cache hits read none)
  std::uint64_t elapsed_ns = 0;
  // The persistent cache (--cache): reads it answered, and reads that went to the file.
  bool cache_used = false;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::vector<StageReport> stages;
  std::vector<PoolReport> pools;
};

}  // namespace spindle
