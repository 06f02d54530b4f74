#include "fakes/fake_device_probe.hpp"
#include "fakes/temp_tree.hpp"

#include <spindle/cache.hpp>
#include <spindle/group.hpp>
#include <spindle/hash.hpp>
#include <spindle/reader.hpp>
#include <spindle/report.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sqlite3.h>
#include <string>
#include <thread>
#include <vector>

namespace spindle {
namespace {

using fakes::FakeDeviceProbe;
using fakes::TempSink;
using fakes::TempTree;

const std::vector<std::string> k_devices{"uuid:aaaa", "uuid:bbbb"};

CacheKey base_key() {
  return CacheKey{.device = 0,
                  .inode = 42,
                  .size = 1000,
                  .mtime_ns = 1'700'000'000'123'456'789,
                  .ctime_ns = 1'700'000'001'000'000'007,
                  .stage = StageKind::full};
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// SQL on the database file, as another program (or a bad disk) would change it.
void sql(const std::string& path, const char* statement) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, statement, nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// While it lives, every SQLite connection opened goes through this VFS: the default one, with
// its syncs and rollback-journal opens counted (what a cache write costs in fsyncs).
class CountingVfs {
 public:
  CountingVfs() {
    s_self = this;
    m_base = sqlite3_vfs_find(nullptr);
    m_vfs = *m_base;
    m_vfs.zName = "spindle-counting";
    m_vfs.szOsFile = static_cast<int>(sizeof(File)) + m_base->szOsFile;
    m_vfs.xOpen = &CountingVfs::open;
    m_methods = {};
    m_methods.iVersion = 3;
    m_methods.xClose = [](sqlite3_file* f) {
      const int status = real(f)->pMethods->xClose(real(f));
      f->pMethods = nullptr;
      return status;
    };
    m_methods.xRead = [](sqlite3_file* f, void* p, int n, sqlite3_int64 o) {
      return real(f)->pMethods->xRead(real(f), p, n, o);
    };
    m_methods.xWrite = [](sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
      return real(f)->pMethods->xWrite(real(f), p, n, o);
    };
    m_methods.xTruncate = [](sqlite3_file* f, sqlite3_int64 n) { return real(f)->pMethods->xTruncate(real(f), n); };
    m_methods.xSync = [](sqlite3_file* f, int flags) {
      ++s_self->m_syncs;
      return real(f)->pMethods->xSync(real(f), flags);
    };
    m_methods.xFileSize = [](sqlite3_file* f, sqlite3_int64* n) { return real(f)->pMethods->xFileSize(real(f), n); };
    m_methods.xLock = [](sqlite3_file* f, int l) { return real(f)->pMethods->xLock(real(f), l); };
    m_methods.xUnlock = [](sqlite3_file* f, int l) { return real(f)->pMethods->xUnlock(real(f), l); };
    m_methods.xCheckReservedLock = [](sqlite3_file* f, int* r) {
      return real(f)->pMethods->xCheckReservedLock(real(f), r);
    };
    m_methods.xFileControl = [](sqlite3_file* f, int op, void* a) {
      return real(f)->pMethods->xFileControl(real(f), op, a);
    };
    m_methods.xSectorSize = [](sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); };
    m_methods.xDeviceCharacteristics = [](sqlite3_file* f) {
      return real(f)->pMethods->xDeviceCharacteristics(real(f));
    };
    m_methods.xShmMap = [](sqlite3_file* f, int i, int size, int extend, void volatile** p) {
      return real(f)->pMethods->xShmMap(real(f), i, size, extend, p);
    };
    m_methods.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
      return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
    };
    m_methods.xShmBarrier = [](sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); };
    m_methods.xShmUnmap = [](sqlite3_file* f, int del) { return real(f)->pMethods->xShmUnmap(real(f), del); };
    m_methods.xFetch = [](sqlite3_file* f, sqlite3_int64 o, int n, void** p) {
      return real(f)->pMethods->xFetch(real(f), o, n, p);
    };
    m_methods.xUnfetch = [](sqlite3_file* f, sqlite3_int64 o, void* p) {
      return real(f)->pMethods->xUnfetch(real(f), o, p);
    };
    sqlite3_vfs_register(&m_vfs, 1);
  }
  ~CountingVfs() {
    sqlite3_vfs_unregister(&m_vfs);
    s_self = nullptr;
  }
  CountingVfs(const CountingVfs&) = delete;
  CountingVfs& operator=(const CountingVfs&) = delete;

  int syncs() const { return m_syncs.load(); }
  int journals() const { return m_journals.load(); }

 private:
  struct File {
    sqlite3_file base;
    sqlite3_file* real;
  };
  static sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }
  static int open(sqlite3_vfs* /*vfs*/, const char* name, sqlite3_file* f, int flags, int* out) {
    File* file = reinterpret_cast<File*>(f);
    file->real = reinterpret_cast<sqlite3_file*>(file + 1);
    const int status = s_self->m_base->xOpen(s_self->m_base, name, file->real, flags, out);
    file->base.pMethods = file->real->pMethods != nullptr ? &s_self->m_methods : nullptr;
    if ((flags & SQLITE_OPEN_MAIN_JOURNAL) != 0) {
      ++s_self->m_journals;
    }
    return status;
  }

  // SQLite's callbacks carry no context of ours; one instance at a time, in one test.
  static inline CountingVfs* s_self = nullptr;
  sqlite3_vfs* m_base;
  sqlite3_vfs m_vfs;
  sqlite3_io_methods m_methods;
  std::atomic<int> m_syncs{0};
  std::atomic<int> m_journals{0};
};

class HashCacheTest : public ::testing::Test {
 protected:
  std::unique_ptr<HashCache> open() { return HashCache::open(m_path, m_log); }
  // A new handle (as the next run would have), loaded for `algo` on k_devices.
  std::unique_ptr<HashCache> reopen(HashAlgo algo = HashAlgo::xxh128) {
    std::unique_ptr<HashCache> cache = open();
    EXPECT_NE(cache, nullptr) << m_sink.contents();
    if (cache) {
      cache->load(algo, k_devices);
    }
    return cache;
  }
  void store(const CacheKey& key, Digest digest, HashAlgo algo = HashAlgo::xxh128) {
    std::unique_ptr<HashCache> cache = reopen(algo);
    cache->record(key, "/some/file", digest);
    cache->flush();
  }

  TempTree m_tree;
  std::string m_path = m_tree.path("cache/hashes.sqlite");
  TempSink m_sink;
  Logger m_log{m_sink.get(), LogLevel::warning};
  const Digest m_digest{0x0123456789abcdef, 0xfedcba9876543210};
};

TEST_F(HashCacheTest, AnEntryIsFoundByTheNextHandle) {
  store(base_key(), m_digest);
  std::unique_ptr<HashCache> cache = reopen();
  EXPECT_EQ(cache->lookup(base_key(), false), m_digest);
  EXPECT_EQ(m_sink.contents(), "");
}

TEST_F(HashCacheTest, EveryKeyFieldThatDiffersIsAMiss) {
  store(base_key(), m_digest);
  std::unique_ptr<HashCache> cache = reopen();
  CacheKey key = base_key();
  key.size += 1;
  EXPECT_EQ(cache->lookup(key, false), std::nullopt) << "size";
  key = base_key();
  key.mtime_ns += 1;
  EXPECT_EQ(cache->lookup(key, false), std::nullopt) << "mtime";
  key = base_key();
  key.ctime_ns += 1;
  EXPECT_EQ(cache->lookup(key, false), std::nullopt) << "ctime";
  key = base_key();
  key.inode += 1;
  EXPECT_EQ(cache->lookup(key, false), std::nullopt) << "inode";
  key = base_key();
  key.device = 1;
  EXPECT_EQ(cache->lookup(key, false), std::nullopt) << "device";
  key = base_key();
  key.stage = StageKind::prefix;
  EXPECT_EQ(cache->lookup(key, false), std::nullopt) << "stage";
  // Another algorithm's entries are not even loaded.
  std::unique_ptr<HashCache> other = reopen(HashAlgo::xxh3);
  EXPECT_EQ(other->lookup(base_key(), false), std::nullopt) << "algo";
}

TEST_F(HashCacheTest, IgnoringCtimeUsesAnEntryWhoseOnlyChangeIsCtime) {
  store(base_key(), m_digest);
  std::unique_ptr<HashCache> cache = reopen();
  CacheKey renamed = base_key();
  renamed.ctime_ns += 5;
  EXPECT_EQ(cache->lookup(renamed, true), m_digest);
  EXPECT_TRUE(cache->ctime_differs(renamed));
  CacheKey written = renamed;
  written.mtime_ns += 1;
  EXPECT_EQ(cache->lookup(written, true), std::nullopt) << "mtime still counts";
}

TEST_F(HashCacheTest, AChangedFileReplacesItsEntry) {
  store(base_key(), m_digest);
  CacheKey grown = base_key();
  grown.size = 2000;
  const Digest other{1, 2};
  store(grown, other);
  std::unique_ptr<HashCache> cache = reopen();
  EXPECT_EQ(cache->lookup(base_key(), false), std::nullopt);
  EXPECT_EQ(cache->lookup(grown, false), other);
  EXPECT_EQ(cache->summary().entries, 1u);
}

TEST_F(HashCacheTest, WritesGoInBatchesAndFlushWritesTheRest) {
  std::unique_ptr<HashCache> writer = reopen();
  const std::size_t total = 3 * HashCache::k_batch + 10;
  for (std::size_t i = 0; i < total; ++i) {
    CacheKey key = base_key();
    key.inode = i;
    writer->record(key, "/f", m_digest);
  }
  std::unique_ptr<HashCache> reader = open();
  EXPECT_LE(reader->summary().entries, 3 * HashCache::k_batch) << "the last partial batch waits for flush";
  writer->flush();
  EXPECT_EQ(reader->summary().entries, total);
  EXPECT_EQ(writer->transactions(), 4u) << "one transaction per batch";
}

TEST_F(HashCacheTest, ClosingFlushes) {
  {
    std::unique_ptr<HashCache> writer = reopen();
    writer->record(base_key(), "/f", m_digest);
  }
  EXPECT_EQ(reopen()->lookup(base_key(), false), m_digest);
}

TEST_F(HashCacheTest, TheDatabaseIsPrivate) {
  store(base_key(), m_digest);
  struct stat info {};
  ASSERT_EQ(::stat(m_path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(m_tree.path("cache").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(m_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &statement, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(statement, 0), 2) << "schema version recorded";
  sqlite3_finalize(statement);
  sqlite3_close(db);
}

TEST_F(HashCacheTest, GarbageIsMovedAsideAndANewCacheMade) {
  m_tree.mkdir("cache");
  const std::string garbage(10000, 'x');
  spit(m_path, garbage);
  std::unique_ptr<HashCache> cache = open();
  ASSERT_NE(cache, nullptr);
  const std::string log = m_sink.contents();
  EXPECT_NE(log.find("moved to"), std::string::npos) << log;
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << "one warning: " << log;
  EXPECT_EQ(slurp(m_path + ".corrupt"), garbage) << "nothing deleted";
  cache->load(HashAlgo::xxh128, k_devices);
  cache->record(base_key(), "/f", m_digest);
  cache->flush();
  EXPECT_EQ(reopen()->lookup(base_key(), false), m_digest);
}

TEST_F(HashCacheTest, AZeroLengthFileBecomesACacheSilently) {
  m_tree.write("cache/hashes.sqlite", "");
  store(base_key(), m_digest);
  EXPECT_EQ(reopen()->lookup(base_key(), false), m_digest);
  EXPECT_EQ(m_sink.contents(), "");
}

TEST_F(HashCacheTest, ASymlinkToACacheIsFollowed) {
  m_path = m_tree.path("real.sqlite");
  store(base_key(), m_digest);
  m_tree.mkdir("cache");
  m_path = m_tree.symlink(m_tree.path("real.sqlite"), "cache/hashes.sqlite");
  EXPECT_EQ(reopen()->lookup(base_key(), false), m_digest);
  EXPECT_EQ(m_sink.contents(), "");
}

TEST_F(HashCacheTest, AnotherProgramsDatabaseIsMovedAside) {
  m_tree.mkdir("cache");
  sql(m_path, "CREATE TABLE entries(x); INSERT INTO entries VALUES(1);");
  store(base_key(), m_digest);
  EXPECT_NE(m_sink.contents().find("another program"), std::string::npos) << m_sink.contents();
  EXPECT_EQ(reopen()->lookup(base_key(), false), m_digest);
}

// The layout of schema version 1 (one row per file), as an older spindle left it.
const char* const k_version_1 =
    "CREATE TABLE entries(device BLOB NOT NULL, inode INTEGER NOT NULL, algo INTEGER NOT NULL, stage INTEGER NOT "
    "NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, digest BLOB NOT NULL, path "
    "BLOB NOT NULL, checksum INTEGER NOT NULL, PRIMARY KEY(device, algo, inode, stage)) WITHOUT ROWID;"
    "INSERT INTO entries VALUES('uuid:aaaa', 42, 1, 3, 1000, 1, 2, zeroblob(16), '/some/file', 0);"
    "PRAGMA application_id = 1936748132; PRAGMA user_version = 1;";

TEST_F(HashCacheTest, AnOlderSchemaIsRebuiltInPlaceWithOneNotice) {
  m_tree.mkdir("cache");
  sql(m_path, k_version_1);
  std::unique_ptr<HashCache> cache = reopen();
  ASSERT_NE(cache, nullptr);
  const std::string log = m_sink.contents();
  EXPECT_NE(log.find("made by an older spindle (cache schema version 1), rebuilt"), std::string::npos) << log;
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << "one line: " << log;
  EXPECT_EQ(log.find("corrupt"), std::string::npos) << "not called damaged: " << log;
  EXPECT_FALSE(std::filesystem::exists(m_path + ".corrupt")) << "nothing moved aside";
  EXPECT_EQ(cache->lookup(base_key(), false), std::nullopt);
  cache->record(base_key(), "/some/file", m_digest);
  cache->flush();
  cache.reset();
  EXPECT_EQ(reopen()->lookup(base_key(), false), m_digest) << "the rebuilt cache works";
  EXPECT_EQ(m_sink.contents(), log) << "the notice is given once";
}

TEST_F(HashCacheTest, ANewerSchemaIsLeftAloneAndTheRunGoesWithout) {
  store(base_key(), m_digest);
  sql(m_path, "PRAGMA user_version = 99;");
  const std::string before = slurp(m_path);
  EXPECT_EQ(open(), nullptr);
  EXPECT_NE(m_sink.contents().find("made by a newer spindle (cache schema version 99"), std::string::npos)
      << m_sink.contents();
  EXPECT_EQ(slurp(m_path), before) << "a newer spindle's cache is not touched";
  EXPECT_FALSE(std::filesystem::exists(m_path + ".corrupt"));
}

TEST_F(HashCacheTest, ADamagedSegmentIsNeverUsed) {
  store(base_key(), m_digest);
  // Bits flipped in the stored entries: SQLite cannot see it, the segment checksum does.
  sql(m_path, "UPDATE segments SET entries = zeroblob(length(entries));");
  std::unique_ptr<HashCache> cache = reopen();
  EXPECT_EQ(cache->lookup(base_key(), false), std::nullopt);
  EXPECT_NE(m_sink.contents().find("1 damaged segments of entries ignored"), std::string::npos) << m_sink.contents();
}

TEST_F(HashCacheTest, ASegmentMovedToAnotherPlaceIsNeverUsed) {
  store(base_key(), m_digest);
  // Intact bytes under another directory, device or algorithm: the checksum covers the place.
  sql(m_path, "UPDATE segments SET dir = CAST('/elsewhere/' AS BLOB);");
  EXPECT_EQ(reopen()->lookup(base_key(), false), std::nullopt);
  EXPECT_NE(m_sink.contents().find("1 damaged segments"), std::string::npos) << m_sink.contents();
  store(base_key(), m_digest, HashAlgo::xxh3);
  sql(m_path, "UPDATE segments SET algo = 1 WHERE algo = 2;");
  EXPECT_EQ(reopen()->lookup(base_key(), false), std::nullopt);
}

TEST_F(HashCacheTest, ABatchWritesOneSegmentPerDirectory) {
  std::unique_ptr<HashCache> writer = reopen();
  for (std::uint64_t i = 0; i < 1000; ++i) {
    CacheKey key = base_key();
    key.inode = i;
    writer->record(key, "/tree/d" + std::to_string(i % 10) + "/", "f" + std::to_string(i), m_digest);
  }
  writer->flush();
  EXPECT_EQ(writer->transactions(), 1u);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(m_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*), count(DISTINCT dir) FROM segments", -1, &statement, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(statement, 0), 10) << "1000 files in 10 directories: 10 rows";
  EXPECT_EQ(sqlite3_column_int(statement, 1), 10);
  sqlite3_finalize(statement);
  sqlite3_close(db);
  EXPECT_EQ(reopen()->summary().entries, 1000u);
}

TEST_F(HashCacheTest, AFirstRunNeverSyncsAndItsEntriesOutliveItInTheWal) {
  // A run into an empty cache: creating it, writing a batch and closing append to the WAL
  // unsynced and copy nothing into the database (a checkpoint at close was the cost of a first
  // run over a run without the cache); the next run finds every entry through the WAL.
  CountingVfs vfs;
  {
    std::unique_ptr<HashCache> cache = reopen();
    for (std::uint64_t i = 0; i < 1000; ++i) {
      CacheKey key = base_key();
      key.inode = i;
      cache->record(key, "/tree/d" + std::to_string(i % 10) + "/", "f" + std::to_string(i), m_digest);
    }
    cache->flush();
    EXPECT_EQ(vfs.syncs(), 0) << "creating the cache and writing a batch: no fsync";
    EXPECT_EQ(vfs.journals(), 0) << "no rollback journal file is made";
  }
  EXPECT_EQ(vfs.syncs(), 0) << "closing: no checkpoint, no fsync";
  EXPECT_TRUE(std::filesystem::exists(m_path + "-wal")) << "the entries stay in the WAL";
  std::unique_ptr<HashCache> cache = reopen();
  for (std::uint64_t i = 0; i < 1000; ++i) {
    CacheKey key = base_key();
    key.inode = i;
    ASSERT_EQ(cache->lookup(key, false), m_digest) << i;
  }
  EXPECT_EQ(m_sink.contents(), "");
}

TEST_F(HashCacheTest, AStaleOrZeroedPageNeverYieldsAWrongDigest) {
  // What a power cut can leave of unsynced writes: pages of the database from before a run
  // mixed with pages from after it, or pages never written. Every such mix gives each file
  // its right digest or none (a miss), never another's.
  const auto fill = [&](std::int64_t mtime, const Digest& digest) {
    {
      std::unique_ptr<HashCache> cache = reopen();
      for (std::uint64_t i = 0; i < 300; ++i) {
        CacheKey key = base_key();
        key.inode = i;
        key.mtime_ns = mtime;
        cache->record(key, "/tree/d" + std::to_string(i % 3) + "/", "f" + std::to_string(i), digest);
      }
    }
    // Into the database file, whose pages the test then mixes (a run leaves them in the WAL).
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(m_path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  };
  const Digest before{1, 1};
  const Digest after{2, 2};
  fill(1, before);
  const std::string old_bytes = slurp(m_path);
  fill(2, after);  // the same files changed: newer entries
  const std::string new_bytes = slurp(m_path);
  ASSERT_GT(new_bytes.size(), 4096u * 4);
  int checked = 0;
  for (std::size_t page = 0; page * 4096 < new_bytes.size(); ++page) {
    for (const bool zeroed : {false, true}) {
      std::string mixed = new_bytes;
      if (zeroed) {
        std::fill_n(mixed.begin() + static_cast<std::ptrdiff_t>(page * 4096), 4096, '\0');
      } else if ((page + 1) * 4096 <= old_bytes.size()) {
        std::copy_n(old_bytes.begin() + static_cast<std::ptrdiff_t>(page * 4096), 4096,
                    mixed.begin() + static_cast<std::ptrdiff_t>(page * 4096));
      }
      std::filesystem::remove(m_path + ".corrupt");
      std::filesystem::remove(m_path + "-wal");
      spit(m_path, mixed);
      std::unique_ptr<HashCache> cache = open();
      ASSERT_NE(cache, nullptr) << "a damaged cache is moved aside and rebuilt, the run goes on";
      cache->load(HashAlgo::xxh128, k_devices);
      for (std::uint64_t i = 0; i < 300; ++i) {
        CacheKey key = base_key();
        key.inode = i;
        key.mtime_ns = 1;
        const std::optional<Digest> old_digest = cache->lookup(key, false);
        EXPECT_TRUE(!old_digest || *old_digest == before) << "page " << page << " file " << i;
        key.mtime_ns = 2;
        const std::optional<Digest> new_digest = cache->lookup(key, false);
        EXPECT_TRUE(!new_digest || *new_digest == after) << "page " << page << " file " << i;
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 8);
}

TEST_F(HashCacheTest, AFileUnderTwoPathsIsFoundByItsStateNeverByAnother) {
  // Moved with --cache-ignore-ctime: recorded under its old and its new path (new ctime), then
  // changed where it is now. Each lookup gets the digest of the state it names, or nothing.
  const Digest moved_digest{7, 7};
  std::unique_ptr<HashCache> cache = reopen();
  cache->record(base_key(), "/old/place", m_digest);
  CacheKey moved = base_key();
  moved.ctime_ns += 10;
  cache->record(moved, "/new/place", m_digest);
  cache->flush();
  CacheKey changed = moved;
  changed.size += 1;
  changed.mtime_ns += 1;
  changed.ctime_ns += 1;
  cache->record(changed, "/new/place", moved_digest);
  cache->flush();
  cache = reopen();
  EXPECT_EQ(cache->lookup(base_key(), false), m_digest) << "the old path's entry is still its state's";
  EXPECT_EQ(cache->lookup(moved, false), std::nullopt) << "superseded at its path by the changed file";
  EXPECT_EQ(cache->lookup(changed, false), moved_digest);
  CacheKey renamed_again = changed;
  renamed_again.ctime_ns += 100;
  EXPECT_EQ(cache->lookup(renamed_again, true), moved_digest) << "the entry with its size and mtime";
  EXPECT_TRUE(cache->ctime_differs(renamed_again));
  EXPECT_FALSE(cache->ctime_differs(changed));
  CacheKey mixed = changed;
  mixed.mtime_ns = base_key().mtime_ns;  // one entry's size, the other's mtime
  EXPECT_EQ(cache->lookup(mixed, true), std::nullopt);
  EXPECT_EQ(cache->summary().entries, 1u) << "one file, one stage";
}

TEST_F(HashCacheTest, ADirectoryInItsPlaceMeansNoCacheAndOneWarning) {
  m_tree.mkdir("cache/hashes.sqlite");
  EXPECT_EQ(open(), nullptr);
  const std::string log = m_sink.contents();
  EXPECT_NE(log.find("not a regular file"), std::string::npos) << log;
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
}

TEST_F(HashCacheTest, AnUncreatableLocationMeansNoCache) {
  m_tree.write("file", "x");
  m_path = m_tree.path("file/sub/hashes.sqlite");  // works as root too: "file" is not a directory
  EXPECT_EQ(open(), nullptr);
  EXPECT_NE(m_sink.contents().find("running without the cache"), std::string::npos) << m_sink.contents();
}

// Two handles on one file (as two processes have), each writing many batches at once: both
// finish, and every entry of both is there.
TEST_F(HashCacheTest, ConcurrentWritersBothLandEverything) {
  std::unique_ptr<HashCache> first = reopen();
  std::unique_ptr<HashCache> second = reopen();
  const std::size_t each = 3 * HashCache::k_batch + 7;
  auto fill = [&](HashCache& cache, std::uint64_t base) {
    for (std::size_t i = 0; i < each; ++i) {
      CacheKey key = base_key();
      key.inode = base + i;
      cache.record(key, "/f", Digest{base, i});
    }
    cache.flush();
  };
  std::thread a([&] { fill(*first, 0); });
  std::thread b([&] { fill(*second, 1'000'000); });
  a.join();
  b.join();
  EXPECT_EQ(m_sink.contents(), "");
  std::unique_ptr<HashCache> check = reopen();
  EXPECT_EQ(check->summary().entries, 2 * each);
  CacheKey key = base_key();
  key.inode = 1'000'000 + 5;
  EXPECT_EQ(check->lookup(key, false), (Digest{1'000'000, 5}));
}

TEST_F(HashCacheTest, PruneDropsEntriesOfChangedAndVanishedFiles) {
  const std::string kept = m_tree.write("data/kept", "abc");
  const std::string gone = m_tree.write("data/gone", "abc");
  const std::string renamed = m_tree.write("data/old-name", "abc");
  DeviceIds ids;
  auto key_of = [&](const std::string& path) {
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0);
    return CacheKey{.device = 0,
                    .inode = info.st_ino,
                    .size = static_cast<std::uint64_t>(info.st_size),
                    .mtime_ns = info.st_mtim.tv_sec * 1'000'000'000LL + info.st_mtim.tv_nsec,
                    .ctime_ns = info.st_ctim.tv_sec * 1'000'000'000LL + info.st_ctim.tv_nsec,
                    .stage = StageKind::full};
  };
  struct stat info {};
  ASSERT_EQ(::stat(kept.c_str(), &info), 0);
  const std::vector<std::string> devices{ids.id_of(info.st_dev)};
  {
    std::unique_ptr<HashCache> cache = open();
    cache->load(HashAlgo::xxh128, devices);
    for (const std::string& path : {kept, gone, renamed}) {
      cache->record(key_of(path), path, m_digest);
    }
  }
  m_tree.remove("data/gone");
  ASSERT_EQ(::rename(renamed.c_str(), m_tree.path("data/new-name").c_str()), 0);
  std::unique_ptr<HashCache> cache = open();
  CancelToken cancel;
  EXPECT_EQ(cache->prune(ids, false, cancel), 2u);
  cache->load(HashAlgo::xxh128, devices);
  EXPECT_EQ(cache->lookup(key_of(kept), false), m_digest);
  EXPECT_EQ(cache->summary().entries, 1u);
  EXPECT_EQ(cache->clear(), 1u);
  EXPECT_EQ(cache->summary().entries, 0u);
}

TEST(DeviceIds, TheSameDeviceGetsTheSameNonEmptyId) {
  TempTree tree;
  struct stat info {};
  ASSERT_EQ(::stat(tree.root().c_str(), &info), 0);
  DeviceIds first;
  DeviceIds second;
  const std::string id = first.id_of(info.st_dev);
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(second.id_of(info.st_dev), id);
  EXPECT_EQ(first.id_of(info.st_dev), id);
}

TEST(CacheStats, TextShowsExactBytesAndTheCacheLineOnlyWithACache) {
  RunStats stats;
  stats.bytes_read = 123456789;
  EXPECT_NE(format_stats(stats).find("\nbytes read: 123456789\n"), std::string::npos) << format_stats(stats);
  EXPECT_EQ(format_stats(stats).find("cache:"), std::string::npos);
  stats.cache_used = true;
  stats.cache_hits = 7;
  stats.cache_misses = 3;
  EXPECT_NE(format_stats(stats).find("\ncache: 7 hits, 3 misses\n"), std::string::npos) << format_stats(stats);
}

// ---- through run_group: the reader seam -----------------------------------------------------

// Counts the reads that reach the file system and succeed; can cancel the run after one.
class CountingReader : public FileReader {
 public:
  Result<Digest> read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                      const CancelToken& cancel, FdBudget* descriptors) override {
    Result<Digest> digest = m_inner.read(kind, files, f, worker, opened, cancel, descriptors);
    if (!digest.ok()) {
      return digest;  // a read cut short by the cancel: not a read that could be cached
    }
    if (reads.fetch_add(1) + 1 == cancel_after && cancel_token != nullptr) {
      cancel_token->cancel();  // as SIGINT would, right after this read
    }
    return digest;
  }
  std::atomic<int> reads{0};
  int cancel_after = -1;
  CancelToken* cancel_token = nullptr;

 private:
  SystemReader m_inner;
};

class CachedGroupTest : public ::testing::Test {
 protected:
  CachedGroupTest() {
    // Two groups and near misses of every stage: 10 KiB files sharing a prefix, sharing a suffix.
    std::string big(10240, 'a');
    m_tree.write("data/big1", big);
    m_tree.write("data/big2", big);
    std::string prefix_twin = big;
    prefix_twin[9000] = 'b';
    m_tree.write("data/big3", prefix_twin);
    std::string middle_twin = big;
    middle_twin[5000] = 'c';
    m_tree.write("data/big4", middle_twin);
    m_tree.write("data/s1", "small");
    m_tree.write("data/s2", "small");
    m_tree.write("data/s3", "smalx");
    m_config.paths = {m_tree.path("data")};
    m_config.progress = ProgressMode::never;
    m_config.cache = true;
    m_config.cache_path = m_tree.path("cache/hashes.sqlite");
  }
  GroupResult run() { return run_group(m_config, m_log, m_cancel, {m_probe, m_calibration, m_reader}); }
  std::set<std::set<std::string>> groups(const GroupResult& result) {
    std::set<std::set<std::string>> out;
    for (const DuplicateGroup& group : result.groups) {
      std::set<std::string> names;
      for (FileIndex f : group.files) {
        names.insert(std::string(result.files.name(f)));
      }
      out.insert(names);
    }
    return out;
  }

  TempTree m_tree;
  TempSink m_sink;
  Logger m_log{m_sink.get(), LogLevel::warning};
  CancelToken m_cancel;
  Config m_config;
  FakeDeviceProbe m_probe;
  Calibration m_calibration;
  CountingReader m_reader;
  const std::set<std::set<std::string>> m_expected{{"big1", "big2"}, {"s1", "s2"}};
};

TEST_F(CachedGroupTest, ASecondRunReadsNothingAndFindsTheSameGroups) {
  GroupResult first = run();
  EXPECT_EQ(groups(first), m_expected);
  const int first_reads = m_reader.reads.load();
  EXPECT_GT(first_reads, 0);
  EXPECT_EQ(first.stats.cache_hits, 0u);
  EXPECT_EQ(first.stats.cache_misses, static_cast<std::uint64_t>(first_reads));
  EXPECT_GT(first.stats.bytes_read, 0u);

  GroupResult second = run();
  EXPECT_EQ(groups(second), m_expected);
  EXPECT_EQ(m_reader.reads.load(), first_reads) << "no read reached the files";
  EXPECT_EQ(second.stats.bytes_read, 0u);
  EXPECT_EQ(second.stats.cache_hits, static_cast<std::uint64_t>(first_reads));
  EXPECT_EQ(second.stats.cache_misses, 0u);
  EXPECT_EQ(m_sink.contents(), "");
}

TEST_F(CachedGroupTest, AChangedFileIsReadAgainAndOnlyIt) {
  GroupResult first = run();
  // big2 gets other content of its size, and its mtime back: ctime still moves.
  struct stat before {};
  ASSERT_EQ(::stat(m_tree.path("data/big2").c_str(), &before), 0);
  std::string changed(10240, 'a');
  changed[5000] = 'z';
  m_tree.write("data/big2", changed);
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, m_tree.path("data/big2").c_str(), times, 0), 0);
  const int reads_before = m_reader.reads.load();
  GroupResult second = run();
  EXPECT_EQ(groups(second), (std::set<std::set<std::string>>{{"s1", "s2"}}));
  // big2's prefix, suffix and full reads (its group needs all three), nothing else.
  EXPECT_EQ(m_reader.reads.load() - reads_before, 3);
  EXPECT_EQ(second.stats.cache_misses, 3u);
  EXPECT_EQ(second.stats.bytes_read, 4096u + 4096u + 10240u);
}

TEST_F(CachedGroupTest, AFirstBlockEntryOfAnOlderSpindleNeverStandsForATwoBlockFile) {
  // Before a prefix read took all of a file of at most two blocks, the cache held such a file's
  // first-block digest as its prefix entry. Taken now for the digest of all of it, that entry
  // would part t1 from its copy t2: it must be a miss.
  std::string content(6000, 'q');
  content[5000] = 'r';
  m_tree.write("data/t1", content);
  m_tree.write("data/t2", content);
  struct stat st {};
  ASSERT_EQ(::stat(m_tree.path("data/t1").c_str(), &st), 0);
  {
    std::unique_ptr<HashCache> cache = HashCache::open(m_config.cache_path, m_log);
    ASSERT_NE(cache, nullptr);
    DeviceIds ids;
    const std::vector<std::string> devices{ids.id_of(st.st_dev)};
    cache->load(HashAlgo::xxh128, devices);
    const auto ns = [](const struct timespec& t) { return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; };
    const CacheKey old_prefix{.device = 0,
                              .inode = st.st_ino,
                              .size = content.size(),
                              .mtime_ns = ns(st.st_mtim),
                              .ctime_ns = ns(st.st_ctim),
                              .stage = StageKind::prefix};
    cache->record(old_prefix, m_tree.path("data/t1"), hash_bytes(std::as_bytes(std::span(content).first(4096))));
  }
  GroupResult result = run();
  std::set<std::set<std::string>> expected = m_expected;
  expected.insert({"t1", "t2"});
  EXPECT_EQ(groups(result), expected);
  EXPECT_EQ(result.stats.cache_hits, 0u);
}

TEST_F(CachedGroupTest, AnInterruptedRunKeepsWhatItRead) {
  m_reader.cancel_after = 5;
  m_reader.cancel_token = &m_cancel;
  GroupResult interrupted = run();
  ASSERT_TRUE(interrupted.cancelled);
  const int read_before_cancel = m_reader.reads.load();
  ASSERT_GE(read_before_cancel, 5);
  std::unique_ptr<HashCache> cache = HashCache::open(m_config.cache_path, m_log);
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->summary().entries, static_cast<std::uint64_t>(read_before_cancel));
  cache.reset();
  // The next run reads only what the first did not.
  CancelToken fresh;
  m_reader.cancel_after = -1;
  GroupResult next = run_group(m_config, m_log, fresh, {m_probe, m_calibration, m_reader});
  EXPECT_EQ(groups(next), m_expected);
  EXPECT_EQ(next.stats.cache_hits, static_cast<std::uint64_t>(read_before_cancel));
}

}  // namespace
}  // namespace spindle
