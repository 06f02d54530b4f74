#include "fakes/fake_device_probe.hpp"
#include "fakes/temp_tree.hpp"

#include <spindle/device.hpp>
#include <spindle/group.hpp>
#include <spindle/pools.hpp>
#include <spindle/reader.hpp>

#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace spindle {
namespace {

using fakes::FakeDeviceProbe;
using fakes::TempSink;
using fakes::TempTree;
using Group = std::vector<std::string>;  // relative paths, in report order
using GroupSet = std::set<std::set<std::string>>;

// ---- sort_groups on a synthetic table -------------------------------------------------------

DuplicateGroup make_group(std::uint64_t size, Digest hash, std::vector<FileIndex> files) {
  DuplicateGroup group;
  group.size = size;
  group.hash = hash;
  group.files = std::move(files);
  return group;
}

TEST(SortGroups, WastedThenSizeThenHashThenFirstPath) {
  FileTable table;
  for (const char* path : {"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "q0", "q1", "q2", "q3"}) {
    table.add(FileEntry{}, path);
  }
  std::vector<DuplicateGroup> groups;
  groups.push_back(make_group(100, Digest{0, 1}, {0, 1, 2}));  // wasted 200, size 100
  groups.push_back(make_group(200, Digest{0, 9}, {3, 4}));     // wasted 200, size 200: before the above
  groups.push_back(make_group(50, Digest{0, 1}, {5, 6}));      // wasted 50
  groups.push_back(make_group(1000, Digest{0, 1}, {7, 8}));    // wasted 1000: first
  groups.push_back(make_group(50, Digest{0, 0}, {9, 10}));     // wasted 50, smaller hash
  groups.push_back(make_group(10, Digest{5, 5}, {13, 12}));    // wasted 10, same hash as next
  groups.push_back(make_group(10, Digest{5, 5}, {11, 10}));    // first path q0 < q2
  sort_groups(groups, table);
  std::vector<std::vector<FileIndex>> order;
  for (const DuplicateGroup& group : groups) {
    order.push_back(group.files);
  }
  // Within a group, files are sorted by path too.
  EXPECT_EQ(order,
            (std::vector<std::vector<FileIndex>>{{7, 8}, {3, 4}, {0, 1, 2}, {9, 10}, {5, 6}, {10, 11}, {12, 13}}));
}

TEST(SortGroups, PathsCompareBytewise) {
  FileTable table;
  table.add(FileEntry{}, "b");
  table.add(FileEntry{}, "\xc3\xa9");  // é: bytes above 0x7f sort after ASCII
  table.add(FileEntry{}, "B");
  std::vector<DuplicateGroup> groups{make_group(1, Digest{}, {0, 1, 2})};
  sort_groups(groups, table);
  EXPECT_EQ(groups[0].files, (std::vector<FileIndex>{2, 0, 1}));
}

// ---- remove_aliases on a synthetic table ----------------------------------------------------

// Parents that do not exist: directory_entry() then keeps each path as written.
FileEntry inode_entry(std::uint64_t ino, std::uint64_t dev = 1, bool via_symlink = false) {
  FileEntry entry;
  entry.size = 10;
  entry.ino = ino;
  entry.set_device(dev);
  entry.via_symlink = via_symlink ? 1 : 0;
  return entry;
}

std::vector<std::string> paths_of(const FileTable& files) {
  std::vector<std::string> paths;
  for (FileIndex f = 0; f < files.size(); ++f) {
    paths.push_back(files.path(f));
  }
  return paths;
}

TEST(RemoveAliases, OnePathPerInodeRemainsTheSmallestInWalkOrder) {
  FileTable table;
  table.add(inode_entry(5), "no-such-dir/d/b");
  table.add(inode_entry(7), "no-such-dir/a");
  table.add(inode_entry(5), "no-such-dir/c");
  table.add(inode_entry(5), "no-such-dir/d/a");
  remove_aliases(table, Config{});
  EXPECT_EQ(paths_of(table), (std::vector<std::string>{"no-such-dir/a", "no-such-dir/c"}));
}

TEST(RemoveAliases, APathThroughASymlinkGoesEvenWhenItSortsFirst) {
  FileTable table;
  table.add(inode_entry(5), "no-such-dir/z");
  table.add(inode_entry(5, 1, true), "no-such-dir/a");
  remove_aliases(table, Config{});
  EXPECT_EQ(paths_of(table), (std::vector<std::string>{"no-such-dir/z"}));
}

TEST(RemoveAliases, WithHardLinksEveryLinkStaysButNeitherAliasNorRepeat) {
  FileTable table;
  table.add(inode_entry(5), "no-such-dir/x/2");
  table.add(inode_entry(5, 1, true), "no-such-dir/a");
  table.add(inode_entry(5), "no-such-dir/x/1");
  table.add(inode_entry(5), "no-such-dir/x/2");  // the same directory entry listed twice
  Config config;
  config.hard_links = true;
  remove_aliases(table, config);
  EXPECT_EQ(paths_of(table), (std::vector<std::string>{"no-such-dir/x/2", "no-such-dir/x/1"}));
}

TEST(RemoveAliases, TheSameInodeNumberOnAnotherDeviceIsAnotherFile) {
  FileTable table;
  table.add(inode_entry(5, 1), "no-such-dir/a");
  table.add(inode_entry(5, 2), "no-such-dir/b");
  remove_aliases(table, Config{});
  EXPECT_EQ(paths_of(table).size(), 2u);
}

TEST(RemoveAliases, DifferentInodesWhoseHashesCollideAreBothKept) {
  // Two inode numbers with one hash, found by trying random ones (a 32-bit hash: about 80k tries;
  // consecutive numbers, as filesystems hand out, collide far later).
  std::map<std::uint32_t, std::uint64_t> seen;
  std::mt19937_64 random(15);
  std::uint64_t first = 0;
  std::uint64_t second = 0;
  while (second == 0) {
    const std::uint64_t ino = random();
    auto [at, fresh] = seen.emplace(inode_hash(inode_entry(ino)), ino);
    if (!fresh && at->second != ino) {
      first = at->second;
      second = ino;
    }
  }
  ASSERT_EQ(inode_hash(inode_entry(first)), inode_hash(inode_entry(second)));
  FileTable table;
  table.add(inode_entry(second), "no-such-dir/q");
  table.add(inode_entry(first), "no-such-dir/r");
  table.add(inode_entry(first), "no-such-dir/p");   // a second path of `first`: only p remains
  table.add(inode_entry(second), "no-such-dir/s");  // and of `second`: only q remains
  remove_aliases(table, Config{});
  EXPECT_EQ(paths_of(table), (std::vector<std::string>{"no-such-dir/q", "no-such-dir/p"}));
}

TEST(DuplicateGroup, WastedIsSizeTimesExtraCopies) {
  EXPECT_EQ(make_group(10, Digest{}, {}).wasted(), 0u);
  EXPECT_EQ(make_group(10, Digest{}, {1}).wasted(), 0u);
  EXPECT_EQ(make_group(10, Digest{}, {1, 2, 3}).wasted(), 20u);
}

// ---- run_group end to end ---------------------------------------------------------------------

std::string pattern(std::size_t size, unsigned seed) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<char>((i * 131 + seed * 17 + 3) % 253);
  }
  return bytes;
}

std::string with_byte_changed(std::string bytes, std::size_t at) {
  bytes[at] = static_cast<char>(~bytes[at]);
  return bytes;
}

std::span<const std::byte> as_bytes(const std::string& text) {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

// Files under data/ in a temp tree, grouped by run_group with a fake device probe (every st_dev
// is an unknown device with default pools), no stored calibration and the system reader.
class RunGroupTest : public ::testing::Test {
 protected:
  RunGroupTest() {
    m_tree.mkdir("data");
    m_config.paths = {m_tree.path("data")};
    m_config.progress = ProgressMode::never;
  }

  GroupResult run() { return run_group(m_config, m_log, m_cancel, {m_probe, m_calibration, m_reader}); }

  std::string relative(std::string_view path) const {
    const std::string prefix = m_tree.path("data/");
    EXPECT_EQ(path.substr(0, prefix.size()), prefix);
    return std::string(path.substr(prefix.size()));
  }

  std::vector<Group> groups(const GroupResult& result) const {
    std::vector<Group> out;
    for (const DuplicateGroup& group : result.groups) {
      Group names;
      for (FileIndex f : group.files) {
        names.push_back(relative(result.files.path(f)));
      }
      out.push_back(names);
    }
    return out;
  }

  static GroupSet as_set(const std::vector<Group>& groups) {
    GroupSet out;
    for (const Group& group : groups) {
      out.insert(std::set<std::string>(group.begin(), group.end()));
    }
    return out;
  }

  // The oracle: read every non-empty regular file under data/ and group identical contents.
  GroupSet brute_force_groups() const {
    std::map<std::string, std::set<std::string>> by_content;
    collect(m_tree.path("data"), "", by_content);
    GroupSet out;
    for (const auto& [content, paths] : by_content) {
      if (paths.size() >= 2) {
        out.insert(paths);
      }
    }
    return out;
  }

  static void collect(const std::string& dir, const std::string& prefix,
                      std::map<std::string, std::set<std::string>>& by_content) {
    DIR* handle = ::opendir(dir.c_str());
    ASSERT_NE(handle, nullptr) << dir;
    while (struct dirent* entry = ::readdir(handle)) {
      std::string name = entry->d_name;
      if (name == "." || name == "..") {
        continue;
      }
      std::string path = dir + "/" + name;
      struct stat st {};
      ASSERT_EQ(::lstat(path.c_str(), &st), 0) << path;
      if (S_ISDIR(st.st_mode)) {
        collect(path, prefix + name + "/", by_content);
      } else if (S_ISREG(st.st_mode) && st.st_size > 0) {
        std::ifstream in(path, std::ios::binary);
        std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        by_content[content].insert(prefix + name);
      }
    }
    ::closedir(handle);
  }

  TempTree m_tree;
  TempSink m_sink;
  Logger m_log{m_sink.get(), LogLevel::warning};  // errors and warnings, not the device notes
  CancelToken m_cancel;
  Config m_config;
  FakeDeviceProbe m_probe;
  Calibration m_calibration;
  SystemReader m_reader;
};

// Ten non-empty files: two duplicate groups and every kind of near miss the stages must split.
class RunGroupMixedTreeTest : public RunGroupTest {
 protected:
  RunGroupMixedTreeTest() {
    m_tree.write("data/a/x1", m_x);
    m_tree.write("data/b/x2", m_x);
    m_tree.write("data/z", with_byte_changed(m_x, 5000));  // same size and ends as x: split at full
    m_tree.write("data/a/y1", m_y);
    m_tree.write("data/b/y2", m_y);
    m_tree.write("data/c/y3", m_y);
    m_tree.write("data/w1", pattern(50, 3));  // same size, different first block: split at prefix
    m_tree.write("data/w2", pattern(50, 4));
    const std::string big = pattern(3 * 4096, 5);
    m_tree.write("data/a/big1", big);
    m_tree.write("data/b/big2", with_byte_changed(big, 6000));  // differs in the middle block only
    m_tree.write("data/e1", "");                                // empty files are not candidates without include_empty
    m_tree.write("data/e2", "");
  }

  const std::string m_x = pattern(10000, 1);
  const std::string m_y = pattern(100, 2);
};

TEST_F(RunGroupMixedTreeTest, GroupsEqualTheExpectedSetsInReportOrder) {
  GroupResult result = run();
  ASSERT_FALSE(result.cancelled);
  // Most wasted space first (10000 before 2 * 100); files by path within a group.
  EXPECT_EQ(groups(result), (std::vector<Group>{{"a/x1", "b/x2"}, {"a/y1", "b/y2", "c/y3"}}));
  EXPECT_EQ(as_set(groups(result)), brute_force_groups());
  ASSERT_EQ(result.groups.size(), 2u);
  EXPECT_EQ(result.groups[0].size, m_x.size());
  EXPECT_EQ(result.groups[0].hash, hash_bytes(as_bytes(m_x)));
  EXPECT_EQ(result.groups[1].size, m_y.size());
  EXPECT_EQ(result.groups[1].hash, hash_bytes(as_bytes(m_y)));
  EXPECT_TRUE(result.errors.empty());
}

TEST_F(RunGroupMixedTreeTest, StatsCountFilesGroupsAndWaste) {
  GroupResult result = run();
  const RunStats& stats = result.stats;
  EXPECT_EQ(stats.files_scanned, 10u);
  EXPECT_EQ(stats.bytes_scanned, 3 * 10000u + 3 * 100u + 2 * 50u + 2 * 3 * 4096u);
  EXPECT_EQ(stats.directories, 4u);  // data, a, b, c
  EXPECT_EQ(stats.groups, 2u);
  EXPECT_EQ(stats.duplicate_files, 1u + 2u);
  EXPECT_EQ(stats.wasted_bytes, 10000u + 2 * 100u);
  EXPECT_EQ(stats.errors, 0u);
  std::vector<std::string> names;
  for (const StageReport& stage : stats.stages) {
    names.push_back(stage.name);
  }
  ASSERT_EQ(names, (std::vector<std::string>{"walk", "size", "prefix", "suffix", "full"}));
  // Candidates left after each pass: w1/w2 go at prefix, z and big1/big2 at full.
  EXPECT_EQ(stats.stages[0].files_out, 10u);
  EXPECT_EQ(stats.stages[1].files_in, 10u);
  EXPECT_EQ(stats.stages[1].files_out, 10u);
  EXPECT_EQ(stats.stages[1].groups_out, 4u);
  EXPECT_EQ(stats.stages[2].files_out, 8u);
  EXPECT_EQ(stats.stages[2].groups_out, 3u);
  EXPECT_EQ(stats.stages[3].files_out, 8u);
  EXPECT_EQ(stats.stages[4].files_out, 5u);
  EXPECT_EQ(stats.stages[4].groups_out, 2u);
  // Bytes each pass read: a block (or less) per file at prefix; a block per file over two blocks
  // at suffix; whole files over one block at full.
  const std::uint64_t prefix = 3 * 4096 + 3 * 100 + 2 * 50 + 2 * 4096;
  const std::uint64_t suffix = 3 * 4096 + 2 * 4096;
  const std::uint64_t full = 3 * 10000 + 2 * 3 * 4096;
  EXPECT_EQ(stats.stages[2].bytes_read, prefix);
  EXPECT_EQ(stats.stages[3].bytes_read, suffix);
  EXPECT_EQ(stats.stages[4].bytes_read, full);
  EXPECT_EQ(stats.bytes_read, prefix + suffix + full);
  ASSERT_EQ(stats.pools.size(), 1u);  // one st_dev, one pool
  EXPECT_EQ(stats.pools[0].bytes_read, prefix + suffix + full);
}

TEST_F(RunGroupMixedTreeTest, CancelledBeforeTheRunIsMarkedCancelled) {
  m_cancel.cancel();
  GroupResult result = run();
  EXPECT_TRUE(result.cancelled);
  EXPECT_TRUE(result.groups.empty());
}

TEST_F(RunGroupTest, GeneratedTreeMatchesTheBruteForceOracle) {
  // Sizes around the block edges, contents that differ from the base at the first byte, in the
  // middle or at the last byte, spread over a few directories. Deterministic, no randomness.
  const std::size_t sizes[] = {1, 100, 4095, 4096, 4097, 8191, 8192, 8193, 12289, 70000};
  for (std::size_t s = 0; s < std::size(sizes); ++s) {
    const std::size_t size = sizes[s];
    const std::string base = pattern(size, static_cast<unsigned>(s));
    const std::string variants[] = {base, with_byte_changed(base, 0), with_byte_changed(base, size / 2),
                                    with_byte_changed(base, size - 1)};
    for (std::size_t copy = 0; copy < 7; ++copy) {
      const std::size_t variant = (copy * 3 + s) % 4;
      m_tree.write("data/d" + std::to_string(copy % 3) + "/s" + std::to_string(s) + "_" + std::to_string(copy),
                   variants[variant]);
    }
  }
  GroupResult result = run();
  EXPECT_TRUE(result.errors.empty());
  EXPECT_EQ(as_set(groups(result)), brute_force_groups());
}

TEST_F(RunGroupTest, HardLinksAreOnePathUnlessHardLinksCount) {
  const std::string content = pattern(5000, 6);
  m_tree.write("data/a1", content);
  m_tree.hard_link("data/a1", "data/a2");
  m_tree.write("data/copy", content);
  m_tree.hard_link("data/copy", "data/sub/copy_link");
  // One path per inode, the smallest: a report must never offer two names of one file as copies.
  EXPECT_EQ(groups(run()), (std::vector<Group>{{"a1", "copy"}}));
  m_config.hard_links = true;
  EXPECT_EQ(groups(run()), (std::vector<Group>{{"a1", "a2", "copy", "sub/copy_link"}}));
}

TEST_F(RunGroupTest, HardLinksAloneAreNoGroupWithoutHardLinks) {
  m_tree.write("data/only", pattern(5000, 7));
  m_tree.hard_link("data/only", "data/other_name");
  EXPECT_TRUE(run().groups.empty());
}

TEST_F(RunGroupTest, SymlinkToAFileIsNeverItsDuplicate) {
  const std::string content = pattern(5000, 8);
  m_tree.write("data/real", content);
  m_tree.symlink("real", "data/link");
  m_tree.write("data/lonely", pattern(6000, 9));
  m_tree.symlink("lonely", "data/lonely_link");
  m_config.follow_links = true;
  EXPECT_TRUE(run().groups.empty());
  m_tree.write("data/copy", content);
  EXPECT_EQ(groups(run()), (std::vector<Group>{{"copy", "real"}}));
  m_config.hard_links = true;  // still an alias, not a hard link
  EXPECT_EQ(groups(run()), (std::vector<Group>{{"copy", "real"}}));
}

TEST_F(RunGroupTest, SymlinkNamedAsAPathIsNeverACopyOfItsTarget) {
  // Followed because it is a PATH (as find -H), it is still an alias: with or without -H,
  // whichever comes first, and without -L.
  m_tree.write("data/real", pattern(5000, 12));
  m_tree.symlink("real", "data/link");
  for (bool hard_links : {false, true}) {
    m_config.hard_links = hard_links;
    m_config.paths = {m_tree.path("data/link"), m_tree.path("data")};
    EXPECT_TRUE(run().groups.empty()) << "hard_links " << hard_links;
    m_config.paths = {m_tree.path("data"), m_tree.path("data/link")};
    EXPECT_TRUE(run().groups.empty()) << "hard_links " << hard_links;
    m_config.paths = {m_tree.path("data/link"), m_tree.path("data/real")};
    EXPECT_TRUE(run().groups.empty()) << "hard_links " << hard_links;
  }
}

TEST_F(RunGroupTest, FileNamedTwiceIsNotItsOwnDuplicate) {
  m_tree.write("data/f", pattern(5000, 10));
  m_config.paths = {m_tree.path("data/f"), m_tree.path("data/f"), m_tree.path("data")};
  EXPECT_TRUE(run().groups.empty());
  m_config.hard_links = true;
  EXPECT_TRUE(run().groups.empty());
}

TEST_F(RunGroupTest, WalkErrorsReachTheResultAndTheCount) {
  const std::string content = pattern(5000, 11);
  m_tree.write("data/a", content);
  m_tree.write("data/b", content);
  m_config.paths = {m_tree.path("data"), m_tree.path("missing")};
  GroupResult result = run();
  EXPECT_EQ(groups(result), (std::vector<Group>{{"a", "b"}}));
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].op, "stat");
  EXPECT_EQ(result.errors[0].errnum, ENOENT);
  EXPECT_EQ(result.stats.errors, 1u);
  // Logged as it happened, on one line.
  EXPECT_EQ(m_sink.contents(), "spindle: " + m_tree.path("missing") + ": stat: No such file or directory\n");
}

TEST_F(RunGroupTest, CopiesOnTwoDevicesAreReadByTheirOwnPools) {
  // /dev/shm is a tmpfs on most Linux systems: a second st_dev next to the temp dir.
  struct stat shm {};
  struct stat tmp {};
  if (::stat("/dev/shm", &shm) != 0 || ::stat(m_tree.root().c_str(), &tmp) != 0 || shm.st_dev == tmp.st_dev ||
      ::access("/dev/shm", W_OK) != 0) {
    GTEST_SKIP() << "needs a writable /dev/shm on another filesystem than " << m_tree.root();
  }
  TempTree other("/dev/shm");
  const std::string content = pattern(20000, 12);
  m_tree.write("data/here", content);
  other.write("there", content);
  m_probe.facts_by_st_dev[tmp.st_dev] = fakes::disk_facts("disk_a", 8, 0, DeviceClass::ssd);
  m_probe.facts_by_st_dev[shm.st_dev] = fakes::disk_facts("disk_b", 8, 16, DeviceClass::ssd);
  m_config.paths = {m_tree.path("data"), other.root()};
  GroupResult result = run();
  ASSERT_EQ(result.groups.size(), 1u);
  std::set<std::string> paths;
  for (FileIndex f : result.groups[0].files) {
    paths.insert(std::string(result.files.path(f)));
  }
  EXPECT_EQ(paths, (std::set<std::string>{m_tree.path("data/here"), other.path("there")}));
  ASSERT_EQ(result.stats.pools.size(), 2u);
  for (const PoolReport& pool : result.stats.pools) {
    // prefix, suffix and full: three reads of the one file on this device.
    EXPECT_EQ(pool.files, 3u) << pool.device;
    EXPECT_EQ(pool.bytes_read, 4096u + 4096u + content.size()) << pool.device;
  }
}

TEST_F(RunGroupTest, EmptyFilesGroupOnlyWithIncludeEmpty) {
  m_tree.write("data/e1", "");
  m_tree.write("data/e2", "");
  EXPECT_TRUE(run().groups.empty());
  m_config.include_empty = true;
  GroupResult result = run();
  EXPECT_EQ(groups(result), (std::vector<Group>{{"e1", "e2"}}));
  ASSERT_EQ(result.groups.size(), 1u);
  EXPECT_EQ(result.groups[0].hash, hash_bytes({}));
}

}  // namespace
}  // namespace spindle
