// AtomicFile (exclusive temporaries, never following a planted name) and OutputFile (`> FILE`
// semantics: what is replaced, what is written through, what is never touched).
#include "fakes/temp_tree.hpp"
#include "fakes/watchdog.hpp"

#include <spindle/atomic_file.hpp>
#include <spindle/output_file.hpp>
#include <spindle/pools.hpp>

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace spindle {
namespace {

using fakes::TempTree;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct stat lstat_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    throw std::runtime_error("lstat " + path);
  }
  return st;
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  while (dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") {
      names.push_back(name);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

void write_fd(int fd, std::string_view text) {
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
}

// A NameSource that hands out "cand-0", "cand-1"...: a test plants files at the first ones.
AtomicFile::NameSource counting_names(std::shared_ptr<int> drawn) {
  return [drawn](const std::string&) { return "cand-" + std::to_string((*drawn)++); };
}

// ---- AtomicFile ----

TEST(AtomicFileTest, TargetUntouchedUntilCommitThenReplaced) {
  TempTree tree;
  std::string target = tree.write("report", "old");
  Result<AtomicFile> file = AtomicFile::create(tree.root(), "report", 0644);
  ASSERT_TRUE(file.ok()) << file.error().reason();
  write_fd(file->fd(), "new");
  EXPECT_EQ(read_all(target), "old");
  EXPECT_FALSE(file->commit().has_value());
  EXPECT_EQ(read_all(target), "new");
  EXPECT_EQ(names_in(tree.root()), std::vector<std::string>{"report"});
}

TEST(AtomicFileTest, AbandonedLeavesTargetAndNoTemporary) {
  TempTree tree;
  std::string target = tree.write("report", "old");
  for (bool named : {false, true}) {
    {
      Result<AtomicFile> file = named ? AtomicFile::create_named(tree.root(), "report", 0644)
                                      : AtomicFile::create(tree.root(), "report", 0644);
      ASSERT_TRUE(file.ok()) << file.error().reason();
      write_fd(file->fd(), "partial");
    }
    EXPECT_EQ(read_all(target), "old");
    EXPECT_EQ(names_in(tree.root()), std::vector<std::string>{"report"}) << "named=" << named;
  }
}

TEST(AtomicFileTest, RandomNamesAreHiddenAndDiffer) {
  std::string a = temporary_name_for("report.json");
  std::string b = temporary_name_for("report.json");
  EXPECT_NE(a, b);
  EXPECT_TRUE(a.starts_with(".report.json.spindle-")) << a;
  EXPECT_LE(temporary_name_for(std::string(255, 'x')).size(), 255u);
}

// The hijack: whatever is planted at the names the helper draws (symlinks to a victim, a file,
// a dangling symlink), the helper skips them and the victim is never written.
TEST(AtomicFileTest, NamedTemporaryNeverFollowsOrReusesPlantedNames) {
  TempTree tree;
  std::string victim = tree.write("victim", "precious");
  tree.symlink(victim, "dir/cand-0");
  tree.symlink(tree.path("nowhere"), "dir/cand-1");  // dangling: O_CREAT alone would create it
  tree.write("dir/cand-2", "someone else's");
  auto drawn = std::make_shared<int>(0);
  Result<AtomicFile> file = AtomicFile::create_named(tree.path("dir"), "report", 0644, counting_names(drawn));
  ASSERT_TRUE(file.ok()) << file.error().reason();
  EXPECT_EQ(file->temporary_name(), "cand-3");
  write_fd(file->fd(), "report");
  EXPECT_FALSE(file->commit().has_value());
  EXPECT_EQ(read_all(victim), "precious");
  EXPECT_EQ(read_all(tree.path("dir/cand-2")), "someone else's");
  EXPECT_TRUE(S_ISLNK(lstat_of(tree.path("dir/cand-0")).st_mode));
  EXPECT_TRUE(S_ISLNK(lstat_of(tree.path("dir/cand-1")).st_mode));
  EXPECT_NE(::access(tree.path("nowhere").c_str(), F_OK), 0) << "the dangling symlink was followed";
  EXPECT_EQ(read_all(tree.path("dir/report")), "report");
}

TEST(AtomicFileTest, EveryCandidatePlantedFailsNamingTheTarget) {
  TempTree tree;
  std::string victim = tree.write("victim", "precious");
  for (int i = 0; i < 64; ++i) {
    tree.symlink(victim, "dir/cand-" + std::to_string(i));
  }
  auto drawn = std::make_shared<int>(0);
  Result<AtomicFile> file = AtomicFile::create_named(tree.path("dir"), "report", 0644, counting_names(drawn));
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().errnum, EEXIST);
  EXPECT_EQ(file.error().path, tree.path("dir/report"));
  EXPECT_EQ(read_all(victim), "precious");
}

// An unnamed O_TMPFILE gets its name at commit by linkat, which never replaces what is there.
TEST(AtomicFileTest, UnnamedTemporaryLinksPastPlantedNames) {
  TempTree tree;
  std::string victim = tree.write("victim", "precious");
  tree.symlink(victim, "cand-0");
  auto drawn = std::make_shared<int>(0);
  Result<AtomicFile> file = AtomicFile::create(tree.root(), "report", 0644, counting_names(drawn));
  ASSERT_TRUE(file.ok()) << file.error().reason();
  if (!file->temporary_name().empty()) {
    GTEST_SKIP() << "no O_TMPFILE on " << tree.root() << ": the named path is tested above";
  }
  write_fd(file->fd(), "report");
  EXPECT_FALSE(file->commit().has_value());
  EXPECT_EQ(read_all(victim), "precious");
  EXPECT_TRUE(S_ISLNK(lstat_of(tree.path("cand-0")).st_mode));
  EXPECT_EQ(read_all(tree.path("report")), "report");
  EXPECT_EQ(names_in(tree.root()), (std::vector<std::string>{"cand-0", "report", "victim"}));
}

TEST(AtomicFileTest, MissingDirectoryNamesTheTarget) {
  TempTree tree;
  Result<AtomicFile> file = AtomicFile::create(tree.path("no/such"), "report", 0644);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().errnum, ENOENT);
  EXPECT_EQ(file.error().path, tree.path("no/such/report"));
}

// ---- OutputFile ----

bool commit_text(OutputFile& output, const std::string& text) {
  return output.commit([&](std::ostream& out) { out << text; });
}

TEST(OutputFileTest, RegularFileReplacedKeepingModeOwnerAndXattrs) {
  TempTree tree;
  std::string report = tree.write("report", "old");
  ASSERT_EQ(::chmod(report.c_str(), 0640), 0);
  bool root = ::geteuid() == 0;
  if (root) {
    ASSERT_EQ(::chown(report.c_str(), 65534, 65534), 0);
  }
  bool xattrs = ::setxattr(report.c_str(), "user.spindle-test", "kept", 4, 0) == 0;
  ino_t old_ino = lstat_of(report).st_ino;

  OutputFile output = OutputFile::open(report);
  EXPECT_EQ(output.kind(), OutputKind::replace);
  EXPECT_TRUE(output.replaces_existing());
  EXPECT_EQ(read_all(report), "old") << "open() must not touch the content";
  ASSERT_TRUE(commit_text(output, "new report"));

  struct stat st = lstat_of(report);
  EXPECT_EQ(read_all(report), "new report");
  EXPECT_NE(st.st_ino, old_ino) << "not replaced atomically";
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  if (root) {
    EXPECT_EQ(st.st_uid, 65534u);
    EXPECT_EQ(st.st_gid, 65534u);
  }
  if (xattrs) {
    char value[16] = {};
    EXPECT_EQ(::getxattr(report.c_str(), "user.spindle-test", value, sizeof value), 4);
    EXPECT_EQ(std::string(value, 4), "kept");
  }
  EXPECT_EQ(names_in(tree.root()), std::vector<std::string>{"report"});
}

TEST(OutputFileTest, NewFileGetsTheRedirectMode) {
  TempTree tree;
  for (mode_t mask : {mode_t{022}, mode_t{077}}) {
    mode_t old_mask = ::umask(mask);
    std::string report = tree.path("new-" + std::to_string(mask));
    OutputFile output = OutputFile::open(report);
    ::umask(old_mask);
    EXPECT_EQ(output.kind(), OutputKind::replace);
    EXPECT_FALSE(output.replaces_existing());
    EXPECT_NE(::access(report.c_str(), F_OK), 0) << "a new FILE appears only at commit";
    ASSERT_TRUE(commit_text(output, "x"));
    EXPECT_EQ(lstat_of(report).st_mode & 07777, 0666 & ~mask);
  }
}

TEST(OutputFileTest, SymlinkStaysAndItsTargetIsReplaced) {
  TempTree tree;
  std::string real = tree.write("real/report", "old");
  std::string link = tree.symlink("real/report", "link");
  std::string link2 = tree.symlink("link", "link2");  // a chain, relative targets
  OutputFile output = OutputFile::open(link2);
  EXPECT_EQ(output.kind(), OutputKind::replace);
  ASSERT_TRUE(commit_text(output, "new"));
  EXPECT_TRUE(S_ISLNK(lstat_of(link).st_mode));
  EXPECT_TRUE(S_ISLNK(lstat_of(link2).st_mode));
  EXPECT_EQ(read_all(real), "new");
  EXPECT_EQ(names_in(tree.path("real")), std::vector<std::string>{"report"});
}

TEST(OutputFileTest, DanglingSymlinkCreatesItsTarget) {
  TempTree tree;
  std::string link = tree.symlink("made", "link");
  { OutputFile abandoned = OutputFile::open(link); }
  EXPECT_NE(::access(tree.path("made").c_str(), F_OK), 0) << "an abandoned output left a file behind";
  OutputFile output = OutputFile::open(link);
  ASSERT_TRUE(commit_text(output, "new"));
  EXPECT_TRUE(S_ISLNK(lstat_of(link).st_mode));
  EXPECT_EQ(read_all(tree.path("made")), "new");
}

// `>` writes through the inode, so every name of a hard-linked report sees the new one; a
// rename would leave the other names with the old report. spindle keeps the redirect's meaning.
TEST(OutputFileTest, HardLinkedFileWrittenInPlace) {
  TempTree tree;
  std::string report = tree.write("report", "an old and longer report");
  std::string other = tree.hard_link("report", "other-name");
  ino_t ino = lstat_of(report).st_ino;
  OutputFile output = OutputFile::open(report);
  EXPECT_EQ(output.kind(), OutputKind::in_place);
  EXPECT_EQ(read_all(report), "an old and longer report");
  ASSERT_TRUE(commit_text(output, "new"));
  EXPECT_EQ(lstat_of(report).st_ino, ino);
  EXPECT_EQ(read_all(other), "new");
  EXPECT_EQ(read_all(report), "new");
}

// /proc/self/fd/N names an open file, not a directory entry: written in place (as `>` does),
// never renamed over whatever path the magic link happens to print.
TEST(OutputFileTest, ProcMagicLinkWrittenInPlace) {
  TempTree tree;
  std::string report = tree.write("report", "old");
  Fd held(::open(report.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(held);
  ino_t ino = lstat_of(report).st_ino;
  OutputFile output = OutputFile::open("/proc/self/fd/" + std::to_string(held.get()));
  EXPECT_EQ(output.kind(), OutputKind::in_place);
  ASSERT_TRUE(commit_text(output, "new"));
  EXPECT_EQ(lstat_of(report).st_ino, ino);
  EXPECT_EQ(read_all(report), "new");
}

TEST(OutputFileTest, FifoWrittenDirectlyAndStaysAFifo) {
  TempTree tree;
  std::string fifo = tree.fifo("fifo");
  // Whether the reader opens before open() or only during commit(), the report reaches it.
  std::string received;
  std::thread reader([&] { received = read_all(fifo); });
  bool committed = fakes::within(std::chrono::seconds(60), "writing to a FIFO with a reader", [&] {
    CancelToken cancel;
    OutputFile output = OutputFile::open(fifo, OutputFile::Options{.cancel = &cancel});
    EXPECT_EQ(output.kind(), OutputKind::direct);
    return commit_text(output, "through the pipe");
  });
  reader.join();  // the writer has closed: the reader has its EOF
  EXPECT_TRUE(committed);
  EXPECT_EQ(received, "through the pipe");
  EXPECT_TRUE(S_ISFIFO(lstat_of(fifo).st_mode));
}

// No reader yet: open() returns at once; commit() waits for one, and a cancellation ends the wait.
TEST(OutputFileTest, FifoWithoutReaderDoesNotBlockAndWaitIsCancellable) {
  TempTree tree;
  std::string fifo = tree.fifo("fifo");
  bool committed = fakes::within(std::chrono::seconds(60), "a FIFO output without a reader", [&] {
    CancelToken cancel;
    OutputFile output = OutputFile::open(fifo, OutputFile::Options{.cancel = &cancel});
    cancel.cancel();  // nobody will ever read
    return commit_text(output, "never read");
  });
  EXPECT_FALSE(committed);
  EXPECT_TRUE(S_ISFIFO(lstat_of(fifo).st_mode));
}

TEST(OutputFileTest, CharacterDeviceWrittenNeverReplaced) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "mknod needs root";
  }
  TempTree tree;
  std::string node = tree.path("null");
  ASSERT_EQ(::mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);  // a private /dev/null
  OutputFile output = OutputFile::open(node);
  EXPECT_EQ(output.kind(), OutputKind::direct);
  EXPECT_FALSE(output.replaces_existing());
  ASSERT_TRUE(commit_text(output, "into the void"));
  struct stat st = lstat_of(node);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_EQ(names_in(tree.root()), std::vector<std::string>{"null"});
}

TEST(OutputFileTest, ErrorsNameFileAndHappenAtOpen) {
  TempTree tree;
  std::string missing = tree.path("no/such/dir/report");
  try {
    OutputFile::open(missing);
    FAIL() << "opened " << missing;
  } catch (const Fatal& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find(".spindle-"), std::string::npos) << e.what();
  }
  tree.mkdir("a-directory");
  EXPECT_THROW(OutputFile::open(tree.path("a-directory")), Fatal);
}

TEST(OutputFileTest, RegularOnlyRefusesFifo) {
  TempTree tree;
  std::string fifo = tree.fifo("store");
  EXPECT_THROW(OutputFile::open(fifo, OutputFile::Options{.regular_only = true}), Fatal);
  EXPECT_TRUE(S_ISFIFO(lstat_of(fifo).st_mode));
}

TEST(OutputFileTest, AbandonedOutputLeavesFileUntouched) {
  TempTree tree;
  std::string report = tree.write("report", "old");
  { OutputFile output = OutputFile::open(report); }
  {
    CancelToken cancel;
    OutputFile output = OutputFile::open(report, OutputFile::Options{.cancel = &cancel});
    cancel.cancel();
    EXPECT_FALSE(commit_text(output, std::string(1 << 20, 'x')));
  }
  EXPECT_EQ(read_all(report), "old");
  EXPECT_EQ(names_in(tree.root()), std::vector<std::string>{"report"});
}

}  // namespace
}  // namespace spindle
