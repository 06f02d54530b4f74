#include <spindle/pool_sizing.hpp>

#include <gtest/gtest.h>

#include <optional>

namespace spindle {
namespace {

TEST(PoolSizing, TeamIsLargeEnoughForEitherKindOfRead) {
  EXPECT_EQ(team_size({.small = 8, .large = 2}), 8);
  EXPECT_EQ(team_size({.small = 1, .large = 4}), 4);
  EXPECT_EQ(team_size({.small = 0, .large = 0}), 1);
}

TEST(PoolSizing, ThreadsForEachKindOfRead) {
  struct Row {
    StageKind kind;
    PoolSizing sizing;
    std::optional<double> cached_share;
    int cached_threads;
    int expected;
  };
  const Row rows[] = {
      // Short reads use `small`, whole-file reads `large`.
      {StageKind::prefix, {.small = 16, .large = 4, .cache_adaptive = false}, std::nullopt, 2, 16},
      {StageKind::suffix, {.small = 16, .large = 4, .cache_adaptive = false}, std::nullopt, 2, 16},
      {StageKind::full, {.small = 16, .large = 4, .cache_adaptive = false}, std::nullopt, 2, 4},
      // Cached data: one thread per CPU, but only for adaptive pools and only downwards.
      {StageKind::prefix, {.small = 16, .large = 4, .cache_adaptive = true}, 0.9, 2, 2},
      {StageKind::full, {.small = 16, .large = 4, .cache_adaptive = true}, 1.0, 2, 2},
      {StageKind::prefix, {.small = 16, .large = 4, .cache_adaptive = false}, 1.0, 2, 16},
      {StageKind::prefix, {.small = 1, .large = 1, .cache_adaptive = true}, 1.0, 2, 1},
      // Not cached enough, or the probe could not tell: the configured count.
      {StageKind::prefix, {.small = 16, .large = 4, .cache_adaptive = true}, 0.84, 2, 16},
      {StageKind::full, {.small = 16, .large = 4, .cache_adaptive = true}, std::nullopt, 2, 4},
      {StageKind::prefix, {.small = 16, .large = 4, .cache_adaptive = true}, k_cached_enough, 2, 2},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(threads_for(row.kind, row.sizing, row.cached_share, row.cached_threads), row.expected)
        << stage_name(row.kind) << " small " << row.sizing.small << " large " << row.sizing.large << " adaptive "
        << row.sizing.cache_adaptive << " share " << row.cached_share.value_or(-1);
  }
}

TEST(PoolSizing, ProbeOnlyWhenTheAnswerCouldLowerTheCount) {
  EXPECT_TRUE(cache_probe_useful(StageKind::prefix, {.small = 16, .large = 4, .cache_adaptive = true}, 2));
  EXPECT_FALSE(cache_probe_useful(StageKind::prefix, {.small = 16, .large = 4, .cache_adaptive = false}, 2));
  EXPECT_FALSE(cache_probe_useful(StageKind::full, {.small = 16, .large = 2, .cache_adaptive = true}, 2));
  EXPECT_FALSE(cache_probe_useful(StageKind::prefix, {.small = 1, .large = 1, .cache_adaptive = true}, 2));
}

}  // namespace
}  // namespace spindle
