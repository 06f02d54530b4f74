#include <spindle/file_table.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace spindle {
namespace {

FileEntry entry_of_size(std::uint64_t size) {
  FileEntry entry;
  entry.size = size;
  entry.ino = size + 1000;
  entry.dev = 7;
  return entry;
}

// path() and c_path() must agree, and c_path() must end right after the path: callers hand it to
// open(2), which reads up to the first NUL.
void expect_path(const FileTable& table, FileIndex index, std::string_view expected) {
  EXPECT_EQ(table.path(index), expected);
  const char* c = table.c_path(index);
  EXPECT_EQ(std::strlen(c), expected.size());
  EXPECT_EQ(std::string_view(c, expected.size()), expected);
}

TEST(FileTable, AddReturnsConsecutiveIndicesAndKeepsFields) {
  FileTable table;
  EXPECT_TRUE(table.empty());
  FileEntry a = entry_of_size(10);
  a.nlink = 3;
  a.via_symlink = 1;
  a.mtime_ns = -5;
  EXPECT_EQ(table.add(a, "dir/a"), 0u);
  EXPECT_EQ(table.add(entry_of_size(20), "b"), 1u);
  EXPECT_EQ(table.add(entry_of_size(30), ""), 2u);
  ASSERT_EQ(table.size(), 3u);
  EXPECT_EQ(table[0].size, 10u);
  EXPECT_EQ(table[0].ino, 1010u);
  EXPECT_EQ(table[0].dev, 7u);
  EXPECT_EQ(table[0].nlink, 3u);
  EXPECT_EQ(table[0].via_symlink, 1u);
  EXPECT_EQ(table[0].mtime_ns, -5);
  EXPECT_EQ(table[1].size, 20u);
  expect_path(table, 0, "dir/a");
  expect_path(table, 1, "b");
  expect_path(table, 2, "");
}

TEST(FileTable, AddIgnoresCallerPathOffset) {
  // The table owns the arena layout: a stale offset in the entry passed in must not leak through.
  FileTable table;
  FileEntry entry = entry_of_size(1);
  entry.path_offset = 12345;
  entry.path_length = 99;
  table.add(entry, "x");
  table.add(entry, "yy");
  expect_path(table, 0, "x");
  expect_path(table, 1, "yy");
}

TEST(FileTable, AppendRebasesPathOffsets) {
  FileTable first;
  first.add(entry_of_size(1), "first/one");
  first.add(entry_of_size(2), "first/two");
  FileTable second;
  second.add(entry_of_size(3), "second/three");
  second.add(entry_of_size(4), "4");
  first.append(second);
  ASSERT_EQ(first.size(), 4u);
  expect_path(first, 0, "first/one");
  expect_path(first, 1, "first/two");
  expect_path(first, 2, "second/three");
  expect_path(first, 3, "4");
  EXPECT_EQ(first[2].size, 3u);
  EXPECT_EQ(first[3].size, 4u);
  // The source is left as it was.
  ASSERT_EQ(second.size(), 2u);
  expect_path(second, 0, "second/three");
}

TEST(FileTable, AppendToEmptyAndFromEmpty) {
  FileTable empty;
  FileTable table;
  table.add(entry_of_size(1), "a");
  empty.append(table);
  ASSERT_EQ(empty.size(), 1u);
  expect_path(empty, 0, "a");
  table.append(FileTable{});
  ASSERT_EQ(table.size(), 1u);
  expect_path(table, 0, "a");
}

TEST(FileTable, FilterKeepsOrderAndPaths) {
  FileTable table;
  const std::vector<std::string> names{"a", "bb", "ccc", "dddd", "eeeee"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    table.add(entry_of_size(i), names[i]);
  }
  table.filter({true, false, true, false, true});
  ASSERT_EQ(table.size(), 3u);
  expect_path(table, 0, "a");
  expect_path(table, 1, "ccc");
  expect_path(table, 2, "eeeee");
  EXPECT_EQ(table[0].size, 0u);
  EXPECT_EQ(table[1].size, 2u);
  EXPECT_EQ(table[2].size, 4u);
}

TEST(FileTable, FilterThenAppendKeepsBothSidesValid) {
  FileTable table;
  table.add(entry_of_size(1), "dropped");
  table.add(entry_of_size(2), "kept");
  table.filter({false, true});
  FileTable other;
  other.add(entry_of_size(3), "appended");
  table.append(other);
  ASSERT_EQ(table.size(), 2u);
  expect_path(table, 0, "kept");
  expect_path(table, 1, "appended");
}

TEST(FileTable, PathsWithNewlinesAndNonUtf8BytesSurvive) {
  // File names are bytes: anything but NUL and '/' in a component.
  const std::string newline = "dir/line\nbreak";
  const std::string latin1 = "caf\xe9/\xff\xfe\x80";
  const std::string controls = "\x01\x1b[31m\t\\";
  FileTable table;
  table.add(entry_of_size(1), newline);
  FileTable other;
  other.add(entry_of_size(2), latin1);
  other.add(entry_of_size(3), controls);
  table.append(other);
  table.filter({true, true, true});
  expect_path(table, 0, newline);
  expect_path(table, 1, latin1);
  expect_path(table, 2, controls);
}

}  // namespace
}  // namespace spindle
