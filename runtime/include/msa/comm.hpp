#pragma once
/// Communicators with an owner. A Comm either owns its MPI_Comm (and frees it
/// in its destructor) or borrows one it must never free (MPI_COMM_WORLD,
/// MPI_COMM_SELF, a communicator the application owns). Move-only.

#include <mpi.h>

#include <string>
#include <string_view>

namespace msa {

/// Throws MpiError with MPI's error string and `context` unless `code` is
/// MPI_SUCCESS. Use on every MPI call: check_mpi(MPI_Send(...), "hello: send").
void check_mpi(int code, std::string_view context);

class Comm {
 public:
  /// A null communicator (MPI_COMM_NULL).
  Comm() noexcept = default;
  /// Takes ownership of `comm`: it is freed when this Comm is destroyed.
  static Comm adopt(MPI_Comm comm) noexcept { return Comm(comm, true); }
  /// Wraps `comm` without ownership (never freed by msa).
  static Comm borrow(MPI_Comm comm) noexcept { return Comm(comm, false); }

  ~Comm();
  Comm(Comm&& other) noexcept;
  Comm& operator=(Comm&& other) noexcept;
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  MPI_Comm get() const noexcept { return m_comm; }
  operator MPI_Comm() const noexcept { return m_comm; }  // NOLINT: pass straight to MPI calls
  explicit operator bool() const noexcept { return m_comm != MPI_COMM_NULL; }

  /// Rank in the (local group of the) communicator. Not collective.
  int rank() const;
  /// Size of the (local group of the) communicator. Not collective.
  int size() const;
  /// True for inter-communicators (bridges).
  bool is_inter() const;
  /// Size of the remote group of an inter-communicator.
  int remote_size() const;

 private:
  Comm(MPI_Comm comm, bool owned) noexcept : m_comm(comm), m_owned(owned) {}
  void release() noexcept;

  MPI_Comm m_comm = MPI_COMM_NULL;
  bool m_owned = false;
};

}  // namespace msa
