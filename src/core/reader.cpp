#include <spindle/reader.hpp>

#include <algorithm>
#include <string>

namespace spindle {

namespace {

// Read size of whole-file hashing: 128 KiB reads already stream at page-cache speed, and every
// reader thread keeps one such buffer (16 threads: 2 MiB).
constexpr std::size_t k_full_read_bytes = 128 * 1024;

}  // namespace

Result<Digest> SystemReader::read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                                  const CancelToken& /*cancel*/) {
  const FileEntry& entry = files[f];
  const std::string path = files.path(f);
  const FileIdentity identity{entry.dev, entry.ino, entry.size};
  Result<InputFile> file =
      opened >= 0 ? InputFile::adopt(opened, path.c_str(), identity) : InputFile::open(path.c_str(), identity);
  if (!file.ok()) {
    return std::move(file).error();
  }
  switch (kind) {
    case StageKind::prefix:
      return file->hash_range(0, std::min(entry.size, k_block_size), worker.buffer(k_block_size));
    case StageKind::suffix:
      return file->hash_range(entry.size - k_block_size, k_block_size, worker.buffer(k_block_size));
    case StageKind::full:
      return file->hash_all(entry.size, worker.buffer(k_full_read_bytes), false);
  }
  return FileError{path, 0, "internal", "unknown stage"};
}

}  // namespace spindle
