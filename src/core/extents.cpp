#include <spindle/extents.hpp>

#include <linux/btrfs.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>
#include <vector>

namespace spindle {

namespace {

// One FIDEDUPERANGE call covers at most this much: btrfs caps a call at 16 MiB (BTRFS_MAX_DEDUPE_LEN)
// and shortens larger requests silently; asking for exactly the cap keeps every call whole. A
// multiple of every block size, so only the last call can end on a partial block.
constexpr std::uint64_t k_dedupe_chunk = 16ULL << 20;

// FIEMAP extents per call: 128 * 56 bytes is one small buffer; a file with more extents takes more calls.
constexpr std::uint32_t k_fiemap_batch = 128;

// Extents whose physical address does not identify their blocks alone: no address yet (delalloc,
// unknown), data kept in metadata (inline, tail-packed, not aligned), or a physical address that
// names an encoded extent several logical ranges may point into (compressed, encrypted).
constexpr std::uint32_t k_cannot_tell = FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_ENCODED |
                                        FIEMAP_EXTENT_DATA_ENCRYPTED | FIEMAP_EXTENT_NOT_ALIGNED |
                                        FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_DATA_TAIL;

// A run of a file's bytes stored contiguously on the device.
struct Segment {
  std::uint64_t logical = 0;
  std::uint64_t physical = 0;
  std::uint64_t length = 0;
  bool operator==(const Segment&) const = default;
};

int ioctl_retrying(int fd, unsigned long request, void* arg) {
  int result = 0;
  do {
    result = ::ioctl(fd, request, arg);
  } while (result != 0 && errno == EINTR);
  return result;
}

// Words for why the kernel refused to share extents; errno alone ("Invalid argument") does not say.
std::string refusal_detail(int errnum) {
  switch (errnum) {
    case EOPNOTSUPP:
    case ENOTTY:
    case ENOSYS:
      return "this filesystem cannot share extents between files; btrfs and XFS can";
    case EXDEV:
      return "not on the same filesystem as the kept file";
    case EINVAL:
      return "the kernel refused the range: a file changed size, is not a regular file, or this filesystem "
             "cannot share these extents";
    case EPERM:
      return "the file is immutable or append-only, or the filesystem forbids sharing it";
    case EACCES:
      return "neither open for writing nor owned by this user";
    case EBADF:
      return "the duplicate is not open for writing, or the kept file not for reading";
    case ETXTBSY:
      return "the file is a running program or an active swap file";
    case EISDIR:
      return "a directory has no data to share";
    default:
      return {};
  }
}

FileError refusal(const std::string& dup_path, const char* op, int errnum) {
  return FileError{.path = dup_path, .errnum = errnum, .op = op, .detail = refusal_detail(errnum)};
}

// Append `extent` clipped to [0,size), merged into the previous segment when it continues it
// logically and physically: filesystems split extents differently (btrfs at 128 MiB, or where a
// write landed), and two files sharing the same blocks may be cut at different places.
// An unwritten (preallocated) extent counts as a hole: it holds no data, reads as zeros, and
// reflink skips it (XFS leaves speculative preallocations unwritten between sparse writes, and a
// reflinked copy has holes there).
void append_clipped(std::vector<Segment>& segments, const struct fiemap_extent& extent, std::uint64_t size) {
  if (extent.fe_logical >= size || (extent.fe_flags & FIEMAP_EXTENT_UNWRITTEN) != 0) {
    return;
  }
  Segment next{.logical = extent.fe_logical,
               .physical = extent.fe_physical,
               .length = std::min<std::uint64_t>(extent.fe_length, size - extent.fe_logical)};
  if (!segments.empty()) {
    Segment& last = segments.back();
    if (last.logical + last.length == next.logical && last.physical + last.length == next.physical) {
      last.length += next.length;
      return;
    }
  }
  segments.push_back(next);
}

// The data segments of `fd` over [0,size); std::nullopt when the filesystem cannot say where the
// data is (no FIEMAP, or an extent in k_cannot_tell).
Result<std::optional<std::vector<Segment>>> data_segments(int fd, std::uint64_t size, const std::string& dup_path,
                                                          const char* whose) {
  // struct fiemap ends in a flexible array: a buffer of 64-bit words is aligned for it and its extents.
  std::vector<std::uint64_t> storage(
      (sizeof(struct fiemap) + k_fiemap_batch * sizeof(struct fiemap_extent)) / sizeof(std::uint64_t) + 1);
  auto* map = reinterpret_cast<struct fiemap*>(storage.data());
  std::vector<Segment> segments;
  std::uint64_t start = 0;
  while (start < size) {
    std::fill(storage.begin(), storage.end(), 0);
    map->fm_start = start;
    map->fm_length = size - start;
    map->fm_flags = FIEMAP_FLAG_SYNC;  // write delayed allocations first, so every extent has an address
    map->fm_extent_count = k_fiemap_batch;
    if (ioctl_retrying(fd, FS_IOC_FIEMAP, map) != 0) {
      if (errno == EOPNOTSUPP || errno == ENOTTY) {
        return std::optional<std::vector<Segment>>();
      }
      return FileError{.path = dup_path, .errnum = errno, .op = "fiemap", .detail = whose};
    }
    if (map->fm_mapped_extents == 0) {
      break;  // the rest is a hole
    }
    for (std::uint32_t i = 0; i < map->fm_mapped_extents; ++i) {
      if ((map->fm_extents[i].fe_flags & k_cannot_tell) != 0) {
        return std::optional<std::vector<Segment>>();
      }
      append_clipped(segments, map->fm_extents[i], size);
    }
    const struct fiemap_extent& last = map->fm_extents[map->fm_mapped_extents - 1];
    std::uint64_t end = last.fe_logical + last.fe_length;
    if ((last.fe_flags & FIEMAP_EXTENT_LAST) != 0 || end <= start) {
      break;  // `end <= start` would never move forward: a filesystem bug, not a reason to loop forever
    }
    start = end;
  }
  return std::optional<std::vector<Segment>>(std::move(segments));
}

// Whether physical addresses from FIEMAP on `a` and `b` are in one address space. One st_dev is one
// filesystem; btrfs gives each subvolume its own st_dev but shares extents across them, so two
// btrfs files are compared by the filesystem's UUID. Two different filesystems can place files at
// the same physical offsets (two images made by the same mkfs do), so this check is not optional.
bool same_filesystem(int a, int b, const struct stat& a_stat, const struct stat& b_stat) {
  if (a_stat.st_dev == b_stat.st_dev) {
    return true;
  }
  struct statfs a_fs {};
  struct statfs b_fs {};
  if (::fstatfs(a, &a_fs) != 0 || ::fstatfs(b, &b_fs) != 0 || a_fs.f_type != BTRFS_SUPER_MAGIC ||
      b_fs.f_type != BTRFS_SUPER_MAGIC) {
    return false;
  }
  struct btrfs_ioctl_fs_info_args a_info {};
  struct btrfs_ioctl_fs_info_args b_info {};
  if (ioctl_retrying(a, BTRFS_IOC_FS_INFO, &a_info) != 0 || ioctl_retrying(b, BTRFS_IOC_FS_INFO, &b_info) != 0) {
    return false;
  }
  return std::memcmp(a_info.fsid, b_info.fsid, sizeof(a_info.fsid)) == 0;
}

Result<std::uint64_t> dedupe_range(int kept_fd, int dup_fd, std::uint64_t size, const std::string& dup_path) {
  // struct file_dedupe_range ends in a flexible array of per-destination results; one destination here.
  std::vector<std::uint64_t> storage(
      (sizeof(struct file_dedupe_range) + sizeof(struct file_dedupe_range_info)) / sizeof(std::uint64_t) + 1);
  auto* range = reinterpret_cast<struct file_dedupe_range*>(storage.data());
  std::uint64_t offset = 0;
  while (offset < size) {
    std::uint64_t length = std::min(k_dedupe_chunk, size - offset);
    std::fill(storage.begin(), storage.end(), 0);
    range->src_offset = offset;
    range->src_length = length;
    range->dest_count = 1;
    struct file_dedupe_range_info& info = range->info[0];
    info.dest_fd = dup_fd;
    info.dest_offset = offset;
    // Issued on the kept file: the kernel locks both inodes, compares the range byte for byte and
    // shares it only when equal, so a file changed since it was hashed can never lose data here.
    if (ioctl_retrying(kept_fd, FIDEDUPERANGE, range) != 0) {
      return refusal(dup_path, "dedupe", errno);
    }
    if (info.status == FILE_DEDUPE_RANGE_DIFFERS) {
      return FileError{.path = dup_path,
                       .errnum = 0,
                       .op = "dedupe",
                       .detail = "contents differ from the kept file in bytes " + std::to_string(offset) + ".." +
                                 std::to_string(offset + length) + "; nothing changed there"};
    }
    if (info.status < 0) {
      return refusal(dup_path, "dedupe", -info.status);
    }
    if (info.bytes_deduped == 0 || info.bytes_deduped > length) {
      // The kernel shortens a range to whole blocks unless it ends at EOF of both files; nothing
      // shared means the files no longer have `size` bytes. Stop rather than ask again forever.
      return FileError{.path = dup_path,
                       .errnum = 0,
                       .op = "dedupe",
                       .detail = "the kernel shared " + std::to_string(info.bytes_deduped) + " of " +
                                 std::to_string(length) + " bytes at offset " + std::to_string(offset) +
                                 " (did a file change size?)"};
    }
    offset += info.bytes_deduped;  // a short count goes on from where the kernel stopped
  }
  return offset;
}

Result<std::uint64_t> clone_range(int kept_fd, int dup_fd, std::uint64_t size, const std::string& dup_path) {
  // The exact length, not 0 ("to EOF"): a kept file that grew since it was checked must not grow
  // the duplicate. An unaligned length is accepted only when it ends at the kept file's EOF.
  struct file_clone_range range {};
  range.src_fd = kept_fd;
  range.src_offset = 0;
  range.src_length = size;
  range.dest_offset = 0;
  if (ioctl_retrying(dup_fd, FICLONERANGE, &range) != 0) {
    return refusal(dup_path, "clone", errno);
  }
  return size;
}

}  // namespace

Result<bool> extents_shared(int kept_fd, int dup_fd, std::uint64_t size, const std::string& dup_path) {
  struct stat kept_stat {};
  struct stat dup_stat {};
  if (::fstat(kept_fd, &kept_stat) != 0) {
    return FileError{.path = dup_path, .errnum = errno, .op = "stat", .detail = "the kept file"};
  }
  if (::fstat(dup_fd, &dup_stat) != 0) {
    return FileError{.path = dup_path, .errnum = errno, .op = "stat", .detail = {}};
  }
  if (kept_stat.st_dev == dup_stat.st_dev && kept_stat.st_ino == dup_stat.st_ino) {
    return true;  // one inode (hard links): one set of blocks
  }
  if (!same_filesystem(kept_fd, dup_fd, kept_stat, dup_stat)) {
    return false;
  }
  SPINDLE_TRY_ASSIGN(kept, data_segments(kept_fd, size, dup_path, "the kept file"));
  if (!kept) {
    return false;
  }
  SPINDLE_TRY_ASSIGN(dup, data_segments(dup_fd, size, dup_path, ""));
  if (!dup) {
    return false;
  }
  // Equal lists: the same logical ranges on the same physical blocks, holes in the same places.
  // Both empty (no data blocks over the range) is "shared" as well: there is nothing to reclaim.
  return *kept == *dup;
}

Result<std::uint64_t> share_extents(int kept_fd, int dup_fd, std::uint64_t size, ShareMode mode,
                                    const std::string& dup_path) {
  if (size == 0) {
    return std::uint64_t{0};  // nothing to share; FICLONERANGE would read a length of 0 as "to EOF"
  }
  return mode == ShareMode::dedupe ? dedupe_range(kept_fd, dup_fd, size, dup_path)
                                   : clone_range(kept_fd, dup_fd, size, dup_path);
}

}  // namespace spindle
