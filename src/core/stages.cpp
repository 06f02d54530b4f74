// The candidate pipeline. Each pass keeps only groups that can still hold duplicates:
//
//   walked files ──size──▶ equal sizes ──prefix──▶ equal first block ──suffix──▶ equal last block
//        ──full──▶ equal XXH3-128 of the whole content ──▶ duplicate groups
//
// A file of at most one block is hashed whole by its prefix read and skips the rest; files of at
// most two blocks skip the suffix read. Every pass that reads is one multi_scope join over the
// device pools; each distinct inode is read once, by the pool of the device it lives on, and the
// merge that follows (split by digest) runs on one thread.
#include <spindle/physical_order.hpp>
#include <spindle/read_ahead.hpp>
#include <spindle/stages.hpp>

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <string>

namespace spindle {

void Candidates::add_group(std::span<const FileIndex> members, Digest hash) {
  files.insert(files.end(), members.begin(), members.end());
  starts.push_back(static_cast<std::uint32_t>(files.size()));
  hashes.push_back(hash);
}

namespace {

bool same_inode(const FileEntry& a, const FileEntry& b) {
  return a.dev == b.dev && a.ino == b.ino;
}

// Enough copies for a group: two distinct inodes, or two paths when hard links count.
bool holds_duplicates(std::span<const FileIndex> members, const FileTable& files, bool hard_links) {
  if (members.size() < 2) {
    return false;
  }
  if (hard_links) {
    return true;
  }
  const FileEntry& first = files[members[0]];
  return std::any_of(members.begin() + 1, members.end(), [&](FileIndex f) { return !same_inode(files[f], first); });
}

}  // namespace

Candidates group_by_size(const FileTable& files, const Config& config) {
  std::vector<FileIndex> order(files.size());
  for (FileIndex i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  // Within a size, order by inode so hard links sit together (read once in later stages).
  std::sort(order.begin(), order.end(), [&](FileIndex a, FileIndex b) {
    const FileEntry& x = files[a];
    const FileEntry& y = files[b];
    return std::tie(x.size, x.dev, x.ino, a) < std::tie(y.size, y.dev, y.ino, b);
  });
  Candidates out;
  for (std::size_t begin = 0; begin < order.size();) {
    std::size_t end = begin + 1;
    while (end < order.size() && files[order[end]].size == files[order[begin]].size) {
      ++end;
    }
    std::span<const FileIndex> members(order.data() + begin, end - begin);
    if (holds_duplicates(members, files, config.hard_links)) {
      out.add_group(members);
    }
    begin = end;
  }
  return out;
}

bool stage_reads(StageKind kind, std::uint64_t size) {
  switch (kind) {
    case StageKind::prefix:
      return true;
    case StageKind::suffix:
      return size > 2 * k_block_size;
    case StageKind::full:
      return size > k_block_size;
  }
  return false;
}

namespace {

// Read size of whole-file hashing: 128 KiB reads already stream at page-cache speed, and every
// reader thread keeps one such buffer (16 threads: 2 MiB).
constexpr std::size_t k_full_read_bytes = 128 * 1024;

const char* stage_name(StageKind kind) {
  static constexpr const char* k_names[] = {"prefix", "suffix", "full"};
  return k_names[static_cast<int>(kind)];
}

std::uint64_t stage_offset(StageKind kind, std::uint64_t size) {
  return kind == StageKind::suffix ? size - k_block_size : 0;
}

std::uint64_t bytes_for_stage(StageKind kind, std::uint64_t size) {
  return kind == StageKind::full ? size : std::min(size, k_block_size);
}

// Read one file for `kind` and return its digest; the file's hash is complete when the read
// covered all of it. `opened` is the file's fd when ReadAhead opened it (holding a descriptor of
// the budget), else -1. After the read the file must still be the walked one: a file written to,
// truncated, renamed or deleted while it was read gives an error, not a digest that may mix old
// and new bytes, nor a report that lists a path that is gone.
Result<Digest> read_for_stage(StageKind kind, FileIndex f, Worker& worker, int opened, const StageContext& context) {
  const FileEntry& entry = context.files[f];
  const std::string path = context.files.path(f);
  const FileIdentity identity{entry.dev, entry.ino, entry.size, entry.mtime_ns, entry.ctime_ns};
  Result<InputFile> file = opened >= 0
                               ? InputFile::adopt(opened, path.c_str(), identity, context.descriptors, &context.cancel)
                               : InputFile::open(path.c_str(), identity, context.descriptors, &context.cancel);
  if (!file.ok()) {
    return std::move(file).error();
  }
  Result<Digest> digest = [&]() -> Result<Digest> {
    switch (kind) {
      case StageKind::prefix:
        return file->hash_range(0, std::min(entry.size, k_block_size), worker.buffer(k_block_size));
      case StageKind::suffix:
        return file->hash_range(entry.size - k_block_size, k_block_size, worker.buffer(k_block_size));
      case StageKind::full:
        return file->hash_all(entry.size, worker.buffer(k_full_read_bytes), false);
    }
    return FileError{path, 0, "internal", "unknown stage"};
  }();
  if (!digest.ok()) {
    return digest;
  }
  if (context.observer != nullptr) {
    context.observer->after_read(kind, f);
  }
  if (std::optional<FileError> changed = file->check_unchanged()) {
    return std::move(*changed);
  }
  return digest;
}

// Does the read of `kind` cover the whole file, so that its digest is the file's hash?
bool completes_hash(StageKind kind, std::uint64_t size) {
  return kind == StageKind::full || size <= k_block_size;
}

// A single reader keeps this much announced ahead of it (ReadAhead): enough requests for the
// device to sort and merge, little enough that the pages are still cached when read.
constexpr std::size_t k_read_ahead_files = 32;
constexpr std::uint64_t k_read_ahead_bytes = 8 * 1024 * 1024;

}  // namespace

std::optional<double> stage_cache_hits(StageKind kind, const FileTable& files, std::span<const FileIndex> sample) {
  std::size_t probes = 0;
  std::size_t hits = 0;
  for (FileIndex f : sample) {
    const FileEntry& entry = files[f];
    int fd = open_for_reading(files.path(f).c_str());
    if (fd < 0) {
      continue;  // the stage will report it; it says nothing about the cache
    }
    char byte = 0;
    struct iovec io {
      &byte, 1
    };
    // The offset the stage reads first, and for whole-file reads also the middle. A read that
    // would wait is a miss (EAGAIN); any other failure means this file cannot tell.
    enum class Probe { hit, miss, unknown } probe = Probe::hit;
    for (std::uint64_t offset : {stage_offset(kind, entry.size), kind == StageKind::full ? entry.size / 2 : 0}) {
      if (probe == Probe::hit && ::preadv2(fd, &io, 1, static_cast<off_t>(offset), RWF_NOWAIT) < 0) {
        probe = errno == EAGAIN ? Probe::miss : Probe::unknown;
      }
    }
    ::close(fd);
    if (probe != Probe::unknown) {
      ++probes;
      hits += probe == Probe::hit ? 1 : 0;
    }
  }
  if (probes == 0) {
    return std::nullopt;
  }
  return static_cast<double>(hits) / static_cast<double>(probes);
}

int stage_team_size(int configured, bool adaptive, int cached_threads, std::optional<double> hits) {
  if (!adaptive || configured <= cached_threads || !hits || *hits < k_cached_enough) {
    return configured;
  }
  return cached_threads;
}

namespace {

using Position = std::uint32_t;  // a place in Candidates::files

// Each pool's team size for this stage: the configured size for its kind of read, or one reader
// per CPU where a sample of the stage's first reads is already cached (stage_team_size).
std::vector<int> stage_team_sizes(StageKind kind, const Candidates& input,
                                  const std::vector<std::vector<Position>>& readers, const StageContext& context) {
  std::span<const int> configured = kind == StageKind::full ? context.large_threads : context.small_threads;
  std::vector<int> sizes(configured.begin(), configured.end());
  for (std::size_t p = 0; p < sizes.size(); ++p) {
    if (context.cache_adaptive[p] == 0 || sizes[p] <= context.cached_threads || readers[p].empty()) {
      continue;
    }
    std::vector<FileIndex> sample;
    for (std::size_t i = 0; i < readers[p].size(); i += std::max<std::size_t>(1, readers[p].size() / 16)) {
      sample.push_back(input.files[readers[p][i]]);
    }
    // A few misses are normal on a warm cache (the kernel reclaims cold pages); a read that
    // waits now and then costs less than the contention of many threads on two cores.
    const std::optional<double> hits = stage_cache_hits(kind, context.files, sample);
    sizes[p] = stage_team_size(sizes[p], true, context.cached_threads, hits);
    context.log.debug("pool " + escape_for_terminal(context.pools.spec(p).name) + ": " +
                      (hits ? std::to_string(static_cast<int>(*hits * 100)) + "% of the sample cached, "
                            : std::string("the filesystem cannot tell what is cached, ")) +
                      std::to_string(sizes[p]) + " threads for this stage");
  }
  return sizes;
}

// Fit the stage's readers into the descriptor budget (fit_descriptors): shortens read-ahead
// windows, then lowers `sizes`. Returns each pool's read-ahead depth (0 for a pool of several
// threads, which reads without a window).
std::vector<std::size_t> fit_to_descriptors(StageKind kind, const std::vector<std::vector<Position>>& readers,
                                            std::vector<int>& sizes, const StageContext& context) {
  const std::size_t pools = sizes.size();
  std::vector<int> busy(pools, 0);  // readers that can hold a file at once: no more than files
  std::vector<std::size_t> ahead(pools, 0);
  for (std::size_t p = 0; p < pools; ++p) {
    if (!readers[p].empty()) {
      busy[p] = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(sizes[p]), readers[p].size()));
      ahead[p] = sizes[p] == 1 ? std::min(k_read_ahead_files, readers[p].size() - 1) : 0;
    }
  }
  if (context.descriptors == nullptr) {
    return ahead;
  }
  std::vector<int> fitted = busy;
  std::vector<std::size_t> fitted_ahead = ahead;
  const std::size_t budget = context.descriptors->capacity();
  if (!fit_descriptors(fitted, fitted_ahead, budget)) {
    return ahead;
  }
  std::string shrunk;
  for (std::size_t p = 0; p < pools; ++p) {
    const std::string pool = "; pool " + context.pools.spec(p).name + ": ";
    if (fitted_ahead[p] < ahead[p]) {
      shrunk += pool + "read-ahead " + std::to_string(ahead[p]) + " -> " + std::to_string(fitted_ahead[p]) + " files";
    }
    if (fitted[p] < busy[p]) {
      shrunk += pool + std::to_string(sizes[p]) + " -> " + std::to_string(fitted[p]) + " threads";
      sizes[p] = fitted[p];
    }
  }
  context.log.info("descriptor limit leaves " + std::to_string(budget) + " files open for reading; " +
                   stage_name(kind) + " stage" + shrunk);
  return fitted_ahead;
}

}  // namespace

Candidates run_stage(StageKind kind, const Candidates& input, const StageContext& context, StageState& state) {
  const FileTable& files = context.files;
  const std::size_t pools = context.pools.size();

  // One reader per distinct inode (members of a group are sorted by inode), bucketed by pool.
  // Readers and results are positions in input.files, so per-stage state is sized by the
  // candidates, not by every file walked.
  std::vector<std::vector<Position>> readers(pools);
  std::uint64_t files_total = 0;
  std::uint64_t bytes_total = 0;
  for (std::size_t g = 0; g < input.groups(); ++g) {
    if (!stage_reads(kind, files[input.files[input.starts[g]]].size)) {
      continue;
    }
    for (Position i = input.starts[g]; i < input.starts[g + 1]; ++i) {
      FileIndex f = input.files[i];
      if (i == input.starts[g] || !same_inode(files[f], files[input.files[i - 1]])) {
        readers[context.pool_of_file[f]].push_back(i);
        ++files_total;
        bytes_total += bytes_for_stage(kind, files[f].size);
      }
    }
  }
  context.progress.begin_stage(stage_name(kind), files_total, bytes_total);

  std::vector<int> sizes = stage_team_sizes(kind, input, readers, context);
  std::vector<std::size_t> ahead = fit_to_descriptors(kind, readers, sizes, context);

  // Per position: read, failed, or neither (the stage was cancelled before its turn). Only a
  // read file can be merged into a group.
  enum : std::uint8_t { k_unread = 0, k_read = 1, k_failed = 2 };
  std::vector<Digest> digest(input.files.size());
  std::vector<std::uint8_t> status(input.files.size(), k_unread);
  std::mutex error_mutex;
  std::atomic<std::uint64_t> bytes_read{0};

  // `reader_ahead`, for a pool's single reader, opens and announces the next files of `batch`.
  auto read_batch = [&](std::span<const Position> batch, Worker& worker, ReadAhead* reader_ahead) {
    PoolCounters& counters = context.pools.counters(static_cast<std::size_t>(worker.pool_index()));
    std::uint64_t bytes = 0;
    std::uint64_t done = 0;
    for (std::size_t k = 0; k < batch.size() && !context.cancel.cancelled(); ++k) {
      const Position at = batch[k];
      FileIndex f = input.files[at];
      const int opened = reader_ahead != nullptr ? reader_ahead->take(k) : -1;
      Result<Digest> result = read_for_stage(kind, f, worker, opened, context);
      if (result.ok()) {
        digest[at] = *result;
        status[at] = k_read;
        bytes += bytes_for_stage(kind, files[f].size);
      } else if (result.error().errnum == ECANCELED && context.cancel.cancelled()) {
        break;  // not the file's fault: it stays unread
      } else {
        status[at] = k_failed;
        context.log.file_error(result.error());
        std::lock_guard lock(error_mutex);
        state.errors.push_back(std::move(result).error());
      }
      ++done;
    }
    context.progress.add(done, bytes);
    counters.files.fetch_add(done, std::memory_order_relaxed);
    counters.bytes_read.fetch_add(bytes, std::memory_order_relaxed);
    bytes_read.fetch_add(bytes, std::memory_order_relaxed);
  };

  context.pools.multi_scope(
      context.cancel,
      [&](std::span<Scope> scopes) {
        for (std::size_t p = 0; p < pools; ++p) {
          std::vector<Position>& list = readers[p];
          if (list.empty()) {
            continue;
          }
          Scope& scope = scopes[p];
          if (scope.threads() == 1) {
            // One reader: keep the head moving forward. The ordering runs on the pool's own
            // thread (it does I/O too), and physical offsets are worth their extra open only
            // before the long reads of the suffix and full stages. ReadAhead queues the next
            // reads in that order, so the device is not idle while the reader hashes.
            const std::size_t depth = ahead[p];
            scope.spawn([&read_batch, &files, &input, &list, &context, kind, depth](Worker& worker) {
              std::vector<FileIndex> ids(list.size());
              for (std::size_t i = 0; i < list.size(); ++i) {
                ids[i] = input.files[list[i]];
              }
              std::vector<Position> ordered(list.size());
              std::vector<std::uint32_t> order = single_reader_order(ids, files, kind != StageKind::prefix);
              for (std::size_t i = 0; i < order.size(); ++i) {
                ordered[i] = list[order[i]];
              }
              if (depth == 0) {
                read_batch(ordered, worker, nullptr);  // no descriptor to spare for a window
                return;
              }
              ReadAhead reader_ahead(
                  ordered.size(),
                  [&](std::size_t k) {
                    const FileIndex f = input.files[ordered[k]];
                    const std::uint64_t size = files[f].size;
                    return ReadHint{files.path(f), stage_offset(kind, size),
                                    std::min(bytes_for_stage(kind, size), k_read_ahead_bytes)};
                  },
                  depth, k_read_ahead_bytes, context.descriptors);
              read_batch(ordered, worker, &reader_ahead);
            });
            continue;
          }
          // Batches small enough to balance the pool's threads, large enough that queueing
          // costs nothing next to the reads.
          std::size_t per_thread = list.size() / (static_cast<std::size_t>(scope.threads()) * 8) + 1;
          std::size_t batch = std::clamp<std::size_t>(per_thread, 1, kind == StageKind::full ? 16 : 256);
          for (std::size_t begin = 0; begin < list.size(); begin += batch) {
            std::span<const Position> part(list.data() + begin, std::min(batch, list.size() - begin));
            scope.spawn([&read_batch, part](Worker& worker) { read_batch(part, worker, nullptr); });
          }
        }
      },
      [&](const std::exception_ptr& extra) {
        try {
          std::rethrow_exception(extra);
        } catch (const std::exception& e) {
          context.log.error("another task failed too: " + escape_for_terminal(e.what()));
        } catch (...) {
          context.log.error("another task failed too");
        }
      },
      sizes);
  state.bytes_read += bytes_read.load();
  state.threads_used.assign(pools, 0);
  for (std::size_t p = 0; p < pools; ++p) {
    state.threads_used[p] = readers[p].empty() ? 0 : context.pools.last_team_sizes()[p];
  }
  if (context.cancel.cancelled()) {
    return Candidates{};  // some reads never ran: nothing of this stage may reach a report
  }

  // Merge (one thread): hard links take their inode's digest, then split groups by digest.
  Candidates out;
  std::vector<Position> members;
  for (std::size_t g = 0; g < input.groups(); ++g) {
    if (!stage_reads(kind, files[input.files[input.starts[g]]].size)) {
      out.add_group(input.group(g), input.hashes[g]);
      continue;
    }
    members.clear();
    for (Position i = input.starts[g]; i < input.starts[g + 1]; ++i) {
      if (i > input.starts[g] && same_inode(files[input.files[i]], files[input.files[i - 1]])) {
        digest[i] = digest[i - 1];
        status[i] = status[i - 1];
      }
      if (status[i] == k_unread) {
        throw std::logic_error("run_stage: " + files.path(input.files[i]) + " was neither read nor failed");
      }
      if (status[i] == k_read) {
        members.push_back(i);
      }
    }
    std::stable_sort(members.begin(), members.end(), [&](Position a, Position b) { return digest[a] < digest[b]; });
    // A read that covered the whole file (full stage, or a prefix of a small file) is its hash.
    const bool complete = completes_hash(kind, files[input.files[input.starts[g]]].size);
    std::vector<FileIndex> part;
    for (std::size_t begin = 0; begin < members.size();) {
      std::size_t end = begin + 1;
      while (end < members.size() && digest[members[end]] == digest[members[begin]]) {
        ++end;
      }
      part.clear();
      for (std::size_t i = begin; i < end; ++i) {
        part.push_back(input.files[members[i]]);
      }
      if (holds_duplicates(part, files, context.config.hard_links)) {
        out.add_group(part, complete ? digest[members[begin]] : Digest{});
      }
      begin = end;
    }
  }
  return out;
}

}  // namespace spindle
