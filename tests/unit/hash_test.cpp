#include "fakes/temp_tree.hpp"

#include <spindle/cancel.hpp>
#include <spindle/fd_budget.hpp>
#include <spindle/hash.hpp>
#include <spindle/hash_algo.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace spindle {
namespace {

using fakes::TempTree;

// i & 0xff over 1 MiB: a pattern that any tool can regenerate byte for byte.
std::vector<std::byte> counting_bytes(std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<std::byte>(i & 0xff);
  }
  return bytes;
}

// (i * 31 + 7) % 251: a period that is not a power of two, so block boundaries never line up
// with it and a misplaced read shows in the digest.
std::vector<std::byte> prime_bytes(std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<std::byte>((i * 31 + 7) % 251);
  }
  return bytes;
}

std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

FileIdentity identity_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    ADD_FAILURE() << "stat " << path;
  }
  return FileIdentity{st.st_dev, st.st_ino, static_cast<std::uint64_t>(st.st_size),
                      static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                      static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec};
}

// Reference vectors from an independent implementation: xxh128sum 0.8.1 (the xxhash package's CLI),
// run as `printf '' | xxh128sum`, `printf 'abc' | xxh128sum`, and on the output of
//   python3 -c "import sys; sys.stdout.buffer.write(bytes(i & 0xff for i in range(1 << 20)))"
//   python3 -c "import sys; sys.stdout.buffer.write(bytes((i*31+7)%251 for i in range((1<<20)+3)))"
TEST(Hash, HexMatchesXxh128sumReferenceVectors) {
  EXPECT_EQ(to_hex(hash_bytes({})), "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(to_hex(hash_bytes(as_bytes("abc"))), "06b05ab6733a618578af5f94892f3950");
  EXPECT_EQ(to_hex(hash_bytes(counting_bytes(1 << 20))), "1b208d2839093774d36c0e13a3df139e");
  EXPECT_EQ(to_hex(hash_bytes(prime_bytes((1 << 20) + 3))), "d56f46034b95276e0eb60ea3babbb182");
}

TEST(Hash, HexIsHighWordFirst) {
  // The canonical form is big-endian: the high 64 bits print first.
  EXPECT_EQ(to_hex(Digest{0x0123456789abcdefULL, 0xfedcba9876543210ULL}), "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(to_hex(Digest{}), std::string(32, '0'));
}

TEST(InputFile, OpensTheWalkedFile) {
  TempTree tree;
  std::string path = tree.write("f", "hello");
  Result<InputFile> file = InputFile::open(path.c_str(), identity_of(path));
  ASSERT_TRUE(file.ok()) << file.error().reason();
  EXPECT_GE(file->fd(), 0);
}

TEST(InputFile, RefusesAFifoWithoutBlocking) {
  // Without O_NONBLOCK, opening a FIFO that has no writer blocks forever: if this regresses the
  // test hangs and the ctest TIMEOUT reports it. The identity is the FIFO's own, so only the
  // S_ISREG check can refuse it.
  TempTree tree;
  std::string path = tree.fifo("pipe");
  Result<InputFile> file = InputFile::open(path.c_str(), identity_of(path));
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().op, "changed");
  EXPECT_EQ(file.error().errnum, 0);
  EXPECT_EQ(file.error().path, path);
}

TEST(InputFile, RefusesAFileReplacedByAnother) {
  TempTree tree;
  std::string path = tree.write("f", "same size");
  FileIdentity walked = identity_of(path);
  std::string replacement = tree.write("g", "same size");
  ASSERT_EQ(::rename(replacement.c_str(), path.c_str()), 0);
  Result<InputFile> file = InputFile::open(path.c_str(), walked);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().op, "changed");
  EXPECT_EQ(file.error().path, path);
}

TEST(InputFile, RefusesAFileWhoseSizeChanged) {
  TempTree tree;
  std::string path = tree.write("f", "12345");
  FileIdentity walked = identity_of(path);
  ASSERT_EQ(::truncate(path.c_str(), 3), 0);
  Result<InputFile> file = InputFile::open(path.c_str(), walked);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().op, "changed");
}

TEST(InputFile, MissingFileIsAnOpenError) {
  TempTree tree;
  std::string path = tree.path("absent");
  Result<InputFile> file = InputFile::open(path.c_str(), FileIdentity{});
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().errnum, ENOENT);
  EXPECT_EQ(file.error().op, "open");
  EXPECT_EQ(file.error().path, path);
}

TEST(InputFile, HashRangeWithSmallBufferEqualsHashOfTheBytes) {
  TempTree tree;
  std::vector<std::byte> content = prime_bytes(10000);
  std::string path = tree.write_bytes("f", content);
  Result<InputFile> file = InputFile::open(path.c_str(), identity_of(path));
  ASSERT_TRUE(file.ok()) << file.error().reason();
  std::vector<std::byte> small(1000);  // 5000 bytes take five preads
  Result<Digest> digest = file->hash_range(1234, 5000, small);
  ASSERT_TRUE(digest.ok()) << digest.error().reason();
  EXPECT_EQ(*digest, hash_bytes(std::span(content).subspan(1234, 5000)));
  // A buffer that holds it all takes the one-read path; the digest is the same.
  std::vector<std::byte> large(8192);
  Result<Digest> once = file->hash_range(1234, 5000, large);
  ASSERT_TRUE(once.ok()) << once.error().reason();
  EXPECT_EQ(*once, *digest);
  // A buffer that does not divide the length leaves a short last read.
  std::vector<std::byte> odd(777);
  Result<Digest> whole = file->hash_range(0, content.size(), odd);
  ASSERT_TRUE(whole.ok()) << whole.error().reason();
  EXPECT_EQ(*whole, hash_bytes(content));
}

TEST(InputFile, HashRangePastTheEndIsChanged) {
  TempTree tree;
  std::string path = tree.write_bytes("f", prime_bytes(100));
  Result<InputFile> file = InputFile::open(path.c_str(), identity_of(path));
  ASSERT_TRUE(file.ok()) << file.error().reason();
  std::vector<std::byte> buffer(64);
  Result<Digest> digest = file->hash_range(50, 100, buffer);
  ASSERT_FALSE(digest.ok());
  EXPECT_EQ(digest.error().op, "changed");
}

class HashAllSizes : public ::testing::TestWithParam<std::size_t> {};

TEST_P(HashAllSizes, EqualsHashOfTheWholeContent) {
  TempTree tree;
  std::vector<std::byte> content = prime_bytes(GetParam());
  std::string path = tree.write_bytes("f", content);
  // A 4 KiB buffer reads in a loop; a larger one than the file reads it in one pread.
  for (std::size_t buffer_size : {std::size_t{4096}, content.size() + 4096}) {
    for (bool drop_cache : {false, true}) {
      Result<InputFile> file = InputFile::open(path.c_str(), identity_of(path));
      ASSERT_TRUE(file.ok()) << file.error().reason();
      std::vector<std::byte> buffer(buffer_size);
      Result<Digest> digest = file->hash_all(content.size(), buffer, drop_cache);
      ASSERT_TRUE(digest.ok()) << digest.error().reason();
      EXPECT_EQ(*digest, hash_bytes(content)) << "drop_cache " << drop_cache << " buffer " << buffer_size;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(BlockEdges, HashAllSizes,
                         ::testing::Values(0, 1, 4095, 4096, 4097, (std::size_t{1} << 20) + 3));

TEST(InputFile, HashAllOfAFileThatGrewAfterOpenIsChanged) {
  TempTree tree;
  // A 4 KiB buffer reads the file in a loop; a 64 KiB one in one pread, which must tell too.
  for (std::size_t buffer_size : {std::size_t{4096}, std::size_t{65536}}) {
    SCOPED_TRACE(buffer_size);
    std::string path = tree.write_bytes("f" + std::to_string(buffer_size), prime_bytes(5000));
    Result<InputFile> file = InputFile::open(path.c_str(), identity_of(path));
    ASSERT_TRUE(file.ok()) << file.error().reason();
    int writer = ::open(path.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(writer, 0);
    ASSERT_EQ(::write(writer, "x", 1), 1);
    ::close(writer);
    std::vector<std::byte> buffer(buffer_size);
    Result<Digest> digest = file->hash_all(5000, buffer, false);
    ASSERT_FALSE(digest.ok());
    EXPECT_EQ(digest.error().op, "changed");
    EXPECT_EQ(digest.error().path, path);
  }
}

TEST(InputFile, HashAllOfAFileThatShrankAfterOpenIsChanged) {
  TempTree tree;
  // A 4 KiB buffer reads the file in a loop; a 64 KiB one in one pread, which must tell too.
  for (std::size_t buffer_size : {std::size_t{4096}, std::size_t{65536}}) {
    SCOPED_TRACE(buffer_size);
    std::string path = tree.write_bytes("f" + std::to_string(buffer_size), prime_bytes(5000));
    Result<InputFile> file = InputFile::open(path.c_str(), identity_of(path));
    ASSERT_TRUE(file.ok()) << file.error().reason();
    ASSERT_EQ(::truncate(path.c_str(), 4999), 0);
    std::vector<std::byte> buffer(buffer_size);
    Result<Digest> digest = file->hash_all(5000, buffer, false);
    ASSERT_FALSE(digest.ok());
    EXPECT_EQ(digest.error().op, "changed");
    EXPECT_EQ(digest.error().path, path);
  }
}

// ---- open_checked_after_read: one stat, after the read, finds what the open's would ------------

// Opens `path` without the check at open, reads the walked size, and returns the check after the
// read; `read_ok` says whether that read succeeded.
std::optional<FileError> read_then_check(const std::string& path, const FileIdentity& walked, bool* read_ok) {
  Result<InputFile> file = InputFile::open_checked_after_read(path.c_str(), walked);
  if (!file.ok()) {
    ADD_FAILURE() << "open: " << file.error().reason();
    return std::nullopt;
  }
  std::vector<std::byte> buffer(8192);
  *read_ok = file->hash_range(0, walked.size, buffer).ok();
  return file->check_unchanged();
}

TEST(InputFile, CheckedAfterReadFindsAFileReplacedSinceTheWalk) {
  TempTree tree;
  std::string path = tree.write("f", "same size");
  const FileIdentity walked = identity_of(path);
  std::string replacement = tree.write("g", "same size");
  ASSERT_EQ(::rename(replacement.c_str(), path.c_str()), 0);
  bool read_ok = false;
  std::optional<FileError> changed = read_then_check(path, walked, &read_ok);
  EXPECT_TRUE(read_ok);
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->op, "changed");
  EXPECT_EQ(changed->detail, "no longer the file that was scanned");
}

TEST(InputFile, CheckedAfterReadFindsAChangeOfSizeOrTimes) {
  TempTree tree;
  std::string path = tree.write("f", "12345");
  FileIdentity walked = identity_of(path);
  ASSERT_EQ(::truncate(path.c_str(), 3), 0);
  bool read_ok = true;
  std::optional<FileError> changed = read_then_check(path, walked, &read_ok);
  EXPECT_FALSE(read_ok) << "two bytes short";
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->detail, "size changed since it was scanned");

  path = tree.write("g", "12345");
  walked = identity_of(path);
  walked.mtime_ns -= 1;
  changed = read_then_check(path, walked, &read_ok);
  EXPECT_TRUE(read_ok);
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->detail, "modified since it was scanned");
}

TEST(InputFile, CheckedAfterReadOpensAFifoWithoutBlockingAndCallsItChanged) {
  // A FIFO put where the walk saw a regular file: the open must not wait for a writer (the
  // test would hang, and ctest's TIMEOUT report it), and the check names the change.
  TempTree tree;
  std::string path = tree.write("f", "12345");
  const FileIdentity walked = identity_of(path);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  tree.fifo("f");
  bool read_ok = true;
  std::optional<FileError> changed = read_then_check(path, walked, &read_ok);
  EXPECT_FALSE(read_ok);
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->op, "changed");
  EXPECT_EQ(changed->detail, "no longer the file that was scanned");
}

TEST(InputFile, CheckedAfterReadOfAnUnchangedFileIsClean) {
  TempTree tree;
  std::string path = tree.write_bytes("f", prime_bytes(6000));
  Result<InputFile> file = InputFile::open_checked_after_read(path.c_str(), identity_of(path));
  ASSERT_TRUE(file.ok()) << file.error().reason();
  std::vector<std::byte> buffer(8192);
  Result<Digest> digest = file->hash_range(0, 6000, buffer);
  ASSERT_TRUE(digest.ok()) << digest.error().reason();
  EXPECT_EQ(*digest, hash_bytes(prime_bytes(6000)));
  EXPECT_FALSE(file->check_unchanged().has_value());
}

// ---- the file as walked: changed or deleted while it is read (issue 8, item 3) ------------

// A walk that saw other times than the file has now: its content may have been rewritten.
TEST(InputFile, RefusesAFileWhoseMtimeOrCtimeMoved) {
  TempTree tree;
  std::string path = tree.write_bytes("f", prime_bytes(5000));
  FileIdentity walked = identity_of(path);
  walked.mtime_ns -= 1;
  Result<InputFile> file = InputFile::open(path.c_str(), walked);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().op, "changed");
  EXPECT_EQ(file.error().detail, "modified since it was scanned");
  // Only ctime differs: what a write followed by setting mtime back leaves behind.
  walked = identity_of(path);
  walked.ctime_ns -= 1;
  file = InputFile::open(path.c_str(), walked);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().op, "changed");
}

TEST(InputFile, WrittenAfterOpenIsChangedOnCheck) {
  TempTree tree;
  std::string path = tree.write_bytes("f", prime_bytes(5000));
  const struct timespec old[2] = {{978'307'200, 0}, {978'307'200, 0}};  // a write then moves mtime
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), old, 0), 0);
  Result<InputFile> file = InputFile::open(path.c_str(), identity_of(path));
  ASSERT_TRUE(file.ok()) << file.error().reason();
  std::vector<std::byte> buffer(4096);
  ASSERT_TRUE(file->hash_all(5000, buffer, false).ok());
  EXPECT_FALSE(file->check_unchanged().has_value());
  int writer = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(writer, 0);
  ASSERT_EQ(::pwrite(writer, "x", 1, 10), 1);  // same size: only the times tell
  ::close(writer);
  std::optional<FileError> changed = file->check_unchanged();
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->op, "changed");
  EXPECT_EQ(changed->detail, "modified while it was read");
  EXPECT_EQ(changed->path, path);
}

TEST(InputFile, DeletedAfterOpenHasVanishedOnCheck) {
  TempTree tree;
  std::string path = tree.write_bytes("f", prime_bytes(5000));
  Result<InputFile> file = InputFile::open(path.c_str(), identity_of(path));
  ASSERT_TRUE(file.ok()) << file.error().reason();
  ASSERT_EQ(::unlink(path.c_str()), 0);
  std::vector<std::byte> buffer(4096);
  ASSERT_TRUE(file->hash_all(5000, buffer, false).ok());  // an unlinked file still reads
  std::optional<FileError> gone = file->check_unchanged();
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(gone->op, "vanished");
}

// ---- cancellation inside one file's read (issue 8, item 4) --------------------------------

// A reader checks the token before every block: one huge file cannot hold a cancelled run.
TEST(InputFile, CancelledReadStopsBeforeTheNextBlock) {
  TempTree tree;
  std::string path = tree.write_bytes("f", prime_bytes(1 << 20));
  CancelToken cancel;
  Result<InputFile> file = InputFile::open(path.c_str(), identity_of(path), nullptr, &cancel);
  ASSERT_TRUE(file.ok()) << file.error().reason();
  std::vector<std::byte> buffer(4096);
  cancel.cancel();
  Result<Digest> digest = file->hash_all(1 << 20, buffer, false);
  ASSERT_FALSE(digest.ok());
  EXPECT_EQ(digest.error().errnum, ECANCELED);
  Result<Digest> range = file->hash_range(4096, 8192, buffer);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.error().errnum, ECANCELED);
}

// ---- descriptors (issue 8, item 6) --------------------------------------------------------

// A file opened through a budget holds one of its descriptors until it is closed.
TEST(InputFile, HoldsADescriptorOfTheBudgetUntilClosed) {
  TempTree tree;
  std::string path = tree.write_bytes("f", prime_bytes(100));
  FdBudget budget(2);
  {
    Result<InputFile> file = InputFile::open(path.c_str(), identity_of(path), &budget);
    ASSERT_TRUE(file.ok()) << file.error().reason();
    EXPECT_EQ(budget.in_use(), 1u);
    Result<InputFile> moved = std::move(file);
    EXPECT_EQ(budget.in_use(), 1u);
  }
  EXPECT_EQ(budget.in_use(), 0u);
  // A file that fails its checks gives its descriptor back too.
  FileIdentity other = identity_of(path);
  other.ino += 1;
  EXPECT_FALSE(InputFile::open(path.c_str(), other, &budget).ok());
  EXPECT_FALSE(InputFile::open(tree.path("missing").c_str(), other, &budget).ok());
  EXPECT_EQ(budget.in_use(), 0u);
}

// Each algorithm's name parses back to it; anything else is refused (a usage error upstream).
TEST(HashAlgo, NamesRoundTripAndUnknownNamesAreRefused) {
  for (const HashAlgo algo : {HashAlgo::xxh128, HashAlgo::xxh3, HashAlgo::xxh64, HashAlgo::xxh32}) {
    EXPECT_EQ(parse_algo(algo_name(algo)), algo) << algo_name(algo);
  }
  EXPECT_EQ(parse_algo("XXH128"), std::nullopt);
  EXPECT_EQ(parse_algo("sha256"), std::nullopt);
  EXPECT_EQ(parse_algo(""), std::nullopt);
}

}  // namespace
}  // namespace spindle
