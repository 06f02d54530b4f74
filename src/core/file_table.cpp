#include <spindle/file_table.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace spindle {

// The per-file memory budget (issue 4: under 250 bytes a file, path included) starts here.
static_assert(sizeof(FileEntry) == 48);

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

std::uint64_t FileTable::store(std::string_view bytes) {
  if (bytes.size() > k_chunk) {
    throw std::length_error("path longer than 1 MiB");
  }
  if (m_used + bytes.size() > k_chunk) {
    m_chunks.emplace_back(static_cast<char*>(allocate(k_chunk)));
    m_used = 0;
  }
  const std::uint64_t offset = (m_chunks.size() - 1) * k_chunk + m_used;
  if (!bytes.empty()) {
    std::memcpy(m_chunks.back().get() + m_used, bytes.data(), bytes.size());
  }
  m_used += bytes.size();
  return offset;
}

DirIndex FileTable::add_dir(std::string_view prefix) {
  if (m_dirs.size() >= UINT32_MAX) {
    throw std::length_error("more than 4 billion directories");
  }
  m_dirs.push_back(Dir{store(prefix), static_cast<std::uint32_t>(prefix.size())});
  return static_cast<DirIndex>(m_dirs.size() - 1);
}

FileIndex FileTable::add(const FileEntry& entry, DirIndex dir, std::string_view name) {
  if (m_size >= UINT32_MAX) {
    throw std::length_error("more than 4 billion files");
  }
  if (name.size() > FileEntry::k_max_name) {
    throw std::length_error("file name longer than " + std::to_string(FileEntry::k_max_name) + " bytes");
  }
  const std::uint64_t offset = store(name);
  if (offset > FileEntry::k_max_name_offset) {
    throw std::length_error("more than 32 GiB of file names");
  }
  if (m_size == m_entry_chunks.size() * k_entries_per_chunk) {
    m_entry_chunks.emplace_back(static_cast<FileEntry*>(allocate(k_entries_per_chunk * sizeof(FileEntry))));
  }
  FileEntry* stored = new (&slot(m_size)) FileEntry(entry);
  stored->name_offset = offset;
  stored->name_length = name.size();
  stored->dir = dir;
  return static_cast<FileIndex>(m_size++);
}

FileIndex FileTable::add(const FileEntry& entry, std::string_view path) {
  const std::size_t slash = path.rfind('/');
  const std::size_t name_at = slash == std::string_view::npos ? 0 : slash + 1;
  const std::string_view prefix = path.substr(0, name_at);
  DirIndex dir = 0;
  if (!m_dirs.empty() && dir_prefix(static_cast<DirIndex>(m_dirs.size() - 1)) == prefix) {
    dir = static_cast<DirIndex>(m_dirs.size() - 1);
  } else {
    dir = add_dir(prefix);
  }
  return add(entry, dir, path.substr(name_at));
}

void FileTable::append(const FileTable& other) {
  for (FileIndex i = 0; i < other.size(); ++i) {
    add(other[i], other.path(i));
  }
}

std::string FileTable::path(FileIndex index) const {
  std::string out;
  append_path(index, out);
  return out;
}

void FileTable::append_path(FileIndex index, std::string& out) const {
  const std::string_view dir = directory(index);
  const std::string_view base = name(index);
  out.reserve(out.size() + dir.size() + base.size());
  out.append(dir);
  out.append(base);
}

int FileTable::compare_paths(FileIndex a, FileIndex b) const {
  const FileEntry& x = (*this)[a];
  const FileEntry& y = (*this)[b];
  // Each path is two pieces (prefix, name); walk both pairs side by side.
  std::string_view left[2] = {dir_prefix(x.dir), name(a)};
  std::string_view right[2] = {dir_prefix(y.dir), name(b)};
  if (x.dir == y.dir) {
    left[0] = right[0] = {};
  }
  std::size_t i = 0;
  std::size_t j = 0;
  std::string_view l = left[0];
  std::string_view r = right[0];
  for (;;) {
    while (l.empty() && i < 1) {
      l = left[++i];
    }
    while (r.empty() && j < 1) {
      r = right[++j];
    }
    if (l.empty() || r.empty()) {
      return l.empty() ? (r.empty() ? 0 : -1) : 1;
    }
    const std::size_t n = std::min(l.size(), r.size());
    if (int c = std::memcmp(l.data(), r.data(), n); c != 0) {
      return c < 0 ? -1 : 1;
    }
    l.remove_prefix(n);
    r.remove_prefix(n);
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
