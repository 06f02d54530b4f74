#include "fakes/temp_tree.hpp"

#include <spindle/pipeline.hpp>
#include <spindle/pools.hpp>
#include <spindle/progress.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace spindle {
namespace {

using fakes::TempSink;
using fakes::TempTree;
using Group = std::set<std::string>;
using Groups = std::set<Group>;

// Generous: only a broken pipeline waits this long, and then the test fails instead of hanging.
constexpr auto k_watchdog = std::chrono::seconds(60);

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

// The system reader with a hook before every read, and counts of reads per kind and of reads
// running at once per pool and kind.
class ObservedReader : public FileReader {
 public:
  using Hook = std::function<void(StageKind, FileIndex)>;
  explicit ObservedReader(std::function<std::uint32_t(FileIndex)> pool_of) : m_pool_of(std::move(pool_of)) {}

  Result<Digest> read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                      const CancelToken& cancel) override {
    const std::size_t k = static_cast<std::size_t>(kind);
    const std::uint32_t pool = m_pool_of(f);
    {
      std::lock_guard lock(m_mutex);
      ++m_reads[k];
      int& running = m_running[{pool, k}];
      ++running;
      m_max_running[{pool, k}] = std::max(m_max_running[{pool, k}], running);
    }
    if (m_hook) {
      m_hook(kind, f);
    }
    Result<Digest> result = m_system.read(kind, files, f, worker, opened, cancel);
    std::lock_guard lock(m_mutex);
    --m_running[{pool, k}];
    return result;
  }

  void set_hook(Hook hook) { m_hook = std::move(hook); }
  int reads(StageKind kind) const {
    std::lock_guard lock(m_mutex);
    return m_reads[static_cast<std::size_t>(kind)];
  }
  int max_running(std::uint32_t pool, StageKind kind) const {
    std::lock_guard lock(m_mutex);
    auto it = m_max_running.find({pool, static_cast<std::size_t>(kind)});
    return it == m_max_running.end() ? 0 : it->second;
  }

 private:
  SystemReader m_system;
  std::function<std::uint32_t(FileIndex)> m_pool_of;
  Hook m_hook;
  mutable std::mutex m_mutex;
  std::array<int, k_stage_kinds> m_reads{};
  std::map<std::pair<std::uint32_t, std::size_t>, int> m_running;
  std::map<std::pair<std::uint32_t, std::size_t>, int> m_max_running;
};

// Files written into a temp tree and listed in a FileTable, then hashed by the pipeline over a
// PoolSet of GetParam() pools. Consecutive files go to different pools, so one group is read by
// several; pool 1 reads with two threads, the others with one (in physical order, read-ahead).
class PipelineTest : public ::testing::TestWithParam<int> {
 protected:
  PipelineTest() {
    for (int p = 0; p < GetParam(); ++p) {
      const int threads = p == 1 ? 2 : 1;
      // Fixed sizes (as --threads sets them): no cache-dependent shrinking in these tests.
      m_sizing.push_back(PoolSizing{.small = threads, .large = threads, .cache_adaptive = false});
    }
  }

  FileIndex add(const std::string& name, const std::vector<std::byte>& content) {
    m_tree.write_bytes(name, content);
    return add_entry(name);
  }

  FileIndex add_link(const std::string& existing, const std::string& name) {
    m_tree.hard_link(existing, name);
    return add_entry(name);
  }

  FileIndex add_entry(const std::string& name) {
    std::string path = m_tree.path(name);
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    FileEntry entry;
    entry.size = static_cast<std::uint64_t>(st.st_size);
    entry.ino = st.st_ino;
    entry.dev = st.st_dev;
    FileIndex index = m_files.add(entry, path);
    m_names.push_back(name);
    return index;
  }

  std::uint32_t pool_of(FileIndex f) const { return f % static_cast<std::uint32_t>(m_sizing.size()); }

  PipelineResult run() {
    std::vector<PoolSpec> specs;
    for (std::size_t p = 0; p < m_sizing.size(); ++p) {
      specs.push_back({"pool" + std::to_string(p), team_size(m_sizing[p])});
    }
    m_pools = std::make_unique<PoolSet>(std::move(specs));
    std::vector<std::uint32_t> pool_of_file(m_files.size());
    for (FileIndex f = 0; f < m_files.size(); ++f) {
      pool_of_file[f] = pool_of(f);
    }
    PipelineContext context{.config = m_config,
                            .log = m_log,
                            .cancel = m_cancel,
                            .files = m_files,
                            .pools = *m_pools,
                            .pool_of_file = pool_of_file,
                            .sizing = m_sizing,
                            .cached_threads = 1,
                            .reader = m_reader,
                            .progress = m_progress};
    return hash_candidates(group_by_size(m_files, m_config), context);
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

  // The hash of the group holding `name`.
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

  const StageReport& stage(const PipelineResult& result, StageKind kind) const {
    return result.stages[static_cast<std::size_t>(kind)];
  }

  TempTree m_tree;
  TempSink m_sink;
  Logger m_log{m_sink.get(), LogLevel::debug};
  CancelToken m_cancel;
  Config m_config;
  Progress m_progress{m_log, false};
  FileTable m_files;
  std::vector<std::string> m_names;  // by FileIndex
  std::vector<PoolSizing> m_sizing;
  std::unique_ptr<PoolSet> m_pools;
  ObservedReader m_reader{[this](FileIndex f) { return pool_of(f); }};
};

TEST_P(PipelineTest, DifferentLastBlockSplitsAtSuffix) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 1);
  add("a1", content);
  add("a2", content);
  add("b", with_byte_changed(content, content.size() - 1));
  PipelineResult result = run();
  EXPECT_EQ(names(result.groups), (Groups{{"a1", "a2"}}));
  EXPECT_EQ(hash_of_group_with(result.groups, "a1"), hash_bytes(content));
  EXPECT_EQ(stage(result, StageKind::prefix).files_out, 3u);
  EXPECT_EQ(stage(result, StageKind::suffix).files_out, 2u);
  EXPECT_EQ(m_reader.reads(StageKind::full), 2);
  EXPECT_TRUE(result.errors.empty());
}

TEST_P(PipelineTest, DifferenceInTheMiddleSplitsOnlyAtFull) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 2);
  add("c1", content);
  add("c2", content);
  add("d", with_byte_changed(content, k_block_size + 1904));  // in neither the first nor last block
  PipelineResult result = run();
  EXPECT_EQ(stage(result, StageKind::suffix).files_out, 3u);
  EXPECT_EQ(stage(result, StageKind::full).files_in, 3u);
  EXPECT_EQ(stage(result, StageKind::full).files_out, 2u);
  EXPECT_EQ(names(result.groups), (Groups{{"c1", "c2"}}));
  EXPECT_EQ(hash_of_group_with(result.groups, "c1"), hash_bytes(content));
}

TEST_P(PipelineTest, FilesOfAtMostOneBlockGetTheirHashAtPrefix) {
  std::map<std::string, std::vector<std::byte>> contents;
  for (std::size_t size : {std::size_t{1}, std::size_t{100}, std::size_t{k_block_size}}) {
    const std::vector<std::byte> content = pattern(size, static_cast<unsigned>(size));
    const std::string tag = std::to_string(size);
    add("same1_" + tag, content);
    add("same2_" + tag, content);
    add("other_" + tag, with_byte_changed(content, size / 2));
    contents[tag] = content;
  }
  PipelineResult result = run();
  EXPECT_EQ(names(result.groups),
            (Groups{{"same1_1", "same2_1"}, {"same1_100", "same2_100"}, {"same1_4096", "same2_4096"}}));
  for (const auto& [tag, content] : contents) {
    EXPECT_EQ(hash_of_group_with(result.groups, "same1_" + tag), hash_bytes(content)) << tag;
  }
  EXPECT_EQ(m_reader.reads(StageKind::prefix), 9);
  EXPECT_EQ(m_reader.reads(StageKind::suffix) + m_reader.reads(StageKind::full), 0);
  // The later stages count the groups as passing through.
  EXPECT_EQ(stage(result, StageKind::full).files_in, 6u);
  EXPECT_EQ(stage(result, StageKind::full).groups_out, 3u);
}

TEST_P(PipelineTest, FilesOfAtMostTwoBlocksSkipTheSuffixRead) {
  const std::vector<std::byte> content = pattern(2 * k_block_size, 3);
  add("e1", content);
  add("e2", content);
  add("f", with_byte_changed(content, content.size() - 1));  // differs in the last block only
  PipelineResult result = run();
  EXPECT_EQ(m_reader.reads(StageKind::prefix), 3);
  EXPECT_EQ(m_reader.reads(StageKind::suffix), 0);
  EXPECT_EQ(m_reader.reads(StageKind::full), 3);
  EXPECT_EQ(names(result.groups), (Groups{{"e1", "e2"}}));
  EXPECT_EQ(hash_of_group_with(result.groups, "e1"), hash_bytes(content));
}

TEST_P(PipelineTest, EachInodeIsReadByThePoolOfItsFile) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 4);
  for (int i = 0; i < 7; ++i) {
    add("g" + std::to_string(i), content);
  }
  PipelineResult result = run();
  std::vector<std::uint64_t> expected(m_sizing.size(), 0);
  for (FileIndex f = 0; f < m_files.size(); ++f) {
    ++expected[pool_of(f)];
  }
  for (std::size_t p = 0; p < m_sizing.size(); ++p) {
    EXPECT_EQ(m_pools->counters(p).files.load(), 3 * expected[p]) << "pool " << p;
    EXPECT_EQ(m_pools->counters(p).bytes_read.load(), expected[p] * 5 * k_block_size) << "pool " << p;
  }
  EXPECT_EQ(result.bytes_read, 7 * 5 * k_block_size);
}

TEST_P(PipelineTest, DeletedFileLeavesItsGroupWithAnError) {
  const std::vector<std::byte> content = pattern(5000, 5);
  add("h1", content);
  add("h2", content);
  add("h3", content);
  const std::vector<std::byte> pair = pattern(6000, 6);
  add("p1", pair);
  add("p2", pair);
  m_tree.remove("h2");
  m_tree.remove("p2");
  PipelineResult result = run();
  // h1 and h3 still make a group; p1 alone does not.
  EXPECT_EQ(names(result.groups), (Groups{{"h1", "h3"}}));
  ASSERT_EQ(result.errors.size(), 2u);
  EXPECT_EQ(result.errors[0].path, m_tree.path("h2"));  // sorted by path
  EXPECT_EQ(result.errors[1].path, m_tree.path("p2"));
  for (const FileError& error : result.errors) {
    EXPECT_EQ(error.op, "open");
    EXPECT_EQ(error.errnum, ENOENT);
  }
  // Each failure is also logged, one line each.
  std::string logged = m_sink.contents();
  EXPECT_EQ(std::count(logged.begin(), logged.end(), '\n'), 2) << logged;
}

TEST_P(PipelineTest, FileReplacedSinceTheWalkIsChangedNotHashed) {
  // Same name, same size, new inode and new content: reading it would hash some other file.
  const std::vector<std::byte> content = pattern(5000, 9);
  add("r1", content);
  add("r2", content);
  add("r3", content);
  m_tree.write_bytes("r2.new", with_byte_changed(content, 0));
  ASSERT_EQ(::rename(m_tree.path("r2.new").c_str(), m_tree.path("r2").c_str()), 0);
  PipelineResult result = run();
  EXPECT_EQ(names(result.groups), (Groups{{"r1", "r3"}}));
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].path, m_tree.path("r2"));
  EXPECT_EQ(result.errors[0].op, "changed");
}

TEST_P(PipelineTest, HardLinksAreReadOnce) {
  const std::vector<std::byte> content = pattern(10000, 7);
  add("l1", content);
  add_link("l1", "l2");
  add_link("l1", "l3");
  add("copy", content);
  PipelineResult result = run();
  for (StageKind kind : {StageKind::prefix, StageKind::suffix, StageKind::full}) {
    EXPECT_EQ(m_reader.reads(kind), 2) << stage_name(kind);  // one per inode
  }
  EXPECT_EQ(names(result.groups), (Groups{{"l1", "l2", "l3", "copy"}}));
  EXPECT_EQ(hash_of_group_with(result.groups, "l2"), hash_bytes(content));
  EXPECT_EQ(result.bytes_read, 2 * (k_block_size + k_block_size + content.size()));
}

TEST_P(PipelineTest, HardLinksAloneFormAGroupOnlyWithHardLinks) {
  const std::vector<std::byte> content = pattern(10000, 8);
  add("m1", content);
  add_link("m1", "m2");
  EXPECT_EQ(names(run().groups), Groups{});
  EXPECT_EQ(m_reader.reads(StageKind::prefix), 0);
  m_config.hard_links = true;
  PipelineResult result = run();
  EXPECT_EQ(names(result.groups), (Groups{{"m1", "m2"}}));
  EXPECT_EQ(m_reader.reads(StageKind::prefix) + m_reader.reads(StageKind::suffix) + m_reader.reads(StageKind::full),
            3);  // one inode, three stages
}

TEST_P(PipelineTest, CancelledRunReturnsNoGroup) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 10);
  for (int i = 0; i < 6; ++i) {
    add("n" + std::to_string(i), content);
  }
  // Cancelled in the middle of the full reads: some groups may be complete, none is returned,
  // and a file never read is in no group.
  int full_reads = 0;
  m_reader.set_hook([&](StageKind kind, FileIndex) {
    if (kind == StageKind::full && ++full_reads == 2) {
      m_cancel.cancel();
    }
  });
  PipelineResult result = run();
  EXPECT_TRUE(result.cancelled);
  EXPECT_EQ(result.groups.groups(), 0u);
  EXPECT_LT(m_reader.reads(StageKind::full), 6);
}

TEST_P(PipelineTest, OneThreadPoolsNeverReadTwiceAtOnce) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 11);
  for (int i = 0; i < 24; ++i) {
    add("o" + std::to_string(i), i % 5 == 0 ? with_byte_changed(content, 0) : content);
  }
  run();
  for (std::uint32_t p = 0; p < m_sizing.size(); ++p) {
    for (StageKind kind : {StageKind::prefix, StageKind::suffix, StageKind::full}) {
      EXPECT_LE(m_reader.max_running(p, kind), m_sizing[p].small) << "pool " << p << " " << stage_name(kind);
    }
    EXPECT_LE(m_pools->counters(p).max_running.load(), team_size(m_sizing[p])) << "pool " << p;
  }
}

INSTANTIATE_TEST_SUITE_P(Pools, PipelineTest, ::testing::Values(1, 3),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           return std::to_string(param_info.param) + "_pools";
                         });

// Two pools: pool 0 holds pairs that need every stage, pool 1 a group that needs only a prefix
// read. Pool 1's first read waits until pool 0 has finished all of its full reads: with a
// barrier between stages pool 0 could not start its suffix reads before pool 1's prefix reads
// were done, and the wait would run into the watchdog.
TEST(PipelineJoin, ASlowDeviceDoesNotHoldUpTheGroupsOfAnother) {
  TempTree tree;
  TempSink sink;
  Logger log(sink.get(), LogLevel::warning);
  CancelToken cancel;
  Config config;
  Progress progress(log, false);
  FileTable files;
  std::vector<std::uint32_t> pool_of_file;
  auto add = [&](const std::string& name, const std::vector<std::byte>& content, std::uint32_t pool) {
    const std::string path = tree.write_bytes(name, content);
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    FileEntry entry;
    entry.size = static_cast<std::uint64_t>(st.st_size);
    entry.ino = st.st_ino;
    entry.dev = st.st_dev;
    files.add(entry, path);
    pool_of_file.push_back(pool);
  };
  constexpr int k_pairs = 3;
  for (int i = 0; i < k_pairs; ++i) {
    const std::vector<std::byte> content = pattern(3 * k_block_size + 10 * static_cast<std::size_t>(i), 20 + i);
    add("fast/a" + std::to_string(i), content, 0);
    add("fast/b" + std::to_string(i), content, 0);
  }
  for (int i = 0; i < 4; ++i) {  // same size, different first blocks: pruned by the prefix read
    add("slow/s" + std::to_string(i), pattern(5 * k_block_size, 40 + i), 1);
  }

  std::mutex mutex;
  std::condition_variable changed;
  int fast_full_reads = 0;
  bool slow_waited_too_long = false;
  ObservedReader reader([&](FileIndex f) { return pool_of_file[f]; });
  reader.set_hook([&](StageKind kind, FileIndex f) {
    std::unique_lock lock(mutex);
    if (pool_of_file[f] == 0 && kind == StageKind::full) {
      ++fast_full_reads;
      changed.notify_all();
    } else if (pool_of_file[f] == 1) {
      if (!changed.wait_for(lock, k_watchdog, [&] { return fast_full_reads == 2 * k_pairs; })) {
        slow_waited_too_long = true;
      }
    }
  });
  std::vector<PoolSizing> sizing{PoolSizing{.small = 2, .large = 2, .cache_adaptive = false},
                                 PoolSizing{.small = 1, .large = 1, .cache_adaptive = false}};
  PoolSet pools({{"fast", 2}, {"slow", 1}});
  PipelineContext context{.config = config,
                          .log = log,
                          .cancel = cancel,
                          .files = files,
                          .pools = pools,
                          .pool_of_file = pool_of_file,
                          .sizing = sizing,
                          .cached_threads = 1,
                          .reader = reader,
                          .progress = progress};
  PipelineResult result = hash_candidates(group_by_size(files, config), context);
  EXPECT_FALSE(slow_waited_too_long) << "the fast pool's full reads waited for the slow pool's prefix reads";
  EXPECT_EQ(result.groups.groups(), static_cast<std::size_t>(k_pairs));
  EXPECT_EQ(reader.reads(StageKind::prefix), 2 * k_pairs + 4);
  EXPECT_EQ(reader.reads(StageKind::full), 2 * k_pairs);
}

// Whole-file reads get the pool's `large` thread count and short reads its `small` one: four
// full reads must be able to run at once in a pool sized 1,4 (the rendezvous below waits for
// them), while its prefix reads never run two at once.
TEST(PipelineJoin, WholeFileReadsUseTheLargeThreadCount) {
  TempTree tree;
  TempSink sink;
  Logger log(sink.get(), LogLevel::warning);
  CancelToken cancel;
  Config config;
  Progress progress(log, false);
  FileTable files;
  const std::vector<std::byte> content = pattern(3 * k_block_size, 50);
  for (int i = 0; i < 8; ++i) {
    const std::string path = tree.write_bytes("f" + std::to_string(i), content);
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    FileEntry entry;
    entry.size = static_cast<std::uint64_t>(st.st_size);
    entry.ino = st.st_ino;
    entry.dev = st.st_dev;
    files.add(entry, path);
  }
  std::vector<std::uint32_t> pool_of_file(files.size(), 0);
  std::mutex mutex;
  std::condition_variable changed;
  int full_running = 0;
  bool rendezvous_missed = false;
  ObservedReader reader([](FileIndex) { return 0U; });
  reader.set_hook([&](StageKind kind, FileIndex) {
    if (kind != StageKind::full) {
      return;
    }
    std::unique_lock lock(mutex);
    ++full_running;
    changed.notify_all();
    if (!changed.wait_for(lock, k_watchdog, [&] { return full_running >= 4; })) {
      rendezvous_missed = true;
    }
  });
  std::vector<PoolSizing> sizing{PoolSizing{.small = 1, .large = 4, .cache_adaptive = false}};
  PoolSet pools({{"pool", team_size(sizing[0])}});
  PipelineContext context{.config = config,
                          .log = log,
                          .cancel = cancel,
                          .files = files,
                          .pools = pools,
                          .pool_of_file = pool_of_file,
                          .sizing = sizing,
                          .cached_threads = 1,
                          .reader = reader,
                          .progress = progress};
  PipelineResult result = hash_candidates(group_by_size(files, config), context);
  EXPECT_FALSE(rendezvous_missed) << "fewer than 4 whole-file reads ran at once";
  EXPECT_EQ(reader.max_running(0, StageKind::prefix), 1);
  EXPECT_EQ(reader.max_running(0, StageKind::suffix), 1);
  EXPECT_EQ(reader.max_running(0, StageKind::full), 4);
  EXPECT_EQ(result.threads_used[0], (std::array<int, k_stage_kinds>{1, 1, 4}));
  EXPECT_EQ(result.groups.groups(), 1u);
}

}  // namespace
}  // namespace spindle
