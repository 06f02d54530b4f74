#include <spindle/hash_algo.hpp>

#include <array>
#include <utility>

namespace spindle {

namespace {

constexpr std::array<std::pair<HashAlgo, std::string_view>, 4> k_names{{
    {HashAlgo::xxh128, "xxh128"},
    {HashAlgo::xxh3, "xxh3"},
    {HashAlgo::xxh64, "xxh64"},
    {HashAlgo::xxh32, "xxh32"},
}};

}  // namespace

std::string_view algo_name(HashAlgo algo) {
  for (const auto& [known, name] : k_names) {
    if (known == algo) {
      return name;
    }
  }
  return "unknown";
}

std::optional<HashAlgo> parse_algo(std::string_view name) {
  for (const auto& [algo, known] : k_names) {
    if (known == name) {
      return algo;
    }
  }
  return std::nullopt;
}

}  // namespace spindle
