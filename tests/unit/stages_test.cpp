#include "fakes/temp_tree.hpp"

#include <spindle/pools.hpp>
#include <spindle/progress.hpp>
#include <spindle/stages.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace spindle {
namespace {

using fakes::TempSink;
using fakes::TempTree;
using Group = std::set<std::string>;
using Groups = std::set<Group>;

// ---- group_by_size and stage_reads: no files needed -----------------------------------------

FileEntry synthetic(std::uint64_t size, std::uint64_t ino, std::uint64_t dev = 1) {
  FileEntry entry;
  entry.size = size;
  entry.ino = ino;
  entry.dev = dev;
  return entry;
}

std::vector<std::vector<FileIndex>> groups_of(const Candidates& candidates) {
  std::vector<std::vector<FileIndex>> groups;
  for (std::size_t g = 0; g < candidates.groups(); ++g) {
    std::span<const FileIndex> members = candidates.group(g);
    groups.emplace_back(members.begin(), members.end());
  }
  return groups;
}

TEST(GroupBySize, KeepsSizesWithTwoDistinctInodesSortedBySize) {
  FileTable table;
  table.add(synthetic(300, 1), "a");  // 0
  table.add(synthetic(100, 2), "b");  // 1
  table.add(synthetic(300, 3), "c");  // 2
  table.add(synthetic(200, 4), "d");  // 3: alone at its size
  table.add(synthetic(100, 5), "e");  // 4
  table.add(synthetic(300, 6), "f");  // 5
  Config config;
  Candidates candidates = group_by_size(table, config);
  EXPECT_EQ(groups_of(candidates), (std::vector<std::vector<FileIndex>>{{1, 4}, {0, 2, 5}}));
  EXPECT_EQ(candidates.hashes.size(), candidates.groups());
}

TEST(GroupBySize, MembersSitInInodeOrderSoHardLinksAreAdjacent) {
  FileTable table;
  table.add(synthetic(50, 9), "x");     // 0
  table.add(synthetic(50, 3), "y");     // 1
  table.add(synthetic(50, 9), "z");     // 2: a hard link of 0
  table.add(synthetic(50, 3, 2), "w");  // 3: same inode number on another device
  Config config;
  Candidates candidates = group_by_size(table, config);
  EXPECT_EQ(groups_of(candidates), (std::vector<std::vector<FileIndex>>{{1, 0, 2, 3}}));
}

TEST(GroupBySize, HardLinksAloneAreNoGroupUnlessHardLinksCount) {
  FileTable table;
  table.add(synthetic(10, 7), "a");
  table.add(synthetic(10, 7), "b");
  table.add(synthetic(20, 8), "c");
  Config config;
  EXPECT_EQ(group_by_size(table, config).groups(), 0u);
  config.hard_links = true;
  EXPECT_EQ(groups_of(group_by_size(table, config)), (std::vector<std::vector<FileIndex>>{{0, 1}}));
}

TEST(GroupBySize, EmptyTableHasNoGroups) {
  Candidates candidates = group_by_size(FileTable{}, Config{});
  EXPECT_EQ(candidates.groups(), 0u);
  EXPECT_TRUE(candidates.files.empty());
}

TEST(StageReads, SmallFilesSkipTheStagesTheyDoNotNeed) {
  struct Row {
    std::uint64_t size;
    bool prefix;
    bool suffix;
    bool full;
  };
  const Row rows[] = {
      {1, true, false, false},
      {k_block_size, true, false, false},     // the prefix read is the whole file
      {k_block_size + 1, true, false, true},  // suffix would overlap the prefix: go to full
      {2 * k_block_size, true, false, true},
      {2 * k_block_size + 1, true, true, true},
      {1ULL << 30, true, true, true},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(stage_reads(StageKind::prefix, row.size), row.prefix) << row.size;
    EXPECT_EQ(stage_reads(StageKind::suffix, row.size), row.suffix) << row.size;
    EXPECT_EQ(stage_reads(StageKind::full, row.size), row.full) << row.size;
  }
}

// ---- run_stage on real files --------------------------------------------------------------

std::vector<std::byte> pattern(std::size_t size, unsigned seed) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<std::byte>((i * 131 + seed * 17 + 3) % 253);
  }
  return bytes;
}

std::vector<std::byte> with_byte_changed(std::vector<std::byte> bytes, std::size_t at) {
  bytes[at] = static_cast<std::byte>(~static_cast<unsigned>(bytes[at]) & 0xff);
  return bytes;
}

// Stat `path` into a FileEntry, as the walk records it.
FileEntry entry_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  FileEntry entry;
  entry.size = static_cast<std::uint64_t>(st.st_size);
  entry.ino = st.st_ino;
  entry.dev = st.st_dev;
  entry.nlink = static_cast<std::uint32_t>(st.st_nlink);
  entry.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  entry.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return entry;
}

// Set a file's times to 2001: a later write then moves mtime for sure, even within the clock
// tick the file was created in (the kernel stamps files with a coarse clock).
void age(const std::string& path) {
  const struct timespec old[2] = {{978'307'200, 0}, {978'307'200, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), old, 0), 0) << path;
}

// Overwrite one byte in place (same size), as an editor or a download in progress would.
void flip_byte(const std::string& path, off_t at) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  unsigned char byte = 0;
  ASSERT_EQ(::pread(fd, &byte, 1, at), 1);
  byte = static_cast<unsigned char>(~byte);
  ASSERT_EQ(::pwrite(fd, &byte, 1, at), 1);
  ::close(fd);
}

// Files written into a temp tree and listed in a FileTable, then staged through a PoolSet of
// GetParam() pools. Consecutive files go to different pools, so one group is read by several.
class RunStageTest : public ::testing::TestWithParam<int> {
 protected:
  RunStageTest() {
    const int pools = GetParam();
    std::vector<PoolSpec> specs;
    for (int p = 0; p < pools; ++p) {
      // Mix one-thread pools (read in physical order by one task) with a two-thread pool (batches).
      int threads = p == 1 ? 2 : 1;
      specs.push_back({"pool" + std::to_string(p), threads});
      m_threads.push_back(threads);
    }
    m_pools = std::make_unique<PoolSet>(std::move(specs));
  }

  FileIndex add(const std::string& name, const std::vector<std::byte>& content) {
    m_tree.write_bytes(name, content);
    age(m_tree.path(name));
    return add_entry(name);
  }

  FileIndex add_link(const std::string& existing, const std::string& name) {
    m_tree.hard_link(existing, name);
    return add_entry(name);
  }

  FileIndex add_entry(const std::string& name) {
    m_names.push_back(name);
    m_stale = true;
    return static_cast<FileIndex>(m_names.size() - 1);
  }

  // The "walk": every file stat'ed now, after the last one was added (a new hard link moves the
  // ctime of its inode, which must not look like a change made during the read).
  const FileTable& files() {
    if (m_stale) {
      m_files = FileTable{};
      for (const std::string& name : m_names) {
        m_files.add(entry_of(m_tree.path(name)), m_tree.path(name));
      }
      m_stale = false;
    }
    return m_files;
  }

  std::uint32_t pool_of(FileIndex f) const { return f % static_cast<std::uint32_t>(m_pools->size()); }

  Candidates run(StageKind kind, const Candidates& input) {
    std::vector<std::uint32_t> pool_of_file(files().size());
    for (FileIndex f = 0; f < files().size(); ++f) {
      pool_of_file[f] = pool_of(f);
    }
    // Fixed pool sizes (as --threads sets them): no cache-dependent shrinking in these tests.
    const std::vector<std::uint8_t> cache_adaptive(m_pools->size(), 0);
    StageContext context{.config = m_config,
                         .log = m_log,
                         .cancel = m_cancel,
                         .files = files(),
                         .pools = *m_pools,
                         .pool_of_file = pool_of_file,
                         .small_threads = m_threads,
                         .large_threads = m_threads,
                         .cache_adaptive = cache_adaptive,
                         .cached_threads = 1,
                         .progress = m_progress,
                         .descriptors = m_descriptors,
                         .observer = m_observer};
    return run_stage(kind, input, context, m_state);
  }

  // Every stage in order, from the size split up to and including `last`.
  Candidates run_until(StageKind last) {
    Candidates candidates = group_by_size(files(), m_config);
    for (StageKind kind : {StageKind::prefix, StageKind::suffix, StageKind::full}) {
      candidates = run(kind, candidates);
      if (kind == last) {
        break;
      }
    }
    return candidates;
  }

  Groups names(const Candidates& candidates) const {
    Groups groups;
    for (std::size_t g = 0; g < candidates.groups(); ++g) {
      Group group;
      for (FileIndex f : candidates.group(g)) {
        group.insert(m_names[f]);
      }
      groups.insert(group);
    }
    return groups;
  }

  // The group hash of the group holding `name`.
  Digest hash_of_group_with(const Candidates& candidates, const std::string& name) const {
    for (std::size_t g = 0; g < candidates.groups(); ++g) {
      for (FileIndex f : candidates.group(g)) {
        if (m_names[f] == name) {
          return candidates.hashes[g];
        }
      }
    }
    ADD_FAILURE() << name << " is in no group";
    return {};
  }

  // Files opened and read so far, over all pools.
  std::uint64_t reads() const {
    std::uint64_t total = 0;
    for (std::size_t p = 0; p < m_pools->size(); ++p) {
      total += m_pools->counters(p).files.load();
    }
    return total;
  }

  // The errors so far, as (name, op) pairs.
  std::set<std::pair<std::string, std::string>> errors() const {
    std::set<std::pair<std::string, std::string>> out;
    for (const FileError& error : m_state.errors) {
      out.emplace(error.path.substr(m_tree.root().size() + 1), error.op);
    }
    return out;
  }

  TempTree m_tree;
  TempSink m_sink;
  Logger m_log{m_sink.get(), LogLevel::debug};
  CancelToken m_cancel;
  Config m_config;
  Progress m_progress{m_log, false};
  FileTable m_files;
  bool m_stale = true;
  std::vector<std::string> m_names;  // by FileIndex
  std::vector<int> m_threads;
  std::unique_ptr<PoolSet> m_pools;
  StageState m_state;
  FdBudget* m_descriptors = nullptr;
  ReadObserver* m_observer = nullptr;
};

// Runs `action` on the reader's thread after it read the named file in the given stage, before
// the reader checks the file: a change made there is a change made while the file was read.
class AfterRead : public ReadObserver {
 public:
  AfterRead(const std::vector<std::string>* names, StageKind kind, std::string name, std::function<void()> action)
      : m_names(names), m_kind(kind), m_name(std::move(name)), m_action(std::move(action)) {}
  void after_read(StageKind kind, FileIndex file) override {
    std::lock_guard lock(m_mutex);
    m_read.insert((*m_names)[file]);
    if (kind == m_kind && (*m_names)[file] == m_name && !m_done) {
      m_done = true;
      m_action();
    }
  }
  std::set<std::string> read() const {
    std::lock_guard lock(m_mutex);
    return m_read;
  }

 private:
  const std::vector<std::string>* m_names;
  StageKind m_kind;
  std::string m_name;
  std::function<void()> m_action;
  mutable std::mutex m_mutex;
  std::set<std::string> m_read;
  bool m_done = false;
};

TEST_P(RunStageTest, DifferentLastBlockSplitsAtSuffix) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 1);
  add("a1", content);
  add("a2", content);
  add("b", with_byte_changed(content, content.size() - 1));
  Candidates prefix = run_until(StageKind::prefix);
  EXPECT_EQ(names(prefix), (Groups{{"a1", "a2", "b"}}));
  Candidates suffix = run(StageKind::suffix, prefix);
  EXPECT_EQ(names(suffix), (Groups{{"a1", "a2"}}));
  Candidates full = run(StageKind::full, suffix);
  EXPECT_EQ(names(full), (Groups{{"a1", "a2"}}));
  EXPECT_EQ(hash_of_group_with(full, "a1"), hash_bytes(content));
  EXPECT_TRUE(m_state.errors.empty());
}

TEST_P(RunStageTest, DifferenceInTheMiddleSplitsOnlyAtFull) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 2);
  add("c1", content);
  add("c2", content);
  add("d", with_byte_changed(content, k_block_size + 1904));  // in neither the first nor last block
  Candidates prefix = run_until(StageKind::prefix);
  EXPECT_EQ(names(prefix), (Groups{{"c1", "c2", "d"}}));
  Candidates suffix = run(StageKind::suffix, prefix);
  EXPECT_EQ(names(suffix), (Groups{{"c1", "c2", "d"}}));
  Candidates full = run(StageKind::full, suffix);
  EXPECT_EQ(names(full), (Groups{{"c1", "c2"}}));
  EXPECT_EQ(hash_of_group_with(full, "c1"), hash_bytes(content));
}

TEST_P(RunStageTest, FilesOfAtMostOneBlockGetTheirHashAtPrefix) {
  std::map<std::string, std::vector<std::byte>> contents;
  for (std::size_t size : {std::size_t{1}, std::size_t{100}, std::size_t{k_block_size}}) {
    const std::vector<std::byte> content = pattern(size, static_cast<unsigned>(size));
    const std::string tag = std::to_string(size);
    add("same1_" + tag, content);
    add("same2_" + tag, content);
    add("other_" + tag, with_byte_changed(content, size / 2));
    contents[tag] = content;
  }
  Candidates prefix = run_until(StageKind::prefix);
  EXPECT_EQ(names(prefix), (Groups{{"same1_1", "same2_1"}, {"same1_100", "same2_100"}, {"same1_4096", "same2_4096"}}));
  for (const auto& [tag, content] : contents) {
    EXPECT_EQ(hash_of_group_with(prefix, "same1_" + tag), hash_bytes(content)) << tag;
  }
  const std::uint64_t reads_after_prefix = reads();
  EXPECT_EQ(reads_after_prefix, 9u);
  // The later stages pass these groups through untouched, hashes included, without a read.
  Candidates full = run(StageKind::full, run(StageKind::suffix, prefix));
  EXPECT_EQ(names(full), names(prefix));
  for (const auto& [tag, content] : contents) {
    EXPECT_EQ(hash_of_group_with(full, "same1_" + tag), hash_bytes(content)) << tag;
  }
  EXPECT_EQ(reads(), reads_after_prefix);
}

TEST_P(RunStageTest, FilesOfAtMostTwoBlocksSkipTheSuffixRead) {
  const std::vector<std::byte> content = pattern(2 * k_block_size, 3);
  add("e1", content);
  add("e2", content);
  add("f", with_byte_changed(content, content.size() - 1));  // differs in the last block only
  Candidates prefix = run_until(StageKind::prefix);
  EXPECT_EQ(reads(), 3u);
  Candidates suffix = run(StageKind::suffix, prefix);
  EXPECT_EQ(reads(), 3u);
  EXPECT_EQ(names(suffix), (Groups{{"e1", "e2", "f"}}));
  Candidates full = run(StageKind::full, suffix);
  EXPECT_EQ(reads(), 6u);
  EXPECT_EQ(names(full), (Groups{{"e1", "e2"}}));
  EXPECT_EQ(hash_of_group_with(full, "e1"), hash_bytes(content));
}

TEST_P(RunStageTest, EachInodeIsReadByThePoolOfItsFile) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 4);
  for (int i = 0; i < 7; ++i) {
    add("g" + std::to_string(i), content);
  }
  run_until(StageKind::prefix);
  std::vector<std::uint64_t> expected(m_pools->size(), 0);
  for (FileIndex f = 0; f < files().size(); ++f) {
    ++expected[pool_of(f)];
  }
  for (std::size_t p = 0; p < m_pools->size(); ++p) {
    EXPECT_EQ(m_pools->counters(p).files.load(), expected[p]) << "pool " << p;
    EXPECT_EQ(m_pools->counters(p).bytes_read.load(), expected[p] * k_block_size) << "pool " << p;
  }
  EXPECT_EQ(m_state.bytes_read, 7 * k_block_size);
}

TEST_P(RunStageTest, DeletedFileLeavesItsGroupWithAnError) {
  const std::vector<std::byte> content = pattern(5000, 5);
  add("h1", content);
  add("h2", content);
  add("h3", content);
  const std::vector<std::byte> pair = pattern(6000, 6);
  add("p1", pair);
  add("p2", pair);
  Candidates sized = group_by_size(files(), m_config);
  m_tree.remove("h2");
  m_tree.remove("p2");
  Candidates prefix = run(StageKind::prefix, sized);
  // h1 and h3 still make a group; p1 alone does not.
  EXPECT_EQ(names(prefix), (Groups{{"h1", "h3"}}));
  ASSERT_EQ(m_state.errors.size(), 2u);
  std::set<std::string> failed;
  for (const FileError& error : m_state.errors) {
    EXPECT_EQ(error.op, "open");
    EXPECT_EQ(error.errnum, ENOENT);
    failed.insert(error.path);
  }
  EXPECT_EQ(failed, (std::set<std::string>{m_tree.path("h2"), m_tree.path("p2")}));
  // Each failure is also logged, one line each.
  std::string logged = m_sink.contents();
  EXPECT_EQ(std::count(logged.begin(), logged.end(), '\n'), 2);
  EXPECT_NE(logged.find(m_tree.path("h2")), std::string::npos);
}

TEST_P(RunStageTest, FileReplacedSinceTheWalkIsChangedNotHashed) {
  // Same name, same size, new inode and new content: reading it would hash some other file.
  const std::vector<std::byte> content = pattern(5000, 9);
  add("r1", content);
  add("r2", content);
  add("r3", content);
  Candidates sized = group_by_size(files(), m_config);
  m_tree.write_bytes("r2.new", with_byte_changed(content, 0));
  ASSERT_EQ(::rename(m_tree.path("r2.new").c_str(), m_tree.path("r2").c_str()), 0);
  Candidates full = run(StageKind::full, run(StageKind::suffix, run(StageKind::prefix, sized)));
  EXPECT_EQ(names(full), (Groups{{"r1", "r3"}}));
  ASSERT_EQ(m_state.errors.size(), 1u);
  EXPECT_EQ(m_state.errors[0].path, m_tree.path("r2"));
  EXPECT_EQ(m_state.errors[0].op, "changed");
}

TEST_P(RunStageTest, HardLinksAreReadOnce) {
  const std::vector<std::byte> content = pattern(10000, 7);
  add("l1", content);
  add_link("l1", "l2");
  add_link("l1", "l3");
  add("copy", content);
  Candidates prefix = run_until(StageKind::prefix);
  EXPECT_EQ(reads(), 2u);  // one per inode
  EXPECT_EQ(names(prefix), (Groups{{"l1", "l2", "l3", "copy"}}));
  Candidates full = run(StageKind::full, run(StageKind::suffix, prefix));
  EXPECT_EQ(reads(), 6u);
  EXPECT_EQ(names(full), (Groups{{"l1", "l2", "l3", "copy"}}));
  EXPECT_EQ(hash_of_group_with(full, "l2"), hash_bytes(content));
  EXPECT_EQ(m_state.bytes_read, 2 * (k_block_size + k_block_size + content.size()));
}

TEST_P(RunStageTest, HardLinksAloneFormAGroupOnlyWithHardLinks) {
  const std::vector<std::byte> content = pattern(10000, 8);
  add("m1", content);
  add_link("m1", "m2");
  EXPECT_EQ(names(run_until(StageKind::full)), Groups{});
  EXPECT_EQ(reads(), 0u);
  m_config.hard_links = true;
  Candidates full = run_until(StageKind::full);
  EXPECT_EQ(names(full), (Groups{{"m1", "m2"}}));
  EXPECT_EQ(reads(), 3u);  // one inode, three stages
}

// ---- files that change while they are read (issue 8, item 3) -------------------------------

// Three identical files; one is written to right after its whole content was read. The digest
// matches the others (it was taken before the write), so only the check after the read can tell
// that the file on disk is no longer what was hashed.
TEST_P(RunStageTest, FileWrittenWhileReadIsChangedNotACopy) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 10);
  add("w1", content);
  add("w2", content);
  add("w3", content);
  AfterRead observer(&m_names, StageKind::full, "w2", [&] { flip_byte(m_tree.path("w2"), 100); });
  m_observer = &observer;
  Candidates full = run_until(StageKind::full);
  EXPECT_EQ(names(full), (Groups{{"w1", "w3"}}));
  EXPECT_EQ(errors(), (std::set<std::pair<std::string, std::string>>{{"w2", "changed"}}));
  EXPECT_NE(m_sink.contents().find(m_tree.path("w2") + ": changed: modified while it was read"), std::string::npos)
      << m_sink.contents();
}

TEST_P(RunStageTest, FileTruncatedWhileReadIsChanged) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 11);
  add("t1", content);
  add("t2", content);
  add("t3", content);
  AfterRead observer(&m_names, StageKind::full, "t3", [&] { ASSERT_EQ(::truncate(m_tree.path("t3").c_str(), 10), 0); });
  m_observer = &observer;
  EXPECT_EQ(names(run_until(StageKind::full)), (Groups{{"t1", "t2"}}));
  EXPECT_EQ(errors(), (std::set<std::pair<std::string, std::string>>{{"t3", "changed"}}));
}

// A file removed mid-run must not be listed: a report would name a path that is gone.
TEST_P(RunStageTest, FileDeletedWhileReadVanishes) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 12);
  add("v1", content);
  add("v2", content);
  add("v3", content);
  AfterRead observer(&m_names, StageKind::full, "v1", [&] { m_tree.remove("v1"); });
  m_observer = &observer;
  EXPECT_EQ(names(run_until(StageKind::full)), (Groups{{"v2", "v3"}}));
  EXPECT_EQ(errors(), (std::set<std::pair<std::string, std::string>>{{"v1", "vanished"}}));
}

// Files of at most one block are decided by their prefix read: the check is made there too.
TEST_P(RunStageTest, SmallFileWrittenWhileReadIsChanged) {
  const std::vector<std::byte> content = pattern(100, 13);
  add("s1", content);
  add("s2", content);
  AfterRead observer(&m_names, StageKind::prefix, "s1", [&] { flip_byte(m_tree.path("s1"), 0); });
  m_observer = &observer;
  EXPECT_EQ(names(run_until(StageKind::full)), Groups{});
  EXPECT_EQ(errors(), (std::set<std::pair<std::string, std::string>>{{"s1", "changed"}}));
}

// Changed after the prefix read and before the full one: the full read refuses it up front,
// with an error, instead of silently hashing other content.
TEST_P(RunStageTest, FileChangedBetweenStagesIsChanged) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 14);
  add("b1", content);
  add("b2", content);
  add("b3", content);
  Candidates suffix = run_until(StageKind::suffix);
  EXPECT_EQ(names(suffix), (Groups{{"b1", "b2", "b3"}}));
  flip_byte(m_tree.path("b2"), static_cast<off_t>(k_block_size + 7));
  Candidates full = run(StageKind::full, suffix);
  EXPECT_EQ(names(full), (Groups{{"b1", "b3"}}));
  EXPECT_EQ(errors(), (std::set<std::pair<std::string, std::string>>{{"b2", "changed"}}));
}

// ---- cancellation (issue 8, item 4) -------------------------------------------------------

// Cancelled after a few reads of `stage`: the files not read yet must not come out grouped
// (before, they all kept the zero digest and made one group of "identical" files).
TEST_P(RunStageTest, CancelledPrefixStageGroupsNoUnreadFile) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 15);
  for (int i = 0; i < 12; ++i) {
    add("c" + std::to_string(i), content);
  }
  Candidates input = group_by_size(files(), m_config);
  AfterRead observer(&m_names, StageKind::prefix, "c1", [&] { m_cancel.cancel(); });
  m_observer = &observer;
  Candidates out = run(StageKind::prefix, input);
  ASSERT_TRUE(m_cancel.cancelled());
  for (FileIndex f : out.files) {
    EXPECT_EQ(observer.read().count(m_names[f]), 1u) << m_names[f] << " is in a group but was never read";
  }
  EXPECT_EQ(out.groups(), 0u) << "a cancelled stage returns no groups";
  EXPECT_TRUE(m_state.errors.empty()) << "a cancelled read is not a file error";
}

TEST_P(RunStageTest, CancelledFullStageGroupsNoUnreadFile) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 16);
  for (int i = 0; i < 12; ++i) {
    add("c" + std::to_string(i), content);
  }
  Candidates input = run_until(StageKind::suffix);
  ASSERT_EQ(input.files.size(), 12u);
  AfterRead observer(&m_names, StageKind::full, "c1", [&] { m_cancel.cancel(); });
  m_observer = &observer;
  Candidates out = run(StageKind::full, input);
  ASSERT_TRUE(m_cancel.cancelled());
  for (FileIndex f : out.files) {
    EXPECT_EQ(observer.read().count(m_names[f]), 1u) << m_names[f] << " is in a group but was never read";
  }
  EXPECT_EQ(out.groups(), 0u) << "a cancelled stage returns no groups";
  EXPECT_TRUE(m_state.errors.empty()) << "a cancelled read is not a file error";
}

INSTANTIATE_TEST_SUITE_P(Pools, RunStageTest, ::testing::Values(1, 3),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           return std::to_string(param_info.param) + "_pools";
                         });

}  // namespace
}  // namespace spindle

namespace spindle {
namespace {

FileTable table_of(const std::vector<std::string>& paths) {
  FileTable table;
  for (const std::string& path : paths) {
    table.add(entry_of(path), path);
  }
  return table;
}

// Whether the pages holding each of `offsets` of a file are in the page cache, asked of mincore(2):
// an oracle independent of the RWF_NOWAIT probe under test.
bool pages_cached(const std::string& path, std::initializer_list<std::uint64_t> offsets) {
  int fd = ::open(path.c_str(), O_RDONLY);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    throw std::runtime_error("cannot open " + path);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    throw std::runtime_error("cannot map " + path);
  }
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((size + page - 1) / page);
  const int rc = ::mincore(map, size, resident.data());
  ::munmap(map, size);
  if (rc != 0) {
    throw std::runtime_error("mincore failed on " + path);
  }
  return std::all_of(offsets.begin(), offsets.end(), [&](std::uint64_t at) { return (resident[at / page] & 1) != 0; });
}

// Whether RWF_NOWAIT can tell cached from uncached data where the test's files live: tmpfs
// (the default /tmp on Fedora and Arch) answers EOPNOTSUPP, old kernels EINVAL.
bool nowait_probe_works(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    return false;
  }
  char byte = 0;
  struct iovec io {
    &byte, 1
  };
  const bool works = ::preadv2(fd, &io, 1, 0, RWF_NOWAIT) >= 0 || errno == EAGAIN;
  ::close(fd);
  return works;
}

// Drop a file's clean pages from the page cache (advice: mincore tells what really went).
void drop_cached_pages(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << path;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

TEST(StageCacheHits, FilesJustReadAreCachedAndDroppedOnesAreNot) {
  TempTree tree;
  std::vector<std::string> paths;
  for (int i = 0; i < 4; ++i) {
    paths.push_back(tree.write("f" + std::to_string(i), std::string(3 * 4096 + 17, static_cast<char>('a' + i))));
  }
  FileTable table = table_of(paths);
  std::vector<FileIndex> all{0, 1, 2, 3};
  if (!nowait_probe_works(paths[0])) {
    // Not a hit, not a miss: the stage keeps its configured size (see StageTeamSize).
    EXPECT_EQ(stage_cache_hits(StageKind::prefix, table, all), std::nullopt);
    EXPECT_EQ(stage_cache_hits(StageKind::full, table, all), std::nullopt);
    GTEST_SKIP() << "the filesystem of " << tree.root()
                 << " cannot tell what is cached (no RWF_NOWAIT): checked that the probe says so";
  }
  // Just written: the pages are in the cache.
  EXPECT_EQ(stage_cache_hits(StageKind::prefix, table, all), 1.0);
  EXPECT_EQ(stage_cache_hits(StageKind::full, table, all), 1.0);

  // Written back and dropped: clean pages go with POSIX_FADV_DONTNEED.
  for (std::size_t i = 0; i < 2; ++i) {
    drop_cached_pages(paths[i]);
  }
  // POSIX_FADV_DONTNEED is advice: a page still queued on another CPU's LRU list stays. What
  // is cached is what mincore says; the probe must count exactly those files (the suffix probe
  // looks at the last block and the first).
  const std::uint64_t size = 3 * 4096 + 17;
  int cached = 0;
  for (const std::string& path : paths) {
    cached += pages_cached(path, {size - 4096, 0}) ? 1 : 0;
  }
  if (cached == 4) {
    GTEST_SKIP() << "this filesystem (" << tree.path("") << ") kept every page after POSIX_FADV_DONTNEED";
  }
  EXPECT_EQ(stage_cache_hits(StageKind::suffix, table, all), cached / 4.0);
}

TEST(StageCacheHits, NothingToProbeCannotTell) {
  FileTable table;
  FileEntry entry;
  entry.size = 10;
  table.add(entry, "/nonexistent/spindle/file");
  std::vector<FileIndex> one{0};
  EXPECT_EQ(stage_cache_hits(StageKind::prefix, table, one), std::nullopt);
  EXPECT_EQ(stage_cache_hits(StageKind::prefix, table, {}), std::nullopt);
}

// ---- pool sizes inside a stage ------------------------------------------------------------

TEST(StageTeamSize, CachedDataGetsOneReaderPerCpuOnlyWhenTheProbeSaysSo) {
  struct Row {
    int configured;
    bool adaptive;
    int cached_threads;
    std::optional<double> hits;
    int expected;
  };
  const Row rows[] = {
      {16, true, 2, 1.0, 2},              // warm: one reader per CPU
      {16, true, 2, k_cached_enough, 2},  // the threshold counts as warm
      {16, true, 2, 0.5, 16},             // cold enough: queue depth pays
      {16, true, 2, 0.0, 16},
      {16, true, 2, std::nullopt, 16},  // cannot tell (tmpfs): keep the configured size
      {16, false, 2, 1.0, 16},          // --threads is honoured exactly
      {1, true, 2, 1.0, 1},             // never grows a pool
      {2, true, 2, 1.0, 2},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(stage_team_size(row.configured, row.adaptive, row.cached_threads, row.hits), row.expected)
        << row.configured << " " << row.adaptive << " " << row.hits.value_or(-1);
  }
}

// One pool, its files written into a temp tree; runs the stages and records the team size each
// stage really used (counted inside the team by the pool itself).
class StageSizing : public ::testing::Test {
 protected:
  void write_pairs(int pairs) {
    for (int i = 0; i < pairs; ++i) {
      const std::vector<std::byte> content = pattern(3 * k_block_size + 5, static_cast<unsigned>(i));
      for (const char* copy : {"a", "b"}) {
        m_paths.push_back(m_tree.write_bytes("f" + std::to_string(i) + copy, content));
      }
    }
  }
  // Team size per stage, in order prefix, suffix, full.
  std::vector<int> run(int small, int large, bool adaptive, int cached_threads) {
    FileTable table = table_of(m_paths);
    PoolSet pools({{"pool", small}});
    const std::vector<std::uint32_t> pool_of_file(table.size(), 0);
    const std::vector<int> small_threads{small};
    const std::vector<int> large_threads{large};
    const std::vector<std::uint8_t> cache_adaptive{static_cast<std::uint8_t>(adaptive ? 1 : 0)};
    StageContext context{.config = m_config,
                         .log = m_log,
                         .cancel = m_cancel,
                         .files = table,
                         .pools = pools,
                         .pool_of_file = pool_of_file,
                         .small_threads = small_threads,
                         .large_threads = large_threads,
                         .cache_adaptive = cache_adaptive,
                         .cached_threads = cached_threads,
                         .progress = m_progress};
    StageState state;
    std::vector<int> used;
    Candidates candidates = group_by_size(table, m_config);
    for (StageKind kind : {StageKind::prefix, StageKind::suffix, StageKind::full}) {
      candidates = run_stage(kind, candidates, context, state);
      EXPECT_EQ(state.threads_used.size(), 1u);
      used.push_back(state.threads_used.empty() ? -1 : state.threads_used[0]);
    }
    EXPECT_EQ(candidates.groups(), m_paths.size() / 2) << "every pair is a group";
    EXPECT_TRUE(state.errors.empty());
    return used;
  }

  TempTree m_tree;
  TempSink m_sink;
  Logger m_log{m_sink.get(), LogLevel::debug};
  CancelToken m_cancel;
  Config m_config;
  Progress m_progress{m_log, false};
  std::vector<std::string> m_paths;
};

// -t 3,5: short reads with 3 threads, whole-file reads with 5. A full stage that took the
// short-read size (or the other way round) fails here.
TEST_F(StageSizing, FullStageUsesTheWholeFileSize) {
  write_pairs(8);
  EXPECT_EQ(run(3, 5, false, 1), (std::vector<int>{3, 3, 5}));
  EXPECT_EQ(run(5, 2, false, 1), (std::vector<int>{5, 5, 2}));
}

// Warm data (just written): a pool that may adapt uses one reader per CPU. Where the filesystem
// cannot tell (tmpfs), it keeps its configured size: not cached is not what it knows either.
TEST_F(StageSizing, WarmCacheUsesCachedThreadsWhereTheProbeCanTell) {
  write_pairs(8);
  if (nowait_probe_works(m_paths[0])) {
    EXPECT_EQ(run(6, 4, true, 2), (std::vector<int>{2, 2, 2}));
  } else {
    std::printf("note: %s cannot tell what is cached (no RWF_NOWAIT); checking the sizes stay\n",
                m_tree.root().c_str());
    EXPECT_EQ(run(6, 4, true, 2), (std::vector<int>{6, 6, 4}));
  }
  // Sizes from --threads are never adapted.
  EXPECT_EQ(run(6, 4, false, 2), (std::vector<int>{6, 6, 4}));
}

TEST_F(StageSizing, ColdCacheKeepsTheConfiguredSize) {
  write_pairs(8);
  for (const std::string& path : m_paths) {
    drop_cached_pages(path);
  }
  std::size_t cached = 0;
  for (const std::string& path : m_paths) {
    cached += pages_cached(path, {0}) ? 1 : 0;
  }
  if (cached * 2 > m_paths.size()) {
    GTEST_SKIP() << "the filesystem of " << m_tree.root() << " kept " << cached << " of " << m_paths.size()
                 << " files cached after POSIX_FADV_DONTNEED";
  }
  // The prefix stage probes the first blocks, which are cold; the later stages read what the
  // prefix read brought in, so only the first is asserted.
  EXPECT_EQ(run(6, 4, true, 2)[0], 6);
}

// ---- descriptors (issue 8, item 6) --------------------------------------------------------

// Restores RLIMIT_NOFILE when the test ends, however it ends.
class DescriptorLimit {
 public:
  explicit DescriptorLimit(std::size_t soft) {
    EXPECT_EQ(::getrlimit(RLIMIT_NOFILE, &m_saved), 0);
    struct rlimit tight = m_saved;
    tight.rlim_cur = static_cast<rlim_t>(soft);
    EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  }
  ~DescriptorLimit() { ::setrlimit(RLIMIT_NOFILE, &m_saved); }
  DescriptorLimit(const DescriptorLimit&) = delete;
  DescriptorLimit& operator=(const DescriptorLimit&) = delete;

 private:
  struct rlimit m_saved {};
};

std::size_t open_descriptor_count() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count - 1;  // the iterator's own
}

// Many readers (a 16-thread pool beside two one-thread pools with read-ahead windows) under a
// limit that leaves a handful of descriptors: every file is read, none fails with EMFILE.
// Without the budget the 16 threads and the windows run past the limit and lose files.
TEST(StageDescriptors, TightLimitReadsEveryFileWithoutEmfile) {
  TempTree tree;
  std::vector<std::string> paths;
  for (int i = 0; i < 40; ++i) {
    const std::vector<std::byte> content = pattern(3 * k_block_size + 1, static_cast<unsigned>(i));
    paths.push_back(tree.write_bytes("p" + std::to_string(i) + "a", content));
    paths.push_back(tree.write_bytes("p" + std::to_string(i) + "b", content));
  }
  FileTable table = table_of(paths);
  TempSink sink;
  Logger log{sink.get(), LogLevel::info};
  CancelToken cancel;
  Config config;
  Progress progress{log, false};
  PoolSet pools({{"one", 1}, {"many", 16}, {"other", 1}});
  std::vector<std::uint32_t> pool_of_file(table.size());
  for (FileIndex f = 0; f < table.size(); ++f) {
    pool_of_file[f] = f % 3;
  }
  const std::vector<int> threads{1, 16, 1};
  const std::vector<std::uint8_t> cache_adaptive(3, 0);
  StageState state;
  Candidates candidates = group_by_size(table, config);
  {
    DescriptorLimit limit(open_descriptor_count() + 8);
    FdBudget descriptors(free_descriptors(2));
    ASSERT_LE(descriptors.capacity(), 6u);
    StageContext context{.config = config,
                         .log = log,
                         .cancel = cancel,
                         .files = table,
                         .pools = pools,
                         .pool_of_file = pool_of_file,
                         .small_threads = threads,
                         .large_threads = threads,
                         .cache_adaptive = cache_adaptive,
                         .cached_threads = 1,
                         .progress = progress,
                         .descriptors = &descriptors};
    for (StageKind kind : {StageKind::prefix, StageKind::suffix, StageKind::full}) {
      candidates = run_stage(kind, candidates, context, state);
    }
    EXPECT_EQ(descriptors.in_use(), 0u) << "every descriptor of the budget came back";
  }
  EXPECT_EQ(candidates.groups(), 40u);
  for (const FileError& error : state.errors) {
    ADD_FAILURE() << error.path << ": " << error.reason();
  }
  // -v says what was shrunk to fit.
  EXPECT_NE(sink.contents().find("files open for reading"), std::string::npos) << sink.contents();
}

}  // namespace
}  // namespace spindle
