#pragma once

#include <spindle/stage_kind.hpp>

#include <optional>

namespace spindle {

// How one device's pool is sized: threads for the short prefix/suffix reads and for whole-file
// reads, from --threads, a calibration or the class default.
struct PoolSizing {
  int small = 1;
  int large = 1;
  // May reads of already-cached data use fewer threads? Not for sizes the user set with
  // --threads, which are honoured exactly.
  bool cache_adaptive = true;
};

// Share of a probed sample whose data is cached above which a pool reads with one thread per CPU:
// a few misses are normal on a warm cache (the kernel reclaims cold pages), and a read that waits
// now and then costs less than the contention of many threads on few cores.
inline constexpr double k_cached_enough = 0.85;

// The team a pool gets for the whole hashing join: enough threads for either kind of read.
int team_size(const PoolSizing& sizing);

// The configured threads for reads of `kind`: `small` for prefix and suffix, `large` for whole files.
int configured_threads(StageKind kind, const PoolSizing& sizing);

// Is probing the cache worth it before reads of `kind`: could the answer lower the thread count?
bool cache_probe_useful(StageKind kind, const PoolSizing& sizing, int cached_threads);

// Threads for reads of `kind`: the configured count, or `cached_threads` (one per usable CPU)
// when the pool adapts and at least k_cached_enough of a probed sample is cached. Queue depth
// only pays while reads wait on the device; on cached data threads beyond the CPUs only contend.
// `cached_share` is nullopt when nothing was probed or the filesystem cannot tell.
int threads_for(StageKind kind, const PoolSizing& sizing, std::optional<double> cached_share, int cached_threads);

}  // namespace spindle
