#include "msa/comm.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <utility>

#include "msa/contract.hpp"
#include "msa/error.hpp"

namespace msa {

MpiError::MpiError(int code, const std::string& what) : Error(what), m_code(code) {}

void check_mpi(int code, std::string_view context) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) std::snprintf(text, sizeof text, "MPI error code %d", code);
  int rank = -1, initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  throw MpiError(code, fmt::format("rank {}: {}: {}", rank, context, text));
}

Comm::~Comm() { release(); }

Comm::Comm(Comm&& other) noexcept
    : m_comm(std::exchange(other.m_comm, MPI_COMM_NULL)), m_owned(std::exchange(other.m_owned, false)) {}

Comm& Comm::operator=(Comm&& other) noexcept {
  if (this != &other) {
    release();
    m_comm = std::exchange(other.m_comm, MPI_COMM_NULL);
    m_owned = std::exchange(other.m_owned, false);
  }
  return *this;
}

void Comm::release() noexcept {
  if (m_owned && m_comm != MPI_COMM_NULL && m_comm != MPI_COMM_WORLD && m_comm != MPI_COMM_SELF) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
      if (MPI_Comm_free(&m_comm) != MPI_SUCCESS) std::fputs("msa: warning: MPI_Comm_free failed\n", stderr);
    } else {
      std::fputs("msa: warning: a communicator outlived MPI_Finalize and was not freed\n", stderr);
    }
  }
  m_comm = MPI_COMM_NULL;
  m_owned = false;
}

int Comm::rank() const {
  MSA_EXPECTS(m_comm != MPI_COMM_NULL);
  int r = -1;
  check_mpi(MPI_Comm_rank(m_comm, &r), "MPI_Comm_rank");
  return r;
}

int Comm::size() const {
  MSA_EXPECTS(m_comm != MPI_COMM_NULL);
  int s = 0;
  check_mpi(MPI_Comm_size(m_comm, &s), "MPI_Comm_size");
  return s;
}

bool Comm::is_inter() const {
  MSA_EXPECTS(m_comm != MPI_COMM_NULL);
  int flag = 0;
  check_mpi(MPI_Comm_test_inter(m_comm, &flag), "MPI_Comm_test_inter");
  return flag != 0;
}

int Comm::remote_size() const {
  MSA_EXPECTS(m_comm != MPI_COMM_NULL);
  int s = 0;
  check_mpi(MPI_Comm_remote_size(m_comm, &s), "MPI_Comm_remote_size");
  return s;
}

}  // namespace msa
