#pragma once

#include <spindle/cache.hpp>
#include <spindle/hash_algo.hpp>
#include <spindle/reader.hpp>

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace spindle {

// A FileReader in front of another one and a HashCache: a file whose entry matches (device,
// inode, size, mtime, ctime unless ignored, algorithm, stage) is answered from the cache without
// being opened, so its content is not read and its access time not touched; any other file is
// read by the inner reader and its digest recorded. Used by `group` (xxh128) and, with the
// algorithm of its listing, by `hash`: whatever wraps its reader in one gets the cache.
class CachingReader : public FileReader {
 public:
  // Loads the cache's entries of `algo` on `devices` (the st_dev of every file that may be read;
  // a file on another device is read and not cached). Relative paths are recorded under the
  // current directory (prune needs to find them again).
  CachingReader(FileReader& inner, HashCache& cache, HashAlgo algo, bool ignore_ctime,
                std::span<const std::uint64_t> devices, DeviceIds& ids);

  Result<Digest> read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                      const CancelToken& cancel, FdBudget* descriptors) override;
  std::optional<Digest> known(StageKind kind, const FileTable& files, FileIndex f) override;
  // Pieces go to the inner reader (one miss per file, counted at its first piece); the digest of
  // the last piece, the whole content's, is recorded as the file's full-stage entry.
  bool reads_parts() const override { return m_inner.reads_parts(); }
  Result<Digest> read_part(const FileTable& files, FileIndex f, StreamingHash& hash, std::uint64_t offset,
                           std::uint64_t length, Worker& worker, int opened, const CancelToken& cancel,
                           FdBudget* descriptors) override;

  // Reads answered from the cache, and reads passed to the inner reader (whatever their outcome).
  std::uint64_t hits() const { return m_hits.load(std::memory_order_relaxed); }
  std::uint64_t misses() const { return m_misses.load(std::memory_order_relaxed); }
  // Content bytes the inner reader read successfully (cache hits read none).
  std::uint64_t bytes_read() const { return m_bytes_read.load(std::memory_order_relaxed); }

 private:
  std::optional<CacheKey> key_of(StageKind kind, const FileTable& files, FileIndex f) const;
  std::optional<Digest> hit(const CacheKey& key, const FileTable& files, FileIndex f);
  void record(const CacheKey& key, const FileTable& files, FileIndex f, const Digest& digest);

  FileReader& m_inner;
  HashCache& m_cache;
  bool m_ignore_ctime;
  std::vector<std::uint64_t> m_devices;  // sorted; CacheKey::device is the index here
  std::string m_cwd;                     // with a trailing '/'
  std::atomic<std::uint64_t> m_hits{0};
  std::atomic<std::uint64_t> m_misses{0};
  std::atomic<std::uint64_t> m_bytes_read{0};
};

class Logger;
struct Config;

// The persistent cache of one run (group or hash), when config.cache asks for it: opened once
// the walk has found the run's `devices` (only their entries are loaded), in front of `inner`.
// reader() is what the run reads through: the CachingReader, or `inner` itself without --cache
// (or when the cache cannot be used: HashCache::open has warned). Pending entries are written
// when this goes out of scope, however the run ends (an interrupted run keeps them).
class RunCache {
 public:
  RunCache(const Config& config, FileReader& inner, HashAlgo algo, std::span<const std::uint64_t> devices, Logger& log);
  RunCache(const RunCache&) = delete;
  RunCache& operator=(const RunCache&) = delete;

  FileReader& reader() { return m_caching ? static_cast<FileReader&>(*m_caching) : m_inner; }
  bool used() const { return m_caching.has_value(); }
  std::uint64_t hits() const { return m_caching ? m_caching->hits() : 0; }
  std::uint64_t misses() const { return m_caching ? m_caching->misses() : 0; }

 private:
  FileReader& m_inner;
  std::unique_ptr<HashCache> m_cache;  // declared before the reader that uses it: outlives it
  DeviceIds m_ids;
  std::optional<CachingReader> m_caching;
};

}  // namespace spindle
