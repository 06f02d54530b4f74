#include "fd_streambuf.hpp"

#include <unistd.h>

#include <cerrno>
#include <poll.h>

namespace spindle {

namespace {

// How long a write waits on a full pipe or device before looking at the cancel token again.
constexpr int k_poll_ms = 100;

}  // namespace

FdStreamBuf::FdStreamBuf(int fd, const CancelToken* cancel) : m_fd(fd), m_cancel(cancel), m_buffer(64 * 1024) {
  setp(m_buffer.data(), m_buffer.data() + m_buffer.size());
}

FdStreamBuf::int_type FdStreamBuf::overflow(int_type ch) {
  if (!flush_buffer()) {
    return traits_type::eof();
  }
  if (!traits_type::eq_int_type(ch, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(ch);
    pbump(1);
  }
  return traits_type::not_eof(ch);
}

int FdStreamBuf::sync() {
  return flush_buffer() ? 0 : -1;
}

bool FdStreamBuf::flush_buffer() {
  bool ok = write_all(pbase(), static_cast<std::size_t>(pptr() - pbase()));
  setp(m_buffer.data(), m_buffer.data() + m_buffer.size());
  return ok;
}

bool FdStreamBuf::cancelled() {
  if (m_cancel != nullptr && m_cancel->cancelled()) {
    m_error = ECANCELED;
  }
  return m_error != 0;
}

bool FdStreamBuf::write_all(const char* data, std::size_t size) {
  if (cancelled()) {
    return false;
  }
  while (size > 0) {
    ssize_t n = ::write(m_fd, data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      pollfd ready{m_fd, POLLOUT, 0};
      ::poll(&ready, 1, k_poll_ms);
      if (cancelled()) {
        return false;
      }
    } else if (n == 0 || errno != EINTR) {
      m_error = n == 0 ? EIO : errno;  // 0 for a non-empty write: a device that takes no more
      return false;
    }
  }
  return true;
}

}  // namespace spindle
