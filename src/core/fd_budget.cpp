#include <spindle/fd_budget.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>

namespace spindle {

namespace {

// Descriptors open now: the entries of /proc/self/fd (less the one reading it), or, without
// /proc, a probe of every descriptor below `limit` (bounded, as a huge limit would be slow).
std::size_t descriptors_open(std::size_t limit) {
  if (DIR* dir = ::opendir("/proc/self/fd"); dir != nullptr) {
    std::size_t count = 0;
    while (const struct dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') {
        ++count;
      }
    }
    ::closedir(dir);
    return count > 0 ? count - 1 : 0;
  }
  std::size_t count = 0;
  for (int fd = 0; fd < static_cast<int>(std::min<std::size_t>(limit, 1 << 16)); ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) {
      ++count;
    }
  }
  return count;
}

}  // namespace

std::size_t descriptors_available(std::size_t reserve) {
  struct rlimit files {};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY || files.rlim_cur >= SIZE_MAX / 2) {
    return SIZE_MAX / 2;
  }
  const auto limit = static_cast<std::size_t>(files.rlim_cur);
  const std::size_t used = descriptors_open(limit) + reserve;
  return used >= limit ? 0 : limit - used;
}

int threads_within_descriptor_budget(int wanted, std::size_t per_thread, std::size_t reserve) {
  const std::size_t fit = descriptors_available(reserve) / std::max<std::size_t>(per_thread, 1);
  return static_cast<int>(std::clamp<std::size_t>(fit, 1, static_cast<std::size_t>(std::max(wanted, 1))));
}

}  // namespace spindle
