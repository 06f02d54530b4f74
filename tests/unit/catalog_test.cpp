#include <spindle/catalog.hpp>
#include <spindle/checksum_line.hpp>

#include <gtest/gtest.h>

#include <string>

namespace spindle {
namespace {

TEST(CatalogRecord, RoundTripsEveryField) {
  const CatalogFile file{.host = "alpha",
                         .path = "/a/\xff\nname",
                         .device = 0x801,
                         .inode = 77,
                         .mtime_ns = -5,
                         .ctime_ns = 1234567890123};
  const std::string record = encode_catalog_record(4096, Digest{1, 2}, file);
  CatalogFile back;
  std::uint64_t size = 0;
  Digest hash;
  decode_catalog_record(record, size, hash, back);
  EXPECT_EQ(size, 4096u);
  EXPECT_EQ(hash, (Digest{1, 2}));
  EXPECT_EQ(back.host, file.host);
  EXPECT_EQ(back.path, file.path);
  EXPECT_EQ(back.device, file.device);
  EXPECT_EQ(back.inode, file.inode);
  EXPECT_EQ(back.mtime_ns, file.mtime_ns);
  EXPECT_EQ(back.ctime_ns, file.ctime_ns);
}

TEST(CatalogRecord, BytewiseOrderIsSizeDescendingThenHashHostIdentityPath) {
  const CatalogFile a{.host = "a", .path = "/z", .device = 1, .inode = 1};
  const CatalogFile b{.host = "b", .path = "/a", .device = 1, .inode = 1};
  const CatalogFile ab{.host = "ab", .path = "/a", .device = 1, .inode = 1};
  EXPECT_LT(encode_catalog_record(10, Digest{0, 9}, a), encode_catalog_record(9, Digest{0, 1}, a));
  EXPECT_LT(encode_catalog_record(10, Digest{0, 1}, b), encode_catalog_record(10, Digest{0, 2}, a));
  EXPECT_LT(encode_catalog_record(10, Digest{0, 1}, a), encode_catalog_record(10, Digest{0, 1}, b));
  // "a" before "ab": the host's terminator sorts before any byte of a longer name.
  EXPECT_LT(encode_catalog_record(10, Digest{0, 1}, a), encode_catalog_record(10, Digest{0, 1}, ab));
  CatalogFile later_inode = a;
  later_inode.inode = 2;
  later_inode.path = "/0";
  EXPECT_LT(encode_catalog_record(10, Digest{0, 1}, a), encode_catalog_record(10, Digest{0, 1}, later_inode));
}

TEST(CatalogLine, ParsesWhatHashWrites) {
  std::string line;
  append_json_record(line, HashRecord{.path = "/d/\xfe name",
                                      .size = 6,
                                      .mtime_ns = 11,
                                      .ctime_ns = 12,
                                      .device_major = 8,
                                      .device_minor = 1,
                                      .inode = 99,
                                      .host = "h1",
                                      .algo = HashAlgo::xxh128,
                                      .digest = Digest{0xabc, 0xdef}});
  line.pop_back();  // the newline
  std::string why;
  std::optional<CatalogLine> parsed = parse_catalog_line(line, why);
  ASSERT_TRUE(parsed) << why;
  EXPECT_EQ(parsed->path, "/d/\xfe name");
  EXPECT_EQ(parsed->size, 6u);
  EXPECT_EQ(parsed->mtime_ns, 11);
  EXPECT_EQ(parsed->ctime_ns, 12);
  EXPECT_EQ(parsed->device_major, 8u);
  EXPECT_EQ(parsed->device_minor, 1u);
  EXPECT_EQ(parsed->inode, 99u);
  EXPECT_EQ(parsed->host, "h1");
  EXPECT_EQ(parsed->algo, HashAlgo::xxh128);
  EXPECT_EQ(parsed->digest, (Digest{0xabc, 0xdef}));
}

TEST(CatalogLine, SaysWhatIsWrong) {
  const std::string hash = "\"hash\":\"0123456789abcdef0123456789abcdef\"";
  const std::string rest = "\"device\":\"8:1\",\"inode\":1,\"host\":\"h\",\"algo\":\"xxh128\"," + hash;
  const auto why_of = [](const std::string& line) {
    std::string why;
    EXPECT_FALSE(parse_catalog_line(line, why)) << line;
    return why;
  };
  EXPECT_NE(why_of("not json").find("not one JSON object"), std::string::npos);
  EXPECT_NE(why_of("{\"path\":\"/a\"," + rest + "}").find("\"size\""), std::string::npos);
  EXPECT_NE(why_of("{\"path\":\"/a\",\"size\":\"6\"," + rest + "}").find("wrong type"), std::string::npos);
  EXPECT_NE(why_of("{\"path\":\"/a\",\"size\":-6," + rest + "}").find("whole number"), std::string::npos);
  EXPECT_NE(why_of("{\"path\":\"\",\"size\":6," + rest + "}").find("empty path"), std::string::npos);
  const std::string bad_device =
      "{\"path\":\"/a\",\"size\":6,\"device\":\"8\",\"inode\":1,\"host\":\"h\","
      "\"algo\":\"xxh128\"," +
      hash + "}";
  EXPECT_NE(why_of(bad_device).find("MAJOR:MINOR"), std::string::npos);
  const std::string short_hash =
      "{\"path\":\"/a\",\"size\":6,\"device\":\"8:1\",\"inode\":1,\"host\":\"h\","
      "\"algo\":\"xxh128\",\"hash\":\"0123\"}";
  EXPECT_NE(why_of(short_hash).find("xxh128 digest"), std::string::npos);
}

}  // namespace
}  // namespace spindle
