// Size grouping, the stage kinds and the cache probe. The reads themselves run in pipeline.cpp.
#include <spindle/stages.hpp>

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <string>
#include <tuple>

namespace spindle {

void Candidates::add_group(std::span<const FileIndex> members, Digest hash) {
  files.insert(files.end(), members.begin(), members.end());
  starts.push_back(static_cast<std::uint32_t>(files.size()));
  hashes.push_back(hash);
}

namespace {

bool same_inode(const FileEntry& a, const FileEntry& b) {
  return a.device() == b.device() && a.ino == b.ino;
}

struct InodeKey {
  dev_t device;
  std::uint64_t ino;
  FileIndex file;
  bool operator<(const InodeKey& other) const {
    return std::tie(device, ino, file) < std::tie(other.device, other.ino, other.file);
  }
};

// Every file, by size, then in walk order. A size below 4 GiB and the file's index make one
// 8-byte key, and a million such keys sort several times faster than indices compared through
// their entries; the rare larger files are sorted apart and come last.
std::vector<FileIndex> size_order(const FileTable& files) {
  constexpr std::uint64_t k_key_sizes = std::uint64_t{1} << 32;
  std::vector<std::uint64_t> keys;
  keys.reserve(files.size());
  std::vector<FileIndex> large;
  for (FileIndex i = 0; i < files.size(); ++i) {
    const std::uint64_t size = files[i].size;
    if (size < k_key_sizes) {
      keys.push_back((size << 32) | i);
    } else {
      large.push_back(i);
    }
  }
  std::sort(keys.begin(), keys.end());
  std::sort(large.begin(), large.end(),
            [&](FileIndex a, FileIndex b) { return std::pair(files[a].size, a) < std::pair(files[b].size, b); });
  std::vector<FileIndex> order;
  order.reserve(files.size());
  for (std::uint64_t key : keys) {
    order.push_back(static_cast<FileIndex>(key));
  }
  order.insert(order.end(), large.begin(), large.end());
  return order;
}

}  // namespace

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

Candidates group_by_size(const FileTable& files, const Config& config) {
  std::vector<FileIndex> order = size_order(files);
  std::vector<InodeKey> run;
  // Within a size, order by inode so hard links sit together (read once in later stages).
  for (std::size_t begin = 0; begin < order.size();) {
    std::size_t end = begin + 1;
    while (end < order.size() && files[order[end]].size == files[order[begin]].size) {
      ++end;
    }
    if (end - begin > 1) {
      // The members' inodes copied out once: sorting them is then local, not a reach into two
      // entries per comparison.
      run.clear();
      for (std::size_t i = begin; i < end; ++i) {
        const FileEntry& entry = files[order[i]];
        run.push_back(InodeKey{entry.device(), entry.ino, order[i]});
      }
      std::sort(run.begin(), run.end());
      for (std::size_t i = begin; i < end; ++i) {
        order[i] = run[i - begin].file;
      }
    }
    begin = end;
  }
  run = {};
  // The groups are kept in place at the front of `order`, which becomes the result: not a second
  // array growing beside it (size_order's 8-byte keys are freed by now).
  Candidates out;
  std::size_t kept = 0;
  for (std::size_t begin = 0; begin < order.size();) {
    std::size_t end = begin + 1;
    while (end < order.size() && files[order[end]].size == files[order[begin]].size) {
      ++end;
    }
    std::span<const FileIndex> members(order.data() + begin, end - begin);
    if (holds_duplicates(members, files, config.hard_links)) {
      if (kept != begin) {
        std::copy(members.begin(), members.end(), order.begin() + static_cast<std::ptrdiff_t>(kept));
      }
      kept += end - begin;
      out.starts.push_back(static_cast<std::uint32_t>(kept));
      out.hashes.push_back(Digest{});
    }
    begin = end;
  }
  order.resize(kept);
  out.files = std::move(order);
  return out;
}

const char* stage_name(StageKind kind) {
  static constexpr const char* k_names[] = {"prefix", "suffix", "full"};
  return k_names[static_cast<std::size_t>(kind)];
}

bool stage_reads(StageKind kind, std::uint64_t size) {
  switch (kind) {
    case StageKind::prefix:
      return true;
    case StageKind::suffix:
    case StageKind::full:
      return size > k_whole_at_prefix;
  }
  return false;
}

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

}  // namespace spindle
