#include "walk_roots.hpp"

#include <spindle/replication.hpp>

#include <algorithm>
#include <tuple>
#include <unordered_set>
#include <utility>

namespace spindle {

std::size_t count_copies(std::span<const FileIndex> members, const FileTable& files, const Config& config) {
  if (config.isolate) {
    std::vector<std::uint32_t> roots;
    for (FileIndex f : members) {
      roots.push_back(static_cast<std::uint32_t>(files[f].root));
    }
    std::sort(roots.begin(), roots.end());
    return static_cast<std::size_t>(std::unique(roots.begin(), roots.end()) - roots.begin());
  }
  if (config.hard_links) {
    return members.size();
  }
  std::vector<std::pair<dev_t, std::uint64_t>> inodes;
  for (FileIndex f : members) {
    inodes.emplace_back(files[f].device(), files[f].ino);
  }
  std::sort(inodes.begin(), inodes.end());
  return static_cast<std::size_t>(std::unique(inodes.begin(), inodes.end()) - inodes.begin());
}

bool reported(std::size_t copies, const Config& config) {
  if (config.rf_under != 0) {
    return copies < config.rf_under;
  }
  return copies > config.rf_over;
}

Candidates drop_unreportable(Candidates candidates, const FileTable& files, const Config& config) {
  if (config.rf_under != 0 || (config.rf_over <= 1 && !config.isolate)) {
    return candidates;  // group_by_size kept exactly the groups of two copies or more
  }
  Candidates kept;
  for (std::size_t g = 0; g < candidates.groups(); ++g) {
    std::span<const FileIndex> members = candidates.group(g);
    if (reported(count_copies(members, files, config), config)) {
      kept.add_group(members);
    }
  }
  return kept;
}

std::vector<DuplicateGroup> select_groups(const Candidates& found, const FileTable& files, const Config& config,
                                          const std::vector<FileError>& errors) {
  std::vector<DuplicateGroup> groups;
  std::vector<bool> grouped(files.size(), false);
  for (std::size_t g = 0; g < found.groups(); ++g) {
    std::span<const FileIndex> members = found.group(g);
    for (FileIndex f : members) {
      grouped[f] = true;
    }
    const std::size_t copies = count_copies(members, files, config);
    if (!reported(copies, config)) {
      continue;
    }
    DuplicateGroup group;
    group.size = files[members[0]].size;
    group.hash = found.hashes[g];
    group.files.assign(members.begin(), members.end());
    group.copies = copies;
    groups.push_back(std::move(group));
  }
  if (config.rf_under == 0) {
    return groups;
  }
  // Every file in no group of identical files is its only copy (1 < rf_under, always reported),
  // unless it could not be read: then nobody knows.
  std::unordered_set<std::string> failed;
  for (const FileError& error : errors) {
    failed.insert(error.path);
  }
  for (FileIndex f = 0; f < files.size(); ++f) {
    if (grouped[f] || (!failed.empty() && failed.count(files.path(f)) != 0)) {
      continue;
    }
    DuplicateGroup group;
    group.size = files[f].size;
    group.files.push_back(f);
    group.copies = 1;
    group.hashed = false;
    groups.push_back(std::move(group));
  }
  return groups;
}

std::vector<std::size_t> absorbed_roots(const Config& config) {
  if (!config.isolate) {
    return {};
  }
  const std::vector<Root> roots = resolve_roots(config.paths);
  std::vector<std::uint32_t> remaining;
  for (const Root& root : roots) {
    if (root.kind == Root::Kind::directory || root.kind == Root::Kind::file) {
      remaining.push_back(root.index);
    }
  }
  const std::vector<std::uint32_t> alone = walked_alone(roots, remaining);
  std::vector<std::size_t> absorbed;
  for (const Root& root : roots) {
    const bool walked = std::find(alone.begin(), alone.end(), root.index) != alone.end();
    if (root.kind == Root::Kind::duplicate ||
        (!walked && (root.kind == Root::Kind::directory || root.kind == Root::Kind::file))) {
      absorbed.push_back(root.index);
    }
  }
  return absorbed;
}

}  // namespace spindle
