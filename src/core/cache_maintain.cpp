// `spindle cache stats|prune|clear`, and the row encoding the cache shares with them.
#include "cache_sqlite.hpp"

#include <spindle/cache.hpp>
#include <spindle/error.hpp>

#include <sys/stat.h>

#include <array>
#include <cstddef>
#include <cstring>

namespace spindle {

using namespace cache_detail;

namespace cache_detail {

std::int64_t row_checksum(std::string_view device, std::uint64_t inode, std::int64_t algo, std::int64_t stage,
                          std::uint64_t size, std::int64_t mtime_ns, std::int64_t ctime_ns, const Digest& digest) {
  std::string bytes(device);
  const std::array<std::uint64_t, 8> fields{inode,
                                            static_cast<std::uint64_t>(algo),
                                            static_cast<std::uint64_t>(stage),
                                            size,
                                            static_cast<std::uint64_t>(mtime_ns),
                                            static_cast<std::uint64_t>(ctime_ns),
                                            digest.high,
                                            digest.low};
  bytes.append(reinterpret_cast<const char*>(fields.data()), sizeof(fields));
  const Digest sum = hash_bytes(std::as_bytes(std::span(bytes.data(), bytes.size())));
  return static_cast<std::int64_t>(sum.low);
}

std::string digest_blob(const Digest& digest) {
  std::string blob(16, '\0');
  for (int i = 0; i < 8; ++i) {
    blob[static_cast<std::size_t>(i)] = static_cast<char>(digest.high >> (56 - 8 * i));
    blob[static_cast<std::size_t>(8 + i)] = static_cast<char>(digest.low >> (56 - 8 * i));
  }
  return blob;
}

std::optional<Digest> digest_of_blob(std::string_view blob) {
  if (blob.size() != 16) {
    return std::nullopt;
  }
  Digest digest;
  for (std::size_t i = 0; i < 8; ++i) {
    digest.high = (digest.high << 8) | static_cast<unsigned char>(blob[i]);
    digest.low = (digest.low << 8) | static_cast<unsigned char>(blob[8 + i]);
  }
  return digest;
}

}  // namespace cache_detail

namespace {

std::uint64_t file_bytes(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? static_cast<std::uint64_t>(info.st_size) : 0;
}

std::int64_t ns_of(const struct timespec& time) {
  return time.tv_sec * 1'000'000'000LL + time.tv_nsec;
}

}  // namespace

void HashCache::fail(std::string_view what) {
  std::string message = m_path.string() + ": " + std::string(what) + ": " + last_error(m_db);
  // An open transaction is rolled back, so nothing half-done is committed.
  if (sqlite3_get_autocommit(m_db) == 0) {
    sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  throw Fatal(message);
}

CacheSummary HashCache::summary() {
  flush();
  std::lock_guard lock(m_db_mutex);
  CacheSummary summary;
  summary.path = m_path;
  Statement count(m_db,
                  "SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT device, inode FROM entries)) "
                  "FROM entries");
  if (count.ok() && count.step() == SQLITE_ROW) {
    summary.entries = static_cast<std::uint64_t>(count.integer(0));
    summary.files = static_cast<std::uint64_t>(count.integer(1));
  }
  Statement version(m_db, "PRAGMA user_version");
  if (version.ok() && version.step() == SQLITE_ROW) {
    summary.schema_version = static_cast<int>(version.integer(0));
  }
  summary.disk_bytes = file_bytes(m_path.string()) + file_bytes(m_path.string() + "-wal");
  return summary;
}

std::uint64_t HashCache::prune(DeviceIds& ids, bool ignore_ctime, const CancelToken& cancel) {
  flush();
  std::lock_guard lock(m_db_mutex);
  struct Key {
    std::string device;
    std::int64_t inode;
    std::int64_t algo;
    std::int64_t stage;
  };
  std::vector<Key> stale;
  {
    Statement rows(m_db, "SELECT device, inode, algo, stage, size, mtime_ns, ctime_ns, path FROM entries");
    if (!rows.ok()) {
      fail("cannot read");
    }
    while (!cancel.cancelled() && rows.step() == SQLITE_ROW) {
      const std::string path(rows.blob(7));
      struct stat info {};
      // Follows a symlink: an entry reached through one (-L) recorded the file it names.
      const bool same =
          ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && ids.id_of(info.st_dev) == rows.blob(0) &&
          static_cast<std::int64_t>(info.st_ino) == rows.integer(1) && info.st_size == rows.integer(4) &&
          ns_of(info.st_mtim) == rows.integer(5) && (ignore_ctime || ns_of(info.st_ctim) == rows.integer(6));
      if (!same) {
        stale.push_back({std::string(rows.blob(0)), rows.integer(1), rows.integer(2), rows.integer(3)});
      }
    }
  }
  if (cancel.cancelled() || stale.empty()) {
    return 0;
  }
  Statement remove(m_db, "DELETE FROM entries WHERE device = ?1 AND inode = ?2 AND algo = ?3 AND stage = ?4");
  if (!remove.ok() || sqlite3_exec(m_db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    fail("cannot write");
  }
  for (const Key& key : stale) {
    remove.reset();
    remove.bind(1, key.device);
    remove.bind(2, key.inode);
    remove.bind(3, key.algo);
    remove.bind(4, key.stage);
    if (remove.step() != SQLITE_DONE) {
      fail("cannot write");
    }
  }
  if (sqlite3_exec(m_db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    fail("cannot write");
  }
  return stale.size();
}

std::uint64_t HashCache::clear() {
  flush();
  std::lock_guard lock(m_db_mutex);
  if (sqlite3_exec(m_db, "DELETE FROM entries", nullptr, nullptr, nullptr) != SQLITE_OK) {
    fail("cannot write");
  }
  const auto deleted = static_cast<std::uint64_t>(sqlite3_changes64(m_db));
  // Give the space back: a cleared cache should not keep its old size on disk.
  sqlite3_exec(m_db, "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;", nullptr, nullptr, nullptr);
  return deleted;
}

}  // namespace spindle
