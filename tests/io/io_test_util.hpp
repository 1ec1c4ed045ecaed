#pragma once
// A scratch directory shared by the ranks of a test, removed at the end.
#include <mpi.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "world.hpp"

namespace msa::test {

/// Collective over `comm`: a fresh directory named after rank 0's process id.
class ScratchDir {
 public:
  explicit ScratchDir(MPI_Comm comm = MPI_COMM_WORLD, const std::string& tag = "io") : m_comm(comm) {
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    long id = static_cast<long>(::getpid());
    MPI_Bcast(&id, 1, MPI_LONG, 0, comm);
    m_path = std::filesystem::temp_directory_path() / ("msa_test_" + tag + "_" + std::to_string(id));
    if (rank == 0) {
      std::filesystem::remove_all(m_path);
      std::filesystem::create_directories(m_path);
    }
    MPI_Barrier(comm);
  }
  ~ScratchDir() {
    MPI_Barrier(m_comm);
    int rank = 0;
    MPI_Comm_rank(m_comm, &rank);
    std::error_code ec;
    if (rank == 0) std::filesystem::remove_all(m_path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string file(const std::string& name) const { return (m_path / name).string(); }
  const std::filesystem::path& path() const { return m_path; }

 private:
  MPI_Comm m_comm;
  std::filesystem::path m_path;
};

}  // namespace msa::test
