#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>

namespace spindle {

class FdBudget;

// What a reader will read of one file.
struct ReadHint {
  std::string path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// Keeps the next few files of a single reader's list open with their ranges announced to the
// kernel (POSIX_FADV_WILLNEED), so a one-thread pool still gives its device a queue of requests
// in the order it will read them: the elevator can merge and sort them and the device is never
// idle while the reader hashes. The thread stays one; only the kernel works ahead.
// How far a single reader works ahead: enough requests for the device to sort and merge, little
// enough that the pages are still cached when read. (The pipeline's one-thread pools and
// calibration's one-thread point use the same window, so calibration measures what a pool does.)
inline constexpr std::size_t k_read_ahead_files = 32;
inline constexpr std::uint64_t k_read_ahead_bytes = 8 * 1024 * 1024;

class ReadAhead {
 public:
  using HintOf = std::function<ReadHint(std::size_t)>;
  // Items 0 .. count-1, read in that order. At most `depth` files and `max_bytes` announced bytes
  // are ahead at once (one file always, however large). With `budget`, each file opened ahead
  // holds one of its descriptors, taken only when free (read-ahead never waits for one).
  ReadAhead(std::size_t count, HintOf hint_of, std::size_t depth, std::uint64_t max_bytes, FdBudget* budget = nullptr);
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The fd opened for item `index` (the caller owns and closes it, and releases its descriptor
  // of the budget), or -1 when it could not be opened ahead: the caller opens it itself and
  // reports the error. Indices must not go back. When the process runs out of descriptors the
  // window shrinks instead of failing a file. After a -1 nothing is held open ahead, so the
  // caller may wait for a descriptor without holding any.
  int take(std::size_t index);

 private:
  struct Ahead {
    std::size_t index;
    int fd;
    std::uint64_t bytes;
  };
  void fill(std::size_t index);
  void close_ahead(const Ahead& ahead);
  void drop_window();

  std::size_t m_count;
  HintOf m_hint_of;
  std::size_t m_depth;
  std::uint64_t m_max_bytes;
  FdBudget* m_budget;
  std::size_t m_next = 0;  // first item not yet opened ahead
  std::uint64_t m_bytes = 0;
  std::deque<Ahead> m_window;
  std::optional<ReadHint> m_pending;  // the hint of m_next, asked for but over the byte budget
};

}  // namespace spindle
