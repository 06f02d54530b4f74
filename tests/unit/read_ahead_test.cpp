#include "fakes/temp_tree.hpp"

#include <spindle/fd_budget.hpp>
#include <spindle/read_ahead.hpp>

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace spindle {
namespace {

class ReadAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 10; ++i) {
      m_paths.push_back(m_tree.write("f" + std::to_string(i), std::string(100 + i, 'x')));
    }
  }
  // Hints for m_paths; `lengths[i]` bytes announced for item i (100 when not given). Records
  // which items were asked for, in order.
  ReadAhead::HintOf hints(std::vector<std::uint64_t> lengths = {}) {
    return [this, lengths](std::size_t i) {
      m_asked.push_back(i);
      return ReadHint{m_paths[i], 0, i < lengths.size() ? lengths[i] : 100};
    };
  }
  static ino_t inode_of_fd(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
  }
  static ino_t inode_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
  }

  fakes::TempTree m_tree;
  std::vector<std::string> m_paths;
  std::vector<std::size_t> m_asked;
};

TEST_F(ReadAheadTest, EachItemGetsItsOwnFileAndTheWindowStaysDepthAhead) {
  ReadAhead ahead(m_paths.size(), hints(), 3, 1 << 20);
  for (std::size_t i = 0; i < m_paths.size(); ++i) {
    int fd = ahead.take(i);
    ASSERT_GE(fd, 0) << i;
    EXPECT_EQ(inode_of_fd(fd), inode_of(m_paths[i])) << i;
    ::close(fd);
    // Opened so far: the current item and at most 3 after it, each exactly once, in order.
    const std::size_t opened = std::min(m_paths.size(), i + 4);
    ASSERT_EQ(m_asked.size(), opened) << i;
    for (std::size_t k = 0; k < opened; ++k) {
      EXPECT_EQ(m_asked[k], k);
    }
  }
}

TEST_F(ReadAheadTest, ByteBudgetLimitsTheWindowButOneFileAlwaysGoes) {
  // Item 1 alone is larger than the budget; items 2.. are small.
  ReadAhead ahead(m_paths.size(), hints({100, 5000, 100, 100, 100}), 8, 1000);
  int fd = ahead.take(0);
  ASSERT_GE(fd, 0);
  ::close(fd);
  // After item 0 was taken, item 1 (5000 bytes) is the whole window: nothing else fits with it.
  EXPECT_EQ(m_asked, (std::vector<std::size_t>{0, 1, 2}));  // 2 was asked for and did not fit
  fd = ahead.take(1);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(inode_of_fd(fd), inode_of(m_paths[1]));
  ::close(fd);
}

TEST_F(ReadAheadTest, MissingFileIsLeftToTheCaller) {
  ASSERT_EQ(::unlink(m_paths[2].c_str()), 0);
  ReadAhead ahead(4, hints(), 4, 1 << 20);
  for (std::size_t i = 0; i < 4; ++i) {
    int fd = ahead.take(i);
    if (i == 2) {
      EXPECT_EQ(fd, -1);
    } else {
      ASSERT_GE(fd, 0) << i;
      ::close(fd);
    }
  }
}

// Skipped items (a cancelled or failing reader moves on) are closed, never leaked, and so is
// whatever is still ahead when the reader stops early.
TEST_F(ReadAheadTest, SkippedAndUntakenFilesAreClosed) {
  auto open_fds = [] {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
      ++n;
    }
    return n;
  };
  const std::size_t before = open_fds();
  {
    ReadAhead ahead(m_paths.size(), hints(), 4, 1 << 20);
    int fd = ahead.take(0);
    ASSERT_GE(fd, 0);
    ::close(fd);
    fd = ahead.take(3);  // 1 and 2 were opened ahead and are skipped
    ASSERT_GE(fd, 0);
    EXPECT_EQ(inode_of_fd(fd), inode_of(m_paths[3]));
    ::close(fd);
    EXPECT_GT(open_fds(), before);  // the window is open
  }
  EXPECT_EQ(open_fds(), before);
}

// Many single-reader pools each keep a window open; running out of descriptors must shorten
// the windows, never turn a readable file into an error.
TEST_F(ReadAheadTest, OutOfDescriptorsShrinksTheWindowAndFailsNoFile) {
  std::set<int> open_fds;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    open_fds.insert(std::stoi(entry.path().filename().string()));
  }
  // A limit with two free descriptor numbers below it, three once the iterator's own is closed
  // (new fds take the lowest free number): room for a window of three files, not eight.
  int limit = 0;
  for (int free_below = 0; free_below < 2; ++limit) {
    free_below += open_fds.count(limit) == 0 ? 1 : 0;
  }
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(limit);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  std::vector<int> fds;
  {
    ReadAhead ahead(m_paths.size(), hints(), 8, 1 << 20);
    for (std::size_t i = 0; i < m_paths.size(); ++i) {
      int fd = ahead.take(i);
      fds.push_back(fd);
      if (fd >= 0) {
        EXPECT_EQ(inode_of_fd(fd), inode_of(m_paths[i])) << i;
        ::close(fd);
      }
    }
  }
  ::setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_EQ(std::count(fds.begin(), fds.end(), -1), 0);
}

// With a descriptor budget, the window takes only free descriptors (it never waits for one)
// and every descriptor comes back: taken files with their fd, the rest when the window goes.
TEST_F(ReadAheadTest, WindowTakesOnlyFreeDescriptorsOfTheBudget) {
  FdBudget budget(3);
  {
    ReadAhead ahead(m_paths.size(), hints(), 8, 1 << 20, &budget);
    for (std::size_t i = 0; i < m_paths.size(); ++i) {
      int fd = ahead.take(i);
      ASSERT_GE(fd, 0) << i;
      EXPECT_EQ(inode_of_fd(fd), inode_of(m_paths[i])) << i;
      EXPECT_LE(budget.in_use(), 3u);
      ::close(fd);
      budget.release();  // the caller owns the taken file's descriptor
    }
  }
  EXPECT_EQ(budget.in_use(), 0u);
}

// When the caller must open a file itself (-1), the window is empty: the caller may then wait
// for a descriptor without holding any, so readers of two pools cannot wait for each other.
TEST_F(ReadAheadTest, AFileLeftToTheCallerLeavesNothingHeldAhead) {
  ASSERT_EQ(::unlink(m_paths[2].c_str()), 0);
  FdBudget budget(8);
  ReadAhead ahead(m_paths.size(), hints(), 4, 1 << 20, &budget);
  for (std::size_t i = 0; i < 2; ++i) {
    int fd = ahead.take(i);
    ASSERT_GE(fd, 0);
    ::close(fd);
    budget.release();
  }
  EXPECT_EQ(ahead.take(2), -1);
  EXPECT_EQ(budget.in_use(), 0u);
  int fd = ahead.take(3);  // and it goes on from there
  ASSERT_GE(fd, 0);
  EXPECT_EQ(inode_of_fd(fd), inode_of(m_paths[3]));
  ::close(fd);
  budget.release();
}

}  // namespace
}  // namespace spindle
