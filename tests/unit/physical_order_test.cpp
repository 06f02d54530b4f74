#include <spindle/physical_order.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace spindle {
namespace {

constexpr std::uint64_t k_unknown = std::numeric_limits<std::uint64_t>::max();

std::string make_file(const std::string& dir, const std::string& name, std::size_t bytes) {
  std::string path = dir + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string data(bytes, static_cast<char>('a' + name.size()));
  EXPECT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::fsync(fd);  // allocate the blocks now, so FIEMAP has an extent to show
  ::close(fd);
  return path;
}

TEST(PhysicalOrder, SingleReaderOrderFollowsFirstExtentOffsets) {
  std::string dir = std::filesystem::temp_directory_path() / ("spindle-fiemap-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  FileTable table;
  for (int i = 0; i < 8; ++i) {
    std::string path = make_file(dir, "f" + std::to_string(i), 8192 + static_cast<std::size_t>(i) * 4096);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    FileEntry entry;
    entry.set_device(st.st_dev);
    entry.ino = st.st_ino;
    entry.size = static_cast<std::uint64_t>(st.st_size);
    table.add(entry, path);
  }
  if (physical_offset(table.path(0).c_str()) == k_unknown) {
    std::filesystem::remove_all(dir);
    GTEST_SKIP() << dir << " is on a filesystem without FIEMAP; physical ordering cannot be observed there";
  }
  std::vector<FileIndex> files{7, 3, 5, 1, 0, 6, 2, 4};
  std::vector<std::uint32_t> order = single_reader_order(files, table, true);
  ASSERT_EQ(order.size(), files.size());
  for (std::size_t i = 1; i < order.size(); ++i) {
    EXPECT_LE(physical_offset(table.path(files[order[i - 1]]).c_str()),
              physical_offset(table.path(files[order[i]]).c_str()));
  }
  std::filesystem::remove_all(dir);
}

TEST(PhysicalOrder, InodeOrderWithoutFiemap) {
  FileTable table;
  for (std::uint64_t ino : {30, 10, 20}) {
    FileEntry entry;
    entry.set_device(1);
    entry.ino = ino;
    table.add(entry, "/nonexistent/" + std::to_string(ino));
  }
  std::vector<FileIndex> files{0, 1, 2};
  EXPECT_EQ(single_reader_order(files, table, false), (std::vector<std::uint32_t>{1, 2, 0}));
}

TEST(PhysicalOrder, UnknownForMissingFiles) {
  EXPECT_EQ(physical_offset("/nonexistent/spindle/file"), k_unknown);
}

}  // namespace
}  // namespace spindle
