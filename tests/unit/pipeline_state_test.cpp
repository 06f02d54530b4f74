#include "pipeline_state.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <memory>
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

// A group's digests exist only while it is read: allocated by its first read (once, whichever
// thread asks first), taken by its split, so a queued group costs no digest memory.
TEST(GroupState, DigestSlotsExistFromTheFirstReadToTheSplit) {
  GroupState group;
  group.begin = 10;
  group.end = 14;
  EXPECT_EQ(group.digests.load(), nullptr) << "a queued group holds no digests";
  Digest* const slots = group.digest_slots();
  ASSERT_NE(slots, nullptr);
  slots[3] = Digest{.high = 1, .low = 2};
  EXPECT_EQ(group.digest_slots(), slots) << "the second read finds the first one's slots";
  std::unique_ptr<Digest[]> taken = group.take_digests();
  EXPECT_EQ(taken.get(), slots);
  EXPECT_EQ(taken[3], (Digest{.high = 1, .low = 2}));
  EXPECT_EQ(group.digests.load(), nullptr) << "the split took them";
}

// A queue holds runs of reads; a drainer takes a count of reads off the front, splitting the run
// where the count ends, and the rest stays queued in order.
TEST(ReadRun, TakeReadsSplitsTheRunWhereTheCountEnds) {
  std::deque<ReadRun> runs{ReadRun{1, 0, 5}, ReadRun{2, 7, 9}};
  std::vector<ReadRun> out;
  EXPECT_EQ(take_reads(runs, 3, out), 3u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].group, 1u);
  EXPECT_EQ(out[0].begin, 0u);
  EXPECT_EQ(out[0].end, 3u);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs.front().begin, 3u);
  out.clear();
  EXPECT_EQ(take_reads(runs, 3, out), 3u);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].begin, 3u);
  EXPECT_EQ(out[0].end, 5u);
  EXPECT_EQ(out[1].group, 2u);
  EXPECT_EQ(out[1].begin, 7u);
  EXPECT_EQ(out[1].end, 8u);
  out.clear();
  EXPECT_EQ(take_reads(runs, 10, out), 1u) << "only one read was left";
  EXPECT_TRUE(runs.empty());
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

// A queued run of one read, at `at`.
ReadRun one_read(Position at) {
  return ReadRun{0, at, at + 1};
}

constexpr std::size_t prefix = 0;
constexpr std::size_t suffix = 1;
constexpr std::size_t full = 2;

// A cached pool (two readers per kind on two CPUs) runs two readers in all, not six: a kind with
// reads queued waits while the others hold the pool's readers.
TEST(PoolQueue, KindsShareThePoolsReadersInsteadOfAddingUp) {
  PoolQueue queue;
  decided_queue(queue, 16, {2, 2, 2});
  queue.pending[prefix] = {one_read(1), one_read(2), one_read(3)};
  queue.pending[suffix] = {one_read(4), one_read(5)};
  queue.pending[full] = {one_read(6)};
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
  queue.pending[prefix] = {one_read(1), one_read(2)};
  queue.pending[full] = {one_read(3), one_read(4), one_read(5), one_read(6), one_read(7)};
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
  queue.pending[prefix] = {one_read(1), one_read(2), one_read(3)};
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
