#pragma once

// `spindle group --mpi`. Where MPI is built in, cmd_group_mpi.cpp runs this process as one rank
// of the job; otherwise mpi_exec.cpp replaces the process with spindle-mpi (installed next to
// spindle), or says how to build it.

#include "commands.hpp"
#include "flags.hpp"

#include <spindle/group.hpp>
#include <spindle/output_file.hpp>
#include <spindle/report.hpp>

namespace spindle::cli {

int run_group_mpi(Context& context, const PathListOptions& list, const InputFilterOptions& filter, bool zero);

// Not one PATH could be walked: nothing was found at all, and errors say why (cmd_group.cpp).
bool nothing_walked(const GroupResult& result);

// The end of a run that has its result, for `spindle group` and for rank 0 of `--mpi`: no report
// when interrupted, a file's last good report kept when no PATH could be read, else the report
// written with `options`; then the statistics (--stats, or -v's thread lines). Returns the run's
// exit code (cmd_group.cpp).
int write_group_report(const Config& config, Logger& log, OutputFile& output, const GroupResult& result,
                       const ReportOptions& options, std::size_t list_errors);

}  // namespace spindle::cli
