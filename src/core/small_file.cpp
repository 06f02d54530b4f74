#include <spindle/fd.hpp>
#include <spindle/small_file.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace spindle {

namespace {

std::string kind_of(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFIFO:
      return "a FIFO";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    case S_IFSOCK:
      return "a socket";
    case S_IFDIR:
      return "a directory";
    default:
      return "not a regular file";
  }
}

}  // namespace

Result<std::string> read_small_file(const std::string& path, std::size_t max_bytes) {
  // O_NOCTTY: a terminal planted here must not become our controlling terminal.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    return FileError{path, errno, "open", ""};
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return FileError{path, errno, "stat", ""};
  }
  if (!S_ISREG(st.st_mode)) {
    return FileError{path, 0, "not a regular file", "it is " + kind_of(st.st_mode)};
  }
  std::string too_large = "larger than " + std::to_string(max_bytes) + " bytes";
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return FileError{path, 0, "too large", too_large};
  }
  // Chunks, so memory follows what is there (not the bound); one byte past the bound tells a
  // file at the limit from a larger one (or one that grew since fstat).
  std::string text;
  char chunk[64 * 1024];
  while (text.size() <= max_bytes) {
    ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n == 0) {
      return text;
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return FileError{path, errno, "read", ""};
    }
    text.append(chunk, static_cast<std::size_t>(n));
  }
  return FileError{path, 0, "too large", too_large};
}

}  // namespace spindle
