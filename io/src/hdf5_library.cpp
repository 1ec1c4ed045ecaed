#include "msa/io/hdf5_library.hpp"

#include <fmt/format.h>
#include <hdf5.h>

#include "msa/error.hpp"

namespace msa::io {

std::string hdf5_version() {
  unsigned major = 0, minor = 0, release = 0;
  if (H5get_libversion(&major, &minor, &release) < 0) throw IoError("H5get_libversion failed");
  return fmt::format("{}.{}.{}", major, minor, release);
}

bool hdf5_is_parallel() {
#ifdef H5_HAVE_PARALLEL
  return true;
#else
  return false;
#endif
}

}  // namespace msa::io
