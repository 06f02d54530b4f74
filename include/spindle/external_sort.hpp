#pragma once

// An external merge sort of byte strings, for inputs far larger than memory (catalogs of
// hundreds of millions of files, catalog_group.cpp): records collect in memory up to a bound,
// each full batch is sorted and written to an unnamed temporary file (a run), and the runs are
// merged k at a time. Memory stays near `run_bytes` whatever the input's size; disk use is about
// the input's size (twice during a merge pass when there are more than `fan_in` runs).

#include <spindle/fd.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace spindle {

struct ExternalSortOptions {
  // Where runs go (unnamed files: O_TMPFILE, or created and unlinked at once, so nothing is left
  // behind however the process ends). Empty: $TMPDIR, else /tmp.
  std::string tmp_dir;
  // Bytes of records (plus 8 per record of bookkeeping) held before a run is written.
  std::size_t run_bytes = std::size_t{64} << 20;
  // Runs merged at once; more runs are first merged into longer ones, fan_in at a time.
  std::size_t fan_in = 64;
};

// Records come out in bytewise (memcmp, shorter prefix first) order; equal records all come out.
// Throws Fatal naming the directory when a run cannot be created, written or read (ENOSPC...).
class ExternalSorter {
 public:
  explicit ExternalSorter(ExternalSortOptions options);
  ExternalSorter(const ExternalSorter&) = delete;
  ExternalSorter& operator=(const ExternalSorter&) = delete;
  ~ExternalSorter();

  // Add one record (at most 4 GiB - 1 bytes); may sort and write a run.
  void add(std::string_view record);
  // Hand every record to `each` in order; `each` returns false to stop early. Call once.
  void finish(const std::function<bool(std::string_view)>& each);

  std::uint64_t records() const { return m_records; }
  // Runs written to disk so far (0: everything fit in memory and no file was made).
  std::size_t runs_written() const { return m_runs_written; }
  // The directory runs go to (for messages).
  const std::string& directory() const { return m_dir; }

 private:
  struct Run {
    Fd fd;
    std::uint64_t bytes = 0;
  };
  void spill();
  Run new_run();
  void write_run(Run& run, std::string_view bytes);
  void sort_memory();
  // Merge `inputs` in order, calling each record; stops when `each` returns false.
  bool merge(std::vector<Run>& inputs, const std::function<bool(std::string_view)>& each);

  ExternalSortOptions m_options;
  std::string m_dir;
  std::string m_arena;                   // records back to back, each after its 4-byte length
  std::vector<std::uint64_t> m_offsets;  // where each record's length starts in m_arena
  std::vector<Run> m_runs;
  std::uint64_t m_records = 0;
  std::size_t m_runs_written = 0;
};

}  // namespace spindle
