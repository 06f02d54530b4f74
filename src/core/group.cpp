#include <spindle/calibrate.hpp>
#include <spindle/device.hpp>
#include <spindle/fd_budget.hpp>
#include <spindle/group.hpp>
#include <spindle/pools.hpp>
#include <spindle/progress.hpp>
#include <spindle/stages.hpp>
#include <spindle/walk.hpp>

#include <climits>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <unordered_map>

namespace spindle {

namespace {

using Clock = std::chrono::steady_clock;

// Descriptors left out of the readers' budget: stdio and the report are open already; this is
// for what opens during the stages (libraries, the calibration store, a probe's own file).
constexpr std::size_t k_descriptor_reserve = 8;

std::uint64_t elapsed_ns(Clock::time_point since) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - since).count());
}

// The directory entry a path names: its parent resolved, its own last component kept (so a
// symlink is still itself). Two paths with equal entries are one file listed twice.
std::string directory_entry(std::string_view path) {
  std::string::size_type slash = path.rfind('/');
  std::string parent = slash == std::string::npos ? "." : std::string(path.substr(0, slash == 0 ? 1 : slash));
  char resolved[PATH_MAX];
  if (::realpath(parent.c_str(), resolved) == nullptr) {
    return std::string(path);
  }
  return std::string(resolved) + "/" + std::string(path.substr(slash == std::string::npos ? 0 : slash + 1));
}

// Keep one entry per listed file. Paths reached through a symlink to a file (walked with -L, or
// a PATH that is a symlink) are aliases, not copies: they go when the inode was also found
// directly, with or without --hard-links (reporting them would invite deleting the only copy). Without --hard-links one
// path per inode remains (the smallest); with it every hard link remains, but never the same directory entry twice.
void remove_aliases(FileTable& files, const Config& config) {
  std::vector<FileIndex> order(files.size());
  for (FileIndex i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::sort(order.begin(), order.end(), [&](FileIndex a, FileIndex b) {
    const FileEntry& x = files[a];
    const FileEntry& y = files[b];
    if (x.dev != y.dev || x.ino != y.ino) {
      return std::tie(x.dev, x.ino) < std::tie(y.dev, y.ino);
    }
    if (x.via_symlink != y.via_symlink) {
      return x.via_symlink < y.via_symlink;
    }
    return files.compare_paths(a, b) < 0;
  });
  std::vector<bool> keep(files.size(), false);
  for (std::size_t begin = 0; begin < order.size();) {
    std::size_t end = begin + 1;
    const FileEntry& first = files[order[begin]];
    while (end < order.size() && files[order[end]].dev == first.dev && files[order[end]].ino == first.ino) {
      ++end;
    }
    keep[order[begin]] = true;
    if (config.hard_links && end - begin > 1) {
      std::vector<std::string> seen{directory_entry(files.path(order[begin]))};
      for (std::size_t i = begin + 1; i < end && !files[order[i]].via_symlink; ++i) {
        std::string entry = directory_entry(files.path(order[i]));
        if (std::find(seen.begin(), seen.end(), entry) == seen.end()) {
          keep[order[i]] = true;
          seen.push_back(std::move(entry));
        }
      }
    }
    begin = end;
  }
  files.filter(keep);
}

}  // namespace

void sort_groups(std::vector<DuplicateGroup>& groups, const FileTable& files) {
  for (DuplicateGroup& group : groups) {
    std::sort(group.files.begin(), group.files.end(),
              [&](FileIndex a, FileIndex b) { return files.compare_paths(a, b) < 0; });
  }
  std::sort(groups.begin(), groups.end(), [&](const DuplicateGroup& a, const DuplicateGroup& b) {
    if (a.wasted() != b.wasted()) {
      return a.wasted() > b.wasted();
    }
    if (a.size != b.size) {
      return a.size > b.size;
    }
    if (a.hash != b.hash) {
      return a.hash < b.hash;
    }
    return files.compare_paths(a.files.front(), b.files.front()) < 0;
  });
}

GroupResult run_group(const Config& config, Logger& log, const CancelToken& cancel, DeviceProbe& probe) {
  GroupResult result;
  RunStats& stats = result.stats;
  const Clock::time_point run_start = Clock::now();

  // Walk.
  Progress progress(log, progress_enabled(config.progress));
  Clock::time_point t = Clock::now();
  progress.begin_stage("walk", 0, 0);
  WalkResult walked = walk(config, log, cancel, &progress);
  result.files = std::move(walked.files);
  result.errors = std::move(walked.errors);
  stats.directories = walked.directories;
  stats.skipped_special = walked.skipped_special;
  stats.files_scanned = result.files.size();
  remove_aliases(result.files, config);
  for (FileIndex f = 0; f < result.files.size(); ++f) {
    stats.bytes_scanned += result.files[f].size;
  }
  stats.stages.push_back({"walk", 0, result.files.size(), 0, 0, elapsed_ns(t), {}});
  if (cancel.cancelled()) {
    result.cancelled = true;
    return result;
  }
  const FileTable& files = result.files;

  // Size.
  t = Clock::now();
  Candidates candidates = group_by_size(files, config);
  stats.stages.push_back({"size", files.size(), candidates.files.size(), candidates.groups(), 0, elapsed_ns(t), {}});

  // Devices: one pool per physical device among the candidates.
  std::vector<std::uint64_t> st_devs;
  for (FileIndex f : candidates.files) {
    st_devs.push_back(files[f].dev);
  }
  std::sort(st_devs.begin(), st_devs.end());
  st_devs.erase(std::unique(st_devs.begin(), st_devs.end()), st_devs.end());
  DeviceMap devices = DeviceMap::build(st_devs, probe, config.threads, load_calibration(calibration_path(), log), log);
  std::vector<PoolSpec> specs;
  std::vector<int> small_threads;
  std::vector<int> large_threads;
  std::vector<std::uint8_t> cache_adaptive;
  for (const PhysicalDevice& device : devices.devices()) {
    specs.push_back({device.facts.name, device.threads.small});
    small_threads.push_back(device.threads.small);
    large_threads.push_back(device.threads.large);
    cache_adaptive.push_back(device.threads_source == ThreadsSource::flag ? 0 : 1);
  }
  PoolSet pools(std::move(specs));
  std::vector<std::uint32_t> pool_of_file(files.size(), 0);
  for (FileIndex f : candidates.files) {
    pool_of_file[f] = static_cast<std::uint32_t>(devices.index_of(files[f].dev));
  }

  // Descriptors for the readers: what the limit leaves once the walk is done (the report, if
  // any, is already open), minus a reserve for what other code opens meanwhile.
  FdBudget descriptors(free_descriptors(k_descriptor_reserve));
  log.debug("descriptor limit leaves " + std::to_string(descriptors.capacity()) + " files open for reading");

  // Prefix, suffix, full: one join over all device pools each, then a merge.
  StageContext context{.config = config,
                       .log = log,
                       .cancel = cancel,
                       .files = files,
                       .pools = pools,
                       .pool_of_file = pool_of_file,
                       .small_threads = small_threads,
                       .large_threads = large_threads,
                       .cache_adaptive = cache_adaptive,
                       .cached_threads = usable_cpus(),
                       .progress = progress,
                       .descriptors = &descriptors};
  StageState state;
  for (auto [kind, name] : {std::pair{StageKind::prefix, "prefix"}, std::pair{StageKind::suffix, "suffix"},
                            std::pair{StageKind::full, "full"}}) {
    t = Clock::now();
    std::uint64_t before = state.bytes_read;
    std::uint64_t files_in = candidates.files.size();
    candidates = run_stage(kind, candidates, context, state);
    stats.stages.push_back({.name = name,
                            .files_in = files_in,
                            .files_out = candidates.files.size(),
                            .groups_out = candidates.groups(),
                            .bytes_read = state.bytes_read - before,
                            .elapsed_ns = elapsed_ns(t),
                            .pool_threads = state.threads_used});
    if (cancel.cancelled()) {
      result.cancelled = true;
      return result;
    }
  }
  for (FileError& error : state.errors) {
    result.errors.push_back(std::move(error));
  }

  // Report.
  for (std::size_t g = 0; g < candidates.groups(); ++g) {
    std::span<const FileIndex> members = candidates.group(g);
    DuplicateGroup group;
    group.size = files[members[0]].size;
    group.hash = candidates.hashes[g];
    group.files.assign(members.begin(), members.end());
    stats.duplicate_files += members.size() - 1;
    stats.wasted_bytes += group.wasted();
    result.groups.push_back(std::move(group));
  }
  sort_groups(result.groups, files);
  stats.groups = result.groups.size();
  stats.errors = result.errors.size();
  stats.bytes_read = state.bytes_read;
  for (std::size_t p = 0; p < pools.size(); ++p) {
    const PhysicalDevice& device = devices.devices()[p];
    const PoolCounters& counters = pools.counters(p);
    stats.pools.push_back({device.facts.name, device.facts.device_class, device.threads, counters.files.load(),
                           counters.bytes_read.load(), counters.busy_ns.load(), counters.max_running.load()});
  }
  stats.elapsed_ns = elapsed_ns(run_start);
  return result;
}

}  // namespace spindle
