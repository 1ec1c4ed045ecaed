// Backend "host": any CPU node (a laptop, a workstation, a generic cluster
// node). Its figures are not nominal constants but read from the machine
// where that is possible; bandwidths are left unknown (0).
#include "msa/backend.hpp"

namespace msa::backends::host {

namespace {
std::vector<Device> find_devices(const std::vector<Device>&) { return {}; }  // CPU class: no devices of its own
}  // namespace

const Backend& descriptor() {
  static const Backend b = [] {
    Backend x;
    x.name = "host";
    x.description = "any CPU node; the class of emulated modules on a laptop";
    x.execution_spaces = {"OpenMP", "Threads", "Serial"};
    x.memory_spaces = {"HostSpace", "HostSpace", "HostSpace"};
    x.uses_gpus = false;
    x.find_devices = &find_devices;
    return x;
  }();
  return b;
}

}  // namespace msa::backends::host
