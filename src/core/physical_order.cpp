#include <spindle/hash.hpp>
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
  int fd = open_for_reading(path);
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

std::vector<std::uint32_t> single_reader_order(std::span<const FileIndex> files, const FileTable& table,
                                               bool use_fiemap) {
  std::vector<std::uint64_t> offset(files.size(), 0);
  if (use_fiemap) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      offset[i] = physical_offset(table.path(files[i]).c_str());
    }
  }
  std::vector<std::uint32_t> order(files.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    const FileEntry& x = table[files[a]];
    const FileEntry& y = table[files[b]];
    return std::tuple(x.device(), offset[a], x.ino) < std::tuple(y.device(), offset[b], y.ino);
  });
  return order;
}

}  // namespace spindle
