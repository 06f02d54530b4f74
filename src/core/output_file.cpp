// OutputFile: `> FILE` semantics, atomic where the replacement can be identical. The decision is
// made once, in open(), before any long work; commit() only carries it out.
#include "fd_streambuf.hpp"

#include <spindle/log.hpp>
#include <spindle/output_file.hpp>
#include <spindle/pools.hpp>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <utility>
#include <vector>

namespace spindle {

namespace {

// Symlink hops before giving up, as the kernel's own limit (ELOOP).
constexpr int k_max_symlink_hops = 40;
// How often commit() looks again for a reader of a FIFO: Linux has no event for "a reader
// opened it" that could also be woken by a cancellation.
constexpr int k_reader_poll_ms = 20;

// "dir/name" → {"dir", "name"}; "name" → {"", "name"}; "/name" → {"/", "name"}.
std::pair<std::string, std::string> split_path(const std::string& path) {
  std::string::size_type slash = path.rfind('/');
  if (slash == std::string::npos) {
    return {"", path};
  }
  return {path.substr(0, slash == 0 ? 1 : slash), path.substr(slash + 1)};
}

const char* as_directory(const std::string& directory) {
  return directory.empty() ? "." : directory.c_str();
}

// The directory entry that `>` would write through: symlinks of the last component followed
// hop by hop. nullopt when the chain cannot be followed by name: a /proc magic link
// (/dev/stdout → /proc/self/fd/1) names an open file, not a directory entry that a rename could
// replace.
std::optional<std::pair<std::string, std::string>> resolve_final(std::string current) {
  for (int hop = 0; hop < k_max_symlink_hops; ++hop) {
    std::pair<std::string, std::string> parts = split_path(current);
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0) {
      return std::nullopt;
    }
    if (!S_ISLNK(st.st_mode)) {
      return parts;
    }
    struct statfs fs {};
    if (::statfs(as_directory(parts.first), &fs) != 0 || fs.f_type == PROC_SUPER_MAGIC) {
      return std::nullopt;
    }
    std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 256) + 1, '\0');
    ssize_t n = ::readlink(current.c_str(), target.data(), target.size());
    if (n <= 0 || static_cast<std::size_t>(n) >= target.size()) {
      return std::nullopt;  // changed under us; the in-place path is always correct
    }
    target.resize(static_cast<std::size_t>(n));
    current = target.front() == '/' ? target : join_path(parts.first, target);
  }
  return std::nullopt;
}

std::vector<std::string> xattr_names(int fd) {
  ssize_t size = ::flistxattr(fd, nullptr, 0);
  if (size <= 0) {
    return {};  // none, or a filesystem without them (ENOTSUP)
  }
  std::string list(static_cast<std::size_t>(size), '\0');
  size = ::flistxattr(fd, list.data(), list.size());
  std::vector<std::string> names;
  for (std::size_t start = 0; size > 0 && start < static_cast<std::size_t>(size);) {
    std::size_t end = list.find('\0', start);
    names.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  return names;
}

std::optional<std::string> xattr_value(int fd, const std::string& name) {
  ssize_t size = ::fgetxattr(fd, name.c_str(), nullptr, 0);
  if (size < 0) {
    return std::nullopt;
  }
  std::string value(static_cast<std::size_t>(size), '\0');
  size = ::fgetxattr(fd, name.c_str(), value.data(), value.size());
  if (size < 0) {
    return std::nullopt;
  }
  value.resize(static_cast<std::size_t>(size));
  return value;
}

// Give the replacement the old file's extended attributes (POSIX ACLs, SELinux label, user.*),
// and only those. False when one cannot be made the same.
bool copy_xattrs(int from, int to) {
  std::vector<std::string> old_names = xattr_names(from);
  for (const std::string& name : xattr_names(to)) {
    if (std::find(old_names.begin(), old_names.end(), name) == old_names.end() &&
        ::fremovexattr(to, name.c_str()) != 0) {
      return false;
    }
  }
  for (const std::string& name : old_names) {
    std::optional<std::string> value = xattr_value(from, name);
    if (!value) {
      return false;
    }
    if (xattr_value(to, name) == value) {
      continue;  // inherited already (a label, a default ACL)
    }
    if (::fsetxattr(to, name.c_str(), value->data(), value->size(), 0) != 0) {
      return false;
    }
  }
  return true;
}

// Make the replacement indistinguishable from `old` but for its content: owner, group, mode
// (set after chown, which clears set-id bits) and extended attributes. False when it cannot.
bool make_identical(int replacement, int old, const struct stat& old_st) {
  struct stat st {};
  if (::fstat(replacement, &st) != 0) {
    return false;
  }
  if ((st.st_uid != old_st.st_uid || st.st_gid != old_st.st_gid) &&
      ::fchown(replacement, old_st.st_uid, old_st.st_gid) != 0) {
    return false;
  }
  if (::fchmod(replacement, old_st.st_mode & 07777) != 0 || ::fstat(replacement, &st) != 0) {
    return false;
  }
  // The kernel drops a set-gid bit silently for a group we are not in.
  if ((st.st_mode & 07777) != (old_st.st_mode & 07777) || st.st_uid != old_st.st_uid || st.st_gid != old_st.st_gid) {
    return false;
  }
  return copy_xattrs(old, replacement);
}

// /proc and /sys files are kernel interfaces: written, never truncated or replaced.
bool on_kernel_filesystem(int fd) {
  struct statfs fs {};
  return ::fstatfs(fd, &fs) == 0 && (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC);
}

}  // namespace

OutputFile::OutputFile(OutputFile&& other) noexcept
    : m_path(std::move(other.m_path)),
      m_name(std::move(other.m_name)),
      m_kind(other.m_kind),
      m_fd(std::move(other.m_fd)),
      m_atomic(std::move(other.m_atomic)),
      m_cancel(other.m_cancel),
      m_existing(other.m_existing),
      m_created(std::move(other.m_created)),
      m_committed(other.m_committed) {
  other.m_atomic.reset();
  other.m_created.clear();
}

OutputFile::~OutputFile() {
  if (!m_committed && !m_created.empty()) {
    ::unlink(m_created.c_str());
  }
}

void OutputFile::fail(const std::string& what, int errnum) const {
  std::string message = m_name + ": " + what;  // main() escapes a Fatal message, once
  if (errnum != 0) {
    message += std::string(": ") + std::strerror(errnum);
  }
  throw Fatal(message);
}

OutputFile OutputFile::open(const std::string& path, const Options& options) {
  OutputFile out;
  out.m_path = path;
  out.m_cancel = options.cancel;
  if (path.empty() || path == "-") {
    out.m_name = "standard output";
    return out;
  }
  out.m_name = path;
  // What `>` opens, minus O_CREAT and O_TRUNC (both wait for commit) and without blocking on a
  // FIFO or a device that waits for a carrier.
  Fd fd(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  struct stat st {};
  if (!fd) {
    int open_errno = errno;
    if (open_errno == ENXIO && ::stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
      if (options.regular_only) {
        out.fail("not a regular file (a FIFO)", 0);
      }
      out.m_kind = OutputKind::direct;  // nobody reads yet: commit() waits for a reader
      out.m_existing = true;
      return out;
    }
    if (open_errno != ENOENT) {
      out.fail("open", open_errno);
    }
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      // A dangling symlink: `>` creates its target, and so does the kernel here, with its
      // protected_symlinks check in a sticky directory. Removed again if nothing is committed.
      fd.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0666));
      if (!fd) {
        out.fail("create", errno);
      }
      std::optional<std::pair<std::string, std::string>> final = resolve_final(path);
      out.m_created = final ? join_path(final->first, final->second) : "";
    } else {
      std::pair<std::string, std::string> parts = split_path(path);
      if (parts.second.empty() || parts.second == "." || parts.second == "..") {
        out.fail("open", EISDIR);
      }
      Result<AtomicFile> created = AtomicFile::create(parts.first, parts.second, 0666);
      if (!created) {
        out.fail(created.error().op, created.error().errnum);
      }
      out.m_kind = OutputKind::replace;
      out.m_atomic.emplace(std::move(created).value());
      return out;
    }
  } else {
    out.m_existing = true;
  }
  if (::fstat(fd.get(), &st) != 0) {
    out.fail("stat", errno);
  }
  if (!S_ISREG(st.st_mode) || on_kernel_filesystem(fd.get())) {
    if (options.regular_only) {
      out.fail("not a regular file", 0);
    }
    out.m_kind = OutputKind::direct;
    out.m_fd = std::move(fd);
    return out;
  }
  out.m_kind = OutputKind::in_place;
  std::optional<std::pair<std::string, std::string>> final = resolve_final(path);
  struct stat entry {};
  bool same_entry =
      final && ::fstatat(AT_FDCWD, join_path(final->first, final->second).c_str(), &entry, AT_SYMLINK_NOFOLLOW) == 0 &&
      entry.st_dev == st.st_dev && entry.st_ino == st.st_ino;
  if (same_entry && st.st_nlink == 1) {
    Result<AtomicFile> created = AtomicFile::create(final->first, final->second, 0600);
    if (created && make_identical(created->fd(), fd.get(), st)) {
      out.m_kind = OutputKind::replace;
      out.m_atomic.emplace(std::move(created).value());
      return out;
    }
  }
  out.m_fd = std::move(fd);
  return out;
}

bool OutputFile::wait_for_reader() {
  while (true) {
    m_fd.reset(::open(m_path.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (m_fd) {
      return true;
    }
    if (errno != ENXIO) {
      fail("open", errno);
    }
    if (m_cancel != nullptr && m_cancel->cancelled()) {
      return false;
    }
    ::poll(nullptr, 0, k_reader_poll_ms);
  }
}

bool OutputFile::is_terminal() const {
  if (m_kind == OutputKind::standard_output) {
    return ::isatty(STDOUT_FILENO) == 1;
  }
  return m_kind == OutputKind::direct && m_fd.valid() && ::isatty(m_fd.get()) == 1;
}

bool OutputFile::commit(const std::function<void(std::ostream&)>& fill) {
  int fd = 1;
  const CancelToken* cancel = m_cancel;
  switch (m_kind) {
    case OutputKind::standard_output:
      break;
    case OutputKind::replace:
      fd = m_atomic->fd();
      break;
    case OutputKind::in_place:
      // Past the truncation FILE is being rewritten: a cancellation must not leave it half
      // written (a second signal still ends the process).
      if (::ftruncate(m_fd.get(), 0) != 0) {
        fail("truncate", errno);
      }
      cancel = nullptr;
      fd = m_fd.get();
      break;
    case OutputKind::direct:
      if (!m_fd && !wait_for_reader()) {
        return false;
      }
      fd = m_fd.get();
      break;
  }
  FdStreamBuf buffer(fd, cancel);
  std::ostream stream(&buffer);
  fill(stream);
  stream.flush();
  if (buffer.error() == ECANCELED) {
    return false;
  }
  if (buffer.error() != 0 || !stream) {
    fail("write", buffer.error());
  }
  if (m_kind == OutputKind::replace) {
    if (std::optional<FileError> error = m_atomic->commit()) {
      fail(error->op, error->errnum);
    }
  } else if (m_kind == OutputKind::in_place) {
    if (::fsync(m_fd.get()) != 0) {
      fail("fsync", errno);
    }
  }
  if (int closed = m_fd.close(); closed != 0) {
    fail("close", closed);
  }
  m_committed = true;
  return true;
}

}  // namespace spindle
