#include <spindle/fd_budget.hpp>
#include <spindle/hash.hpp>
#include <spindle/read_ahead.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace spindle {

ReadAhead::ReadAhead(std::size_t count, HintOf hint_of, std::size_t depth, std::uint64_t max_bytes, FdBudget* budget)
    : m_count(count),
      m_hint_of(std::move(hint_of)),
      m_depth(depth == 0 ? 1 : depth),
      m_max_bytes(max_bytes),
      m_budget(budget) {}

ReadAhead::~ReadAhead() {
  drop_window();
}

void ReadAhead::close_ahead(const Ahead& ahead) {
  if (ahead.fd >= 0) {
    ::close(ahead.fd);
    if (m_budget != nullptr) {
      m_budget->release();
    }
  }
  m_bytes -= ahead.bytes;
}

void ReadAhead::drop_window() {
  for (const Ahead& ahead : m_window) {
    close_ahead(ahead);
  }
  m_window.clear();
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
    if (m_budget != nullptr && !m_budget->try_acquire()) {
      break;  // no descriptor free: the caller opens this one itself, waiting for it
    }
    int fd = open_for_reading(m_pending->path.c_str());
    const int errnum = fd < 0 ? errno : 0;
    if (fd < 0 && m_budget != nullptr) {
      m_budget->release();
    }
    if (errnum == EMFILE || errnum == ENFILE) {
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
    close_ahead(m_window.front());
    m_window.pop_front();
  }
  fill(index);
  if (m_window.empty() || m_window.front().index != index || m_window.front().fd < 0) {
    // The caller opens this one itself (and may wait for a descriptor to do it): hold nothing
    // meanwhile, or readers of several pools could each wait for what the others hold.
    drop_window();
    m_next = index + 1;
    m_pending.reset();
    return -1;
  }
  const Ahead ahead = m_window.front();
  m_window.pop_front();
  m_bytes -= ahead.bytes;
  fill(index + 1);  // keep the window full while the caller reads this one
  return ahead.fd;
}

}  // namespace spindle
