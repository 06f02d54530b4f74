#include <spindle/checksum_reader.hpp>

#include <cerrno>
#include <optional>
#include <string>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace spindle {

namespace {

// As SystemReader's whole-file reads: 128 KiB per read streams at page-cache speed.
constexpr std::size_t k_read_bytes = 128 * 1024;

// Feed `file` through one streaming xxHash state.
template <typename State, typename Reset, typename Update, typename Finish>
Result<Digest> stream(InputFile& file, std::uint64_t size, std::span<std::byte> buffer, Reset reset, Update update,
                      Finish finish) {
  State state;
  reset(&state);
  Result<std::uint64_t> read = file.read_all(
      size, buffer, [&](std::span<const std::byte> block) { update(&state, block.data(), block.size()); });
  if (!read.ok()) {
    return std::move(read).error();
  }
  return Digest{0, static_cast<std::uint64_t>(finish(&state))};
}

}  // namespace

Result<Digest> ChecksumReader::read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                                    const CancelToken& cancel, FdBudget* descriptors) {
  const FileEntry& entry = files[f];
  const std::string path = files.path(f);
  if (kind != StageKind::full) {
    if (opened >= 0) {
      InputFile::adopt(opened, path.c_str(), FileIdentity{}, descriptors, &cancel);  // closes it
    }
    return FileError{path, 0, "internal", "spindle hash reads whole files only"};
  }
  const FileIdentity identity{entry.device(), entry.ino, entry.size, entry.mtime_ns, entry.ctime_ns};
  const HashAlgo algo = m_per_file.empty() ? m_algo : m_per_file[f];
  // A file hashed in one pread is compared with the walk after the read only (see
  // InputFile::open_checked_after_read): one stat per small file instead of two.
  const bool one_read = algo == HashAlgo::xxh128 && entry.size < k_read_bytes;
  Result<InputFile> file = opened >= 0 ? InputFile::adopt(opened, path.c_str(), identity, descriptors, &cancel)
                           : one_read ? InputFile::open_checked_after_read(path.c_str(), identity, descriptors, &cancel)
                                      : InputFile::open(path.c_str(), identity, descriptors, &cancel);
  if (!file.ok()) {
    return std::move(file).error();
  }
  const std::span<std::byte> buffer = worker.buffer(k_read_bytes);
  Result<Digest> digest = [&]() -> Result<Digest> {
    switch (algo) {
      case HashAlgo::xxh128:
        return file->hash_all(entry.size, buffer, false);
      case HashAlgo::xxh3:
        return stream<XXH3_state_t>(
            *file, entry.size, buffer, [](XXH3_state_t* s) { XXH3_64bits_reset(s); },
            [](XXH3_state_t* s, const void* p, std::size_t n) { XXH3_64bits_update(s, p, n); },
            [](XXH3_state_t* s) { return XXH3_64bits_digest(s); });
      case HashAlgo::xxh64:
        return stream<XXH64_state_t>(
            *file, entry.size, buffer, [](XXH64_state_t* s) { XXH64_reset(s, 0); },
            [](XXH64_state_t* s, const void* p, std::size_t n) { XXH64_update(s, p, n); },
            [](XXH64_state_t* s) { return XXH64_digest(s); });
      case HashAlgo::xxh32:
        return stream<XXH32_state_t>(
            *file, entry.size, buffer, [](XXH32_state_t* s) { XXH32_reset(s, 0); },
            [](XXH32_state_t* s, const void* p, std::size_t n) { XXH32_update(s, p, n); },
            [](XXH32_state_t* s) { return XXH32_digest(s); });
    }
    return FileError{path, 0, "internal", "unknown hash function"};
  }();
  if (!digest.ok()) {
    if (one_read && opened < 0) {
      if (std::optional<FileError> changed = file->check_unchanged()) {
        return std::move(*changed);  // not checked at the open: a file that changed says so
      }
    }
    return digest;
  }
  if (std::optional<FileError> changed = file->check_unchanged()) {
    return std::move(*changed);
  }
  return digest;
}

}  // namespace spindle
