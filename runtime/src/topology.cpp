#include "msa/topology.hpp"

#include <fmt/format.h>
#include <hwloc.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "msa/error.hpp"
#include "strings.hpp"

namespace msa {

// ---------------------------------------------------------------- CpuSet

CpuSet::CpuSet(std::vector<int> pus) : m_pus(std::move(pus)) {
  std::sort(m_pus.begin(), m_pus.end());
  m_pus.erase(std::unique(m_pus.begin(), m_pus.end()), m_pus.end());
}

CpuSet CpuSet::parse(const std::string& list) {
  std::vector<int> pus;
  const std::string text = detail::trim(list);
  if (text.empty()) return CpuSet{};
  for (const auto& part : detail::split(text, ',')) {
    const auto dash = part.find('-');
    try {
      std::size_t used = 0;
      if (dash == std::string::npos) {
        pus.push_back(std::stoi(part, &used));
        if (used != part.size()) throw std::invalid_argument(part);
      } else {
        const int lo = std::stoi(part.substr(0, dash));
        const int hi = std::stoi(part.substr(dash + 1));
        if (lo > hi || lo < 0) throw std::invalid_argument(part);
        for (int i = lo; i <= hi; ++i) pus.push_back(i);
      }
    } catch (const std::exception&) {
      throw ConfigError(fmt::format("malformed cpu list '{}': expected e.g. 0-3,8", list));
    }
  }
  return CpuSet(std::move(pus));
}

std::string CpuSet::to_string() const {
  std::string out;
  for (std::size_t i = 0; i < m_pus.size();) {
    std::size_t j = i;
    while (j + 1 < m_pus.size() && m_pus[j + 1] == m_pus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += (j == i) ? std::to_string(m_pus[i]) : fmt::format("{}-{}", m_pus[i], m_pus[j]);
    i = j + 1;
  }
  return out;
}

int NodeLayout::core_count() const {
  int n = 0;
  for (const auto& d : numa) n += static_cast<int>(d.cores.size());
  return n;
}

// ---------------------------------------------------------------- Topology

namespace {

CpuSet to_cpuset(hwloc_const_bitmap_t bitmap) {
  std::vector<int> pus;
  for (int id = hwloc_bitmap_first(bitmap); id >= 0; id = hwloc_bitmap_next(bitmap, id)) pus.push_back(id);
  return CpuSet(std::move(pus));
}

struct Bitmap {
  hwloc_bitmap_t b = hwloc_bitmap_alloc();
  ~Bitmap() { hwloc_bitmap_free(b); }
  Bitmap() = default;
  Bitmap(const Bitmap&) = delete;
  Bitmap& operator=(const Bitmap&) = delete;
};

std::string vendor_name(unsigned vendor_id) {
  switch (vendor_id) {
    case 0x10de:
      return "NVIDIA";
    case 0x1002:
      return "AMD";
    case 0x8086:
      return "Intel";
    case 0x1234:
      return "QEMU";
    default:
      return fmt::format("0x{:04x}", vendor_id);
  }
}

const char* info(hwloc_obj_t obj, const char* key) {
  const char* v = hwloc_obj_get_info_by_name(obj, key);
  return v ? v : "";
}

}  // namespace

struct Topology::Impl {
  hwloc_topology_t topo = nullptr;
  std::vector<Device> devices;
  NodeLayout layout;

  ~Impl() {
    if (topo) hwloc_topology_destroy(topo);
  }

  int count(hwloc_obj_type_t type) const {
    const int n = hwloc_get_nbobjs_by_type(topo, type);
    return n < 0 ? 0 : n;
  }

  void build_layout() {
    // Cores grouped by the CPU-bearing NUMA node that contains them.
    const int n_numa = count(HWLOC_OBJ_NUMANODE);
    for (int i = 0; i < n_numa; ++i) {
      hwloc_obj_t numa = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
      if (!numa || !numa->cpuset || hwloc_bitmap_iszero(numa->cpuset)) continue;  // memory-only (HBM, GPU memory)
      NumaDomain domain;
      domain.os_index = static_cast<int>(numa->os_index);
      hwloc_obj_t core = nullptr;
      while ((core = hwloc_get_next_obj_inside_cpuset_by_type(topo, numa->cpuset, HWLOC_OBJ_CORE, core))) {
        domain.cores.push_back(Core{to_cpuset(core->cpuset).pus()});
      }
      if (!domain.cores.empty()) layout.numa.push_back(std::move(domain));
    }
    if (layout.numa.empty()) {  // no NUMA information: one domain with all cores
      NumaDomain domain;
      hwloc_obj_t core = nullptr;
      while ((core = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_CORE, core)))
        domain.cores.push_back(Core{to_cpuset(core->cpuset).pus()});
      if (domain.cores.empty()) {  // no core objects either: one core per PU
        hwloc_obj_t pu = nullptr;
        while ((pu = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PU, pu)))
          domain.cores.push_back(Core{{static_cast<int>(pu->os_index)}});
      }
      layout.numa.push_back(std::move(domain));
    }

    // GPUs and accelerators: PCI class 0x03xx (display/3D) and 0x12xx
    // (processing accelerators), with the OS devices below them.
    hwloc_obj_t pci = nullptr;
    while ((pci = hwloc_get_next_pcidev(topo, pci))) {
      const unsigned klass = pci->attr->pcidev.class_id >> 8;
      if (klass != 0x03 && klass != 0x12) continue;
      Device d;
      d.kind = klass == 0x03 ? "gpu" : "coprocessor";
      d.vendor = *info(pci, "PCIVendor") ? info(pci, "PCIVendor") : vendor_name(pci->attr->pcidev.vendor_id);
      if (pci->attr->pcidev.vendor_id == 0x10de) d.vendor = "NVIDIA";
      d.model = info(pci, "PCIDevice");
      d.pci_bus_id = fmt::format("{:04x}:{:02x}:{:02x}.{:01x}", pci->attr->pcidev.domain, pci->attr->pcidev.bus,
                                 pci->attr->pcidev.dev, pci->attr->pcidev.func);
      for (hwloc_obj_t child = pci->io_first_child; child; child = child->next_sibling) {
        if (child->type != HWLOC_OBJ_OS_DEVICE) continue;
        d.os_names.emplace_back(child->name ? child->name : "");
        if (child->name && std::strncmp(child->name, "cuda", 4) == 0 &&
            std::isdigit(static_cast<unsigned char>(child->name[4])))
          d.cuda_index = std::atoi(child->name + 4);
        if (d.model.empty() && *info(child, "GPUModel")) d.model = info(child, "GPUModel");
      }
      if (d.model.empty()) d.model = fmt::format("device 0x{:04x}", pci->attr->pcidev.device_id);
      hwloc_obj_t anchor = hwloc_get_non_io_ancestor_obj(topo, pci);
      if (anchor && anchor->cpuset) {
        for (std::size_t k = 0; k < layout.numa.size(); ++k) {
          hwloc_obj_t numa = hwloc_get_numanode_obj_by_os_index(topo, static_cast<unsigned>(layout.numa[k].os_index));
          if (numa && hwloc_bitmap_intersects(numa->cpuset, anchor->cpuset)) {
            d.numa_domain = static_cast<int>(k);
            break;
          }
        }
      }
      layout.gpus.push_back(d);
      devices.push_back(std::move(d));
    }
  }
};

Topology::Topology() : m_impl(std::make_unique<Impl>()) {
  if (hwloc_topology_init(&m_impl->topo) != 0)
    throw TopologyError(fmt::format("hwloc_topology_init failed: {}", std::strerror(errno)));
  hwloc_topology_set_io_types_filter(m_impl->topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  if (hwloc_topology_load(m_impl->topo) != 0)
    throw TopologyError(fmt::format("hwloc_topology_load failed: {} (is /sys mounted?)", std::strerror(errno)));
  m_impl->build_layout();
}

Topology::~Topology() = default;
Topology::Topology(Topology&&) noexcept = default;
Topology& Topology::operator=(Topology&&) noexcept = default;

int Topology::packages() const { return m_impl->count(HWLOC_OBJ_PACKAGE); }
int Topology::numa_nodes() const { return m_impl->count(HWLOC_OBJ_NUMANODE); }
int Topology::cores() const { return m_impl->count(HWLOC_OBJ_CORE); }
int Topology::pus() const { return m_impl->count(HWLOC_OBJ_PU); }

double Topology::memory_gib() const {
  hwloc_uint64_t bytes = 0;
  hwloc_obj_t numa = nullptr;
  while ((numa = hwloc_get_next_obj_by_type(m_impl->topo, HWLOC_OBJ_NUMANODE, numa)))
    bytes += numa->attr->numanode.local_memory;
  return static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0);
}

const std::vector<Device>& Topology::devices() const { return m_impl->devices; }
const NodeLayout& Topology::layout() const { return m_impl->layout; }

std::string Topology::hwloc_version() { return HWLOC_VERSION; }

CpuSet Topology::current_binding() const {
  Bitmap set;
  if (hwloc_get_cpubind(m_impl->topo, set.b, HWLOC_CPUBIND_PROCESS) != 0 &&
      hwloc_get_cpubind(m_impl->topo, set.b, 0) != 0)
    throw TopologyError(fmt::format("hwloc_get_cpubind failed: {}", std::strerror(errno)));
  return to_cpuset(set.b);
}

void Topology::bind_process(const CpuSet& cpus) const {
  Bitmap set;
  for (int pu : cpus.pus()) hwloc_bitmap_set(set.b, static_cast<unsigned>(pu));
  if (hwloc_set_cpubind(m_impl->topo, set.b, HWLOC_CPUBIND_PROCESS | HWLOC_CPUBIND_STRICT) != 0 &&
      hwloc_set_cpubind(m_impl->topo, set.b, HWLOC_CPUBIND_PROCESS) != 0)
    throw TopologyError(fmt::format("cannot bind process to PUs {}: {}", cpus.to_string(), std::strerror(errno)));
}

}  // namespace msa
