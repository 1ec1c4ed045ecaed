#pragma once
/// The node's hardware as hwloc sees it: packages, NUMA domains, cores, PUs,
/// GPUs and coprocessors, and the binding of this process. hwloc stays behind
/// a PIMPL: this header does not include hwloc.h.

#include <memory>
#include <string>
#include <vector>

namespace msa {

/// A set of processing units (PUs, hardware threads) by OS index.
class CpuSet {
 public:
  CpuSet() = default;
  explicit CpuSet(std::vector<int> pus);
  /// Parses hwloc's list syntax "0-3,8,10-11". Throws ConfigError.
  static CpuSet parse(const std::string& list);
  const std::vector<int>& pus() const noexcept { return m_pus; }
  bool empty() const noexcept { return m_pus.empty(); }
  std::size_t size() const noexcept { return m_pus.size(); }
  /// "0-3,8": the form hwloc-bind and taskset accept.
  std::string to_string() const;
  friend bool operator==(const CpuSet& a, const CpuSet& b) { return a.m_pus == b.m_pus; }
  friend bool operator!=(const CpuSet& a, const CpuSet& b) { return !(a == b); }

 private:
  std::vector<int> m_pus;  // sorted, unique
};

/// A GPU or coprocessor found on the node.
struct Device {
  std::string kind;                   ///< "gpu" or "coprocessor"
  std::string vendor;                 ///< e.g. "NVIDIA"
  std::string model;                  ///< e.g. "GH100 [H100 ...]", as far as hwloc knows
  std::string pci_bus_id;             ///< "0009:01:00.0"
  std::vector<std::string> os_names;  ///< hwloc OS device names: "cuda0", "nvml0", "card1", ...
  int numa_domain = -1;               ///< index into NodeLayout::numa of the nearest CPU NUMA domain, -1 if unknown
  int cuda_index = -1;                ///< N of hwloc's "cudaN" OS device (CUDA's number), -1 if unknown
};

/// One core: its PUs by OS index.
struct Core {
  std::vector<int> pus;
};

/// A NUMA domain with CPUs (memory-only domains such as HBM or GPU memory are
/// not listed).
struct NumaDomain {
  int os_index = 0;
  std::vector<Core> cores;
};

/// What placement needs to know about a node. Built from hwloc, or by hand in
/// tests to describe a machine we are not on (a GH200 node, a Rhea1 node).
struct NodeLayout {
  std::vector<NumaDomain> numa;
  std::vector<Device> gpus;  ///< GPUs and coprocessors, in PCI order
  int core_count() const;
};

/// The hwloc topology of this node, loaded once. Move-only; not thread-safe
/// for binding calls.
class Topology {
 public:
  /// Loads the topology of this machine including PCI and OS devices.
  /// Throws TopologyError.
  Topology();
  ~Topology();
  Topology(Topology&&) noexcept;
  Topology& operator=(Topology&&) noexcept;
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  int packages() const;
  int numa_nodes() const;  ///< all NUMA nodes, including memory-only ones
  int cores() const;
  int pus() const;
  double memory_gib() const;  ///< total memory of all NUMA nodes
  /// GPUs and coprocessors hwloc finds (PCI display/3D controllers and
  /// accelerators with their OS devices).
  const std::vector<Device>& devices() const;
  /// Cores grouped by NUMA domain, plus devices with their locality.
  const NodeLayout& layout() const;
  /// The hwloc release msa was built against, e.g. "2.9.0".
  static std::string hwloc_version();

  /// The PUs this process is currently bound to.
  CpuSet current_binding() const;
  /// Binds the whole process (all its threads) to `set`. Throws TopologyError.
  void bind_process(const CpuSet& set) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace msa
