#include "device_mountinfo.hpp"

#include <spindle/pools.hpp>
#include <spindle/progress.hpp>
#include <spindle/walk.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

// The walk is one multi_scope join: every directory is a task that reads its entries with
// getdents64, stats only what it must relative to the directory fd, and spawns a task per
// subdirectory. A directory's files are collected by its worker and added to the one shared
// FileTable in a single locked batch, so the lock is taken once per directory, not per file.

namespace spindle {

namespace {

struct DirId {
  std::uint64_t dev;
  std::uint64_t ino;
  // clang-tidy 14 sees a literal 0 in the defaulted <=> and asks for nullptr.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  auto operator<=>(const DirId&) const = default;
};

struct DirTask {
  std::string path;
  std::uint64_t root_dev;        // for --one-file-system
  std::vector<DirId> ancestors;  // for loop detection under --follow-links
  std::uint64_t parent_dev;      // st_dev of the directory it was found in (its own for a PATH)
};

struct WorkerOutput {
  // Files of the directory being read (entries and their names, back to back); moved into the
  // shared table in one locked batch.
  std::vector<FileEntry> batch;
  std::string batch_names;
  std::vector<FileError> errors;
  std::vector<DirTask> linked_dirs;  // symlinks to directories, walked after the real tree
  std::uint64_t directories = 0;
  std::uint64_t skipped_special = 0;
};

class Walker {
 public:
  Walker(const Config& config, Logger& log, const CancelToken& cancel, Progress* progress, std::size_t slots,
         std::vector<std::uint64_t> kernel_devs)
      : m_config(config),
        m_log(log),
        m_cancel(cancel),
        m_progress(progress),
        m_out(slots),
        m_kernel_devs(std::move(kernel_devs)) {}

  void start(Scope& scope, Worker& worker, const std::string& root);
  void walk_dir(Scope& scope, Worker& worker, const DirTask& task);
  // Symlinked directories found so far, sorted by path, removed from the workers' outputs.
  std::vector<DirTask> take_linked_dirs();
  WalkResult finish();

 private:
  // Hidden or --exclude: applies to files and directories.
  bool excluded(const char* name, const std::string& path) const;
  // --name: applies to files only.
  bool name_wanted(const char* name) const;
  bool size_wanted(std::uint64_t size) const;
  void add_file(WorkerOutput& out, std::string_view name, const struct stat& st, bool via_symlink) const;
  void fail(WorkerOutput& out, std::string path, int errnum, const char* op) const;
  // Moves the batch into the table. `dir` is the batch's directory in the table, added from
  // `prefix` on the first flush of that directory.
  void flush(WorkerOutput& out, std::string_view prefix, std::optional<DirIndex>& dir);
  bool first_visit(DirId id);

  const Config& m_config;
  Logger& m_log;
  const CancelToken& m_cancel;
  Progress* m_progress;
  std::vector<WorkerOutput> m_out;
  std::mutex m_files_mutex;
  FileTable m_files;  // one table for all workers: no merge copy at the end
  std::mutex m_visited_mutex;
  std::set<DirId> m_visited;
  std::vector<std::uint64_t> m_kernel_devs;  // sorted st_devs of kernel interface filesystems
};

// Filesystems a walk does not enter from another one (a PATH inside one is walked): /proc, /sys
// and their kin hold kernel state, not files (sysfs sizes every attribute 4 KiB and then returns
// less, proc files claim size 0 and some block). Of the pseudo types that `spindle devices`
// leaves out, devtmpfs is still walked (it holds only device nodes, never opened, and /dev/shm
// is mounted below it) and so is autofs (entering it mounts what the user keeps there, as find
// does).
std::vector<std::uint64_t> kernel_interface_devs() {
  std::vector<std::uint64_t> devs;
  for (const MountEntry& entry : read_mountinfo()) {
    const Mount& mount = entry.mount;
    if (classify_fs_type(mount.fs_type, mount.source) == FsKind::pseudo && mount.fs_type != "devtmpfs" &&
        mount.fs_type != "autofs") {
      devs.push_back(mount.st_dev);
    }
  }
  std::sort(devs.begin(), devs.end());
  return devs;
}

// What a directory's entries' paths start with: the directory and one '/'.
std::string dir_prefix(std::string_view dir) {
  std::string prefix(dir);
  if (prefix.empty() || prefix.back() != '/') {
    prefix.push_back('/');
  }
  return prefix;
}

bool Walker::excluded(const char* name, const std::string& path) const {
  if (!m_config.include_hidden && name[0] == '.') {
    return true;
  }
  for (const std::string& glob : m_config.exclude_globs) {
    bool on_path = glob.find('/') != std::string::npos;
    if (fnmatch(glob.c_str(), on_path ? path.c_str() : name, 0) == 0) {
      return true;
    }
  }
  return false;
}

bool Walker::name_wanted(const char* name) const {
  if (m_config.name_globs.empty()) {
    return true;
  }
  for (const std::string& glob : m_config.name_globs) {
    if (fnmatch(glob.c_str(), name, 0) == 0) {
      return true;
    }
  }
  return false;
}

bool Walker::size_wanted(std::uint64_t size) const {
  if (size == 0 && !m_config.include_empty) {
    return false;
  }
  return size >= m_config.min_size && (!m_config.max_size || size <= *m_config.max_size);
}

void Walker::add_file(WorkerOutput& out, std::string_view name, const struct stat& st, bool via_symlink) const {
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (!size_wanted(size)) {
    return;
  }
  FileEntry entry;
  entry.size = size;
  entry.ino = st.st_ino;
  entry.dev = st.st_dev;
  entry.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  entry.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  entry.nlink = static_cast<std::uint32_t>(std::min<nlink_t>(st.st_nlink, 0x7fffffff));
  entry.via_symlink = via_symlink ? 1 : 0;
  entry.name_length = name.size();  // the name's place in batch_names, until flush()
  out.batch_names.append(name);
  out.batch.push_back(entry);
}

void Walker::flush(WorkerOutput& out, std::string_view prefix, std::optional<DirIndex>& dir) {
  if (out.batch.empty()) {
    return;
  }
  if (m_progress != nullptr) {
    m_progress->add(out.batch.size(), 0);
  }
  {
    std::lock_guard lock(m_files_mutex);
    if (!dir) {
      dir = m_files.add_dir(prefix);
    }
    std::string_view names(out.batch_names);
    for (const FileEntry& entry : out.batch) {
      m_files.add(entry, *dir, names.substr(0, entry.name_length));
      names.remove_prefix(entry.name_length);
    }
  }
  out.batch.clear();
  out.batch_names.clear();
}

void Walker::fail(WorkerOutput& out, std::string path, int errnum, const char* op) const {
  FileError error{std::move(path), errnum, op, ""};
  m_log.file_error(error);
  out.errors.push_back(std::move(error));
}

bool Walker::first_visit(DirId id) {
  std::lock_guard lock(m_visited_mutex);
  return m_visited.insert(id).second;
}

void Walker::start(Scope& scope, Worker& worker, const std::string& root) {
  WorkerOutput& out = m_out[worker.slot()];
  struct stat st {};
  // Command-line paths are followed even when they are symlinks, as `find -H` does.
  if (::fstatat(AT_FDCWD, root.c_str(), &st, AT_NO_AUTOMOUNT) != 0) {
    fail(out, root, errno, "stat");
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    walk_dir(scope, worker, DirTask{root, st.st_dev, {}, st.st_dev});
  } else if (S_ISREG(st.st_mode)) {
    const std::string::size_type name_at = root.rfind('/') == std::string::npos ? 0 : root.rfind('/') + 1;
    if (name_wanted(root.c_str() + name_at)) {
      std::optional<DirIndex> dir;
      add_file(out, std::string_view(root).substr(name_at), st, false);
      flush(out, std::string_view(root).substr(0, name_at), dir);
    }
  } else {
    ++out.skipped_special;
    m_log.info(escape_for_terminal(root) + ": not a regular file or directory, skipped");
  }
}

void Walker::walk_dir(Scope& scope, Worker& worker, const DirTask& task) {
  WorkerOutput& out = m_out[worker.slot()];
  if (m_cancel.cancelled()) {
    return;
  }
  int fd = ::open(task.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    fail(out, task.path, errno, "opendir");
    return;
  }
  struct stat dir_st {};
  if (::fstat(fd, &dir_st) != 0) {
    fail(out, task.path, errno, "stat");
    ::close(fd);
    return;
  }
  // Entering a kernel interface from another filesystem: stop (a PATH inside one is walked).
  if (dir_st.st_dev != task.parent_dev &&
      std::binary_search(m_kernel_devs.begin(), m_kernel_devs.end(), dir_st.st_dev)) {
    m_log.info(escape_for_terminal(task.path) + ": a kernel interface filesystem (name it to walk it), skipped");
    ::close(fd);
    return;
  }
  DirId self{dir_st.st_dev, dir_st.st_ino};
  for (const DirId& ancestor : task.ancestors) {
    if (ancestor == self) {
      FileError error{task.path, ELOOP, "loop", "directory contains itself through a symbolic link"};
      m_log.file_error(error);
      out.errors.push_back(std::move(error));
      ::close(fd);
      return;
    }
  }
  // A directory reached twice (overlapping arguments, or a symlink to a directory already walked)
  // is walked once, so a file is never listed twice under the same name.
  if (!first_visit(self)) {
    ::close(fd);
    return;
  }
  ++out.directories;

  std::vector<DirId> ancestors;
  if (m_config.follow_links) {
    ancestors = task.ancestors;
    ancestors.push_back(self);
  }
  // One path buffer for every entry: the prefix, then each entry's name in turn.
  const std::string prefix = dir_prefix(task.path);
  std::string path = prefix;
  std::optional<DirIndex> dir;
  std::span<std::byte> buffer = worker.buffer(64 * 1024);
  for (;;) {
    ssize_t got = ::getdents64(fd, buffer.data(), buffer.size());
    if (got < 0) {
      fail(out, task.path, errno, "readdir");
      break;
    }
    if (got == 0) {
      break;
    }
    for (ssize_t pos = 0; pos < got;) {
      auto* entry = reinterpret_cast<struct dirent64*>(buffer.data() + pos);
      pos += entry->d_reclen;
      const char* name = entry->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) {
        continue;
      }
      path.resize(prefix.size());
      path.append(name);
      unsigned char type = entry->d_type;
      if (excluded(name, path)) {
        continue;
      }
      if (type == DT_FIFO || type == DT_SOCK || type == DT_CHR || type == DT_BLK) {
        ++out.skipped_special;
        continue;
      }
      if (type == DT_LNK && !m_config.follow_links) {
        continue;
      }
      if (type == DT_DIR && !m_config.one_file_system && !m_config.follow_links) {
        scope.spawn([this, &scope, sub = DirTask{path, task.root_dev, {}, dir_st.st_dev}](Worker& w) {
          walk_dir(scope, w, sub);
        });
        continue;
      }
      struct stat st {};
      int flags = AT_NO_AUTOMOUNT | (type == DT_LNK ? 0 : AT_SYMLINK_NOFOLLOW);
      if (::fstatat(fd, name, &st, flags) != 0) {
        if (type == DT_LNK && errno == ENOENT) {
          m_log.info(escape_for_terminal(path) + ": dangling symbolic link, skipped");
        } else {
          fail(out, path, errno, "stat");
        }
        continue;
      }
      if (S_ISLNK(st.st_mode)) {  // d_type was DT_UNKNOWN
        if (!m_config.follow_links) {
          continue;
        }
        type = DT_LNK;
        if (::fstatat(fd, name, &st, AT_NO_AUTOMOUNT) != 0) {
          m_log.info(escape_for_terminal(path) + ": dangling symbolic link, skipped");
          continue;
        }
      }
      if (S_ISDIR(st.st_mode)) {
        if (m_config.one_file_system && st.st_dev != task.root_dev) {
          continue;
        }
        if (type == DT_LNK) {
          out.linked_dirs.push_back(DirTask{path, task.root_dev, ancestors, dir_st.st_dev});
          continue;
        }
        scope.spawn([this, &scope, sub = DirTask{path, task.root_dev, ancestors, dir_st.st_dev}](Worker& w) {
          walk_dir(scope, w, sub);
        });
      } else if (S_ISREG(st.st_mode)) {
        if (name_wanted(name)) {
          add_file(out, name, st, type == DT_LNK);
          if (out.batch.size() >= 4096) {  // a huge directory is added in bounded batches
            flush(out, prefix, dir);
          }
        }
      } else {
        ++out.skipped_special;
      }
    }
  }
  ::close(fd);
  flush(out, prefix, dir);
}

std::vector<DirTask> Walker::take_linked_dirs() {
  std::vector<DirTask> links;
  for (WorkerOutput& out : m_out) {
    std::move(out.linked_dirs.begin(), out.linked_dirs.end(), std::back_inserter(links));
    out.linked_dirs.clear();
  }
  std::sort(links.begin(), links.end(), [](const DirTask& a, const DirTask& b) { return a.path < b.path; });
  return links;
}

WalkResult Walker::finish() {
  WalkResult result;
  result.files = std::move(m_files);
  for (WorkerOutput& out : m_out) {
    for (FileError& error : out.errors) {
      result.errors.push_back(std::move(error));
    }
    result.directories += out.directories;
    result.skipped_special += out.skipped_special;
    out = WorkerOutput{};
  }
  return result;
}

// "./a//b/" -> "a/b": one spelling per argument, so overlapping arguments name files alike.
std::string normalize_root(const std::string& path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '/' && !out.empty() && out.back() == '/') {
      continue;
    }
    out.push_back(path[i]);
  }
  while (out.size() > 2 && out.compare(0, 2, "./") == 0) {
    out.erase(0, 2);
  }
  while (out.size() > 1 && out.back() == '/') {
    out.pop_back();
  }
  return out;
}

}  // namespace

// Directories reached through symlinks (--follow-links) are walked after the real tree, one
// link at a time in path order: a directory that is reachable both ways is then always listed
// under its real path, or under the smallest link path, whatever the thread count.
WalkResult walk(const Config& config, Logger& log, const CancelToken& cancel, Progress* progress) {
  PoolSet pools({PoolSpec{"main", config.threads.main_threads()}});
  Walker walker(config, log, cancel, progress, pools.total_threads(), kernel_interface_devs());
  std::vector<std::string> roots;
  for (const std::string& path : config.paths) {
    std::string root = normalize_root(path);
    if (std::find(roots.begin(), roots.end(), root) == roots.end()) {  // a path named twice is walked once
      roots.push_back(std::move(root));
    }
  }
  pools.multi_scope(cancel, [&](std::span<Scope> scopes) {
    Scope& scope = scopes[0];
    for (const std::string& root : roots) {
      scope.spawn([&walker, &scope, &root](Worker& worker) { walker.start(scope, worker, root); });
    }
  });
  for (std::vector<DirTask> links = walker.take_linked_dirs(); !links.empty() && !cancel.cancelled();
       links = walker.take_linked_dirs()) {
    for (const DirTask& link : links) {
      pools.multi_scope(cancel, [&](std::span<Scope> scopes) {
        Scope& scope = scopes[0];
        scope.spawn([&walker, &scope, &link](Worker& worker) { walker.walk_dir(scope, worker, link); });
      });
    }
  }
  return walker.finish();
}

}  // namespace spindle
