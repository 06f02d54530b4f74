#include <spindle/file_table.hpp>

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace spindle {

void FileTable::FreeDeleter::operator()(void* p) const {
  std::free(p);
}

namespace {

void* allocate(std::size_t bytes) {
  void* p = std::malloc(bytes);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  return p;
}

}  // namespace

FileIndex FileTable::add(const FileEntry& entry, std::string_view path) {
  if (m_size >= UINT32_MAX) {
    throw std::length_error("more than 4 billion files");
  }
  if (path.size() + 1 > k_path_chunk) {
    throw std::length_error("path longer than 1 MiB");
  }
  if (m_path_used + path.size() + 1 > k_path_chunk) {
    m_path_chunks.emplace_back(static_cast<char*>(allocate(k_path_chunk)));
    m_path_used = 0;
  }
  const std::uint64_t offset = (m_path_chunks.size() - 1) * k_path_chunk + m_path_used;
  char* dest = m_path_chunks.back().get() + m_path_used;
  std::memcpy(dest, path.data(), path.size());
  dest[path.size()] = '\0';
  m_path_used += path.size() + 1;

  if (m_size == m_entry_chunks.size() * k_entries_per_chunk) {
    m_entry_chunks.emplace_back(static_cast<FileEntry*>(allocate(k_entries_per_chunk * sizeof(FileEntry))));
  }
  FileEntry* stored = new (&slot(m_size)) FileEntry(entry);
  stored->path_offset = offset;
  stored->path_length = static_cast<std::uint32_t>(path.size());
  return static_cast<FileIndex>(m_size++);
}

void FileTable::append(const FileTable& other) {
  for (FileIndex i = 0; i < other.size(); ++i) {
    add(other[i], other.path(i));
  }
}

void FileTable::filter(const std::vector<bool>& keep) {
  std::size_t out = 0;
  for (std::size_t i = 0; i < m_size; ++i) {
    if (keep[i]) {
      slot(out++) = slot(i);
    }
  }
  m_size = out;
  m_entry_chunks.resize((m_size + k_entries_per_chunk - 1) / k_entries_per_chunk);
}

}  // namespace spindle
