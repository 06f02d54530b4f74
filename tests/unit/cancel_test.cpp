#include <spindle/cancel.hpp>

#include <gtest/gtest.h>

namespace spindle {
namespace {

// A part of the run that stops on its own (a bounded walk) cancels its child token; the run goes
// on. A cancel of the run stops the part too.
TEST(CancelToken, ChildStopsWithItsParentButNotTheOtherWayRound) {
  CancelToken run;
  CancelToken part(&run);
  EXPECT_FALSE(part.cancelled());
  part.cancel();
  EXPECT_TRUE(part.cancelled());
  EXPECT_FALSE(run.cancelled());

  CancelToken other_part(&run);
  run.cancel();
  EXPECT_TRUE(other_part.cancelled());
}

}  // namespace
}  // namespace spindle
