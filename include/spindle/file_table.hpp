#pragma once

#include <sys/sysmacros.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spindle {

// Index of a file in a FileTable.
using FileIndex = std::uint32_t;
// Index of a directory prefix in a FileTable.
using DirIndex = std::uint32_t;

// One walked regular file. Compact (no per-file std::string): its name lives in the table's
// arena, after the directory prefix it shares with its siblings.
struct FileEntry {
  std::uint64_t size = 0;
  std::uint64_t ino = 0;
  // With size, what a reader compares after reading to see a file changed while it was read
  // (ctime too, since a write followed by setting mtime back still moves ctime).
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::uint64_t name_offset : 35 = 0;  // set by the table (its arena holds at most 32 GiB)
  std::uint64_t name_length : 8 = 0;   // set by the table (a name has at most NAME_MAX bytes)
  // Reached through a symlink to a file (--follow-links, or a PATH that is a symlink): an alias
  // of its target, never a copy.
  std::uint64_t via_symlink : 1 = 0;
  // Index in config.paths of the PATH the file was reached from (the first PATH that contains
  // it; see walk.hpp).
  std::uint64_t root : 20 = 0;
  DirIndex dir = 0;  // set by the table

  // st_dev. Linux's dev_t has a 12-bit major and a 20-bit minor: 32 bits hold every device, and
  // the 8 bytes saved keep the entry at 48 bytes (1M files: 8 MB less at peak).
  dev_t device() const { return makedev(m_device >> 20, m_device & 0xfffffu); }
  void set_device(dev_t device) {
    m_device =
        (static_cast<std::uint32_t>(major(device)) << 20) | (static_cast<std::uint32_t>(minor(device)) & 0xfffffu);
  }

  static constexpr std::uint32_t k_max_root = (1u << 20) - 1;
  static constexpr std::size_t k_max_name = 255;
  static constexpr std::uint64_t k_max_name_offset = (std::uint64_t{1} << 35) - 1;

 private:
  std::uint32_t m_device = 0;
};

// All files of a run. A path is stored as a directory prefix, once per directory, and the file's
// own name: a tree's paths share long prefixes, so this holds them in a fraction of the bytes.
// Storage is in fixed-size chunks, so growing never copies what is there: at a million files a
// doubling vector would briefly hold three times its content.
class FileTable {
 public:
  FileTable() = default;
  FileTable(FileTable&&) noexcept = default;
  FileTable& operator=(FileTable&&) noexcept = default;
  FileTable(const FileTable&) = delete;
  FileTable& operator=(const FileTable&) = delete;

  // A directory prefix for later add() calls: everything a path has before its name, including
  // the trailing '/' ("a/b/", "/", or "" for a bare name). Interning is the caller's business:
  // a prefix added twice is stored twice, which wastes bytes but changes no path.
  DirIndex add_dir(std::string_view prefix);
  // Adds a file whose path is the prefix of `dir` followed by `name`.
  FileIndex add(const FileEntry& entry, DirIndex dir, std::string_view name);
  // Adds a file by its whole path, reusing the last directory prefix when it is the same.
  FileIndex add(const FileEntry& entry, std::string_view path);
  void append(const FileTable& other);

  std::size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  const FileEntry& operator[](FileIndex index) const {
    return m_entry_chunks[index / k_entries_per_chunk][index % k_entries_per_chunk];
  }
  std::string_view directory(FileIndex index) const { return dir_prefix((*this)[index].dir); }
  std::string_view name(FileIndex index) const {
    const FileEntry& e = (*this)[index];
    return {arena(e.name_offset), e.name_length};
  }
  std::string path(FileIndex index) const;
  // Appends the path to `out` (no allocation once `out` has grown; for report writers).
  void append_path(FileIndex index, std::string& out) const;
  // Bytewise comparison of two paths (as std::string's operator<=> would compare them), without
  // building either.
  int compare_paths(FileIndex a, FileIndex b) const;

  // Keep only the entries for which keep[i] is true, in order (paths stay where they are).
  void filter(const std::vector<bool>& keep);

  std::size_t memory_bytes() const {
    return m_entry_chunks.size() * k_entries_per_chunk * sizeof(FileEntry) + m_chunks.size() * k_chunk +
           m_dirs.capacity() * sizeof(Dir);
  }

 private:
  static constexpr std::size_t k_entries_per_chunk = 4096;
  static constexpr std::size_t k_chunk = std::size_t{1} << 20;

  struct FreeDeleter {
    void operator()(void* p) const;
  };
  struct Dir {
    std::uint64_t offset;
    std::uint32_t length;
  };
  const char* arena(std::uint64_t offset) const { return m_chunks[offset / k_chunk].get() + offset % k_chunk; }
  std::string_view dir_prefix(DirIndex dir) const { return {arena(m_dirs[dir].offset), m_dirs[dir].length}; }
  std::uint64_t store(std::string_view bytes);  // copies into the arena, returns the offset
  FileEntry& slot(std::size_t index) {
    return m_entry_chunks[index / k_entries_per_chunk][index % k_entries_per_chunk];
  }

  // Raw storage: pages are touched only when entries are written.
  std::vector<std::unique_ptr<FileEntry[], FreeDeleter>> m_entry_chunks;
  std::vector<std::unique_ptr<char[], FreeDeleter>> m_chunks;  // directory prefixes and names
  std::vector<Dir> m_dirs;
  std::size_t m_size = 0;
  std::size_t m_used = k_chunk;  // bytes used in the last arena chunk
};

}  // namespace spindle
