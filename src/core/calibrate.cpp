// Calibration: find the pool size a device reads fastest with, by reading its own files.
//
//   sample_files: a walk of the device's filesystems, bounded in files, bytes and time
//   calibrate:    for small reads (4 KiB of each file, as the prefix stage) and then whole-file
//                 reads, for each thread count: make the cache cold, then N readers pull files
//                 from one shared index until done or out of time; the first count (the fewest
//                 threads, the slowest) sets how many files every later count of the series reads
//   best_thread_count: the fewest threads within 5% of the best throughput, since extra readers
//                 cost memory and contend with the other pools for CPU
#include <spindle/calibrate.hpp>
#include <spindle/hash.hpp>
#include <spindle/read_ahead.hpp>
#include <spindle/walk.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <memory>
#include <thread>

namespace spindle {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t k_read_chunk = 128 * 1024;

struct SampledFile {
  std::string path;
  ino_t inode = 0;
};

// Make the next measurement cold. As root, drop the whole page cache (and dentries and inodes,
// as a fresh walk would find them); otherwise ask the kernel to forget the sample's pages, which
// leaves metadata warm but is the best an unprivileged user can do.
CacheDrop drop_cache(std::span<const std::string> files) {
  if (geteuid() == 0) {
    sync();
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      bool dropped = write(fd, "3", 1) == 1;
      close(fd);
      if (dropped) {
        return CacheDrop::drop_caches;
      }
    }
  }
  bool any = false;
  for (const std::string& path : files) {
    int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      any = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0 || any;
      close(fd);
    }
  }
  return any ? CacheDrop::fadvise : CacheDrop::none;
}

// `threads` readers over files[0, limit), up to max_bytes_per_file of each, until done, the
// deadline passes or cancel.
CalibrationPoint measure(int threads, std::span<const std::string> files, std::size_t limit,
                         std::uint64_t max_bytes_per_file, const std::function<Clock::time_point()>& now,
                         Clock::time_point deadline, const CancelToken& cancel) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> files_done{0};
  std::atomic<std::uint64_t> bytes_done{0};
  std::atomic<bool> out_of_time{false};
  Clock::time_point start = now();
  // One thread reads as a one-thread pool does: the sample is in inode order (sample_files), and
  // ReadAhead keeps the next files open and announced, so the point measures what a one-reader
  // pool would get from the device, not a bare sequential loop.
  std::unique_ptr<ReadAhead> ahead;
  if (threads == 1 && limit > 1) {
    ahead = std::make_unique<ReadAhead>(
        limit,
        [&](std::size_t k) {
          return ReadHint{files[k], 0, std::min(max_bytes_per_file, k_read_ahead_bytes)};
        },
        k_read_ahead_files, k_read_ahead_bytes);
  }
  auto reader = [&] {
    std::vector<char> buffer(k_read_chunk);
    std::uint64_t my_files = 0;
    std::uint64_t my_bytes = 0;
    while (!cancel.cancelled()) {
      if (now() >= deadline) {
        out_of_time.store(true, std::memory_order_relaxed);
        break;
      }
      std::size_t index = next.fetch_add(1, std::memory_order_relaxed);
      if (index >= limit) {
        break;
      }
      // The readers' own open: O_NOATIME (calibration must not dirty inodes on the disk it
      // measures), non-blocking should a FIFO have taken the file's place.
      int fd = ahead ? ahead->take(index) : -1;
      if (fd < 0) {
        fd = open_for_reading(files[index].c_str());
      }
      if (fd < 0) {
        continue;  // vanished or unreadable since sampling: not a measurement of the device
      }
      std::uint64_t file_bytes = 0;
      while (file_bytes < max_bytes_per_file) {
        std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(k_read_chunk, max_bytes_per_file - file_bytes));
        ssize_t got = read(fd, buffer.data(), want);
        if (got <= 0) {
          break;
        }
        file_bytes += static_cast<std::uint64_t>(got);
      }
      close(fd);
      ++my_files;
      my_bytes += file_bytes;
    }
    // Counted once per reader so the hot loop shares no cache line but `next`.
    files_done.fetch_add(my_files, std::memory_order_relaxed);
    bytes_done.fetch_add(my_bytes, std::memory_order_relaxed);
  };
  std::vector<std::thread> readers;
  readers.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    readers.emplace_back(reader);
  }
  for (std::thread& thread : readers) {
    thread.join();
  }
  CalibrationPoint point;
  point.threads = threads;
  point.seconds = std::chrono::duration<double>(now() - start).count();
  point.files = files_done.load();
  point.bytes = bytes_done.load();
  point.complete = !out_of_time.load() && !cancel.cancelled();
  return point;
}

}  // namespace

std::string_view to_string(CacheDrop drop) {
  switch (drop) {
    case CacheDrop::drop_caches:
      return "drop_caches";
    case CacheDrop::fadvise:
      return "fadvise";
    case CacheDrop::none:
      return "none";
  }
  return "none";
}

std::vector<std::string> sample_files(std::span<const std::string> roots, std::span<const std::uint64_t> st_devs,
                                      const CalibrationOptions& options, Clock::time_point deadline,
                                      const CancelToken& cancel) {
  Config config;
  config.paths.assign(roots.begin(), roots.end());
  config.one_file_system = true;  // another filesystem is another device's sample
  const WalkBudget budget{.max_files = options.max_files,
                          .max_bytes = options.max_sample_bytes,
                          .bytes_per_file = options.max_bytes_per_file,
                          .out_of_time = [&] { return options.clock() >= deadline; }};
  Logger quiet(stderr, LogLevel::silent);  // a sample skips what it cannot read, without a word
  // No mounts: staying on each root's filesystem already keeps the walk out of /proc and /sys.
  const WalkResult walked = walk(config, quiet, cancel, {}, nullptr, &budget);
  std::vector<SampledFile> sample;
  for (FileIndex f = 0; f < walked.files.size(); ++f) {
    const FileEntry& entry = walked.files[f];
    if (std::find(st_devs.begin(), st_devs.end(), entry.device()) != st_devs.end() && entry.via_symlink == 0) {
      sample.push_back({walked.files.path(f), entry.ino});
    }
  }
  std::sort(sample.begin(), sample.end(), [](const SampledFile& a, const SampledFile& b) { return a.inode < b.inode; });
  sample.resize(std::min(sample.size(), options.max_files));  // threads adding theirs as the bound was met
  std::vector<std::string> paths;
  paths.reserve(sample.size());
  for (SampledFile& file : sample) {
    paths.push_back(std::move(file.path));
  }
  return paths;
}

namespace {

bool any_bytes(std::span<const CalibrationPoint> points) {
  return std::any_of(points.begin(), points.end(), [](const CalibrationPoint& p) { return p.bytes > 0; });
}

// The runs of one thread count as one point: the median run (by throughput), with the spread.
CalibrationPoint median_point(std::vector<CalibrationPoint> runs) {
  const bool bytes = any_bytes(runs);
  auto rate = [bytes](const CalibrationPoint& p) { return bytes ? p.mb_per_s() : p.files_per_s(); };
  std::sort(runs.begin(), runs.end(),
            [&](const CalibrationPoint& a, const CalibrationPoint& b) { return rate(a) < rate(b); });
  CalibrationPoint point = runs[runs.size() / 2];
  point.runs = static_cast<int>(runs.size());
  point.low = rate(runs.front());
  point.high = rate(runs.back());
  point.complete = std::all_of(runs.begin(), runs.end(), [](const CalibrationPoint& p) { return p.complete; });
  return point;
}

std::string threads_text(int threads) {
  return std::to_string(threads) + (threads == 1 ? " thread" : " threads");
}

std::string fixed_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

}  // namespace

std::string series_noise(std::span<const CalibrationPoint> points, std::chrono::milliseconds min_run) {
  if (points.size() < 2) {
    return "";
  }
  const bool bytes = any_bytes(points);
  auto rate = [bytes](const CalibrationPoint& p) { return bytes ? p.mb_per_s() : p.files_per_s(); };
  const auto [slowest, fastest] =
      std::minmax_element(points.begin(), points.end(),
                          [&](const CalibrationPoint& a, const CalibrationPoint& b) { return rate(a) < rate(b); });
  for (const CalibrationPoint& point : points) {
    if (point.seconds < std::chrono::duration<double>(min_run).count()) {
      return "the runs with " + threads_text(point.threads) + " took " + fixed_text(point.seconds * 1000) +
             " ms, too short to time";
    }
  }
  if (fastest->low <= slowest->high) {
    const char* unit = bytes ? " MB/s" : " files/s";
    return "every thread count is within the noise: the fastest, " + threads_text(fastest->threads) +
           ", ran as slow as " + fixed_text(fastest->low) + unit + " and the slowest, " +
           threads_text(slowest->threads) + ", as fast as " + fixed_text(slowest->high) + unit;
  }
  return "";
}

int best_thread_count(std::span<const CalibrationPoint> points, double tolerance) {
  if (points.empty()) {
    return 0;
  }
  bool any_bytes = std::any_of(points.begin(), points.end(), [](const CalibrationPoint& p) { return p.bytes > 0; });
  auto throughput = [&](const CalibrationPoint& p) { return any_bytes ? p.mb_per_s() : p.files_per_s(); };
  double best = 0;
  for (const CalibrationPoint& point : points) {
    best = std::max(best, throughput(point));
  }
  int chosen = 0;
  for (const CalibrationPoint& point : points) {
    if (throughput(point) >= best * (1.0 - tolerance) && (chosen == 0 || point.threads < chosen)) {
      chosen = point.threads;
    }
  }
  return chosen;
}

CalibrationResult calibrate(const PhysicalDevice& device, std::span<const std::string> files,
                            const CalibrationOptions& options, Logger& log, const CancelToken& cancel) {
  CalibrationResult result;
  result.key = device.facts.key;
  result.sample_files = files.size();
  if (files.size() < options.min_files || options.thread_counts.empty()) {
    log.warning("calibrate " + escape_for_terminal(device.facts.name) + ": only " + std::to_string(files.size()) +
                " readable files found; need at least " + std::to_string(options.min_files));
    return result;
  }
  std::vector<int> counts = options.thread_counts;
  std::sort(counts.begin(), counts.end());
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());

  // Each series (small, then whole-file reads) gets half the budget. Its first run, the slowest
  // (fewest threads), gets a third of that: it decides how many files the series reads, and more
  // files make the faster runs' numbers steadier. The rest is shared out as the runs go, so a run
  // that finishes early leaves its time to the others. Cache drops are not counted, since sync
  // may wait on other processes' writes.
  Clock::duration remaining = options.budget;
  bool first_drop = true;
  for (bool small : {true, false}) {
    std::uint64_t bytes_per_file = small ? options.small_read_bytes : options.max_bytes_per_file;
    std::vector<CalibrationPoint>& points = small ? result.small : result.large;
    Clock::duration series_remaining = small ? remaining / 2 : remaining;
    remaining -= series_remaining;
    std::size_t limit = files.size();
    const int repeats = std::max(options.repeats, 1);
    for (std::size_t i = 0; i < counts.size() && !cancel.cancelled(); ++i) {
      // Later counts have more threads and usually finish sooner, but the earlier of them need the
      // most time: count i may use 2/(counts left + 1) of what is left, shared by its runs.
      std::size_t runs_left = counts.size() - i;
      Clock::duration slice = i == 0 ? series_remaining / 3 : series_remaining * 2 / static_cast<long>(runs_left + 1);
      slice /= repeats;
      std::vector<CalibrationPoint> runs;
      for (int run = 0; run < repeats && !cancel.cancelled(); ++run) {
        if (options.drop_caches) {
          CacheDrop drop = drop_cache(files.first(limit));
          // Report the weakest drop of all runs (CacheDrop is ordered strongest first).
          result.cache = first_drop ? drop : std::max(result.cache, drop);
          first_drop = false;
        }
        runs.push_back(
            measure(counts[i], files, limit, bytes_per_file, options.clock, options.clock() + slice, cancel));
        series_remaining -=
            std::min(series_remaining,
                     std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(runs.back().seconds)));
        if (i == 0 && run == 0) {
          limit = std::max<std::size_t>(static_cast<std::size_t>(runs.back().files), 1);
        }
      }
      if (runs.empty()) {
        break;
      }
      CalibrationPoint point = median_point(std::move(runs));
      log.info("calibrate " + escape_for_terminal(device.facts.name) +
               (small ? ": small reads, " : ": whole-file reads, ") + std::to_string(point.threads) +
               " threads: " + std::to_string(point.files) + " files, " + std::to_string(point.bytes) + " bytes in " +
               std::to_string(point.seconds) + " s");
      points.push_back(point);
    }
    remaining += series_remaining;  // what the small series left over goes to whole-file reads
  }
  if (cancel.cancelled()) {
    return result;
  }
  // A count chosen from differences smaller than the noise would be chance: nothing is stored.
  for (bool small : {true, false}) {
    const std::string noise = series_noise(small ? result.small : result.large, options.min_run);
    if (!noise.empty() && result.refused.empty()) {
      result.refused = std::string(small ? "small reads: " : "whole-file reads: ") + noise;
    }
  }
  if (result.refused.empty()) {
    result.best = ThreadCounts{best_thread_count(result.small, options.tolerance),
                               best_thread_count(result.large, options.tolerance)};
  }
  return result;
}

std::vector<DeviceCalibration> calibrate_devices(const DeviceMap& map, std::span<const std::string> paths,
                                                 Calibration& calibration, Logger& log, const CancelToken& cancel) {
  std::vector<DeviceCalibration> results;
  CalibrationOptions calibration_options;
  for (const PhysicalDevice& device : map.devices()) {
    if (cancel.cancelled()) {
      break;
    }
    // Sample where the user pointed when they did; a whole root filesystem otherwise.
    std::vector<std::string> roots;
    for (const std::string& path : paths) {
      struct stat st {};
      if (fstatat(AT_FDCWD, path.c_str(), &st, AT_NO_AUTOMOUNT) == 0 &&
          std::find(device.st_devs.begin(), device.st_devs.end(), st.st_dev) != device.st_devs.end()) {
        roots.push_back(path);
      }
    }
    if (roots.empty()) {
      roots = device.mount_points;
    }
    log.info("calibrate " + escape_for_terminal(device.facts.name) + ": sampling files");
    // Sampling may use up to a quarter of the device's budget; the measurements get the rest.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::now() + calibration_options.budget / 4;
    std::vector<std::string> files = sample_files(roots, device.st_devs, calibration_options, deadline, cancel);
    CalibrationOptions measure_options = calibration_options;
    measure_options.budget = calibration_options.budget * 3 / 4;
    CalibrationResult result = calibrate(device, files, measure_options, log, cancel);
    if (result.ok()) {
      calibration.best_threads[result.key] = result.best;
    }
    results.push_back(DeviceCalibration{.device = &device, .result = std::move(result)});
  }
  return results;
}

}  // namespace spindle
