#pragma once

#include <spindle/config.hpp>
#include <spindle/error.hpp>
#include <spindle/file_table.hpp>
#include <spindle/log.hpp>

#include <vector>

namespace spindle {

class CancelToken;
class Progress;

struct WalkResult {
  FileTable files;  // regular files that pass the filters, each path once
  std::vector<FileError> errors;
  std::uint64_t directories = 0;
  std::uint64_t skipped_special = 0;  // FIFOs, sockets, device nodes: never opened
};

// Walk config.paths recursively in parallel with raw syscalls (openat/getdents64/fstatat).
// Symlinks are followed only with config.follow_links (a command-line path that is a symlink is
// always followed, as `find -H` does); directory loops are reported once as errors. Filters
// (hidden, --name, --exclude, sizes, empty files) are applied here. File order in the result is
// unspecified; callers sort. `progress`, if given, counts the files found.
WalkResult walk(const Config& config, Logger& log, const CancelToken& cancel, Progress* progress = nullptr);

}  // namespace spindle
