#pragma once

#include <spindle/cancel.hpp>
#include <spindle/hash.hpp>
#include <spindle/hash_algo.hpp>
#include <spindle/log.hpp>
#include <spindle/stage_kind.hpp>

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

struct sqlite3;

namespace spindle {

class DeviceIds;

// The default database: $XDG_CACHE_HOME/spindle/hashes.sqlite, else ~/.cache/spindle/hashes.sqlite
// (a relative XDG_CACHE_HOME is ignored, as the XDG spec says).
std::filesystem::path default_cache_path();
// The database a run uses: `chosen` (--cache-path) when given, else default_cache_path().
std::filesystem::path cache_location(std::string_view chosen);

// The identity and state of one file as a cache key. `device` is an index into the devices given
// to HashCache::load. An entry is used only when every field equals the stored one (ctime
// excepted when ctime is ignored).
struct CacheKey {
  std::uint32_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  StageKind stage = StageKind::full;
};

// What `spindle cache stats` shows.
struct CacheSummary {
  std::filesystem::path path;
  std::uint64_t entries = 0;     // distinct (device, algorithm, inode, stage)
  std::uint64_t files = 0;       // distinct (device, inode)
  std::uint64_t disk_bytes = 0;  // the database and its WAL
  int schema_version = 0;
};

// The persistent hash cache: an SQLite database in WAL mode (several spindle processes may use
// one at once; a crash loses at most the last unflushed batch, never the database).
//
// A run loads the entries of its algorithm on its devices into memory once (load), then looks
// them up from any thread without a lock or a query (lookup), and records new digests into a
// buffer written one transaction per batch (record, flush).
//
// On disk, a batch becomes one row per directory it touched (a "segment": the packed entries of
// that directory's files, with one checksum over the segment and its place), not one row per
// file: a first run over 100k small files writes a few hundred rows instead of 100k, which is
// what makes it cost no more than a run without the cache. Segments are only ever appended (no
// read-modify-write, so two processes writing at once cannot lose each other's entries); a newer
// entry for the same file at the same path supersedes an older one when loaded, and prune drops
// what is superseded or stale. A segment whose checksum does not match is never used.
class HashCache {
 public:
  // Opens the database at `path`, creating it (0600, and its directory 0700 when spindle creates
  // it). A file that is not a database, a spindle cache that is damaged or of another schema
  // version, or another program's SQLite database is moved aside (to `path`.corrupt, with its
  // WAL: nothing is deleted) with one warning, and a new cache is made in its place. A directory
  // or a location that cannot be written: one warning and nullptr (the run goes on without a
  // cache). Never throws for these.
  static std::unique_ptr<HashCache> open(const std::filesystem::path& path, Logger& log);
  ~HashCache();  // flushes what is pending (warning on failure)
  HashCache(const HashCache&) = delete;
  HashCache& operator=(const HashCache&) = delete;

  const std::filesystem::path& path() const { return m_path; }

  // Loads every entry of `algo` on `devices` (stable device ids, see DeviceIds) for lookup;
  // CacheKey::device indexes `devices`. Rows of other algorithms or devices stay on disk.
  void load(HashAlgo algo, std::span<const std::string> devices);
  // The digest recorded for `key` (loaded entries only), or nullopt. Thread-safe, lock-free.
  std::optional<Digest> lookup(const CacheKey& key, bool ignore_ctime) const;
  // Nothing loaded (a first run): no lookup can hit.
  bool empty() const { return m_loaded.empty(); }
  // Was `key`'s entry recorded with a different ctime (renamed or re-linked: an ignore-ctime hit)?
  bool ctime_differs(const CacheKey& key) const;
  // Records the digest for `key` of the file `name` in the directory `dir` (absolute, as a
  // FileTable prefix: ending in '/'), superseding the entry recorded for the same inode, stage
  // and path; the path is stored for prune. Buffered: a full batch is written by a writer
  // thread, the rest by flush(). Thread-safe; never waits for the database.
  void record(const CacheKey& key, std::string_view dir, std::string_view name, const Digest& digest);
  // The same with the whole (absolute) path.
  void record(const CacheKey& key, std::string_view path, const Digest& digest);
  // Writes everything recorded so far (returns when it is in the database), one transaction
  // per batch. A database that is busy longer than the busy
  // timeout or fails: one warning, the batch is dropped (the cache only misses later).
  void flush();

  // The maintenance commands' view; they throw Fatal when the database cannot be read or written.
  CacheSummary summary();
  // Deletes entries whose path no longer names the file recorded (gone, or another device,
  // inode, size, mtime or, unless `ignore_ctime`, ctime). Returns the number deleted.
  std::uint64_t prune(DeviceIds& ids, bool ignore_ctime, const CancelToken& cancel);
  // Deletes every entry. Returns the number deleted.
  std::uint64_t clear();

  // Write transactions so far (for tests: batching means one per k_batch records).
  std::uint64_t transactions() const { return m_transactions.load(); }

  // Files per write transaction: one fsync-free WAL commit (one segment per directory) per this
  // many files. Large, so that a directory's files land in few segments; a pending entry takes
  // ~50 bytes (encoded), so a batch holds ~3 MiB.
  static constexpr std::size_t k_batch = 65536;
  // WAL pages (4 KiB) after which a write checkpoints: every 64 MiB instead of SQLite's default
  // 4 MiB (a cold run over 100k small files took 2.5x as long with the default).
  static constexpr int k_checkpoint_pages = 16384;

 private:
  struct Loaded {
    std::uint64_t inode;
    std::uint32_t device;
    std::uint8_t stage;
    std::uint64_t size;
    std::int64_t mtime_ns;
    std::int64_t ctime_ns;
    Digest digest;
    std::uint64_t place;   // a hash of the directory and name it was recorded under
    std::int64_t segment;  // the segment's row id: a higher one is newer
  };
  static constexpr std::uint32_t k_none = UINT32_MAX;
  // What one directory on one device has recorded since the last batch: its entries already
  // encoded (append_segment_entry) by the threads that recorded them, so a batch is written
  // without sorting, regrouping or encoding anything.
  struct Segment {
    std::uint32_t dir;     // index into m_dirs
    std::uint32_t device;  // CacheKey::device
    std::uint64_t count = 0;
    std::string entries;
    std::uint32_t next = k_none;  // the same directory's segment of another device
  };
  // A batch: the segments that had entries, each with its directory (m_dirs' elements never move).
  struct Written {
    const std::string* dir;
    std::uint32_t device;
    std::uint64_t count;
    std::string entries;
  };
  using Batch = std::vector<Written>;
  HashCache(std::filesystem::path path, sqlite3* db, Logger& log) : m_path(std::move(path)), m_db(db), m_log(log) {}
  // The loaded entries of key's device, inode and stage (newest first).
  std::span<const Loaded> find(const CacheKey& key) const;
  void write(Batch& batch);
  Batch take_pending();  // with m_pending_mutex held
  void disable(std::string_view what);
  // Copies the WAL into the database, synced (the writes before it are not).
  void checkpoint();
  // sqlite3_wal_hook: the WAL's size in pages after each commit.
  static int count_wal_pages(void* cache, sqlite3* db, const char* name, int pages);
  [[noreturn]] void fail(std::string_view what);  // a maintenance command cannot go on: Fatal

  std::filesystem::path m_path;
  sqlite3* m_db;
  Logger& m_log;
  HashAlgo m_algo = HashAlgo::xxh128;
  std::vector<std::string> m_devices;
  std::vector<Loaded> m_loaded;  // sorted by (inode, device, stage, newest first); immutable after load
  void write_queued();           // the writer thread

  std::mutex m_pending_mutex;  // guards m_dirs, m_segments, m_pending, m_queue, m_writing, m_stop
  // Every directory recorded into, once (deque: elements never move, so the views stay valid),
  // and the index of its first segment in m_segments.
  std::deque<std::string> m_dirs;
  std::unordered_map<std::string_view, std::uint32_t> m_dir_index;
  std::vector<std::uint32_t> m_first_segment;
  std::vector<Segment> m_segments;
  std::size_t m_pending = 0;       // entries in m_segments
  std::deque<Batch> m_queue;       // full batches for the writer thread
  std::condition_variable m_wake;  // a batch was queued, or stop
  std::condition_variable m_idle;  // the writer finished a batch
  bool m_writing = false;
  bool m_stop = false;
  std::thread m_writer;  // started with the first full batch
  std::atomic<std::uint64_t> m_transactions{0};
  std::mutex m_db_mutex;  // one connection: one statement at a time
  bool m_broken = false;  // a write failed: no more writes this run (guarded by m_db_mutex)
  int m_wal_pages = 0;    // the WAL's size at the last commit (guarded by m_db_mutex)
};

// A stable name for the filesystem of one st_dev, the device part of cache keys: st_dev numbers
// may change across reboots and hot-plugs, a filesystem UUID does not.
class DeviceIds {
 public:
  DeviceIds();
  // "uuid:<UUID>" (udev's ID_FS_UUID of the block device, or /dev/disk/by-uuid); for btrfs,
  // whose subvolumes share the UUID but not inode numbers, and for ext2/3/4, whose statfs f_fsid
  // is derived from the UUID, "fsid:<type>:<f_fsid>"; otherwise "mount:<type>:<source>:<mount
  // point>", which a different filesystem mounted at the same place from the same source would
  // share (its entries then still need the same inode, size and nanosecond mtime and ctime).
  std::string id_of(dev_t st_dev);

 private:
  struct Known {
    dev_t st_dev;
    std::string id;
  };
  std::vector<Known> m_known;
  std::vector<std::pair<dev_t, std::string>> m_by_uuid;  // /dev/disk/by-uuid, read once
  bool m_by_uuid_read = false;
};

}  // namespace spindle
