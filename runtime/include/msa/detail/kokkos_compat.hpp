#pragma once
// Every difference between Kokkos 3.4 (Debian) and Kokkos 4.x lives here, so
// the rest of msa is written once.

#include <Kokkos_Core.hpp>

namespace msa::detail {

/// Initialises Kokkos with a thread count and a device id (-1: leave the
/// choice to Kokkos). Threads only matter for OpenMP/Threads builds, the
/// device only for GPU builds.
inline void kokkos_initialize(int num_threads, int device_id) {
#if KOKKOS_VERSION >= 30700
  Kokkos::InitializationSettings settings;
  if (num_threads > 0) settings.set_num_threads(num_threads);
  if (device_id >= 0) settings.set_device_id(device_id);
  settings.set_disable_warnings(true);
  Kokkos::initialize(settings);
#else
  Kokkos::InitArguments args;
  args.num_threads = num_threads > 0 ? num_threads : -1;
  args.device_id = device_id;
  args.disable_warnings = true;
  Kokkos::initialize(args);
#endif
}

/// Whether Kokkos is initialised and not yet finalised.
inline bool kokkos_is_initialized() {
#if KOKKOS_VERSION >= 30700
  return Kokkos::is_initialized() && !Kokkos::is_finalized();
#else
  return Kokkos::is_initialized();
#endif
}

}  // namespace msa::detail
