#include <spindle/file_table.hpp>

#include <stdexcept>

namespace spindle {

FileIndex FileTable::add(const FileEntry& entry, std::string_view path) {
  if (m_entries.size() >= UINT32_MAX) {
    throw std::length_error("more than 4 billion files");
  }
  FileEntry stored = entry;
  stored.path_offset = m_paths.size();
  stored.path_length = static_cast<std::uint32_t>(path.size());
  m_paths.append(path);
  m_paths.push_back('\0');
  m_entries.push_back(stored);
  return static_cast<FileIndex>(m_entries.size() - 1);
}

void FileTable::append(const FileTable& other) {
  const std::uint64_t base = m_paths.size();
  m_paths.append(other.m_paths);
  m_entries.reserve(m_entries.size() + other.m_entries.size());
  for (FileEntry entry : other.m_entries) {
    entry.path_offset += base;
    m_entries.push_back(entry);
  }
}

void FileTable::reserve(std::size_t files, std::size_t path_bytes) {
  m_entries.reserve(files);
  m_paths.reserve(path_bytes);
}

void FileTable::filter(const std::vector<bool>& keep) {
  std::size_t out = 0;
  for (std::size_t i = 0; i < m_entries.size(); ++i) {
    if (keep[i]) {
      m_entries[out++] = m_entries[i];
    }
  }
  m_entries.resize(out);
}

}  // namespace spindle
