#pragma once

#include <spindle/device.hpp>
#include <spindle/log.hpp>
#include <spindle/output_file.hpp>
#include <spindle/pools.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace spindle {

// Where `spindle devices --calibrate` stores its results: $XDG_CONFIG_HOME/spindle/calibration
// (an absolute XDG_CONFIG_HOME only, as the XDG spec says), else ~/.config/spindle/calibration.
std::filesystem::path calibration_path();

// The system-wide store, read by every user: $SPINDLE_SYSTEM_CONFIG_DIR/calibration (an absolute
// path only; tests point it at a temporary directory), else /etc/spindle/calibration.
std::filesystem::path system_calibration_path();

// What a run uses: the system store, then the user's own (calibration_path()), whose entry for a
// device wins over the system's.
Calibration load_calibrations(Logger& log);

// Read a calibration store: lines "<device key> <r> <s>" (or "<device key> <n>" for both), '#'
// comments. A missing file is an empty Calibration; malformed lines are skipped with a warning.
// The store is read as read_small_file() reads (at most 1 MiB, a regular file, a symlink to one
// followed, never blocking): anything else is ignored with one warning naming it.
Calibration load_calibration(const std::filesystem::path& path, Logger& log);

// The parser behind load_calibration, on the text of a store (pure: no file access, so it can be
// fuzzed); `source` names the store in warnings about malformed lines.
Calibration parse_calibration(std::string_view text, std::string_view source, Logger& log);

// Prepare to write the store (before measuring, so a store that cannot be written fails at
// once): its directory is created if needed, and it is opened as an OutputFile that must be a
// regular file (or new). Throws Fatal naming what failed.
OutputFile open_calibration_store(const std::filesystem::path& path);

// Write the store through `store` (atomically where OutputFile can: exclusive temporary in the
// same directory, fsync, rename). Throws Fatal when it cannot be written.
void save_calibration(const Calibration& calibration, OutputFile& store);
// open_calibration_store + save_calibration.
void save_calibration(const Calibration& calibration, const std::filesystem::path& path);

struct CalibrationOptions {
  // Up to 32: on the virtual disk measured for the defaults, 32 small readers beat 16 by ~20%.
  std::vector<int> thread_counts{1, 2, 4, 8, 16, 32};
  // Wall-clock budget for one device: sampling plus all measurements (cache drops not counted).
  std::chrono::milliseconds budget{10'000};
  std::size_t max_files = 50'000;                 // sample size bound
  std::uint64_t max_sample_bytes = 2ULL << 30;    // sum over the sample of the bytes read per file
  std::uint64_t small_read_bytes = 4096;          // small reads: this much of each file, as the prefix stage
  std::uint64_t max_bytes_per_file = 1ULL << 20;  // whole-file reads: at most this much of each file
  std::size_t min_files = 32;                     // fewer sampled files give no result
  double tolerance = 0.05;  // best = the fewest threads within this fraction of the top throughput
  // Each thread count is measured this many times (cold cache each time); its point is the median
  // run, and the lowest and highest throughput of its runs are its spread.
  int repeats = 3;
  // A series whose median run is shorter than this is too short to time: nothing is stored.
  std::chrono::milliseconds min_run{50};
  bool drop_caches = true;  // before each count: drop the page cache (root) or fadvise the files
  // What the budget, the deadlines and each measurement's seconds are read from. Called from
  // every reader thread, so it must be thread-safe. A seam: tests pass a clock they control, so a
  // loaded machine cannot change which runs finish within their slice.
  std::function<std::chrono::steady_clock::time_point()> clock = [] { return std::chrono::steady_clock::now(); };
};

// How the cache was made cold before each measurement.
enum class CacheDrop { drop_caches, fadvise, none };
std::string_view to_string(CacheDrop drop);

// One measurement: `threads` readers over (a prefix of) the sample.
struct CalibrationPoint {
  int threads = 0;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  double seconds = 0;
  bool complete = false;  // read everything it was given before its time slice ran out
  // The spread of the runs behind this point (its median run): the lowest and highest throughput
  // of any, as best_thread_count compares them (MB/s, files/s when nothing was read).
  int runs = 1;
  double low = 0;
  double high = 0;
  double mb_per_s() const { return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0; }
  double files_per_s() const { return seconds > 0 ? static_cast<double>(files) / seconds : 0; }
};

struct CalibrationResult {
  std::string key;  // DeviceFacts::key of the device measured
  std::size_t sample_files = 0;
  CacheDrop cache = CacheDrop::none;
  std::vector<CalibrationPoint> small;  // short reads of each file (the prefix/suffix stages)
  std::vector<CalibrationPoint> large;  // whole-file reads (the full-hash stage)
  ThreadCounts best{0, 0};              // 0,0: no result (sample too small, noise, or cancelled)
  // Why there is no result although every count was measured: the throughputs are within the
  // runs' spread, or the runs were too short to time. Empty otherwise.
  std::string refused;
  bool ok() const { return best.small > 0 && best.large > 0; }
};

// Regular, non-empty files under `roots` that live on one of `st_devs`: breadth-first, never
// following symlinks or leaving those filesystems, never triggering an automount. Stops at the
// options' bounds, at `deadline` (read on options.clock) or on cancel. Sorted by inode, the order HDD pools read in.
std::vector<std::string> sample_files(std::span<const std::string> roots, std::span<const std::uint64_t> st_devs,
                                      const CalibrationOptions& options, std::chrono::steady_clock::time_point deadline,
                                      const CancelToken& cancel);

// Read `files` (read-only, O_NOATIME where allowed) with each of options.thread_counts, cold
// cache before each run, once with small reads and once with whole-file reads, since the two want
// different parallelism. In each series the first count reads for its share of the budget; every
// later count reads exactly the files the first one got through, so the numbers compare like with like.
CalibrationResult calibrate(const PhysicalDevice& device, std::span<const std::string> files,
                            const CalibrationOptions& options, Logger& log, const CancelToken& cancel);

// The fewest threads whose throughput (MB/s; files/s when nothing was read) is within `tolerance`
// of the best point's; 0 when `points` is empty.
int best_thread_count(std::span<const CalibrationPoint> points, double tolerance);

// Why a series tells nothing, or "" when it does: the fastest point's slowest run is no faster
// than the slowest point's fastest run (the differences are within the noise), or the median run
// lasted less than `min_run`.
std::string series_noise(std::span<const CalibrationPoint> points, std::chrono::milliseconds min_run);

// One device's calibration, for the report.
struct DeviceCalibration {
  const PhysicalDevice* device = nullptr;
  CalibrationResult result;
};

// `spindle devices --calibrate`: for every device of `map`, sample files under the `paths` that
// live on it (its mount points when none do) within a quarter of the budget, measure with the
// rest (calibrate), and fold each device's best counts into `calibration`. Stops early on cancel.
std::vector<DeviceCalibration> calibrate_devices(const DeviceMap& map, std::span<const std::string> paths,
                                                 Calibration& calibration, Logger& log, const CancelToken& cancel);

}  // namespace spindle
