#pragma once

#include <spindle/cancel.hpp>
#include <spindle/file_table.hpp>
#include <spindle/hash.hpp>
#include <spindle/pools.hpp>
#include <spindle/result.hpp>
#include <spindle/stage_kind.hpp>

namespace spindle {

// How the hashing pipeline reads a file: the one seam between it and the disk (as ninja's
// DiskInterface). The system reader opens and hashes real files; a test's fake can hold one
// device back or fail a read without root or real slow hardware.
class FileReader {
 public:
  virtual ~FileReader() = default;
  // The digest of what `kind` reads of file `f` (first block, last block or all of it), or the
  // error that kept it from being read. `opened` is the file's fd when a read-ahead opened it
  // (the reader takes ownership), else -1. Called from pool threads, concurrently.
  virtual Result<Digest> read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                              const CancelToken& cancel) = 0;
};

// Reads the files themselves: InputFile checks they are still the walked file.
class SystemReader : public FileReader {
 public:
  Result<Digest> read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                      const CancelToken& cancel) override;
};

}  // namespace spindle
