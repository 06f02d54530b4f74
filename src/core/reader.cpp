#include <spindle/reader.hpp>

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>

namespace spindle {

namespace {

// Read size of whole-file hashing: 128 KiB reads already stream at page-cache speed, and every
// reader thread keeps one such buffer (16 threads: 2 MiB).
constexpr std::size_t k_full_read_bytes = 128 * 1024;

// The file the walk saw at `path`: opened now, or adopted from a read-ahead that opened it
// (`opened` >= 0); either way checked against the walk's identity before anything is read, unless
// `checked_after_read` (then the caller's check_unchanged() compares it).
Result<InputFile> open_walked(const FileEntry& entry, const std::string& path, int opened, FdBudget* descriptors,
                              const CancelToken& cancel, bool checked_after_read = false) {
  const FileIdentity identity{entry.device(), entry.ino, entry.size, entry.mtime_ns, entry.ctime_ns};
  if (opened >= 0) {
    return InputFile::adopt(opened, path.c_str(), identity, descriptors, &cancel);
  }
  return checked_after_read ? InputFile::open_checked_after_read(path.c_str(), identity, descriptors, &cancel)
                            : InputFile::open(path.c_str(), identity, descriptors, &cancel);
}

// The path of the file a reader thread reads now, rebuilt in place for each read: no allocation
// per file once the string has grown (on a tree of small files, malloc and free were 6% of
// the readers' user time). Nothing that outlives a read keeps a pointer into it.
std::string& path_scratch(const FileTable& files, FileIndex f) {
  thread_local std::string path;
  path.clear();
  files.append_path(f, path);
  return path;
}

}  // namespace

Result<Digest> SystemReader::read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                                  const CancelToken& cancel, FdBudget* descriptors) {
  const FileEntry& entry = files[f];
  const std::string& path = path_scratch(files, f);
  // A small file read whole in one pread is compared with the walk once, after the read (which a
  // whole-file digest needs anyway), not also at the open: on a tree of small files that stat
  // was one syscall in five.
  const bool one_whole_read = kind == StageKind::prefix && stage_hashes_whole_file(kind, entry.size);
  Result<InputFile> file = open_walked(entry, path, opened, descriptors, cancel, one_whole_read);
  if (!file.ok()) {
    return std::move(file).error();
  }
  Result<Digest> digest = [&]() -> Result<Digest> {
    switch (kind) {
      case StageKind::prefix:
        return file->hash_range(0, bytes_for_stage(kind, entry.size), worker.buffer(k_whole_at_prefix));
      case StageKind::suffix:
        return file->hash_range(entry.size - k_block_size, k_block_size, worker.buffer(k_block_size));
      case StageKind::full:
        return file->hash_all(entry.size, worker.buffer(k_full_read_bytes), false);
    }
    return FileError{path, 0, "internal", "unknown stage"};
  }();
  if (!digest.ok()) {
    if (one_whole_read) {
      if (std::optional<FileError> changed = file->check_unchanged()) {
        return std::move(*changed);  // a FIFO or a shorter file in its place: say what happened
      }
    }
    return digest;
  }
  if (m_observer != nullptr) {
    m_observer->after_read(kind, f);
  }
  // Only a digest of the whole file can make it a reported copy, so only such a read is checked
  // for a change made while it ran. A partial read's digest only decides whether the file goes on:
  // a file that changed during it either leaves (it is no copy now) or goes on to a later read,
  // whose open compares the file with what the walk saw. This spares a stat per partial read.
  if (stage_hashes_whole_file(kind, entry.size)) {
    if (std::optional<FileError> changed = file->check_unchanged()) {
      return std::move(*changed);
    }
  }
  return digest;
}

Result<Digest> FileReader::read_part(const FileTable& files, FileIndex f, StreamingHash& /*hash*/,
                                     std::uint64_t /*offset*/, std::uint64_t /*length*/, Worker& /*worker*/, int opened,
                                     const CancelToken& /*cancel*/, FdBudget* descriptors) {
  // Never called (reads_parts() is false); fail the file rather than the run if it were.
  if (opened >= 0) {
    ::close(opened);
    if (descriptors != nullptr) {
      descriptors->release();
    }
  }
  return FileError{files.path(f), 0, "internal", "this reader cannot read files in pieces"};
}

Result<Digest> SystemReader::read_part(const FileTable& files, FileIndex f, StreamingHash& hash, std::uint64_t offset,
                                       std::uint64_t length, Worker& worker, int opened, const CancelToken& cancel,
                                       FdBudget* descriptors) {
  const FileEntry& entry = files[f];
  const std::string& path = path_scratch(files, f);
  // Every piece opens the file again: the open checks it is still the walked file, so a change
  // between rounds is caught as surely as one during a round.
  Result<InputFile> file = open_walked(entry, path, opened, descriptors, cancel);
  if (!file.ok()) {
    return std::move(file).error();
  }
  const bool last = offset + length == entry.size;
  Result<Digest> digest = file->hash_into(hash, offset, length, last, worker.buffer(k_full_read_bytes));
  if (!digest.ok()) {
    return digest;
  }
  if (m_observer != nullptr) {
    m_observer->after_read(StageKind::full, f);
  }
  if (std::optional<FileError> changed = file->check_unchanged()) {
    return std::move(*changed);
  }
  return digest;
}

}  // namespace spindle
