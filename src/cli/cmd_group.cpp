// `spindle group`: find duplicate files and print the report.
#include "commands.hpp"
#include "exit_code.hpp"
#include "flags.hpp"
#include "group_mpi.hpp"
#include "output.hpp"

#include <spindle/calibrate.hpp>
#include <spindle/catalog.hpp>
#include <spindle/catalog_report.hpp>
#include <spindle/device.hpp>
#include <spindle/glob_list.hpp>
#include <spindle/group.hpp>
#include <spindle/host.hpp>
#include <spindle/output_file.hpp>
#include <spindle/path_list.hpp>
#include <spindle/reader.hpp>
#include <spindle/report.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace spindle::cli {

// A report of that is no report of the files.
bool nothing_walked(const GroupResult& result) {
  const RunStats& stats = result.stats;
  return !result.errors.empty() && stats.files_scanned == 0 && stats.directories == 0 && stats.skipped_special == 0;
}

namespace {

// What `group` takes beyond the Config: --files-from/--null and -z.
struct GroupOptions {
  PathListOptions list;
  InputFilterOptions filter;
  bool zero = false;
  CatalogFlags catalog;
  bool paths_given = false;  // PATHs on the command line or from --files-from (with --catalog: walk them)
};

// The report stopped before it was complete (interrupted, or no PATH could be read): thrown out
// of OutputFile::commit so that a FILE is not replaced by it.
struct ReportAbandoned {
  int exit_code;
};

// --format jsonl: the report is written while the run goes on, each group the moment it is final
// (a report larger than memory is never held). Lines come in the order groups are decided, which
// depends on timing; the stats line (--stats) comes last. Interrupted, a FILE keeps its old
// content; standard output or a pipe has the lines written so far.
int run_streamed(Context& context, Config& config, Logger& log, OutputFile& output, const RunInputs& inputs,
                 std::size_t list_errors) {
  std::unique_ptr<Reporter> reporter = make_reporter(config.format, ReportOptions{.stats_line = config.stats});
  GroupResult result;
  try {
    const bool committed = output.commit([&](std::ostream& out) {
      std::unique_ptr<GroupSink> sink = make_jsonl_sink(out);
      RunInputs streamed = inputs;
      streamed.sink = sink.get();
      result = run_group(config, log, context.cancel, streamed);
      if (result.cancelled) {
        throw ReportAbandoned{k_exit_interrupted};
      }
      if (nothing_walked(result) && (output.kind() == OutputKind::replace || output.kind() == OutputKind::in_place)) {
        log.error("no PATH could be read: nothing written to " + escape_for_terminal(output.name()));
        throw ReportAbandoned{k_exit_file_errors};
      }
      reporter->write(result, out);
    });
    if (!committed) {
      throw ReportAbandoned{k_exit_interrupted};
    }
  } catch (const ReportAbandoned& abandoned) {
    if (abandoned.exit_code == k_exit_interrupted) {
      log.error(output.kind() == OutputKind::replace ? "interrupted: no report written"
                                                     : "interrupted: the report is incomplete");
    }
    return abandoned.exit_code;
  }
  if (config.stats) {
    log.write_raw(format_stats(result.stats));
  }
  return result.errors.empty() && list_errors == 0 ? k_exit_ok : k_exit_file_errors;
}

// The sort's run size: SPINDLE_CATALOG_RUN_BYTES (undocumented; tests force several runs with
// it), else the sorter's default.
std::size_t catalog_run_bytes() {
  const char* text = std::getenv("SPINDLE_CATALOG_RUN_BYTES");
  if (text != nullptr && *text != '\0') {
    std::optional<std::uint64_t> bytes = parse_size(text, SizeRounding::down);
    if (bytes && *bytes > 0) {
      return static_cast<std::size_t>(*bytes);
    }
  }
  return ExternalSortOptions{}.run_bytes;
}

// --catalog: catalogs (and the PATHs, if any) into one external sort, then the report written a
// group at a time as the merge decides them (catalog.hpp, catalog_report.hpp).
int run_catalog(Context& context, const Config& config, Logger& log, const GroupOptions& options,
                std::size_t list_errors) {
  OutputFile output = open_report(config.output_path, context.cancel);
  std::unique_ptr<DeviceProbe> probe = make_system_probe();
  const Calibration calibration = load_calibrations(log);
  SystemReader reader;
  const std::string host = local_host_name();
  CatalogRun run(config, log, context.cancel,
                 CatalogOptions{.catalogs = options.catalog.catalogs,
                                .walk_paths = options.paths_given,
                                .local_host = host,
                                .sort = {.tmp_dir = options.catalog.tmp_dir, .run_bytes = catalog_run_bytes()}});
  run.collect({*probe, calibration, reader});
  if (run.cancelled()) {
    log.error("interrupted: no report written");
    return k_exit_interrupted;
  }
  if (run.nothing_read() && (output.kind() == OutputKind::replace || output.kind() == OutputKind::in_place)) {
    log.error("no catalog or PATH could be read: nothing written to " + escape_for_terminal(output.name()));
    return k_exit_file_errors;
  }
  const ReportOptions report{.escape_names = output.is_terminal() && !options.zero,
                             .zero_terminated = options.zero,
                             .colour = !options.zero && report_colour(config.color, output),
                             .stats_line = config.stats};
  try {
    const bool committed = output.commit([&](std::ostream& out) {
      std::unique_ptr<CatalogReportWriter> writer =
          make_catalog_writer(config.format, report, CatalogReportContext{run.hosts(), host}, out);
      if (!run.merge(*writer)) {
        throw ReportAbandoned{k_exit_interrupted};
      }
      writer->finish(run.stats(), run.errors());
    });
    if (!committed) {
      throw ReportAbandoned{k_exit_interrupted};
    }
  } catch (const ReportAbandoned& abandoned) {
    log.error(output.kind() == OutputKind::replace ? "interrupted: no report written"
                                                   : "interrupted: the report is incomplete");
    return abandoned.exit_code;
  }
  log.debug("catalog sort: " + std::to_string(run.sort_runs()) + " runs on disk");
  if (config.stats) {
    log.write_raw(format_stats(run.stats()));
  }
  return run.stats().errors == 0 && list_errors == 0 ? k_exit_ok : k_exit_file_errors;
}

int run(Context& context, const GroupOptions& options) {
  Config& config = context.config;
  if (config.mpi) {  // before anything reads standard input: under mpirun, rank 0 does
    return run_group_mpi(context, options.list, options.filter, options.zero);
  }
  Logger log = make_logger(config);
  const bool catalog_stdin = std::find(options.catalog.catalogs.begin(), options.catalog.catalogs.end(), "-") !=
                             options.catalog.catalogs.end();
  if (catalog_stdin && (options.list.files_from == "-" || options.filter.exclude_from == "-")) {
    log.error(std::string("--catalog - and ") +
              (options.list.files_from == "-" ? "--files-from -" : "--exclude-from -") +
              " cannot both read standard input: give one of them a FILE");
    return k_exit_usage;
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
  // A usage error before any work (the walk would report it as a file error, exit 1).
  for (const std::string& path : config.paths) {
    if (path.empty()) {
      log.error("'': empty path (name a file or directory; '.' is the current directory)");
      return k_exit_usage;
    }
  }
  if (!options.catalog.catalogs.empty()) {
    return run_catalog(context, config, log, options, list_errors);
  }
  // Before the walk: a FILE that cannot be written fails now, not after an hour of hashing.
  OutputFile output = open_report(config.output_path, context.cancel);
  std::unique_ptr<DeviceProbe> probe = make_system_probe();
  const Calibration calibration = load_calibrations(log);
  SystemReader reader;
  if (config.format == ReportFormat::jsonl) {
    return run_streamed(context, config, log, output, {*probe, calibration, reader}, list_errors);
  }

  GroupResult result = run_group(config, log, context.cancel, {*probe, calibration, reader});
  // Names are escaped only for a terminal (ls does the same); a pipe or a file gets raw bytes.
  return write_group_report(config, log, output, result,
                            ReportOptions{.escape_names = output.is_terminal() && !options.zero,
                                          .zero_terminated = options.zero,
                                          .colour = !options.zero && report_colour(config.color, output)},
                            list_errors);
}

}  // namespace

int write_group_report(const Config& config, Logger& log, OutputFile& output, const GroupResult& result,
                       const ReportOptions& options, std::size_t list_errors) {
  if (result.cancelled) {
    log.error("interrupted: no report written");
    return k_exit_interrupted;
  }
  // A file keeps its last good report; a FIFO or device still gets this one (a reader waits).
  if (nothing_walked(result) && (output.kind() == OutputKind::replace || output.kind() == OutputKind::in_place)) {
    log.error("no PATH could be read: nothing written to " + escape_for_terminal(output.name()));
    return k_exit_file_errors;
  }
  std::unique_ptr<Reporter> reporter = make_reporter(config.format, options);
  if (!output.commit([&](std::ostream& out) { reporter->write(result, out); })) {
    log.error("interrupted: no report written");
    return k_exit_interrupted;
  }
  if (config.stats) {
    log.write_raw(format_stats(result.stats));
  } else {
    for (const std::string& line : stage_thread_lines(result.stats)) {
      log.info(line);
    }
  }
  return result.errors.empty() && list_errors == 0 ? k_exit_ok : k_exit_file_errors;
}

Command register_group(CLI::App& root, Context& context) {
  CLI::App* app = root.add_subcommand("group", "Find groups of files with identical content");
  Config& config = context.config;
  auto options = std::make_shared<GroupOptions>();
  add_walk_flags(*app, config);
  add_path_list_flags(*app, options->list);
  add_input_filter_flags(*app, config, options->filter, options->list);
  add_candidate_flags(*app, config);
  add_replication_flags(*app, config);
  add_dir_flags(*app, config);
  add_read_flags(*app, config);
  add_threads_flag(*app, config);
  add_mpi_flag(*app, config);
  add_cache_flags(*app, config);
  add_report_flags(*app, config);
  add_zero_flag(*app, options->zero);
  add_catalog_flags(*app, options->catalog);
  add_verbosity_flags(*app, config);
  return {app, [&context, options, app] {
            options->paths_given = app->count("paths") > 0 || !options->list.files_from.empty();
            return run(context, *options);
          }};
}

}  // namespace spindle::cli
