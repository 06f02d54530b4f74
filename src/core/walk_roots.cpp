#include "walk_roots.hpp"

#include <spindle/log.hpp>
#include <spindle/long_path.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <utility>

namespace spindle {

namespace {

// The directories above the one open as `fd` (identity `self`), nearest first, up to the top of
// the tree (where ".." is the directory itself) or up to one that cannot be opened. `parent_of`
// caches every step, so PATHs in one tree climb it once between them.
std::vector<DirId> climb(int fd, DirId self, std::map<DirId, DirId>& parent_of) {
  std::vector<DirId> above;
  int dir = fd;
  DirId at = self;
  for (;;) {
    if (auto known = parent_of.find(at); known != parent_of.end()) {
      // Each cached step was stored with all the steps above it: follow the cache to the top.
      for (DirId parent = known->second; parent != at; parent = parent_of[at]) {
        above.push_back(parent);
        at = parent;
      }
      break;
    }
    int up = ::openat(dir, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct stat st {};
    if (up >= 0 && ::fstat(up, &st) != 0) {
      ::close(up);
      up = -1;
    }
    if (dir != fd) {
      ::close(dir);
    }
    if (up < 0) {
      parent_of[at] = at;  // cannot see higher: this is as far as ancestry is known
      break;
    }
    dir = up;
    const DirId parent = id_of(st);
    parent_of[at] = parent;
    if (parent == at) {
      break;
    }
    above.push_back(parent);
    at = parent;
  }
  if (dir != fd) {
    ::close(dir);
  }
  return above;
}

// Fills kind, st, dir, name, is_symlink and above of a root whose path is set.
// Nothing of the walk holds a descriptor yet: EMFILE here means none can be had at all, a
// failure of the run, not of the PATH.
void fail_without_descriptors(const Root& root) {
  if (errno == EMFILE || errno == ENFILE) {
    throw Fatal(root.path + ": no file descriptor left to open it (raise the limit, e.g. `ulimit -n 1024`)");
  }
}

void resolve(Root& root, std::map<DirId, DirId>& parent_of) {
  int fd = open_long_path(root.path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) {
    fail_without_descriptors(root);
  }
  if (fd < 0 || ::fstat(fd, &root.st) != 0) {
    root.error = FileError{root.path, errno, "stat", ""};
    if (fd >= 0) {
      ::close(fd);
    }
    return;
  }
  if (S_ISDIR(root.st.st_mode)) {
    root.kind = Root::Kind::directory;
    root.dir = id_of(root.st);
    root.above = climb(fd, root.dir, parent_of);
    ::close(fd);
    return;
  }
  ::close(fd);
  // A file is an entry of a directory: that directory as spelled, and the entry's own name
  // (lstat'ed there, so a PATH that is a symlink is known to be one).
  const std::size_t slash = root.path.rfind('/');
  const std::string parent = slash == std::string::npos ? "." : root.path.substr(0, slash == 0 ? 1 : slash);
  root.name = root.path.substr(slash == std::string::npos ? 0 : slash + 1);
  int dir_fd = open_long_path(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    fail_without_descriptors(root);
  }
  struct stat dir_st {};
  struct stat entry_st {};
  if (dir_fd < 0 || ::fstat(dir_fd, &dir_st) != 0 ||
      ::fstatat(dir_fd, root.name.c_str(), &entry_st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) != 0) {
    root.error = FileError{root.path, errno, "stat", ""};
    if (dir_fd >= 0) {
      ::close(dir_fd);
    }
    return;
  }
  root.dir = id_of(dir_st);
  root.is_symlink = S_ISLNK(entry_st.st_mode);
  root.above = climb(dir_fd, root.dir, parent_of);
  ::close(dir_fd);
  root.kind = S_ISREG(root.st.st_mode) ? Root::Kind::file : Root::Kind::special;
}

}  // namespace

std::string collapse_slashes(const std::string& path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c != '/' || out.empty() || out.back() != '/') {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<Root> resolve_roots(const std::vector<std::string>& paths) {
  std::vector<Root> roots(paths.size());
  std::map<DirId, DirId> parent_of;
  std::set<DirId> directories;
  std::set<std::pair<DirId, std::string>> entries;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    Root& root = roots[i];
    root.index = static_cast<std::uint32_t>(i);
    root.path = collapse_slashes(paths[i]);
    if (root.path.empty()) {
      root.error = FileError{"", 0, "path", "empty path"};
      continue;
    }
    resolve(root, parent_of);
    if (root.kind == Root::Kind::directory && !directories.insert(root.dir).second) {
      root.kind = Root::Kind::duplicate;
    } else if (root.kind == Root::Kind::file && !entries.emplace(root.dir, root.name).second) {
      root.kind = Root::Kind::duplicate;
    }
  }
  return roots;
}

std::vector<std::uint32_t> walked_alone(const std::vector<Root>& roots, const std::vector<std::uint32_t>& remaining) {
  // The first remaining directory PATH of each directory.
  std::map<DirId, std::uint32_t> first;
  for (std::uint32_t r : remaining) {
    if (roots[r].kind == Root::Kind::directory) {
      first.emplace(roots[r].dir, r);
    }
  }
  auto earlier_at = [&](DirId dir, std::uint32_t r) {
    auto it = first.find(dir);
    return it != first.end() && it->second < r;
  };
  std::vector<std::uint32_t> alone;
  for (std::uint32_t r : remaining) {
    const Root& root = roots[r];
    bool inside = root.kind == Root::Kind::file && earlier_at(root.dir, r);
    for (std::size_t a = 0; !inside && a < root.above.size(); ++a) {
      inside = earlier_at(root.above[a], r);
    }
    if (!inside) {
      alone.push_back(r);
    }
  }
  return alone;
}

RootMap::RootMap(const std::vector<Root>& roots) {
  for (const Root& root : roots) {
    if (root.kind == Root::Kind::directory) {
      m_dirs.emplace_back(root.dir, root.index);
    } else if (root.kind == Root::Kind::file) {
      m_files.emplace_back(root.dir, std::vector<NamedFile>{{root.name, root.index}});
    }
  }
  std::sort(m_dirs.begin(), m_dirs.end());
  std::stable_sort(m_files.begin(), m_files.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  // One entry per directory, its files in PATH order.
  std::vector<std::pair<DirId, std::vector<NamedFile>>> merged;
  for (auto& [dir, files] : m_files) {
    if (merged.empty() || merged.back().first != dir) {
      merged.emplace_back(dir, std::move(files));
    } else {
      merged.back().second.push_back(std::move(files.front()));
    }
  }
  m_files = std::move(merged);
}

std::optional<std::uint32_t> RootMap::directory_root(DirId dir) const {
  auto it = std::lower_bound(m_dirs.begin(), m_dirs.end(), std::pair<DirId, std::uint32_t>{dir, 0});
  if (it == m_dirs.end() || it->first != dir) {
    return std::nullopt;
  }
  return it->second;
}

std::span<const RootMap::NamedFile> RootMap::files_in(DirId dir) const {
  auto it = std::lower_bound(m_files.begin(), m_files.end(), dir,
                             [](const auto& entry, const DirId& key) { return entry.first < key; });
  if (it == m_files.end() || it->first != dir) {
    return {};
  }
  return it->second;
}

}  // namespace spindle
