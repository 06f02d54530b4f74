// Replication factors and --isolate (replication.hpp): copies counted per mode, the size groups
// dropped before any read, the groups a report keeps, and what the actions make of the report.
#include <spindle/keep_policy.hpp>
#include <spindle/replication.hpp>
#include <spindle/report.hpp>
#include <spindle/report_read.hpp>

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace spindle {
namespace {

struct Spec {
  const char* path;
  std::uint64_t ino;
  std::uint32_t root;
  std::uint64_t size = 10;
};

FileTable table(const std::vector<Spec>& specs) {
  FileTable files;
  for (const Spec& spec : specs) {
    FileEntry entry;
    entry.size = spec.size;
    entry.ino = spec.ino;
    entry.root = spec.root;
    entry.set_device(makedev(8, 1));
    files.add(entry, spec.path);
  }
  return files;
}

Config config_with(std::size_t rf_over, std::size_t rf_under, bool isolate, bool hard_links = false) {
  Config config;
  config.rf_over = rf_over;
  config.rf_under = rf_under;
  config.isolate = isolate;
  config.hard_links = hard_links;
  return config;
}

TEST(Replication, CountsCopiesAsInodesPathsOrRoots) {
  // a and b: two links to inode 1 (under --hard-links both stay in the table); c, d under root 1.
  const FileTable files = table({{"p/a", 1, 0}, {"p/b", 1, 0}, {"q/c", 2, 1}, {"q/d", 3, 1}});
  const std::vector<FileIndex> all{0, 1, 2, 3};
  EXPECT_EQ(count_copies(all, files, config_with(1, 0, false)), 3u);        // inodes 1, 2, 3
  EXPECT_EQ(count_copies(all, files, config_with(1, 0, false, true)), 4u);  // every path
  EXPECT_EQ(count_copies(all, files, config_with(1, 0, true)), 2u);         // roots 0 and 1
  EXPECT_EQ(count_copies(std::vector<FileIndex>{2, 3}, files, config_with(1, 0, true)), 1u);
}

TEST(Replication, ReportedByFactor) {
  struct Row {
    std::size_t rf_over, rf_under, copies;
    bool reported;
  };
  for (const Row& row : std::vector<Row>{{1, 0, 1, false},
                                         {1, 0, 2, true},
                                         {2, 0, 2, false},
                                         {2, 0, 3, true},
                                         {1, 2, 1, true},
                                         {1, 2, 2, false},
                                         {1, 3, 2, true},
                                         {1, 3, 3, false}}) {
    EXPECT_EQ(reported(row.copies, config_with(row.rf_over, row.rf_under, false)), row.reported)
        << "rf_over " << row.rf_over << " rf_under " << row.rf_under << " copies " << row.copies;
  }
}

TEST(Replication, IsolateDropsSizeGroupsUnderOneRoot) {
  // Size 10: three files under root 0. Size 20: one under root 0, one under root 1.
  const FileTable files = table({{"p/a", 1, 0}, {"p/b", 2, 0}, {"p/c", 3, 0}, {"p/d", 4, 0, 20}, {"q/e", 5, 1, 20}});
  Candidates candidates;
  candidates.add_group(std::vector<FileIndex>{0, 1, 2});
  candidates.add_group(std::vector<FileIndex>{3, 4});
  const Candidates isolated = drop_unreportable(candidates, files, config_with(1, 0, true));
  ASSERT_EQ(isolated.groups(), 1u);
  EXPECT_EQ(isolated.group(0)[0], 3u);
  // Without --isolate both can hold duplicates; --rf-over 2 needs three copies.
  EXPECT_EQ(drop_unreportable(candidates, files, config_with(1, 0, false)).groups(), 2u);
  const Candidates over2 = drop_unreportable(candidates, files, config_with(2, 0, false));
  ASSERT_EQ(over2.groups(), 1u);
  EXPECT_EQ(over2.group(0).size(), 3u);
  // --rf-under needs every group's members: nothing is dropped, with or without --isolate.
  EXPECT_EQ(drop_unreportable(candidates, files, config_with(1, 2, true)).groups(), 2u);
}

TEST(Replication, UniqueReportsEveryUngroupedReadableFileAsAGroupOfOne) {
  const FileTable files = table({{"a", 1, 0}, {"b", 2, 0}, {"c", 3, 0}, {"d", 4, 0}});
  Candidates found;  // a and b are identical; c failed to read; d has no copy
  found.add_group(std::vector<FileIndex>{0, 1}, Digest{});
  const std::vector<FileError> errors{FileError{"c", 5, "read", ""}};
  const std::vector<DuplicateGroup> unique = select_groups(found, files, config_with(1, 2, false), errors);
  ASSERT_EQ(unique.size(), 1u);
  EXPECT_EQ(unique[0].files, std::vector<FileIndex>{3});
  EXPECT_EQ(unique[0].copies, 1u);
  EXPECT_FALSE(unique[0].hashed);
  // --rf-under 3: the pair (2 copies) too, hashed.
  const std::vector<DuplicateGroup> under3 = select_groups(found, files, config_with(1, 3, false), errors);
  ASSERT_EQ(under3.size(), 2u);
  EXPECT_TRUE(under3[0].hashed);
  EXPECT_EQ(under3[0].copies, 2u);
  // The default report: the pair only.
  const std::vector<DuplicateGroup> dups = select_groups(found, files, config_with(1, 0, false), errors);
  ASSERT_EQ(dups.size(), 1u);
  EXPECT_EQ(dups[0].files.size(), 2u);
}

TEST(Replication, KeepPolicyNeverActsOnAGroupOfOne) {
  // Even a policy that would rather not keep this file (it is outside --originals and --priority)
  // keeps the only copy.
  KeepPolicy policy;
  policy.originals_dirs = {"/elsewhere"};
  policy.priority_dirs = {"/other"};
  KeepCandidate only;
  only.path = "/data/a";
  only.device = 1;
  only.inode = 7;
  const KeepDecision decision = decide_keep({only}, policy);
  ASSERT_EQ(decision.roles.size(), 1u);
  EXPECT_EQ(decision.roles[0], KeepRole::keep);
}

// The report of --unique or --rf-under, in the two formats the actions read, is refused whole.
TEST(Replication, ActionsRefuseRfUnderReports) {
  GroupResult result;
  FileEntry entry;
  entry.size = 3;
  entry.ino = 1;
  result.files.add(entry, "only");
  entry.ino = 2;
  result.files.add(entry, "x");
  entry.ino = 3;
  result.files.add(entry, "y");
  result.rf_under = 3;
  DuplicateGroup one;
  one.size = 3;
  one.files = {0};
  one.copies = 1;
  one.hashed = false;
  DuplicateGroup pair;  // two copies: a group an action could act on, were it not for the mark
  pair.size = 3;
  pair.files = {1, 2};
  pair.copies = 2;
  for (const std::vector<DuplicateGroup>& groups :
       std::vector<std::vector<DuplicateGroup>>{{one}, {pair}, {pair, one}}) {
    result.groups = groups;
    for (ReportFormat format : {ReportFormat::json, ReportFormat::text}) {
      std::ostringstream out;
      make_reporter(format)->write(result, out);
      try {
        parse_report(out.str(), "r");
        ADD_FAILURE() << "accepted: " << out.str();
      } catch (const ReportError& e) {
        EXPECT_NE(std::string(e.what()).find("--rf-under or --unique"), std::string::npos) << e.what();
      }
    }
  }
  // The same pair in a report of duplicates is accepted.
  result.rf_under = 0;
  result.groups = {pair};
  for (ReportFormat format : {ReportFormat::json, ReportFormat::text}) {
    std::ostringstream out;
    make_reporter(format)->write(result, out);
    EXPECT_EQ(parse_report(out.str(), "r").groups.size(), 1u);
  }
}

TEST(Replication, OneFileGroupsInEveryFormat) {
  GroupResult result;
  FileEntry entry;
  entry.size = 1536;
  result.files.add(entry, "only");
  result.rf_under = 2;
  DuplicateGroup one;
  one.size = 1536;
  one.files = {0};
  one.copies = 1;
  one.hashed = false;
  result.groups = {one};
  const auto write = [&](ReportFormat format) {
    std::ostringstream out;
    make_reporter(format)->write(result, out);
    return out.str();
  };
  EXPECT_EQ(write(ReportFormat::text), "# 1 file of 1.5 KiB (1536 bytes), no hash, 1 copy\nonly\n");
  EXPECT_EQ(write(ReportFormat::fdupes), "only\n\n");
  EXPECT_EQ(write(ReportFormat::csv), "size,hash,count,path\n1536,,1,only\n");
  const std::string json = write(ReportFormat::json);
  EXPECT_EQ(json.rfind("{\"rf_under\":2,\"groups\":[{\"size\":1536,\"hash\":null,\"copies\":1,\"files\":[", 0), 0u)
      << json;
}

}  // namespace
}  // namespace spindle
