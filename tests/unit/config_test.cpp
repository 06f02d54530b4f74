#include <spindle/config.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace spindle {
namespace {

using Bytes = std::optional<std::uint64_t>;

// A size that is a whole number of bytes must parse the same whichever way fractions round.
Bytes parse_size(std::string_view text) {
  const Bytes up = spindle::parse_size(text, SizeRounding::up);
  const Bytes down = spindle::parse_size(text, SizeRounding::down);
  EXPECT_EQ(up, down) << "'" << text << "' is not a whole number of bytes";
  return up;
}

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

TEST(ParseSize, FractionOfAByteRoundsAsTheBoundNeeds) {
  // --min-size 6.5 must not include a 6-byte file; --max-size 6.5 must not include a 7-byte one.
  EXPECT_EQ(spindle::parse_size("6.5", SizeRounding::up), Bytes(7));
  EXPECT_EQ(spindle::parse_size("6.5", SizeRounding::down), Bytes(6));
  EXPECT_EQ(spindle::parse_size("6.01", SizeRounding::up), Bytes(7));
  EXPECT_EQ(spindle::parse_size("6.99", SizeRounding::down), Bytes(6));
  EXPECT_EQ(spindle::parse_size("0.5", SizeRounding::up), Bytes(1));
  EXPECT_EQ(spindle::parse_size("0.5", SizeRounding::down), Bytes(0));
  EXPECT_EQ(spindle::parse_size("0.1K", SizeRounding::up), Bytes(103));  // 102.4 bytes
  EXPECT_EQ(spindle::parse_size("0.1K", SizeRounding::down), Bytes(102));
  EXPECT_EQ(spindle::parse_size("1.1M", SizeRounding::up), Bytes(1153434));  // 1153433.6
  EXPECT_EQ(spindle::parse_size("1.1M", SizeRounding::down), Bytes(1153433));
}

TEST(ParseSize, WholeBytesWithAFractionAreExact) {
  EXPECT_EQ(parse_size("6.0"), Bytes(6));
  EXPECT_EQ(parse_size("6."), Bytes(6));
  EXPECT_EQ(parse_size(".5K"), Bytes(512));
  EXPECT_EQ(parse_size("0.0009765625K"), Bytes(1));  // 2^-10 KiB
  EXPECT_EQ(parse_size("1.25K"), Bytes(1280));
  EXPECT_EQ(parse_size("1.500000000000000000000000000000M"), Bytes(1536ULL * 1024));
}

TEST(ParseSize, DigitsBeyondDoublePrecisionStillCount) {
  // A double would read all of these as a whole number of bytes.
  EXPECT_EQ(spindle::parse_size("1.0000000000000000000000001", SizeRounding::up), Bytes(2));
  EXPECT_EQ(spindle::parse_size("1.0000000000000000000000001", SizeRounding::down), Bytes(1));
  EXPECT_EQ(spindle::parse_size("15.99999999999999999999P", SizeRounding::down), Bytes((16ULL << 50) - 1));
  EXPECT_EQ(spindle::parse_size("15.99999999999999999999P", SizeRounding::up), Bytes(16ULL << 50));
  EXPECT_EQ(parse_size("18446744073709551615"), Bytes(18446744073709551615ULL));  // 2^64 - 1
  EXPECT_EQ(parse_size("9007199254740993"), Bytes(9007199254740993ULL));          // 2^53 + 1
}

TEST(ParseSize, RoundingUpPastTheLargestSizeIsRejected) {
  EXPECT_EQ(spindle::parse_size("18446744073709551615.5", SizeRounding::down), Bytes(18446744073709551615ULL));
  EXPECT_EQ(spindle::parse_size("18446744073709551615.5", SizeRounding::up), std::nullopt);
}

TEST(ParseSize, MalformedFractionsAreRejected) {
  EXPECT_EQ(parse_size("."), std::nullopt);
  EXPECT_EQ(parse_size(".K"), std::nullopt);
  EXPECT_EQ(parse_size("1.5.K"), std::nullopt);
  EXPECT_EQ(parse_size("+1"), std::nullopt);
  EXPECT_EQ(parse_size("0x10"), std::nullopt);
  EXPECT_EQ(parse_size("1e3"), std::nullopt);
  EXPECT_EQ(parse_size("1,5K"), std::nullopt);
  EXPECT_EQ(parse_size(std::string_view("1\0", 2)), std::nullopt);
}

}  // namespace
}  // namespace spindle
