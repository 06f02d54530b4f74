#pragma once

#include <spindle/error.hpp>
#include <spindle/result.hpp>

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>

namespace spindle {

// A 128-bit XXH3 digest.
struct Digest {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  friend bool operator==(const Digest&, const Digest&) = default;
  // clang-tidy 14 sees a literal 0 in the defaulted <=> and asks for nullptr.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  friend auto operator<=>(const Digest&, const Digest&) = default;
};

// Lower-case hex of the canonical (big-endian) form: the same text `xxh128sum` prints.
std::string to_hex(const Digest& digest);

// Hash of a byte range held in memory.
Digest hash_bytes(std::span<const std::byte> bytes);

// open(2) a file for reading without blocking on a FIFO that took its place and without updating
// its access time where the kernel allows (O_NOATIME is refused with EPERM on files of other
// users; then it opens without). Returns the fd, or -1 with errno set.
int open_for_reading(const char* path);

// What the reader expects to find: the walked identity of the file. A file that no longer
// matches (replaced, truncated, grown) is an error, never silently hashed as something else.
struct FileIdentity {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::uint64_t size = 0;
};

// An open regular file, read without following a FIFO or device node that replaced it, and
// without updating its access time where the kernel allows (O_NOATIME).
class InputFile {
 public:
  // Opens `path`; errors: open/stat errnos, "changed" if it is not the walked file anymore.
  static Result<InputFile> open(const char* path, const FileIdentity& expected);
  // The same checks on an fd already opened with open_for_reading (ReadAhead); takes ownership.
  static Result<InputFile> adopt(int fd, const char* path, const FileIdentity& expected);
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&& other) noexcept;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  int fd() const { return m_fd; }

  // Hash `length` bytes at `offset` (one pread when the buffer is large enough). A short read
  // is an error ("changed": the file shrank).
  Result<Digest> hash_range(std::uint64_t offset, std::uint64_t length, std::span<std::byte> buffer);

  // Hash the whole file, expecting exactly `size` bytes; tells the kernel the access is sequential
  // and drops the pages afterwards when `drop_cache` (keeps a scan from evicting the user's cache).
  Result<Digest> hash_all(std::uint64_t size, std::span<std::byte> buffer, bool drop_cache);

 private:
  InputFile(int fd, const char* path) : m_fd(fd), m_path(path) {}
  FileError error(int errnum, const char* op) const;
  int m_fd = -1;
  const char* m_path = nullptr;
};

}  // namespace spindle
