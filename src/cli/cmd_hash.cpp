// `spindle hash`: checksum listings (xxhsum's lines or JSON records) and their verification.
#include "commands.hpp"
#include "exit_code.hpp"
#include "flags.hpp"
#include "listing_output.hpp"
#include "output.hpp"

#include <spindle/caching_reader.hpp>
#include <spindle/calibrate.hpp>
#include <spindle/checksum_line.hpp>
#include <spindle/checksum_reader.hpp>
#include <spindle/device.hpp>
#include <spindle/glob_list.hpp>
#include <spindle/hash_run.hpp>
#include <spindle/host.hpp>
#include <spindle/output_file.hpp>
#include <spindle/path_list.hpp>
#include <spindle/reader.hpp>
#include <spindle/report.hpp>
#include <spindle/walk.hpp>

#include <climits>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace spindle::cli {

namespace {

struct Options {
  HashOptions hash;
  PathListOptions list;
  InputFilterOptions filter;
};

}  // namespace

std::string hash_stats_text(const HashRunResult& run, std::uint64_t files_scanned, std::uint64_t directories,
                            const RunCache* cache) {
  RunStats stats;
  stats.files_scanned = files_scanned;
  stats.directories = directories;
  stats.errors = run.errors;
  stats.bytes_read = run.bytes_read;
  stats.elapsed_ns = run.elapsed_ns;
  stats.pools = run.pools;
  if (cache != nullptr) {
    stats.cache_used = cache->used();
    stats.cache_hits = cache->hits();
    stats.cache_misses = cache->misses();
  }
  return format_stats(stats);  // ends with the exact `bytes read: N` line scripts read
}

namespace {

int run_listing(Context& context, const Options& options) {
  Config config = context.config;
  Logger log = make_logger(config);
  for (const std::string& path : config.paths) {
    if (path.empty()) {
      log.error("'': empty path (name a file or directory; '.' is the current directory)");
      return k_exit_usage;
    }
  }
  std::size_t list_errors = 0;
  if (!options.list.files_from.empty()) {
    PathList list = read_path_list(options.list.files_from, options.list.null_separated);
    for (const FileError& error : list.errors) {
      log.file_error(error);
    }
    list_errors = list.errors.size();
    config.paths = std::move(list.paths);
  }
  if (!options.filter.exclude_from.empty()) {
    for (std::string& glob : read_glob_list(options.filter.exclude_from, options.list.null_separated)) {
      config.exclude_globs.push_back(std::move(glob));
    }
  }
  config.include_empty = true;  // a listing names every file; an empty one has a hash too
  OutputFile output = open_report(config.output_path, context.cancel);
  std::unique_ptr<DeviceProbe> probe = make_system_probe();
  const Calibration calibration = load_calibrations(log);

  Progress progress(log, progress_enabled(config.progress), {.stages = 2});  // the walk, then the hashing
  progress.begin_stage("walk", 0, 0);
  WalkResult walked = walk(config, log, context.cancel, probe->mounts(), &progress);
  if (context.cancel.cancelled()) {
    log.error("interrupted: no listing written");
    return k_exit_interrupted;
  }
  const bool nothing =
      !walked.errors.empty() && walked.files.empty() && walked.directories == 0 && walked.skipped_special == 0;
  if (nothing && (output.kind() == OutputKind::replace || output.kind() == OutputKind::in_place)) {
    log.error("no PATH could be read: nothing written to " + escape_for_terminal(output.name()));
    return k_exit_file_errors;
  }
  const FileTable& files = walked.files;
  const std::vector<FileIndex> order = listing_order(files, options.hash.order, walked.chunk_starts);
  SystemReader system_reader;
  ChecksumReader checksum_reader(options.hash.algo);
  const HashAlgo algo = options.hash.algo;
  std::vector<std::uint64_t> devices;
  for (FileIndex f = 0; f < files.size(); ++f) {
    devices.push_back(files[f].device());
  }
  RunCache cache(config, algo == HashAlgo::xxh128 ? static_cast<FileReader&>(system_reader) : checksum_reader, algo,
                 devices, log);
  FileReader& reader = cache.reader();
  const LineStyle style{.tag = options.hash.tag, .zero = options.hash.zero};
  const bool json = config.format == ReportFormat::json;
  const std::string host = json ? local_host_name() : std::string();
  HashRunResult result;
  const bool complete = write_listing(output, [&](std::ostream& out) {
    LineWriter writer(out, output.is_terminal());
    std::string path;
    const HashJob job{.config = config,
                      .log = log,
                      .cancel = context.cancel,
                      .files = files,
                      .order = order,
                      .probe = *probe,
                      .calibration = calibration,
                      .reader = reader,
                      .progress = progress};
    result = hash_in_order(job, [&](FileIndex f, const Result<Digest>& digest) {
      if (!digest.ok()) {
        return true;  // reported on stderr; a listing holds only the files it could hash
      }
      path.clear();
      files.append_path(f, path);
      if (json) {
        const FileEntry& entry = files[f];
        append_json_record(writer.text(), HashRecord{.path = path,
                                                     .size = entry.size,
                                                     .mtime_ns = entry.mtime_ns,
                                                     .ctime_ns = entry.ctime_ns,
                                                     .device_major = major(entry.device()),
                                                     .device_minor = minor(entry.device()),
                                                     .inode = entry.ino,
                                                     .host = host,
                                                     .algo = algo,
                                                     .digest = *digest});
      } else {
        append_checksum_line(writer.text(), algo, *digest, path, style);
      }
      return writer.line_done();
    });
    writer.flush();
    return !result.cancelled;
  });
  if (!complete) {
    log.error(output.kind() == OutputKind::standard_output ? "interrupted: listing incomplete"
                                                           : "interrupted: no listing written");
    return k_exit_interrupted;
  }
  if (config.stats) {
    log.write_raw(hash_stats_text(result, files.size(), walked.directories, &cache));
  }
  const std::size_t errors = walked.errors.size() + list_errors + result.errors;
  return errors == 0 ? k_exit_ok : k_exit_file_errors;
}

}  // namespace

Command register_hash(CLI::App& root, Context& context) {
  CLI::App* app = root.add_subcommand("hash", "Write or verify xxh128sum-style checksum listings");
  Config& config = context.config;
  auto options = std::make_shared<Options>();
  add_walk_flags(*app, config);
  add_path_list_flags(*app, options->list);
  add_input_filter_flags(*app, config, options->filter, options->list);
  add_size_flags(*app, config);
  add_hash_flags(*app, config, options->hash);
  add_cache_flags(*app, config);
  for (const char* cache_flag : {"--cache", "--cache-path", "--cache-ignore-ctime"}) {
    // A check answered from the cache would verify nothing: --check always reads the files.
    app->get_option("--check")->excludes(app->get_option(cache_flag));
  }
  add_zero_flag(*app, options->hash.zero);
  add_threads_flag(*app, config);
  add_output_flags(*app, config);
  add_verbosity_flags(*app, config);
  return {app, [&context, options, app] {
            if (!options->hash.check) {
              return run_listing(context, *options);
            }
            // Listings to verify: the PATHs, or standard input.
            const std::vector<std::string> listings =
                app->count("paths") > 0 ? context.config.paths : std::vector<std::string>{"-"};
            return run_check(context, options->hash, listings);
          }};
}

}  // namespace spindle::cli
