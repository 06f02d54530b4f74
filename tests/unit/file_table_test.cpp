#include <spindle/file_table.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace spindle {
namespace {

FileEntry entry_of_size(std::uint64_t size) {
  FileEntry entry;
  entry.size = size;
  entry.ino = size + 1000;
  entry.set_device(makedev(7, 0x12345));
  return entry;
}

// path(), append_path() and directory() + name() must all give the path back.
void expect_path(const FileTable& table, FileIndex index, std::string_view expected) {
  EXPECT_EQ(table.path(index), expected);
  std::string appended = "x";
  table.append_path(index, appended);
  EXPECT_EQ(appended, "x" + std::string(expected));
  EXPECT_EQ(std::string(table.directory(index)) + std::string(table.name(index)), expected);
  EXPECT_EQ(table.name(index).find('/'), std::string_view::npos);
}

TEST(FileTable, AddReturnsConsecutiveIndicesAndKeepsFields) {
  FileTable table;
  EXPECT_TRUE(table.empty());
  FileEntry a = entry_of_size(10);
  a.root = 3;
  a.via_symlink = 1;
  a.mtime_ns = -5;
  EXPECT_EQ(table.add(a, "dir/a"), 0u);
  EXPECT_EQ(table.add(entry_of_size(20), "b"), 1u);
  EXPECT_EQ(table.add(entry_of_size(30), ""), 2u);
  ASSERT_EQ(table.size(), 3u);
  EXPECT_EQ(table[0].size, 10u);
  EXPECT_EQ(table[0].ino, 1010u);
  EXPECT_EQ(table[0].device(), makedev(7, 0x12345));
  EXPECT_EQ(table[0].root, 3u);
  EXPECT_EQ(table[0].via_symlink, 1u);
  EXPECT_EQ(table[0].mtime_ns, -5);
  EXPECT_EQ(table[1].size, 20u);
  expect_path(table, 0, "dir/a");
  expect_path(table, 1, "b");
  expect_path(table, 2, "");
}

// The entry packs st_dev into 32 bits: every device number Linux can give (12-bit major, 20-bit
// minor) must come back as it went in.
TEST(FileTable, DeviceNumbersRoundTripAtTheirLimits) {
  for (const dev_t device : {makedev(0, 0), makedev(8, 1), makedev(259, 0xabcde), makedev(4095, 0xfffff)}) {
    FileEntry entry;
    entry.set_device(device);
    EXPECT_EQ(entry.device(), device) << major(device) << ":" << minor(device);
  }
}

// A name is at most NAME_MAX bytes; a longer one (only a FUSE file system can list one) is
// refused, never cut to fit the entry's length field.
TEST(FileTable, NameLongerThanNameMaxIsRefused) {
  FileTable table;
  EXPECT_EQ(table.add(entry_of_size(1), "d/" + std::string(255, 'n')), 0u);
  expect_path(table, 0, "d/" + std::string(255, 'n'));
  EXPECT_THROW(table.add(entry_of_size(1), "d/" + std::string(256, 'n')), std::length_error);
  EXPECT_EQ(table.size(), 1u);
}

TEST(FileTable, AddIgnoresCallerNameOffsetAndDirectory) {
  // The table owns the arena layout: stale fields in the entry passed in must not leak through.
  FileTable table;
  FileEntry entry = entry_of_size(1);
  entry.name_offset = 12345;
  entry.name_length = 99;
  entry.dir = 7;
  table.add(entry, "x");
  table.add(entry, "d/yy");
  expect_path(table, 0, "x");
  expect_path(table, 1, "d/yy");
}

TEST(FileTable, FilesOfOneDirectoryShareItsPrefix) {
  FileTable table;
  DirIndex dir = table.add_dir("/data/photos/");
  DirIndex root = table.add_dir("/");
  table.add(entry_of_size(1), dir, "a.jpg");
  table.add(entry_of_size(2), root, "etc");
  table.add(entry_of_size(3), dir, "b.jpg");
  table.add(entry_of_size(4), "/data/photos/c.jpg");  // by whole path: a new prefix, same path
  expect_path(table, 0, "/data/photos/a.jpg");
  expect_path(table, 1, "/etc");
  expect_path(table, 2, "/data/photos/b.jpg");
  expect_path(table, 3, "/data/photos/c.jpg");
  EXPECT_EQ(table[0].dir, table[2].dir);
  EXPECT_EQ(table.directory(0).data(), table.directory(2).data());  // stored once
  // Adding by whole path reuses the previous prefix when it is the same one.
  table.add(entry_of_size(5), "/data/photos/d.jpg");
  EXPECT_EQ(table[4].dir, table[3].dir);
}

TEST(FileTable, ComparePathsAgreesWithStringComparison) {
  // Prefix boundaries must not change the order: "a-x/c" < "a/b" because '-' < '/', although
  // the prefix "a/" sorts before "a-x/". Bytes above 0x7f compare as unsigned, as std::string does.
  const std::vector<std::string> paths{"a/b",    "a-x/c",  "a/b/c", "a/bc", "a/",   "ab",      "/z",    "/",
                                       "a/\xff", "a/\x01", "b",     "",     "a/b/", "a/b/c/d", "a/bb/c"};
  FileTable table;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    table.add(entry_of_size(i), paths[i]);
  }
  for (FileIndex i = 0; i < paths.size(); ++i) {
    for (FileIndex j = 0; j < paths.size(); ++j) {
      int expected = paths[i] < paths[j] ? -1 : (paths[j] < paths[i] ? 1 : 0);
      EXPECT_EQ(table.compare_paths(i, j), expected) << paths[i] << " vs " << paths[j];
    }
  }
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
