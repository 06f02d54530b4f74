#pragma once

#include <spindle/cancel.hpp>
#include <spindle/config.hpp>
#include <spindle/error.hpp>
#include <spindle/file_table.hpp>
#include <spindle/hash.hpp>
#include <spindle/log.hpp>
#include <spindle/progress.hpp>
#include <spindle/reader.hpp>
#include <spindle/run_stats.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace spindle {

class DeviceProbe;
struct Calibration;

// The order of a listing: bytewise by path (the default: the same listing whatever the thread
// count and whatever order the PATHs came in), or by PATH as given (command line or --files-from
// list; the files found under one directory PATH bytewise by path).
enum class ListOrder { path, input };

// Positions of `files` in listing order. `chunk_starts` is WalkResult::chunk_starts (which run of
// PATHs FileEntry::root counts in); empty means one run.
std::vector<FileIndex> listing_order(const FileTable& files, ListOrder order,
                                     std::span<const FileIndex> chunk_starts = {});

// What a hashing run borrows from its caller.
struct HashJob {
  const Config& config;  // threads (--threads) and nothing else
  Logger& log;
  const CancelToken& cancel;
  const FileTable& files;
  std::span<const FileIndex> order;  // the files to hash, in the order the sink gets them
  DeviceProbe& probe;
  const Calibration& calibration;
  FileReader& reader;  // StageKind::full reads: the digest of the whole file
  Progress& progress;
};

// Gets each file of HashJob::order, in that order, on the caller's thread: its digest, or the
// error that kept it from being read (already logged). Returns false to stop the run (the
// output cannot be written any more).
using HashSink = std::function<bool(FileIndex, const Result<Digest>&)>;

struct HashRunResult {
  std::uint64_t files_hashed = 0;  // files given to the sink with a digest
  std::uint64_t errors = 0;        // files given to the sink with an error
  std::uint64_t bytes_read = 0;    // content bytes read (hard links to one inode: once)
  std::uint64_t elapsed_ns = 0;
  std::vector<PoolReport> pools;  // per device pool, for --stats
  bool cancelled = false;         // SIGINT/SIGTERM: the sink did not get every file
  bool stopped = false;           // the sink asked to stop
};

// Hash every file of job.order with job.reader on the per-device pools, in ONE multi_scope join,
// and stream the results to `sink` in job.order while the reads go on: the sink gets a file as
// soon as it and every file before it are read, so the first line of a million-file listing
// comes long before the end, and nothing holds more than a digest per file. Hard links to one
// inode are read once. A pool of several threads reads its files in listing order, in parallel;
// a one-thread pool reads windows of its files (4096 files or 256 MiB, in listing order) each in
// physical order with read-ahead, so the sink waits for at most one window of a slow disk.
// A file that changed or vanished while it was read is an error (the reader's), never a digest.
// Throws what a task threw (Fatal) after the join.
HashRunResult hash_in_order(const HashJob& job, const HashSink& sink);

}  // namespace spindle
