#pragma once

// The few SQLite wrappers the cache needs: a prepared statement that finalizes itself, and the
// mapping of stored codes to HashAlgo and StageKind (stored as fixed numbers, never as enum
// positions, so reordering an enum cannot make old entries mean something else).
#include <spindle/hash.hpp>
#include <spindle/hash_algo.hpp>
#include <spindle/stage_kind.hpp>

#include <cstdint>
#include <optional>
#include <sqlite3.h>
#include <string>
#include <string_view>
#include <vector>

namespace spindle::cache_detail {

// application_id of a spindle cache ("spnd").
inline constexpr std::int32_t k_application_id = 0x73706e64;
// PRAGMA user_version of the schema in cache.cpp. 1: one row per (device, algo, inode, stage)
// with its full path. 2: one row per directory and write transaction holding a packed segment of
// entries (far fewer, smaller rows: a first run into an empty cache costs what a run without the
// cache costs). An older version is rebuilt with a notice; a newer one is left alone.
inline constexpr int k_schema_version = 2;

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql) {
    m_status = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &m_stmt, nullptr);
  }
  ~Statement() { sqlite3_finalize(m_stmt); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return m_status == SQLITE_OK; }
  int status() const { return m_status; }
  sqlite3_stmt* get() const { return m_stmt; }
  void bind(int index, std::int64_t value) { sqlite3_bind_int64(m_stmt, index, value); }
  void bind(int index, std::string_view text) {
    sqlite3_bind_blob(m_stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(m_stmt); }
  void reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(m_stmt, column); }
  std::string_view blob(int column) const {
    const void* data = sqlite3_column_blob(m_stmt, column);
    return {static_cast<const char*>(data), static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, column))};
  }

 private:
  sqlite3_stmt* m_stmt = nullptr;
  int m_status = SQLITE_OK;
};

inline std::int64_t algo_code(HashAlgo algo) {
  switch (algo) {
    case HashAlgo::xxh128:
      return 1;
    case HashAlgo::xxh3:
      return 2;
    case HashAlgo::xxh64:
      return 3;
    case HashAlgo::xxh32:
      return 4;
  }
  return 0;
}

inline std::int64_t stage_code(StageKind stage) {
  switch (stage) {
    case StageKind::prefix:
      return 1;
    case StageKind::suffix:
      return 2;
    case StageKind::full:
      return 3;
  }
  return 0;
}

inline std::optional<StageKind> stage_of_code(std::int64_t code) {
  switch (code) {
    case 1:
      return StageKind::prefix;
    case 2:
      return StageKind::suffix;
    case 3:
      return StageKind::full;
    default:
      return std::nullopt;
  }
}

// One entry of a segment: the state of one file (in the segment's directory) when its digest for
// one stage was computed.
struct SegmentEntry {
  std::uint64_t inode = 0;
  std::int64_t stage = 0;  // stage_code
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  Digest digest;
  std::string_view name;  // into the encoded segment
};

// A segment: a count, then per entry inode, stage, size, mtime, ctime, digest, name (integers as
// LEB128 varints, times as 8 little-endian bytes, the digest as 16 big-endian bytes).
void append_segment_header(std::string& out, std::uint64_t count);
void append_segment_entry(std::string& out, const SegmentEntry& entry);
std::string encode_segment(const std::vector<SegmentEntry>& entries);
// The entries of a segment, or nullopt when it is not well formed (names point into `blob`).
std::optional<std::vector<SegmentEntry>> decode_segment(std::string_view blob);
// The number of entries a segment says it holds (0 when malformed).
std::uint64_t segment_count(std::string_view blob);

// The checksum a segment carries: of its place (device key, algorithm, directory) and its bytes,
// so a damaged or tampered segment (a flipped bit SQLite does not notice, a segment moved to
// another row) is never taken for digests.
std::int64_t segment_checksum(std::string_view device, std::int64_t algo, std::string_view dir, std::string_view blob);

// Digest <-> the 16-byte big-endian blob stored.
std::string digest_blob(const Digest& digest);
std::optional<Digest> digest_of_blob(std::string_view blob);

// The message of the connection's last error.
inline std::string last_error(sqlite3* db) {
  return db != nullptr ? sqlite3_errmsg(db) : "out of memory";
}

}  // namespace spindle::cache_detail
