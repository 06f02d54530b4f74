#include "fakes/temp_tree.hpp"

#include <spindle/device.hpp>
#include <spindle/pools.hpp>
#include <spindle/threads_spec.hpp>
#include <spindle/walk.hpp>

#include <climits>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace spindle {
namespace {

using fakes::TempSink;
using fakes::TempTree;
using Paths = std::set<std::string>;

// Runs walks over one tree and reports what they found relative to the tree's root, so the
// expected sets read like the tree that was built.
class WalkTest : public ::testing::Test {
 protected:
  WalkTest() { m_config.paths = {m_tree.root()}; }

  WalkResult run() { return walk(m_config, m_log, m_cancel, m_mounts); }

  Paths relative_paths(const WalkResult& result) const {
    Paths paths;
    const std::string prefix = m_tree.root() + "/";
    for (FileIndex i = 0; i < result.files.size(); ++i) {
      std::string path(result.files.path(i));
      EXPECT_EQ(path.compare(0, prefix.size(), prefix), 0) << path << " is outside " << prefix;
      EXPECT_TRUE(paths.insert(path.substr(prefix.size())).second) << path << " listed twice";
    }
    return paths;
  }

  Paths walk_paths() { return relative_paths(run()); }

  const FileEntry* find(const WalkResult& result, const std::string& relative) const {
    for (FileIndex i = 0; i < result.files.size(); ++i) {
      if (result.files.path(i) == m_tree.path(relative)) {
        return &result.files[i];
      }
    }
    return nullptr;
  }

  TempTree m_tree;
  TempSink m_sink;
  Logger m_log{m_sink.get(), LogLevel::debug};
  CancelToken m_cancel;
  // The machine's mounts, as run_group gets them from the device probe.
  std::vector<Mount> m_mounts = make_system_probe()->mounts();
  Config m_config;
};

// A budget stops the walk early (calibration's sample of a device): files found past a bound are
// only those the walk's threads were adding as it was met, at most one each.
TEST_F(WalkTest, BudgetOfFilesStopsTheWalkEarlyWithoutErrors) {
  constexpr int k_dirs = 40;
  constexpr int k_per_dir = 20;
  for (int d = 0; d < k_dirs; ++d) {
    for (int f = 0; f < k_per_dir; ++f) {
      m_tree.write("d" + std::to_string(d) + "/f" + std::to_string(f), "1234567890");
    }
  }
  const WalkBudget budget{.max_files = 5, .out_of_time = {}};
  WalkResult result = walk(m_config, m_log, m_cancel, m_mounts, nullptr, &budget);
  const std::size_t threads = static_cast<std::size_t>(m_config.threads.main_threads());
  EXPECT_GE(result.files.size(), 5u);
  EXPECT_LE(result.files.size(), 5 + threads);
  EXPECT_TRUE(result.errors.empty());
  EXPECT_FALSE(m_cancel.cancelled()) << "the budget stops the walk, not the caller's run";
  EXPECT_EQ(run().files.size(), std::size_t{k_dirs * k_per_dir}) << "an unbounded walk finds them all";
}

// Bytes are counted as a reader taking at most bytes_per_file of each file would read them.
TEST_F(WalkTest, BudgetOfBytesCountsAtMostBytesPerFileOfEach) {
  for (int f = 0; f < 100; ++f) {
    m_tree.write("d" + std::to_string(f % 5) + "/f" + std::to_string(f), std::string(1000, 'x'));
  }
  const WalkBudget budget{.max_bytes = 1000, .bytes_per_file = 100, .out_of_time = {}};
  WalkResult result = walk(m_config, m_log, m_cancel, m_mounts, nullptr, &budget);
  const std::size_t threads = static_cast<std::size_t>(m_config.threads.main_threads());
  EXPECT_GE(result.files.size(), 10u) << "ten files of 1000 bytes count 100 each";
  EXPECT_LE(result.files.size(), 10 + threads);
}

TEST_F(WalkTest, BudgetOutOfTimeFromTheStartListsNothing) {
  m_tree.write("a", "a");
  m_tree.write("d/b", "b");
  std::atomic<int> looks{0};  // asked from the walk's threads
  const WalkBudget budget{.out_of_time = [&] { return ++looks > 0; }};
  WalkResult result = walk(m_config, m_log, m_cancel, m_mounts, nullptr, &budget);
  EXPECT_EQ(result.files.size(), 0u);
  EXPECT_GT(looks.load(), 0);
  EXPECT_FALSE(m_cancel.cancelled());
}

TEST_F(WalkTest, FindsFilesInNestedDirectoriesAndCountsDirectories) {
  m_tree.write("a", "a");
  m_tree.write("d1/b", "b");
  m_tree.write("d1/d2/c", "c");
  m_tree.write("d1/d2/d3/e", "e");
  m_tree.mkdir("empty_dir");
  WalkResult result = run();
  EXPECT_EQ(relative_paths(result), (Paths{"a", "d1/b", "d1/d2/c", "d1/d2/d3/e"}));
  EXPECT_EQ(result.directories, 5u);  // the root, d1, d2, d3, empty_dir
  EXPECT_TRUE(result.errors.empty());
  EXPECT_EQ(result.skipped_special, 0u);
}

TEST(KernelInterfaceDevs, KernelStateFilesystemsButNotDevtmpfsOrAutofs) {
  const std::vector<Mount> mounts{
      {.st_dev = 5, .fs_type = "proc", .source = "proc", .mount_point = "/proc"},
      {.st_dev = 3, .fs_type = "sysfs", .source = "sysfs", .mount_point = "/sys"},
      {.st_dev = 9, .fs_type = "cgroup2", .source = "cgroup2", .mount_point = "/sys/fs/cgroup"},
      {.st_dev = 7, .fs_type = "devtmpfs", .source = "udev", .mount_point = "/dev"},
      {.st_dev = 8, .fs_type = "autofs", .source = "systemd-1", .mount_point = "/mnt/auto"},
      {.st_dev = 2049, .fs_type = "ext4", .source = "/dev/vda1", .mount_point = "/"},
      {.st_dev = 30, .fs_type = "tmpfs", .source = "tmpfs", .mount_point = "/dev/shm"},
  };
  EXPECT_EQ(kernel_interface_devs(mounts), (std::vector<std::uint64_t>{3, 5, 9}));
}

TEST_F(WalkTest, EntriesCarryTheStatOfTheirFile) {
  std::string path = m_tree.write("f", "12345");
  m_tree.hard_link("f", "g");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  WalkResult result = run();
  const FileEntry* entry = find(result, "f");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->size, 5u);
  EXPECT_EQ(entry->ino, st.st_ino);
  EXPECT_EQ(entry->device(), st.st_dev);
  EXPECT_EQ(entry->via_symlink, 0u);
  EXPECT_EQ(entry->mtime_ns, static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec);
  EXPECT_EQ(entry->ctime_ns, static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec);
}

TEST_F(WalkTest, HiddenFilesAndDirectoriesFollowIncludeHidden) {
  m_tree.write("visible", "v");
  m_tree.write(".hidden", "h");
  m_tree.write(".hidden_dir/inside", "i");
  m_tree.write("dir/.dotfile", "d");
  m_config.include_hidden = true;
  EXPECT_EQ(walk_paths(), (Paths{"visible", ".hidden", ".hidden_dir/inside", "dir/.dotfile"}));
  m_config.include_hidden = false;
  EXPECT_EQ(walk_paths(), (Paths{"visible"}));
}

TEST_F(WalkTest, NameGlobsKeepMatchingFilesAtAnyDepth) {
  m_tree.write("a.txt", "a");
  m_tree.write("b.dat", "b");
  m_tree.write("sub.txt/c.txt", "c");  // a directory that matches is still only a directory
  m_tree.write("sub.txt/d.dat", "d");
  m_tree.write("x/y/e.csv", "e");
  m_config.name_globs = {"*.txt", "*.csv"};
  EXPECT_EQ(walk_paths(), (Paths{"a.txt", "sub.txt/c.txt", "x/y/e.csv"}));
}

TEST_F(WalkTest, BaseNameExcludeDropsFilesAndWholeDirectories) {
  m_tree.write("keep", "k");
  m_tree.write("app.log", "l");
  m_tree.write("sub/deep.log", "l");
  m_tree.write("sub/keep2", "k");
  m_tree.write("cache/anything", "c");
  m_tree.write("cache/more/stuff", "c");
  m_config.exclude_globs = {"*.log", "cache"};
  EXPECT_EQ(walk_paths(), (Paths{"keep", "sub/keep2"}));
}

TEST_F(WalkTest, FullPathExcludeMatchesOnlyThatPath) {
  // A glob holding '/' is matched against the whole path as walked, not the base name.
  m_tree.write("d1/x.bin", "1");
  m_tree.write("d2/x.bin", "2");
  m_tree.write("d3/skip/y", "3");
  m_tree.write("d4/skip/y", "4");
  m_config.exclude_globs = {"*/d1/x.bin", m_tree.path("d3/skip")};
  EXPECT_EQ(walk_paths(), (Paths{"d2/x.bin", "d4/skip/y"}));
}

TEST_F(WalkTest, MinAndMaxSizeAreInclusive) {
  m_tree.write("s1", std::string(1, 'x'));
  m_tree.write("s10", std::string(10, 'x'));
  m_tree.write("s100", std::string(100, 'x'));
  m_tree.write("s1000", std::string(1000, 'x'));
  m_config.min_size = 10;
  m_config.max_size = 100;
  EXPECT_EQ(walk_paths(), (Paths{"s10", "s100"}));
  m_config.min_size = 11;
  m_config.max_size.reset();
  EXPECT_EQ(walk_paths(), (Paths{"s100", "s1000"}));
}

TEST_F(WalkTest, EmptyFilesOnlyWithIncludeEmpty) {
  m_tree.write("empty", "");
  m_tree.write("sub/empty2", "");
  m_tree.write("full", "x");
  EXPECT_EQ(walk_paths(), (Paths{"full"}));
  m_config.include_empty = true;
  EXPECT_EQ(walk_paths(), (Paths{"empty", "sub/empty2", "full"}));
}

TEST_F(WalkTest, SymlinksAreSkippedByDefault) {
  m_tree.write("in/real", "r");
  m_tree.write("out/target", "t");
  m_tree.symlink("real", "in/file_link");
  m_tree.symlink("../out", "in/dir_link");
  m_config.paths = {m_tree.path("in")};
  WalkResult result = run();
  ASSERT_EQ(result.files.size(), 1u);
  EXPECT_EQ(result.files.path(0), m_tree.path("in/real"));
  EXPECT_TRUE(result.errors.empty());
}

TEST_F(WalkTest, FollowLinksListsLinkedFilesAndDirectories) {
  m_tree.write("in/real", "r");
  m_tree.write("out/target", "t");
  m_tree.write("out/nested/deeper", "d");
  m_tree.symlink("real", "in/file_link");
  m_tree.symlink("../out", "in/dir_link");
  m_tree.symlink("missing", "in/dangling");  // skipped quietly: nothing to read
  m_config.paths = {m_tree.path("in")};
  m_config.follow_links = true;
  WalkResult result = run();
  EXPECT_EQ(relative_paths(result),
            (Paths{"in/real", "in/file_link", "in/dir_link/target", "in/dir_link/nested/deeper"}));
  EXPECT_TRUE(result.errors.empty());
  const FileEntry* link = find(result, "in/file_link");
  const FileEntry* real = find(result, "in/real");
  ASSERT_NE(link, nullptr);
  ASSERT_NE(real, nullptr);
  // The link is an alias of its target: same inode, marked so it is never reported as a copy.
  EXPECT_EQ(link->via_symlink, 1u);
  EXPECT_EQ(real->via_symlink, 0u);
  EXPECT_EQ(link->ino, real->ino);
}

TEST_F(WalkTest, CommandLineSymlinkIsFollowedWithoutFollowLinks) {
  // As `find -H`: a path the user named is resolved even when it is a link.
  m_tree.write("real/f", "f");
  m_tree.symlink("real", "named_link");
  m_config.paths = {m_tree.path("named_link")};
  WalkResult result = run();
  ASSERT_EQ(result.files.size(), 1u);
  EXPECT_EQ(result.files.path(0), m_tree.path("named_link/f"));
}

TEST_F(WalkTest, SymlinkLoopIsOneLoopErrorAndTheWalkEnds) {
  m_tree.write("d/f", "f");
  m_tree.symlink(".", "d/self");
  m_tree.symlink("..", "d/up");
  m_config.follow_links = true;
  WalkResult result = run();
  EXPECT_EQ(relative_paths(result), (Paths{"d/f"}));
  ASSERT_EQ(result.errors.size(), 2u);
  std::set<std::string> loop_paths;
  for (const FileError& error : result.errors) {
    EXPECT_EQ(error.op, "loop");
    EXPECT_EQ(error.errnum, ELOOP);
    loop_paths.insert(error.path);
  }
  EXPECT_EQ(loop_paths, (std::set<std::string>{m_tree.path("d/self"), m_tree.path("d/up")}));
}

TEST_F(WalkTest, UnreadableDirectoryIsAnOpendirErrorAndTheRestIsWalked) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "root opens directories whatever their mode";
  }
  m_tree.write("ok/f", "f");
  m_tree.write("locked/g", "g");
  m_tree.chmod("locked", 0);
  WalkResult result = run();
  EXPECT_EQ(relative_paths(result), (Paths{"ok/f"}));
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].path, m_tree.path("locked"));
  EXPECT_EQ(result.errors[0].op, "opendir");
  EXPECT_EQ(result.errors[0].errnum, EACCES);
}

TEST_F(WalkTest, DirectoriesDeeperThanPathMaxAreWalkedAndListedWhole) {
  // A path longer than PATH_MAX cannot be opened by path in one call, even by root: build the
  // tree with mkdirat (relative to the parent's fd) and expect every file, with its whole path.
  m_tree.write("shallow", "s");
  const std::string component(200, 'n');
  std::string relative;
  int fd = ::open(m_tree.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  for (int level = 0; level < 40; ++level) {
    ASSERT_EQ(::mkdirat(fd, component.c_str(), 0755), 0);
    int child = ::openat(fd, component.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ::close(fd);
    ASSERT_GE(child, 0);
    fd = child;
    relative += component + "/";
  }
  for (const char* name : {"dup1", "dup2"}) {
    int file = ::openat(fd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(file, 0);
    ASSERT_EQ(::write(file, "deep", 4), 4);
    ::close(file);
  }
  ::close(fd);
  ASSERT_GT(m_tree.path(relative).size(), static_cast<std::size_t>(PATH_MAX));
  WalkResult result = run();
  EXPECT_EQ(relative_paths(result), (Paths{"shallow", relative + "dup1", relative + "dup2"}));
  EXPECT_TRUE(result.errors.empty()) << result.errors[0].path.size() << " " << result.errors[0].reason();
  EXPECT_EQ(result.directories, 41u);
  // A deep PATH is walked too.
  m_config.paths = {m_tree.path(relative.substr(0, relative.size() - 1))};
  EXPECT_EQ(walk_paths(), (Paths{relative + "dup1", relative + "dup2"}));
}

TEST_F(WalkTest, FifosAreCountedAndNeverListed) {
  m_tree.write("f", "f");
  m_tree.fifo("pipe");
  m_tree.fifo("sub/pipe2");
  WalkResult result = run();
  EXPECT_EQ(relative_paths(result), (Paths{"f"}));
  EXPECT_EQ(result.skipped_special, 2u);
  EXPECT_TRUE(result.errors.empty());
}

TEST_F(WalkTest, FifoAsRootIsCountedWithoutOpeningIt) {
  // Opening a FIFO with no writer would block the walk; the root is only stat'ed.
  m_config.paths = {m_tree.fifo("pipe")};
  WalkResult result = run();
  EXPECT_EQ(result.files.size(), 0u);
  EXPECT_EQ(result.skipped_special, 1u);
  EXPECT_TRUE(result.errors.empty());
}

TEST_F(WalkTest, MissingRootIsAStatError) {
  m_tree.write("f", "f");
  m_config.paths = {m_tree.path("absent"), m_tree.root()};
  WalkResult result = run();
  EXPECT_EQ(relative_paths(result), (Paths{"f"}));
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].path, m_tree.path("absent"));
  EXPECT_EQ(result.errors[0].op, "stat");
  EXPECT_EQ(result.errors[0].errnum, ENOENT);
}

TEST_F(WalkTest, RegularFileAsRootIsListed) {
  m_tree.write("dir/f", "f");
  m_config.paths = {m_tree.path("dir/f")};
  EXPECT_EQ(walk_paths(), (Paths{"dir/f"}));
}

TEST_F(WalkTest, SameDirectoryTwiceListsEachFileOnce) {
  m_tree.write("a", "a");
  m_tree.write("sub/b", "b");
  m_config.paths = {m_tree.root(), m_tree.root() + "/", m_tree.root() + "//"};
  WalkResult result = run();
  EXPECT_EQ(relative_paths(result), (Paths{"a", "sub/b"}));  // relative_paths fails on duplicates
  EXPECT_EQ(result.directories, 2u);
}

TEST_F(WalkTest, SameFileNamedTwiceIsListedOnce) {
  // walk.hpp promises "each path once"; a file named twice on the command line is one path.
  m_tree.write("f", "f");
  m_config.paths = {m_tree.path("f"), m_tree.path("f")};
  WalkResult result = run();
  EXPECT_EQ(result.files.size(), 1u);
}

TEST_F(WalkTest, NestedRootsListEachFileOnce) {
  m_tree.write("a", "a");
  m_tree.write("sub/b", "b");
  m_tree.write("sub/deeper/c", "c");
  m_config.paths = {m_tree.path("sub"), m_tree.root()};
  WalkResult result = run();
  ASSERT_EQ(result.files.size(), 3u);
  std::multiset<std::string> names;
  for (FileIndex i = 0; i < result.files.size(); ++i) {
    std::string path(result.files.path(i));
    names.insert(path.substr(path.rfind('/') + 1));
  }
  EXPECT_EQ(names, (std::multiset<std::string>{"a", "b", "c"}));
}

// Overlapping PATHs: a file reachable from several is listed under the first PATH whose walk
// reaches it, whatever the thread count. One thread runs tasks in the order spawned, which made
// the old walk list a later PATH's spelling every time; 16 threads race.
class WalkOverlapTest : public WalkTest {
 protected:
  // path -> root index, for every file of a walk.
  std::map<std::string, std::uint32_t> listed() {
    WalkResult result = run();
    EXPECT_TRUE(result.errors.empty());
    std::map<std::string, std::uint32_t> out;
    for (FileIndex i = 0; i < result.files.size(); ++i) {
      EXPECT_TRUE(out.emplace(result.files.path(i), result.files[i].root).second) << result.files.path(i);
    }
    return out;
  }
  // The same listing at 1 and 16 threads, several times.
  std::map<std::string, std::uint32_t> listed_every_time() {
    m_config.threads.rules = parse_threads_argument("main:1");
    const std::map<std::string, std::uint32_t> first = listed();
    for (const char* threads : {"main:16", "main:1", "main:16", "main:16", "main:2"}) {
      m_config.threads.rules = parse_threads_argument(threads);
      EXPECT_EQ(listed(), first) << "with " << threads;
    }
    return first;
  }
};

TEST_F(WalkOverlapTest, PathInsideAnEarlierPathIsListedUnderTheEarlierOne) {
  m_tree.write("d/a/top", "t");
  m_tree.write("d/a/b/inner", "i");
  m_tree.write("d/a/b/c/deepest", "x");
  const std::string other = m_tree.root() + "/d/./a/b";  // another spelling of d/a/b
  m_config.paths = {m_tree.path("d/a"), other};
  EXPECT_EQ(listed_every_time(),
            (std::map<std::string, std::uint32_t>{
                {m_tree.path("d/a/top"), 0}, {m_tree.path("d/a/b/inner"), 0}, {m_tree.path("d/a/b/c/deepest"), 0}}));
}

TEST_F(WalkOverlapTest, WalkThatMeetsAnEarlierPathLeavesItToThatPath) {
  m_tree.write("d/a/top", "t");
  m_tree.write("d/a/b/inner", "i");
  m_tree.write("d/a/b/c/deepest", "x");
  const std::string first = m_tree.root() + "/d/./a/b/c";
  m_config.paths = {first, m_tree.path("d/a"), m_tree.path("d/a/b")};
  EXPECT_EQ(listed_every_time(),
            (std::map<std::string, std::uint32_t>{
                {m_tree.path("d/a/top"), 1}, {m_tree.path("d/a/b/inner"), 1}, {first + "/deepest", 0}}));
}

TEST_F(WalkOverlapTest, ExcludeMatchesTheEarlierSpellingInEveryRun) {
  m_tree.write("d/a/keep", "k");
  m_tree.write("d/a/b/skip.log", "s");
  m_tree.write("d/a/b/keep2", "k");
  m_config.paths = {m_tree.path("d/a"), m_tree.root() + "/d/./a/b"};
  m_config.exclude_globs = {m_tree.path("d/a/b/*.log")};
  EXPECT_EQ(listed_every_time(),
            (std::map<std::string, std::uint32_t>{{m_tree.path("d/a/keep"), 0}, {m_tree.path("d/a/b/keep2"), 0}}));
}

TEST_F(WalkOverlapTest, WhatTheEarlierWalkDoesNotReachIsWalkedFromTheLaterPath) {
  // Excluded under the first PATH, named again: the second PATH walks it, under its spelling.
  m_tree.write("d/a/keep", "k");
  m_tree.write("d/a/b/inner", "i");
  m_tree.write("d/a/b/c/deepest", "x");
  const std::string second = m_tree.root() + "/d/./a/b";
  m_config.paths = {m_tree.path("d/a"), second, m_tree.root() + "/d/a/./b/c"};
  m_config.exclude_globs = {m_tree.path("d/a/b")};
  EXPECT_EQ(listed_every_time(),
            (std::map<std::string, std::uint32_t>{
                {m_tree.path("d/a/keep"), 0}, {second + "/inner", 1}, {second + "/c/deepest", 1}}));
}

TEST_F(WalkOverlapTest, FilePathIsListedUnderTheFirstPathThatContainsIt) {
  m_tree.write("d/f", "f");
  m_tree.write("d/g", "g");
  const std::string file = m_tree.root() + "/./d/f";
  m_config.paths = {m_tree.path("d"), file};
  EXPECT_EQ(listed_every_time(),
            (std::map<std::string, std::uint32_t>{{m_tree.path("d/f"), 0}, {m_tree.path("d/g"), 0}}));
  m_config.paths = {file, m_tree.path("d")};
  EXPECT_EQ(listed_every_time(), (std::map<std::string, std::uint32_t>{{file, 0}, {m_tree.path("d/g"), 1}}));
  // Hidden under the directory PATH (--no-hidden): the file PATH lists itself.
  m_tree.write("d/.h", "h");
  m_config.include_hidden = false;
  m_config.paths = {m_tree.path("d"), m_tree.path("d/.h")};
  EXPECT_EQ(listed_every_time(), (std::map<std::string, std::uint32_t>{
                                     {m_tree.path("d/f"), 0}, {m_tree.path("d/g"), 0}, {m_tree.path("d/.h"), 1}}));
}

TEST_F(WalkTest, PathsKeepTheSpellingGivenExceptDoubledSlashes) {
  m_tree.write("d/f", "f");
  m_config.paths = {m_tree.root() + "//./d//"};
  EXPECT_EQ(walk_paths(), (Paths{"./d/f"}));
}

TEST_F(WalkTest, CommandLineSymlinkToAFileIsAnAliasOfItsTarget) {
  m_tree.write("real", "r");
  m_tree.symlink("real", "link");
  m_config.paths = {m_tree.path("link"), m_tree.path("real")};
  WalkResult result = run();
  const FileEntry* link = find(result, "link");
  const FileEntry* real = find(result, "real");
  ASSERT_NE(link, nullptr);
  ASSERT_NE(real, nullptr);
  EXPECT_EQ(link->via_symlink, 1u);
  EXPECT_EQ(real->via_symlink, 0u);
}

TEST_F(WalkTest, EmptyPathIsAnErrorAndTheRestIsWalked) {
  m_tree.write("f", "f");
  m_config.paths = {"", m_tree.root()};
  WalkResult result = run();
  EXPECT_EQ(relative_paths(result), (Paths{"f"}));
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].path, "");
  EXPECT_EQ(result.errors[0].reason(), "path: empty path");
}

TEST_F(WalkTest, KernelInterfaceFilesAreSkippedAsUnreliableNotListed) {
  // sysfs sizes every attribute 4 KiB and then returns less: such files are not data.
  struct stat st {};
  if (::stat("/sys/kernel", &st) != 0) {
    GTEST_SKIP() << "no /sys/kernel here";
  }
  m_config.paths = {"/sys/kernel/mm"};
  m_config.include_empty = true;
  WalkResult result = run();
  EXPECT_EQ(result.files.size(), 0u);
  EXPECT_GT(result.skipped_unreliable, 0u);
  EXPECT_NE(m_sink.contents().find("skipped: size not reliable"), std::string::npos) << m_sink.contents();
}

TEST_F(WalkTest, LowDescriptorLimitCompletesWithoutErrors) {
  // 32 walk threads want 32 directories open at once; the soft limit leaves room for a few.
  for (int d = 0; d < 60; ++d) {  // directories big enough that many threads hold one at once
    m_tree.write("d" + std::to_string(d) + "/sub/f", "f");
    for (int f = 0; f < 20; ++f) {
      m_tree.write("d" + std::to_string(d) + "/f" + std::to_string(f), "f");
    }
  }
  m_config.threads.rules = parse_threads_argument("main:32");
  Paths unlimited = walk_paths();
  ASSERT_EQ(unlimited.size(), 60u * 21);
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  // Open now: count them as free_descriptors does, then allow one more (one walk thread).
  int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(probe, 0);
  ::close(probe);
  struct rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(probe + 1);  // descriptors 0..probe-1 are in use
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  WalkResult result = run();
  ::setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_TRUE(result.errors.empty()) << result.errors[0].path << ": " << result.errors[0].reason();
  EXPECT_EQ(relative_paths(result), unlimited);
}

TEST_F(WalkTest, CancelledBeforeStartFindsNothingInSubdirectories) {
  m_tree.write("sub/f", "f");
  m_cancel.cancel();
  WalkResult result = run();
  EXPECT_EQ(result.files.size(), 0u);
}

}  // namespace
}  // namespace spindle
