#pragma once

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace spindle {

// An owned file descriptor, closed on destruction (as ccache's util/fd.hpp). -1 is "none".
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset(other.release());
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const noexcept { return m_fd; }
  bool valid() const noexcept { return m_fd >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  // Give up ownership without closing; returns the descriptor.
  int release() noexcept { return std::exchange(m_fd, -1); }

  // Close the held descriptor (errors ignored) and own `fd` instead.
  void reset(int fd = -1) noexcept {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = fd;
  }

  // Close now and say whether the close succeeded: 0, or the errno (NFS reports write errors
  // here). Closing "none" succeeds. The descriptor is gone either way (Linux never reuses it
  // for a retry).
  int close() noexcept {
    if (m_fd < 0) {
      return 0;
    }
    int result = ::close(std::exchange(m_fd, -1));
    return result == 0 || errno == EINTR ? 0 : errno;
  }

 private:
  int m_fd = -1;
};

}  // namespace spindle
