// The file operations of the actions. The one rule: the duplicate's path is never missing. A new
// name (hard link, symlink, clone, copy) is made under a temporary name in the target directory
// and renamed over the duplicate, after checking the duplicate is still the file that was
// verified; a crash at any point leaves the original or its replacement, plus at most one
// temporary, which the next run removes.
#include "action_ops.hpp"

#include <spindle/extents.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <vector>

namespace spindle {

namespace {

constexpr const char* k_temp_prefix = ".spindle-tmp.";
constexpr int k_name_attempts = 16;

std::int64_t ns_of(const struct timespec& ts) {
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string proc_fd_path(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

// Rename `temp` over `path` once `path` is still the checked duplicate; the temporary is removed
// on any failure.
std::optional<FileError> commit_over(const std::string& temp, const std::string& path, const struct stat& before,
                                     TouchedDirs& touched) {
  if (std::optional<FileError> changed = check_still(path, before)) {
    ::unlink(temp.c_str());
    return changed;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    return FileError{path, error, "rename", ""};
  }
  touched.insert(directory_of(path));
  return std::nullopt;
}

// Owner, mode and times of `from` onto the open temporary `fd`; an owner that cannot be given
// (not root) is an error: the replacement must not change who owns the file.
std::optional<FileError> copy_attributes(int fd, const struct stat& from, const std::string& path) {
  if (::fchown(fd, from.st_uid, from.st_gid) != 0) {
    struct stat now {};
    if (::fstat(fd, &now) != 0 || now.st_uid != from.st_uid || now.st_gid != from.st_gid) {
      return FileError{path, errno, "chown", "the owner cannot be kept"};
    }
  }
  if (::fchmod(fd, from.st_mode & 07777) != 0) {
    return FileError{path, errno, "chmod", ""};
  }
  const struct timespec times[2] = {from.st_atim, from.st_mtim};
  if (::futimens(fd, times) != 0) {
    return FileError{path, errno, "utimens", ""};
  }
  return std::nullopt;
}

// Create an exclusive temporary file beside `beside`; returns its fd and sets `temp`.
Result<Fd> create_temporary(const std::string& beside, const std::string& path, TemporaryNames& names,
                            std::string& temp) {
  for (int attempt = 0; attempt < k_name_attempts; ++attempt) {
    temp = names.next_beside(beside);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      return Fd(fd);
    }
    if (errno != EEXIST) {
      return FileError{path, errno, "create", "temporary " + temp};
    }
  }
  return FileError{path, EEXIST, "create", "no free temporary name"};
}

std::optional<FileError> make_parents(const std::string& path) {
  const std::string dir = directory_of(path);
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? std::nullopt : std::optional<FileError>(FileError{dir, ENOTDIR, "mkdir", ""});
  }
  if (dir != path && dir != "/" && dir != ".") {
    if (std::optional<FileError> error = make_parents(dir)) {
      return error;
    }
  }
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
    return FileError{dir, errno, "mkdir", ""};
  }
  return std::nullopt;
}

}  // namespace

Result<OpenedFile> open_regular(const std::string& path, bool writable) {
  const int base = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  int fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | base);
  if (fd < 0 && writable && (errno == EACCES || errno == EROFS || errno == ETXTBSY || errno == EPERM)) {
    fd = ::open(path.c_str(), O_RDONLY | base);
  }
  if (fd < 0) {
    if (errno == ELOOP) {
      return FileError{path, 0, "changed", "a symbolic link now"};
    }
    return FileError{path, errno, "open", ""};
  }
  OpenedFile file;
  file.fd = Fd(fd);
  if (::fstat(fd, &file.st) != 0) {
    return FileError{path, errno, "stat", ""};
  }
  if (!S_ISREG(file.st.st_mode)) {
    return FileError{path, 0, "changed", "not a regular file now"};
  }
  return file;
}

std::optional<FileError> check_still(const std::string& path, const struct stat& before) {
  struct stat now {};
  if (::lstat(path.c_str(), &now) != 0) {
    return FileError{path, 0, errno == ENOENT ? "vanished" : "changed", "gone while spindle acted"};
  }
  if (now.st_dev != before.st_dev || now.st_ino != before.st_ino || now.st_size != before.st_size ||
      ns_of(now.st_mtim) != ns_of(before.st_mtim) || ns_of(now.st_ctim) != ns_of(before.st_ctim)) {
    return FileError{path, 0, "changed", "modified or replaced while spindle acted"};
  }
  return std::nullopt;
}

TemporaryNames::TemporaryNames()
    : m_random(std::random_device{}()), m_prefix(std::string(k_temp_prefix) + std::to_string(::getpid()) + ".") {}

std::string TemporaryNames::next_beside(const std::string& path) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(m_random()));
  const std::string dir = directory_of(path);
  return (dir == "/" ? "/" : dir + "/") + m_prefix + hex;
}

bool parse_temporary_name(const std::string& name, pid_t& pid) {
  const std::string_view prefix = k_temp_prefix;
  if (!name.starts_with(prefix)) {
    return false;
  }
  const std::string_view rest = std::string_view(name).substr(prefix.size());
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos || rest.size() - dot - 1 != 16) {
    return false;
  }
  for (char c : rest.substr(dot + 1)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  const auto [end, error] = std::from_chars(rest.data(), rest.data() + dot, pid);
  return error == std::errc() && end == rest.data() + dot && pid > 0;
}

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

void sync_directories(const TouchedDirs& dirs) {
  for (const std::string& dir : dirs) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd) {
      ::fsync(fd.get());
    }
  }
}

std::uint64_t remove_stale_temporaries(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    return 0;
  }
  DIR* stream = ::fdopendir(::dup(fd.get()));
  if (stream == nullptr) {
    return 0;
  }
  std::vector<std::string> stale;
  while (const struct dirent* entry = ::readdir(stream)) {
    pid_t pid = 0;
    // A live process may be a spindle working here now: its temporaries are its own.
    if (parse_temporary_name(entry->d_name, pid) && ::kill(pid, 0) != 0 && errno == ESRCH) {
      stale.emplace_back(entry->d_name);
    }
  }
  ::closedir(stream);
  std::uint64_t removed = 0;
  for (const std::string& name : stale) {
    // Never a directory (unlinkat without AT_REMOVEDIR refuses one): only the names spindle made.
    removed += ::unlinkat(fd.get(), name.c_str(), 0) == 0 ? 1 : 0;
  }
  return removed;
}

std::optional<FileError> replace_with_hard_link(const OpenedFile& kept, const std::string& kept_path,
                                                const OpenedFile& dup, const std::string& dup_path,
                                                TemporaryNames& names, TouchedDirs& touched) {
  std::string temp;
  for (int attempt = 0;; ++attempt) {
    temp = names.next_beside(dup_path);
    // Through /proc: the link is to the verified inode, even if kept_path was replaced since.
    if (::linkat(AT_FDCWD, proc_fd_path(kept.fd.get()).c_str(), AT_FDCWD, temp.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      break;
    }
    if (errno == ENOENT && ::linkat(AT_FDCWD, kept_path.c_str(), AT_FDCWD, temp.c_str(), 0) == 0) {
      struct stat st {};
      if (::lstat(temp.c_str(), &st) != 0 || st.st_ino != kept.st.st_ino || st.st_dev != kept.st.st_dev) {
        ::unlink(temp.c_str());
        return FileError{dup_path, 0, "changed", "the kept file " + kept_path + " was replaced"};
      }
      break;
    }
    if (errno != EEXIST || attempt + 1 == k_name_attempts) {
      const int error = errno;
      if (error == EXDEV) {
        return FileError{dup_path, 0, "link", "on another filesystem than " + kept_path};
      }
      return FileError{dup_path, error, "link", error == EMLINK ? "the kept file has too many links" : ""};
    }
  }
  return commit_over(temp, dup_path, dup.st, touched);
}

std::optional<FileError> replace_with_symlink(const std::string& link_text, const OpenedFile& dup,
                                              const std::string& dup_path, TemporaryNames& names,
                                              TouchedDirs& touched) {
  std::string temp;
  for (int attempt = 0;; ++attempt) {
    temp = names.next_beside(dup_path);
    if (::symlink(link_text.c_str(), temp.c_str()) == 0) {
      break;
    }
    if (errno != EEXIST || attempt + 1 == k_name_attempts) {
      return FileError{dup_path, errno, "symlink", ""};
    }
  }
  // The link keeps the duplicate's owner and times where allowed (only root can give a file
  // away): best effort, as a symlink's owner and times decide nothing about what it points to.
  const struct timespec times[2] = {dup.st.st_atim, dup.st.st_mtim};
  const bool owned = ::fchownat(AT_FDCWD, temp.c_str(), dup.st.st_uid, dup.st.st_gid, AT_SYMLINK_NOFOLLOW) == 0;
  const bool timed = ::utimensat(AT_FDCWD, temp.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0;
  if (!owned || !timed) {
    errno = 0;
  }
  return commit_over(temp, dup_path, dup.st, touched);
}

std::optional<FileError> remove_duplicate(const OpenedFile& kept, const std::string& kept_path, const OpenedFile& dup,
                                          const std::string& dup_path, TouchedDirs& touched) {
  // The kept copy must still be there, as verified, the instant before its last duplicate goes.
  struct stat now {};
  if (::lstat(kept_path.c_str(), &now) != 0 || now.st_ino != kept.st.st_ino || now.st_dev != kept.st.st_dev) {
    return FileError{dup_path, 0, "skipped", "the kept file " + kept_path + " is gone or replaced"};
  }
  if (std::optional<FileError> changed = check_still(dup_path, dup.st)) {
    return changed;
  }
  if (::unlink(dup_path.c_str()) != 0) {
    return FileError{dup_path, errno, "unlink", ""};
  }
  touched.insert(directory_of(dup_path));
  return std::nullopt;
}

std::optional<FileError> move_duplicate(const OpenedFile& dup, const std::string& dup_path,
                                        const std::string& destination, TemporaryNames& names, TouchedDirs& touched) {
  struct stat existing {};
  if (::lstat(destination.c_str(), &existing) == 0) {
    return FileError{dup_path, 0, "move", "the destination " + destination + " exists"};
  }
  if (std::optional<FileError> error = make_parents(destination)) {
    return FileError{dup_path, error->errnum, "mkdir", error->path};
  }
  if (std::optional<FileError> changed = check_still(dup_path, dup.st)) {
    return changed;
  }
  if (::renameat2(AT_FDCWD, dup_path.c_str(), AT_FDCWD, destination.c_str(), RENAME_NOREPLACE) == 0) {
    touched.insert(directory_of(dup_path));
    touched.insert(directory_of(destination));
    return std::nullopt;
  }
  if (errno != EXDEV) {
    return FileError{dup_path, errno, "rename", "to " + destination};
  }
  // Another filesystem: copy to a temporary beside the destination (owner, mode, times kept,
  // fsynced), put it in place without replacing anything, and only then remove the original.
  std::string temp;
  SPINDLE_TRY_ASSIGN(out, create_temporary(destination, dup_path, names, temp));
  std::vector<char> buffer(1 << 20);
  off_t offset = 0;
  while (offset < dup.st.st_size) {
    const ssize_t got = ::pread(dup.fd.get(), buffer.data(), buffer.size(), offset);
    if (got <= 0 || ::write(out.get(), buffer.data(), static_cast<std::size_t>(got)) != got) {
      const int error = got < 0 ? errno : (got == 0 ? 0 : errno);
      ::unlink(temp.c_str());
      return FileError{dup_path, error, got == 0 ? "changed" : "copy", got == 0 ? "shrank while it was moved" : ""};
    }
    offset += got;
  }
  std::optional<FileError> failed = copy_attributes(out.get(), dup.st, dup_path);
  if (!failed && ::fsync(out.get()) != 0) {
    failed = FileError{dup_path, errno, "fsync", temp};
  }
  if (!failed) {
    failed = check_still(dup_path, dup.st);
  }
  if (!failed && ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, destination.c_str(), RENAME_NOREPLACE) != 0) {
    failed = FileError{dup_path, errno, "rename", "to " + destination};
  }
  if (failed) {
    ::unlink(temp.c_str());
    return failed;
  }
  sync_directories({directory_of(destination)});
  if (::unlink(dup_path.c_str()) != 0) {
    return FileError{dup_path, errno, "unlink", "copied to " + destination + " but the original stays"};
  }
  touched.insert(directory_of(dup_path));
  return std::nullopt;
}

Result<std::uint64_t> dedupe_duplicate(const OpenedFile& kept, const OpenedFile& dup, const std::string& dup_path,
                                       bool clone, TemporaryNames& names, TouchedDirs& touched) {
  const auto size = static_cast<std::uint64_t>(dup.st.st_size);
  if (!clone) {
    // In place: the kernel compares the ranges under lock and shares them only if equal.
    return share_extents(kept.fd.get(), dup.fd.get(), size, ShareMode::dedupe, dup_path);
  }
  std::string temp;
  SPINDLE_TRY_ASSIGN(out, create_temporary(dup_path, dup_path, names, temp));
  Result<std::uint64_t> shared = share_extents(kept.fd.get(), out.get(), size, ShareMode::clone, dup_path);
  std::optional<FileError> failed;
  if (!shared) {
    failed = shared.error();
  }
  if (!failed) {
    failed = copy_attributes(out.get(), dup.st, dup_path);
  }
  if (!failed && ::fsync(out.get()) != 0) {
    failed = FileError{dup_path, errno, "fsync", temp};
  }
  if (failed) {
    ::unlink(temp.c_str());
    return *failed;
  }
  if (std::optional<FileError> error = commit_over(temp, dup_path, dup.st, touched)) {
    return *error;
  }
  return shared;
}

}  // namespace spindle
