#include "fakes/file_state.hpp"
#include "fakes/temp_tree.hpp"

#include <spindle/fd_budget.hpp>
#include <spindle/pipeline.hpp>
#include <spindle/pools.hpp>
#include <spindle/progress.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace spindle {
namespace {

using fakes::drop_cached_pages;
using fakes::entry_of;
using fakes::nowait_probe_works;
using fakes::pages_cached;
using fakes::table_of;
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

// The system reader with a hook before every read, and counts of reads per kind and of reads
// running at once per pool and kind.
// What every pipeline run here shares, set up as run_group sets it up: a log, a cancel token, a
// default config, progress, and one pool per PoolSizing (team_size of it). The pools outlive the
// run, so a test can read their counters.
class PipelineRig {
 public:
  // show_progress: a progress display that counts but never draws (its delay is an hour).
  explicit PipelineRig(LogLevel level = LogLevel::warning, bool show_progress = false)
      : log(sink.get(), level), progress(log, show_progress, ProgressOptions{.delay = std::chrono::hours(1)}) {}

  PipelineResult run(const FileTable& files, std::vector<PoolSizing> sizing, std::vector<std::uint32_t> pool_of_file,
                     FileReader& reader, int cached_threads = 1, FdBudget* descriptors = nullptr) {
    m_sizing = std::move(sizing);
    m_pool_of_file = std::move(pool_of_file);
    std::vector<PoolSpec> specs;
    for (std::size_t p = 0; p < m_sizing.size(); ++p) {
      specs.push_back({"pool" + std::to_string(p), team_size(m_sizing[p])});
    }
    m_pools = std::make_unique<PoolSet>(std::move(specs));
    PipelineContext context{.config = config,
                            .log = log,
                            .cancel = cancel,
                            .files = files,
                            .pools = *m_pools,
                            .pool_of_file = m_pool_of_file,
                            .sizing = m_sizing,
                            .cached_threads = cached_threads,
                            .reader = reader,
                            .progress = progress,
                            .descriptors = descriptors};
    return hash_candidates(group_by_size(files, config), context);
  }
  const PoolCounters& counters(std::size_t pool) const { return m_pools->counters(pool); }

  TempSink sink;
  Logger log;
  CancelToken cancel;
  Config config;
  Progress progress;

 private:
  std::vector<PoolSizing> m_sizing;
  std::vector<std::uint32_t> m_pool_of_file;
  std::unique_ptr<PoolSet> m_pools;
};

class ObservedReader : public FileReader {
 public:
  using Hook = std::function<void(StageKind, FileIndex)>;
  explicit ObservedReader(std::function<std::uint32_t(FileIndex)> pool_of, ReadObserver* observer = nullptr)
      : m_system(observer), m_pool_of(std::move(pool_of)) {}

  Result<Digest> read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                      const CancelToken& cancel, FdBudget* descriptors) override {
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
    Result<Digest> result = m_system.read(kind, files, f, worker, opened, cancel, descriptors);
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

// Runs `action` on the reader's thread after it read the named file (empty name: the first file)
// in the given stage, before the reader checks the file: a change made there is a change made
// while the file was read.
class AfterRead : public ReadObserver {
 public:
  AfterRead(const std::vector<std::string>* names, StageKind kind, std::string name, std::function<void()> action)
      : m_names(names), m_kind(kind), m_name(std::move(name)), m_action(std::move(action)) {}
  void after_read(StageKind kind, FileIndex file) override {
    std::lock_guard lock(m_mutex);
    m_read.insert((*m_names)[file]);
    if (kind == m_kind && (m_name.empty() || (*m_names)[file] == m_name) && !m_done) {
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

// Forwards to the observer a test installs (none: nothing happens).
class ForwardingObserver : public ReadObserver {
 public:
  void set(ReadObserver* target) { m_target = target; }
  void after_read(StageKind kind, FileIndex file) override {
    if (m_target != nullptr) {
      m_target->after_read(kind, file);
    }
  }

 private:
  ReadObserver* m_target = nullptr;
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

  // The errors of a run, as (name, op) pairs.
  std::set<std::pair<std::string, std::string>> errors(const PipelineResult& result) const {
    std::set<std::pair<std::string, std::string>> out;
    for (const FileError& error : result.errors) {
      out.emplace(error.path.substr(m_tree.root().size() + 1), error.op);
    }
    return out;
  }

  std::uint32_t pool_of(FileIndex f) const { return f % static_cast<std::uint32_t>(m_sizing.size()); }

  PipelineResult run() {
    const FileTable& table = files();
    std::vector<std::uint32_t> pool_of_file(table.size());
    for (FileIndex f = 0; f < table.size(); ++f) {
      pool_of_file[f] = pool_of(f);
    }
    return m_rig.run(table, m_sizing, std::move(pool_of_file), m_reader);
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
  PipelineRig m_rig{LogLevel::debug};
  FileTable m_files;
  bool m_stale = true;
  std::vector<std::string> m_names;  // by FileIndex
  std::vector<PoolSizing> m_sizing;
  // Runs the current test's action after a chosen read (AfterRead), before the reader's check.
  ForwardingObserver m_observer;
  ObservedReader m_reader{[this](FileIndex f) { return pool_of(f); }, &m_observer};
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

TEST_P(PipelineTest, FilesOfAtMostTwoBlocksAreDecidedByOneRead) {
  // Just over one block and exactly two: each file's one prefix read hashes all of it.
  const std::vector<std::byte> small = pattern(k_block_size + 1, 3);
  const std::vector<std::byte> two = pattern(2 * k_block_size, 4);
  add("s1", small);
  add("s2", small);
  add("s3", with_byte_changed(small, small.size() - 1));  // differs in its second block only
  add("t1", two);
  add("t2", two);
  add("t3", with_byte_changed(two, two.size() - 1));
  PipelineResult result = run();
  EXPECT_EQ(m_reader.reads(StageKind::prefix), 6);
  EXPECT_EQ(m_reader.reads(StageKind::suffix), 0);
  EXPECT_EQ(m_reader.reads(StageKind::full), 0);
  EXPECT_EQ(result.bytes_read, 3 * small.size() + 3 * two.size());
  EXPECT_EQ(names(result.groups), (Groups{{"s1", "s2"}, {"t1", "t2"}}));
  EXPECT_EQ(hash_of_group_with(result.groups, "s1"), hash_bytes(small));
  EXPECT_EQ(hash_of_group_with(result.groups, "t1"), hash_bytes(two));
}

TEST_P(PipelineTest, EachInodeIsReadByThePoolOfItsFile) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 4);
  for (int i = 0; i < 7; ++i) {
    add("g" + std::to_string(i), content);
  }
  PipelineResult result = run();
  std::vector<std::uint64_t> expected(m_sizing.size(), 0);
  for (FileIndex f = 0; f < files().size(); ++f) {
    ++expected[pool_of(f)];
  }
  for (std::size_t p = 0; p < m_sizing.size(); ++p) {
    EXPECT_EQ(m_rig.counters(p).files.load(), 3 * expected[p]) << "pool " << p;
    EXPECT_EQ(m_rig.counters(p).bytes_read.load(), expected[p] * 5 * k_block_size) << "pool " << p;
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
  files();  // the walk sees them all
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
  std::string logged = m_rig.sink.contents();
  EXPECT_EQ(std::count(logged.begin(), logged.end(), '\n'), 2) << logged;
}

TEST_P(PipelineTest, FileReplacedSinceTheWalkIsChangedNotHashed) {
  // Same name, same size, new inode and new content: reading it would hash some other file.
  const std::vector<std::byte> content = pattern(5000, 9);
  add("r1", content);
  add("r2", content);
  add("r3", content);
  files();  // the walk sees the old r2
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
  m_rig.config.hard_links = true;
  PipelineResult result = run();
  EXPECT_EQ(names(result.groups), (Groups{{"m1", "m2"}}));
  EXPECT_EQ(m_reader.reads(StageKind::prefix) + m_reader.reads(StageKind::suffix) + m_reader.reads(StageKind::full),
            3);  // one inode, three stages
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
    EXPECT_LE(m_rig.counters(p).max_running.load(), team_size(m_sizing[p])) << "pool " << p;
  }
}

// A partial read is not checked for a change after it (it cannot make a copy by itself): a file
// written to right after its prefix read still never reaches the report, because its next read
// compares the file with what the walk saw.
TEST_P(PipelineTest, FileWrittenAfterAPartialReadIsChangedNotACopy) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 12);
  add("p1", content);
  add("p2", content);
  add("p3", content);
  AfterRead observer(&m_names, StageKind::prefix, "p2", [&] { flip_byte(m_tree.path("p2"), k_block_size + 10); });
  m_observer.set(&observer);
  PipelineResult result = run();
  EXPECT_EQ(names(result.groups), (Groups{{"p1", "p3"}}));
  EXPECT_EQ(errors(result), (std::set<std::pair<std::string, std::string>>{{"p2", "changed"}}));
  EXPECT_NE(m_rig.sink.contents().find(m_tree.path("p2") + ": changed: modified since it was scanned"),
            std::string::npos)
      << m_rig.sink.contents();
}

// Three identical files; one is written to right after its whole content was read. The digest
// matches the others (it was taken before the write), so only the check after the read can tell
// that the file on disk is no longer what was hashed.
TEST_P(PipelineTest, FileWrittenWhileReadIsChangedNotACopy) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 10);
  add("w1", content);
  add("w2", content);
  add("w3", content);
  AfterRead observer(&m_names, StageKind::full, "w2", [&] { flip_byte(m_tree.path("w2"), 100); });
  m_observer.set(&observer);
  PipelineResult result = run();
  EXPECT_EQ(names(result.groups), (Groups{{"w1", "w3"}}));
  EXPECT_EQ(errors(result), (std::set<std::pair<std::string, std::string>>{{"w2", "changed"}}));
  EXPECT_NE(m_rig.sink.contents().find(m_tree.path("w2") + ": changed: modified while it was read"), std::string::npos)
      << m_rig.sink.contents();
}

TEST_P(PipelineTest, FileTruncatedWhileReadIsChanged) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 11);
  add("t1", content);
  add("t2", content);
  add("t3", content);
  AfterRead observer(&m_names, StageKind::full, "t3", [&] { ASSERT_EQ(::truncate(m_tree.path("t3").c_str(), 10), 0); });
  m_observer.set(&observer);
  PipelineResult result = run();
  EXPECT_EQ(names(result.groups), (Groups{{"t1", "t2"}}));
  EXPECT_EQ(errors(result), (std::set<std::pair<std::string, std::string>>{{"t3", "changed"}}));
}

// A file removed mid-run must not be listed: a report would name a path that is gone.
TEST_P(PipelineTest, FileDeletedWhileReadVanishes) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 12);
  add("v1", content);
  add("v2", content);
  add("v3", content);
  AfterRead observer(&m_names, StageKind::full, "v1", [&] { m_tree.remove("v1"); });
  m_observer.set(&observer);
  PipelineResult result = run();
  EXPECT_EQ(names(result.groups), (Groups{{"v2", "v3"}}));
  EXPECT_EQ(errors(result), (std::set<std::pair<std::string, std::string>>{{"v1", "vanished"}}));
}

// A file of two blocks is opened for its one whole read without a stat before it: what takes its
// place after the walk (a FIFO, which must not block the open, or a file of other content) is
// found by the stat after the read, and never grouped.
TEST_P(PipelineTest, TwoBlockFileReplacedBeforeItsReadIsChangedNotACopy) {
  const std::vector<std::byte> content = pattern(6000, 14);
  add("r1", content);
  add("r2", content);
  add("r3", content);
  add("r4", content);
  files();
  m_reader.set_hook([&](StageKind, FileIndex f) {
    if (m_names[f] == "r2") {
      m_tree.remove("r2");
      m_tree.fifo("r2");
    } else if (m_names[f] == "r3") {
      const std::string other = m_tree.write_bytes("r3.new", content);  // same content, other file
      ASSERT_EQ(::rename(other.c_str(), m_tree.path("r3").c_str()), 0);
    }
  });
  PipelineResult result = run();
  EXPECT_EQ(names(result.groups), (Groups{{"r1", "r4"}}));
  EXPECT_EQ(errors(result), (std::set<std::pair<std::string, std::string>>{{"r2", "changed"}, {"r3", "changed"}}));
  EXPECT_EQ(m_reader.reads(StageKind::full), 0);
}

// Files of at most one block are decided by their prefix read: the check is made there too.
TEST_P(PipelineTest, SmallFileWrittenWhileReadIsChanged) {
  const std::vector<std::byte> content = pattern(100, 13);
  add("s1", content);
  add("s2", content);
  AfterRead observer(&m_names, StageKind::prefix, "s1", [&] { flip_byte(m_tree.path("s1"), 0); });
  m_observer.set(&observer);
  PipelineResult result = run();
  EXPECT_EQ(names(result.groups), Groups{});
  EXPECT_EQ(errors(result), (std::set<std::pair<std::string, std::string>>{{"s1", "changed"}}));
}

// Changed after its suffix read and before its full read (the change is made when another
// file of the group has been read at suffix): the full read refuses it up front, with an
// error, instead of silently hashing other content.
TEST_P(PipelineTest, FileChangedBetweenStagesIsChanged) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 14);
  add("b1", content);
  add("b2", content);
  add("b3", content);
  AfterRead observer(&m_names, StageKind::suffix, "b1",
                     [&] { flip_byte(m_tree.path("b2"), static_cast<off_t>(k_block_size + 7)); });
  m_observer.set(&observer);
  PipelineResult result = run();
  EXPECT_EQ(names(result.groups), (Groups{{"b1", "b3"}}));
  EXPECT_EQ(errors(result), (std::set<std::pair<std::string, std::string>>{{"b2", "changed"}}));
}

// Cancelled after a few prefix reads, or a few full reads: no group comes back (the old stage
// code grouped the files not read yet under a zero digest), and a cancelled read is no error.
// Cancelled at the first prefix read, the only reads that still complete are those already
// past their block check: at most one per reader thread, far fewer than the 40 files.
TEST_P(PipelineTest, CancelledDuringPrefixReadsGroupsNothing) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 15);
  constexpr int k_files = 40;
  for (int i = 0; i < k_files; ++i) {
    add("c" + std::to_string(i), content);
  }
  AfterRead observer(&m_names, StageKind::prefix, "", [&] { m_rig.cancel.cancel(); });
  m_observer.set(&observer);
  PipelineResult result = run();
  EXPECT_TRUE(result.cancelled);
  EXPECT_EQ(result.groups.groups(), 0u);
  EXPECT_TRUE(result.errors.empty()) << "a cancelled read is not a file error";
  int threads = 0;
  for (const PoolSizing& sizing : m_sizing) {
    threads += sizing.large;
  }
  EXPECT_LE(observer.read().size(), static_cast<std::size_t>(threads));
}

TEST_P(PipelineTest, CancelledDuringFullReadsGroupsNothing) {
  const std::vector<std::byte> content = pattern(3 * k_block_size, 16);
  for (int i = 0; i < 12; ++i) {
    add("c" + std::to_string(i), content);
  }
  AfterRead observer(&m_names, StageKind::full, "c1", [&] { m_rig.cancel.cancel(); });
  m_observer.set(&observer);
  PipelineResult result = run();
  EXPECT_TRUE(result.cancelled);
  EXPECT_EQ(result.groups.groups(), 0u);
  EXPECT_TRUE(result.errors.empty()) << "a cancelled read is not a file error";
}

INSTANTIATE_TEST_SUITE_P(Pools, PipelineTest, ::testing::Values(1, 3),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           return std::to_string(param_info.param) + "_pools";
                         });

// ---- thread sizing per kind of read -------------------------------------------------------

// One pool, its files written into a temp tree; runs the pipeline and records the threads each
// kind of read was given (the cache probe decides them per kind).
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
  // Threads per kind of read, in order prefix, suffix, full.
  std::vector<int> run(int small, int large, bool adaptive, int cached_threads) {
    FileTable table = table_of(m_paths);
    SystemReader reader;
    PipelineResult result = m_rig.run(table, {PoolSizing{.small = small, .large = large, .cache_adaptive = adaptive}},
                                      std::vector<std::uint32_t>(table.size(), 0), reader, cached_threads);
    std::vector<int> used;
    for (const StageReport& stage : result.stages) {
      EXPECT_EQ(stage.pool_threads.size(), 1u);
      used.push_back(stage.pool_threads.empty() ? -1 : stage.pool_threads[0]);
    }
    EXPECT_EQ(result.groups.groups(), m_paths.size() / 2) << "every pair is a group";
    EXPECT_TRUE(result.errors.empty());
    return used;
  }

  TempTree m_tree;
  PipelineRig m_rig{LogLevel::debug};
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
TEST(PipelineDescriptors, TightLimitReadsEveryFileWithoutEmfile) {
  TempTree tree;
  std::vector<std::string> paths;
  for (int i = 0; i < 40; ++i) {
    const std::vector<std::byte> content = pattern(3 * k_block_size + 1, static_cast<unsigned>(i));
    paths.push_back(tree.write_bytes("p" + std::to_string(i) + "a", content));
    paths.push_back(tree.write_bytes("p" + std::to_string(i) + "b", content));
  }
  FileTable table = table_of(paths);
  PipelineRig rig(LogLevel::info);
  std::vector<std::uint32_t> pool_of_file(table.size());
  for (FileIndex f = 0; f < table.size(); ++f) {
    pool_of_file[f] = f % 3;
  }
  const std::vector<PoolSizing> sizing{PoolSizing{.small = 1, .large = 1, .cache_adaptive = false},
                                       PoolSizing{.small = 16, .large = 16, .cache_adaptive = false},
                                       PoolSizing{.small = 1, .large = 1, .cache_adaptive = false}};
  SystemReader reader;
  PipelineResult result;
  {
    DescriptorLimit limit(open_descriptor_count() + 8);
    FdBudget descriptors(free_descriptors(2));
    ASSERT_LE(descriptors.capacity(), 6u);
    result = rig.run(table, sizing, pool_of_file, reader, 1, &descriptors);
    EXPECT_EQ(descriptors.in_use(), 0u) << "every descriptor of the budget came back";
  }
  EXPECT_EQ(result.groups.groups(), 40u);
  for (const FileError& error : result.errors) {
    ADD_FAILURE() << error.path << ": " << error.reason();
  }
  // -v says what was shrunk to fit.
  EXPECT_NE(rig.sink.contents().find("files open for reading"), std::string::npos) << rig.sink.contents();
}

// ---- the join ------------------------------------------------------------------------------

// Two pools: pool 0 holds pairs that need every stage, pool 1 a group that needs only a prefix
// read. Pool 1's first read waits until pool 0 has finished all of its full reads: with a
// barrier between stages pool 0 could not start its suffix reads before pool 1's prefix reads
// were done, and the wait would run into the watchdog.
TEST(PipelineJoin, ASlowDeviceDoesNotHoldUpTheGroupsOfAnother) {
  TempTree tree;
  PipelineRig rig;
  FileTable files;
  std::vector<std::uint32_t> pool_of_file;
  auto add = [&](const std::string& name, const std::vector<std::byte>& content, std::uint32_t pool) {
    const std::string path = tree.write_bytes(name, content);
    files.add(entry_of(path), path);
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
  PipelineResult result = rig.run(files,
                                  {PoolSizing{.small = 2, .large = 2, .cache_adaptive = false},
                                   PoolSizing{.small = 1, .large = 1, .cache_adaptive = false}},
                                  pool_of_file, reader);
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
  PipelineRig rig;
  FileTable files;
  const std::vector<std::byte> content = pattern(3 * k_block_size, 50);
  for (int i = 0; i < 8; ++i) {
    const std::string path = tree.write_bytes("f" + std::to_string(i), content);
    files.add(entry_of(path), path);
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
  PipelineResult result =
      rig.run(files, {PoolSizing{.small = 1, .large = 4, .cache_adaptive = false}}, pool_of_file, reader);
  EXPECT_FALSE(rendezvous_missed) << "fewer than 4 whole-file reads ran at once";
  EXPECT_EQ(reader.max_running(0, StageKind::prefix), 1);
  EXPECT_EQ(reader.max_running(0, StageKind::suffix), 1);
  EXPECT_EQ(reader.max_running(0, StageKind::full), 4);
  for (StageKind kind : {StageKind::prefix, StageKind::suffix, StageKind::full}) {
    EXPECT_EQ(result.stages[static_cast<std::size_t>(kind)].pool_threads,
              std::vector<int>{kind == StageKind::full ? 4 : 1})
        << stage_name(kind);
  }
  EXPECT_EQ(result.groups.groups(), 1u);
}

// ---- progressive full reads ---------------------------------------------------------------

// The system reader, reading huge files in pieces, with the pieces each file was read in; a
// file named in `known` has its full hash answered without reading (as a cache hit would).
class PiecesReader : public FileReader {
 public:
  using Piece = std::pair<std::uint64_t, std::uint64_t>;  // offset, length

  Result<Digest> read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                      const CancelToken& cancel, FdBudget* descriptors) override {
    if (kind == StageKind::full) {
      std::lock_guard lock(m_mutex);
      m_whole.insert(f);
    }
    return m_system.read(kind, files, f, worker, opened, cancel, descriptors);
  }
  std::optional<Digest> known(StageKind kind, const FileTable& /*files*/, FileIndex f) override {
    auto it = m_known.find(f);
    if (kind != StageKind::full || it == m_known.end()) {
      return std::nullopt;
    }
    return it->second;
  }
  bool reads_parts() const override { return m_parts; }
  Result<Digest> read_part(const FileTable& files, FileIndex f, StreamingHash& hash, std::uint64_t offset,
                           std::uint64_t length, Worker& worker, int opened, const CancelToken& cancel,
                           FdBudget* descriptors) override {
    {
      std::lock_guard lock(m_mutex);
      m_pieces[f].emplace_back(offset, length);
    }
    Result<Digest> digest = m_system.read_part(files, f, hash, offset, length, worker, opened, cancel, descriptors);
    if (m_after_piece) {
      m_after_piece(f, offset);
    }
    return digest;
  }

  void set_parts(bool parts) { m_parts = parts; }
  void set_after_piece(std::function<void(FileIndex, std::uint64_t)> hook) { m_after_piece = std::move(hook); }
  void set_known(FileIndex f, Digest digest) { m_known[f] = digest; }
  std::vector<Piece> pieces(FileIndex f) const {
    std::lock_guard lock(m_mutex);
    auto it = m_pieces.find(f);
    return it == m_pieces.end() ? std::vector<Piece>{} : it->second;
  }
  bool read_whole(FileIndex f) const {
    std::lock_guard lock(m_mutex);
    return m_whole.count(f) != 0;
  }

 private:
  SystemReader m_system;
  bool m_parts = true;
  std::function<void(FileIndex, std::uint64_t)> m_after_piece;
  std::map<FileIndex, Digest> m_known;
  mutable std::mutex m_mutex;
  std::map<FileIndex, std::vector<Piece>> m_pieces;
  std::set<FileIndex> m_whole;
};

constexpr std::uint64_t k_mib = std::uint64_t{1} << 20;

// Two copies of an 8 MiB file and a third that differs from them at 2 MiB, each on its own pool
// (the first a one-thread pool, in physical order with read-ahead).
class ProgressiveReads : public ::testing::Test {
 protected:
  ProgressiveReads() {
    for (const char* name : {"a1", "a2", "b"}) {
      const std::vector<std::byte>& bytes = name[0] == 'b' ? m_other : m_content;
      const std::string path = m_tree.write_bytes(name, bytes);
      m_files.add(entry_of(path), path);
    }
  }
  PipelineResult run() {
    return m_rig.run(m_files,
                     {PoolSizing{.small = 1, .large = 1, .cache_adaptive = false},
                      PoolSizing{.small = 2, .large = 2, .cache_adaptive = false}},
                     {0, 1, 0}, m_reader);
  }
  const StageReport& full(const PipelineResult& result) const {
    return result.stages[static_cast<std::size_t>(StageKind::full)];
  }
  std::vector<FileIndex> only_group(const PipelineResult& result) const {
    EXPECT_EQ(result.groups.groups(), 1u);
    if (result.groups.groups() != 1) {
      return {};
    }
    std::span<const FileIndex> group = result.groups.group(0);
    std::vector<FileIndex> members(group.begin(), group.end());
    std::sort(members.begin(), members.end());
    return members;
  }

  std::vector<std::byte> m_content = pattern(8 * k_mib, 60);
  std::vector<std::byte> m_other = with_byte_changed(m_content, 2 * k_mib + 5);
  TempTree m_tree;
  PipelineRig m_rig;
  FileTable m_files;
  PiecesReader m_reader;
};

TEST_F(ProgressiveReads, AFileThatDiffersEarlyLeavesItsGroupBeforeItsEnd) {
  PipelineResult result = run();
  EXPECT_EQ(only_group(result), (std::vector<FileIndex>{0, 1}));
  EXPECT_EQ(result.groups.hashes[0], hash_bytes(m_content)) << "the rounds' digest is the whole content's";
  using Pieces = std::vector<PiecesReader::Piece>;
  // 1 MiB, then 4: the digests differ after 5 MiB and b is read no further.
  EXPECT_EQ(m_reader.pieces(2), (Pieces{{0, k_mib}, {k_mib, 4 * k_mib}}));
  // The copies go on to their end: 16 MiB would pass it, so the last round is the 3 MiB left.
  EXPECT_EQ(m_reader.pieces(0), (Pieces{{0, k_mib}, {k_mib, 4 * k_mib}, {5 * k_mib, 3 * k_mib}}));
  EXPECT_EQ(m_reader.pieces(1), m_reader.pieces(0));
  EXPECT_EQ(full(result).bytes_read, (8 + 8 + 5) * k_mib);
  EXPECT_EQ(full(result).files_in, 3u);
  EXPECT_EQ(full(result).files_out, 2u);
  EXPECT_FALSE(m_reader.read_whole(0) || m_reader.read_whole(1) || m_reader.read_whole(2));
  EXPECT_TRUE(result.errors.empty());
}

TEST_F(ProgressiveReads, AReaderWithoutPiecesReadsEachFileWhole) {
  m_reader.set_parts(false);
  PipelineResult result = run();
  EXPECT_EQ(only_group(result), (std::vector<FileIndex>{0, 1}));
  EXPECT_EQ(result.groups.hashes[0], hash_bytes(m_content));
  EXPECT_EQ(full(result).bytes_read, 3 * 8 * k_mib);
  EXPECT_TRUE(m_reader.pieces(2).empty());
  EXPECT_TRUE(m_reader.read_whole(2));
}

// A file whose full hash is known (a cache hit) is not read, and the others are compared with it
// whole: the first round's partial digests cannot be, so they are read to the end at once.
TEST_F(ProgressiveReads, AKnownFullHashIsNotReadAndTheOthersAreReadToTheEnd) {
  m_reader.set_known(0, hash_bytes(m_content));
  PipelineResult result = run();
  EXPECT_EQ(only_group(result), (std::vector<FileIndex>{0, 1}));
  EXPECT_EQ(result.groups.hashes[0], hash_bytes(m_content));
  using Pieces = std::vector<PiecesReader::Piece>;
  EXPECT_TRUE(m_reader.pieces(0).empty());
  EXPECT_EQ(m_reader.pieces(1), (Pieces{{0, k_mib}, {k_mib, 7 * k_mib}}));
  EXPECT_EQ(m_reader.pieces(2), (Pieces{{0, k_mib}, {k_mib, 7 * k_mib}}));
  EXPECT_EQ(full(result).bytes_read, 2 * 8 * k_mib);
}

// The progress line's ETA starts from every candidate read through every stage and takes off
// what files that leave early will not read: when the run ends, the estimate is exactly what was
// read. Here files leave at every point: a progressive read cut short (b), a cache hit (a2), a
// small file unique after its prefix, one that vanished before its read, and small copies.
TEST(ProgressEstimate, ShrinksToTheBytesActuallyRead) {
  TempTree tree;
  FileTable files;
  const std::vector<std::byte> large = pattern(8 * k_mib, 60);
  const std::vector<std::byte> small = pattern(3 * k_block_size + 100, 61);
  const std::vector<std::pair<std::string, std::vector<std::byte>>> contents = {
      {"a1", large},  {"a2", large}, {"b", with_byte_changed(large, 2 * k_mib + 5)},
      {"s1", small},  {"s2", small}, {"s3", with_byte_changed(small, 10)},
      {"gone", small}};
  for (const auto& [name, bytes] : contents) {
    const std::string path = tree.write_bytes(name, bytes);
    files.add(entry_of(path), path);
  }
  ASSERT_EQ(::unlink(tree.path("gone").c_str()), 0);
  PiecesReader reader;
  reader.set_known(1, hash_bytes(large));
  PipelineRig rig(LogLevel::warning, /*show_progress=*/true);
  ASSERT_TRUE(rig.progress.enabled());
  PipelineResult result = rig.run(files,
                                  {PoolSizing{.small = 1, .large = 1, .cache_adaptive = false},
                                   PoolSizing{.small = 2, .large = 2, .cache_adaptive = false}},
                                  {0, 1, 0, 1, 0, 1, 0}, reader);
  EXPECT_EQ(result.groups.groups(), 2u);
  EXPECT_EQ(result.errors.size(), 1u) << "the vanished file";
  std::uint64_t read = 0;
  for (const StageReport& stage : result.stages) {
    read += stage.bytes_read;
  }
  EXPECT_EQ(rig.progress.bytes_done(), read);
  EXPECT_EQ(rig.progress.bytes_total(), read) << "the estimate ends at the truth, neither above nor below";
}

// A file changed between two rounds is an error, not a copy: every piece checks the file.
TEST_F(ProgressiveReads, AFileChangedBetweenRoundsIsChanged) {
  m_reader.set_after_piece([&](FileIndex f, std::uint64_t offset) {
    if (f == 0 && offset == 0) {
      // Same size and content, new mtime and ctime: what a rewrite in place leaves.
      const struct timespec later[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};
      ASSERT_EQ(::utimensat(AT_FDCWD, m_tree.path("a2").c_str(), later, 0), 0);
    }
  });
  PipelineResult result = run();
  EXPECT_EQ(result.groups.groups(), 0u);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].path, m_tree.path("a2"));
  EXPECT_EQ(result.errors[0].op, "changed");
}

}  // namespace
}  // namespace spindle
