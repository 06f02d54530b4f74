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

const char* const k_schema = R"(
CREATE TABLE IF NOT EXISTS entries(
  device BLOB NOT NULL,
  inode INTEGER NOT NULL,
  algo INTEGER NOT NULL,
  stage INTEGER NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  ctime_ns INTEGER NOT NULL,
  digest BLOB NOT NULL,
  path BLOB NOT NULL,
  checksum INTEGER NOT NULL,
  PRIMARY KEY(device, algo, inode, stage)
) WITHOUT ROWID;
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

enum class OpenStatus { ok, damaged, foreign, failed };
struct Opened {
  sqlite3* db = nullptr;
  OpenStatus status = OpenStatus::failed;
  std::string reason;
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
  if (*tables > 0 && *version != k_schema_version) {
    return fail(OpenStatus::damaged, "cache schema version " + std::to_string(*version) + ", this spindle uses " +
                                         std::to_string(k_schema_version));
  }
  // WAL: readers and one writer at once across processes; NORMAL: a power cut may lose the last
  // transactions, never the database (what a cache needs, without an fsync per batch).
  std::optional<std::int64_t> wal = pragma_value(result.db, "PRAGMA journal_mode=WAL", status);
  if (!wal) {
    return fail(is_damage(status) ? OpenStatus::damaged : OpenStatus::failed, last_error(result.db));
  }
  exec(result.db, "PRAGMA synchronous=NORMAL");
  // Checkpoints (each with fsyncs) every 64 MiB of WAL instead of every 4 MiB: a cold run over
  // 100k small files took 2.5x as long with the default.
  exec(result.db, "PRAGMA wal_autocheckpoint=16384");
  // A page cache that holds the B-tree of a few hundred thousand entries: inserts in inode order
  // then touch pages already in memory instead of re-reading them from the WAL.
  exec(result.db, "PRAGMA cache_size=-32768");
  if (*tables == 0) {
    // A new file: BEGIN IMMEDIATE, so two processes creating it at once take turns.
    const std::string create = std::string("BEGIN IMMEDIATE;") + k_schema +
                               "PRAGMA application_id=" + std::to_string(k_application_id) +
                               ";PRAGMA user_version=" + std::to_string(k_schema_version) + ";COMMIT;";
    if (!exec(result.db, create.c_str())) {
      return fail(is_damage(sqlite3_errcode(result.db)) ? OpenStatus::damaged : OpenStatus::failed,
                  last_error(result.db));
    }
  }
  const bool layout_ok = Statement(result.db,
                                   "SELECT device, inode, algo, stage, size, mtime_ns, ctime_ns, digest, path, "
                                   "checksum FROM entries LIMIT 0")
                             .ok();
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
  return std::unique_ptr<HashCache>(new HashCache(path, opened.db, log));
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
  // The last connection to close checkpoints the WAL into the database.
  sqlite3_close(m_db);
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
                   "SELECT inode, stage, size, mtime_ns, ctime_ns, digest, checksum FROM entries "
                   "WHERE device = ?1 AND algo = ?2");
  if (!select.ok()) {
    disable("cannot read");
    return;
  }
  const std::int64_t code = algo_code(algo);
  std::uint64_t damaged = 0;
  for (std::uint32_t d = 0; d < m_devices.size(); ++d) {
    select.reset();
    select.bind(1, m_devices[d]);
    select.bind(2, code);
    int status = SQLITE_ROW;
    while ((status = select.step()) == SQLITE_ROW) {
      const auto inode = static_cast<std::uint64_t>(select.integer(0));
      const std::int64_t stage = select.integer(1);
      const auto size = static_cast<std::uint64_t>(select.integer(2));
      const std::int64_t mtime = select.integer(3);
      const std::int64_t ctime = select.integer(4);
      std::optional<Digest> digest = digest_of_blob(select.blob(5));
      std::optional<StageKind> kind = stage_of_code(stage);
      if (!digest || !kind ||
          row_checksum(m_devices[d], inode, code, stage, size, mtime, ctime, *digest) != select.integer(6)) {
        ++damaged;
        continue;
      }
      m_loaded.push_back({inode, d, static_cast<std::uint8_t>(stage), size, mtime, ctime, *digest});
    }
    if (status != SQLITE_DONE) {
      // What was read and checked so far is good; the rest is not used.
      disable("cannot read all entries");
      break;
    }
  }
  if (damaged > 0) {
    m_log.warning("cache: " + shown(m_path) + ": " + std::to_string(damaged) +
                  " damaged entries ignored (their files are read again)");
  }
  std::sort(m_loaded.begin(), m_loaded.end(), [](const Loaded& a, const Loaded& b) {
    return std::tie(a.inode, a.device, a.stage) < std::tie(b.inode, b.device, b.stage);
  });
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  m_log.debug("cache: loaded " + std::to_string(m_loaded.size()) + " entries in " + std::to_string(elapsed.count()) +
              " ms");
}

const HashCache::Loaded* HashCache::find(const CacheKey& key) const {
  const auto stage = static_cast<std::uint8_t>(stage_code(key.stage));
  auto it = std::lower_bound(
      m_loaded.begin(), m_loaded.end(), std::tie(key.inode, key.device, stage),
      [](const Loaded& a, const std::tuple<const std::uint64_t&, const std::uint32_t&, const std::uint8_t&>& b) {
        return std::tie(a.inode, a.device, a.stage) < b;
      });
  if (it == m_loaded.end() || it->inode != key.inode || it->device != key.device || it->stage != stage) {
    return nullptr;
  }
  return &*it;
}

std::optional<Digest> HashCache::lookup(const CacheKey& key, bool ignore_ctime) const {
  const Loaded* entry = find(key);
  if (entry == nullptr || entry->size != key.size || entry->mtime_ns != key.mtime_ns ||
      (!ignore_ctime && entry->ctime_ns != key.ctime_ns)) {
    return std::nullopt;
  }
  return entry->digest;
}

bool HashCache::ctime_differs(const CacheKey& key) const {
  const Loaded* entry = find(key);
  return entry != nullptr && entry->ctime_ns != key.ctime_ns;
}

void HashCache::record(const CacheKey& key, std::string_view path, const Digest& digest) {
  std::lock_guard lock(m_pending_mutex);
  m_pending.push_back({key, std::string(path), digest});
  if (m_pending.size() < k_batch) {
    return;
  }
  // A full batch goes to the writer thread: a pool thread never waits for the database (a WAL
  // checkpoint's fsync took seconds on a busy disk when readers wrote their own batches).
  m_queue.push_back(std::move(m_pending));
  m_pending = {};
  if (!m_writer.joinable()) {
    m_writer = std::thread([this] { write_queued(); });
  }
  m_wake.notify_one();
}

void HashCache::write_queued() {
  std::unique_lock lock(m_pending_mutex);
  for (;;) {
    m_wake.wait(lock, [this] { return m_stop || !m_queue.empty(); });
    if (m_queue.empty()) {
      return;  // stopped, nothing left
    }
    std::vector<Pending> batch = std::move(m_queue.front());
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
  std::vector<std::vector<Pending>> batches;
  {
    std::unique_lock lock(m_pending_mutex);
    for (std::vector<Pending>& queued : m_queue) {
      batches.push_back(std::move(queued));
    }
    m_queue.clear();
    batches.push_back(std::move(m_pending));
    m_pending = {};
    m_idle.wait(lock, [this] { return !m_writing; });  // the writer's batch is in too
  }
  for (std::vector<Pending>& batch : batches) {
    write(batch);
  }
}

void HashCache::write(std::vector<Pending>& batch) {
  if (batch.empty()) {
    return;
  }
  std::lock_guard lock(m_db_mutex);
  if (m_broken) {
    return;
  }
  if (!exec(m_db, "BEGIN IMMEDIATE")) {
    disable("cannot write");
    return;
  }
  // In key order: one pass over the B-tree's leaves instead of a jump per row.
  std::sort(batch.begin(), batch.end(), [](const Pending& a, const Pending& b) {
    return std::tie(a.key.device, a.key.inode, a.key.stage) < std::tie(b.key.device, b.key.inode, b.key.stage);
  });
  Statement insert(m_db, "INSERT OR REPLACE INTO entries VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  bool ok = insert.ok();
  const std::int64_t algo = algo_code(m_algo);
  for (const Pending& row : batch) {
    if (!ok) {
      break;
    }
    const std::string& device = m_devices.at(row.key.device);
    const std::int64_t stage = stage_code(row.key.stage);
    insert.reset();
    insert.bind(1, device);
    insert.bind(2, static_cast<std::int64_t>(row.key.inode));
    insert.bind(3, algo);
    insert.bind(4, stage);
    insert.bind(5, static_cast<std::int64_t>(row.key.size));
    insert.bind(6, row.key.mtime_ns);
    insert.bind(7, row.key.ctime_ns);
    insert.bind(8, digest_blob(row.digest));
    insert.bind(9, row.path);
    insert.bind(10, row_checksum(device, row.key.inode, algo, stage, row.key.size, row.key.mtime_ns, row.key.ctime_ns,
                                 row.digest));
    ok = insert.step() == SQLITE_DONE;
  }
  ++m_transactions;
  if (!ok || !exec(m_db, "COMMIT")) {
    disable("cannot write");
    exec(m_db, "ROLLBACK");
  }
  batch.clear();
}

}  // namespace spindle
