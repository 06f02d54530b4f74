// The actions on real files in a temp tree: link counts, inode numbers and contents after each
// action; a file changed after the report is skipped; the kept copy is never touched; dry runs
// touch nothing; stale temporaries are removed.
#include "fakes/temp_tree.hpp"

#include <spindle/actions.hpp>
#include <spindle/hash.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace spindle {
namespace {

struct Recorder : ActionObserver {
  std::vector<FileOutcome> outcomes;
  void on_file(const FileOutcome& outcome) override { outcomes.push_back(outcome); }
  std::size_t count(Outcome kind) const {
    std::size_t n = 0;
    for (const FileOutcome& o : outcomes) {
      n += o.outcome == kind ? 1 : 0;
    }
    return n;
  }
};

struct stat stat_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    throw std::runtime_error("lstat " + path);
  }
  return st;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string content(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A group of `paths` (all holding `bytes`), with each file's state as a JSON report records it.
ReportGroup group_of(const std::vector<std::string>& paths, const std::string& bytes) {
  ReportGroup group;
  group.size = bytes.size();
  group.hash = hash_bytes(std::as_bytes(std::span(bytes.data(), bytes.size())));
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const struct stat st = stat_of(paths[i]);
    group.files.push_back(
        ReportFile{.path = paths[i],
                   .root = 0,
                   .state = RecordedState{.device = st.st_dev,
                                          .inode = st.st_ino,
                                          .mtime_ns = st.st_mtim.tv_sec * 1'000'000'000 + st.st_mtim.tv_nsec,
                                          .ctime_ns = 0}});
  }
  return group;
}

ActionOptions options_for(ActionKind kind, bool dry_run = false) {
  ActionOptions options;
  options.kind = kind;
  options.dry_run = dry_run;
  return options;
}

class Actions : public ::testing::Test {
 protected:
  void SetUp() override {
    bytes = std::string(300'000, 'x') + "tail";
    a = tree.write("a", bytes);
    b = tree.write("d/b", bytes);
    c = tree.write("d/c", bytes);
    // The kept copy is the oldest: the default order after the PATH index.
    const struct timespec old_times[2] = {{1000, 0}, {1000, 0}};
    ::utimensat(AT_FDCWD, a.c_str(), old_times, 0);
    report.groups.push_back(group_of({a, b, c}, bytes));
  }

  ActionSummary act(ActionOptions options) { return run_actions(report, options, log, cancel, recorder); }

  fakes::TempTree tree;
  std::string bytes, a, b, c;
  ParsedReport report;
  Logger log{stderr, LogLevel::error};
  CancelToken cancel;
  Recorder recorder;
};

TEST_F(Actions, LinkMakesEveryCopyTheKeptInode) {
  const ino_t kept = stat_of(a).st_ino;
  const ActionSummary summary = act(options_for(ActionKind::link));
  EXPECT_EQ(summary.files_done, 2u);
  EXPECT_EQ(summary.bytes_reclaimed, 2 * bytes.size());
  for (const std::string& path : {a, b, c}) {
    EXPECT_EQ(stat_of(path).st_ino, kept) << path;
    EXPECT_EQ(stat_of(path).st_nlink, 3u) << path;
    EXPECT_EQ(content(path), bytes) << path;
  }
  // A second run finds nothing to do.
  recorder.outcomes.clear();
  const ActionSummary again = act(options_for(ActionKind::link));
  EXPECT_EQ(again.files_done, 0u);
  EXPECT_EQ(again.already_done, 2u);
  EXPECT_EQ(again.skipped, 0u);
}

TEST_F(Actions, RemoveLeavesTheKeptCopy) {
  const ActionSummary summary = act(options_for(ActionKind::remove));
  EXPECT_EQ(summary.files_done, 2u);
  EXPECT_TRUE(exists(a));
  EXPECT_FALSE(exists(b));
  EXPECT_FALSE(exists(c));
  EXPECT_EQ(content(a), bytes);
}

TEST_F(Actions, SymlinkAbsoluteAndRelative) {
  act(options_for(ActionKind::symlink));
  char target[4096] = {};
  ASSERT_GT(::readlink(b.c_str(), target, sizeof target - 1), 0);
  EXPECT_EQ(std::string(target), a);
  EXPECT_EQ(content(b), bytes);
  // The link keeps the duplicate's mtime.
  EXPECT_EQ(stat_of(c).st_mtim.tv_sec, report.groups[0].files[2].state->mtime_ns / 1'000'000'000);

  tree.remove("d/b");
  tree.write("d/b", bytes);
  report.groups[0] = group_of({a, b}, bytes);
  ActionOptions relative_links = options_for(ActionKind::symlink);
  relative_links.relative = true;
  act(relative_links);
  char relative[4096] = {};
  ASSERT_GT(::readlink(b.c_str(), relative, sizeof relative - 1), 0);
  EXPECT_EQ(std::string(relative), "../a");
  EXPECT_EQ(content(b), bytes);
}

TEST_F(Actions, MoveKeepsTheRelativePath) {
  const std::string to = tree.mkdir("attic");
  const ino_t moved = stat_of(b).st_ino;
  ActionOptions move = options_for(ActionKind::move);
  move.move_to = to;
  act(move);
  EXPECT_FALSE(exists(b));
  const std::string destination = to + b;  // an absolute path goes under DIR whole
  EXPECT_EQ(stat_of(destination).st_ino, moved);
  EXPECT_EQ(content(destination), bytes);
}

TEST_F(Actions, ModifiedAfterTheReportIsSkipped) {
  // Same size, new content and a new mtime: the report's mtime no longer matches.
  std::string other = bytes;
  other[0] = 'y';
  tree.write("d/b", other);
  const ActionSummary summary = act(options_for(ActionKind::remove));
  EXPECT_EQ(summary.skipped, 1u);
  EXPECT_EQ(summary.files_done, 1u);
  EXPECT_TRUE(exists(b));
  EXPECT_EQ(content(b), other);
}

TEST_F(Actions, ContentChangeWithTheSameMtimeIsCaughtByTheComparison) {
  const struct stat before = stat_of(b);
  std::string other = bytes;
  other[150'000] = 'y';
  tree.write("d/b", other);
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ::utimensat(AT_FDCWD, b.c_str(), times, 0);
  EXPECT_EQ(act(options_for(ActionKind::link)).skipped, 1u);
  EXPECT_EQ(content(b), other);
  EXPECT_NE(stat_of(b).st_ino, stat_of(a).st_ino);
}

TEST_F(Actions, KeptCopyChangedSkipsTheGroup) {
  std::string other = bytes;
  other.back() = '!';
  const struct stat before = stat_of(a);
  tree.write("a", other);
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ::utimensat(AT_FDCWD, a.c_str(), times, 0);
  const ActionSummary summary = act(options_for(ActionKind::remove));
  EXPECT_EQ(summary.skipped, 2u);
  EXPECT_TRUE(exists(b));
  EXPECT_TRUE(exists(c));
}

TEST_F(Actions, DryRunTouchesNothing) {
  const ino_t b_ino = stat_of(b).st_ino;
  const ActionSummary summary = act(options_for(ActionKind::remove, true));
  EXPECT_EQ(summary.files_done, 2u);
  EXPECT_TRUE(exists(b));
  EXPECT_TRUE(exists(c));
  EXPECT_EQ(stat_of(b).st_ino, b_ino);
  EXPECT_EQ(script_lines(recorder.outcomes[0], options_for(ActionKind::remove)), "rm -f -- " + shell_quote(b) + "\n");
}

TEST_F(Actions, StaleTemporariesAreRemovedLiveOnesKept) {
  // A pid that cannot be running (above pid_max) and our own (a live process).
  const std::string stale = tree.write("d/.spindle-tmp.2147483646.0123456789abcdef", "x");
  const std::string live = tree.write("d/.spindle-tmp." + std::to_string(::getpid()) + ".0123456789abcdef", "x");
  const std::string lookalike = tree.write("d/.spindle-tmp.1.notatemp", "x");
  const ActionSummary summary = act(options_for(ActionKind::link));
  EXPECT_EQ(summary.temporaries_removed, 1u);
  EXPECT_FALSE(exists(stale));
  EXPECT_TRUE(exists(live));
  EXPECT_TRUE(exists(lookalike));
}

TEST(ActionPaths, ShellQuoteAndDestinations) {
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("-x\n\xff"), "'-x\n\xff'");
  EXPECT_EQ(move_destination("/to", "./t/a", "/home/u/t/a"), "/to/t/a");
  EXPECT_EQ(move_destination("/to/", "t/a", "/home/u/t/a"), "/to/t/a");
  EXPECT_EQ(move_destination("/to", "/data/a", "/data/a"), "/to/data/a");
  EXPECT_EQ(move_destination("/to", "../x/a", "/home/x/a"), "/to/home/x/a");
  EXPECT_EQ(relative_target("/a/b/link", "/a/c/f"), "../c/f");
  EXPECT_EQ(relative_target("/a/link", "/a/f"), "f");
  EXPECT_EQ(relative_target("/link", "/a/f"), "a/f");
  pid_t pid = 0;
  EXPECT_TRUE(parse_temporary_name(".spindle-tmp.42.0123456789abcdef", pid));
  EXPECT_EQ(pid, 42);
  EXPECT_FALSE(parse_temporary_name(".spindle-tmp.42.0123", pid));
  EXPECT_FALSE(parse_temporary_name("spindle-tmp.42.0123456789abcdef", pid));
}

}  // namespace
}  // namespace spindle
