#pragma once
/// Backends: the hardware classes a module can be made of (host, gh200,
/// rhea1). Each knows the Kokkos spaces it prefers, how to find its devices
/// with hwloc, how its ranks are placed, and its nominal figures from public
/// specifications (priors for cost models). Backends are registered by name in
/// one table (runtime/src/backend_registry.cpp); each lives in backends/<name>/.

#include <string>
#include <string_view>
#include <vector>

#include "msa/topology.hpp"

namespace msa {

/// Nominal figures of one node of a hardware class, from public specs. Zero
/// means "not applicable" (no GPU) or "unknown" (a generic host).
struct NominalFigures {
  int sockets = 0;                       ///< CPU packages / superchips per node
  int cores = 0;                         ///< CPU cores per node
  int numa_domains = 0;                  ///< CPU NUMA domains per node
  int gpus = 0;                          ///< GPUs per node
  double memory_gib = 0;                 ///< host memory per node
  double memory_bandwidth_gbs = 0;       ///< host memory bandwidth per node, GB/s
  double gpu_memory_gib = 0;             ///< memory per GPU
  double gpu_memory_bandwidth_gbs = 0;   ///< memory bandwidth per GPU, GB/s
  double host_device_bandwidth_gbs = 0;  ///< CPU <-> GPU link per GPU (NVLink-C2C, PCIe), GB/s
  double network_bandwidth_gbs = 0;      ///< injection bandwidth per node, GB/s
  double fp64_tflops = 0;                ///< peak FP64 per node (vector units / CUDA cores)
};

/// A hardware class.
struct Backend {
  std::string name;
  std::string description;
  /// Kokkos execution spaces in order of preference; the first one enabled in
  /// this Kokkos build is used (see execution_space()).
  std::vector<std::string> execution_spaces;
  /// Kokkos memory spaces matching execution_spaces (same order).
  std::vector<std::string> memory_spaces;
  /// Ranks of this class are given one GPU each (and cores near it).
  bool uses_gpus = false;
  NominalFigures nominal;
  /// The devices of this class among a node's GPUs and coprocessors (as
  /// Topology::devices() finds them with hwloc). Empty for CPU classes.
  std::vector<Device> (*find_devices)(const std::vector<Device>& node_devices) = nullptr;

  /// The first of execution_spaces that this Kokkos build enables.
  std::string execution_space() const;
  /// The memory space paired with execution_space().
  std::string memory_space() const;
};

/// The backend called `name`; throws ConfigError listing the known names.
const Backend& backend(std::string_view name);
/// The backend called `name`, or nullptr.
const Backend* find_backend(std::string_view name);
/// Names of all registered backends, in registration order.
std::vector<std::string> backend_names();
/// Kokkos execution spaces enabled in this build ("Serial", "OpenMP", "Cuda", ...).
std::vector<std::string> kokkos_enabled_spaces();
/// "3.4.1"
std::string kokkos_version();

}  // namespace msa
