#pragma once

// The PATHs of a walk, resolved before it starts, and the rule that makes overlapping PATHs
// deterministic: a file reachable from several PATHs is listed under the first PATH (in
// command-line order) whose walk reaches it. Internal to the walk (walk.cpp).

#include <spindle/error.hpp>

#include <sys/stat.h>

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace spindle {

// A directory or file by identity, whatever its spelling.
struct DirId {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  // clang-tidy 14 sees a literal 0 in the defaulted <=> and asks for nullptr.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  auto operator<=>(const DirId&) const = default;
};

inline DirId id_of(const struct stat& st) {
  return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

// One PATH of config.paths.
struct Root {
  enum class Kind { failed, directory, file, special, duplicate };

  std::string path;         // as the user wrote it, runs of '/' collapsed to one
  std::uint32_t index = 0;  // position in config.paths
  Kind kind = Kind::failed;
  struct stat st {};               // the PATH, a symlink followed (as `find -H`)
  bool is_symlink = false;         // the PATH itself is a symlink: a file so named is an alias
  DirId dir;                       // directory: itself; file: the directory holding its entry
  std::string name;                // file: its entry's name
  std::vector<DirId> above;        // directories above `dir`, nearest first, up to "/"
  std::optional<FileError> error;  // kind == failed
};

// "a//b" -> "a/b": the one change made to a PATH (Linux reads "//" as "/"). "./", "." and a
// trailing '/' are kept: the report prints paths as the user wrote them (stripping "./" would
// turn "./-x" into an option for the next command), and --exclude matches that spelling.
std::string collapse_slashes(const std::string& path);

// Resolves every PATH: its kind, identity and the directories above it (each step up is one
// openat("..") on an O_PATH descriptor, cached across PATHs: at most two descriptors at once).
// A directory named twice, or a file entry named twice, is a duplicate of its first naming.
std::vector<Root> resolve_roots(const std::vector<std::string>& paths);

// Of `remaining` (root indices, ascending), those that no earlier one of them contains (its
// directory, or one above it, is an earlier remaining directory PATH): they are walked on their
// own. The others are left to the walk of the PATH that contains them, and walked on their own
// in a later round only if that walk did not reach them (--exclude, hidden, -x, unreadable).
std::vector<std::uint32_t> walked_alone(const std::vector<Root>& roots, const std::vector<std::uint32_t>& remaining);

// The walk's view of the roots: which directory or file entry is the root of which PATH.
class RootMap {
 public:
  explicit RootMap(const std::vector<Root>& roots);
  // The first PATH that names this directory, if any.
  std::optional<std::uint32_t> directory_root(DirId dir) const;
  struct NamedFile {
    std::string name;
    std::uint32_t root;
  };
  // The file PATHs whose entries are in directory `dir`.
  std::span<const NamedFile> files_in(DirId dir) const;
  bool has_files() const { return !m_files.empty(); }

 private:
  std::vector<std::pair<DirId, std::uint32_t>> m_dirs;            // sorted
  std::vector<std::pair<DirId, std::vector<NamedFile>>> m_files;  // sorted by directory
};

}  // namespace spindle
