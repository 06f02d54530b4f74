#pragma once

// Files as the walk records them, and what the page cache holds of them: helpers shared by the
// stage and pipeline tests.
#include <spindle/file_table.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

namespace spindle::fakes {

// Stat `path` into a FileEntry, as the walk records it.
inline FileEntry entry_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw std::runtime_error("cannot stat " + path);
  }
  FileEntry entry;
  entry.size = static_cast<std::uint64_t>(st.st_size);
  entry.ino = st.st_ino;
  entry.set_device(st.st_dev);
  entry.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  entry.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return entry;
}

inline FileTable table_of(const std::vector<std::string>& paths) {
  FileTable table;
  for (const std::string& path : paths) {
    table.add(entry_of(path), path);
  }
  return table;
}

// Whether the pages holding each of `offsets` of a file are in the page cache, asked of mincore(2):
// an oracle independent of the RWF_NOWAIT probe under test.
inline bool pages_cached(const std::string& path, std::initializer_list<std::uint64_t> offsets) {
  int fd = ::open(path.c_str(), O_RDONLY);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    throw std::runtime_error("cannot open " + path);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    throw std::runtime_error("cannot map " + path);
  }
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((size + page - 1) / page);
  const int rc = ::mincore(map, size, resident.data());
  ::munmap(map, size);
  if (rc != 0) {
    throw std::runtime_error("mincore failed on " + path);
  }
  return std::all_of(offsets.begin(), offsets.end(), [&](std::uint64_t at) { return (resident[at / page] & 1) != 0; });
}

// Whether RWF_NOWAIT can tell cached from uncached data where the test's files live: tmpfs
// (the default /tmp on Fedora and Arch) answers EOPNOTSUPP, old kernels EINVAL.
inline bool nowait_probe_works(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    return false;
  }
  char byte = 0;
  struct iovec io {
    &byte, 1
  };
  const bool works = ::preadv2(fd, &io, 1, 0, RWF_NOWAIT) >= 0 || errno == EAGAIN;
  ::close(fd);
  return works;
}

// Drop a file's clean pages from the page cache (advice: mincore tells what really went).
inline void drop_cached_pages(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    throw std::runtime_error("cannot open " + path);
  }
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

}  // namespace spindle::fakes
