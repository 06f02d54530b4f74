#include <spindle/checksum_line.hpp>

#include <gtest/gtest.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <string>
#include <vector>

namespace spindle {
namespace {

// "hello\n" under each algorithm, and the hex Debian's xxhsum 0.8.1 prints for it
// (xxhsum -H0/-H1/-H2/-H3).
Digest digest_of_hello(HashAlgo algo) {
  const std::string text = "hello\n";
  switch (algo) {
    case HashAlgo::xxh128: {
      XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
      return {h.high64, h.low64};
    }
    case HashAlgo::xxh3:
      return {0, XXH3_64bits(text.data(), text.size())};
    case HashAlgo::xxh64:
      return {0, XXH64(text.data(), text.size(), 0)};
    case HashAlgo::xxh32:
      return {0, XXH32(text.data(), text.size(), 0)};
  }
  return {};
}

const std::vector<HashAlgo> k_all{HashAlgo::xxh128, HashAlgo::xxh3, HashAlgo::xxh64, HashAlgo::xxh32};

std::string line(HashAlgo algo, std::string_view path, LineStyle style) {
  std::string out;
  append_checksum_line(out, algo, digest_of_hello(algo), path, style);
  return out;
}

TEST(ChecksumLine, HexIsWhatXxhsumPrints) {
  EXPECT_EQ(digest_hex(HashAlgo::xxh128, digest_of_hello(HashAlgo::xxh128)), "6bba86c7e069f56d5a10b435f1c8e49c");
  EXPECT_EQ(digest_hex(HashAlgo::xxh3, digest_of_hello(HashAlgo::xxh3)), "99fc819aaba2462a");
  EXPECT_EQ(digest_hex(HashAlgo::xxh64, digest_of_hello(HashAlgo::xxh64)), "e4c191d091bd8853");
  EXPECT_EQ(digest_hex(HashAlgo::xxh32, digest_of_hello(HashAlgo::xxh32)), "946b5bf9");
  EXPECT_EQ(digest_hex(HashAlgo::xxh32, Digest{0, 0x1}), "00000001");  // leading zeros kept
}

TEST(ChecksumLine, LinesAreXxhsumsLines) {
  EXPECT_EQ(line(HashAlgo::xxh128, "h.txt", {}), "6bba86c7e069f56d5a10b435f1c8e49c  h.txt\n");
  EXPECT_EQ(line(HashAlgo::xxh64, "h.txt", {}), "e4c191d091bd8853  h.txt\n");
  EXPECT_EQ(line(HashAlgo::xxh32, "h.txt", {}), "946b5bf9  h.txt\n");
  // xxhsum -H3 writes the BSD style even without --tag: 16 digits alone would read as xxh64.
  EXPECT_EQ(line(HashAlgo::xxh3, "h.txt", {}), "XXH3 (h.txt) = 99fc819aaba2462a\n");
  EXPECT_EQ(line(HashAlgo::xxh128, "h.txt", {.tag = true}), "XXH128 (h.txt) = 6bba86c7e069f56d5a10b435f1c8e49c\n");
  EXPECT_EQ(line(HashAlgo::xxh64, "h.txt", {.tag = true}), "XXH64 (h.txt) = e4c191d091bd8853\n");
  EXPECT_EQ(line(HashAlgo::xxh32, "h.txt", {.tag = true}), "XXH32 (h.txt) = 946b5bf9\n");
}

TEST(ChecksumLine, AwkwardNamesAreEscapedAsSha256sumEscapesThem) {
  EXPECT_EQ(line(HashAlgo::xxh32, "a\\b", {}), "\\946b5bf9  a\\\\b\n");
  EXPECT_EQ(line(HashAlgo::xxh32, "n\nl", {}), "\\946b5bf9  n\\nl\n");
  EXPECT_EQ(line(HashAlgo::xxh32, "c\rr", {}), "\\946b5bf9  c\\rr\n");
  EXPECT_EQ(line(HashAlgo::xxh32, "n\nl", {.tag = true}), "\\XXH32 (n\\nl) = 946b5bf9\n");
  // Other bytes, tabs and non-UTF-8 included, are written raw.
  EXPECT_EQ(line(HashAlgo::xxh32, "t\tx\xff", {}), "946b5bf9  t\tx\xff\n");
}

TEST(ChecksumLine, ZeroEndsWithNulAndEscapesNothing) {
  EXPECT_EQ(line(HashAlgo::xxh32, "n\nl\\", {.zero = true}), std::string("946b5bf9  n\nl\\\0", 15));
  EXPECT_EQ(line(HashAlgo::xxh32, "n\nl", {.tag = true, .zero = true}), std::string("XXH32 (n\nl) = 946b5bf9\0", 23));
}

TEST(ChecksumLine, EveryAlgoStyleAndAwkwardNameRoundTrips) {
  const std::vector<std::string> names{"plain", "a\\b",  "n\nl",     "c\rr",  "\\\\n",      "x) = y",
                                       " lead", "end\\", "\xff\xfe", "*star", "two  spaces"};
  for (HashAlgo algo : k_all) {
    for (bool tag : {false, true}) {
      for (bool zero : {false, true}) {
        for (const std::string& name : names) {
          std::string text = line(algo, name, {.tag = tag, .zero = zero});
          ASSERT_EQ(text.back(), zero ? '\0' : '\n');
          text.pop_back();
          if (!zero) {
            ASSERT_EQ(text.find('\n'), std::string::npos) << "a name broke the line: " << text;
          }
          std::optional<ChecksumEntry> entry = parse_checksum_line(text, zero);
          ASSERT_TRUE(entry) << algo_name(algo) << " tag=" << tag << " zero=" << zero << ": " << text;
          EXPECT_EQ(entry->path, name);
          EXPECT_EQ(entry->algo, algo);
          EXPECT_EQ(entry->digest, digest_of_hello(algo));
        }
      }
    }
  }
}

TEST(ChecksumLine, AlgorithmComesFromTheHexLengthOrTheTag) {
  EXPECT_EQ(parse_checksum_line("946b5bf9  f", false)->algo, HashAlgo::xxh32);
  EXPECT_EQ(parse_checksum_line("e4c191d091bd8853  f", false)->algo, HashAlgo::xxh64);
  EXPECT_EQ(parse_checksum_line("6bba86c7e069f56d5a10b435f1c8e49c  f", false)->algo, HashAlgo::xxh128);
  EXPECT_EQ(parse_checksum_line("XXH3 (f) = 99fc819aaba2462a", false)->algo, HashAlgo::xxh3);
  EXPECT_EQ(parse_checksum_line("6BBA86C7E069F56D5A10B435F1C8E49C *f", false)->digest,
            digest_of_hello(HashAlgo::xxh128));  // upper case, binary-mode marker
}

TEST(ChecksumLine, MalformedLinesAreRejected) {
  for (std::string_view bad : {"", "garbage", "946b5bf  f", "946b5bf9 f", "946b5bf9  ", "946b5bg9  f",
                               "0123456789abcdef0123  f", "XXH3 (f) = 99fc819aaba2462", "XXH32 (f) 946b5bf9",
                               "XXH99 (f) = 946b5bf9", "XXH32 () = 946b5bf9", "\\946b5bf9  a\\qb", "\\946b5bf9  a\\"}) {
    EXPECT_FALSE(parse_checksum_line(bad, false)) << "accepted: " << bad;
  }
}

TEST(ChecksumLine, JsonRecordRoundTripsAnyName) {
  for (const std::string name : {"plain", "n\nl", "q\"uote\\", "\xff\xfe raw", "caf\xc3\xa9", "\x1b]0;x\x07"}) {
    for (HashAlgo algo : k_all) {
      HashRecord record{.path = name,
                        .size = 6,
                        .mtime_ns = -5,
                        .ctime_ns = 1'700'000'000'123'456'789,
                        .device_major = 254,
                        .device_minor = 1,
                        .inode = 42,
                        .host = "box",
                        .algo = algo,
                        .digest = digest_of_hello(algo)};
      std::string text;
      append_json_record(text, record);
      ASSERT_EQ(text.back(), '\n');
      text.pop_back();
      EXPECT_EQ(text.find('\n'), std::string::npos);
      std::optional<ChecksumEntry> entry = parse_json_record(text);
      ASSERT_TRUE(entry) << text;
      EXPECT_EQ(entry->path, name);
      EXPECT_EQ(entry->algo, algo);
      EXPECT_EQ(entry->digest, digest_of_hello(algo));
    }
  }
  std::string text;
  append_json_record(text, HashRecord{.path = "f", .host = "h", .digest = Digest{1, 2}});
  EXPECT_EQ(text,
            "{\"path\":\"f\",\"size\":0,\"mtime_ns\":0,\"ctime_ns\":0,\"device\":\"0:0\",\"inode\":0,\"host\":\"h\","
            "\"algo\":\"xxh128\",\"hash\":\"00000000000000010000000000000002\"}\n");
}

TEST(ChecksumLine, JsonRecordWithoutItsMembersIsMalformed) {
  EXPECT_FALSE(parse_json_record("{\"path\":\"f\",\"algo\":\"xxh32\"}"));
  EXPECT_FALSE(parse_json_record("{\"path\":\"f\",\"algo\":\"md5\",\"hash\":\"946b5bf9\"}"));
  EXPECT_FALSE(parse_json_record("{\"path\":\"f\",\"algo\":\"xxh32\",\"hash\":\"946b5bf9\""));
  EXPECT_FALSE(parse_json_record("{\"path\":\"\\ud800\",\"algo\":\"xxh32\",\"hash\":\"946b5bf9\"}"));
  EXPECT_TRUE(parse_json_record("{\"path\":\"f\",\"size\":1,\"x\":null,\"algo\":\"xxh32\",\"hash\":\"946b5bf9\"}"));
}

}  // namespace
}  // namespace spindle
