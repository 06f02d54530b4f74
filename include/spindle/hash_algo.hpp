#pragma once

#include <optional>
#include <string_view>

namespace spindle {

// The hash functions spindle computes. Duplicate finding always uses xxh128; `spindle hash`
// offers the others for listings that other tools (xxhsum -H0/-H1/-H2/-H3) must read.
enum class HashAlgo { xxh128, xxh3, xxh64, xxh32 };

// The name users type and listings carry ("xxh128", "xxh3", "xxh64", "xxh32").
std::string_view algo_name(HashAlgo algo);
std::optional<HashAlgo> parse_algo(std::string_view name);

}  // namespace spindle
