// decide_keep as tables: each row a group, the flags, and which files are kept, protected or
// acted on. The invariant every row checks too: at least one copy kept.
#include <spindle/keep_policy.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace spindle {
namespace {

KeepCandidate file(std::string path, std::uint32_t root, std::int64_t mtime, std::uint64_t inode = 0) {
  KeepCandidate c;
  c.path = std::move(path);
  c.root = root;
  c.mtime_ns = mtime;
  c.device = inode == 0 ? 0 : 1;
  c.inode = inode;
  return c;
}

// "K" kept, "p" protected, "d" duplicate, one letter per file in the order given.
std::string roles(const std::vector<KeepCandidate>& files, const KeepPolicy& policy) {
  const KeepDecision decision = decide_keep(files, policy);
  std::string out;
  for (KeepRole role : decision.roles) {
    out += role == KeepRole::keep ? 'K' : (role == KeepRole::protect ? 'p' : 'd');
  }
  EXPECT_FALSE(decision.kept.empty());
  EXPECT_NE(out.find('K'), std::string::npos) << "a group lost its last copy";
  return out;
}

// A policy built by `change` from the default (designated initializers would leave members out).
template <typename Change>
KeepPolicy policy(Change change) {
  KeepPolicy p;
  change(p);
  return p;
}

struct Row {
  const char* name;
  KeepPolicy policy;
  std::string expected;
};

TEST(KeepPolicy, OrdersOnOneGroup) {
  // Files: /b/new under PATH 0 (mtime 30), /a/older under PATH 1 (10), /a/oldest-long under PATH 1 (5),
  // /c/x under PATH 0 (30).
  const std::vector<KeepCandidate> files = {file("/b/new", 0, 30), file("/a/older", 1, 10),
                                            file("/a/oldest-long-name", 1, 5), file("/c/x", 0, 30)};
  const std::vector<Row> rows = {
      {"default: earliest PATH, then oldest mtime, then path", {}, "Kddd"},
      {"first: earliest PATH, then path", policy([](KeepPolicy& p) { p.order = KeepOrder::first; }), "Kddd"},
      {"oldest", policy([](KeepPolicy& p) { p.order = KeepOrder::oldest; }), "ddKd"},
      {"newest: ties by PATH then path", policy([](KeepPolicy& p) { p.order = KeepOrder::newest; }), "Kddd"},
      {"shortest-path", policy([](KeepPolicy& p) { p.order = KeepOrder::shortest_path; }), "dddK"},
      {"longest-path", policy([](KeepPolicy& p) { p.order = KeepOrder::longest_path; }), "ddKd"},
      {"--keep-path beats the order", policy([](KeepPolicy& p) { p.keep_path_globs = {"*/older"}; }), "dKdd"},
      {"--priority: first DIR wins", policy([](KeepPolicy& p) {
         p.priority_dirs = {"/c", "/a"};
       }),
       "dddK"},
      {"--priority second DIR when the first has none", policy([](KeepPolicy& p) {
         p.priority_dirs = {"/zzz", "/a"};
       }),
       "ddKd"},
      {"--originals are kept first and all protected", policy([](KeepPolicy& p) { p.originals_dirs = {"/a"}; }),
       "dpKd"},
      {"--keep-count 2", policy([](KeepPolicy& p) { p.keep_count = 2; }), "KddK"},
      {"--keep-count larger than the group keeps all", policy([](KeepPolicy& p) { p.keep_count = 9; }), "KKKK"},
      {"--keep-count 0 still keeps one", policy([](KeepPolicy& p) { p.keep_count = 0; }), "Kddd"},
      {"everything an original: all kept or protected", policy([](KeepPolicy& p) { p.originals_dirs = {"/"}; }),
       "Kppp"},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(roles(files, row.policy), row.expected) << row.name;
  }
}

TEST(KeepPolicy, HardLinksOfTheKeptInodeAreNeverDuplicates) {
  // /x and /y are one inode (7); /z is another copy.
  const std::vector<KeepCandidate> files = {file("/x", 0, 1, 7), file("/y", 0, 1, 7), file("/z", 0, 1, 8)};
  EXPECT_EQ(roles(files, {}), "Kpd");
  // Even when the policy would rank /y's name first, its twin is protected, and /z acted on.
  EXPECT_EQ(roles(files, policy([](KeepPolicy& p) { p.keep_path_globs = {"/y"}; })), "pKd");
  // Keeping two keeps two distinct inodes, not two names of one.
  EXPECT_EQ(roles(files, policy([](KeepPolicy& p) { p.keep_count = 2; })), "KpK");
}

TEST(KeepPolicy, UnknownIdentityIsItsOwnCopy) {
  EXPECT_EQ(roles({file("/x", 0, 1), file("/y", 0, 1)}, {}), "Kd");
}

TEST(KeepPolicy, PathIsUnderComparesComponents) {
  EXPECT_TRUE(path_is_under("/a/b", "/a"));
  EXPECT_TRUE(path_is_under("/a/b", "/a/"));
  EXPECT_TRUE(path_is_under("/a", "/a"));
  EXPECT_FALSE(path_is_under("/ab/c", "/a"));
  EXPECT_FALSE(path_is_under("/a", "/a/b"));
  EXPECT_TRUE(path_is_under("/anything", "/"));
}

}  // namespace
}  // namespace spindle
