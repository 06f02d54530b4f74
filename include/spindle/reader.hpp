#pragma once

#include <spindle/cancel.hpp>
#include <spindle/fd_budget.hpp>
#include <spindle/file_table.hpp>
#include <spindle/hash.hpp>
#include <spindle/pools.hpp>
#include <spindle/result.hpp>
#include <spindle/stage_kind.hpp>

#include <optional>

namespace spindle {

// How the hashing pipeline reads a file: the one seam between it and the disk (as ninja's
// DiskInterface). The system reader opens and hashes real files; a test's fake can hold one
// device back or fail a read without root or real slow hardware.
class FileReader {
 public:
  virtual ~FileReader() = default;
  // The digest of what `kind` reads of file `f` (first block, last block or all of it), or the
  // error that kept it from being read (a read cut short by `cancel` is an error too). `opened`
  // is the file's fd when a read-ahead opened it, holding a descriptor of `descriptors` (the
  // reader takes ownership of both), else -1; `descriptors` may be null (not counted). Called
  // from pool threads, concurrently.
  virtual Result<Digest> read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                              const CancelToken& cancel, FdBudget* descriptors) = 0;
  // The digest `read` would give, when it is known without opening the file (a hit of the
  // persistent cache, CachingReader), else nullopt. The pipeline asks first: a file known this
  // way is neither opened ahead nor counted as bytes read. Called from pool threads, concurrently.
  virtual std::optional<Digest> known(StageKind /*kind*/, const FileTable& /*files*/, FileIndex /*f*/) {
    return std::nullopt;
  }
  // Can this reader read a file in pieces (read_part)? The pipeline reads huge files in
  // progressive rounds only through readers that can; others get one full read per file.
  virtual bool reads_parts() const { return false; }
  // One round of a progressive full read: hash bytes [offset, offset + length) of file `f` into
  // `hash`, which holds the hash of the bytes before `offset`. Returns the digest of all it holds
  // now: the XXH3-128 of the whole content (what `read` of StageKind::full gives) when the
  // piece ends at the file's size, and then with the same end checks (a file that grew or
  // changed is an error). `opened`, `cancel` and `descriptors` as for `read`. Called only when
  // reads_parts().
  virtual Result<Digest> read_part(const FileTable& files, FileIndex f, StreamingHash& hash, std::uint64_t offset,
                                   std::uint64_t length, Worker& worker, int opened, const CancelToken& cancel,
                                   FdBudget* descriptors);
};

// Test seam inside the system reader: told, on the reader's thread, that it has hashed the bytes
// `kind` reads of `file`, before it checks that the file is still the walked one. A test changes,
// truncates or deletes the file there (a change made while the file was read, without timing).
class ReadObserver {
 public:
  virtual ~ReadObserver() = default;
  virtual void after_read(StageKind kind, FileIndex file) = 0;
};

// Reads the files themselves. After the read the file must still be the walked one (InputFile):
// a file written to, truncated, renamed or deleted while it was read gives an error, not a
// digest that may mix old and new bytes, nor a report that lists a path that is gone.
class SystemReader : public FileReader {
 public:
  explicit SystemReader(ReadObserver* observer = nullptr) : m_observer(observer) {}
  Result<Digest> read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                      const CancelToken& cancel, FdBudget* descriptors) override;
  bool reads_parts() const override { return true; }
  // Tells the observer after_read(StageKind::full, f) after every piece.
  Result<Digest> read_part(const FileTable& files, FileIndex f, StreamingHash& hash, std::uint64_t offset,
                           std::uint64_t length, Worker& worker, int opened, const CancelToken& cancel,
                           FdBudget* descriptors) override;

 private:
  ReadObserver* m_observer;
};

}  // namespace spindle
