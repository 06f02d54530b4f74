#pragma once

#include <spindle/cancel.hpp>
#include <spindle/config.hpp>
#include <spindle/device_class.hpp>
#include <spindle/error.hpp>
#include <spindle/file_table.hpp>
#include <spindle/group_sink.hpp>
#include <spindle/hash.hpp>
#include <spindle/log.hpp>
#include <spindle/run_stats.hpp>
#include <spindle/threads_spec.hpp>
#include <spindle/walk.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace spindle {

class DeviceProbe;
class FileReader;
class Progress;
struct Calibration;

// Files with identical content. `files` is sorted by path (bytewise).
struct DuplicateGroup {
  std::uint64_t size = 0;
  Digest hash;  // XXH3-128 of the whole content
  std::vector<FileIndex> files;
  // Distinct copies (replication.hpp: inodes, paths with --hard-links, PATHs with --isolate).
  std::size_t copies = 0;
  // False for a one-file group of --rf-under: no copy was found by size or a partial hash, so
  // the file was never read whole and `hash` is zero (reports write no hash).
  bool hashed = true;
  std::uint64_t wasted() const { return files.empty() ? 0 : size * (files.size() - 1); }
};

// Directories with identical content (--dirs; dir_groups.hpp says what "identical" means).
// `dirs` are paths as the walk spelled them, without a trailing '/' ("/" stays "/"), sorted bytewise.
struct DirGroup {
  std::uint64_t size = 0;  // bytes under one of the directories
  Digest hash;             // digest of one directory's content (not a hash of its bytes)
  std::vector<std::string> dirs;
  std::uint64_t wasted() const { return dirs.empty() ? 0 : size * (dirs.size() - 1); }
};

struct GroupResult {
  FileTable files;
  std::vector<DuplicateGroup> groups;  // sorted: most wasted space first, then size, hash, path
  std::vector<FileError> errors;       // every file that could not be read (also logged)
  RunStats stats;
  // config.rf_under: non-zero when `groups` are the files of fewer copies, not duplicates to act on.
  std::size_t rf_under = 0;
  bool cancelled = false;            // SIGINT/SIGTERM: the groups are incomplete and must not be reported
  std::vector<DirGroup> dir_groups;  // --dirs only: sorted as groups are; their files left `groups`
  bool dirs_compared = false;        // --dirs was given: the JSON report has "dir_groups", even empty
};

// What run_group takes from the machine, as seams a test can replace.
struct RunInputs {
  DeviceProbe& probe;              // which device a file lives on (make_system_probe())
  const Calibration& calibration;  // stored pool sizes (load_calibration()), or none
  FileReader& reader;              // how files are read (SystemReader)
  // Where groups go the moment they are final (--format jsonl), instead of GroupResult::groups;
  // null: all of them in the result, sorted. The stats count them either way.
  GroupSink* sink = nullptr;
};

// The whole `spindle group` pipeline: walk → devices → size → {prefix → suffix → full, per group
// in one join} → sort. File errors are logged as they happen and collected in the result; nothing
// is printed to stdout.
GroupResult run_group(const Config& config, Logger& log, const CancelToken& cancel, const RunInputs& inputs);

// What run_group does after its walk (aliases, sizes, devices, the staged hashing, the report's
// order), for a caller that walked its own way: spindle-mpi gives each rank the files of the size
// classes it owns (mpi_group.hpp). `walk_ns` is the walk's time for the stats; `progress` has
// begun its walk stage.
GroupResult group_walked(WalkResult walked, std::uint64_t walk_ns, const Config& config, Logger& log,
                         const CancelToken& cancel, const RunInputs& inputs, Progress& progress);

// Keep one entry per listed file: paths reached through a symlink go when the inode was also
// found directly; without config.hard_links one path per inode remains (the smallest), with it
// every hard link, but never the same directory entry twice. (--catalog walks local PATHs too.)
void remove_aliases(FileTable& files, const Config& config);
// remove_aliases' bucket for a file: a 32-bit hash of its device and inode number, equal for every
// path of one inode (and, rarely, for different inodes, which it then tells apart exactly).
std::uint32_t inode_hash(const FileEntry& entry);

// Order groups for the report: most wasted space first, then larger size, hash, first path.
void sort_groups(std::vector<DuplicateGroup>& groups, const FileTable& files);

}  // namespace spindle
