#include "fakes/fake_device_probe.hpp"
#include "fakes/temp_tree.hpp"
#include "fakes/watchdog.hpp"

#include <spindle/calibrate.hpp>
#include <spindle/checksum_line.hpp>
#include <spindle/checksum_reader.hpp>
#include <spindle/hash_run.hpp>
#include <spindle/threads_spec.hpp>

#include <gtest/gtest.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace spindle {
namespace {

using fakes::FakeDeviceProbe;
using fakes::TempTree;

FileEntry entry_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw std::runtime_error("stat " + path);
  }
  FileEntry entry;
  entry.size = static_cast<std::uint64_t>(st.st_size);
  entry.ino = st.st_ino;
  entry.set_device(st.st_dev);
  entry.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  entry.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return entry;
}

// Counts the reads it passes on to another reader; may fail or hold back chosen files.
class CountingReader : public FileReader {
 public:
  explicit CountingReader(FileReader& inner) : m_inner(inner) {}
  Result<Digest> read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                      const CancelToken& cancel, FdBudget* descriptors) override {
    reads.fetch_add(1);
    {
      std::lock_guard lock(mutex);
      read_files.insert(f);
    }
    if (before_read) {
      before_read(f);
    }
    return m_inner.read(kind, files, f, worker, opened, cancel, descriptors);
  }
  std::atomic<int> reads{0};
  std::mutex mutex;
  std::multiset<FileIndex> read_files;
  std::function<void(FileIndex)> before_read;

 private:
  FileReader& m_inner;
};

class HashRunTest : public ::testing::Test {
 protected:
  // `count` files of distinct content under the tree, added to the table in reverse path order
  // (so the table's order is not the listing's).
  void make_files(int count) {
    for (int i = count - 1; i >= 0; --i) {
      const std::string name = "f" + std::to_string(1000 + i);
      const std::string path = m_tree.write(name, std::string(static_cast<std::size_t>(i * 37 % 5000), 'x') + name);
      m_files.add(entry_of(path), path);
    }
  }
  void set_threads(const std::string& spec) {
    m_config.threads.rules.clear();
    for (ThreadsRule& rule : parse_threads_argument(spec)) {
      m_config.threads.rules.push_back(rule);
    }
  }
  struct Seen {
    std::vector<FileIndex> files;
    std::vector<std::string> lines;
    std::vector<std::string> errors;
  };
  HashRunResult run(FileReader& reader, std::span<const FileIndex> order, Seen& seen,
                    const std::function<void(FileIndex)>& on_sink = {}) {
    Progress progress(m_log, false);
    const HashJob job{.config = m_config,
                      .log = m_log,
                      .cancel = m_cancel,
                      .files = m_files,
                      .order = order,
                      .probe = m_probe,
                      .calibration = m_calibration,
                      .reader = reader,
                      .progress = progress};
    return fakes::within(std::chrono::seconds(120), "hash_in_order", [&] {
      return hash_in_order(job, [&](FileIndex f, const Result<Digest>& digest) {
        seen.files.push_back(f);
        if (digest.ok()) {
          std::string line;
          append_checksum_line(line, HashAlgo::xxh128, *digest, m_files.path(f), {});
          seen.lines.push_back(line);
        } else {
          seen.errors.push_back(digest.error().path + ": " + digest.error().reason());
        }
        if (on_sink) {
          on_sink(f);
        }
        return true;
      });
    });
  }

  TempTree m_tree;
  FileTable m_files;
  Config m_config;
  Logger m_log{stderr, LogLevel::error};
  CancelToken m_cancel;
  FakeDeviceProbe m_probe;
  Calibration m_calibration;
};

TEST(ListingOrder, PathOrderIsBytewiseAndInputOrderFollowsThePaths) {
  FileTable files;
  FileEntry entry;
  entry.root = 1;
  files.add(entry, "b/\xff");
  files.add(entry, "b/a");
  entry.root = 0;
  files.add(entry, "z/y");
  files.add(entry, "z/x");
  EXPECT_EQ(listing_order(files, ListOrder::path), (std::vector<FileIndex>{1, 0, 3, 2}));
  EXPECT_EQ(listing_order(files, ListOrder::input), (std::vector<FileIndex>{3, 2, 1, 0}));
  // Runs of PATHs (a --files-from list longer than FileEntry::root counts): the later run's
  // root 0 comes after the first run's root 1.
  const std::vector<FileIndex> chunks{0, 2};
  EXPECT_EQ(listing_order(files, ListOrder::input, chunks), (std::vector<FileIndex>{1, 0, 3, 2}));
}

TEST_F(HashRunTest, SinkGetsTheListingInOrderWhateverTheThreadCount) {
  make_files(300);
  const std::vector<FileIndex> order = listing_order(m_files, ListOrder::path);
  std::vector<std::string> reference;
  for (const char* threads : {"1", "8", "3"}) {
    set_threads(threads);
    ChecksumReader reader(HashAlgo::xxh128);
    Seen seen;
    HashRunResult result = run(reader, order, seen);
    EXPECT_EQ(seen.files, order) << "-t " << threads;
    EXPECT_EQ(result.files_hashed, order.size());
    EXPECT_FALSE(result.cancelled);
    if (reference.empty()) {
      reference = seen.lines;
    }
    EXPECT_EQ(seen.lines, reference) << "-t " << threads;
  }
  // Bytewise by path: f1000 first.
  EXPECT_NE(reference.front().find("/f1000\n"), std::string::npos) << reference.front();
}

TEST_F(HashRunTest, FirstLineComesBeforeTheLastReadStarts) {
  // With streaming, the sink has the first file while the last files' reads are held back until
  // it does; a run that waited for every read before writing would never release them (the
  // wait below would time out and the assertion fail).
  make_files(96);
  set_threads("4");
  const std::vector<FileIndex> order = listing_order(m_files, ListOrder::path);
  const std::set<FileIndex> last(order.end() - 16, order.end());
  std::mutex mutex;
  std::condition_variable cv;
  bool first_seen = false;
  std::atomic<bool> released_in_time{true};
  ChecksumReader inner(HashAlgo::xxh128);
  CountingReader reader(inner);
  reader.before_read = [&](FileIndex f) {
    if (last.contains(f) && released_in_time.load()) {  // after one timeout, fail without waiting again
      std::unique_lock lock(mutex);
      if (!cv.wait_for(lock, std::chrono::seconds(60), [&] { return first_seen; })) {
        released_in_time = false;
      }
    }
  };
  Seen seen;
  run(reader, order, seen, [&](FileIndex) {
    std::lock_guard lock(mutex);
    first_seen = true;
    cv.notify_all();
  });
  EXPECT_TRUE(released_in_time.load());
  EXPECT_EQ(seen.files, order);
}

TEST_F(HashRunTest, HardLinksAreReadOnceAndListedUnderEachPath) {
  const std::string a = m_tree.write("a", "same inode");
  const std::string b = m_tree.hard_link("a", "b");
  const std::string c = m_tree.write("c", "other");
  m_files.add(entry_of(c), c);
  m_files.add(entry_of(b), b);
  m_files.add(entry_of(a), a);
  const std::vector<FileIndex> order = listing_order(m_files, ListOrder::path);
  ChecksumReader inner(HashAlgo::xxh128);
  CountingReader reader(inner);
  Seen seen;
  HashRunResult result = run(reader, order, seen);
  EXPECT_EQ(reader.reads.load(), 2);
  ASSERT_EQ(seen.lines.size(), 3U);
  EXPECT_EQ(seen.lines[0].substr(0, 32), seen.lines[1].substr(0, 32));
  EXPECT_EQ(result.bytes_read, std::string("same inode").size() + std::string("other").size());
}

TEST_F(HashRunTest, ErrorsComeInOrderUnderTheirOwnPath) {
  const std::string a = m_tree.write("a", "one");
  const std::string b = m_tree.hard_link("a", "b");
  const std::string c = m_tree.write("c", "two");
  const std::string d = m_tree.write("d", "fine");
  m_files.add(entry_of(a), a);
  m_files.add(entry_of(b), b);
  m_files.add(entry_of(c), c);
  m_files.add(entry_of(d), d);
  m_tree.write("c", "changed after the walk");  // size differs from what the table holds
  m_tree.remove("a");                           // b is the same inode: its ctime moves
  const std::vector<FileIndex> order{2, 3, 0, 1};
  ChecksumReader reader(HashAlgo::xxh128);
  Seen seen;
  HashRunResult result = run(reader, order, seen);
  EXPECT_EQ(seen.files, order);
  EXPECT_EQ(result.errors, 3U);
  EXPECT_EQ(result.files_hashed, 1U);
  // a is read (and fails) once, for both of its names; each error names its own path.
  EXPECT_EQ(seen.errors, (std::vector<std::string>{c + ": changed: size changed since it was scanned",
                                                   a + ": open: No such file or directory",
                                                   b + ": open: No such file or directory"}));
}

class HashRunCancelTest : public HashRunTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(HashRunCancelTest, CancelEndsTheRunWithoutAFullListing) {
  make_files(200);
  set_threads(GetParam());
  const std::vector<FileIndex> order = listing_order(m_files, ListOrder::path);
  ChecksumReader inner(HashAlgo::xxh128);
  CountingReader reader(inner);
  reader.before_read = [&](FileIndex) {
    if (reader.reads.load() == 20) {
      m_cancel.cancel();
    }
  };
  Seen seen;
  HashRunResult result = run(reader, order, seen);
  EXPECT_TRUE(result.cancelled);
  EXPECT_LT(seen.files.size(), order.size());
  EXPECT_LT(reader.reads.load(), 200);
}

INSTANTIATE_TEST_SUITE_P(Threads, HashRunCancelTest, ::testing::Values("1", "4"));

TEST_F(HashRunTest, EveryAlgorithmMatchesTheBytesInMemory) {
  const std::string bytes = std::string(300 * 1024, 'q') + "tail";  // several 128 KiB reads
  const std::string path = m_tree.write("big", bytes);
  m_files.add(entry_of(path), path);
  const std::vector<FileIndex> order{0};
  const std::vector<std::pair<HashAlgo, Digest>> expected{
      {HashAlgo::xxh128, hash_bytes(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())))},
      {HashAlgo::xxh3, Digest{0, XXH3_64bits(bytes.data(), bytes.size())}},
      {HashAlgo::xxh64, Digest{0, XXH64(bytes.data(), bytes.size(), 0)}},
      {HashAlgo::xxh32, Digest{0, XXH32(bytes.data(), bytes.size(), 0)}}};
  for (const auto& [algo, digest] : expected) {
    ChecksumReader reader(algo);
    Seen seen;
    Digest got;
    Progress progress(m_log, false);
    hash_in_order(HashJob{.config = m_config,
                          .log = m_log,
                          .cancel = m_cancel,
                          .files = m_files,
                          .order = order,
                          .probe = m_probe,
                          .calibration = m_calibration,
                          .reader = reader,
                          .progress = progress},
                  [&](FileIndex, const Result<Digest>& result) {
                    EXPECT_TRUE(result.ok());
                    if (result.ok()) {
                      got = *result;
                    }
                    return true;
                  });
    EXPECT_EQ(got, digest) << algo_name(algo);
  }
}

}  // namespace
}  // namespace spindle
