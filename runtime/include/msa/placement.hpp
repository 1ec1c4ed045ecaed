#pragma once
/// Placement: which cores (and GPU) each rank of a node gets. Ranks share the
/// node's cores evenly, each in a compact NUMA-local block; a rank of a GPU
/// class gets one GPU and its cores from that GPU's NUMA domain. Binding is
/// skipped when the node is oversubscribed or MSA_BIND=none, and the plan says
/// why either way.

#include <optional>
#include <string>
#include <vector>

#include "msa/topology.hpp"

namespace msa {

/// MSA_BIND: "core" (default: bind when the cores suffice), "none" (leave the
/// process alone), or "launcher" (the launcher bound it, e.g. `msa run` with a
/// rankfile: keep that binding and report it).
enum class BindPolicy { core, none, launcher };

/// Reads MSA_BIND; throws ConfigError on other values.
BindPolicy bind_policy_from_environment();

/// One rank on the node asking to be placed.
struct RankRequest {
  int world_rank = 0;
  std::string module;
  bool wants_gpu = false;
  int cores = 0;  ///< cores wanted (threads per rank); 0 = an even share of the node
};

/// Where one rank goes.
struct RankPlacement {
  int world_rank = 0;
  std::string module;
  CpuSet cpuset;         ///< PUs planned for the rank (empty when not binding)
  int cores = 0;         ///< cores in cpuset
  int numa_domain = -1;  ///< index into NodeLayout::numa of its first core
  int gpu = -1;          ///< index into NodeLayout::gpus, -1 for none
};

/// The plan for all ranks of a node.
struct PlacementPlan {
  std::vector<RankPlacement> ranks;  ///< same order as the requests
  bool bind = false;                 ///< whether cpusets are to be applied
  std::string reason;                ///< "bound: ..." / "not bound: ..."
  /// The placement of `world_rank`, or nullptr.
  const RankPlacement* find(int world_rank) const;
};

/// The GPUs ranks may be given, in the order CUDA numbers them for this
/// process: the devices of GPU classes only (no BMC display chips), and, when
/// `cuda_visible_devices` ($CUDA_VISIBLE_DEVICES, set by Slurm's
/// --gpus-per-task) is given, only those it lists, in its order. A rank's
/// Kokkos device id is its GPU's position in this list.
std::vector<Device> visible_gpus(const std::vector<Device>& node_devices,
                                 const std::optional<std::string>& cuda_visible_devices);

/// Plans the ranks of one node. Pure (no hwloc calls): `layout` may describe
/// any machine. Deterministic, so every rank of the node computes the same plan.
/// When every request names its cores, each rank gets exactly that many;
/// otherwise the node's cores are shared evenly.
PlacementPlan plan_placement(const NodeLayout& layout, const std::vector<RankRequest>& ranks, BindPolicy policy);

}  // namespace msa
