#pragma once

#include <spindle/config.hpp>
#include <spindle/file_table.hpp>
#include <spindle/hash.hpp>
#include <spindle/stage_kind.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace spindle {

// Candidate groups as index ranges over one array: group g is files[starts[g] .. starts[g+1]).
struct Candidates {
  std::vector<FileIndex> files;
  std::vector<std::uint32_t> starts{0};
  std::vector<Digest> hashes;  // per group: XXH3-128 of the whole content, once a stage knew it

  std::size_t groups() const { return starts.size() - 1; }
  std::span<const FileIndex> group(std::size_t g) const {
    return {files.data() + starts[g], files.data() + starts[g + 1]};
  }
  void add_group(std::span<const FileIndex> members, Digest hash = {});
};

// Enough copies for a group: two distinct inodes, or, with `hard_links`, two paths.
bool holds_duplicates(std::span<const FileIndex> members, const FileTable& files, bool hard_links);

// Groups of equal size that could hold duplicates (holds_duplicates), members in inode order so
// hard links sit together.
Candidates group_by_size(const FileTable& files, const Config& config);

// Which share of these files already hold in the page cache the data a stage reads first? One
// 1-byte preadv2(RWF_NOWAIT) per file at that offset (and mid-file for whole-file reads).
// Files the probe cannot tell about are left out of the share: the filesystem lacks RWF_NOWAIT
// (EOPNOTSUPP on tmpfs, EINVAL on old kernels) or the file cannot be opened. std::nullopt when
// no file could tell. Queue depth only pays while reads wait on the device: on cached data,
// threads beyond the CPUs only contend.
std::optional<double> stage_cache_hits(StageKind kind, const FileTable& files, std::span<const FileIndex> sample);

}  // namespace spindle
