#pragma once

#include <spindle/config.hpp>
#include <spindle/device.hpp>
#include <spindle/error.hpp>
#include <spindle/file_table.hpp>
#include <spindle/log.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace spindle {

class CancelToken;
class Progress;

struct WalkResult {
  FileTable files;  // regular files that pass the filters, each path once
  std::vector<FileError> errors;
  std::uint64_t directories = 0;
  std::uint64_t skipped_special = 0;     // FIFOs, sockets, device nodes: never opened
  std::uint64_t skipped_unreliable = 0;  // files on kernel interface file systems (/sys, /proc)
  // config.dirs only: every directory listed, as the prefix its files' paths start with ("a/b/"),
  // in no particular order (dir_groups.hpp finds duplicate directories among them).
  std::vector<std::string> walked_dirs;
  // More PATHs than FileEntry::root can count (a --files-from list of millions) are walked in
  // runs of FileEntry::k_max_root + 1: the files of run c are [chunk_starts[c], chunk_starts[c+1])
  // (the last up to the end) and their root counts from the run's first PATH. One run: {0}.
  std::vector<FileIndex> chunk_starts{0};
};

// Where a walk may stop early, as calibration's sample of a device does: once it has listed
// `max_files` files, or files that would give `max_bytes` to a reader taking at most
// `bytes_per_file` of each, or when `out_of_time` (called from the walk's threads) says so. What
// was found until then is the result (a few files past a bound, from threads that were adding
// theirs at the time); stopping so is not an error.
struct WalkBudget {
  std::size_t max_files = SIZE_MAX;
  std::uint64_t max_bytes = UINT64_MAX;
  std::uint64_t bytes_per_file = UINT64_MAX;
  std::function<bool()> out_of_time;  // null: no deadline
  // A directory found below a PATH that the walk would enter, past the filters (hidden,
  // --exclude, -x). The walk lists the PATHs only and hands each such directory to `hand_off`
  // instead (called from the walk's threads): spindle-mpi's ranks share a walk so
  // (mpi_walk.cpp). `parent_fd` is open on the directory holding the entry `name`, whose st_dev is
  // `parent_dev`; `root` indexes the PATHs. Null: the walk enters them.
  struct HandOff {
    const std::string& path;
    std::uint32_t root;
    int parent_fd;
    const char* name;
    std::uint64_t parent_dev;
  };
  std::function<void(const HandOff&)> hand_off = {};  // (= {}: designated initializers may leave it out)
};

// Walk config.paths recursively in parallel with raw syscalls (open/getdents64/fstatat).
// Symlinks are followed only with config.follow_links (a command-line path that is a symlink is
// always followed, as `find -H` does; a file so named is marked via_symlink, an alias of its
// target); directory loops are reported once as errors. Filters (hidden, --name, --exclude,
// sizes, empty files, the mtime window) are applied here. Paths keep the PATH's spelling (runs
// of '/' collapsed).
// A file reachable from several PATHs is listed once, under the first PATH (in order) whose walk
// reaches it, and FileEntry::root says which; an empty PATH is a FileError. Depth is unlimited
// (paths longer than PATH_MAX are opened in steps), and the walk's threads are capped to fit the
// open-file limit. File order in the result is unspecified; callers sort. `progress`, if given,
// counts the files found. PATHs beyond FileEntry::k_max_root + 1 are walked in runs of that many
// (WalkResult::chunk_starts), in order; the first-PATH rule holds within a run, so a file named
// in two runs is listed twice. `mounts` (DeviceProbe::mounts()) tells which filesystems hold kernel
// state (kernel_interface_devs). Throws Fatal only when no descriptor can be had at all.
// `budget`, if given, bounds the walk (above).
WalkResult walk(const Config& config, Logger& log, const CancelToken& cancel, std::span<const Mount> mounts,
                Progress* progress = nullptr, const WalkBudget* budget = nullptr);

// Filesystems a walk does not enter from another one (a PATH inside one is walked): the st_devs,
// sorted, of the kernel-state filesystems among `mounts` (proc, sysfs, cgroup, debugfs and
// their kin; devtmpfs and autofs are walked).
std::vector<std::uint64_t> kernel_interface_devs(std::span<const Mount> mounts);

}  // namespace spindle
