// The persistent hash cache: opening (and rebuilding what is damaged), loading, lookup, batched
// writes.
//
// Why SQLite: WAL mode lets several spindle processes read and write one cache at once (readers
// never block, writers take turns under a busy timeout), a crash or kill leaves the last committed
// transaction intact, and the file format is stable and inspectable with the sqlite3 tool.
//
// Why load into memory: a run looks up every candidate file once per stage from many pool threads.
// Entries of the run's devices and algorithm are read in one scan into a sorted vector, then
// looked up with a binary search, no lock and no query. Measured on 100k entries (2 cores): the
// scan takes 95-210 ms; the same rows fetched by 100k primary-key lookups took 8x the time of
// one scan (and would serialize the pool threads on the one connection).
#include "cache_sqlite.hpp"

#include <spindle/cache.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <utility>

namespace spindle {

using namespace cache_detail;

namespace {

// How long a writer waits for another process's transaction. Batches take milliseconds; a minute
// covers a slow disk and a long prune, and a run that still finds it busy only loses that batch.
constexpr int k_busy_timeout_ms = 60'000;

// devices: the stable device ids (see DeviceIds) a segment's small integer stands for.
// segments: one row per directory and write transaction; `entries` is the packed entries of
// that directory's files (encode_segment), `checksum` covers them with the device id, algorithm
// and directory (segment_checksum). The row id orders segments: a higher one is newer.
const char* const k_schema = R"(
CREATE TABLE IF NOT EXISTS devices(
  id INTEGER PRIMARY KEY,
  key BLOB NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS segments(
  id INTEGER PRIMARY KEY,
  device INTEGER NOT NULL,
  algo INTEGER NOT NULL,
  dir BLOB NOT NULL,
  entries BLOB NOT NULL,
  checksum INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_by_place ON segments(device, algo, dir);
)";

std::string shown(const std::filesystem::path& path) {
  return escape_for_terminal(path.string());
}

std::string home_directory() {
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    return home;
  }
  return "/";
}

// mkdir -p with 0700 for every directory made: the cache says which files exist and when they
// changed, which is nobody else's business.
bool make_private_directories(const std::filesystem::path& dir, std::string& error) {
  if (dir.empty()) {
    return true;
  }
  struct stat info {};
  if (::stat(dir.c_str(), &info) == 0) {
    if (!S_ISDIR(info.st_mode)) {
      error = shown(dir) + ": not a directory";
      return false;
    }
    return true;
  }
  if (dir.has_parent_path() && dir.parent_path() != dir && !make_private_directories(dir.parent_path(), error)) {
    return false;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    error = shown(dir) + ": cannot create directory: " + std::strerror(errno);
    return false;
  }
  return true;
}

enum class OpenStatus { ok, damaged, foreign, newer, failed };
struct Opened {
  sqlite3* db = nullptr;
  OpenStatus status = OpenStatus::failed;
  std::string reason;
  int rebuilt_from = 0;  // the older schema version replaced, if any
};

bool exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

std::optional<std::int64_t> pragma_value(sqlite3* db, const char* sql, int& status) {
  Statement statement(db, sql);
  status = statement.status();
  if (!statement.ok()) {
    return std::nullopt;
  }
  status = statement.step();
  if (status != SQLITE_ROW) {
    return std::nullopt;
  }
  status = SQLITE_OK;
  return statement.integer(0);
}

bool is_damage(int status) {
  const int primary = status & 0xff;
  return primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT || primary == SQLITE_FORMAT;
}

// Open `path` (an existing file) and make it a usable cache, or say why it is not one.
Opened open_database(const std::filesystem::path& path) {
  Opened result;
  struct stat info {};
  const bool fresh = ::stat(path.c_str(), &info) == 0 && info.st_size == 0;
  int status = sqlite3_open_v2(path.c_str(), &result.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  const auto fail = [&](OpenStatus kind, std::string reason) {
    sqlite3_close(result.db);
    result.db = nullptr;
    result.status = kind;
    result.reason = std::move(reason);
    return std::move(result);
  };
  if (status != SQLITE_OK) {
    return fail(is_damage(status) ? OpenStatus::damaged : OpenStatus::failed, last_error(result.db));
  }
  sqlite3_busy_timeout(result.db, k_busy_timeout_ms);
  std::optional<std::int64_t> application = pragma_value(result.db, "PRAGMA application_id", status);
  std::optional<std::int64_t> tables =
      application ? pragma_value(result.db, "SELECT count(*) FROM sqlite_master", status) : std::nullopt;
  std::optional<std::int64_t> version = tables ? pragma_value(result.db, "PRAGMA user_version", status) : std::nullopt;
  if (!version) {
    return fail(is_damage(status) ? OpenStatus::damaged : OpenStatus::failed, last_error(result.db));
  }
  if (*application != k_application_id && *tables > 0) {
    return fail(OpenStatus::foreign, "an SQLite database of another program");
  }
  if (*tables > 0 && *version > k_schema_version) {
    // A newer spindle's cache: left as it is for that spindle.
    return fail(OpenStatus::newer, "made by a newer spindle (cache schema version " + std::to_string(*version) +
                                       ", this spindle uses " + std::to_string(k_schema_version) + ")");
  }
  if (*tables > 0 && *version < 1) {
    return fail(OpenStatus::damaged, "cache schema version " + std::to_string(*version) + ", this spindle uses " +
                                         std::to_string(k_schema_version));
  }
  // Durability without an fsync that buys nothing (each one cost 10-200 ms on a busy disk; a
  // first run into an empty cache made eight): synchronous=OFF while the run writes, NORMAL for
  // every checkpoint (see HashCache::checkpoint). A run's transactions only append to the WAL,
  // whose frames carry SQLite's own cumulative checksums: after a power cut, recovery keeps the
  // longest intact prefix of whole transactions, so unsynced appends can lose the last batches,
  // never the database. The database file itself is written only by checkpoints, and those
  // sync the WAL before copying it in and the database before the WAL is reused. And whatever
  // the disk does, a segment is used only when its own checksum (over its bytes, device,
  // algorithm and directory) matches: a torn or stale page can cost a miss, never a wrong hash.
  exec(result.db, "PRAGMA synchronous=OFF");
  if (fresh) {
    // A new, empty file: its first header is written with the rollback journal in memory (no
    // -journal file to create, sync and unlink). A crash before that finishes leaves a file that
    // is not yet a cache, which the next run moves aside and rebuilds like any damaged one.
    exec(result.db, "PRAGMA journal_mode=MEMORY");
  }
  // WAL: readers and one writer at once across processes.
  std::optional<std::int64_t> wal = pragma_value(result.db, "PRAGMA journal_mode=WAL", status);
  if (!wal) {
    return fail(is_damage(status) ? OpenStatus::damaged : OpenStatus::failed, last_error(result.db));
  }
  // No checkpoint inside a commit (it would run unsynced): HashCache::write checkpoints, synced,
  // once the WAL holds k_checkpoint_pages.
  exec(result.db, "PRAGMA wal_autocheckpoint=0");
  // A page cache that holds the B-tree of a few hundred thousand entries: inserts in inode order
  // then touch pages already in memory instead of re-reading them from the WAL.
  exec(result.db, "PRAGMA cache_size=-32768");
  // Closing does not checkpoint: copying the WAL into the database and syncing both at the end
  // of every run that wrote was the whole cost of a first run into an empty cache over a run
  // without one (about 70 ms of 0.6 s on 100k files). The entries stay in the -wal file, read
  // through its index like any page, until the WAL passes k_checkpoint_pages and a write
  // checkpoints it, synced (HashCache::write), as `cache prune` and `cache clear` do. So the
  // cache is the database file with its -wal: copy or back them up together.
  sqlite3_db_config(result.db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  // A WAL that was checkpointed whole shrinks back when it is next reused, rather than keep its
  // largest size on disk for good.
  exec(result.db, "PRAGMA journal_size_limit=0");
  if (*tables == 0 || *version < k_schema_version) {
    // A new file, or an older spindle's cache: its tables are replaced (its entries cannot be
    // converted: the old layout has no directory to group them by and they are only a cache).
    // BEGIN IMMEDIATE, so two processes creating or upgrading it at once take turns.
    std::string create = "BEGIN IMMEDIATE;";
    if (*tables > 0) {
      result.rebuilt_from = static_cast<int>(*version);
      create += "DROP TABLE IF EXISTS entries;";  // schema version 1
    }
    create += std::string(k_schema) + "PRAGMA application_id=" + std::to_string(k_application_id) +
              ";PRAGMA user_version=" + std::to_string(k_schema_version) + ";COMMIT;";
    if (!exec(result.db, create.c_str())) {
      return fail(is_damage(sqlite3_errcode(result.db)) ? OpenStatus::damaged : OpenStatus::failed,
                  last_error(result.db));
    }
  }
  const bool layout_ok =
      Statement(result.db, "SELECT id, key FROM devices LIMIT 0").ok() &&
      Statement(result.db, "SELECT id, device, algo, dir, entries, checksum FROM segments LIMIT 0").ok();
  if (!layout_ok) {
    return fail(OpenStatus::damaged, "not the layout of a spindle cache: " + last_error(result.db));
  }
  result.status = OpenStatus::ok;
  return result;
}

// An empty file for SQLite to open, private from the start (SQLite gives its -wal and -shm files
// the mode of the database).
bool create_private_file(const std::filesystem::path& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error = shown(path) + ": cannot create: " + std::strerror(errno);
    return false;
  }
  ::close(fd);
  return true;
}

// Moves a bad database aside with its WAL (nothing is deleted: it may be someone's file named by
// mistake), so a new cache can take its place.
bool move_aside(const std::filesystem::path& path, std::string& error) {
  const std::string aside = path.string() + ".corrupt";
  if (::rename(path.c_str(), aside.c_str()) != 0) {
    error = shown(path) + ": cannot move aside: " + std::strerror(errno);
    return false;
  }
  ::rename((path.string() + "-wal").c_str(), (aside + "-wal").c_str());
  ::unlink((path.string() + "-shm").c_str());  // only an index of the WAL, rebuilt from it
  return true;
}

// Holds an exclusive flock on `path`.lock while a process opens, checks or rebuilds the cache, so
// two processes never both move a file aside and create a new one.
class OpenLock {
 public:
  explicit OpenLock(const std::filesystem::path& path) {
    m_fd = ::open((path.string() + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (m_fd >= 0) {
      while (::flock(m_fd, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~OpenLock() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  OpenLock(const OpenLock&) = delete;
  OpenLock& operator=(const OpenLock&) = delete;
  bool held() const { return m_fd >= 0; }

 private:
  int m_fd = -1;
};

}  // namespace

std::filesystem::path default_cache_path() {
  // The XDG base directory spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
  if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache != nullptr && cache[0] == '/') {
    return std::filesystem::path(cache) / "spindle" / "hashes.sqlite";
  }
  return std::filesystem::path(home_directory()) / ".cache" / "spindle" / "hashes.sqlite";
}

std::filesystem::path cache_location(std::string_view chosen) {
  return chosen.empty() ? default_cache_path() : std::filesystem::path(chosen);
}

std::unique_ptr<HashCache> HashCache::open(const std::filesystem::path& path, Logger& log) {
  const std::string without = "; running without the cache";
  std::string error;
  if (!make_private_directories(path.parent_path(), error)) {
    log.warning("cache: " + error + without);
    return nullptr;
  }
  OpenLock lock(path);
  if (!lock.held()) {
    log.warning("cache: " + shown(path.string() + ".lock") + ": cannot create: " + std::strerror(errno) + without);
    return nullptr;
  }
  // An existing cache may be a symlink to a regular file (dotfile managers make them).
  struct stat info {};
  const bool exists = ::stat(path.c_str(), &info) == 0;
  if (exists && !S_ISREG(info.st_mode)) {
    log.warning("cache: " + shown(path) + ": not a regular file" + without);
    return nullptr;
  }
  if (!exists && !create_private_file(path, error)) {
    log.warning("cache: " + error + without);
    return nullptr;
  }
  Opened opened = open_database(path);
  if (opened.status == OpenStatus::damaged || opened.status == OpenStatus::foreign) {
    if (!move_aside(path, error) || !create_private_file(path, error)) {
      log.warning("cache: " + shown(path) + ": " + opened.reason + "; " + error + without);
      return nullptr;
    }
    log.warning("cache: " + shown(path) + ": " + opened.reason + ": moved to " + shown(path.string() + ".corrupt") +
                ", starting a new cache");
    opened = open_database(path);
  }
  if (opened.status != OpenStatus::ok) {
    log.warning("cache: " + shown(path) + ": " + opened.reason + without);
    return nullptr;
  }
  if (opened.rebuilt_from != 0) {
    log.warning("cache: " + shown(path) + ": made by an older spindle (cache schema version " +
                std::to_string(opened.rebuilt_from) + "), rebuilt in the format of this one (version " +
                std::to_string(k_schema_version) + "): files are read again once");
  }
  std::unique_ptr<HashCache> cache(new HashCache(path, opened.db, log));
  sqlite3_wal_hook(opened.db, &HashCache::count_wal_pages, cache.get());
  return cache;
}

int HashCache::count_wal_pages(void* cache, sqlite3* /*db*/, const char* /*name*/, int pages) {
  static_cast<HashCache*>(cache)->m_wal_pages = pages;
  return SQLITE_OK;
}

void HashCache::checkpoint() {
  // Synced (see open_database): the WAL reaches the disk before the database is overwritten
  // from it, and the database before the WAL is reused. PASSIVE: another process reading is
  // not waited for (what it still needs stays in the WAL for a later checkpoint).
  exec(m_db, "PRAGMA synchronous=NORMAL");
  sqlite3_wal_checkpoint_v2(m_db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  exec(m_db, "PRAGMA synchronous=OFF");
  m_wal_pages = 0;
}

HashCache::~HashCache() {
  {
    std::lock_guard lock(m_pending_mutex);
    m_stop = true;
  }
  m_wake.notify_one();
  if (m_writer.joinable()) {
    m_writer.join();
  }
  flush();
  sqlite3_close(m_db);  // no checkpoint, no sync (see open_database)
}

void HashCache::disable(std::string_view what) {
  if (!m_broken) {
    m_log.warning("cache: " + shown(m_path) + ": " + std::string(what) + ": " + last_error(m_db) +
                  "; new digests are not cached in this run");
  }
  m_broken = true;
}

void HashCache::load(HashAlgo algo, std::span<const std::string> devices) {
  const auto start = std::chrono::steady_clock::now();
  m_algo = algo;
  m_devices.assign(devices.begin(), devices.end());
  m_loaded.clear();
  std::lock_guard lock(m_db_mutex);
  Statement select(m_db,
                   "SELECT id, dir, entries, checksum FROM segments "
                   "WHERE device = (SELECT id FROM devices WHERE key = ?1) AND algo = ?2");
  if (!select.ok()) {
    disable("cannot read");
    return;
  }
  const std::int64_t code = algo_code(algo);
  const std::hash<std::string_view> hash_text;
  std::uint64_t damaged = 0;
  for (std::uint32_t d = 0; d < m_devices.size(); ++d) {
    select.reset();
    select.bind(1, m_devices[d]);
    select.bind(2, code);
    int status = SQLITE_ROW;
    while ((status = select.step()) == SQLITE_ROW) {
      const std::int64_t segment = select.integer(0);
      const std::string_view dir = select.blob(1);
      const std::string_view blob = select.blob(2);
      std::optional<std::vector<SegmentEntry>> entries;
      if (segment_checksum(m_devices[d], code, dir, blob) == select.integer(3)) {
        entries = decode_segment(blob);
      }
      if (!entries) {
        ++damaged;
        continue;
      }
      const std::uint64_t dir_hash = hash_text(dir);
      for (const SegmentEntry& entry : *entries) {
        const std::uint64_t place = dir_hash ^ (hash_text(entry.name) * 0x9e3779b97f4a7c15ULL);
        m_loaded.push_back({entry.inode, d, static_cast<std::uint8_t>(entry.stage), entry.size, entry.mtime_ns,
                            entry.ctime_ns, entry.digest, place, segment});
      }
    }
    if (status != SQLITE_DONE) {
      // What was read and checked so far is good; the rest is not used.
      disable("cannot read all entries");
      break;
    }
  }
  if (damaged > 0) {
    m_log.warning("cache: " + shown(m_path) + ": " + std::to_string(damaged) +
                  " damaged segments of entries ignored (their files are read again)");
  }
  std::sort(m_loaded.begin(), m_loaded.end(), [](const Loaded& a, const Loaded& b) {
    return std::tie(a.inode, a.device, a.stage, a.place, b.segment) <
           std::tie(b.inode, b.device, b.stage, b.place, a.segment);
  });
  // An entry superseded by a newer one for the same file at the same path (it changed there) is
  // dropped: what remains per file is one entry per path it was recorded under (a file moved
  // under --cache-ignore-ctime, or a hard link, has several).
  m_loaded.erase(std::unique(m_loaded.begin(), m_loaded.end(),
                             [](const Loaded& a, const Loaded& b) {
                               return a.inode == b.inode && a.device == b.device && a.stage == b.stage &&
                                      a.place == b.place;
                             }),
                 m_loaded.end());
  // Newest first within a file's entries, whatever their paths.
  std::stable_sort(m_loaded.begin(), m_loaded.end(), [](const Loaded& a, const Loaded& b) {
    return std::tie(a.inode, a.device, a.stage, b.segment) < std::tie(b.inode, b.device, b.stage, a.segment);
  });
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  m_log.debug("cache: loaded " + std::to_string(m_loaded.size()) + " entries in " + std::to_string(elapsed.count()) +
              " ms");
}

std::span<const HashCache::Loaded> HashCache::find(const CacheKey& key) const {
  const auto stage = static_cast<std::uint8_t>(stage_code(key.stage));
  const auto less = [](const Loaded& a, const std::tuple<std::uint64_t, std::uint32_t, std::uint8_t>& b) {
    return std::tie(a.inode, a.device, a.stage) < b;
  };
  const auto wanted = std::make_tuple(key.inode, key.device, stage);
  auto first = std::lower_bound(m_loaded.begin(), m_loaded.end(), wanted, less);
  auto last = first;
  while (last != m_loaded.end() && last->inode == key.inode && last->device == key.device && last->stage == stage) {
    ++last;
  }
  return {first, last};
}

std::optional<Digest> HashCache::lookup(const CacheKey& key, bool ignore_ctime) const {
  // Several entries (several paths): the newest that matches the whole state, else, when ctime
  // is ignored, the newest that matches all but ctime. Never one whose size or mtime differs.
  std::optional<Digest> without_ctime;
  for (const Loaded& entry : find(key)) {
    if (entry.size != key.size || entry.mtime_ns != key.mtime_ns) {
      continue;
    }
    if (entry.ctime_ns == key.ctime_ns) {
      return entry.digest;
    }
    if (ignore_ctime && !without_ctime) {
      without_ctime = entry.digest;
    }
  }
  return without_ctime;
}

bool HashCache::ctime_differs(const CacheKey& key) const {
  const std::span<const Loaded> entries = find(key);
  return !entries.empty() && std::none_of(entries.begin(), entries.end(), [&](const Loaded& entry) {
    return entry.size == key.size && entry.mtime_ns == key.mtime_ns && entry.ctime_ns == key.ctime_ns;
  });
}

void HashCache::record(const CacheKey& key, std::string_view path, const Digest& digest) {
  const std::size_t slash = path.rfind('/');
  const std::size_t cut = slash == std::string_view::npos ? 0 : slash + 1;
  record(key, path.substr(0, cut), path.substr(cut), digest);
}

void HashCache::record(const CacheKey& key, std::string_view dir, std::string_view name, const Digest& digest) {
  std::lock_guard lock(m_pending_mutex);
  auto it = m_dir_index.find(dir);
  if (it == m_dir_index.end()) {
    const std::string& stored = m_dirs.emplace_back(dir);
    it = m_dir_index.emplace(stored, static_cast<std::uint32_t>(m_dirs.size() - 1)).first;
    m_first_segment.push_back(k_none);
  }
  // The directory's segment on key's device (one, unless files of one directory are on
  // several devices: bind mounts).
  std::uint32_t* link = &m_first_segment[it->second];
  while (*link != k_none && m_segments[*link].device != key.device) {
    link = &m_segments[*link].next;
  }
  if (*link == k_none) {
    *link = static_cast<std::uint32_t>(m_segments.size());
    m_segments.push_back({.dir = it->second, .device = key.device, .count = 0, .entries = {}, .next = k_none});
  }
  Segment& segment = m_segments[*link];
  append_segment_entry(segment.entries, {.inode = key.inode,
                                         .stage = stage_code(key.stage),
                                         .size = key.size,
                                         .mtime_ns = key.mtime_ns,
                                         .ctime_ns = key.ctime_ns,
                                         .digest = digest,
                                         .name = name});
  ++segment.count;
  if (++m_pending < k_batch) {
    return;
  }
  // A full batch goes to the writer thread: a pool thread never waits for the database (a WAL
  // checkpoint's fsync took seconds on a busy disk when readers wrote their own batches).
  m_queue.push_back(take_pending());
  if (!m_writer.joinable()) {
    m_writer = std::thread([this] { write_queued(); });
  }
  m_wake.notify_one();
}

HashCache::Batch HashCache::take_pending() {
  Batch batch;
  for (Segment& segment : m_segments) {
    if (segment.count > 0) {
      batch.push_back({&m_dirs[segment.dir], segment.device, segment.count, std::move(segment.entries)});
      segment.entries = {};
      segment.count = 0;
    }
  }
  m_pending = 0;
  return batch;
}

void HashCache::write_queued() {
  std::unique_lock lock(m_pending_mutex);
  for (;;) {
    m_wake.wait(lock, [this] { return m_stop || !m_queue.empty(); });
    if (m_queue.empty()) {
      return;  // stopped, nothing left
    }
    Batch batch = std::move(m_queue.front());
    m_queue.pop_front();
    m_writing = true;
    lock.unlock();
    write(batch);
    lock.lock();
    m_writing = false;
    m_idle.notify_all();
  }
}

void HashCache::flush() {
  std::vector<Batch> batches;
  {
    std::unique_lock lock(m_pending_mutex);
    for (Batch& queued : m_queue) {
      batches.push_back(std::move(queued));
    }
    m_queue.clear();
    batches.push_back(take_pending());
    m_idle.wait(lock, [this] { return !m_writing; });  // the writer's batch is in too
  }
  for (Batch& batch : batches) {
    write(batch);
  }
}

void HashCache::write(Batch& batch) {
  if (batch.empty()) {
    return;
  }
  std::lock_guard lock(m_db_mutex);
  if (m_broken) {
    batch.clear();
    return;
  }
  if (!exec(m_db, "BEGIN IMMEDIATE")) {
    disable("cannot write");
    batch.clear();
    return;
  }
  // The devices' numbers, looked up in this transaction (a clear by another process may have
  // renumbered them since the last one).
  std::vector<std::int64_t> device_ids(m_devices.size(), -1);
  Statement add_device(m_db, "INSERT OR IGNORE INTO devices(key) VALUES(?1)");
  Statement device_id(m_db, "SELECT id FROM devices WHERE key = ?1");
  Statement insert(m_db, "INSERT INTO segments(device, algo, dir, entries, checksum) VALUES(?1, ?2, ?3, ?4, ?5)");
  bool ok = add_device.ok() && device_id.ok() && insert.ok();
  const std::int64_t algo = algo_code(m_algo);
  std::string segment;
  for (const Written& written : batch) {
    if (!ok) {
      break;
    }
    const std::uint32_t d = written.device;
    const std::string& device = m_devices.at(d);
    if (device_ids[d] < 0) {
      add_device.reset();
      add_device.bind(1, device);
      device_id.reset();
      device_id.bind(1, device);
      ok = add_device.step() == SQLITE_DONE && device_id.step() == SQLITE_ROW;
      device_ids[d] = ok ? device_id.integer(0) : -1;
    }
    segment.clear();
    append_segment_header(segment, written.count);
    segment += written.entries;
    if (ok) {
      insert.reset();
      insert.bind(1, device_ids[d]);
      insert.bind(2, algo);
      insert.bind(3, std::string_view(*written.dir));
      insert.bind(4, segment);
      insert.bind(5, segment_checksum(device, algo, *written.dir, segment));
      ok = insert.step() == SQLITE_DONE;
    }
  }
  ++m_transactions;
  if (!ok || !exec(m_db, "COMMIT")) {
    disable("cannot write");
    exec(m_db, "ROLLBACK");
  } else if (m_wal_pages >= k_checkpoint_pages) {
    checkpoint();
  }
  batch.clear();
}

}  // namespace spindle
