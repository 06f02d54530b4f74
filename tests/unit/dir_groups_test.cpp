// Duplicate directories (find_dir_groups) on trees described in the test: a FileTable of the
// walked files, the file groups their contents make, and a lister that answers from the same
// description (what is on disk now, filtered files and symlinks included). Each case names the
// directory groups and the file groups it expects.
#include <spindle/dir_groups.hpp>
#include <spindle/report.hpp>
#include <spindle/report_read.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace spindle {
namespace {

struct FakeFile {
  std::string path;
  std::uint64_t size = 0;
  std::uint64_t content = 0;  // equal content, equal number
  bool in_table = true;       // false: on disk, but left out by a filter (or removed as an alias)
};

struct Tree {
  std::vector<std::string> dirs;  // walked directories, without a trailing '/'
  std::vector<FakeFile> files;
  std::vector<std::string> others;      // on disk, neither file nor directory nor symlink (a FIFO)
  std::vector<std::string> unlistable;  // directories that can no longer be listed
  std::vector<std::pair<std::string, std::string>> links = {};  // symlinks: path, target
};

using PathGroups = std::vector<std::vector<std::string>>;

struct Case {
  const char* name;
  Tree tree;
  DirGroupOptions options;
  PathGroups dir_groups;   // each sorted; groups in report order
  PathGroups file_groups;  // each sorted; groups in report order
};

std::string parent_prefix(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

std::string base_name(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

struct Outcome {
  PathGroups dirs;
  PathGroups files;
  std::vector<std::string> listed;  // prefixes the finder listed, sorted
};

Outcome run(const Case& c) {
  FileTable table;
  std::map<std::uint64_t, std::vector<FileIndex>> by_content;
  for (const FakeFile& file : c.tree.files) {
    if (file.in_table) {
      FileEntry entry;
      entry.size = file.size;
      by_content[file.content].push_back(table.add(entry, file.path));
    }
  }
  std::vector<DuplicateGroup> groups;
  for (const auto& [content, members] : by_content) {
    if (members.size() >= 2 && table[members[0]].size > 0) {
      groups.push_back({.size = table[members[0]].size, .hash = Digest{0, content}, .files = members});
    }
  }
  sort_groups(groups, table);
  std::vector<std::string> walked;
  for (const std::string& dir : c.tree.dirs) {
    walked.push_back(dir + "/");
  }
  Outcome outcome;
  const DirLister lister = [&](const std::string& prefix, const std::vector<std::string_view>&) {
    outcome.listed.push_back(prefix);
    std::optional<std::vector<ListedEntry>> entries;
    if (std::find(c.tree.unlistable.begin(), c.tree.unlistable.end(), prefix) != c.tree.unlistable.end()) {
      return entries;
    }
    entries.emplace();
    for (const std::string& dir : c.tree.dirs) {
      if (parent_prefix(dir) == prefix) {
        entries->push_back({.name = base_name(dir), .kind = ListedEntry::Kind::directory, .size = 0, .target = {}});
      }
    }
    for (const FakeFile& file : c.tree.files) {
      if (parent_prefix(file.path) == prefix) {
        entries->push_back(
            {.name = base_name(file.path), .kind = ListedEntry::Kind::file, .size = file.size, .target = {}});
      }
    }
    for (const auto& [link, target] : c.tree.links) {
      if (parent_prefix(link) == prefix) {
        entries->push_back({.name = base_name(link), .kind = ListedEntry::Kind::symlink, .size = 0, .target = target});
      }
    }
    for (const std::string& other : c.tree.others) {
      if (parent_prefix(other) == prefix) {
        entries->push_back({.name = base_name(other), .kind = ListedEntry::Kind::other, .size = 0, .target = {}});
      }
    }
    return entries;
  };
  DirFolding folding = find_dir_groups(table, walked, groups, c.options, lister);
  for (const DirGroup& group : folding.dir_groups) {
    outcome.dirs.push_back(group.dirs);
  }
  for (const DuplicateGroup& group : folding.groups) {
    std::vector<std::string> paths;
    for (FileIndex f : group.files) {
      paths.push_back(table.path(f));
    }
    outcome.files.push_back(paths);
  }
  std::sort(outcome.listed.begin(), outcome.listed.end());
  return outcome;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"EqualDirectories",
       {{"r", "r/a", "r/b"}, {{"r/a/x", 10, 1}, {"r/a/y", 20, 2}, {"r/b/x", 10, 1}, {"r/b/y", 20, 2}}, {}, {}},
       {},
       {{"r/a", "r/b"}},
       {}},
      {"EqualButOneName",
       {{"r", "r/a", "r/b"}, {{"r/a/x", 10, 1}, {"r/a/y", 20, 2}, {"r/b/x", 10, 1}, {"r/b/z", 20, 2}}, {}, {}},
       {},
       {},
       {{"r/a/y", "r/b/z"}, {"r/a/x", "r/b/x"}}},
      {"NestedEqualDirectoriesReportedAtTheTopOnly",
       {{"r", "r/a", "r/a/s", "r/a/s/t", "r/b", "r/b/s", "r/b/s/t"},
        {{"r/a/s/t/x", 10, 1},
         {"r/a/s/y", 20, 2},
         {"r/a/z", 30, 3},
         {"r/b/s/t/x", 10, 1},
         {"r/b/s/y", 20, 2},
         {"r/b/z", 30, 3}},
        {},
        {}},
       {},
       {{"r/a", "r/b"}},
       {}},
      {"IgnoreNamesComparesContentsOnly",
       {{"r", "r/a", "r/b", "r/b/sub"},
        {{"r/a/x", 10, 1}, {"r/a/y", 20, 2}, {"r/b/p", 20, 2}, {"r/b/sub/q", 10, 1}},
        {},
        {}},
       {.ignore_names = true, .include_empty = false},
       {{"r/a", "r/b"}},
       {}},
      {"WithNamesLayoutCounts",
       {{"r", "r/a", "r/b", "r/b/sub"},
        {{"r/a/x", 10, 1}, {"r/a/y", 20, 2}, {"r/b/p", 20, 2}, {"r/b/sub/q", 10, 1}},
        {},
        {}},
       {},
       {},
       {{"r/a/y", "r/b/p"}, {"r/a/x", "r/b/sub/q"}}},
      {"IgnoreNamesCountsCopies",  // {x, x} is not {x}
       {{"r", "r/a", "r/b"}, {{"r/a/x", 10, 1}, {"r/a/y", 10, 1}, {"r/b/x", 10, 1}}, {}, {}},
       {.ignore_names = true, .include_empty = false},
       {},
       {{"r/a/x", "r/a/y", "r/b/x"}}},
      {"EmptyDirectoriesNeedIncludeEmpty", {{"r", "r/a", "r/b"}, {}, {}, {}}, {}, {}, {}},
      {"EmptyDirectoriesWithIncludeEmpty",
       {{"r", "r/a", "r/b"}, {}, {}, {}},
       {.ignore_names = false, .include_empty = true},
       {{"r/a", "r/b"}},
       {}},
      {"AnEmptySubdirectoryIsContent",
       {{"r", "r/a", "r/a/e", "r/b"}, {{"r/a/x", 10, 1}, {"r/b/x", 10, 1}}, {}, {}},
       {},
       {},
       {{"r/a/x", "r/b/x"}}},
      {"EqualEmptySubdirectoriesMatch",
       {{"r", "r/a", "r/a/e", "r/b", "r/b/e"}, {{"r/a/x", 10, 1}, {"r/b/x", 10, 1}}, {}, {}},
       {},
       {{"r/a", "r/b"}},
       {}},
      {"FilteredFileMakesItsDirectoryIncomplete",
       {{"r", "r/a", "r/b"},
        {{"r/a/x", 10, 1}, {"r/a/h", 5, 7, false}, {"r/b/x", 10, 1}, {"r/b/h", 5, 7, false}},
        {},
        {}},
       {},
       {},
       {{"r/a/x", "r/b/x"}}},
      {"IncompletenessGoesUp",
       {{"p", "p/a", "p/a/s", "q", "q/a", "q/a/s"},
        {{"p/a/x", 10, 1},
         {"p/a/s/y", 20, 2},
         {"p/a/s/h", 5, 7, false},
         {"q/a/x", 10, 1},
         {"q/a/s/y", 20, 2},
         {"q/a/s/h", 5, 7, false}},
        {},
        {}},
       {},
       {},
       {{"p/a/s/y", "q/a/s/y"}, {"p/a/x", "q/a/x"}}},
      {"SpecialFileMakesItsDirectoryIncomplete",
       {{"r", "r/a", "r/b"}, {{"r/a/x", 10, 1}, {"r/b/x", 10, 1}}, {"r/a/fifo", "r/b/fifo"}, {}},
       {},
       {},
       {{"r/a/x", "r/b/x"}}},
      {"EqualSymlinksAreEqualContent",
       {{"r", "r/a", "r/b"}, {{"r/a/x", 10, 1}, {"r/b/x", 10, 1}}, {}, {}, {{"r/a/l", "../t"}, {"r/b/l", "../t"}}},
       {},
       {{"r/a", "r/b"}},
       {}},
      {"SymlinksWithOtherTargetsDiffer",
       {{"r", "r/a", "r/b"}, {{"r/a/x", 10, 1}, {"r/b/x", 10, 1}}, {}, {}, {{"r/a/l", "../t"}, {"r/b/l", "../u"}}},
       {},
       {},
       {{"r/a/x", "r/b/x"}}},
      {"UnlistableDirectoryIsIncomplete",
       {{"r", "r/a", "r/b"}, {{"r/a/x", 10, 1}, {"r/b/x", 10, 1}}, {}, {"r/b/"}},
       {},
       {},
       {{"r/a/x", "r/b/x"}}},
      {"AnEmptyFileOutsideTheTableIsKnownContent",
       {{"r", "r/a", "r/b", "r/c"},
        {{"r/a/x", 10, 1},
         {"r/a/__init__", 0, 0, false},
         {"r/b/x", 10, 1},
         {"r/b/__init__", 0, 0, false},
         {"r/c/x", 10, 1}},
        {},
        {}},
       {},
       {{"r/a", "r/b"}},
       {{"r/a/x", "r/c/x"}}},
      {"UniqueFilesMakeDirectoriesUnique",
       {{"r", "r/a", "r/b"}, {{"r/a/x", 10, 1}, {"r/a/u", 9, 8}, {"r/b/x", 10, 1}, {"r/b/u", 9, 9}}, {}, {}},
       {},
       {},
       {{"r/a/x", "r/b/x"}}},
      {"CopiesOutsideStayInTheirGroups",
       {{"r", "r/a", "r/b", "r/c"},
        {{"r/a/x", 10, 1}, {"r/b/x", 10, 1}, {"r/c/x", 10, 1}, {"r/c/y", 10, 1}, {"r/c/u", 3, 4}},
        {},
        {}},
       {},
       {{"r/a", "r/b"}},
       {{"r/c/x", "r/c/y"}}},
      {"ThreeCopiesOfATree",
       {{"r", "r/a", "r/b", "r/c"}, {{"r/a/x", 10, 1}, {"r/b/x", 10, 1}, {"r/c/x", 10, 1}}, {}, {}},
       {},
       {{"r/a", "r/b", "r/c"}},
       {}},
  };
  return all;
}

TEST(DirGroups, Cases) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    Outcome outcome = run(c);
    EXPECT_EQ(outcome.dirs, c.dir_groups);
    EXPECT_EQ(outcome.files, c.file_groups);
  }
}

// Directories holding a file with no copy are never listed again: the cost of --dirs is one
// listing per directory whose files all have copies.
TEST(DirGroups, ListsOnlyDirectoriesWhoseFilesAllHaveCopies) {
  Case c{"",
         {{"r", "r/a", "r/b", "r/u"}, {{"r/a/x", 10, 1}, {"r/b/x", 10, 1}, {"r/u/x", 10, 1}, {"r/u/v", 4, 5}}, {}, {}},
         {},
         {},
         {}};
  Outcome outcome = run(c);
  EXPECT_EQ(outcome.listed, (std::vector<std::string>{"r/a/", "r/b/"}));
}

// A directory equal to one inside it (possible when names are ignored: r/a holds only r/a/s,
// whose contents are the same) is reported at most once, never with itself inside.
TEST(DirGroups, IgnoreNamesNeverReportsADirectoryWithOneInsideIt) {
  Case c{"",
         {{"r", "r/a", "r/a/s", "r/b"}, {{"r/a/s/x", 10, 1}, {"r/b/x", 10, 1}}, {}, {}},
         {.ignore_names = true, .include_empty = false},
         {},
         {}};
  Outcome outcome = run(c);
  ASSERT_EQ(outcome.dirs.size(), 1u);
  const std::vector<std::string>& group = outcome.dirs[0];
  EXPECT_EQ(group.size(), 2u);
  EXPECT_FALSE(std::find(group.begin(), group.end(), "r/a") != group.end() &&
               std::find(group.begin(), group.end(), "r/a/s") != group.end());
}

// Reports with directory groups, written in json and text and read back as the actions read them:
// the file groups come back, the directory groups are read past, never an error.
TEST(DirGroups, ReportsWithDirectoryGroupsAreReadBackAsFileGroups) {
  GroupResult result;
  DuplicateGroup group{.size = 7, .hash = Digest{1, 2}, .files = {}};
  for (const char* path : {"misc/f", "r/a/f"}) {
    FileEntry entry;
    entry.size = 7;
    group.files.push_back(result.files.add(entry, path));
  }
  result.groups.push_back(group);
  result.dir_groups.push_back({.size = 70, .hash = Digest{3, 4}, .dirs = {"r/a", "r/b c"}});
  result.dirs_compared = true;
  for (ReportFormat format : {ReportFormat::json, ReportFormat::text}) {
    std::ostringstream out;
    make_reporter(format)->write(result, out);
    SCOPED_TRACE(out.str());
    EXPECT_NE(
        out.str().find(format == ReportFormat::json ? "\"dir_groups\":[{\"size\":70," : "# 2 directories of 70 B"),
        std::string::npos);
    ParsedReport parsed = parse_report(out.str(), "report");
    ASSERT_EQ(parsed.groups.size(), 1u);
    ASSERT_EQ(parsed.groups[0].files.size(), 2u);
    EXPECT_EQ(parsed.groups[0].files[0].path, "misc/f");
    EXPECT_EQ(parsed.groups[0].files[1].path, "r/a/f");
  }
  // A text directory group whose header promises more directories than follow is malformed.
  EXPECT_THROW(parse_text_report("# 3 directories of 70 B (70 bytes), 00000000000000030000000000000004, 140 B wasted\n"
                                 "r/a/\nr/b/\n",
                                 "report"),
               ReportError);
}

}  // namespace
}  // namespace spindle
