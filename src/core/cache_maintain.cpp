// `spindle cache stats|prune|clear`, and the row encoding the cache shares with them.
#include "cache_sqlite.hpp"

#include <spindle/cache.hpp>
#include <spindle/error.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace spindle {

using namespace cache_detail;

namespace cache_detail {

namespace {

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_fixed(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>(value >> (8 * i)));
  }
}

// Reads from a segment, remembering whether it ran off the end or met a malformed number.
class SegmentReader {
 public:
  explicit SegmentReader(std::string_view bytes) : m_bytes(bytes) {}
  bool good() const { return m_good; }
  bool at_end() const { return m_at == m_bytes.size(); }
  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (m_at >= m_bytes.size()) {
        break;
      }
      const auto byte = static_cast<unsigned char>(m_bytes[m_at++]);
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        return value;
      }
    }
    m_good = false;
    return 0;
  }
  std::uint64_t fixed() {
    if (m_bytes.size() - m_at < 8) {
      m_good = false;
      return 0;
    }
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) {
      value |= static_cast<std::uint64_t>(static_cast<unsigned char>(m_bytes[m_at + static_cast<std::size_t>(i)]))
               << (8 * i);
    }
    m_at += 8;
    return value;
  }
  std::string_view bytes(std::uint64_t count) {
    if (m_bytes.size() - m_at < count) {
      m_good = false;
      return {};
    }
    std::string_view piece = m_bytes.substr(m_at, count);
    m_at += count;
    return piece;
  }

 private:
  std::string_view m_bytes;
  std::size_t m_at = 0;
  bool m_good = true;
};

}  // namespace

void append_segment_header(std::string& out, std::uint64_t count) {
  put_varint(out, count);
}

void append_segment_entry(std::string& out, const SegmentEntry& entry) {
  put_varint(out, entry.inode);
  put_varint(out, static_cast<std::uint64_t>(entry.stage));
  put_varint(out, entry.size);
  put_fixed(out, static_cast<std::uint64_t>(entry.mtime_ns));
  put_fixed(out, static_cast<std::uint64_t>(entry.ctime_ns));
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>(entry.digest.high >> (56 - 8 * i)));
  }
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>(entry.digest.low >> (56 - 8 * i)));
  }
  put_varint(out, entry.name.size());
  out.append(entry.name);
}

std::string encode_segment(const std::vector<SegmentEntry>& entries) {
  std::string out;
  put_varint(out, entries.size());
  for (const SegmentEntry& entry : entries) {
    append_segment_entry(out, entry);
  }
  return out;
}

std::optional<std::vector<SegmentEntry>> decode_segment(std::string_view blob) {
  SegmentReader in(blob);
  const std::uint64_t count = in.varint();
  // Every entry takes at least 35 bytes: a count beyond that is damage, not a reason to allocate.
  if (!in.good() || count > blob.size() / 35) {
    return std::nullopt;
  }
  std::vector<SegmentEntry> entries;
  entries.reserve(count);
  for (std::uint64_t i = 0; i < count && in.good(); ++i) {
    SegmentEntry entry;
    entry.inode = in.varint();
    entry.stage = static_cast<std::int64_t>(in.varint());
    entry.size = in.varint();
    entry.mtime_ns = static_cast<std::int64_t>(in.fixed());
    entry.ctime_ns = static_cast<std::int64_t>(in.fixed());
    std::optional<Digest> digest = digest_of_blob(in.bytes(16));
    entry.name = in.bytes(in.varint());
    if (!digest || !stage_of_code(entry.stage)) {
      return std::nullopt;
    }
    entry.digest = *digest;
    entries.push_back(entry);
  }
  if (!in.good() || !in.at_end()) {
    return std::nullopt;
  }
  return entries;
}

std::uint64_t segment_count(std::string_view blob) {
  SegmentReader in(blob);
  const std::uint64_t count = in.varint();
  return in.good() ? count : 0;
}

std::int64_t segment_checksum(std::string_view device, std::int64_t algo, std::string_view dir, std::string_view blob) {
  std::string bytes;
  bytes.reserve(device.size() + dir.size() + blob.size() + 32);
  put_varint(bytes, device.size());
  bytes.append(device);
  put_varint(bytes, static_cast<std::uint64_t>(algo));
  put_varint(bytes, dir.size());
  bytes.append(dir);
  bytes.append(blob);
  const Digest sum = hash_bytes(std::as_bytes(std::span(bytes.data(), bytes.size())));
  return static_cast<std::int64_t>(sum.low);
}

std::string digest_blob(const Digest& digest) {
  std::string blob(16, '\0');
  for (int i = 0; i < 8; ++i) {
    blob[static_cast<std::size_t>(i)] = static_cast<char>(digest.high >> (56 - 8 * i));
    blob[static_cast<std::size_t>(8 + i)] = static_cast<char>(digest.low >> (56 - 8 * i));
  }
  return blob;
}

std::optional<Digest> digest_of_blob(std::string_view blob) {
  if (blob.size() != 16) {
    return std::nullopt;
  }
  Digest digest;
  for (std::size_t i = 0; i < 8; ++i) {
    digest.high = (digest.high << 8) | static_cast<unsigned char>(blob[i]);
    digest.low = (digest.low << 8) | static_cast<unsigned char>(blob[8 + i]);
  }
  return digest;
}

}  // namespace cache_detail

namespace {

std::uint64_t file_bytes(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? static_cast<std::uint64_t>(info.st_size) : 0;
}

std::int64_t ns_of(const struct timespec& time) {
  return time.tv_sec * 1'000'000'000LL + time.tv_nsec;
}

}  // namespace

void HashCache::fail(std::string_view what) {
  std::string message = m_path.string() + ": " + std::string(what) + ": " + last_error(m_db);
  // An open transaction is rolled back, so nothing half-done is committed.
  if (sqlite3_get_autocommit(m_db) == 0) {
    sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  throw Fatal(message);
}

namespace {

// A segment as stored, for the maintenance commands.
struct StoredSegment {
  std::int64_t id;
  std::int64_t device;
  std::int64_t algo;
  std::string dir;
  std::string blob;
  std::int64_t checksum;
  std::vector<SegmentEntry> entries;  // empty when damaged (names point into blob)
  bool damaged = false;
};

// Every segment, checked against its checksum (the device's id from the devices table).
bool read_segments(sqlite3* db, std::vector<StoredSegment>& segments,
                   std::unordered_map<std::int64_t, std::string>& devices) {
  Statement keys(db, "SELECT id, key FROM devices");
  Statement rows(db, "SELECT id, device, algo, dir, entries, checksum FROM segments ORDER BY id");
  if (!keys.ok() || !rows.ok()) {
    return false;
  }
  int status = SQLITE_ROW;
  while ((status = keys.step()) == SQLITE_ROW) {
    devices.emplace(keys.integer(0), std::string(keys.blob(1)));
  }
  if (status != SQLITE_DONE) {
    return false;
  }
  while ((status = rows.step()) == SQLITE_ROW) {
    segments.push_back({rows.integer(0),
                        rows.integer(1),
                        rows.integer(2),
                        std::string(rows.blob(3)),
                        std::string(rows.blob(4)),
                        rows.integer(5),
                        {},
                        false});
  }
  if (status != SQLITE_DONE) {
    return false;
  }
  for (StoredSegment& segment : segments) {
    auto device = devices.find(segment.device);
    std::optional<std::vector<SegmentEntry>> entries;
    if (device != devices.end() &&
        segment_checksum(device->second, segment.algo, segment.dir, segment.blob) == segment.checksum) {
      entries = decode_segment(segment.blob);
    }
    segment.damaged = !entries;
    if (entries) {
      segment.entries = std::move(*entries);
    }
  }
  return true;
}

// What `entries` counts: distinct (device, algorithm, inode, stage) over undamaged segments (a
// file recorded under several paths, or superseded, is one entry).
std::uint64_t distinct_entries(const std::vector<StoredSegment>& segments,
                               const std::vector<std::vector<bool>>* kept = nullptr) {
  std::vector<std::tuple<std::int64_t, std::int64_t, std::uint64_t, std::int64_t>> keys;
  for (std::size_t s = 0; s < segments.size(); ++s) {
    for (std::size_t e = 0; e < segments[s].entries.size(); ++e) {
      if (kept == nullptr || (*kept)[s][e]) {
        const SegmentEntry& entry = segments[s].entries[e];
        keys.emplace_back(segments[s].device, segments[s].algo, entry.inode, entry.stage);
      }
    }
  }
  std::sort(keys.begin(), keys.end());
  return static_cast<std::uint64_t>(std::unique(keys.begin(), keys.end()) - keys.begin());
}

}  // namespace

CacheSummary HashCache::summary() {
  flush();
  std::lock_guard lock(m_db_mutex);
  CacheSummary summary;
  summary.path = m_path;
  std::vector<StoredSegment> segments;
  std::unordered_map<std::int64_t, std::string> devices;
  if (!read_segments(m_db, segments, devices)) {
    fail("cannot read");
  }
  summary.entries = distinct_entries(segments);
  std::vector<std::pair<std::int64_t, std::uint64_t>> files;
  for (const StoredSegment& segment : segments) {
    for (const SegmentEntry& entry : segment.entries) {
      files.emplace_back(segment.device, entry.inode);
    }
  }
  std::sort(files.begin(), files.end());
  summary.files = static_cast<std::uint64_t>(std::unique(files.begin(), files.end()) - files.begin());
  Statement version(m_db, "PRAGMA user_version");
  if (version.ok() && version.step() == SQLITE_ROW) {
    summary.schema_version = static_cast<int>(version.integer(0));
  }
  summary.disk_bytes = file_bytes(m_path.string()) + file_bytes(m_path.string() + "-wal");
  return summary;
}

std::uint64_t HashCache::prune(DeviceIds& ids, bool ignore_ctime, const CancelToken& cancel) {
  flush();
  std::lock_guard lock(m_db_mutex);
  std::vector<StoredSegment> segments;
  std::unordered_map<std::int64_t, std::string> devices;
  if (!read_segments(m_db, segments, devices)) {
    fail("cannot read");
  }
  // kept[s][e]: the entry still names its file as it is now, and no newer segment has an entry
  // for the same file at the same path (which supersedes it). Damaged segments go entirely.
  std::vector<std::vector<bool>> kept(segments.size());
  using Place = std::tuple<std::int64_t, std::int64_t, std::string_view, std::string_view, std::uint64_t, std::int64_t>;
  std::string path;
  for (std::size_t s = segments.size(); s-- > 0 && !cancel.cancelled();) {
    const StoredSegment& segment = segments[s];
    kept[s].assign(segment.entries.size(), false);
    const std::string& device = devices[segment.device];
    for (std::size_t e = 0; e < segment.entries.size(); ++e) {
      const SegmentEntry& entry = segment.entries[e];
      path.assign(segment.dir).append(entry.name);
      struct stat info {};
      // Follows a symlink: an entry reached through one (-L) recorded the file it names.
      const bool same = ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && ids.id_of(info.st_dev) == device &&
                        info.st_ino == entry.inode && static_cast<std::uint64_t>(info.st_size) == entry.size &&
                        ns_of(info.st_mtim) == entry.mtime_ns &&
                        (ignore_ctime || ns_of(info.st_ctim) == entry.ctime_ns);
      kept[s][e] = same;
    }
  }
  if (cancel.cancelled()) {
    return 0;
  }
  // Superseded: a kept entry for the same file at the same path as a kept entry of a newer
  // segment (recorded twice, or by two processes at once): only the newest stays.
  {
    struct Visit {
      Place place;
      std::size_t segment;
      std::size_t entry;
    };
    std::vector<Visit> visits;
    for (std::size_t s = segments.size(); s-- > 0;) {  // newest first
      for (std::size_t e = 0; e < segments[s].entries.size(); ++e) {
        if (kept[s][e]) {
          const SegmentEntry& entry = segments[s].entries[e];
          visits.push_back(
              {{segments[s].device, segments[s].algo, segments[s].dir, entry.name, entry.inode, entry.stage}, s, e});
        }
      }
    }
    std::stable_sort(visits.begin(), visits.end(), [](const Visit& a, const Visit& b) { return a.place < b.place; });
    for (std::size_t i = 1; i < visits.size(); ++i) {
      if (visits[i].place == visits[i - 1].place) {
        kept[visits[i].segment][visits[i].entry] = false;
      }
    }
  }
  const std::uint64_t before = distinct_entries(segments);
  const std::uint64_t after = distinct_entries(segments, &kept);
  // Rewrite what changed; a segment another process changed meanwhile (its checksum differs) is
  // left alone.
  Statement update(m_db, "UPDATE segments SET entries = ?1, checksum = ?2 WHERE id = ?3 AND checksum = ?4");
  Statement remove(m_db, "DELETE FROM segments WHERE id = ?1 AND checksum = ?2");
  if (!update.ok() || !remove.ok() || sqlite3_exec(m_db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    fail("cannot write");
  }
  for (std::size_t s = 0; s < segments.size(); ++s) {
    const StoredSegment& segment = segments[s];
    std::vector<SegmentEntry> left;
    for (std::size_t e = 0; e < segment.entries.size(); ++e) {
      if (kept[s][e]) {
        left.push_back(segment.entries[e]);
      }
    }
    if (!segment.damaged && left.size() == segment.entries.size()) {
      continue;
    }
    if (left.empty()) {
      remove.reset();
      remove.bind(1, segment.id);
      remove.bind(2, segment.checksum);
      if (remove.step() != SQLITE_DONE) {
        fail("cannot write");
      }
      continue;
    }
    const std::string blob = encode_segment(left);
    update.reset();
    update.bind(1, blob);
    update.bind(2, segment_checksum(devices[segment.device], segment.algo, segment.dir, blob));
    update.bind(3, segment.id);
    update.bind(4, segment.checksum);
    if (update.step() != SQLITE_DONE) {
      fail("cannot write");
    }
  }
  if (sqlite3_exec(m_db, "DELETE FROM devices WHERE id NOT IN (SELECT device FROM segments); COMMIT", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    fail("cannot write");
  }
  checkpoint();  // synced: a pruned cache is one compact database file again
  return before - after;
}

std::uint64_t HashCache::clear() {
  flush();
  std::lock_guard lock(m_db_mutex);
  std::vector<StoredSegment> segments;
  std::unordered_map<std::int64_t, std::string> devices;
  if (sqlite3_exec(m_db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK ||
      !read_segments(m_db, segments, devices)) {
    fail("cannot read");
  }
  const std::uint64_t deleted = distinct_entries(segments);
  if (sqlite3_exec(m_db, "DELETE FROM segments; DELETE FROM devices; COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    fail("cannot write");
  }
  // Give the space back: a cleared cache should not keep its old size on disk.
  sqlite3_exec(m_db, "PRAGMA synchronous=NORMAL; PRAGMA wal_checkpoint(TRUNCATE); VACUUM;", nullptr, nullptr, nullptr);
  return deleted;
}

}  // namespace spindle
