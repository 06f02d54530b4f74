#include <spindle/keep_policy.hpp>

#include <fnmatch.h>

#include <algorithm>
#include <numeric>
#include <utility>

namespace spindle {

namespace {

const std::string& absolute_of(const KeepCandidate& file) {
  return file.absolute.empty() ? file.path : file.absolute;
}

bool under_any(const KeepCandidate& file, const std::vector<std::string>& dirs) {
  return std::any_of(dirs.begin(), dirs.end(),
                     [&](const std::string& dir) { return path_is_under(absolute_of(file), dir); });
}

bool matches_any(const KeepCandidate& file, const std::vector<std::string>& globs) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& glob) { return ::fnmatch(glob.c_str(), file.path.c_str(), 0) == 0; });
}

std::size_t priority_of(const KeepCandidate& file, const std::vector<std::string>& dirs) {
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    if (path_is_under(absolute_of(file), dirs[i])) {
      return i;
    }
  }
  return dirs.size();
}

// <0 when a is the better copy to keep under `order` alone (ties broken by root, then path).
int compare_by_order(const KeepCandidate& a, const KeepCandidate& b, KeepOrder order) {
  const auto three_way = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  int result = 0;
  switch (order) {
    case KeepOrder::standard:
      result = three_way(a.root, b.root);
      if (result == 0) {
        result = three_way(a.mtime_ns, b.mtime_ns);
      }
      break;
    case KeepOrder::first:
      result = three_way(a.root, b.root);
      break;
    case KeepOrder::oldest:
      result = three_way(a.mtime_ns, b.mtime_ns);
      break;
    case KeepOrder::newest:
      result = three_way(b.mtime_ns, a.mtime_ns);
      break;
    case KeepOrder::shortest_path:
      result = three_way(a.path.size(), b.path.size());
      break;
    case KeepOrder::longest_path:
      result = three_way(b.path.size(), a.path.size());
      break;
  }
  if (result == 0) {
    result = three_way(a.root, b.root);
  }
  if (result == 0) {
    result = a.path.compare(b.path) < 0
                 ? -1
                 : (a.path == b.path ? 0 : 1);  // bytewise: std::string compares chars as unsigned
  }
  return result;
}

bool same_inode(const KeepCandidate& a, const KeepCandidate& b) {
  return (a.device != 0 || a.inode != 0) && a.device == b.device && a.inode == b.inode;
}

}  // namespace

bool path_is_under(const std::string& path, const std::string& dir) {
  std::string prefix = dir;
  while (prefix.size() > 1 && prefix.back() == '/') {
    prefix.pop_back();
  }
  if (prefix == "/") {
    return path.starts_with('/');
  }
  if (!path.starts_with(prefix)) {
    return false;
  }
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

KeepDecision decide_keep(const std::vector<KeepCandidate>& files, const KeepPolicy& policy) {
  KeepDecision decision;
  decision.roles.assign(files.size(), KeepRole::duplicate);
  if (files.empty()) {
    return decision;
  }
  struct Rank {
    bool original;
    bool wanted;
    std::size_t priority;
  };
  std::vector<Rank> ranks;
  ranks.reserve(files.size());
  for (const KeepCandidate& file : files) {
    ranks.push_back({under_any(file, policy.originals_dirs), matches_any(file, policy.keep_path_globs),
                     priority_of(file, policy.priority_dirs)});
  }
  std::vector<std::size_t> order(files.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (ranks[a].original != ranks[b].original) {
      return ranks[a].original;
    }
    if (ranks[a].wanted != ranks[b].wanted) {
      return ranks[a].wanted;
    }
    if (ranks[a].priority != ranks[b].priority) {
      return ranks[a].priority < ranks[b].priority;
    }
    return compare_by_order(files[a], files[b], policy.order) < 0;
  });
  const std::size_t keep_count = std::max<std::size_t>(policy.keep_count, 1);
  for (std::size_t index : order) {
    const bool link_of_kept = std::any_of(decision.kept.begin(), decision.kept.end(),
                                          [&](std::size_t kept) { return same_inode(files[kept], files[index]); });
    if (link_of_kept) {
      decision.roles[index] = KeepRole::protect;
    } else if (decision.kept.size() < keep_count) {
      decision.roles[index] = KeepRole::keep;
      decision.kept.push_back(index);
    } else if (ranks[index].original) {
      decision.roles[index] = KeepRole::protect;
    }
  }
  return decision;
}

}  // namespace spindle
