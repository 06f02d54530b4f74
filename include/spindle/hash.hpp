#pragma once

#include <spindle/error.hpp>
#include <spindle/result.hpp>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
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

// A whole-content XXH3-128 under way, carried between the rounds of a progressive read (the full
// stage of a huge file read in growing pieces, pipeline.cpp). About 600 bytes: only files in a
// progressive round hold one.
class StreamingHash {
 public:
  StreamingHash();
  // Hash `bytes` after everything hashed so far.
  void update(std::span<const std::byte> bytes);
  // The XXH3-128 of everything hashed so far (the hash can go on afterwards).
  Digest digest() const;

 private:
  static constexpr std::size_t k_state_bytes = 576;  // sizeof(XXH3_state_t), checked in hash.cpp
  alignas(64) std::byte m_state[k_state_bytes];
};

// open(2) a file for reading without blocking on a FIFO that took its place and without updating
// its access time where the kernel allows (O_NOATIME is refused with EPERM on files of other
// users; then it opens without). Returns the fd, or -1 with errno set.
int open_for_reading(const char* path);

// What the reader expects to find: the file as the walk saw it. A file that no longer matches
// (replaced, truncated, grown, written to, deleted) is an error, never hashed as something else.
// A change that leaves size, mtime and ctime as they were cannot be seen this way.
struct FileIdentity {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
};

class CancelToken;
class FdBudget;

// An open regular file, read without following a FIFO or device node that replaced it, and
// without updating its access time where the kernel allows (O_NOATIME).
//
// Readers share two things: a CancelToken, checked before every block read (a cancelled read
// fails with errnum ECANCELED, and is not a file error to report), and an FdBudget, one
// descriptor of which the file holds from open to close.
class InputFile {
 public:
  // Opens `path`; errors: open/stat errnos, "changed" if it is not the walked file anymore.
  // With `budget`, waits for one of its descriptors first; EMFILE/ENFILE then wait for another
  // reader to close a file and never fail the file. Throws Fatal when no other reader holds a
  // descriptor to wait for (the limit leaves none to read with). Cancelled: errnum ECANCELED.
  static Result<InputFile> open(const char* path, const FileIdentity& expected, FdBudget* budget = nullptr,
                                const CancelToken* cancel = nullptr);
  // The same open without the check at open, for a caller that reads the file in one pread and
  // then calls check_unchanged(), which finds every change the open's check would (a stat fewer
  // per small file). A read that fails is to be followed by check_unchanged() too: a file that
  // changed is reported as changed, not by the read's error.
  static Result<InputFile> open_checked_after_read(const char* path, const FileIdentity& expected,
                                                   FdBudget* budget = nullptr, const CancelToken* cancel = nullptr);
  // The same checks on an fd already opened with open_for_reading (ReadAhead); takes ownership
  // of it and, with `budget`, of the descriptor of the budget it holds.
  static Result<InputFile> adopt(int fd, const char* path, const FileIdentity& expected, FdBudget* budget = nullptr,
                                 const CancelToken* cancel = nullptr);
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

  // Hash `length` bytes at `offset` into `hash` (a progressive round); `last` when they end at
  // the walked size: then one more byte means the file grew ("changed"), as in hash_all.
  // Returns the digest of all that `hash` holds now.
  Result<Digest> hash_into(StreamingHash& hash, std::uint64_t offset, std::uint64_t length, bool last,
                           std::span<std::byte> buffer);

  // Read the whole file, expecting exactly `size` bytes, handing each block read to `consume`
  // (for the hash functions other than XXH3-128: spindle hash --algo). The same checks as
  // hash_all: cancelled per block, a shorter or longer file is "changed". Returns the bytes read.
  Result<std::uint64_t> read_all(std::uint64_t size, std::span<std::byte> buffer,
                                 const std::function<void(std::span<const std::byte>)>& consume);

  // Call after the reads: is the open file still the walked one? "vanished" when it was deleted
  // (no link left), "changed" when its size, mtime or ctime moved: a digest read meanwhile may
  // mix old and new content. ctime also moves when the file is renamed or one of its hard links
  // removed, so a path that went away is caught too (except on filesystems that do not keep
  // ctime that way).
  std::optional<FileError> check_unchanged() const;

 private:
  InputFile(int fd, const char* path, const FileIdentity& expected, FdBudget* budget, const CancelToken* cancel)
      : m_fd(fd), m_path(path), m_expected(expected), m_budget(budget), m_cancel(cancel) {}
  static Result<InputFile> open_file(const char* path, const FileIdentity& expected, FdBudget* budget,
                                     const CancelToken* cancel, bool check_now);
  void close();
  FileError error(int errnum, const char* op) const;
  // The one read loop: [offset, offset + length) in blocks of the buffer, each handed to
  // `consume`; cancelled per block; a file that ends early is "changed". A template (defined in
  // hash.cpp, its only user), not a std::function: hash_range's consumer is too large for
  // std::function's inline buffer, and the prefix stage would allocate once per file read.
  template <typename Consume>
  std::optional<FileError> read_range(std::uint64_t offset, std::uint64_t length, std::span<std::byte> buffer,
                                      Consume&& consume);
  // "changed" when the file holds a byte at `end`, past the size the walk saw.
  std::optional<FileError> grew_past(std::uint64_t end) const;
  int m_fd = -1;
  const char* m_path = nullptr;
  FileIdentity m_expected;
  FdBudget* m_budget = nullptr;  // holds one of its descriptors while m_fd is open
  const CancelToken* m_cancel = nullptr;
  bool m_checked_at_open = true;  // false: check_unchanged() also compares with the walk
};

}  // namespace spindle
