#pragma once

#include <spindle/hash_algo.hpp>
#include <spindle/reader.hpp>

#include <span>

namespace spindle {

// A FileReader whose whole-file read (StageKind::full) computes one of the hash functions of
// `spindle hash --algo`: xxh128 through InputFile::hash_all (the digest group computes), xxh3
// (64-bit), xxh64 and xxh32 with seed 0, as xxhsum computes them. A 64- or 32-bit digest is in
// Digest::low. Like SystemReader, a file that changed or vanished while it was read is an error.
// Only whole-file reads: spindle hash asks for nothing else.
class ChecksumReader : public FileReader {
 public:
  // Every file with `algo`, or file f with per_file[f] when per_file is not empty (--check of a
  // listing that mixes algorithms).
  explicit ChecksumReader(HashAlgo algo, std::span<const HashAlgo> per_file = {})
      : m_algo(algo), m_per_file(per_file) {}
  Result<Digest> read(StageKind kind, const FileTable& files, FileIndex f, Worker& worker, int opened,
                      const CancelToken& cancel, FdBudget* descriptors) override;

 private:
  HashAlgo m_algo;
  std::span<const HashAlgo> m_per_file;
};

}  // namespace spindle
