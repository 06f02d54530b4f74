#pragma once

// `spindle group --mpi`. Where MPI is built in, cmd_group_mpi.cpp runs this process as one rank
// of the job; otherwise mpi_exec.cpp replaces the process with spindle-mpi (installed next to
// spindle), or says how to build it.

#include "commands.hpp"
#include "flags.hpp"

#include <spindle/group.hpp>

namespace spindle::cli {

int run_group_mpi(Context& context, const PathListOptions& list, const InputFilterOptions& filter, bool zero);

// Not one PATH could be walked: nothing was found at all, and errors say why (cmd_group.cpp).
bool nothing_walked(const GroupResult& result);

}  // namespace spindle::cli
