#pragma once

#include <spindle/pools.hpp>

#include <streambuf>
#include <vector>

namespace spindle {

// A streambuf over a descriptor it does not own: 64 KiB writes, EINTR retried, EAGAIN (a FIFO
// or device opened non-blocking) waited out with poll. The first error is kept in error();
// ECANCELED once `cancel` (may be null) fired, checked before each write and while waiting.
class FdStreamBuf : public std::streambuf {
 public:
  FdStreamBuf(int fd, const CancelToken* cancel);
  int error() const { return m_error; }

 protected:
  int_type overflow(int_type ch) override;
  int sync() override;

 private:
  bool flush_buffer();
  bool cancelled();
  bool write_all(const char* data, std::size_t size);

  int m_fd;
  const CancelToken* m_cancel;
  std::vector<char> m_buffer;
  int m_error = 0;
};

}  // namespace spindle
