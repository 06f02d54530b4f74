#pragma once

#include <spindle/file_table.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace spindle {

// Physical byte offset of a file's first extent on its device (FIEMAP), or UINT64_MAX when the
// filesystem cannot tell (tmpfs, network filesystems) or the file cannot be opened.
std::uint64_t physical_offset(const char* path);

// Order files for a single reader so the disk head moves forward: by device, then by the
// physical offset of the first extent when `use_fiemap` (one open + ioctl per file, worth it
// only when the reads that follow are long), else by inode number (free, and on ext4/xfs inode
// numbers follow the on-disk layout of the inode tables closely).
// Returns the order as a permutation: positions into `files`.
std::vector<std::uint32_t> single_reader_order(std::span<const FileIndex> files, const FileTable& table,
                                               bool use_fiemap);

}  // namespace spindle
