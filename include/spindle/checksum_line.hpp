#pragma once

// One line of a checksum listing: what `spindle hash` writes and `spindle hash --check` reads.
// The text forms are those of xxhsum 0.8.1 (Debian's `xxhash`), with GNU coreutils' escaping of
// awkward names, so listings go both ways between spindle and xxh128sum/xxhsum; the JSON form is
// spindle's own catalog record (documented as stable in the README and the man page).

#include <spindle/hash.hpp>
#include <spindle/hash_algo.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spindle {

// Lower-case hex of the canonical (big-endian) digest, as xxhsum prints it: 32 digits for
// xxh128, 16 for xxh3 and xxh64, 8 for xxh32. A 64- or 32-bit digest lives in Digest::low.
std::string digest_hex(HashAlgo algo, const Digest& digest);
// The digest `hex` spells for `algo` (either case), or nullopt when it is not exactly that.
std::optional<Digest> parse_digest_hex(HashAlgo algo, std::string_view hex);

// The BSD tag xxhsum writes: XXH128, XXH3, XXH64, XXH32.
std::string_view algo_tag(HashAlgo algo);

struct LineStyle {
  bool tag = false;   // BSD style `XXH128 (path) = hex` (xxh3 is always written so, as xxhsum does)
  bool zero = false;  // end with NUL instead of a newline and escape nothing
};

// Append one listing line for `path`. Without `zero`, a name holding a newline, carriage return
// or backslash is escaped as GNU sha256sum escapes it: the line starts with '\' and those bytes
// become \n, \r and \\ (every other byte is written raw). A line always ends with '\n' or NUL.
void append_checksum_line(std::string& out, HashAlgo algo, const Digest& digest, std::string_view path,
                          LineStyle style);

// A parsed line: the file to check and what its digest must be.
struct ChecksumEntry {
  std::string path;
  HashAlgo algo = HashAlgo::xxh128;
  Digest digest;
};

// Parse one line (without its terminator) in either text style: `hex  path` (or `hex *path`; the
// algorithm from the hex length: 32 xxh128, 16 xxh64, 8 xxh32) or `TAG (path) = hex`, a leading
// '\' meaning an escaped name (ignored when `zero`: NUL-terminated lines are never escaped).
// nullopt for a malformed line.
std::optional<ChecksumEntry> parse_checksum_line(std::string_view line, bool zero);

// One `spindle hash --format json` record: the file's identity and state when it was hashed.
struct HashRecord {
  std::string_view path;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::uint32_t device_major = 0;
  std::uint32_t device_minor = 0;
  std::uint64_t inode = 0;
  std::string_view host;
  HashAlgo algo = HashAlgo::xxh128;
  Digest digest;
};

// Append the record as one JSON object and a newline (JSON lines), members in this order:
// path (lossless: bytes that are not UTF-8 are \udcXX, as in group's JSON), size, mtime_ns,
// ctime_ns, device ("major:minor"), inode, host, algo, hash.
void append_json_record(std::string& out, const HashRecord& record);

// Path, algo and hash of a JSON record line (other members are skipped); nullopt when the line is
// not a JSON object with those three members valid.
std::optional<ChecksumEntry> parse_json_record(std::string_view line);

// Every member of a JSON record, as `spindle group --catalog` reads it (catalog.hpp).
struct CatalogLine {
  std::string path;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;  // 0 when the member is absent
  std::int64_t ctime_ns = 0;  // 0 when the member is absent
  std::uint32_t device_major = 0;
  std::uint32_t device_minor = 0;
  std::uint64_t inode = 0;
  std::string host;
  HashAlgo algo = HashAlgo::xxh128;
  Digest digest;
};

// Parse a JSON record line with all its members (path, size, device, inode, host, algo and hash
// required; mtime_ns and ctime_ns optional; unknown members skipped, so the format can grow).
// nullopt for a malformed line, with `why` saying what is wrong in a few words.
std::optional<CatalogLine> parse_catalog_line(std::string_view line, std::string& why);

}  // namespace spindle
