#include <spindle/pool_sizing.hpp>

#include <algorithm>

namespace spindle {

int team_size(const PoolSizing& sizing) {
  return std::max({1, sizing.small, sizing.large});
}

int configured_threads(StageKind kind, const PoolSizing& sizing) {
  return std::max(1, kind == StageKind::full ? sizing.large : sizing.small);
}

bool cache_probe_useful(StageKind kind, const PoolSizing& sizing, int cached_threads) {
  return sizing.cache_adaptive && configured_threads(kind, sizing) > cached_threads;
}

int threads_for(StageKind kind, const PoolSizing& sizing, std::optional<double> cached_share, int cached_threads) {
  const int configured = configured_threads(kind, sizing);
  if (cache_probe_useful(kind, sizing, cached_threads) && cached_share && *cached_share >= k_cached_enough) {
    return std::max(1, cached_threads);
  }
  return configured;
}

}  // namespace spindle
