#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
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

// All files of a run. Stored in fixed-size chunks (entries and path bytes), so growing never
// copies what is there: at a million files a doubling vector would briefly hold three times its
// content. Paths are NUL-terminated in the path chunks; a FileEntry holds their offset.
class FileTable {
 public:
  FileTable() = default;
  FileTable(FileTable&&) noexcept = default;
  FileTable& operator=(FileTable&&) noexcept = default;
  FileTable(const FileTable&) = delete;
  FileTable& operator=(const FileTable&) = delete;

  FileIndex add(const FileEntry& entry, std::string_view path);
  void append(const FileTable& other);

  std::size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  const FileEntry& operator[](FileIndex index) const {
    return m_entry_chunks[index / k_entries_per_chunk][index % k_entries_per_chunk];
  }
  std::string_view path(FileIndex index) const {
    const FileEntry& e = (*this)[index];
    return {path_data(e.path_offset), e.path_length};
  }
  // The path as a NUL-terminated C string.
  const char* c_path(FileIndex index) const { return path_data((*this)[index].path_offset); }

  // Keep only the entries for which keep[i] is true, in order (paths stay where they are).
  void filter(const std::vector<bool>& keep);

  std::size_t memory_bytes() const {
    return m_entry_chunks.size() * k_entries_per_chunk * sizeof(FileEntry) + m_path_chunks.size() * k_path_chunk;
  }

 private:
  static constexpr std::size_t k_entries_per_chunk = 4096;
  static constexpr std::size_t k_path_chunk = std::size_t{1} << 20;

  struct FreeDeleter {
    void operator()(void* p) const;
  };
  const char* path_data(std::uint64_t offset) const {
    return m_path_chunks[offset / k_path_chunk].get() + offset % k_path_chunk;
  }
  FileEntry& slot(std::size_t index) {
    return m_entry_chunks[index / k_entries_per_chunk][index % k_entries_per_chunk];
  }

  // Raw storage: pages are touched only when entries are written.
  std::vector<std::unique_ptr<FileEntry[], FreeDeleter>> m_entry_chunks;
  std::vector<std::unique_ptr<char[], FreeDeleter>> m_path_chunks;
  std::size_t m_size = 0;
  std::size_t m_path_used = k_path_chunk;  // bytes used in the last path chunk
};

}  // namespace spindle
