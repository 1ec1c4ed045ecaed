#pragma once
// Collective helpers the runtime uses during set-up.

#include <mpi.h>

#include <string>
#include <vector>

namespace msa::detail {

/// Every rank's string, on every rank. Collective over `comm`.
std::vector<std::string> allgather_strings(MPI_Comm comm, const std::string& mine);

/// Every rank's int, on every rank. Collective over `comm`.
std::vector<int> allgather_int(MPI_Comm comm, int mine);

/// Turns a failure on some ranks into the same exception on all ranks:
/// collective over `comm`. `kind` is 0 (ConfigError), 1 (TopologyError),
/// 2 (MpiError), 3 (Error), 4 (IoError) or 5 (ChannelError); ignored when
/// `error` is empty.
void agree_on_error(MPI_Comm comm, const std::string& error, int kind);

}  // namespace msa::detail
