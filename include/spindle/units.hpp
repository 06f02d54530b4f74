#pragma once

#include <cstdint>
#include <string>

namespace spindle {

// "1.5 MiB"-style size (powers of 1024, one decimal) for reports, progress and logs.
std::string human_size(std::uint64_t bytes);

}  // namespace spindle
