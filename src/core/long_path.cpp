#include <spindle/long_path.hpp>

#include <climits>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

namespace spindle {

namespace {

// Closes `fd` (unless it is AT_FDCWD) without changing errno.
void close_keeping_errno(int fd) {
  if (fd != AT_FDCWD) {
    int saved = errno;
    ::close(fd);
    errno = saved;
  }
}

}  // namespace

int open_long_path(const char* path, int flags, mode_t mode) {
  std::string_view rest(path);
  if (rest.size() < PATH_MAX) {
    return ::open(path, flags, mode);
  }
  int dir = AT_FDCWD;
  if (rest.front() == '/') {
    dir = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
      return -1;
    }
    while (!rest.empty() && rest.front() == '/') {
      rest.remove_prefix(1);
    }
  }
  std::string step;
  while (rest.size() >= PATH_MAX) {
    // The longest run of whole components that open(2) accepts (shorter than PATH_MAX).
    const std::size_t cut = rest.rfind('/', PATH_MAX - 1);
    if (cut == std::string_view::npos || cut == 0) {
      close_keeping_errno(dir);
      errno = ENAMETOOLONG;
      return -1;
    }
    step.assign(rest.substr(0, cut));
    int next = ::openat(dir, step.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    close_keeping_errno(dir);
    if (next < 0) {
      return -1;
    }
    dir = next;
    rest.remove_prefix(cut);
    while (!rest.empty() && rest.front() == '/') {
      rest.remove_prefix(1);
    }
  }
  step.assign(rest.empty() ? std::string_view(".") : rest);
  int fd = ::openat(dir, step.c_str(), flags, mode);
  close_keeping_errno(dir);
  return fd;
}

}  // namespace spindle
