#include <spindle/physical_order.hpp>

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <tuple>
#include <vector>

namespace spindle {

std::uint64_t physical_offset(const char* path) {
  constexpr std::uint64_t k_unknown = std::numeric_limits<std::uint64_t>::max();
  int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOATIME);
  if (fd < 0) {
    fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  }
  if (fd < 0) {
    return k_unknown;
  }
  // struct fiemap ends in a flexible array: room for one extent after it, suitably aligned.
  alignas(struct fiemap) unsigned char storage[sizeof(struct fiemap) + sizeof(struct fiemap_extent)] = {};
  auto* map = reinterpret_cast<struct fiemap*>(storage);
  map->fm_start = 0;
  map->fm_length = FIEMAP_MAX_OFFSET;
  map->fm_extent_count = 1;
  std::uint64_t offset = k_unknown;
  if (::ioctl(fd, FS_IOC_FIEMAP, map) == 0 && map->fm_mapped_extents == 1) {
    offset = map->fm_extents[0].fe_physical;
  }
  ::close(fd);
  return offset;
}

void sort_for_single_reader(std::span<FileIndex> files, const FileTable& table, bool use_fiemap) {
  if (!use_fiemap) {
    std::sort(files.begin(), files.end(), [&](FileIndex a, FileIndex b) {
      return std::tie(table[a].dev, table[a].ino) < std::tie(table[b].dev, table[b].ino);
    });
    return;
  }
  std::vector<std::pair<std::uint64_t, FileIndex>> keyed;
  keyed.reserve(files.size());
  for (FileIndex f : files) {
    keyed.emplace_back(physical_offset(table.c_path(f)), f);
  }
  std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    return std::tie(table[a.second].dev, a.first, table[a.second].ino) <
           std::tie(table[b.second].dev, b.first, table[b.second].ino);
  });
  for (std::size_t i = 0; i < files.size(); ++i) {
    files[i] = keyed[i].second;
  }
}

}  // namespace spindle
