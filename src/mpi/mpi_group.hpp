#pragma once

// `spindle group --mpi` as one rank of an MPI job: the shared walk (mpi_walk.hpp), the files
// redistributed so that each size class is owned by one rank (one MPI_Alltoallv of packed
// records), each rank's staged hashing of what it owns on its own device pools (group_walked, the
// single-node code after its walk), and every rank's groups, errors and counts merged on rank 0
// into the result run_group would have given.

#include "mpi_comm.hpp"

#include <spindle/group.hpp>

namespace spindle::mpi {

// Every rank calls it at once. Rank 0 gets the whole run's result; the others get theirs with
// only `cancelled` meaningful. `inputs.sink` is ignored: groups are final only on rank 0, after
// the merge (a jsonl report is written from the result, in report order).
GroupResult run_group_mpi(const Config& config, Logger& log, const CancelToken& cancel, const RunInputs& inputs,
                          const Session& session);

}  // namespace spindle::mpi
