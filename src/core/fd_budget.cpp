#include <spindle/cancel.hpp>
#include <spindle/fd_budget.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>

namespace spindle {

namespace {

// Descriptors open now. /proc/self/fd lists them (minus the one reading it); without /proc,
// ask fcntl for each number below `limit`.
std::size_t open_descriptors(std::size_t limit) {
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    std::size_t count = 0;
    while (const struct dirent* entry = ::readdir(dir)) {
      count += entry->d_name[0] != '.' ? 1 : 0;
    }
    ::closedir(dir);
    return count > 0 ? count - 1 : 0;
  }
  std::size_t count = 0;
  for (std::size_t fd = 0; fd < std::min<std::size_t>(limit, 65536); ++fd) {
    count += ::fcntl(static_cast<int>(fd), F_GETFD) >= 0 ? 1 : 0;
  }
  return count;
}

}  // namespace

std::size_t free_descriptors(std::size_t reserve) {
  struct rlimit limit {};
  constexpr std::size_t k_unlimited = std::size_t{1} << 20;
  std::size_t soft = k_unlimited;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    soft = std::min<std::size_t>(limit.rlim_cur, k_unlimited);
  }
  const std::size_t used = open_descriptors(soft) + reserve;
  return soft > used ? soft - used : 1;
}

int threads_within_descriptor_budget(int wanted, std::size_t per_thread, std::size_t reserve) {
  const std::size_t fit = free_descriptors(reserve) / std::max<std::size_t>(per_thread, 1);
  return static_cast<int>(std::clamp<std::size_t>(fit, 1, static_cast<std::size_t>(std::max(wanted, 1))));
}

FdBudget::FdBudget(std::size_t capacity) : m_capacity(std::max<std::size_t>(1, capacity)) {}

std::size_t FdBudget::capacity() const {
  std::lock_guard lock(m_mutex);
  return m_capacity;
}

std::size_t FdBudget::in_use() const {
  std::lock_guard lock(m_mutex);
  return m_in_use;
}

bool FdBudget::try_acquire() {
  std::lock_guard lock(m_mutex);
  if (m_in_use >= m_capacity || m_waiting > 0) {
    return false;
  }
  ++m_in_use;
  return true;
}

bool FdBudget::acquire(const CancelToken* cancel) {
  auto cancelled = [cancel] { return cancel != nullptr && cancel->cancelled(); };
  std::unique_lock lock(m_mutex);
  ++m_waiting;
  m_released.wait(lock, [&] { return m_in_use < m_capacity || cancelled(); });
  --m_waiting;
  if (cancelled()) {
    m_released.notify_all();  // pass the news on: other waiters may not be woken by a release
    return false;
  }
  ++m_in_use;
  return true;
}

void FdBudget::release() {
  {
    std::lock_guard lock(m_mutex);
    --m_in_use;
  }
  m_released.notify_all();
}

std::size_t FdBudget::exhausted() {
  std::size_t others = 0;
  {
    std::lock_guard lock(m_mutex);
    --m_in_use;
    others = m_in_use;
    m_capacity = std::max<std::size_t>(1, others);
  }
  m_released.notify_all();
  return others;
}

bool fit_descriptors(std::span<int> threads, std::span<std::size_t> read_ahead, std::size_t budget) {
  for (std::size_t p = 0; p < threads.size(); ++p) {
    read_ahead[p] = threads[p] == 1 ? read_ahead[p] : 0;  // only a single reader reads ahead
  }
  auto demand = [&] {
    std::size_t total = 0;
    for (std::size_t p = 0; p < threads.size(); ++p) {
      total += static_cast<std::size_t>(std::max(0, threads[p])) + read_ahead[p];
    }
    return total;
  };
  bool shrunk = false;
  for (std::size_t total = demand(); total > budget; total = demand()) {
    auto window = std::max_element(read_ahead.begin(), read_ahead.end());
    if (window != read_ahead.end() && *window > 0) {
      --*window;
    } else {
      auto team = std::max_element(threads.begin(), threads.end());
      if (team == threads.end() || *team <= 1) {
        break;
      }
      --*team;
    }
    shrunk = true;
  }
  return shrunk;
}

}  // namespace spindle
