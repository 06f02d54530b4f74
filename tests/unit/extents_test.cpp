#include "fakes/loop_fs.hpp"
#include "fakes/temp_tree.hpp"

#include <spindle/extents.hpp>
#include <spindle/fd.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace spindle {
namespace {

using fakes::LoopFs;
using fakes::LoopFsKind;

constexpr std::uint64_t k_mib = 1ULL << 20;
// Over one FIDEDUPERANGE chunk (16 MiB) and not a multiple of any block size: two calls, the
// second ending on a partial block.
constexpr std::uint64_t k_big = 20 * k_mib + 3 * 4096 + 777;

std::string random_bytes(std::uint64_t size, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::string bytes(size, '\0');
  for (std::uint64_t i = 0; i < size; i += 8) {
    std::uint64_t word = engine();
    for (std::uint64_t j = 0; j < 8 && i + j < size; ++j) {
      bytes[i + j] = static_cast<char>((word >> (8 * j)) & 0xff);
    }
  }
  return bytes;
}

// Write `bytes` at `offset` of `path` (created if missing, never truncated).
void write_at(const std::string& path, std::uint64_t offset, const std::string& bytes) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) {
    throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  }
  std::uint64_t done = 0;
  while (done < bytes.size()) {
    ssize_t wrote = ::pwrite(fd.get(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (wrote < 0) {
      throw std::runtime_error("pwrite " + path + ": " + std::strerror(errno));
    }
    done += static_cast<std::uint64_t>(wrote);
  }
}

void write_file(const std::string& path, const std::string& bytes) {
  ::unlink(path.c_str());
  write_at(path, 0, bytes);
}

std::string read_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  }
  std::string bytes;
  char chunk[1 << 16];
  for (;;) {
    ssize_t got = ::read(fd.get(), chunk, sizeof(chunk));
    if (got < 0) {
      throw std::runtime_error("read " + path + ": " + std::strerror(errno));
    }
    if (got == 0) {
      return bytes;
    }
    bytes.append(chunk, static_cast<std::size_t>(got));
  }
}

Fd open_or_throw(const std::string& path, int flags) {
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd) {
    throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  }
  return fd;
}

// Ask with descriptors of its own, as the dedupe command will on a later run.
bool shared(const std::string& kept, const std::string& dup, std::uint64_t size) {
  Fd kept_fd = open_or_throw(kept, O_RDONLY);
  Fd dup_fd = open_or_throw(dup, O_RDONLY);
  Result<bool> answer = extents_shared(kept_fd.get(), dup_fd.get(), size, dup);
  if (!answer) {
    throw std::runtime_error("extents_shared " + dup + ": " + answer.error().reason());
  }
  return *answer;
}

Result<std::uint64_t> share(const std::string& kept, const std::string& dup, std::uint64_t size, ShareMode mode) {
  Fd kept_fd = open_or_throw(kept, O_RDONLY);
  Fd dup_fd = open_or_throw(dup, O_RDWR);
  return share_extents(kept_fd.get(), dup_fd.get(), size, mode, dup);
}

bool shares_extents_natively(const std::string& dir) {
  struct statfs fs {};
  return ::statfs(dir.c_str(), &fs) == 0 && (fs.f_type == BTRFS_SUPER_MAGIC || fs.f_type == XFS_SUPER_MAGIC);
}

// ---- Filesystems that cannot share extents: whatever TMPDIR is (ext4 or tmpfs here), and /dev/shm.

std::vector<std::string> plain_dirs() {
  std::vector<std::string> dirs{std::filesystem::temp_directory_path().string()};
  if (std::filesystem::is_directory("/dev/shm") && ::access("/dev/shm", W_OK) == 0) {
    dirs.emplace_back("/dev/shm");
  }
  return dirs;
}

TEST(ExtentsUnsupported, ShareIsAFileErrorNamingTheDuplicateAndChangesNothing) {
  int checked = 0;
  for (const std::string& dir : plain_dirs()) {
    if (shares_extents_natively(dir)) {
      continue;  // a btrfs or XFS TMPDIR is tested by the loop-filesystem tests below
    }
    ++checked;
    SCOPED_TRACE(dir);
    fakes::TempTree tree(dir);
    const std::string content = random_bytes(k_mib + 3, 1);
    std::string kept = tree.write("kept", content);
    std::string dup = tree.write("dup", content);
    for (ShareMode mode : {ShareMode::dedupe, ShareMode::clone}) {
      Result<std::uint64_t> result = share(kept, dup, content.size(), mode);
      ASSERT_FALSE(result.ok());
      EXPECT_EQ(result.error().path, dup);
      EXPECT_EQ(result.error().op, mode == ShareMode::dedupe ? "dedupe" : "clone");
      EXPECT_EQ(result.error().errnum, EOPNOTSUPP) << result.error().reason();
      EXPECT_NE(result.error().detail, "") << "errno alone does not tell the user why";
    }
    EXPECT_FALSE(shared(kept, dup, content.size()));
    EXPECT_EQ(read_file(kept), content);
    EXPECT_EQ(read_file(dup), content);
  }
  if (checked == 0) {
    GTEST_SKIP() << "every temp dir here can share extents";
  }
}

TEST(ExtentsUnsupported, HardLinksAndEmptyFilesAreAlreadyShared) {
  fakes::TempTree tree;
  std::string kept = tree.write("kept", "same inode");
  std::string link = tree.hard_link("kept", "link");
  EXPECT_TRUE(shared(kept, link, 10));

  std::string empty_kept = tree.write("empty-kept", "");
  std::string empty_dup = tree.write("empty-dup", "");
  EXPECT_TRUE(shared(empty_kept, empty_dup, 0));
  for (ShareMode mode : {ShareMode::dedupe, ShareMode::clone}) {
    Result<std::uint64_t> result = share(empty_kept, empty_dup, 0, mode);
    ASSERT_TRUE(result.ok()) << result.error().reason();
    EXPECT_EQ(*result, 0U);
  }
}

TEST(ExtentsUnsupported, BadDescriptorIsAFileErrorNotACrash) {
  fakes::TempTree tree;
  std::string kept = tree.write("kept", "x");
  Fd kept_fd = open_or_throw(kept, O_RDONLY);
  Result<bool> answer = extents_shared(kept_fd.get(), -1, 1, "/the/dup");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().path, "/the/dup");
  EXPECT_EQ(answer.error().errnum, EBADF);
  Result<std::uint64_t> result = share_extents(kept_fd.get(), -1, 1, ShareMode::dedupe, "/the/dup");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().path, "/the/dup");
}

// ---- A real btrfs and XFS on loop devices (root only; skipped with the reason otherwise).

class LoopExtents : public ::testing::TestWithParam<LoopFsKind> {
 protected:
  void SetUp() override {
    m_fs = std::make_unique<LoopFs>(GetParam());
    if (!m_fs->available()) {
      GTEST_SKIP() << m_fs->why_not();
    }
  }
  void TearDown() override { m_fs.reset(); }

  LoopFs& fs() { return *m_fs; }

 private:
  std::unique_ptr<LoopFs> m_fs;
};

INSTANTIATE_TEST_SUITE_P(Filesystems, LoopExtents, ::testing::Values(LoopFsKind::btrfs, LoopFsKind::xfs),
                         [](const ::testing::TestParamInfo<LoopFsKind>& param_info) {
                           return std::string(fakes::kind_name(param_info.param));
                         });

TEST_P(LoopExtents, IdenticalFilesBecomeSharedWithContentsUnchanged) {
  const std::string content = random_bytes(k_big, 2);
  std::string kept = fs().path("kept");
  std::string dup = fs().path("dup");
  write_file(kept, content);
  write_file(dup, content);
  EXPECT_FALSE(shared(kept, dup, k_big));

  Result<std::uint64_t> result = share(kept, dup, k_big, ShareMode::dedupe);
  ASSERT_TRUE(result.ok()) << result.error().reason();
  EXPECT_EQ(*result, k_big);
  EXPECT_TRUE(shared(kept, dup, k_big));
  EXPECT_EQ(read_file(kept), content);
  EXPECT_EQ(read_file(dup), content);

  // Again on shared files: nothing changes, still shared.
  Result<std::uint64_t> again = share(kept, dup, k_big, ShareMode::dedupe);
  ASSERT_TRUE(again.ok()) << again.error().reason();
  EXPECT_EQ(*again, k_big);
  EXPECT_TRUE(shared(kept, dup, k_big));
}

TEST_P(LoopExtents, DifferingContentsAreRefusedAndNothingChanges) {
  const std::string content = random_bytes(k_big, 3);
  // The last byte (in the partial last block, after a first chunk that is equal), and one in the
  // middle of the first chunk.
  for (std::uint64_t differ_at : {k_big - 1, 5 * k_mib + 17}) {
    SCOPED_TRACE("differing at byte " + std::to_string(differ_at));
    std::string other = content;
    other[differ_at] = static_cast<char>(other[differ_at] ^ 0x5a);
    std::string kept = fs().path("kept");
    std::string dup = fs().path("dup");
    write_file(kept, content);
    write_file(dup, other);

    Result<std::uint64_t> result = share(kept, dup, k_big, ShareMode::dedupe);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().path, dup);
    EXPECT_EQ(result.error().op, "dedupe");
    EXPECT_EQ(result.error().errnum, 0);
    EXPECT_NE(result.error().detail.find("contents differ"), std::string::npos) << result.error().reason();
    EXPECT_EQ(read_file(kept), content);
    EXPECT_EQ(read_file(dup), other);
    EXPECT_FALSE(shared(kept, dup, k_big));
  }
}

TEST_P(LoopExtents, ReflinkCopyIsAlreadyShared) {
  std::string cp = fakes::find_program("cp");
  ASSERT_FALSE(cp.empty());
  const std::string content = random_bytes(3 * k_mib + 5, 4);
  std::string kept = fs().path("kept");
  std::string copy = fs().path("copy");
  write_file(kept, content);
  fakes::CommandResult copied = fakes::run_command({cp, "--reflink=always", kept, copy});
  ASSERT_EQ(copied.status, 0) << copied.output;
  EXPECT_TRUE(shared(kept, copy, content.size()));
  // A plain copy of the same bytes is not.
  std::string plain = fs().path("plain");
  write_file(plain, content);
  EXPECT_FALSE(shared(kept, plain, content.size()));
}

// btrfs gives each subvolume its own st_dev, yet a reflink across subvolumes shares the blocks:
// the filesystem check must not take the second st_dev for a second filesystem.
TEST_P(LoopExtents, BtrfsSubvolumesAreOneFilesystem) {
  if (GetParam() != LoopFsKind::btrfs) {
    GTEST_SKIP() << "subvolumes are a btrfs feature";
  }
  std::string btrfs = fakes::find_program("btrfs");
  if (btrfs.empty()) {
    GTEST_SKIP() << "no btrfs program (install btrfs-progs)";
  }
  std::string subvolume = fs().path("subvolume");
  fakes::CommandResult created = fakes::run_command({btrfs, "subvolume", "create", subvolume});
  ASSERT_EQ(created.status, 0) << created.output;
  const std::string content = random_bytes(k_mib + 9, 13);
  std::string kept = fs().path("kept");
  std::string dup = subvolume + "/dup";
  write_file(kept, content);
  write_file(dup, content);
  struct stat kept_stat {};
  struct stat dup_stat {};
  ASSERT_EQ(::stat(kept.c_str(), &kept_stat), 0);
  ASSERT_EQ(::stat(dup.c_str(), &dup_stat), 0);
  ASSERT_NE(kept_stat.st_dev, dup_stat.st_dev) << "a btrfs subvolume should have a device number of its own";

  EXPECT_FALSE(shared(kept, dup, content.size()));
  Result<std::uint64_t> result = share(kept, dup, content.size(), ShareMode::dedupe);
  ASSERT_TRUE(result.ok()) << result.error().reason();
  EXPECT_EQ(*result, content.size());
  EXPECT_TRUE(shared(kept, dup, content.size()));
  EXPECT_EQ(read_file(dup), content);
}

// FIEMAP returns a file's extents in batches; a difference after the first batch must be seen.
TEST_P(LoopExtents, ADifferenceBeyondTheFirstFiemapBatchIsSeen) {
  // 300 separate extents: a 4 KiB block every 16 KiB, holes between, then a partial tail.
  constexpr std::uint64_t k_blocks = 300;
  constexpr std::uint64_t k_stride = 16 * 1024;
  std::string kept = fs().path("fragmented");
  std::string dup = fs().path("fragmented-dup");
  const std::string block = random_bytes(4096, 5);
  for (std::uint64_t i = 0; i < k_blocks; ++i) {
    write_at(kept, i * k_stride, block);
  }
  const std::string tail = random_bytes(123, 6);
  write_at(kept, k_blocks * k_stride, tail);
  const std::uint64_t size = k_blocks * k_stride + tail.size();
  const std::string content = read_file(kept);
  ASSERT_EQ(content.size(), size);

  std::string cp = fakes::find_program("cp");
  fakes::CommandResult copied = fakes::run_command({cp, "--reflink=always", kept, dup});
  ASSERT_EQ(copied.status, 0) << copied.output;
  EXPECT_TRUE(shared(kept, dup, size));

  // Rewrite the duplicate's last block with the same bytes: copy-on-write gives it a new extent.
  write_at(dup, (k_blocks - 1) * k_stride, block);
  EXPECT_FALSE(shared(kept, dup, size)) << "the 300th extent is in the third FIEMAP batch";

  Result<std::uint64_t> result = share(kept, dup, size, ShareMode::dedupe);
  ASSERT_TRUE(result.ok()) << result.error().reason();
  EXPECT_EQ(*result, size);
  EXPECT_TRUE(shared(kept, dup, size));
  EXPECT_EQ(read_file(dup), content);
}

TEST_P(LoopExtents, SparseAndEmptyFiles) {
  // Data, a hole, data up to a partial last block.
  const std::string head = random_bytes(64 * 1024, 7);
  const std::string end = random_bytes(64 * 1024 + 13, 8);
  const std::uint64_t size = 6 * k_mib + end.size();
  std::string kept = fs().path("sparse");
  std::string dup = fs().path("sparse-dup");
  for (const std::string& path : {kept, dup}) {
    write_at(path, 0, head);
    write_at(path, 6 * k_mib, end);
  }
  const std::string content = read_file(kept);
  EXPECT_FALSE(shared(kept, dup, size));
  Result<std::uint64_t> result = share(kept, dup, size, ShareMode::dedupe);
  ASSERT_TRUE(result.ok()) << result.error().reason();
  EXPECT_EQ(*result, size);
  EXPECT_TRUE(shared(kept, dup, size));
  EXPECT_EQ(read_file(dup), content);

  // Nothing but holes: no blocks to reclaim, so already "shared".
  std::string holes = fs().path("holes");
  std::string holes_dup = fs().path("holes-dup");
  for (const std::string& path : {holes, holes_dup}) {
    Fd fd = open_or_throw(path, O_WRONLY | O_CREAT);
    ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  }
  EXPECT_TRUE(shared(holes, holes_dup, size));
  // Data against holes is not.
  EXPECT_FALSE(shared(holes, kept, size));

  std::string empty = fs().path("empty");
  std::string empty_dup = fs().path("empty-dup");
  write_file(empty, "");
  write_file(empty_dup, "");
  EXPECT_TRUE(shared(empty, empty_dup, 0));
  Result<std::uint64_t> none = share(empty, empty_dup, 0, ShareMode::dedupe);
  ASSERT_TRUE(none.ok()) << none.error().reason();
  EXPECT_EQ(*none, 0U);
}

// FICLONE does not compare: the duplicate gets the kept file's bytes, which is why it is only
// used on the user's explicit request, after the caller verified the contents.
TEST_P(LoopExtents, CloneSharesWithoutComparing) {
  const std::string content = random_bytes(k_big, 9);
  const std::string other = random_bytes(k_big, 10);
  std::string kept = fs().path("kept");
  std::string dup = fs().path("dup");
  write_file(kept, content);
  write_file(dup, other);
  Result<std::uint64_t> result = share(kept, dup, k_big, ShareMode::clone);
  ASSERT_TRUE(result.ok()) << result.error().reason();
  EXPECT_EQ(*result, k_big);
  EXPECT_TRUE(shared(kept, dup, k_big));
  EXPECT_EQ(read_file(dup), content);
  EXPECT_EQ(read_file(kept), content);
}

TEST_P(LoopExtents, OtherFilesystemIsAnErrorNotACrash) {
  const std::string content = random_bytes(2 * k_mib + 1, 11);
  std::string kept = fs().path("kept");
  write_file(kept, content);

  // On TMPDIR.
  fakes::TempTree tree;
  std::string elsewhere = tree.write("dup", content);
  for (ShareMode mode : {ShareMode::dedupe, ShareMode::clone}) {
    Result<std::uint64_t> result = share(kept, elsewhere, content.size(), mode);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().path, elsewhere);
    EXPECT_EQ(result.error().errnum, EXDEV) << result.error().reason();
  }
  EXPECT_FALSE(shared(kept, elsewhere, content.size()));
  EXPECT_EQ(read_file(elsewhere), content);

  // On a second filesystem made the same way: its first file lies at the same physical offsets,
  // so only the filesystem check keeps FIEMAP from calling the two shared.
  LoopFs second(GetParam());
  ASSERT_TRUE(second.available()) << second.why_not();
  std::string twin = second.path("kept");
  write_file(twin, content);
  EXPECT_FALSE(shared(kept, twin, content.size()));
  Result<std::uint64_t> result = share(kept, twin, content.size(), ShareMode::dedupe);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().errnum, EXDEV) << result.error().reason();
  EXPECT_EQ(read_file(twin), content);
}

TEST_P(LoopExtents, DirectoryAsDuplicateIsAFileError) {
  std::string kept = fs().path("kept");
  write_file(kept, random_bytes(4096, 12));
  std::string dir = fs().path("dir");
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  Fd kept_fd = open_or_throw(kept, O_RDONLY);
  Fd dir_fd = open_or_throw(dir, O_RDONLY | O_DIRECTORY);
  for (ShareMode mode : {ShareMode::dedupe, ShareMode::clone}) {
    Result<std::uint64_t> result = share_extents(kept_fd.get(), dir_fd.get(), 4096, mode, dir);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().path, dir);
    EXPECT_NE(result.error().errnum, 0) << result.error().reason();
  }
}

}  // namespace
}  // namespace spindle
