#include "device_mountinfo.hpp"
#include "walk_roots.hpp"

#include <spindle/fd_budget.hpp>
#include <spindle/long_path.hpp>
#include <spindle/pools.hpp>
#include <spindle/progress.hpp>
#include <spindle/time_filter.hpp>
#include <spindle/walk.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

// The walk is one multi_scope join: every directory is a task that reads its entries with
// getdents64, stats only what it must relative to the directory fd, and spawns a task per
// subdirectory. A directory's files are collected by its worker and added to the one shared
// FileTable in a single locked batch, so the lock is taken once per directory, not per file.
//
// Overlapping PATHs (walk_roots.hpp): a file reachable from several PATHs is listed under the
// first PATH whose walk reaches it. A PATH inside an earlier one is not walked on its own; the
// earlier walk goes through it (its spelling is the one printed, and --exclude matches it). A
// walk that meets the directory of an earlier PATH stops there (that PATH walks it). Whatever
// an earlier walk did not reach (excluded, hidden, another file system with -x) is walked from
// the later PATH in a next round. Which walk lists what depends only on the PATHs and the tree,
// never on which thread gets somewhere first.
//
// Descriptors: a task holds one, its directory's, and opens it by path (open_long_path, so depth
// is unlimited) rather than relative to a parent kept open: queued directories hold nothing.
// The pool is capped so that every thread's descriptors fit under RLIMIT_NOFILE; a directory
// that still meets EMFILE waits for one and is tried again, never reported unreadable.

namespace spindle {

namespace {

// Descriptors a walk thread may hold at once: its directory, and one more while
// open_long_path steps down a path longer than PATH_MAX.
constexpr std::size_t k_fds_per_thread = 2;
// Descriptors left for everything else while the walk runs (logger, libraries, the C runtime).
constexpr std::size_t k_fd_reserve = 4;
// Tries for a directory that meets EMFILE while no walk thread holds a descriptor (so nothing
// of ours will free one); after that the run fails rather than call the directory unreadable.
constexpr unsigned k_max_fd_waits = 100;

struct DirTask {
  std::string path;
  std::uint64_t root_dev;        // for --one-file-system
  std::vector<DirId> ancestors;  // for loop detection under --follow-links
  std::uint64_t parent_dev;      // st_dev of the directory it was found in (its own for a PATH)
  std::uint32_t root = 0;        // index of the PATH being walked
  unsigned fd_waits = 0;         // times it met EMFILE with no descriptor of the walk to wait for
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
  std::uint64_t skipped_unreliable = 0;
  std::vector<std::string> walked_dirs;  // --dirs: the prefix of every directory listed
};

// Counts the directory descriptors the walk holds, so a thread that meets EMFILE knows whether
// waiting can help.
class OpenDir {
 public:
  OpenDir(int fd, std::atomic<int>& open) : m_fd(fd), m_open(open) { m_open.fetch_add(1); }
  ~OpenDir() {
    ::close(m_fd);
    m_open.fetch_sub(1);
  }
  OpenDir(const OpenDir&) = delete;
  OpenDir& operator=(const OpenDir&) = delete;
  int fd() const { return m_fd; }

 private:
  int m_fd;
  std::atomic<int>& m_open;
};

class Walker {
 public:
  Walker(const Config& config, Logger& log, CancelToken& cancel, Progress* progress, const WalkBudget* budget,
         std::size_t slots, std::vector<std::uint64_t> kernel_devs, const std::vector<Root>& roots)
      : m_config(config),
        m_log(log),
        m_cancel(cancel),
        m_progress(progress),
        m_budget(budget),
        m_out(slots),
        m_kernel_devs(std::move(kernel_devs)),
        m_root_map(roots),
        m_pending(roots.size(), 0),
        m_reached(std::make_unique<std::atomic<bool>[]>(roots.size())) {}

  // Before a round (no walk running): the roots that the walks of this round may reach and
  // then list as their own.
  void set_pending(const std::vector<std::uint32_t>& pending);
  bool reached(std::uint32_t root) const { return m_reached[root].load(); }
  void start(Scope& scope, Worker& worker, const Root& root);
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
  void add_file(WorkerOutput& out, const std::string& path, std::string_view name, const struct stat& st,
                bool via_symlink, std::uint32_t root);
  // A regular file on a kernel interface file system (sysfs sizes every attribute 4 KiB and
  // returns less): counted and named under -v, never listed.
  bool unreliable_size(WorkerOutput& out, const std::string& path, const struct stat& st) const;
  // Whether the walk of `root` lists the directory `self`, which is the directory of PATH
  // `owner` (not `root`): not if that PATH comes first or is walked on its own.
  bool claim(std::uint32_t owner, std::uint32_t root);
  // EMFILE/ENFILE on opening `task`'s directory: queue it again once a descriptor may be free.
  void retry_later(Scope& scope, DirTask task);
  void fail(WorkerOutput& out, std::string path, int errnum, const char* op) const;
  // Counts a listed file against the budget; stops the walk (m_cancel) when it is spent.
  void spend_budget(std::uint64_t size);
  // WalkBudget::hand_off: true when the directory went there, not to this walk.
  bool hand_off(const std::string& path, const DirTask& task, int parent_fd, const char* name,
                std::uint64_t parent_dev) const {
    if (m_budget == nullptr || !m_budget->hand_off) {
      return false;
    }
    m_budget->hand_off({path, task.root, parent_fd, name, parent_dev});
    return true;
  }
  bool out_of_time() const { return m_budget != nullptr && m_budget->out_of_time && m_budget->out_of_time(); }
  // Moves the batch into the table. `dir` is the batch's directory in the table, added from
  // `prefix` on the first flush of that directory.
  void flush(WorkerOutput& out, std::string_view prefix, std::optional<DirIndex>& dir);
  bool first_visit(DirId id);

  const Config& m_config;
  Logger& m_log;
  CancelToken& m_cancel;  // the caller's token's child: the budget stops the walk through it
  Progress* m_progress;
  const WalkBudget* m_budget;
  std::atomic<std::size_t> m_budget_files{0};
  std::atomic<std::uint64_t> m_budget_bytes{0};
  std::vector<WorkerOutput> m_out;
  std::mutex m_files_mutex;
  FileTable m_files;  // one table for all workers: no merge copy at the end
  std::mutex m_visited_mutex;
  std::set<DirId> m_visited;
  std::vector<std::uint64_t> m_kernel_devs;  // sorted st_devs of kernel interface filesystems
  RootMap m_root_map;
  std::vector<std::uint8_t> m_pending;             // per root, fixed during a round
  std::unique_ptr<std::atomic<bool>[]> m_reached;  // per root: a walk of this round reached it
  std::atomic<int> m_open_dirs{0};
};

// Filesystems a walk does not enter from another one (a PATH inside one is walked): /proc, /sys
// and their kin hold kernel state, not files (sysfs sizes every attribute 4 KiB and then returns
// less, proc files claim size 0 and some block). Of the pseudo types that `spindle devices`
// leaves out, devtmpfs is still walked (it holds only device nodes, never opened, and /dev/shm
// is mounted below it) and so is autofs (entering it mounts what the user keeps there, as find
// does).
}  // namespace

std::vector<std::uint64_t> kernel_interface_devs(std::span<const Mount> mounts) {
  std::vector<std::uint64_t> devs;
  for (const Mount& mount : mounts) {
    if (classify_fs_type(mount.fs_type, mount.source) == FsKind::pseudo && mount.fs_type != "devtmpfs" &&
        mount.fs_type != "autofs") {
      devs.push_back(mount.st_dev);
    }
  }
  std::sort(devs.begin(), devs.end());
  return devs;
}

namespace {

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

void Walker::add_file(WorkerOutput& out, const std::string& path, std::string_view name, const struct stat& st,
                      bool via_symlink, std::uint32_t root) {
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (!size_wanted(size)) {
    return;
  }
  const std::int64_t mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (!TimeWindow{m_config.newer_than_ns, m_config.older_than_ns}.contains(mtime_ns)) {
    return;  // --newer-than, --older-than
  }
  if (name.size() > FileEntry::k_max_name) {  // longer than NAME_MAX: only a FUSE file system lists one
    fail(out, path, ENAMETOOLONG, "stat");
    return;
  }
  FileEntry entry;
  entry.size = size;
  entry.ino = st.st_ino;
  entry.set_device(st.st_dev);
  entry.mtime_ns = mtime_ns;
  entry.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  entry.via_symlink = via_symlink ? 1 : 0;
  entry.root = root;
  entry.name_length = name.size();  // the name's place in batch_names, until flush()
  out.batch_names.append(name);
  out.batch.push_back(entry);
  if (m_budget != nullptr) {
    spend_budget(size);
  }
}

void Walker::spend_budget(std::uint64_t size) {
  const std::size_t files = m_budget_files.fetch_add(1, std::memory_order_relaxed) + 1;
  const std::uint64_t bytes =
      m_budget_bytes.fetch_add(std::min(size, m_budget->bytes_per_file)) + std::min(size, m_budget->bytes_per_file);
  if (files >= m_budget->max_files || bytes >= m_budget->max_bytes || out_of_time()) {
    m_cancel.cancel();
  }
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

void Walker::set_pending(const std::vector<std::uint32_t>& pending) {
  std::fill(m_pending.begin(), m_pending.end(), 0);
  for (std::uint32_t r : pending) {
    m_pending[r] = 1;
  }
}

bool Walker::claim(std::uint32_t owner, std::uint32_t root) {
  if (owner < root || m_pending[owner] == 0) {
    return false;
  }
  m_reached[owner].store(true);
  return true;
}

bool Walker::unreliable_size(WorkerOutput& out, const std::string& path, const struct stat& st) const {
  if (!std::binary_search(m_kernel_devs.begin(), m_kernel_devs.end(), static_cast<std::uint64_t>(st.st_dev))) {
    return false;
  }
  ++out.skipped_unreliable;
  m_log.info(escape_for_terminal(path) + ": skipped: size not reliable (kernel interface file system)");
  return true;
}

void Walker::retry_later(Scope& scope, DirTask task) {
  if (m_open_dirs.load() == 0) {
    // No descriptor of the walk will be closed: wait for whoever else holds them, a while.
    if (++task.fd_waits > k_max_fd_waits) {
      throw Fatal(task.path + ": no file descriptor left to open it (raise the limit, e.g. `ulimit -n 1024`)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(task.fd_waits));
  } else {
    std::this_thread::yield();
  }
  scope.spawn([this, &scope, sub = std::move(task)](Worker& w) { walk_dir(scope, w, sub); });
}

void Walker::start(Scope& scope, Worker& worker, const Root& root) {
  WorkerOutput& out = m_out[worker.slot()];
  if (root.kind == Root::Kind::directory) {
    walk_dir(scope, worker, DirTask{root.path, root.st.st_dev, {}, root.st.st_dev, root.index, 0});
  } else if (root.kind == Root::Kind::file) {
    const std::string_view path(root.path);
    const std::size_t name_at = path.size() - root.name.size();
    if (name_wanted(root.name.c_str()) && !unreliable_size(out, root.path, root.st)) {
      std::optional<DirIndex> dir;
      // A PATH that is a symlink to a file is an alias of its target, as a followed link is.
      add_file(out, root.path, root.name, root.st, root.is_symlink, root.index);
      flush(out, path.substr(0, name_at), dir);
    }
  } else if (root.kind == Root::Kind::special) {
    ++out.skipped_special;
    m_log.info(escape_for_terminal(root.path) + ": not a regular file or directory, skipped");
  }
}

void Walker::walk_dir(Scope& scope, Worker& worker, const DirTask& task) {
  WorkerOutput& out = m_out[worker.slot()];
  if (out_of_time()) {
    m_cancel.cancel();
  }
  if (m_cancel.cancelled()) {
    return;
  }
  const int opened = open_long_path(task.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
  if (opened < 0) {
    if (errno == EMFILE || errno == ENFILE) {
      retry_later(scope, task);
    } else {
      fail(out, task.path, errno, "opendir");
    }
    return;
  }
  const OpenDir open_dir(opened, m_open_dirs);
  const int fd = open_dir.fd();
  struct stat dir_st {};
  if (::fstat(fd, &dir_st) != 0) {
    fail(out, task.path, errno, "stat");
    return;
  }
  // Entering a kernel interface from another filesystem: stop (a PATH inside one is walked).
  if (dir_st.st_dev != task.parent_dev &&
      std::binary_search(m_kernel_devs.begin(), m_kernel_devs.end(), dir_st.st_dev)) {
    m_log.info(escape_for_terminal(task.path) + ": a kernel interface filesystem (name it to walk it), skipped");
    return;
  }
  const DirId self = id_of(dir_st);
  for (const DirId& ancestor : task.ancestors) {
    if (ancestor == self) {
      FileError error{task.path, ELOOP, "loop", "directory contains itself through a symbolic link"};
      m_log.file_error(error);
      out.errors.push_back(std::move(error));
      return;
    }
  }
  // The directory of another PATH: walked here only if that PATH comes later and waits for this
  // walk to reach it.
  if (std::optional<std::uint32_t> owner = m_root_map.directory_root(self); owner && *owner != task.root) {
    if (!claim(*owner, task.root)) {
      return;
    }
  }
  // A directory reached twice (overlapping arguments, or a symlink to a directory already walked)
  // is walked once, so a file is never listed twice under the same name.
  if (!first_visit(self)) {
    return;
  }
  // File PATHs whose entries are in this directory (usually none).
  const std::span<const RootMap::NamedFile> named_here = m_root_map.files_in(self);
  ++out.directories;
  if (m_config.dirs) {
    out.walked_dirs.push_back(dir_prefix(task.path));
  }

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
  while (!m_cancel.cancelled()) {  // a huge directory stops within one entry of a cancel
    ssize_t got = ::getdents64(fd, buffer.data(), buffer.size());
    if (got < 0) {
      fail(out, task.path, errno, "readdir");
      break;
    }
    if (got == 0) {
      break;
    }
    for (ssize_t pos = 0; pos < got && !m_cancel.cancelled();) {
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
        if (hand_off(path, task, fd, name, dir_st.st_dev)) {
          continue;
        }
        scope.spawn([this, &scope, sub = DirTask{path, task.root_dev, {}, dir_st.st_dev, task.root, 0}](Worker& w) {
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
          out.linked_dirs.push_back(DirTask{path, task.root_dev, ancestors, dir_st.st_dev, task.root, 0});
          continue;
        }
        if (hand_off(path, task, fd, name, dir_st.st_dev)) {
          continue;
        }
        scope.spawn([this, &scope, sub = DirTask{path, task.root_dev, ancestors, dir_st.st_dev, task.root, 0}](
                        Worker& w) { walk_dir(scope, w, sub); });
      } else if (S_ISREG(st.st_mode)) {
        auto named = std::find_if(named_here.begin(), named_here.end(),
                                  [&](const RootMap::NamedFile& file) { return file.name == name; });
        if (named != named_here.end() && named->root != task.root && !claim(named->root, task.root)) {
          continue;  // a file PATH that lists itself
        }
        if (name_wanted(name) && !unreliable_size(out, path, st)) {
          add_file(out, path, name, st, type == DT_LNK, task.root);
          if (out.batch.size() >= 4096) {  // a huge directory is added in bounded batches
            flush(out, prefix, dir);
          }
        }
      } else {
        ++out.skipped_special;
      }
    }
  }
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
    result.skipped_unreliable += out.skipped_unreliable;
    std::move(out.walked_dirs.begin(), out.walked_dirs.end(), std::back_inserter(result.walked_dirs));
    out = WorkerOutput{};
  }
  return result;
}

}  // namespace

namespace {

// One round walks the PATHs that no earlier remaining PATH contains, each in parallel, then the
// directories reached through symlinks (--follow-links): after the real tree, one link at a time
// in path order, so a directory that is reachable both ways is always listed under its real
// path, or under the smallest link path, whatever the thread count. PATHs that the round's walks
// were left to reach and did not are the next round's.
WalkResult walk_run(const Config& config, Logger& log, const CancelToken& user_cancel, std::span<const Mount> mounts,
                    Progress* progress, const WalkBudget* budget) {
  CancelToken cancel(&user_cancel);  // also stopped by the budget
  std::vector<Root> roots = resolve_roots(config.paths);
  const int wanted = config.threads.main_threads();
  const int threads = threads_within_descriptor_budget(wanted, k_fds_per_thread, k_fd_reserve);
  if (threads < wanted) {
    log.info("walk: " + std::to_string(threads) + " threads instead of " + std::to_string(wanted) +
             ", to stay within the open-file limit (ulimit -n)");
  }
  PoolSet pools({PoolSpec{"main", threads}});
  Walker walker(config, log, cancel, progress, budget, pools.total_threads(), kernel_interface_devs(mounts), roots);
  std::vector<FileError> root_errors;
  std::vector<std::uint32_t> remaining;
  for (Root& root : roots) {
    if (root.error) {
      log.file_error(*root.error);
      root_errors.push_back(std::move(*root.error));
    } else if (root.kind != Root::Kind::duplicate) {
      remaining.push_back(root.index);
    }
  }
  while (!remaining.empty() && !cancel.cancelled()) {
    const std::vector<std::uint32_t> alone = walked_alone(roots, remaining);
    std::vector<std::uint32_t> pending;
    std::set_difference(remaining.begin(), remaining.end(), alone.begin(), alone.end(), std::back_inserter(pending));
    walker.set_pending(pending);
    pools.multi_scope(cancel, [&](std::span<Scope> scopes) {
      Scope& scope = scopes[0];
      for (std::uint32_t r : alone) {
        scope.spawn([&walker, &scope, &root = roots[r]](Worker& worker) { walker.start(scope, worker, root); });
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
    remaining.clear();
    for (std::uint32_t r : pending) {
      if (!walker.reached(r)) {
        remaining.push_back(r);
      }
    }
  }
  WalkResult result = walker.finish();
  result.errors.insert(result.errors.begin(), std::make_move_iterator(root_errors.begin()),
                       std::make_move_iterator(root_errors.end()));
  if (result.skipped_unreliable > 0) {
    log.warning(std::to_string(result.skipped_unreliable) +
                " files on kernel interface file systems (/sys, /proc) skipped: size not reliable (-v names them)");
  }
  return result;
}

}  // namespace

// A --files-from list can name millions of PATHs, more than FileEntry::root counts: they are
// walked in runs, one after the other, each run as one walk (its overlaps resolved as always).
WalkResult walk(const Config& config, Logger& log, const CancelToken& cancel, std::span<const Mount> mounts,
                Progress* progress, const WalkBudget* budget) {
  constexpr std::size_t k_run = std::size_t{FileEntry::k_max_root} + 1;
  if (config.paths.size() <= k_run) {
    return walk_run(config, log, cancel, mounts, progress, budget);
  }
  WalkResult result;
  result.chunk_starts.clear();
  Config part = config;
  for (std::size_t first = 0; first < config.paths.size() && !cancel.cancelled(); first += k_run) {
    const std::size_t last = std::min(config.paths.size(), first + k_run);
    part.paths.assign(config.paths.begin() + static_cast<std::ptrdiff_t>(first),
                      config.paths.begin() + static_cast<std::ptrdiff_t>(last));
    WalkResult run = walk_run(part, log, cancel, mounts, progress, budget);  // a budget bounds each run
    result.chunk_starts.push_back(static_cast<FileIndex>(result.files.size()));
    result.files.append(run.files);
    result.errors.insert(result.errors.end(), std::make_move_iterator(run.errors.begin()),
                         std::make_move_iterator(run.errors.end()));
    result.directories += run.directories;
    result.skipped_special += run.skipped_special;
    result.skipped_unreliable += run.skipped_unreliable;
    std::move(run.walked_dirs.begin(), run.walked_dirs.end(), std::back_inserter(result.walked_dirs));
  }
  return result;
}

}  // namespace spindle
