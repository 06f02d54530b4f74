#include <spindle/atomic_file.hpp>

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace spindle {

namespace {

// Names drawn before giving up: each clash means someone planted that very name, and 62^12
// names make a clash by chance impossible, so a handful is already generous.
constexpr int k_name_attempts = 64;
// Room left in NAME_MAX (255) for the "." prefix and the ".spindle-XXXXXXXXXXXX" suffix.
constexpr std::size_t k_max_name_part = 200;

FileError error_for(const std::string& target, int errnum, std::string op) {
  return FileError{target, errnum, std::move(op), ""};
}

// The directory, open for fsync; a directory we may write but not read (mode 0300) can still
// hold the temporary, it just cannot be fsynced.
Result<Fd> open_directory(const std::string& directory, const std::string& target, bool& syncable) {
  const char* path = directory.empty() ? "." : directory.c_str();
  Fd dir(::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  syncable = true;
  if (!dir && errno == EACCES) {
    dir.reset(::open(path, O_PATH | O_DIRECTORY | O_CLOEXEC));
    syncable = false;
  }
  if (!dir) {
    return error_for(target, errno, "create");
  }
  return dir;
}

// Creating the temporary under a fresh random name, never following or reusing anything there.
Result<std::pair<Fd, std::string>> create_exclusive(int dir, const std::string& name, const std::string& target,
                                                    mode_t mode, const AtomicFile::NameSource& names) {
  for (int attempt = 0; attempt < k_name_attempts; ++attempt) {
    std::string temp = names(name);
    Fd fd(::openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode));
    if (fd) {
      return std::pair<Fd, std::string>(std::move(fd), std::move(temp));
    }
    if (errno != EEXIST) {
      return error_for(target, errno, "create");
    }
  }
  return error_for(target, EEXIST, "create");
}

}  // namespace

std::string join_path(const std::string& directory, const std::string& name) {
  if (directory.empty()) {
    return name;
  }
  return directory.back() == '/' ? directory + name : directory + "/" + name;
}

std::string temporary_name_for(const std::string& name) {
  static constexpr char k_letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::uint8_t random[12] = {};
  std::size_t got = 0;
  while (got < sizeof random) {
    ssize_t n = ::getrandom(random + got, sizeof random - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (errno != EINTR) {
      throw Fatal(std::string("getrandom (a random name for a temporary file): ") + std::strerror(errno));
    }
  }
  std::string temp = "." + name.substr(0, k_max_name_part) + ".spindle-";
  for (std::uint8_t byte : random) {
    temp += k_letters[byte % (sizeof k_letters - 1)];
  }
  return temp;
}

AtomicFile::AtomicFile(Fd directory, Fd file, std::string name, std::string target, std::string temp_name,
                       bool dir_syncable, NameSource names)
    : m_dir(std::move(directory)),
      m_fd(std::move(file)),
      m_name(std::move(name)),
      m_target(std::move(target)),
      m_temp_name(std::move(temp_name)),
      m_dir_syncable(dir_syncable),
      m_names(std::move(names)) {}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : m_dir(std::move(other.m_dir)),
      m_fd(std::move(other.m_fd)),
      m_name(std::move(other.m_name)),
      m_target(std::move(other.m_target)),
      m_temp_name(std::move(other.m_temp_name)),
      m_dir_syncable(other.m_dir_syncable),
      m_committed(other.m_committed),
      m_names(std::move(other.m_names)) {
  other.m_committed = true;  // the moved-from object owns nothing to clean up
}

AtomicFile::~AtomicFile() {
  if (!m_committed && !m_temp_name.empty() && m_dir) {
    ::unlinkat(m_dir.get(), m_temp_name.c_str(), 0);
  }
}

Result<AtomicFile> AtomicFile::create(const std::string& directory, const std::string& name, mode_t mode,
                                      NameSource names) {
  return open_temporary(directory, name, mode, std::move(names), true);
}

Result<AtomicFile> AtomicFile::create_named(const std::string& directory, const std::string& name, mode_t mode,
                                            NameSource names) {
  return open_temporary(directory, name, mode, std::move(names), false);
}

Result<AtomicFile> AtomicFile::open_temporary(const std::string& directory, const std::string& name, mode_t mode,
                                              NameSource names, bool unnamed_first) {
  if (!names) {
    names = temporary_name_for;
  }
  std::string target = join_path(directory, name);
  bool syncable = true;
  SPINDLE_TRY_ASSIGN(dir, open_directory(directory, target, syncable));
  if (unnamed_first) {
    Fd fd(::openat(dir.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode));
    if (fd) {
      return AtomicFile(std::move(dir), std::move(fd), name, std::move(target), "", syncable, std::move(names));
    }
    // Filesystems (and kernels) without O_TMPFILE say so in one of these ways; anything else is
    // a real reason (EACCES, EROFS, ENOSPC) that the named path would hit too.
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOENT) {
      return error_for(target, errno, "create");
    }
  }
  SPINDLE_TRY_ASSIGN(created, create_exclusive(dir.get(), name, target, mode, names));
  return AtomicFile(std::move(dir), std::move(created.first), name, std::move(target), std::move(created.second),
                    syncable, std::move(names));
}

// An O_TMPFILE gets a name only now, just before the rename, and linkat never follows or
// replaces what is at the new name (EEXIST: draw another).
std::optional<FileError> AtomicFile::link_unnamed() {
  std::string proc_path = "/proc/self/fd/" + std::to_string(m_fd.get());
  for (int attempt = 0; attempt < k_name_attempts; ++attempt) {
    std::string temp = m_names(m_name);
    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc link works for everyone else.
    int linked = ::linkat(m_fd.get(), "", m_dir.get(), temp.c_str(), AT_EMPTY_PATH);
    if (linked != 0 && errno != EEXIST) {
      linked = ::linkat(AT_FDCWD, proc_path.c_str(), m_dir.get(), temp.c_str(), AT_SYMLINK_FOLLOW);
    }
    if (linked == 0) {
      m_temp_name = std::move(temp);
      return std::nullopt;
    }
    if (errno != EEXIST) {
      return error_for(m_target, errno, "link");
    }
  }
  return error_for(m_target, EEXIST, "link");
}

std::optional<FileError> AtomicFile::commit() {
  if (m_committed) {
    return std::nullopt;
  }
  if (::fsync(m_fd.get()) != 0) {
    return error_for(m_target, errno, "fsync");
  }
  if (m_temp_name.empty()) {
    if (std::optional<FileError> error = link_unnamed()) {
      return error;
    }
  }
  if (::renameat(m_dir.get(), m_temp_name.c_str(), m_dir.get(), m_name.c_str()) != 0) {
    return error_for(m_target, errno, "rename");  // the destructor removes the temporary
  }
  m_committed = true;
  if (int closed = m_fd.close(); closed != 0) {
    return error_for(m_target, closed, "close");
  }
  // EINVAL: a filesystem whose directories cannot be fsynced (nothing to wait for there).
  if (m_dir_syncable && ::fsync(m_dir.get()) != 0 && errno != EINVAL) {
    return error_for(m_target, errno, "fsync directory");
  }
  return std::nullopt;
}

}  // namespace spindle
