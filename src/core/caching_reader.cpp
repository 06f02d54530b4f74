#include <spindle/caching_reader.hpp>
#include <spindle/config.hpp>
#include <spindle/fd_budget.hpp>
#include <spindle/log.hpp>
#include <spindle/stage_kind.hpp>

#include <climits>

#include <unistd.h>

#include <algorithm>
#include <string>

namespace spindle {

CachingReader::CachingReader(FileReader& inner, HashCache& cache, HashAlgo algo, bool ignore_ctime,
                             std::span<const std::uint64_t> devices, DeviceIds& ids)
    : m_inner(inner), m_cache(cache), m_ignore_ctime(ignore_ctime), m_devices(devices.begin(), devices.end()) {
  std::sort(m_devices.begin(), m_devices.end());
  m_devices.erase(std::unique(m_devices.begin(), m_devices.end()), m_devices.end());
  std::vector<std::string> names;
  names.reserve(m_devices.size());
  for (std::uint64_t device : m_devices) {
    names.push_back(ids.id_of(device));
  }
  m_cache.load(algo, names);
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof(cwd)) != nullptr) {
    m_cwd = cwd;
    if (m_cwd.back() != '/') {
      m_cwd += '/';
    }
  }
}

std::optional<CacheKey> CachingReader::key_of(StageKind kind, const FileTable& files, FileIndex f) const {
  const FileEntry& entry = files[f];
  const std::uint64_t device = entry.device();
  auto it = std::lower_bound(m_devices.begin(), m_devices.end(), device);
  if (it == m_devices.end() || *it != device) {
    return std::nullopt;
  }
  // A prefix read of a file of two blocks hashes all of it, as a full read would: its entry is
  // the full one (which a cache written before such reads took the whole file also holds), never
  // a prefix entry, which there is the digest of the first block only. Files of at most one block
  // keep their prefix entries, as they always had them.
  const bool whole =
      kind == StageKind::prefix && entry.size > k_block_size && stage_hashes_whole_file(kind, entry.size);
  return CacheKey{.device = static_cast<std::uint32_t>(it - m_devices.begin()),
                  .inode = entry.ino,
                  .size = entry.size,
                  .mtime_ns = entry.mtime_ns,
                  .ctime_ns = entry.ctime_ns,
                  .stage = whole ? StageKind::full : kind};
}

void CachingReader::record(const CacheKey& key, const FileTable& files, FileIndex f, const Digest& digest) {
  // The directory as the table holds it (shared by its files: no string is built per file),
  // under the current directory when relative (prune needs to find the file again).
  const std::string_view dir = files.directory(f);
  if (!dir.empty() && dir.front() == '/') {
    m_cache.record(key, dir, files.name(f), digest);
  } else {
    m_cache.record(key, m_cwd + std::string(dir), files.name(f), digest);
  }
}

std::optional<Digest> CachingReader::hit(const CacheKey& key, const FileTable& files, FileIndex f) {
  std::optional<Digest> digest = m_cache.lookup(key, m_ignore_ctime);
  if (!digest) {
    return std::nullopt;
  }
  m_hits.fetch_add(1, std::memory_order_relaxed);
  if (m_ignore_ctime && m_cache.ctime_differs(key)) {
    // Renamed, moved or re-linked since it was recorded: keep the entry, with the path and ctime
    // of now, so prune finds the file where it is.
    record(key, files, f, *digest);
  }
  return digest;
}

std::optional<Digest> CachingReader::known(StageKind kind, const FileTable& files, FileIndex f) {
  if (m_cache.empty()) {
    return std::nullopt;  // a first run: not even the file's entry is looked at
  }
  std::optional<CacheKey> key = key_of(kind, files, f);
  return key ? hit(*key, files, f) : std::nullopt;
}

Result<Digest> CachingReader::read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                                   const CancelToken& cancel, FdBudget* descriptors) {
  std::optional<CacheKey> key = key_of(kind, files, f);
  if (key && !m_cache.empty()) {
    if (std::optional<Digest> digest = hit(*key, files, f)) {
      if (opened >= 0) {
        // A read-ahead opened it: the reader owns that descriptor and its share of the budget.
        ::close(opened);
        if (descriptors != nullptr) {
          descriptors->release();
        }
      }
      return *digest;
    }
  }
  m_misses.fetch_add(1, std::memory_order_relaxed);
  Result<Digest> digest = m_inner.read(kind, files, f, worker, opened, cancel, descriptors);
  if (digest.ok()) {
    m_bytes_read.fetch_add(bytes_for_stage(kind, files[f].size), std::memory_order_relaxed);
    if (key) {
      record(*key, files, f, *digest);
    }
  }
  return digest;
}

Result<Digest> CachingReader::read_part(const FileTable& files, FileIndex f, StreamingHash& hash, std::uint64_t offset,
                                        std::uint64_t length, Worker& worker, int opened, const CancelToken& cancel,
                                        FdBudget* descriptors) {
  if (offset == 0) {
    m_misses.fetch_add(1, std::memory_order_relaxed);
  }
  Result<Digest> digest = m_inner.read_part(files, f, hash, offset, length, worker, opened, cancel, descriptors);
  if (digest.ok()) {
    m_bytes_read.fetch_add(length, std::memory_order_relaxed);
    if (offset + length == files[f].size) {
      if (std::optional<CacheKey> key = key_of(StageKind::full, files, f)) {
        record(*key, files, f, *digest);
      }
    }
  }
  return digest;
}

RunCache::RunCache(const Config& config, FileReader& inner, HashAlgo algo, std::span<const std::uint64_t> devices,
                   Logger& log)
    : m_inner(inner), m_cache(config.cache ? HashCache::open(cache_location(config.cache_path), log) : nullptr) {
  if (m_cache) {
    m_caching.emplace(inner, *m_cache, algo, config.cache_ignore_ctime, devices, m_ids);
  }
}

}  // namespace spindle
