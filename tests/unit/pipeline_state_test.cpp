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

}  // namespace
}  // namespace spindle::pipeline_state
