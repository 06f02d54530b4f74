// --paranoid: a byte-by-byte compare after hashing splits what a hash alone would have grouped.
// The seam: a reader whose every digest is the same (a hash collision on every file), so only
// the compare can tell the files apart.
#include "fakes/fake_device_probe.hpp"
#include "fakes/temp_tree.hpp"

#include <spindle/device.hpp>
#include <spindle/group.hpp>
#include <spindle/reader.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace spindle {
namespace {

using fakes::FakeDeviceProbe;
using fakes::TempSink;
using fakes::TempTree;
using GroupSet = std::set<std::set<std::string>>;

// Every read "hashes" to one digest without reading: every candidate collides with every other
// of its size. `before_first_read` runs once, when the first read comes (after the walk).
class CollidingReader : public FileReader {
 public:
  Result<Digest> read(StageKind /*kind*/, const FileTable& /*files*/, FileIndex /*f*/, Worker& /*worker*/, int opened,
                      const CancelToken& /*cancel*/, FdBudget* descriptors) override {
    if (opened >= 0) {
      ::close(opened);
      if (descriptors != nullptr) {
        descriptors->release();
      }
    }
    if (before_first_read && !m_started.exchange(true)) {
      before_first_read();
    }
    return Digest{0x5eed, 0xc011};
  }
  std::function<void()> before_first_read;

 private:
  std::atomic<bool> m_started{false};
};

std::string pattern(std::size_t size, unsigned seed) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<char>((i * 131 + seed * 17 + 3) % 253);
  }
  return bytes;
}

class Paranoid : public ::testing::Test {
 protected:
  Paranoid() {
    m_tree.mkdir("data");
    m_config.paths = {m_tree.path("data")};
    m_config.progress = ProgressMode::never;
  }
  void add(const std::string& name, const std::string& content) { m_tree.write("data/" + name, content); }
  GroupResult run() { return run_group(m_config, m_log, m_cancel, {m_probe, m_calibration, m_reader}); }
  GroupSet groups(const GroupResult& result) const {
    GroupSet out;
    const std::string prefix = m_tree.path("data/");
    for (const DuplicateGroup& group : result.groups) {
      std::set<std::string> names;
      for (FileIndex f : group.files) {
        names.insert(result.files.path(f).substr(prefix.size()));
      }
      out.insert(names);
    }
    return out;
  }
  std::uint64_t inode(const std::string& name) const {
    struct stat st {};
    EXPECT_EQ(::stat(m_tree.path("data/" + name).c_str(), &st), 0);
    return st.st_ino;
  }

  TempTree m_tree;
  TempSink m_sink;
  Logger m_log{m_sink.get(), LogLevel::warning};
  CancelToken m_cancel;
  Config m_config;
  FakeDeviceProbe m_probe;
  Calibration m_calibration;
  CollidingReader m_reader;
};

TEST_F(Paranoid, ACollisionGroupsDifferentFilesWithoutIt) {
  const std::string content = pattern(300'000, 1);
  add("a1", content);
  add("a2", content);
  add("b", pattern(300'000, 2));
  EXPECT_EQ(groups(run()), (GroupSet{{"a1", "a2", "b"}})) << "the seam must make the hashes collide";
}

TEST_F(Paranoid, SplitsACollisionByTheBytes) {
  m_config.paranoid = true;
  const std::string content = pattern(300'000, 1);
  add("a1", content);
  add("a2", content);
  std::string other = content;
  other[299'999] = static_cast<char>(~other[299'999]);  // in the last of the compare's blocks
  add("b", other);
  GroupResult result = run();
  EXPECT_EQ(groups(result), (GroupSet{{"a1", "a2"}}));
  EXPECT_TRUE(result.errors.empty());
  const StageReport& stage = result.stats.stages.back();
  EXPECT_EQ(stage.name, "paranoid");
  EXPECT_EQ(stage.files_in, 3u);
  EXPECT_EQ(stage.files_out, 2u);
  EXPECT_EQ(stage.groups_out, 1u);
}

// Files that differ from the first file are compared again among themselves.
TEST_F(Paranoid, FilesThatDifferFromTheFirstAreComparedAmongThemselves) {
  m_config.paranoid = true;
  for (unsigned seed : {1U, 2U, 3U, 4U}) {
    add("single" + std::to_string(seed), pattern(10'000, seed));
  }
  add("b1", pattern(10'000, 9));
  add("b2", pattern(10'000, 9));
  add("c1", pattern(10'000, 8));
  add("c2", pattern(10'000, 8));
  add("c3", pattern(10'000, 8));
  EXPECT_EQ(groups(run()), (GroupSet{{"b1", "b2"}, {"c1", "c2", "c3"}}));
}

// A file changed since the walk is a FileError and leaves its group, whether it is the group's
// first file (the compare's reference) or another.
TEST_F(Paranoid, AFileChangedSinceTheWalkIsAnErrorFirstFileOrNot) {
  m_config.paranoid = true;
  const std::string content = pattern(50'000, 3);
  for (const char* name : {"x1", "x2", "x3"}) {
    add(name, content);
  }
  std::vector<std::string> by_inode = {"x1", "x2", "x3"};
  std::sort(by_inode.begin(), by_inode.end(), [&](const auto& a, const auto& b) { return inode(a) < inode(b); });
  for (const std::string& changed : {by_inode.front(), by_inode.back()}) {
    CollidingReader reader;
    reader.before_first_read = [&] {
      const struct timespec later[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};
      ASSERT_EQ(::utimensat(AT_FDCWD, m_tree.path("data/" + changed).c_str(), later, 0), 0);
    };
    GroupResult result = run_group(m_config, m_log, m_cancel, {m_probe, m_calibration, reader});
    std::set<std::string> rest = {"x1", "x2", "x3"};
    rest.erase(changed);
    EXPECT_EQ(groups(result), GroupSet{rest}) << changed;
    ASSERT_EQ(result.errors.size(), 1u) << changed;
    EXPECT_EQ(result.errors[0].path, m_tree.path("data/" + changed));
    EXPECT_EQ(result.errors[0].op, "changed");
  }
}

}  // namespace
}  // namespace spindle
