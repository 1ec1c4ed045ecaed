// Backend "gh200": a JUPITER Booster node, 4 x NVIDIA GH200 Grace Hopper
// superchips. Per superchip: 72 Neoverse-V2 cores with 120 GB LPDDR5X
// (about 500 GB/s), one H100 with 96 GB HBM3 at about 4 TB/s, NVLink-C2C at
// 900 GB/s between them, and one NDR200 InfiniBand link (about 25 GB/s) per
// GPU. FP64 peak per H100 (vector) about 34 TFLOP/s.
#include "msa/backend.hpp"

namespace msa::backends::gh200 {

namespace {
// The GPUs of the class: NVIDIA devices on PCI (the H100 of each superchip
// appears as a 3D controller with vendor 0x10de next to its Grace's NUMA node).
std::vector<Device> find_devices(const std::vector<Device>& node_devices) {
  std::vector<Device> out;
  for (const auto& d : node_devices)
    if (d.vendor == "NVIDIA") out.push_back(d);
  return out;
}
}  // namespace

const Backend& descriptor() {
  static const Backend b = [] {
    Backend x;
    x.name = "gh200";
    x.description = "NVIDIA GH200 Grace Hopper node (JUPITER Booster): 4 superchips, one H100 per rank";
    x.execution_spaces = {"Cuda", "OpenMP", "Threads", "Serial"};
    x.memory_spaces = {"CudaSpace", "HostSpace", "HostSpace", "HostSpace"};
    x.uses_gpus = true;
    x.nominal.sockets = 4;
    x.nominal.cores = 4 * 72;
    x.nominal.numa_domains = 4;
    x.nominal.gpus = 4;
    x.nominal.memory_gib = 4 * 120.0 * 1e9 / (1u << 30);
    x.nominal.memory_bandwidth_gbs = 4 * 500.0;
    x.nominal.gpu_memory_gib = 96.0 * 1e9 / (1u << 30);
    x.nominal.gpu_memory_bandwidth_gbs = 4000.0;
    x.nominal.host_device_bandwidth_gbs = 900.0;
    x.nominal.network_bandwidth_gbs = 4 * 25.0;
    x.nominal.fp64_tflops = 4 * 34.0;
    x.find_devices = &find_devices;
    return x;
  }();
  return b;
}

}  // namespace msa::backends::gh200
