#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace spindle {

// Index of a file in a FileTable.
using FileIndex = std::uint32_t;

// One walked regular file. Compact (no per-file std::string): the path lives in the table's arena.
struct FileEntry {
  std::uint64_t size = 0;
  std::uint64_t ino = 0;
  std::uint64_t dev = 0;  // st_dev
  std::int64_t mtime_ns = 0;
  std::uint64_t path_offset = 0;
  std::uint32_t path_length = 0;
  std::uint32_t nlink : 31 = 1;
  // Reached through a symlink to a file (--follow-links): an alias of its target, never a copy.
  std::uint32_t via_symlink : 1 = 0;
};

// All files of a run. Append-only while walking (one table per worker), merged once.
class FileTable {
 public:
  FileIndex add(const FileEntry& entry, std::string_view path);
  void append(const FileTable& other);
  void reserve(std::size_t files, std::size_t path_bytes);

  std::size_t size() const { return m_entries.size(); }
  bool empty() const { return m_entries.empty(); }
  const FileEntry& operator[](FileIndex index) const { return m_entries[index]; }
  std::string_view path(FileIndex index) const {
    const FileEntry& e = m_entries[index];
    return {m_paths.data() + e.path_offset, e.path_length};
  }
  // The path as a NUL-terminated C string (the arena stores a NUL after every path).
  const char* c_path(FileIndex index) const { return m_paths.data() + m_entries[index].path_offset; }
  std::span<const FileEntry> entries() const { return m_entries; }

  // Keep only the entries for which keep[i] is true (paths stay in the arena).
  void filter(const std::vector<bool>& keep);

  std::size_t memory_bytes() const { return m_entries.capacity() * sizeof(FileEntry) + m_paths.capacity(); }

 private:
  std::vector<FileEntry> m_entries;
  std::string m_paths;
};

}  // namespace spindle
