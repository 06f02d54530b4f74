#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace spindle {

// Which copy of a group an action keeps. Pure: it sees only what it is given, so it is
// table-tested without a file system.
enum class KeepOrder {
  standard,       // earliest PATH given to group, then oldest mtime, then bytewise path
  first,          // earliest PATH, then the report's order (bytewise path)
  oldest,         // oldest mtime, then earliest PATH, then path
  newest,         // newest mtime, then earliest PATH, then path
  shortest_path,  // fewest bytes in the path, then earliest PATH, then path
  longest_path,   // most bytes in the path, then earliest PATH, then path
};

struct KeepPolicy {
  KeepOrder order = KeepOrder::standard;
  std::vector<std::string> keep_path_globs;  // --keep-path: a file matching one is kept first
  std::vector<std::string> priority_dirs;    // --priority: files under an earlier DIR rank first
  std::vector<std::string> originals_dirs;   // --originals: files under one are never touched
  std::size_t keep_count = 1;                // --keep-count: copies kept per group (at least 1)
};

// What the policy needs to know of one file of a group.
struct KeepCandidate {
  std::string path;        // as the report writes it: what --keep-path and the path orders look at
  std::string absolute;    // the path made absolute, for --priority and --originals (empty: `path`)
  std::uint32_t root = 0;  // index of the PATH given to group
  std::int64_t mtime_ns = 0;
  // The file's identity, when known: names of one inode are one copy, never duplicates of each
  // other. {0, 0} when unknown (then every path counts as its own copy).
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
};

enum class KeepRole {
  keep,       // one of the kept copies
  protect,    // never touched: under --originals, or another name of a kept inode
  duplicate,  // to be acted on
};

struct KeepDecision {
  std::vector<KeepRole> roles;    // per candidate, in the order given
  std::vector<std::size_t> kept;  // indices of the kept copies, best first (never empty for a non-empty group)
};

// Decide each file's role. Ranks by: under an --originals DIR, matches a --keep-path GLOB, the
// index of the first --priority DIR it is under, then `order`. The best keep_count distinct
// inodes are kept (at least one, whatever the flags: no group loses its last copy); every other
// name of a kept inode and every file under an --originals DIR is protected; the rest are
// duplicates.
KeepDecision decide_keep(const std::vector<KeepCandidate>& files, const KeepPolicy& policy);

// Is `path` inside directory `dir` (or `dir` itself), comparing the spelling component by
// component ("a/b" is under "a" and "./a/", not under "a/bc")? Both are used as written; the
// caller makes them comparable (absolute) first.
bool path_is_under(const std::string& path, const std::string& dir);

}  // namespace spindle
