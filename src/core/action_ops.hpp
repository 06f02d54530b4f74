#pragma once

// The file operations behind each action, on descriptors that were checked (actions.cpp decides
// and checks; these only act). Private to spindle_core.

#include <spindle/actions.hpp>
#include <spindle/fd.hpp>
#include <spindle/result.hpp>

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>

namespace spindle {

// A regular file opened (never through a symlink in its last component) and what fstat said.
struct OpenedFile {
  Fd fd;
  struct stat st {};
};

// Open `path` as a regular file: O_RDONLY, or O_RDWR when `writable` (falling back to read-only
// where writing is refused: FIDEDUPERANGE accepts a read-only file its caller owns).
Result<OpenedFile> open_regular(const std::string& path, bool writable = false);

// Does `path` still name the file `before` describes (same inode, size, mtime, ctime)? Called
// right before a rename or unlink, so a file replaced or written to after it was checked is left
// alone.
std::optional<FileError> check_still(const std::string& path, const struct stat& before);

// Names for temporaries, ".spindle-tmp.<pid>.<16 hex digits>", unique within a run.
class TemporaryNames {
 public:
  TemporaryNames();
  // A fresh temporary path in the directory of `path`.
  std::string next_beside(const std::string& path);

 private:
  std::mt19937_64 m_random;
  std::string m_prefix;
};

// Every directory a rename or unlink changed, fsynced once at the end of the run (not once per
// file: a group of a thousand copies in one directory is one fsync).
using TouchedDirs = std::set<std::string>;
std::string directory_of(const std::string& path);
void sync_directories(const TouchedDirs& dirs);

// Remove temporaries left in `dir` by runs whose process is gone; returns how many.
std::uint64_t remove_stale_temporaries(const std::string& dir);

// The actions proper. `kept` is the verified kept file, `dup` the verified duplicate (its fd and
// its stat before any check). Each makes its change atomically (or as a single unlink) and leaves
// everything as it was when it returns an error.
std::optional<FileError> replace_with_hard_link(const OpenedFile& kept, const std::string& kept_path,
                                                const OpenedFile& dup, const std::string& dup_path,
                                                TemporaryNames& names, TouchedDirs& touched);
std::optional<FileError> replace_with_symlink(const std::string& link_text, const OpenedFile& dup,
                                              const std::string& dup_path, TemporaryNames& names, TouchedDirs& touched);
std::optional<FileError> remove_duplicate(const OpenedFile& kept, const std::string& kept_path, const OpenedFile& dup,
                                          const std::string& dup_path, TouchedDirs& touched);
std::optional<FileError> move_duplicate(const OpenedFile& dup, const std::string& dup_path,
                                        const std::string& destination, TemporaryNames& names, TouchedDirs& touched);
// FIDEDUPERANGE in place, or (clone) FICLONE into a temporary renamed over the duplicate with its
// owner, mode and times. Returns the bytes deduplicated.
Result<std::uint64_t> dedupe_duplicate(const OpenedFile& kept, const OpenedFile& dup, const std::string& dup_path,
                                       bool clone, TemporaryNames& names, TouchedDirs& touched);

}  // namespace spindle
