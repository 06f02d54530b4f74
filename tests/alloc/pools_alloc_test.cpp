// What multi_scope does when memory runs out inside Scope::spawn. These tests replace the global
// operator new (to fail allocations on demand), so they are their own executable rather than
// part of spindle_unit.
#include "fakes/watchdog.hpp"

#include <spindle/pools.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

// clang's sanitizer runtimes are linked statically and define operator new themselves, so it
// cannot be replaced there (g++'s shared libasan allows it). Those builds skip this test.
#if defined(__clang__) && defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define SPINDLE_NO_OPERATOR_NEW_REPLACEMENT 1
#endif
#endif

namespace {

// While set, every allocation made by this thread through operator new fails.
thread_local bool t_fail_allocations = false;

}  // namespace

#ifndef SPINDLE_NO_OPERATOR_NEW_REPLACEMENT
// g++ 12 at -O2 inlines these replacements and then warns that free() releases memory from
// operator new: it is this file's own operator new, which allocates with malloc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
  if (t_fail_allocations) {
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}

void operator delete(void* p) noexcept {
  std::free(p);
}

void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#endif

namespace spindle {
namespace {

class SpawnOutOfMemory : public fakes::WatchedTest {};

TEST_F(SpawnOutOfMemory, TheSpawnThrowsAndTheJoinStillReturns) {
  // Queuing a task may allocate (a new block of the pool's queue). When that fails, spawn must
  // throw bad_alloc to its caller and leave the join's count of outstanding tasks as it was:
  // counting a task that was never queued would make the join wait for it forever.
#ifdef SPINDLE_NO_OPERATOR_NEW_REPLACEMENT
  GTEST_SKIP() << "this sanitizer runtime owns operator new: allocation failures cannot be injected";
#endif
  PoolSet pools({{"a", 1}, {"b", 2}});
  CancelToken cancel;
  std::atomic<int> ran{0};
  int queued = 0;
  bool threw = false;
  pools.multi_scope(cancel, [&](std::span<Scope> scopes) {
    for (int i = 0; i < 1000 && !threw; ++i) {
      Task task = [&ran](Worker&) { ++ran; };  // built before allocations fail
      t_fail_allocations = true;
      try {
        scopes[0].spawn(std::move(task));
        ++queued;
      } catch (const std::bad_alloc&) {
        threw = true;
      }
      t_fail_allocations = false;
    }
  });
  ASSERT_TRUE(threw) << "no spawn needed to allocate in 1000 tries";
  EXPECT_EQ(ran.load(), queued);
}

}  // namespace
}  // namespace spindle
