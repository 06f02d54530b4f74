#pragma once

#include <spindle/result.hpp>

#include <cstdint>
#include <string>

namespace spindle {
enum class ShareMode {
  dedupe,
  clone
};  // FIDEDUPERANGE (kernel compares bytes under lock) / FICLONE (explicit request only)
// Are all of dup's data extents physically the same as kept's (FIEMAP)? false when not, or unknown.
Result<bool> extents_shared(int kept_fd, int dup_fd, std::uint64_t size, const std::string& dup_path);
// Makes dup share kept's extents over [0,size). dedupe: FIDEDUPERANGE in chunks; a range the kernel
// finds different => FileError op "dedupe" with a "contents differ" detail; EOPNOTSUPP/EXDEV/EINVAL => FileError
// naming dup_path, never a crash. Returns the bytes deduplicated.
Result<std::uint64_t> share_extents(int kept_fd, int dup_fd, std::uint64_t size, ShareMode mode,
                                    const std::string& dup_path);
}  // namespace spindle
