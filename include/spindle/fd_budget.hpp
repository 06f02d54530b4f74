#pragma once

#include <cstddef>

namespace spindle {

// Descriptors this process may still open: the soft RLIMIT_NOFILE, less the descriptors open
// now, less `reserve` (kept for what opens files outside the caller's count: the logger's
// sinks, libraries, a report written later). 0 when none are left; unlimited counts as
// SIZE_MAX / 2.
std::size_t descriptors_available(std::size_t reserve);

// How many threads a pool may run when each holds up to `per_thread` descriptors at a time:
// `wanted`, capped so that all of them together stay within descriptors_available(reserve),
// and never below 1 (one thread always runs; it waits for descriptors rather than failing).
int threads_within_descriptor_budget(int wanted, std::size_t per_thread, std::size_t reserve);

}  // namespace spindle
