// read_small_file: files spindle reads that are not user data never hang it or fill its memory.
#include "fakes/temp_tree.hpp"
#include "fakes/watchdog.hpp"

#include <spindle/small_file.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace spindle {
namespace {

using fakes::TempTree;

TEST(SmallFileTest, ReadsARegularFileAndFollowsSymlinksToOne) {
  TempTree tree;
  tree.write("dotfiles/calibration", "block:8:0 1 1\n");
  std::string link = tree.symlink(tree.path("dotfiles/calibration"), "config/calibration");  // stow
  Result<std::string> text = read_small_file(link, 1024);
  ASSERT_TRUE(text.ok()) << text.error().reason();
  EXPECT_EQ(*text, "block:8:0 1 1\n");
}

TEST(SmallFileTest, MissingIsEnoent) {
  TempTree tree;
  Result<std::string> text = read_small_file(tree.path("absent"), 1024);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().errnum, ENOENT);
}

// A FIFO with no writer would block a plain open() forever; the check happens without reading.
TEST(SmallFileTest, FifoRefusedWithoutBlocking) {
  TempTree tree;
  std::string fifo = tree.fifo("calibration");
  std::future<Result<std::string>> read = std::async(std::launch::async, [&] { return read_small_file(fifo, 1024); });
  ASSERT_EQ(read.wait_for(std::chrono::seconds(60)), std::future_status::ready) << "blocked on a FIFO";
  Result<std::string> text = read.get();
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().path, fifo);
  EXPECT_EQ(text.error().reason(), "not a regular file: it is a FIFO");
}

// /dev/zero behind a symlink: refused by its type before a single byte is read.
TEST(SmallFileTest, DeviceBehindSymlinkRefused) {
  TempTree tree;
  std::string link = tree.symlink("/dev/zero", "calibration");
  Result<std::string> text = read_small_file(link, 1 << 20);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().reason(), "not a regular file: it is a character device");
}

TEST(SmallFileTest, SizeBoundIsExact) {
  TempTree tree;
  std::string at_limit = tree.write("at", std::string(100, 'x'));
  std::string over = tree.write("over", std::string(101, 'x'));
  ASSERT_TRUE(read_small_file(at_limit, 100).ok());
  Result<std::string> text = read_small_file(over, 100);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().op, "too large");
}

// /proc files say st_size 0: the bound holds on what is read, not on what fstat says.
TEST(SmallFileTest, BoundHoldsWhenSizeIsNotReported) {
  Result<std::string> whole = read_small_file("/proc/self/mountinfo", 64 << 20);
  ASSERT_TRUE(whole.ok()) << whole.error().reason();
  ASSERT_GT(whole->size(), 10u);
  Result<std::string> bounded = read_small_file("/proc/self/mountinfo", 10);
  ASSERT_FALSE(bounded.ok());
  EXPECT_EQ(bounded.error().op, "too large");
}

}  // namespace
}  // namespace spindle
