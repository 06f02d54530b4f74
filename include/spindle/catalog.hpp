#pragma once

// `spindle group --catalog FILE`: duplicates across hosts, from the JSON listings
// `spindle hash --format json` wrote on each of them (checksum_line.hpp, CatalogLine), without
// reading any file content of theirs; local PATHs may be walked and hashed alongside.
//
//   catalogs ──parse, select──▶ records ─┐
//   local PATHs ──walk──▶ sizes in a catalog or twice here ──full XXH3-128──▶ records ─┤
//       ──external sort by (size desc, hash, host, device, inode, path)──▶ runs on disk
//       ──k-way merge──▶ one (size, hash) group at a time ──one file per identity──▶ sink
//
// Memory stays bounded by the sort's run size, one group's files, the distinct catalog sizes
// (only when local PATHs are walked, 8 bytes each) and the local walk's file table.

#include <spindle/cancel.hpp>
#include <spindle/config.hpp>
#include <spindle/error.hpp>
#include <spindle/external_sort.hpp>
#include <spindle/hash.hpp>
#include <spindle/log.hpp>
#include <spindle/run_stats.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spindle {

class DeviceProbe;
class FileReader;
struct Calibration;

// One file as a catalog (or the local walk) knew it.
struct CatalogFile {
  std::string host;
  std::string path;
  std::uint64_t device = 0;  // st_dev: makedev(major, minor)
  std::uint64_t inode = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
};

// Files of one size and XXH3-128 on any host: at least two distinct inodes (or, with
// --hard-links, two paths). `files` are sorted by host, then path (bytewise).
struct CatalogGroup {
  std::uint64_t size = 0;
  Digest hash;
  std::vector<CatalogFile> files;
};

// Where groups go as the merge decides them: largest size first, then by hash.
class CatalogGroupSink {
 public:
  virtual ~CatalogGroupSink() = default;
  virtual void add(const CatalogGroup& group) = 0;
};

// The sort record of a file: its bytes order as (size descending, hash, host, device, inode,
// path), so a bytewise sort brings each group together. Exposed for tests.
std::string encode_catalog_record(std::uint64_t size, const Digest& hash, const CatalogFile& file);
void decode_catalog_record(std::string_view record, std::uint64_t& size, Digest& hash, CatalogFile& file);

struct CatalogOptions {
  std::vector<std::string> catalogs;  // files, "-" for standard input
  bool walk_paths = false;            // config.paths are local PATHs to walk and hash too
  std::string local_host;             // this host's name, which local files carry
  ExternalSortOptions sort;
};

// What the local part takes from the machine (as RunInputs for run_group).
struct CatalogInputs {
  DeviceProbe& probe;
  const Calibration& calibration;
  FileReader& reader;
};

// One run of group --catalog, in two steps so the report knows every host before its first line.
class CatalogRun {
 public:
  CatalogRun(const Config& config, Logger& log, const CancelToken& cancel, CatalogOptions options);
  ~CatalogRun();
  CatalogRun(const CatalogRun&) = delete;
  CatalogRun& operator=(const CatalogRun&) = delete;

  // Read every catalog and, with walk_paths, walk config.paths and hash each local file whose
  // size occurs in a catalog or twice locally (whole, XXH3-128: the digest spindle hash lists).
  // A catalog that cannot be opened or read is a file error; a malformed line is reported as
  // "FILE:LINE: reason", counted as an error, and skipped. Throws Fatal for a catalog of another
  // algorithm than xxh128 (its digests compare with nothing here).
  void collect(const CatalogInputs& inputs);
  // Merge the sorted records into groups and give each to `sink`. False when interrupted.
  bool merge(CatalogGroupSink& sink);

  // Every host that files came from (this host's name too when local PATHs were walked), sorted.
  const std::vector<std::string>& hosts() const { return m_hosts; }
  // No catalog could be read and no local PATH walked: there is nothing to report on.
  bool nothing_read() const;
  bool cancelled() const { return m_cancelled; }
  RunStats& stats() { return m_stats; }
  // File errors (unreadable catalogs, malformed lines: the first 1000 of them, local files).
  std::vector<FileError>& errors() { return m_errors; }
  // Runs the sort wrote to disk (0: it all fit in memory).
  std::size_t sort_runs() const { return m_sorter->runs_written(); }

 private:
  void read_catalog(const std::string& name);
  void add_record(const std::string& display, std::size_t line_number, std::string_view line);
  void note_host(const std::string& host);
  void note_error(FileError error);
  void walk_local(const CatalogInputs& inputs);

  const Config& m_config;
  Logger& m_log;
  const CancelToken& m_cancel;
  CatalogOptions m_options;
  std::unique_ptr<ExternalSorter> m_sorter;
  std::vector<std::uint64_t> m_sizes;  // catalog sizes (walk_paths only), sorted and unique at times
  std::size_t m_sizes_unique = 0;      // m_sizes[0, this) is sorted and unique
  std::vector<std::string> m_hosts;
  std::vector<FileError> m_errors;
  RunStats m_stats;
  std::size_t m_catalogs_read = 0;
  bool m_local_walked = false;
  bool m_cancelled = false;
};

}  // namespace spindle
