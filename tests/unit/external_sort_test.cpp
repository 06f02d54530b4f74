#include <spindle/error.hpp>
#include <spindle/external_sort.hpp>

#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <stdlib.h>
#include <string>
#include <vector>

namespace spindle {
namespace {

// A private directory for runs, so the test can see that none is left behind.
class SortDir {
 public:
  SortDir() {
    const char* base = std::getenv("TMPDIR");
    m_path = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/spindle-sort-test-XXXXXX";
    if (::mkdtemp(m_path.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
  }
  ~SortDir() { ::rmdir(m_path.c_str()); }
  const std::string& path() const { return m_path; }
  std::size_t entries() const {
    std::size_t count = 0;
    DIR* dir = ::opendir(m_path.c_str());
    while (dirent* entry = ::readdir(dir)) {
      count += std::string_view(entry->d_name) != "." && std::string_view(entry->d_name) != "..";
    }
    ::closedir(dir);
    return count;
  }

 private:
  std::string m_path;
};

std::vector<std::string> random_records(std::size_t count, unsigned seed) {
  std::mt19937 random(seed);
  std::vector<std::string> records;
  for (std::size_t i = 0; i < count; ++i) {
    std::string record(random() % 40, '\0');
    for (char& c : record) {
      c = static_cast<char>(random() % 4);  // few symbols: many shared prefixes and equal records
    }
    records.push_back(std::move(record));
  }
  return records;
}

std::vector<std::string> sorted_by(ExternalSortOptions options, const std::vector<std::string>& records,
                                   std::size_t* runs = nullptr) {
  ExternalSorter sorter(std::move(options));
  for (const std::string& record : records) {
    sorter.add(record);
  }
  std::vector<std::string> out;
  sorter.finish([&](std::string_view record) {
    out.emplace_back(record);
    return true;
  });
  if (runs != nullptr) {
    *runs = sorter.runs_written();
  }
  return out;
}

TEST(ExternalSort, InMemoryMatchesStdSortAndWritesNoRun) {
  SortDir dir;
  const std::vector<std::string> records = random_records(5000, 1);
  std::size_t runs = 99;
  const std::vector<std::string> out = sorted_by({.tmp_dir = dir.path()}, records, &runs);
  std::vector<std::string> expected = records;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(out, expected);
  EXPECT_EQ(runs, 0u);
}

TEST(ExternalSort, ManyRunsMergeToTheSameOrder) {
  SortDir dir;
  const std::vector<std::string> records = random_records(20000, 2);
  std::size_t runs = 0;
  const std::vector<std::string> out = sorted_by({.tmp_dir = dir.path(), .run_bytes = 4096}, records, &runs);
  std::vector<std::string> expected = records;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(out, expected);
  EXPECT_GT(runs, 10u);
  EXPECT_EQ(dir.entries(), 0u) << "runs are unnamed files: nothing may be left in the directory";
}

TEST(ExternalSort, MoreRunsThanFanInMergeInPasses) {
  SortDir dir;
  const std::vector<std::string> records = random_records(20000, 3);
  std::size_t runs = 0;
  const std::vector<std::string> out =
      sorted_by({.tmp_dir = dir.path(), .run_bytes = 2048, .fan_in = 3}, records, &runs);
  std::vector<std::string> expected = records;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(out, expected);
  // Initial runs plus the intermediate ones a fan-in of 3 needs.
  EXPECT_GT(runs, 100u);
}

TEST(ExternalSort, EmptyInputAndEmptyRecords) {
  SortDir dir;
  EXPECT_TRUE(sorted_by({.tmp_dir = dir.path(), .run_bytes = 16}, {}).empty());
  const std::vector<std::string> records{"", "b", "", "a"};
  EXPECT_EQ(sorted_by({.tmp_dir = dir.path(), .run_bytes = 16}, records), (std::vector<std::string>{"", "", "a", "b"}));
}

TEST(ExternalSort, StopsWhenAsked) {
  SortDir dir;
  ExternalSorter sorter({.tmp_dir = dir.path(), .run_bytes = 64});
  for (const std::string& record : random_records(1000, 4)) {
    sorter.add(record);
  }
  std::size_t seen = 0;
  sorter.finish([&](std::string_view) { return ++seen < 10; });
  EXPECT_EQ(seen, 10u);
}

TEST(ExternalSort, MissingDirectoryIsFatalNamingIt) {
  ExternalSorter sorter({.tmp_dir = "/nonexistent-spindle-dir", .run_bytes = 16});
  try {
    for (const std::string& record : random_records(100, 5)) {
      sorter.add(record);
    }
    FAIL() << "no Fatal";
  } catch (const Fatal& fatal) {
    EXPECT_NE(std::string(fatal.what()).find("/nonexistent-spindle-dir"), std::string::npos) << fatal.what();
  }
}

}  // namespace
}  // namespace spindle
