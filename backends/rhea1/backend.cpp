// Backend "rhea1": a JUPITER Cluster node, 2 x SiPearl Rhea1. Per chip: 80
// Arm Neoverse-V1 cores, 64 GB HBM2e, 4 NUMA domains. One NDR200 link
// (about 25 GB/s) per node. HBM2e bandwidth per chip is taken as about
// 1 TB/s; the Neoverse-V1 has 2 x 256-bit SVE units, about 2.0 GHz, so FP64
// peak is about 80 * 16 * 2.0 GFLOP/s = 2.6 TFLOP/s per chip.
#include "msa/backend.hpp"

namespace msa::backends::rhea1 {

namespace {
std::vector<Device> find_devices(const std::vector<Device>&) { return {}; }  // CPU class: no accelerators
}  // namespace

const Backend& descriptor() {
  static const Backend b = [] {
    Backend x;
    x.name = "rhea1";
    x.description = "SiPearl Rhea1 node (JUPITER Cluster): 2 x 80 Neoverse-V1 cores with HBM2e";
    x.execution_spaces = {"OpenMP", "Threads", "Serial"};
    x.memory_spaces = {"HostSpace", "HostSpace", "HostSpace"};
    x.uses_gpus = false;
    x.nominal.sockets = 2;
    x.nominal.cores = 2 * 80;
    x.nominal.numa_domains = 2 * 4;
    x.nominal.gpus = 0;
    x.nominal.memory_gib = 2 * 64.0 * 1e9 / (1u << 30);
    x.nominal.memory_bandwidth_gbs = 2 * 1000.0;
    x.nominal.network_bandwidth_gbs = 25.0;
    x.nominal.fp64_tflops = 2 * 2.6;
    x.find_devices = &find_devices;
    return x;
  }();
  return b;
}

}  // namespace msa::backends::rhea1
