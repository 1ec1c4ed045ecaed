#pragma once
// This rank's place in MPI_COMM_WORLD, for tests that split the world.
#include <mpi.h>

namespace msa::test {

inline int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

inline int world_size() {
  int s = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

}  // namespace msa::test
