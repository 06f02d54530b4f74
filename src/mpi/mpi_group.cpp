#include "mpi_group.hpp"

#include "mpi_walk.hpp"

#include <spindle/progress.hpp>

#include <algorithm>
#include <chrono>
#include <utility>

namespace spindle::mpi {

namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t elapsed_ns(Clock::time_point since) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - since).count());
}

void pack_stats(Packer& out, const RunStats& stats) {
  for (std::uint64_t value :
       {stats.files_scanned, stats.bytes_scanned, stats.directories, stats.skipped_special, stats.groups,
        stats.duplicate_files, stats.wasted_bytes, stats.bytes_read, stats.elapsed_ns}) {
    out.u64(value);
  }
  out.u64(stats.stages.size());
  for (const StageReport& stage : stats.stages) {
    out.str(stage.name);
    for (std::uint64_t value : {stage.files_in, stage.files_out, stage.groups_out, stage.bytes_read, stage.elapsed_ns,
                                stage.pieces, stage.bytes_skipped}) {
      out.u64(value);
    }
    out.u64(stage.pool_threads.size());
    for (int threads : stage.pool_threads) {
      out.u64(static_cast<std::uint64_t>(threads));
    }
  }
  out.u64(stats.pools.size());
  for (const PoolReport& pool : stats.pools) {
    out.str(pool.device);
    out.u32(static_cast<std::uint32_t>(pool.device_class));
    out.u32(static_cast<std::uint32_t>(pool.threads.small));
    out.u32(static_cast<std::uint32_t>(pool.threads.large));
    out.u32(static_cast<std::uint32_t>(pool.max_running));
    for (std::uint64_t value : {pool.files, pool.bytes_read, pool.busy_ns, pool.idle_ns}) {
      out.u64(value);
    }
  }
}

// A pool of one rank becomes the merged pool of its device's name (ranks on one node share devices).
std::size_t merged_pool(std::vector<PoolReport>& pools, PoolReport pool) {
  for (std::size_t p = 0; p < pools.size(); ++p) {
    PoolReport& into = pools[p];
    if (into.device == pool.device) {
      into.files += pool.files;
      into.bytes_read += pool.bytes_read;
      into.busy_ns += pool.busy_ns;
      into.idle_ns += pool.idle_ns;
      into.max_running = std::max(into.max_running, pool.max_running);
      return p;
    }
  }
  pools.push_back(std::move(pool));
  return pools.size() - 1;
}

// Adds one rank's stats to `into`: counts add up, a stage's time is its longest on any rank.
void merge_stats(Unpacker& in, RunStats& into) {
  for (std::uint64_t* value : {&into.files_scanned, &into.bytes_scanned, &into.directories, &into.skipped_special,
                               &into.groups, &into.duplicate_files, &into.wasted_bytes, &into.bytes_read}) {
    *value += in.u64();
  }
  in.u64();  // elapsed: rank 0 times the whole run
  struct RankStage {
    StageReport stage;
    std::vector<int> threads;
  };
  std::vector<RankStage> stages(in.u64());
  for (RankStage& rank_stage : stages) {
    StageReport& stage = rank_stage.stage;
    stage.name = std::string(in.str());
    for (std::uint64_t* value : {&stage.files_in, &stage.files_out, &stage.groups_out, &stage.bytes_read,
                                 &stage.elapsed_ns, &stage.pieces, &stage.bytes_skipped}) {
      *value = in.u64();
    }
    rank_stage.threads.resize(in.u64());
    for (int& threads : rank_stage.threads) {
      threads = static_cast<int>(in.u64());
    }
  }
  std::vector<std::size_t> pool_index(in.u64());
  for (std::size_t& index : pool_index) {
    PoolReport pool;
    pool.device = std::string(in.str());
    pool.device_class = static_cast<DeviceClass>(in.u32());
    pool.threads.small = static_cast<int>(in.u32());
    pool.threads.large = static_cast<int>(in.u32());
    pool.max_running = static_cast<int>(in.u32());
    for (std::uint64_t* value : {&pool.files, &pool.bytes_read, &pool.busy_ns, &pool.idle_ns}) {
      *value = in.u64();
    }
    index = merged_pool(into.pools, std::move(pool));
  }
  for (RankStage& rank_stage : stages) {
    auto same = std::find_if(into.stages.begin(), into.stages.end(),
                             [&](const StageReport& stage) { return stage.name == rank_stage.stage.name; });
    if (same == into.stages.end()) {
      StageReport named;
      named.name = rank_stage.stage.name;
      into.stages.push_back(std::move(named));
      same = into.stages.end() - 1;
    }
    StageReport& stage = *same;
    stage.files_in += rank_stage.stage.files_in;
    stage.files_out += rank_stage.stage.files_out;
    stage.groups_out += rank_stage.stage.groups_out;
    stage.bytes_read += rank_stage.stage.bytes_read;
    stage.pieces += rank_stage.stage.pieces;
    stage.bytes_skipped += rank_stage.stage.bytes_skipped;
    stage.elapsed_ns = std::max(stage.elapsed_ns, rank_stage.stage.elapsed_ns);
    for (std::size_t p = 0; p < rank_stage.threads.size() && p < pool_index.size(); ++p) {
      if (stage.pool_threads.size() <= pool_index[p]) {
        stage.pool_threads.resize(pool_index[p] + 1, 0);
      }
      stage.pool_threads[pool_index[p]] = std::max(stage.pool_threads[pool_index[p]], rank_stage.threads[p]);
    }
  }
}

// One rank's result for rank 0: whether it was cancelled, its stats, errors and groups (each
// group's files as records with their paths).
std::string pack_result(const GroupResult& result) {
  Packer out;
  out.u64(result.cancelled ? 1 : 0);
  pack_stats(out, result.stats);
  out.u64(result.errors.size());
  for (const FileError& error : result.errors) {
    out.str(error.path);
    out.u64(static_cast<std::uint64_t>(static_cast<std::int64_t>(error.errnum)));
    out.str(error.op);
    out.str(error.detail);
  }
  out.u64(result.groups.size());
  for (const DuplicateGroup& group : result.groups) {
    out.u64(group.size);
    out.u64(group.hash.high);
    out.u64(group.hash.low);
    out.u64(group.copies);
    out.u64(group.hashed ? 1 : 0);
    Packer files;
    for (FileIndex f : group.files) {
      pack_file(files, result.files[f], result.files.path(f));
    }
    out.u64(group.files.size());
    out.str(files.bytes());
  }
  return std::move(out.bytes());
}

void merge_result(std::string_view bytes, GroupResult& into) {
  Unpacker in(bytes);
  into.cancelled = into.cancelled || in.u64() != 0;
  merge_stats(in, into.stats);
  for (std::uint64_t e = in.u64(); e > 0; --e) {
    FileError error;
    error.path = std::string(in.str());
    error.errnum = static_cast<int>(static_cast<std::int64_t>(in.u64()));
    error.op = std::string(in.str());
    error.detail = std::string(in.str());
    into.errors.push_back(std::move(error));
  }
  for (std::uint64_t g = in.u64(); g > 0; --g) {
    DuplicateGroup group;
    group.size = in.u64();
    group.hash.high = in.u64();
    group.hash.low = in.u64();
    group.copies = in.u64();
    group.hashed = in.u64() != 0;
    const std::uint64_t count = in.u64();
    const auto first = static_cast<FileIndex>(into.files.size());
    unpack_files(in.str(), into.files);
    for (std::uint64_t f = 0; f < count; ++f) {
      group.files.push_back(static_cast<FileIndex>(first + f));
    }
    into.groups.push_back(std::move(group));
  }
}

}  // namespace

GroupResult run_group_mpi(const Config& config, Logger& log, const CancelToken& cancel, const RunInputs& inputs,
                          const Session& session) {
  const Clock::time_point start = Clock::now();
  RankWalk walked = walk_shared(config, log, cancel, inputs.probe.mounts(), session);
  const std::uint64_t walk_ns = elapsed_ns(start);
  if (walked.skipped_unreliable > 0) {
    log.warning(std::to_string(walked.skipped_unreliable) +
                " files on kernel interface file systems (/sys, /proc) skipped: size not reliable (-v names them)");
  }

  // Each size class to the rank that owns it.
  WalkResult mine;
  mine.errors = std::move(walked.errors);
  mine.directories = walked.directories;
  mine.skipped_special = walked.skipped_special;
  for (const std::string& inbox : exchange(std::move(walked.outboxes))) {
    unpack_files(inbox, mine.files);
  }

  // The single-node pipeline on what this rank owns. files_scanned counts what it was given.
  RunInputs local = inputs;
  local.sink = nullptr;
  Progress progress(log, false, {.stages = 2});
  GroupResult result = group_walked(std::move(mine), walk_ns, config, log, cancel, local, progress);

  std::vector<std::string> parts = gather(pack_result(result));
  if (!session.root()) {
    return result;
  }
  GroupResult merged;
  merged.rf_under = config.rf_under;
  for (const std::string& part : parts) {
    merge_result(part, merged);
  }
  // Errors in path order (each rank met its own in its own order), a path's in the order met.
  std::stable_sort(merged.errors.begin(), merged.errors.end(),
                   [](const FileError& a, const FileError& b) { return a.path < b.path; });
  sort_groups(merged.groups, merged.files);
  merged.stats.errors = merged.errors.size();
  merged.stats.elapsed_ns = elapsed_ns(start);
  return merged;
}

}  // namespace spindle::mpi
