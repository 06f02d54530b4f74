#include <spindle/config.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

namespace spindle {
namespace {

TEST(ParseSize, PlainBytes) {
  EXPECT_EQ(parse_size("0"), std::optional<std::uint64_t>(0));
  EXPECT_EQ(parse_size("123"), std::optional<std::uint64_t>(123));
}

TEST(ParseSize, KilobyteSpellingsAllMean1024) {
  // K, k, KiB and KB are one unit, as du treats them.
  EXPECT_EQ(parse_size("4K"), std::optional<std::uint64_t>(4096));
  EXPECT_EQ(parse_size("4k"), std::optional<std::uint64_t>(4096));
  EXPECT_EQ(parse_size("4KiB"), std::optional<std::uint64_t>(4096));
  EXPECT_EQ(parse_size("4KB"), std::optional<std::uint64_t>(4096));
  EXPECT_EQ(parse_size("4kib"), std::optional<std::uint64_t>(4096));
}

TEST(ParseSize, LargerUnitsArePowersOf1024) {
  EXPECT_EQ(parse_size("1.5M"), std::optional<std::uint64_t>(1536ULL * 1024));
  EXPECT_EQ(parse_size("2G"), std::optional<std::uint64_t>(2ULL << 30));
  EXPECT_EQ(parse_size("1T"), std::optional<std::uint64_t>(1ULL << 40));
  EXPECT_EQ(parse_size("1P"), std::optional<std::uint64_t>(1ULL << 50));
  EXPECT_EQ(parse_size("7B"), std::optional<std::uint64_t>(7));
}

TEST(ParseSize, MalformedTextIsRejected) {
  EXPECT_EQ(parse_size(""), std::nullopt);
  EXPECT_EQ(parse_size("12Q"), std::nullopt);
  EXPECT_EQ(parse_size("-1"), std::nullopt);
  EXPECT_EQ(parse_size("K"), std::nullopt);
  EXPECT_EQ(parse_size("1.2.3"), std::nullopt);
  EXPECT_EQ(parse_size(" 1"), std::nullopt);
  EXPECT_EQ(parse_size("4 K"), std::nullopt);
  EXPECT_EQ(parse_size("4KiBs"), std::nullopt);
  EXPECT_EQ(parse_size("4iB"), std::nullopt);
}

TEST(ParseSize, OverflowIsRejected) {
  EXPECT_EQ(parse_size("99999999999999999999999"), std::nullopt);  // 1e23 bytes
  EXPECT_EQ(parse_size("16777216T"), std::nullopt);                // exactly 2^64
  EXPECT_EQ(parse_size("1e400"), std::nullopt);                    // strtod gives infinity
}

TEST(ParseSize, ValuesAboveInt64MaxStillFitInUint64) {
  // Between 2^63 and the 1.8e19 cap the result must still be exact: the value fits a uint64_t
  // even though it does not fit the long long that a rounding helper may return.
  EXPECT_EQ(parse_size("10000000000000000000"), std::optional<std::uint64_t>(10000000000000000000ULL));
  EXPECT_EQ(parse_size("10000P"), std::optional<std::uint64_t>(10000ULL << 50));
}

}  // namespace
}  // namespace spindle
