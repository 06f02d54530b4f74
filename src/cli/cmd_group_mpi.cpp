// `spindle group --mpi` in spindle-mpi: this process is one rank of an MPI job. Rank 0 reads the
// PATH lists and writes the one report; every rank walks, hashes what it owns, and ends with the
// exit code rank 0 decides. A rank that fails aborts the job (no rank waits for it forever).
#include "../mpi/mpi_group.hpp"
#include "../mpi/mpi_walk.hpp"
#include "exit_code.hpp"
#include "group_mpi.hpp"
#include "output.hpp"

#include <spindle/calibrate.hpp>
#include <spindle/device.hpp>
#include <spindle/glob_list.hpp>
#include <spindle/output_file.hpp>
#include <spindle/path_list.hpp>
#include <spindle/reader.hpp>
#include <spindle/report.hpp>

#include <cstdio>
#include <memory>
#include <optional>

namespace spindle::cli {

namespace {

// Rank 0 reads --files-from and --exclude-from (standard input reaches rank 0 only) and checks
// what --mpi cannot do; every rank gets the PATHs, the globs and the verdict. Returns the usage
// error to end with, if any (rank 0 has logged it), and the list errors.
std::optional<int> share_inputs(Config& config, Logger& log, const PathListOptions& list,
                                const InputFilterOptions& filter, const mpi::Session& session,
                                std::size_t& list_errors) {
  std::string shared;
  if (session.root()) {
    int usage = 0;
    if (!list.files_from.empty()) {
      PathList paths = read_path_list(list.files_from, list.null_separated);
      for (const FileError& error : paths.errors) {
        log.file_error(error);
      }
      list_errors = paths.errors.size();
      config.paths = std::move(paths.paths);
    }
    if (!filter.exclude_from.empty()) {
      for (std::string& glob : read_glob_list(filter.exclude_from, list.null_separated)) {
        config.exclude_globs.push_back(std::move(glob));
      }
    }
    for (const std::string& path : config.paths) {
      if (path.empty()) {
        log.error("'': empty path (name a file or directory; '.' is the current directory)");
        usage = 1;
        break;
      }
    }
    if (usage == 0) {
      if (std::optional<std::string> refusal = mpi::mpi_refusal(config)) {
        log.error(*refusal);
        usage = 1;
      }
    }
    mpi::Packer out;
    out.u64(static_cast<std::uint64_t>(usage));
    out.u64(list_errors);
    out.u64(config.paths.size());
    for (const std::string& path : config.paths) {
      out.str(path);
    }
    out.u64(config.exclude_globs.size());
    for (const std::string& glob : config.exclude_globs) {
      out.str(glob);
    }
    shared = std::move(out.bytes());
  }
  mpi::broadcast(shared);
  mpi::Unpacker in(shared);
  const bool usage = in.u64() != 0;
  list_errors = in.u64();
  config.paths.resize(in.u64());
  for (std::string& path : config.paths) {
    path = std::string(in.str());
  }
  config.exclude_globs.resize(in.u64());
  for (std::string& glob : config.exclude_globs) {
    glob = std::string(in.str());
  }
  return usage ? std::optional<int>(k_exit_usage) : std::nullopt;
}

// Rank 0: the report, as `spindle group` writes it; returns the run's exit code.
int report(const Config& config, Logger& log, OutputFile& output, const GroupResult& result, bool zero,
           std::size_t list_errors) {
  // Standard output of a rank is Open MPI's pseudo-terminal, whatever mpirun's own is: it is
  // written to as to a pipe (names raw, colour only with --color always), as a redirected
  // single-process run writes it.
  const bool terminal = output.is_terminal() && !config.output_path.empty();
  return write_group_report(config, log, output, result,
                            ReportOptions{.escape_names = terminal && !zero,
                                          .zero_terminated = zero,
                                          .colour = !zero && (config.color == ColorMode::always ||
                                                              (terminal && report_colour(config.color, output))),
                                          .stats_line = config.format == ReportFormat::jsonl && config.stats},
                            list_errors);
}

int run_rank(Context& context, const PathListOptions& list, const InputFilterOptions& filter, bool zero,
             const mpi::Session& session) {
  Config& config = context.config;
  config.progress = ProgressMode::never;  // many ranks, one terminal: no status line
  Logger log = make_logger(config);
  std::size_t list_errors = 0;
  if (std::optional<int> usage = share_inputs(config, log, list, filter, session, list_errors)) {
    return *usage;
  }
  // Before the walk: a FILE that cannot be written fails now (Fatal: the job aborts).
  std::optional<OutputFile> output;
  if (session.root()) {
    output.emplace(open_report(config.output_path, context.cancel));
  }
  std::unique_ptr<DeviceProbe> probe = make_system_probe();
  const Calibration calibration = load_calibrations(log);
  SystemReader reader;
  GroupResult result = mpi::run_group_mpi(config, log, context.cancel, {*probe, calibration, reader}, session);
  return session.root() ? report(config, log, *output, result, zero, list_errors) : k_exit_ok;
}

}  // namespace

int run_group_mpi(Context& context, const PathListOptions& list, const InputFilterOptions& filter, bool zero) {
  int argc = 0;
  char** argv = nullptr;
  mpi::Session session(argc, argv);
  int code = k_exit_fatal;
  try {
    code = run_rank(context, list, filter, zero, session);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spindle: rank %d: %s\n", session.rank(), escape_for_terminal(e.what()).c_str());
    std::fflush(stderr);
    mpi::abort_job(k_exit_fatal);
  }
  // Every rank ends with rank 0's verdict (file errors met on any rank are in its result).
  return mpi::broadcast(code);
}

}  // namespace spindle::cli
