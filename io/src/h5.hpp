#pragma once
// What the Store's sources share: the HDF5 error checker, type mapping and the
// state of an open file.
#include <hdf5.h>
#include <mpi.h>

#include <string>
#include <vector>

#include "msa/io/store.hpp"

namespace msa::io::detail {

static_assert(sizeof(hid_t) == sizeof(int64_t), "HDF5 1.10 or newer (64-bit hid_t)");

/// Turns off HDF5's automatic error printing (per thread); idempotent.
void silence_hdf5();

/// HDF5's error stack, outermost and innermost reasons, then clears it.
std::string hdf5_reason();

/// IoError("<what> (<where>, rank <rank>): HDF5: <reason>").
[[noreturn]] void throw_hdf5(const std::string& what, const std::string& where, int rank);

/// The state every object of an open file shares.
struct FileState {
  std::string filename;
  bool parallel = false;
  MPI_Comm comm = MPI_COMM_SELF;  // duplicated for parallel files, freed with the state
  int rank = 0;
  int size = 1;
  Handle file;
  Handle transfer;  // dataset transfer properties (collective MPI-IO in parallel files)
  ~FileState();

  std::string where(const std::string& path) const { return "'" + filename + "':" + path; }
  /// Throws IoError with HDF5's reason unless `status` >= 0.
  template <class R>
  R check(R status, const std::string& what, const std::string& path) const {
    if (status < 0) throw_hdf5(what, where(path), rank);
    return status;
  }
  /// Parallel files: a failure on any rank becomes the same IoError on all
  /// (collective). Serial files: rethrows a local failure.
  void agree(const std::string& error) const;
};

/// Runs `fn`, then agrees on failure across the file's ranks.
template <class F>
void collectively(const FileState& f, F&& fn) {
  std::string error;
  try {
    fn();
  } catch (const Error& e) {
    error = e.what();
  }
  f.agree(error);
}

/// Native memory type and portable (little-endian) file type of a DataType.
hid_t memory_type(DataType type);
hid_t file_type(DataType type);
/// The DataType of a stored HDF5 type (IoError naming it if unsupported).
DataType data_type_of_hdf5(hid_t type, const std::string& where);

std::vector<hsize_t> to_hsize(const std::vector<int64_t>& v);

}  // namespace msa::io::detail
