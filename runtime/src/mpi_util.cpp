#include "mpi_util.hpp"

#include <fmt/format.h>

#include <numeric>

#include "msa/comm.hpp"
#include "msa/error.hpp"

namespace msa::detail {

std::vector<int> allgather_int(MPI_Comm comm, int mine) {
  int size = 0;
  check_mpi(MPI_Comm_size(comm, &size), "allgather: MPI_Comm_size");
  std::vector<int> all(static_cast<std::size_t>(size));
  check_mpi(MPI_Allgather(&mine, 1, MPI_INT, all.data(), 1, MPI_INT, comm), "allgather: MPI_Allgather");
  return all;
}

std::vector<std::string> allgather_strings(MPI_Comm comm, const std::string& mine) {
  const std::vector<int> lengths = allgather_int(comm, static_cast<int>(mine.size()));
  std::vector<int> offsets(lengths.size(), 0);
  for (std::size_t i = 1; i < lengths.size(); ++i) offsets[i] = offsets[i - 1] + lengths[i - 1];
  std::string buffer(static_cast<std::size_t>(std::accumulate(lengths.begin(), lengths.end(), 0)), '\0');
  check_mpi(MPI_Allgatherv(mine.data(), static_cast<int>(mine.size()), MPI_CHAR, buffer.data(), lengths.data(),
                           offsets.data(), MPI_CHAR, comm),
            "allgather: MPI_Allgatherv");
  std::vector<std::string> out;
  out.reserve(lengths.size());
  for (std::size_t i = 0; i < lengths.size(); ++i)
    out.push_back(buffer.substr(static_cast<std::size_t>(offsets[i]), static_cast<std::size_t>(lengths[i])));
  return out;
}

void agree_on_error(MPI_Comm comm, const std::string& error, int kind) {
  const std::vector<int> failed = allgather_int(comm, error.empty() ? -1 : kind);
  int first = -1, count = 0;
  for (std::size_t r = 0; r < failed.size(); ++r)
    if (failed[r] >= 0) {
      if (first < 0) first = static_cast<int>(r);
      ++count;
    }
  if (first < 0) return;
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "agree_on_error: MPI_Comm_rank");
  int length = rank == first ? static_cast<int>(error.size()) : 0;
  check_mpi(MPI_Bcast(&length, 1, MPI_INT, first, comm), "agree_on_error: MPI_Bcast");
  std::string message = rank == first ? error : std::string(static_cast<std::size_t>(length), '\0');
  check_mpi(MPI_Bcast(message.data(), length, MPI_CHAR, first, comm), "agree_on_error: MPI_Bcast");
  if (count > 1) message += fmt::format(" [{} of {} ranks failed; the first is shown]", count, failed.size());
  switch (failed[static_cast<std::size_t>(first)]) {
    case 0:
      throw ConfigError(message);
    case 1:
      throw TopologyError(message);
    case 2:
      throw MpiError(MPI_ERR_OTHER, message);
    case 4:
      throw IoError(message);
    case 5:
      throw ChannelError(message);
    default:
      throw Error(message);
  }
}

}  // namespace msa::detail
