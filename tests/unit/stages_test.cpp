#include "fakes/file_state.hpp"
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

using fakes::drop_cached_pages;
using fakes::nowait_probe_works;
using fakes::pages_cached;
using fakes::table_of;
using fakes::TempSink;
using fakes::TempTree;
using Group = std::set<std::string>;
using Groups = std::set<Group>;

// ---- group_by_size and stage_reads: no files needed -----------------------------------------

FileEntry synthetic(std::uint64_t size, std::uint64_t ino, std::uint64_t dev = 1) {
  FileEntry entry;
  entry.size = size;
  entry.ino = ino;
  entry.set_device(dev);
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

TEST(GroupBySize, SizesFromFourGiBOnSortAfterSmallerOnesAndApart) {
  // Sizes below 4 GiB are sorted as 8-byte keys with the file's index, larger ones apart: the
  // boundary must neither reorder sizes nor merge 4 GiB - 1 with 4 GiB.
  constexpr std::uint64_t k_4g = std::uint64_t{1} << 32;
  FileTable table;
  table.add(synthetic(5 * k_4g, 1), "a");  // 0
  table.add(synthetic(k_4g, 2), "b");      // 1
  table.add(synthetic(k_4g - 1, 3), "c");  // 2
  table.add(synthetic(k_4g, 4), "d");      // 3
  table.add(synthetic(k_4g - 1, 5), "e");  // 4
  table.add(synthetic(5 * k_4g, 6), "f");  // 5
  table.add(synthetic(7, 7), "g");         // 6
  table.add(synthetic(7, 8), "h");         // 7
  table.add(synthetic(k_4g + 1, 9), "i");  // 8: alone at its size
  Config config;
  EXPECT_EQ(groups_of(group_by_size(table, config)),
            (std::vector<std::vector<FileIndex>>{{6, 7}, {2, 4}, {1, 3}, {0, 5}}));
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
      {k_block_size, true, false, false},      // the prefix read is the whole file
      {k_block_size + 1, true, false, false},  // up to two blocks too: one read decides it
      {2 * k_block_size, true, false, false},
      {2 * k_block_size + 1, true, true, true},
      {1ULL << 30, true, true, true},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(stage_reads(StageKind::prefix, row.size), row.prefix) << row.size;
    EXPECT_EQ(stage_reads(StageKind::suffix, row.size), row.suffix) << row.size;
    EXPECT_EQ(stage_reads(StageKind::full, row.size), row.full) << row.size;
    // The stages that read a file of this size hash all of it between them, once.
    EXPECT_EQ(stage_hashes_whole_file(StageKind::prefix, row.size), !row.full) << row.size;
    EXPECT_EQ(bytes_for_stage(StageKind::prefix, row.size), row.full ? k_block_size : row.size) << row.size;
  }
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
    // Not a hit, not a miss: the stage keeps its configured size (see PoolSizing.ThreadsForEachKindOfRead).
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

}  // namespace
}  // namespace spindle
