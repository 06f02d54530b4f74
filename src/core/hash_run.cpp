// The hashing run of `spindle hash`: every file read whole, on its device's pool, in one
// multi_scope join, while the caller's thread hands the results to the sink in listing order.
//
//   order ──by device──▶ per pool: windows of the listing ──tasks──▶ digest[f], state[f]
//                                                                        │
//   caller's thread: for each f of the order, wait for state[f] ◀────────┘ ──▶ sink(f, digest)
//
// The join runs on a thread of its own so that the caller can write while it reads, and wakes
// the caller when it ends for any reason (done, cancelled, a task threw): a file that will never
// be read then cannot keep the writer waiting.
#include <spindle/device.hpp>
#include <spindle/fd_budget.hpp>
#include <spindle/hash_run.hpp>
#include <spindle/physical_order.hpp>
#include <spindle/pool_sizing.hpp>
#include <spindle/pools.hpp>
#include <spindle/read_ahead.hpp>
#include <spindle/stages.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace spindle {

namespace {

using Clock = std::chrono::steady_clock;

// A one-thread pool orders this much of its listing at once by physical position: enough files
// for the elevator to sort, little enough that the writer is never far behind the disk.
constexpr std::size_t k_window_files = 4096;
constexpr std::uint64_t k_window_bytes = 256 * 1024 * 1024;
// Files per task of a pool with several threads: whole-file reads, as the group pipeline batches them.
constexpr std::size_t k_batch_files = 16;
// Descriptors left out of the readers' budget (stdio, the listing, libraries).
constexpr std::size_t k_descriptor_reserve = 8;
// How often a writer waiting for a read looks at the signal token (the join itself sees it at once).
constexpr std::chrono::milliseconds k_cancel_poll{100};
// Files sampled to tell whether a pool's data is cached.
constexpr std::size_t k_cache_sample = 16;

enum : std::uint8_t { k_pending = 0, k_done = 1, k_failed = 2 };

constexpr FileIndex k_none = std::numeric_limits<FileIndex>::max();

std::uint64_t since_ns(Clock::time_point start) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
}

class HashRun {
 public:
  HashRun(const HashJob& job) : m_job(job), m_state(std::make_unique<std::atomic<std::uint8_t>[]>(job.files.size())) {
    m_digest.resize(job.files.size());
  }

  HashRunResult run(const HashSink& sink);

 private:
  void find_primaries();
  void read_files(std::size_t pool, std::span<const FileIndex> batch, bool physical, Worker& worker);
  void finish(FileIndex f, Result<Digest> result);
  bool stopped() const { return m_stop.cancelled() || m_job.cancel.cancelled(); }
  // Waits until file f is read or the join has ended; false when it never will be.
  bool wait_for(FileIndex f);

  const HashJob& m_job;
  CancelToken m_stop;                // the user's signal, relayed by the writer, or the sink giving up
  std::vector<FileIndex> m_primary;  // per file: the file of its inode that is read (k_none: not listed)
  std::vector<Digest> m_digest;
  std::unique_ptr<std::atomic<std::uint8_t>[]> m_state;
  std::mutex m_errors_mutex;
  std::unordered_map<FileIndex, FileError> m_errors;  // few: kept apart from the per-file arrays
  std::atomic<std::uint64_t> m_bytes_read{0};
  std::unique_ptr<FdBudget> m_descriptors;
  PoolSet* m_pools = nullptr;

  std::mutex m_wait_mutex;
  std::condition_variable m_wake;
  std::atomic<FileIndex> m_waiting_for{k_none};
  std::atomic<bool> m_join_done{false};
};

// Hard links to one inode are read once: by the one that comes first in the listing.
void HashRun::find_primaries() {
  const FileTable& files = m_job.files;
  m_primary.assign(files.size(), k_none);
  std::vector<std::uint32_t> position(files.size(), std::numeric_limits<std::uint32_t>::max());
  for (std::size_t i = 0; i < m_job.order.size(); ++i) {
    position[m_job.order[i]] = static_cast<std::uint32_t>(i);
  }
  std::vector<FileIndex> by_inode(m_job.order.begin(), m_job.order.end());
  std::sort(by_inode.begin(), by_inode.end(), [&](FileIndex a, FileIndex b) {
    const FileEntry& x = files[a];
    const FileEntry& y = files[b];
    if (x.device() != y.device() || x.ino != y.ino) {
      return std::pair(x.device(), x.ino) < std::pair(y.device(), y.ino);
    }
    return position[a] < position[b];
  });
  for (std::size_t i = 0; i < by_inode.size();) {
    std::size_t end = i + 1;
    const FileEntry& first = files[by_inode[i]];
    while (end < by_inode.size() && files[by_inode[end]].device() == first.device() &&
           files[by_inode[end]].ino == first.ino) {
      ++end;
    }
    for (std::size_t k = i; k < end; ++k) {
      m_primary[by_inode[k]] = by_inode[i];
    }
    i = end;
  }
}

void HashRun::finish(FileIndex f, Result<Digest> result) {
  if (result.ok()) {
    m_digest[f] = *result;
    m_state[f].store(k_done);
  } else {
    {
      std::lock_guard lock(m_errors_mutex);
      m_errors.insert_or_assign(f, std::move(result).error());
    }
    m_state[f].store(k_failed);
  }
  // Sequentially consistent with the writer's m_waiting_for store then state load: either it
  // sees this state or this sees it waiting (and the lock orders the notify after its wait).
  if (m_waiting_for.load() == f) {
    std::lock_guard lock(m_wait_mutex);
    m_wake.notify_one();
  }
}

void HashRun::read_files(std::size_t pool, std::span<const FileIndex> batch, bool physical, Worker& worker) {
  const FileTable& files = m_job.files;
  // Digests known without reading (persistent cache hits) first: such a file is neither opened
  // ahead nor ordered on the disk, and its bytes are not counted as read.
  std::vector<FileIndex> ordered;
  ordered.reserve(batch.size());
  std::size_t known = 0;
  for (const FileIndex f : batch) {
    if (std::optional<Digest> digest = m_job.reader.known(StageKind::full, files, f)) {
      finish(f, *digest);
      ++known;
    } else {
      ordered.push_back(f);
    }
  }
  std::unique_ptr<ReadAhead> ahead;
  if (physical && ordered.size() > 1) {
    // One reader: keep the head moving forward, and the device busy while the reader hashes.
    const std::vector<FileIndex> unordered = ordered;
    std::vector<std::uint32_t> permutation = single_reader_order(unordered, files, true);
    for (std::size_t i = 0; i < permutation.size(); ++i) {
      ordered[i] = unordered[permutation[i]];
    }
    ahead = std::make_unique<ReadAhead>(
        ordered.size(),
        [&](std::size_t k) {
          return ReadHint{files.path(ordered[k]), 0, std::min(files[ordered[k]].size, k_read_ahead_bytes)};
        },
        k_read_ahead_files, k_read_ahead_bytes, m_descriptors.get());
  }
  std::uint64_t bytes = 0;
  std::size_t done = 0;
  for (; done < ordered.size() && !stopped(); ++done) {
    const FileIndex f = ordered[done];
    const int opened = ahead ? ahead->take(done) : -1;
    // The user's token, checked per block: a signal stops a huge file's read within one block.
    Result<Digest> result =
        m_job.reader.read(StageKind::full, files, f, worker, opened, m_job.cancel, m_descriptors.get());
    if (stopped()) {
      break;  // a read cut short is not a result
    }
    if (result.ok()) {
      bytes += files[f].size;
    }
    finish(f, std::move(result));
  }
  m_bytes_read.fetch_add(bytes, std::memory_order_relaxed);
  m_job.progress.add(known + done, bytes);
  PoolCounters& counters = m_pools->counters(pool);
  counters.files.fetch_add(known + done, std::memory_order_relaxed);
  counters.bytes_read.fetch_add(bytes, std::memory_order_relaxed);
}

bool HashRun::wait_for(FileIndex f) {
  if (m_state[f].load() != k_pending) {
    return true;
  }
  std::unique_lock lock(m_wait_mutex);
  m_waiting_for.store(f);
  while (m_state[f].load() == k_pending && !m_join_done.load()) {
    m_wake.wait_for(lock, k_cancel_poll);
    if (m_job.cancel.cancelled()) {
      m_stop.cancel();  // the join and every read see the signal through m_stop
    }
  }
  m_waiting_for.store(k_none);
  return m_state[f].load() != k_pending;
}

HashRunResult HashRun::run(const HashSink& sink) {
  HashRunResult result;
  const Clock::time_point start = Clock::now();
  const FileTable& files = m_job.files;
  find_primaries();

  // One pool per physical device of the files to read.
  std::vector<std::uint64_t> st_devs;
  for (FileIndex f : m_job.order) {
    st_devs.push_back(files[f].device());
  }
  std::sort(st_devs.begin(), st_devs.end());
  st_devs.erase(std::unique(st_devs.begin(), st_devs.end()), st_devs.end());
  DeviceMap devices = DeviceMap::build(st_devs, m_job.probe, m_job.config.threads, m_job.calibration, m_job.log);
  std::vector<std::vector<FileIndex>> queued(devices.size());
  for (FileIndex f : m_job.order) {
    if (m_primary[f] == f) {
      queued[devices.index_of(files[f].device())].push_back(f);
    }
  }
  // Whole-file reads with the pool's size for them, or one thread per CPU when the pool adapts
  // and a sample of its files is already cached (as group's full reads decide).
  const int cached_threads = usable_cpus();
  std::vector<PoolSpec> specs;
  std::vector<int> sizes;
  for (std::size_t p = 0; p < devices.size(); ++p) {
    const PhysicalDevice& device = devices.devices()[p];
    const PoolSizing sizing{.small = device.threads.small,
                            .large = device.threads.large,
                            .cache_adaptive = device.threads_source != ThreadsSource::flag};
    std::optional<double> share;
    if (cache_probe_useful(StageKind::full, sizing, cached_threads)) {
      std::vector<FileIndex> sample;
      const std::vector<FileIndex>& mine = queued[p];
      for (std::size_t i = 0; i < mine.size(); i += std::max<std::size_t>(1, mine.size() / k_cache_sample)) {
        sample.push_back(mine[i]);
      }
      share = stage_cache_hits(StageKind::full, files, sample);
    }
    const int threads = threads_for(StageKind::full, sizing, share, cached_threads);
    specs.push_back({device.facts.name, threads});
    sizes.push_back(threads);
  }
  PoolSet pools(std::move(specs));
  m_pools = &pools;
  m_descriptors = std::make_unique<FdBudget>(free_descriptors(k_descriptor_reserve));

  std::uint64_t bytes_total = 0;
  std::uint64_t files_total = 0;  // distinct inodes: what the readers count
  for (const std::vector<FileIndex>& mine : queued) {
    files_total += mine.size();
    for (FileIndex f : mine) {
      bytes_total += files[f].size;
    }
  }
  m_job.progress.begin_stage("hash", files_total, bytes_total);
  std::exception_ptr failure;
  const Clock::time_point join_start = Clock::now();
  std::thread join([&] {
    try {
      pools.multi_scope(
          m_stop,
          [&](std::span<Scope> scopes) {
            for (std::size_t p = 0; p < scopes.size(); ++p) {
              const std::span<const FileIndex> mine(queued[p]);
              const bool single = sizes[p] == 1;
              for (std::size_t begin = 0; begin < mine.size();) {
                std::size_t end = begin;
                std::uint64_t bytes = 0;
                const std::size_t most = single ? k_window_files : k_batch_files;
                while (end < mine.size() && end - begin < most && (!single || end == begin || bytes < k_window_bytes)) {
                  bytes += files[mine[end]].size;
                  ++end;
                }
                scopes[p].spawn([this, p, single, batch = mine.subspan(begin, end - begin)](Worker& worker) {
                  read_files(p, batch, single, worker);
                });
                begin = end;
              }
            }
          },
          [&](const std::exception_ptr& extra) {
            try {
              std::rethrow_exception(extra);
            } catch (const std::exception& e) {
              m_job.log.error(std::string("another task failed too: ") + e.what());
            } catch (...) {
              m_job.log.error("another task failed too");
            }
          },
          sizes);
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard lock(m_wait_mutex);
    m_join_done.store(true);
    m_wake.notify_one();
  });

  // The writer: the listing in order, each file as soon as it is known.
  // A sink that throws must not leave the join running (nor its thread unjoined).
  try {
    for (FileIndex f : m_job.order) {
      const FileIndex primary = m_primary[f];
      if (!wait_for(primary)) {
        break;
      }
      bool more = true;
      if (m_state[primary].load() == k_done) {
        ++result.files_hashed;
        more = sink(f, m_digest[primary]);
      } else {
        FileError error = [&] {
          std::lock_guard lock(m_errors_mutex);
          return m_errors.at(primary);
        }();
        if (primary != f) {
          error.path = files.path(f);  // the same inode, named by this path
        }
        m_job.log.file_error(error);
        ++result.errors;
        more = sink(f, std::move(error));
      }
      if (!more) {
        result.stopped = true;
        m_stop.cancel();
        break;
      }
      if (m_job.cancel.cancelled()) {
        m_stop.cancel();
        break;
      }
    }
  } catch (...) {
    m_stop.cancel();
    join.join();
    throw;
  }
  if (m_job.cancel.cancelled()) {
    m_stop.cancel();
  }
  join.join();
  if (failure) {
    std::rethrow_exception(failure);
  }
  const std::uint64_t join_ns = since_ns(join_start);
  result.cancelled = m_job.cancel.cancelled();
  result.bytes_read = m_bytes_read.load();
  for (std::size_t p = 0; p < pools.size(); ++p) {
    const PhysicalDevice& device = devices.devices()[p];
    const PoolCounters& counters = pools.counters(p);
    const std::uint64_t busy = counters.busy_ns.load();
    const std::uint64_t available = static_cast<std::uint64_t>(sizes[p]) * join_ns;
    result.pools.push_back(PoolReport{.device = device.facts.name,
                                      .device_class = device.facts.device_class,
                                      .threads = device.threads,
                                      .files = counters.files.load(),
                                      .bytes_read = counters.bytes_read.load(),
                                      .busy_ns = busy,
                                      .idle_ns = available > busy ? available - busy : 0,
                                      .max_running = counters.max_running.load()});
  }
  result.elapsed_ns = since_ns(start);
  return result;
}

}  // namespace

std::vector<FileIndex> listing_order(const FileTable& files, ListOrder order, std::span<const FileIndex> chunk_starts) {
  std::vector<FileIndex> out(files.size());
  for (FileIndex f = 0; f < out.size(); ++f) {
    out[f] = f;
  }
  if (order == ListOrder::path) {
    std::stable_sort(out.begin(), out.end(), [&](FileIndex a, FileIndex b) { return files.compare_paths(a, b) < 0; });
    return out;
  }
  // The PATH a file came from, counted over every run of PATHs of the walk.
  const auto path_index = [&](FileIndex f) {
    const std::size_t chunk =
        chunk_starts.empty() ? 0
                             : static_cast<std::size_t>(std::upper_bound(chunk_starts.begin(), chunk_starts.end(), f) -
                                                        chunk_starts.begin()) -
                                   1;
    return chunk * (std::size_t{FileEntry::k_max_root} + 1) + files[f].root;
  };
  std::stable_sort(out.begin(), out.end(), [&](FileIndex a, FileIndex b) {
    const std::size_t x = path_index(a);
    const std::size_t y = path_index(b);
    if (x != y) {
      return x < y;
    }
    return files.compare_paths(a, b) < 0;
  });
  return out;
}

HashRunResult hash_in_order(const HashJob& job, const HashSink& sink) {
  HashRun run(job);
  return run.run(sink);
}

}  // namespace spindle
