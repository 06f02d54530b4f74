#include <spindle/cancel.hpp>
#include <spindle/fd_budget.hpp>
#include <spindle/hash.hpp>
#include <spindle/long_path.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

// Header-only xxHash: XXH3 gets inlined into the read loops.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace spindle {

namespace {

Digest from_xxh(XXH128_hash_t h) {
  return {h.high64, h.low64};
}

}  // namespace

std::string to_hex(const Digest& digest) {
  static constexpr char k_hex[] = "0123456789abcdef";
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH128_hash_t{digest.low, digest.high});
  std::string out(32, '0');
  for (std::size_t i = 0; i < sizeof(canonical.digest); ++i) {
    out[2 * i] = k_hex[canonical.digest[i] >> 4];
    out[2 * i + 1] = k_hex[canonical.digest[i] & 0xf];
  }
  return out;
}

Digest hash_bytes(std::span<const std::byte> bytes) {
  return from_xxh(XXH3_128bits(bytes.data(), bytes.size()));
}

static_assert(sizeof(XXH3_state_t) <= 576 && alignof(XXH3_state_t) <= 64, "StreamingHash holds an XXH3_state_t");

namespace {

// The XXH3 state living in a StreamingHash's storage (created there by its constructor).
XXH3_state_t* state_in(std::byte* storage) {
  return std::launder(reinterpret_cast<XXH3_state_t*>(storage));
}
const XXH3_state_t* state_in(const std::byte* storage) {
  return std::launder(reinterpret_cast<const XXH3_state_t*>(storage));
}

}  // namespace

StreamingHash::StreamingHash() : m_state{} {
  XXH3_128bits_reset(new (m_state) XXH3_state_t);
}

void StreamingHash::update(std::span<const std::byte> bytes) {
  XXH3_128bits_update(state_in(m_state), bytes.data(), bytes.size());
}

Digest StreamingHash::digest() const {
  return from_xxh(XXH3_128bits_digest(state_in(m_state)));
}

int open_for_reading(const char* path) {
  const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  int fd = open_long_path(path, flags | O_NOATIME);  // any depth: the walk has no PATH_MAX
  if (fd < 0 && errno == EPERM) {
    fd = open_long_path(path, flags);
  }
  return fd;
}

namespace {

std::int64_t nanoseconds(const struct timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

bool same_inode(const struct stat& st, const FileIdentity& expected) {
  return st.st_ino == expected.ino && st.st_dev == expected.dev;
}

// Size, mtime and ctime as walked: any write, truncation or touch moves one of them (ctime
// moves even when mtime is set back).
bool same_content_stamp(const struct stat& st, const FileIdentity& expected) {
  return static_cast<std::uint64_t>(st.st_size) == expected.size && nanoseconds(st.st_mtim) == expected.mtime_ns &&
         nanoseconds(st.st_ctim) == expected.ctime_ns;
}

// Is the file open as `st` still the one the walk saw at `path`?
std::optional<FileError> changed_since_walk(const struct stat& st, const char* path, const FileIdentity& expected) {
  if (!S_ISREG(st.st_mode) || !same_inode(st, expected)) {
    return FileError{path, 0, "changed", "no longer the file that was scanned"};
  }
  if (static_cast<std::uint64_t>(st.st_size) != expected.size) {
    return FileError{path, 0, "changed", "size changed since it was scanned"};
  }
  if (!same_content_stamp(st, expected)) {
    return FileError{path, 0, "changed", "modified since it was scanned"};
  }
  return std::nullopt;
}

}  // namespace

Result<InputFile> InputFile::open(const char* path, const FileIdentity& expected, FdBudget* budget,
                                  const CancelToken* cancel) {
  return open_file(path, expected, budget, cancel, true);
}

Result<InputFile> InputFile::open_checked_after_read(const char* path, const FileIdentity& expected, FdBudget* budget,
                                                     const CancelToken* cancel) {
  return open_file(path, expected, budget, cancel, false);
}

Result<InputFile> InputFile::open_file(const char* path, const FileIdentity& expected, FdBudget* budget,
                                       const CancelToken* cancel, bool check_now) {
  bool retried_alone = false;
  for (;;) {
    if (budget != nullptr && !budget->acquire(cancel)) {
      return FileError{path, ECANCELED, "open", ""};
    }
    int fd = open_for_reading(path);
    if (fd >= 0) {
      if (check_now) {
        return adopt(fd, path, expected, budget, cancel);
      }
      InputFile file(fd, path, expected, budget, cancel);
      file.m_checked_at_open = false;
      return file;
    }
    const int errnum = errno;
    if (budget == nullptr || (errnum != EMFILE && errnum != ENFILE)) {
      if (budget != nullptr) {
        budget->release();
      }
      return FileError{path, errnum, "open", ""};
    }
    // Out of descriptors although this one was counted: the file is readable, so wait for
    // another reader to close one (acquire sleeps until then). With no other reader holding
    // one there is nothing to wait for: try once more, then the run cannot go on.
    if (budget->exhausted() > 0) {
      retried_alone = false;
    } else if (!retried_alone) {
      retried_alone = true;
    } else {
      throw Fatal(std::string("no file descriptor left to read ") + path + ": " + std::strerror(errnum) +
                  " (raise the limit with ulimit -n)");
    }
  }
}

Result<InputFile> InputFile::adopt(int fd, const char* path, const FileIdentity& expected, FdBudget* budget,
                                   const CancelToken* cancel) {
  InputFile file(fd, path, expected, budget, cancel);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return file.error(errno, "stat");
  }
  if (std::optional<FileError> changed = changed_since_walk(st, path, expected)) {
    return std::move(*changed);
  }
  return file;
}

InputFile::InputFile(InputFile&& other) noexcept
    : m_fd(other.m_fd),
      m_path(other.m_path),
      m_expected(other.m_expected),
      m_budget(other.m_budget),
      m_cancel(other.m_cancel),
      m_checked_at_open(other.m_checked_at_open) {
  other.m_fd = -1;
}

InputFile& InputFile::operator=(InputFile&& other) noexcept {
  if (this != &other) {
    close();
    m_fd = other.m_fd;
    m_path = other.m_path;
    m_expected = other.m_expected;
    m_budget = other.m_budget;
    m_cancel = other.m_cancel;
    m_checked_at_open = other.m_checked_at_open;
    other.m_fd = -1;
  }
  return *this;
}

InputFile::~InputFile() {
  close();
}

void InputFile::close() {
  if (m_fd >= 0) {
    ::close(m_fd);
    m_fd = -1;
    if (m_budget != nullptr) {
      m_budget->release();
    }
  }
}

std::optional<FileError> InputFile::check_unchanged() const {
  struct stat st {};
  if (::fstat(m_fd, &st) != 0) {
    return error(errno, "stat");
  }
  if (st.st_nlink == 0) {
    return FileError{m_path, 0, "vanished", "deleted while it was read"};
  }
  if (!m_checked_at_open) {
    return changed_since_walk(st, m_path, m_expected);  // before or while it was read: not known
  }
  if (!same_inode(st, m_expected) || !same_content_stamp(st, m_expected)) {
    return FileError{m_path, 0, "changed", "modified while it was read"};
  }
  return std::nullopt;
}

FileError InputFile::error(int errnum, const char* op) const {
  return FileError{m_path, errnum, op, ""};
}

template <typename Consume>
std::optional<FileError> InputFile::read_range(std::uint64_t offset, std::uint64_t length, std::span<std::byte> buffer,
                                               Consume&& consume) {
  std::uint64_t done = 0;
  while (done < length) {
    if (m_cancel != nullptr && m_cancel->cancelled()) {
      return error(ECANCELED, "read");  // checked per block: a 2 TB file stops within one
    }
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - done));
    ssize_t got = ::pread(m_fd, buffer.data(), want, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return error(errno, "read");
    }
    if (got == 0) {
      return FileError{m_path, 0, "changed", "file shrank while it was read"};
    }
    consume(buffer.first(static_cast<std::size_t>(got)));
    done += static_cast<std::uint64_t>(got);
  }
  return std::nullopt;
}

std::optional<FileError> InputFile::grew_past(std::uint64_t end) const {
  // One more byte means the file grew since the walk: its content is not what was sized.
  std::byte probe[1];
  if (::pread(m_fd, probe, 1, static_cast<off_t>(end)) > 0) {
    return FileError{m_path, 0, "changed", "file grew while it was read"};
  }
  return std::nullopt;
}

Result<Digest> InputFile::hash_range(std::uint64_t offset, std::uint64_t length, std::span<std::byte> buffer) {
  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  std::optional<Digest> one_read;
  bool first = true;
  std::optional<FileError> failed = read_range(offset, length, buffer, [&](std::span<const std::byte> block) {
    if (first && block.size() == length) {
      one_read = from_xxh(XXH3_128bits(block.data(), block.size()));  // the common one-read case
    } else {
      XXH3_128bits_update(&state, block.data(), block.size());
    }
    first = false;
  });
  if (failed) {
    return std::move(*failed);
  }
  return one_read ? *one_read : from_xxh(XXH3_128bits_digest(&state));
}

Result<Digest> InputFile::hash_all(std::uint64_t size, std::span<std::byte> buffer, bool drop_cache) {
  if (size < buffer.size() && !drop_cache) {
    // One pread asks for a byte more than the walk saw: a file that grew shows in the same read,
    // and a file read at once needs no readahead advice (two syscalls of five on a small file).
    if (m_cancel != nullptr && m_cancel->cancelled()) {
      return error(ECANCELED, "read");
    }
    ssize_t got = 0;
    do {
      got = ::pread(m_fd, buffer.data(), static_cast<std::size_t>(size) + 1, 0);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      return error(errno, "read");
    }
    if (static_cast<std::uint64_t>(got) > size) {
      return FileError{m_path, 0, "changed", "file grew while it was read"};
    }
    if (static_cast<std::uint64_t>(got) == size) {
      return from_xxh(XXH3_128bits(buffer.data(), static_cast<std::size_t>(size)));
    }
    // A short read (the file shrank, or a filesystem that returns less than asked): the general
    // loop below reads it again and tells which.
  }
  ::posix_fadvise(m_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  Result<Digest> digest = hash_range(0, size, buffer);
  if (digest.ok()) {
    if (std::optional<FileError> grew = grew_past(size)) {
      return std::move(*grew);
    }
  }
  if (drop_cache) {
    ::posix_fadvise(m_fd, 0, 0, POSIX_FADV_DONTNEED);
  }
  return digest;
}

Result<Digest> InputFile::hash_into(StreamingHash& hash, std::uint64_t offset, std::uint64_t length, bool last,
                                    std::span<std::byte> buffer) {
  if (offset == 0) {
    ::posix_fadvise(m_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  if (std::optional<FileError> failed =
          read_range(offset, length, buffer, [&](std::span<const std::byte> block) { hash.update(block); })) {
    return std::move(*failed);
  }
  if (last) {
    if (std::optional<FileError> grew = grew_past(offset + length)) {
      return std::move(*grew);
    }
  }
  return hash.digest();
}

Result<std::uint64_t> InputFile::read_all(std::uint64_t size, std::span<std::byte> buffer,
                                          const std::function<void(std::span<const std::byte>)>& consume) {
  ::posix_fadvise(m_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  if (std::optional<FileError> failed = read_range(0, size, buffer, consume)) {
    return std::move(*failed);
  }
  if (std::optional<FileError> grew = grew_past(size)) {
    return std::move(*grew);
  }
  return size;
}

}  // namespace spindle
