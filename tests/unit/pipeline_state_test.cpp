#include "pipeline_state.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

namespace spindle::pipeline_state {
namespace {

// Ids of groups in flight are distinct, and an id comes back into use once its group has split:
// the store grows with the groups in flight at once, not with every group the run ever had.
TEST(GroupStore, IdsInFlightAreDistinctAndReleasedIdsAreReused) {
  GroupStore store(100);
  const GroupId a = store.acquire();
  const GroupId b = store.acquire();
  const GroupId c = store.acquire();
  EXPECT_EQ((std::set<GroupId>{a, b, c}).size(), 3u);
  store.release(b);
  EXPECT_EQ(store.acquire(), b);
  EXPECT_EQ((std::set<GroupId>{a, c, store.acquire()}).size(), 3u);
}

// Readers index the store without a lock while another thread adds a chunk: a group's state
// must stay where it was when the store grows.
TEST(GroupStore, StateKeepsItsAddressWhileTheStoreGrows) {
  GroupStore store(10'000);
  const GroupId first = store.acquire();
  GroupState* const address = &store[first];
  address->begin = 7;
  address->end = 9;
  std::vector<GroupId> more;
  for (int i = 0; i < 3000; ++i) {  // several chunks
    more.push_back(store.acquire());
  }
  EXPECT_EQ(&store[first], address);
  EXPECT_EQ(store[first].begin, 7u);
  EXPECT_EQ(store[first].end, 9u);
  EXPECT_EQ((std::set<GroupId>(more.begin(), more.end())).size(), more.size());
}

TEST(StageTally, LowerToAndRaiseToKeepTheExtremes) {
  StageTally tally;
  lower_to(tally.first_read_ns, 50);
  lower_to(tally.first_read_ns, 70);
  raise_to(tally.last_read_ns, 70);
  raise_to(tally.last_read_ns, 50);
  EXPECT_EQ(tally.first_read_ns.load(), 50);
  EXPECT_EQ(tally.last_read_ns.load(), 70);
}

PoolQueue& decided_queue(PoolQueue& queue, int team, std::array<int, k_stage_kinds> limits) {
  queue.team = team;
  for (std::size_t k = 0; k < k_stage_kinds; ++k) {
    queue.decided[k] = true;
    queue.limit[k] = limits[k];
  }
  return queue;
}

constexpr std::size_t prefix = 0;
constexpr std::size_t suffix = 1;
constexpr std::size_t full = 2;

// A cached pool (two readers per kind on two CPUs) runs two readers in all, not six: a kind with
// reads queued waits while the others hold the pool's readers.
TEST(PoolQueue, KindsShareThePoolsReadersInsteadOfAddingUp) {
  PoolQueue queue;
  decided_queue(queue, 16, {2, 2, 2});
  queue.pending[prefix] = {1, 2, 3};
  queue.pending[suffix] = {4, 5};
  queue.pending[full] = {6};
  EXPECT_EQ(pool_limit(queue), 2);
  EXPECT_EQ(wanted_drainers(queue), 2);
  EXPECT_EQ(next_kind(queue), prefix);
  queue.active[prefix] = 1;
  EXPECT_EQ(next_kind(queue), prefix);
  queue.active[prefix] = 2;
  EXPECT_EQ(next_kind(queue), k_stage_kinds) << "two readers already run";
  queue.active[prefix] = 1;
  queue.pending[prefix].clear();
  EXPECT_EQ(next_kind(queue), suffix);
}

// The pool's limit is the largest kind's, within its team: one short reader and four whole-file
// readers (an hdd pool sized 1,4) still read four whole files at once, and never two prefixes.
TEST(PoolQueue, ThePoolLimitIsTheLargestKindsWithinTheTeam) {
  PoolQueue queue;
  decided_queue(queue, 4, {1, 1, 4});
  queue.pending[prefix] = {1, 2};
  queue.pending[full] = {3, 4, 5, 6, 7};
  EXPECT_EQ(pool_limit(queue), 4);
  EXPECT_EQ(wanted_drainers(queue), 4);
  queue.active[prefix] = 1;
  EXPECT_EQ(next_kind(queue), full) << "the prefix reader is busy; a free drainer takes whole files";
  queue.active[full] = 3;
  EXPECT_EQ(next_kind(queue), k_stage_kinds);
  decided_queue(queue, 2, {1, 1, 4});
  EXPECT_EQ(pool_limit(queue), 2) << "never more readers than the team";
}

// While a kind's thread count is being decided, it has one reader, and an undecided pool has one.
TEST(PoolQueue, AnUndecidedKindHasOneReader) {
  PoolQueue queue;
  queue.team = 16;
  queue.pending[prefix] = {1, 2, 3};
  EXPECT_EQ(pool_limit(queue), 1);
  EXPECT_EQ(wanted_drainers(queue), 1);
  queue.active[prefix] = 1;
  EXPECT_EQ(next_kind(queue), k_stage_kinds);
  queue.decided[prefix] = true;
  queue.limit[prefix] = 8;
  EXPECT_EQ(next_kind(queue), prefix);
  EXPECT_EQ(wanted_drainers(queue), 8);
}

}  // namespace
}  // namespace spindle::pipeline_state
