#pragma once

#include <spindle/threads_spec.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spindle {

enum class ReportFormat { text, fdupes, csv, json, jsonl };
enum class ProgressMode { never, auto_detect, always };
// --color: auto colours only a terminal (and honours NO_COLOR); always colours pipes too.
enum class ColorMode { never, auto_detect, always };

// Everything a run needs to know, filled once by the CLI (or a test) and then shared as
// `const Config&` by every task. Mutable run state lives elsewhere (RunStats, PoolStats).
struct Config {
  std::vector<std::string> paths{"."};

  // Walk.
  bool follow_links = false;
  bool one_file_system = false;
  bool include_hidden = true;
  std::vector<std::string> name_globs;     // --name: keep files whose base name matches any
  std::vector<std::string> exclude_globs;  // --exclude: drop files and directories that match

  // Candidates.
  std::uint64_t min_size = 0;  // empty files are excluded anyway unless include_empty
  std::optional<std::uint64_t> max_size;
  bool include_empty = false;
  bool hard_links = false;  // report hard links to one inode as duplicates of each other

  // Persistent hash cache (cache.hpp): off unless asked for.
  bool cache = false;
  std::string cache_path;           // the database; empty: $XDG_CACHE_HOME/spindle/hashes.sqlite
  bool cache_ignore_ctime = false;  // keep entries of renamed files (a changed ctime alone is no change)

  // Threads and devices.
  ThreadsSpec threads;

  // Output.
  ReportFormat format = ReportFormat::text;
  std::string output_path;  // empty: stdout
  bool stats = false;
  ProgressMode progress = ProgressMode::auto_detect;
  int verbosity = 0;                         // -v raises, -q lowers
  ColorMode color = ColorMode::auto_detect;  // --color: group headers on stdout, error:/warning: on stderr

  // Replication (replication.hpp) and the mtime window (time_filter.hpp).
  std::size_t rf_over = 1;                    // --rf-over: report groups of more than this many copies
  std::size_t rf_under = 0;                   // --rf-under/--unique: report files with fewer copies; 0: off
  bool isolate = false;                       // --isolate: copies under one PATH count as one
  std::optional<std::int64_t> newer_than_ns;  // --newer-than: keep files with mtime_ns >= this
  std::optional<std::int64_t> older_than_ns;  // --older-than: keep files with mtime_ns < this
  bool dirs = false;                          // --dirs: also report duplicate directories (dir_groups.hpp)
  bool dirs_ignore_names = false;             // --dirs-ignore-names: directories compare file contents only
  bool paranoid = false;                      // --paranoid: compare every group's files byte by byte after hashing
  bool mpi = false;                           // --mpi: run as one rank of an MPI job (spindle-mpi; src/mpi)
};

// Which whole byte count a fractional size means. A bound is a byte count: --min-size 6.5 means
// at least 7 bytes (up), --max-size 6.5 at most 6 (down).
enum class SizeRounding { up, down };

// Parse "123", "4K", "1.5M", "2G", "1T", "1P" (powers of 1024; K, KB, KiB in any case) into
// bytes, a fraction of a byte rounded as `rounding` says; exact for every value that fits a
// uint64_t. nullopt if malformed (signs, spaces, exponents, unknown units) or too large.
std::optional<std::uint64_t> parse_size(std::string_view text, SizeRounding rounding);

}  // namespace spindle
