#pragma once

#include <spindle/error.hpp>
#include <spindle/result.hpp>

#include <cstdint>
#include <string>

namespace spindle {

// How `share_extents` makes a duplicate use the kept file's blocks.
enum class ShareMode {
  dedupe,  // FIDEDUPERANGE: the kernel locks both files and compares the bytes itself; a range that
           // differs is left alone. The safe default.
  clone,   // FICLONERANGE: replaces the duplicate's data with the kept file's without comparing.
           // Only on the user's explicit request, after the caller verified the contents.
};

// Whether every data extent of `dup` over [0,size) is physically the same as `kept`'s (FIEMAP
// with FIEMAP_FLAG_SYNC, so delayed allocations are written and have addresses): true means a
// dedupe would reclaim nothing. Holes must match holes; unwritten (preallocated) extents count as
// holes. Two files with no data extents over the range (empty, or all holes) are "shared": they
// own no blocks, so there is nothing to reclaim. The same inode is shared with itself.
// False, not an error, whenever it cannot tell: the two are on different filesystems (btrfs
// subvolumes of one filesystem count as one), the filesystem has no FIEMAP (tmpfs), or an extent
// is inline, delayed, encoded (compressed, encrypted) or of unknown address. A FileError naming
// `dup_path` (op "stat" or "fiemap") only when a call itself fails (EIO, a closed descriptor).
Result<bool> extents_shared(int kept_fd, int dup_fd, std::uint64_t size, const std::string& dup_path);

// Make `dup` share `kept`'s extents over [0,size), both files of that size. `kept_fd` must be open
// for reading; `dup_fd` for writing, or owned by the caller, or the caller has CAP_SYS_ADMIN.
// dedupe: FIDEDUPERANGE in chunks (the kernel caps one call, 16 MiB on btrfs; a short count goes
// on from where it stopped); the last, partial block is included (the kernel accepts a tail that
// ends at EOF of both files). A range the kernel finds different ends the call with a FileError
// (op "dedupe", errnum 0, detail "contents differ from the kept file at ..."): no byte of either
// file changes, though ranges before it may already share extents (their contents were equal).
// clone: one FICLONERANGE of [0,size), no comparison.
// Every refusal is a FileError naming `dup_path` with the errno and words saying why
// (EOPNOTSUPP on ext4 or tmpfs, EXDEV across filesystems, EINVAL, EPERM, ETXTBSY, EISDIR...).
// Returns the bytes now shared (== size on success; 0 for an empty file).
Result<std::uint64_t> share_extents(int kept_fd, int dup_fd, std::uint64_t size, ShareMode mode,
                                    const std::string& dup_path);

}  // namespace spindle
