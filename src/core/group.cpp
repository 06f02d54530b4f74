#include <spindle/cache.hpp>
#include <spindle/caching_reader.hpp>
#include <spindle/device.hpp>
#include <spindle/dir_groups.hpp>
#include <spindle/fd_budget.hpp>
#include <spindle/group.hpp>
#include <spindle/paranoid.hpp>
#include <spindle/pipeline.hpp>
#include <spindle/pools.hpp>
#include <spindle/progress.hpp>
#include <spindle/replication.hpp>
#include <spindle/stages.hpp>
#include <spindle/walk.hpp>

#include <climits>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
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

// --isolate: a PATH inside an earlier one is no root of its own (the walk lists its files under
// the earlier PATH), which the user likely did not mean: say so, and how to get it.
void warn_absorbed_roots(const Config& config, Logger& log) {
  for (std::size_t index : absorbed_roots(config)) {
    log.warning(escape_for_terminal(config.paths[index]) +
                ": --isolate: inside (or the same as) a PATH given before it, so its files count as that PATH's; "
                "name it first to make it a place of its own");
  }
}

// --dirs: directories whose whole content has a copy become dir groups, and their files leave the
// file groups (dir_groups.hpp). The file statistics stay as they were: those files are copies.
void fold_duplicate_directories(GroupResult& result, const std::vector<std::string>& walked_dirs,
                                const Config& config) {
  DirFolding folding = find_dir_groups(
      result.files, walked_dirs, result.groups,
      {.ignore_names = config.dirs_ignore_names, .include_empty = config.include_empty}, list_directory);
  result.groups = std::move(folding.groups);
  result.dir_groups = std::move(folding.dir_groups);
  result.dirs_compared = true;
}

// Counts in RunStats the groups that go to a sink (they are not in the result to count later).
class CountingSink : public GroupSink {
 public:
  CountingSink(GroupSink& inner, RunStats& stats) : m_inner(inner), m_stats(stats) {}
  void add(const FileTable& files, std::span<const FileIndex> members, const Digest& hash) override {
    const std::uint64_t size = files[members.front()].size;
    ++m_stats.groups;
    m_stats.duplicate_files += members.size() - 1;
    m_stats.wasted_bytes += size * (members.size() - 1);
    m_inner.add(files, members, hash);
  }

 private:
  GroupSink& m_inner;
  RunStats& m_stats;
};

// --paranoid: the hashed groups compared byte by byte on the same pools (compare_groups). Its
// errors join the run's; its pass is a stage of --stats.
bool compare_bytes(const Config& config, Logger& log, const CancelToken& cancel, const PipelineContext& context,
                   PipelineResult& hashed, GroupSink* sink, std::optional<StageReport>& stage) {
  ParanoidResult checked =
      compare_groups(std::move(hashed.groups), ParanoidContext{.config = config,
                                                               .log = log,
                                                               .cancel = cancel,
                                                               .files = context.files,
                                                               .pools = context.pools,
                                                               .pool_of_file = context.pool_of_file,
                                                               .sizing = context.sizing,
                                                               .descriptors = context.descriptors,
                                                               .sink = sink});
  if (checked.cancelled) {
    return false;
  }
  hashed.groups = std::move(checked.groups);
  hashed.bytes_read += checked.stage.bytes_read;
  stage = std::move(checked.stage);
  for (FileError& error : checked.errors) {
    hashed.errors.push_back(std::move(error));
  }
  return true;
}

// `run`: files whose inodes share a hash. Orders them by inode, then direct paths before aliases,
// then by path, and clears `keep` for all but the paths each inode keeps.
void keep_one_path_per_inode(std::vector<FileIndex>& run, const FileTable& files, const Config& config,
                             std::vector<bool>& keep) {
  std::sort(run.begin(), run.end(), [&](FileIndex a, FileIndex b) {
    const FileEntry& x = files[a];
    const FileEntry& y = files[b];
    if (x.device() != y.device() || x.ino != y.ino) {
      return std::pair(x.device(), x.ino) < std::pair(y.device(), y.ino);
    }
    if (x.via_symlink != y.via_symlink) {
      return x.via_symlink < y.via_symlink;
    }
    return files.compare_paths(a, b) < 0;
  });
  for (std::size_t begin = 0; begin < run.size();) {
    std::size_t end = begin + 1;
    const FileEntry& first = files[run[begin]];
    while (end < run.size() && files[run[end]].device() == first.device() && files[run[end]].ino == first.ino) {
      ++end;
    }
    for (std::size_t i = begin + 1; i < end; ++i) {
      keep[run[i]] = false;
    }
    if (config.hard_links && end - begin > 1) {
      std::vector<std::string> seen{directory_entry(files.path(run[begin]))};
      for (std::size_t i = begin + 1; i < end && !files[run[i]].via_symlink; ++i) {
        std::string entry = directory_entry(files.path(run[i]));
        if (std::find(seen.begin(), seen.end(), entry) == seen.end()) {
          keep[run[i]] = true;
          seen.push_back(std::move(entry));
        }
      }
    }
    begin = end;
  }
}

}  // namespace

std::uint32_t inode_hash(const FileEntry& entry) {
  std::uint64_t x = entry.ino ^ (static_cast<std::uint64_t>(entry.device()) * 0x9e3779b97f4a7c15ULL);
  x ^= x >> 33;  // the murmur3 finalizer: every input bit moves the top 32
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return static_cast<std::uint32_t>(x >> 32);
}

// remove_aliases (group.hpp): keep one entry per listed file. Paths reached through a symlink to a file (walked with
// -L, or a PATH that is a symlink) are aliases, not copies: they go when the inode was also found directly, with or
// without --hard-links (reporting them would invite deleting the only copy). Without --hard-links one path per inode
// remains (the smallest); with it every hard link remains, but never the same directory entry twice.
//
// Almost every inode is listed once. Sorting 8-byte keys (a 32-bit hash of the inode, then the
// file) brings the paths of an inode together at a fraction of the cost of sorting the files by
// their entries (a million files: 8 MB of keys in cache-friendly order, instead of a comparison
// that reaches into two 48-byte entries each time); only runs of equal hashes are then sorted
// exactly, which also tells apart different inodes that share a hash.
void remove_aliases(FileTable& files, const Config& config) {
  std::vector<std::uint64_t> keys(files.size());
  for (FileIndex i = 0; i < keys.size(); ++i) {
    keys[i] = (std::uint64_t{inode_hash(files[i])} << 32) | i;
  }
  std::sort(keys.begin(), keys.end());
  std::vector<bool> keep(files.size(), true);
  std::vector<FileIndex> run;
  for (std::size_t begin = 0; begin < keys.size();) {
    std::size_t end = begin + 1;
    while (end < keys.size() && (keys[end] >> 32) == (keys[begin] >> 32)) {
      ++end;
    }
    if (end - begin > 1) {
      run.clear();
      for (std::size_t k = begin; k < end; ++k) {
        run.push_back(static_cast<FileIndex>(keys[k]));
      }
      keep_one_path_per_inode(run, files, config, keep);
    }
    begin = end;
  }
  keys = {};
  files.filter(keep);
}

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

GroupResult run_group(const Config& config, Logger& log, const CancelToken& cancel, const RunInputs& inputs) {
  // Two phases: the walk, then the reads (prefix, suffix and full reads of different groups overlap).
  Progress progress(log, progress_enabled(config.progress), {.stages = 2});
  const Clock::time_point t = Clock::now();
  progress.begin_stage("walk", 0, 0);
  WalkResult walked = walk(config, log, cancel, inputs.probe.mounts(), &progress);
  return group_walked(std::move(walked), elapsed_ns(t), config, log, cancel, inputs, progress);
}

GroupResult group_walked(WalkResult walked, std::uint64_t walk_ns, const Config& config, Logger& log,
                         const CancelToken& cancel, const RunInputs& inputs, Progress& progress) {
  GroupResult result;
  RunStats& stats = result.stats;
  const Clock::time_point run_start = Clock::now();
  result.files = std::move(walked.files);
  result.errors = std::move(walked.errors);
  stats.directories = walked.directories;
  stats.skipped_special = walked.skipped_special;
  stats.files_scanned = result.files.size();
  remove_aliases(result.files, config);
  for (FileIndex f = 0; f < result.files.size(); ++f) {
    stats.bytes_scanned += result.files[f].size;
  }
  stats.stages.push_back({"walk", 0, result.files.size(), 0, 0, walk_ns, {}});
  if (cancel.cancelled()) {
    result.cancelled = true;
    return result;
  }
  const FileTable& files = result.files;
  warn_absorbed_roots(config, log);

  // Size.
  Clock::time_point t = Clock::now();
  Candidates candidates = drop_unreportable(group_by_size(files, config), files, config);
  stats.stages.push_back({"size", files.size(), candidates.files.size(), candidates.groups(), 0, elapsed_ns(t), {}});

  // Devices: one pool per physical device among the candidates.
  // Candidates sit in device order within a size: skipping repeats keeps this a handful of
  // entries, not 8 bytes per file (at a million files, 8 MB the heap keeps to the end).
  std::vector<std::uint64_t> st_devs;
  for (FileIndex f : candidates.files) {
    if (st_devs.empty() || st_devs.back() != files[f].device()) {
      st_devs.push_back(files[f].device());
    }
  }
  std::sort(st_devs.begin(), st_devs.end());
  st_devs.erase(std::unique(st_devs.begin(), st_devs.end()), st_devs.end());
  DeviceMap devices = DeviceMap::build(st_devs, inputs.probe, config.threads, inputs.calibration, log);
  std::vector<PoolSpec> specs;
  std::vector<PoolSizing> sizing;
  for (const PhysicalDevice& device : devices.devices()) {
    PoolSizing pool{.small = device.threads.small,
                    .large = device.threads.large,
                    .cache_adaptive = device.threads_source != ThreadsSource::flag};
    specs.push_back({device.facts.name, team_size(pool)});
    sizing.push_back(pool);
  }
  PoolSet pools(std::move(specs));
  std::vector<std::uint32_t> pool_of_file(files.size(), 0);
  for (FileIndex f : candidates.files) {
    pool_of_file[f] = static_cast<std::uint32_t>(devices.index_of(files[f].device()));
  }

  // Descriptors for the readers: what the limit leaves once the walk is done (the report, if
  // any, is already open), minus a reserve for what other code opens meanwhile.
  FdBudget descriptors(free_descriptors(k_descriptor_reserve));
  log.debug("descriptor limit leaves " + std::to_string(descriptors.capacity()) + " files open for reading");

  // The persistent cache (--cache) answers what it knows; the reader reads the rest. Opened after
  // the walk, when the run's devices are known: only their entries are loaded. Pending entries
  // are written when the cache closes, on every way out of here (an interrupted run keeps them).
  RunCache cache(config, inputs.reader, HashAlgo::xxh128, st_devs, log);
  FileReader& reader = cache.reader();

  // Prefix, suffix, full: one join over every device pool, each group advancing on its own.
  PipelineContext context{.config = config,
                          .log = log,
                          .cancel = cancel,
                          .files = files,
                          .pools = pools,
                          .pool_of_file = pool_of_file,
                          .sizing = sizing,
                          .cached_threads = usable_cpus(),
                          .reader = reader,
                          .progress = progress,
                          .descriptors = &descriptors};
  // Groups stream to a sink when the caller gives one: from the pipeline, or, with --paranoid,
  // from the compare that makes them final. Not when the report needs every group first: the
  // replication flags and --isolate choose among them, --dirs folds them into directories.
  const bool streams = config.rf_under == 0 && config.rf_over <= 1 && !config.isolate && !config.dirs;
  std::optional<CountingSink> sink;
  GroupSink* paranoid_sink = nullptr;
  if (inputs.sink != nullptr && streams) {
    sink.emplace(*inputs.sink, stats);
    (config.paranoid ? paranoid_sink : context.sink) = &*sink;
  }
  std::optional<StageReport> paranoid_stage;
  PipelineResult hashed = hash_candidates(std::move(candidates), context);
  if (hashed.cancelled ||
      (config.paranoid && !compare_bytes(config, log, cancel, context, hashed, paranoid_sink, paranoid_stage))) {
    result.cancelled = true;
    return result;
  }
  for (StageReport& stage : hashed.stages) {
    stats.stages.push_back(std::move(stage));
  }
  if (paranoid_stage) {
    stats.stages.push_back(std::move(*paranoid_stage));
  }
  for (FileError& error : hashed.errors) {
    result.errors.push_back(std::move(error));
  }
  // Nothing reads from the pools any more: the pool of every file (4 bytes a file) goes before
  // the report's groups are built, where the run's memory peaks.
  std::vector<std::uint32_t>().swap(pool_of_file);
  context.pool_of_file = {};

  // Report.
  result.groups = select_groups(hashed.groups, files, config, result.errors);
  result.rf_under = config.rf_under;
  for (const DuplicateGroup& group : result.groups) {
    stats.duplicate_files += group.files.size() - 1;
    stats.wasted_bytes += group.wasted();
  }
  sort_groups(result.groups, files);
  if (config.dirs) {
    fold_duplicate_directories(result, walked.walked_dirs, config);
  }
  stats.groups += result.groups.size();
  stats.errors = result.errors.size();
  stats.bytes_read = hashed.bytes_read;
  stats.cache_used = cache.used();
  stats.cache_hits = cache.hits();
  stats.cache_misses = cache.misses();
  for (std::size_t p = 0; p < pools.size(); ++p) {
    const PhysicalDevice& device = devices.devices()[p];
    const PoolCounters& counters = pools.counters(p);
    const std::uint64_t busy = counters.busy_ns.load();
    const std::uint64_t available = static_cast<std::uint64_t>(pools.spec(p).threads) * hashed.elapsed_ns;
    stats.pools.push_back(PoolReport{.device = device.facts.name,
                                     .device_class = device.facts.device_class,
                                     .threads = device.threads,
                                     .files = counters.files.load(),
                                     .bytes_read = counters.bytes_read.load(),
                                     .busy_ns = busy,
                                     .idle_ns = available > busy ? available - busy : 0,
                                     .max_running = counters.max_running.load()});
  }
  stats.elapsed_ns = walk_ns + elapsed_ns(run_start);
  return result;
}

}  // namespace spindle
