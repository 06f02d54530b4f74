// group --catalog (catalog.hpp): read catalogs and local files into one external sort, then
// merge it into groups.
#include <spindle/caching_reader.hpp>
#include <spindle/catalog.hpp>
#include <spindle/checksum_line.hpp>
#include <spindle/device.hpp>
#include <spindle/group.hpp>
#include <spindle/hash_run.hpp>
#include <spindle/progress.hpp>
#include <spindle/time_filter.hpp>
#include <spindle/walk.hpp>

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <tuple>

namespace spindle {

namespace {

using Clock = std::chrono::steady_clock;

// A line longer than this is no record spindle wrote (a path has at most 4096 bytes, 6 per byte
// escaped): it is reported and skipped without being held.
constexpr std::size_t k_max_line = std::size_t{1} << 20;
constexpr std::size_t k_read_block = std::size_t{1} << 20;
// Malformed lines kept for the JSON report's errors_list (all are counted and logged).
constexpr std::size_t k_max_kept_errors = 1000;

std::uint64_t elapsed_ns(Clock::time_point since) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - since).count());
}

void put_be64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out += static_cast<char>((value >> shift) & 0xff);
  }
}

std::uint64_t get_be64(std::string_view in, std::size_t at) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    value = (value << 8) | static_cast<unsigned char>(in[at + i]);
  }
  return value;
}

// Reads `fd` a block at a time and calls on_line(number, line) for each line (without its
// newline; a last line without one counts). A line over k_max_line is given as nullopt.
template <typename OnLine>
std::optional<FileError> for_each_line(int fd, const std::string& name, const CancelToken& cancel, OnLine on_line) {
  std::string block(k_read_block, '\0');
  std::string pending;
  bool overlong = false;
  std::size_t number = 0;
  for (;;) {
    if (cancel.cancelled()) {
      return std::nullopt;
    }
    const ssize_t got = ::read(fd, block.data(), block.size());
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      return FileError{.path = name, .errnum = errno, .op = "read", .detail = ""};
    }
    if (got == 0) {
      break;
    }
    std::string_view data(block.data(), static_cast<std::size_t>(got));
    while (!data.empty()) {
      const std::size_t newline = data.find('\n');
      const std::string_view piece = data.substr(0, newline);
      if (!overlong) {
        pending.append(piece);
        if (pending.size() > k_max_line) {
          overlong = true;
          std::string().swap(pending);
        }
      }
      if (newline == std::string_view::npos) {
        break;
      }
      ++number;
      on_line(number, overlong ? std::nullopt : std::optional<std::string_view>(pending));
      pending.clear();
      overlong = false;
      data.remove_prefix(newline + 1);
    }
  }
  if (!pending.empty() || overlong) {
    ++number;
    on_line(number, overlong ? std::nullopt : std::optional<std::string_view>(pending));
  }
  return std::nullopt;
}

bool same_identity(const CatalogFile& a, const CatalogFile& b) {
  return a.host == b.host && a.device == b.device && a.inode == b.inode;
}

}  // namespace

std::string encode_catalog_record(std::uint64_t size, const Digest& hash, const CatalogFile& file) {
  std::string out;
  out.reserve(24 + file.host.size() + 1 + 16 + file.path.size() + 1 + 16);
  put_be64(out, ~size);  // largest first
  put_be64(out, hash.high);
  put_be64(out, hash.low);
  out += file.host;
  out += '\0';  // neither host nor path holds NUL, so the key is prefix-free
  put_be64(out, file.device);
  put_be64(out, file.inode);
  out += file.path;
  out += '\0';
  put_be64(out, static_cast<std::uint64_t>(file.mtime_ns));
  put_be64(out, static_cast<std::uint64_t>(file.ctime_ns));
  return out;
}

void decode_catalog_record(std::string_view record, std::uint64_t& size, Digest& hash, CatalogFile& file) {
  size = ~get_be64(record, 0);
  hash.high = get_be64(record, 8);
  hash.low = get_be64(record, 16);
  std::size_t at = 24;
  const std::size_t host_end = record.find('\0', at);
  file.host.assign(record.substr(at, host_end - at));
  at = host_end + 1;
  file.device = get_be64(record, at);
  file.inode = get_be64(record, at + 8);
  at += 16;
  const std::size_t path_end = record.find('\0', at);
  file.path.assign(record.substr(at, path_end - at));
  at = path_end + 1;
  file.mtime_ns = static_cast<std::int64_t>(get_be64(record, at));
  file.ctime_ns = static_cast<std::int64_t>(get_be64(record, at + 8));
}

CatalogRun::CatalogRun(const Config& config, Logger& log, const CancelToken& cancel, CatalogOptions options)
    : m_config(config),
      m_log(log),
      m_cancel(cancel),
      m_options(std::move(options)),
      m_sorter(std::make_unique<ExternalSorter>(m_options.sort)) {}

CatalogRun::~CatalogRun() = default;

bool CatalogRun::nothing_read() const {
  return m_catalogs_read == 0 && !m_local_walked && !m_errors.empty();
}

void CatalogRun::note_host(const std::string& host) {
  if (!m_hosts.empty() && m_hosts.back() == host) {
    return;
  }
  const auto at = std::lower_bound(m_hosts.begin(), m_hosts.end(), host);
  if (at == m_hosts.end() || *at != host) {
    m_hosts.insert(at, host);
  }
}

void CatalogRun::note_error(FileError error) {
  ++m_stats.errors;
  if (m_errors.size() < k_max_kept_errors) {
    m_errors.push_back(std::move(error));
  }
}

void CatalogRun::add_record(const std::string& display, std::size_t line_number, std::string_view line) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
    return;  // a blank line (an editor's last newline) holds no record
  }
  std::string why;
  std::optional<CatalogLine> record = parse_catalog_line(line, why);
  if (record && record->algo != HashAlgo::xxh128) {
    throw Fatal(escape_for_terminal(display) + ":" + std::to_string(line_number) + ": a catalog of " +
                std::string(algo_name(record->algo)) +
                " digests (spindle hash --algo): group compares XXH3-128 digests, so it cannot use it; make the "
                "catalog again with spindle hash --format json (its default --algo xxh128)");
  }
  if (!record) {
    m_log.error(escape_for_terminal(display) + ":" + std::to_string(line_number) + ": " + why);
    note_error(FileError{
        .path = display, .errnum = 0, .op = "catalog", .detail = "line " + std::to_string(line_number) + ": " + why});
    return;
  }
  ++m_stats.files_scanned;
  m_stats.bytes_scanned += record->size;
  // The selection flags apply to catalog entries as they do to walked files.
  if ((record->size == 0 && !m_config.include_empty) || record->size < m_config.min_size ||
      (m_config.max_size && record->size > *m_config.max_size) ||
      !TimeWindow{m_config.newer_than_ns, m_config.older_than_ns}.contains(record->mtime_ns)) {
    return;
  }
  note_host(record->host);
  if (m_options.walk_paths) {
    m_sizes.push_back(record->size);
    if (m_sizes.size() >= 2 * std::max<std::size_t>(m_sizes_unique, std::size_t{1} << 16)) {
      std::sort(m_sizes.begin(), m_sizes.end());
      m_sizes.erase(std::unique(m_sizes.begin(), m_sizes.end()), m_sizes.end());
      m_sizes_unique = m_sizes.size();
    }
  }
  CatalogFile file{.host = std::move(record->host),
                   .path = std::move(record->path),
                   .device = static_cast<std::uint64_t>(makedev(record->device_major, record->device_minor)),
                   .inode = record->inode,
                   .mtime_ns = record->mtime_ns,
                   .ctime_ns = record->ctime_ns};
  m_sorter->add(encode_catalog_record(record->size, record->digest, file));
}

void CatalogRun::read_catalog(const std::string& name) {
  const bool standard_input = name == "-";
  const std::string display = standard_input ? "<stdin>" : name;
  // A plain open, not open_for_reading's O_NONBLOCK: a catalog may well be a pipe
  // (<(ssh host spindle hash --format json /)) whose writer has not written yet.
  Fd owned(standard_input ? -1 : ::open(name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!standard_input && !owned) {
    m_log.file_error(FileError{.path = name, .errnum = errno, .op = "open", .detail = ""});
    note_error(FileError{.path = name, .errnum = errno, .op = "open", .detail = ""});
    return;
  }
  std::optional<FileError> failed =
      for_each_line(standard_input ? STDIN_FILENO : owned.get(), display, m_cancel,
                    [&](std::size_t number, std::optional<std::string_view> line) {
                      if (!line) {
                        m_log.error(escape_for_terminal(display) + ":" + std::to_string(number) +
                                    ": a line longer than 1 MiB (no record of spindle hash)");
                        note_error(FileError{.path = display,
                                             .errnum = 0,
                                             .op = "catalog",
                                             .detail = "line " + std::to_string(number) + ": longer than 1 MiB"});
                        return;
                      }
                      add_record(display, number, *line);
                    });
  if (failed) {
    m_log.file_error(*failed);
    note_error(std::move(*failed));
    return;
  }
  ++m_catalogs_read;
}

void CatalogRun::walk_local(const CatalogInputs& inputs) {
  Progress progress(m_log, progress_enabled(m_config.progress), {.stages = 2});
  Clock::time_point t = Clock::now();
  progress.begin_stage("walk", 0, 0);
  WalkResult walked = walk(m_config, m_log, m_cancel, inputs.probe.mounts(), &progress);
  for (FileError& error : walked.errors) {
    note_error(std::move(error));
  }
  if (m_cancel.cancelled()) {
    m_cancelled = true;
    return;
  }
  FileTable files = std::move(walked.files);
  remove_aliases(files, m_config);
  m_stats.directories += walked.directories;
  m_stats.skipped_special += walked.skipped_special;
  m_stats.files_scanned += files.size();
  m_local_walked = walked.directories > 0 || !files.empty() || walked.skipped_special > 0 || walked.errors.empty();
  m_stats.stages.push_back({"walk", 0, files.size(), 0, 0, elapsed_ns(t), {}});
  note_host(m_options.local_host);

  // A local file needs its full hash when a catalog has its size or another local file does.
  t = Clock::now();
  std::sort(m_sizes.begin(), m_sizes.end());
  m_sizes.erase(std::unique(m_sizes.begin(), m_sizes.end()), m_sizes.end());
  std::vector<std::uint64_t> local_sizes;
  local_sizes.reserve(files.size());
  for (FileIndex f = 0; f < files.size(); ++f) {
    local_sizes.push_back(files[f].size);
    m_stats.bytes_scanned += files[f].size;
  }
  std::sort(local_sizes.begin(), local_sizes.end());
  std::vector<FileIndex> order;
  for (FileIndex f : listing_order(files, ListOrder::path, walked.chunk_starts)) {
    const std::uint64_t size = files[f].size;
    const auto [low, high] = std::equal_range(local_sizes.begin(), local_sizes.end(), size);
    if (high - low >= 2 || std::binary_search(m_sizes.begin(), m_sizes.end(), size)) {
      order.push_back(f);
    }
  }
  std::vector<std::uint64_t>().swap(m_sizes);
  std::vector<std::uint64_t>().swap(local_sizes);
  // The distinct devices (a handful), not one entry per file; files in path order come in runs
  // of one device, so most are settled by the last one seen.
  std::vector<std::uint64_t> devices;
  for (FileIndex f : order) {
    const std::uint64_t device = files[f].device();
    if ((devices.empty() || devices.back() != device) &&
        std::find(devices.begin(), devices.end(), device) == devices.end()) {
      devices.push_back(device);
    }
  }
  std::sort(devices.begin(), devices.end());

  // Whole files, XXH3-128, on the per-device pools: the very digest `spindle hash` lists, so a
  // local file and a catalog entry compare. (A catalog entry carries only that digest, so the
  // prefix and suffix stages that prune local-only groups in plain `group` do not apply here.)
  RunCache cache(m_config, inputs.reader, HashAlgo::xxh128, devices, m_log);
  const HashJob job{.config = m_config,
                    .log = m_log,
                    .cancel = m_cancel,
                    .files = files,
                    .order = order,
                    .probe = inputs.probe,
                    .calibration = inputs.calibration,
                    .reader = cache.reader(),
                    .progress = progress};
  progress.begin_stage("full", order.size(), 0);
  std::string path;
  const HashRunResult hashed = hash_in_order(job, [&](FileIndex f, const Result<Digest>& digest) {
    if (!digest.ok()) {
      note_error(digest.error());  // logged by the run
      return true;
    }
    const FileEntry& entry = files[f];
    path.clear();
    files.append_path(f, path);
    m_sorter->add(encode_catalog_record(entry.size, *digest,
                                        CatalogFile{.host = m_options.local_host,
                                                    .path = path,
                                                    .device = static_cast<std::uint64_t>(entry.device()),
                                                    .inode = entry.ino,
                                                    .mtime_ns = entry.mtime_ns,
                                                    .ctime_ns = entry.ctime_ns}));
    return true;
  });
  m_cancelled = hashed.cancelled;
  m_stats.bytes_read += hashed.bytes_read;
  m_stats.pools = hashed.pools;
  m_stats.cache_used = cache.used();
  m_stats.cache_hits = cache.hits();
  m_stats.cache_misses = cache.misses();
  StageReport full{"full", order.size(), hashed.files_hashed, 0, hashed.bytes_read, elapsed_ns(t), {}};
  m_stats.stages.push_back(std::move(full));
}

void CatalogRun::collect(const CatalogInputs& inputs) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point t = start;
  for (const std::string& catalog : m_options.catalogs) {
    read_catalog(catalog);
    if (m_cancel.cancelled()) {
      m_cancelled = true;
      return;
    }
  }
  m_stats.stages.push_back({"catalogs", 0, m_sorter->records(), 0, 0, elapsed_ns(t), {}});
  if (m_options.walk_paths) {
    walk_local(inputs);
  }
  m_stats.elapsed_ns = elapsed_ns(start);
}

bool CatalogRun::merge(CatalogGroupSink& sink) {
  const Clock::time_point t = Clock::now();
  CatalogGroup group;
  std::vector<CatalogFile> files;  // the current (size, hash)'s records, in sort order
  std::uint64_t size = 0;
  Digest hash;
  std::uint64_t seen = 0;
  std::uint64_t grouped = 0;
  const auto flush = [&] {
    group.files.clear();
    for (CatalogFile& file : files) {
      // One file per identity: the same catalog given twice, a catalog of this host beside a
      // walk of the same tree, hard links (kept, as paths, only with --hard-links).
      if (!group.files.empty() && same_identity(group.files.back(), file) &&
          (!m_config.hard_links || group.files.back().path == file.path)) {
        continue;
      }
      group.files.push_back(std::move(file));
    }
    files.clear();
    std::sort(group.files.begin(), group.files.end(), [](const CatalogFile& a, const CatalogFile& b) {
      return std::tie(a.host, a.path) < std::tie(b.host, b.path);
    });
    // The same path of one host twice (two catalogs taken at different times): one file.
    group.files.erase(
        std::unique(group.files.begin(), group.files.end(),
                    [](const CatalogFile& a, const CatalogFile& b) { return a.host == b.host && a.path == b.path; }),
        group.files.end());
    if (group.files.size() < 2) {
      return;
    }
    group.size = size;
    group.hash = hash;
    ++m_stats.groups;
    m_stats.duplicate_files += group.files.size() - 1;
    m_stats.wasted_bytes += size * (group.files.size() - 1);
    grouped += group.files.size();
    sink.add(group);
  };
  bool stopped = false;
  m_sorter->finish([&](std::string_view record) {
    if ((++seen & 0xffff) == 0 && m_cancel.cancelled()) {
      stopped = true;
      return false;
    }
    CatalogFile file;
    std::uint64_t record_size = 0;
    Digest record_hash;
    decode_catalog_record(record, record_size, record_hash, file);
    if (!files.empty() && (record_size != size || record_hash != hash)) {
      flush();
    }
    size = record_size;
    hash = record_hash;
    files.push_back(std::move(file));
    return true;
  });
  if (stopped || m_cancel.cancelled()) {
    m_cancelled = true;
    return false;
  }
  if (!files.empty()) {
    flush();
  }
  m_stats.stages.push_back({"merge", seen, grouped, m_stats.groups, 0, elapsed_ns(t), {}});
  m_stats.elapsed_ns += elapsed_ns(t);
  return true;
}

}  // namespace spindle
