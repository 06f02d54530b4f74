#pragma once

#include <spindle/threads_spec.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace spindle {

enum class ReportFormat { text, fdupes, csv, json };
enum class ProgressMode { never, auto_detect, always };

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

  // Threads and devices.
  ThreadsSpec threads;

  // Output.
  ReportFormat format = ReportFormat::text;
  std::string output_path;  // empty: stdout
  bool stats = false;
  ProgressMode progress = ProgressMode::auto_detect;
  int verbosity = 0;  // -v raises, -q lowers
};

// Parse "123", "4K", "1.5M", "2G", "1T" (powers of 1024) into bytes; nullopt if malformed.
std::optional<std::uint64_t> parse_size(const std::string& text);

}  // namespace spindle
