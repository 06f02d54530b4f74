#include <spindle/hash.hpp>
#include <spindle/read_ahead.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace spindle {

ReadAhead::ReadAhead(std::size_t count, HintOf hint_of, std::size_t depth, std::uint64_t max_bytes)
    : m_count(count), m_hint_of(std::move(hint_of)), m_depth(depth == 0 ? 1 : depth), m_max_bytes(max_bytes) {}

ReadAhead::~ReadAhead() {
  for (const Ahead& ahead : m_window) {
    if (ahead.fd >= 0) {
      ::close(ahead.fd);
    }
  }
}

void ReadAhead::fill(std::size_t index) {
  if (m_next < index) {
    m_next = index;  // items skipped by the caller are not worth opening anymore
    m_pending.reset();
  }
  while (m_next < m_count && m_window.size() < m_depth) {
    if (!m_pending) {
      m_pending = m_hint_of(m_next);
    }
    if (!m_window.empty() && m_bytes + m_pending->length > m_max_bytes) {
      break;
    }
    int fd = open_for_reading(m_pending->path.c_str());
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && !m_window.empty()) {
      break;  // out of descriptors: a shorter window, and this file is tried again later
    }
    ReadHint hint = std::move(*m_pending);
    m_pending.reset();
    if (fd >= 0 && hint.length > 0) {
      ::posix_fadvise(fd, static_cast<off_t>(hint.offset), static_cast<off_t>(hint.length), POSIX_FADV_WILLNEED);
    }
    m_window.push_back(Ahead{m_next, fd, hint.length});
    m_bytes += hint.length;
    ++m_next;
  }
}

int ReadAhead::take(std::size_t index) {
  while (!m_window.empty() && m_window.front().index < index) {
    if (m_window.front().fd >= 0) {
      ::close(m_window.front().fd);
    }
    m_bytes -= m_window.front().bytes;
    m_window.pop_front();
  }
  fill(index);
  if (m_window.empty() || m_window.front().index != index) {
    return -1;
  }
  const Ahead ahead = m_window.front();
  m_window.pop_front();
  m_bytes -= ahead.bytes;
  fill(index + 1);  // keep the window full while the caller reads this one
  return ahead.fd;
}

}  // namespace spindle
