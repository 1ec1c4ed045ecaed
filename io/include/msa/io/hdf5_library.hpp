#pragma once
/// Facts about the HDF5 library msa::io was built with.

#include <string>

namespace msa::io {

/// "1.10.8": the HDF5 library linked at run time (H5get_libversion).
std::string hdf5_version();
/// Whether that HDF5 was built with MPI-IO (parallel HDF5).
bool hdf5_is_parallel();

}  // namespace msa::io
