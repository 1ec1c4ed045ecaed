#include "msa/placement.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <deque>

#include "msa/backend.hpp"
#include "msa/contract.hpp"
#include "msa/error.hpp"
#include "strings.hpp"

namespace msa {

BindPolicy bind_policy_from_environment() {
  const auto value = detail::getenv_nonempty("MSA_BIND");
  if (!value || *value == "core" || *value == "auto") return BindPolicy::core;
  if (*value == "none") return BindPolicy::none;
  if (*value == "launcher") return BindPolicy::launcher;
  throw ConfigError(fmt::format(
      "MSA_BIND='{}' is not understood: use MSA_BIND=core (the default), none (no binding) or launcher (keep the "
      "launcher's binding)",
      *value));
}

std::vector<Device> visible_gpus(const std::vector<Device>& node_devices,
                                 const std::optional<std::string>& cuda_visible_devices) {
  std::vector<Device> gpus;
  for (const auto& name : backend_names()) {
    const Backend& b = backend(name);
    if (!b.uses_gpus || !b.find_devices) continue;
    for (auto& d : b.find_devices(node_devices)) gpus.push_back(std::move(d));
  }
  if (!cuda_visible_devices) return gpus;
  // CUDA numbers a node's devices 0..n-1 in PCI order; hwloc's cudaN says N
  // directly when its CUDA plugin is loaded.
  for (std::size_t i = 0; i < gpus.size(); ++i)
    if (gpus[i].cuda_index < 0) gpus[i].cuda_index = static_cast<int>(i);
  std::vector<Device> visible;
  const auto entries = detail::split(*cuda_visible_devices, ',');
  for (const auto& raw : entries) {
    const std::string entry = detail::trim(raw);
    const bool numeric = !entry.empty() && std::all_of(entry.begin(), entry.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    if (!numeric) {  // UUIDs or MIG names cannot be matched to hwloc: keep the first devices
      const std::size_t n = std::min(entries.size(), gpus.size());
      return std::vector<Device>(gpus.begin(), gpus.begin() + static_cast<std::ptrdiff_t>(n));
    }
    const int index = std::stoi(entry);
    for (const auto& d : gpus)
      if (d.cuda_index == index) visible.push_back(d);
  }
  return visible;
}

const RankPlacement* PlacementPlan::find(int world_rank) const {
  for (const auto& r : ranks)
    if (r.world_rank == world_rank) return &r;
  return nullptr;
}

namespace {

struct Pools {
  const NodeLayout& layout;
  std::vector<std::deque<int>> free;  // per NUMA domain: indices of free cores

  explicit Pools(const NodeLayout& l) : layout(l), free(l.numa.size()) {
    for (std::size_t d = 0; d < l.numa.size(); ++d)
      for (std::size_t c = 0; c < l.numa[d].cores.size(); ++c) free[d].push_back(static_cast<int>(c));
  }

  void take(std::size_t domain, int count, RankPlacement& out, std::vector<int>& pus) {
    for (int k = 0; k < count && !free[domain].empty(); ++k) {
      const auto& core = layout.numa[domain].cores[static_cast<std::size_t>(free[domain].front())];
      free[domain].pop_front();
      pus.insert(pus.end(), core.pus.begin(), core.pus.end());
      if (out.numa_domain < 0) out.numa_domain = static_cast<int>(domain);
      ++out.cores;
    }
  }

  // Cores for one rank: from `preferred` first, then the first domain that can
  // hold the rest whole (keeps ranks NUMA-compact), then whatever is left.
  void allocate(int share, int preferred, RankPlacement& out) {
    MSA_EXPECTS(share >= 1);
    MSA_EXPECTS(preferred < static_cast<int>(free.size()));
    std::vector<int> pus;
    if (preferred >= 0) take(static_cast<std::size_t>(preferred), share, out, pus);
    while (out.cores < share) {
      const int need = share - out.cores;
      std::size_t pick = free.size();
      for (std::size_t d = 0; d < free.size() && pick == free.size(); ++d)
        if (static_cast<int>(free[d].size()) >= need) pick = d;
      if (pick == free.size()) {  // nobody holds it whole: the domain with most free cores
        std::size_t most = 0;
        for (std::size_t d = 1; d < free.size(); ++d)
          if (free[d].size() > free[most].size()) most = d;
        if (free[most].empty()) break;
        pick = most;
      }
      take(pick, need, out, pus);
    }
    MSA_ASSERT(out.cores == share);  // the caller checked that the node has enough cores
    out.cpuset = CpuSet(std::move(pus));
  }
};

}  // namespace

PlacementPlan plan_placement(const NodeLayout& layout, const std::vector<RankRequest>& requests, BindPolicy policy) {
  PlacementPlan plan;
  const int n = static_cast<int>(requests.size());
  const int cores = layout.core_count();
  plan.ranks.resize(requests.size());

  int gpu_ranks = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    plan.ranks[i].world_rank = requests[i].world_rank;
    plan.ranks[i].module = requests[i].module;
    if (requests[i].wants_gpu && !layout.gpus.empty())
      plan.ranks[i].gpu = gpu_ranks++ % static_cast<int>(layout.gpus.size());
  }

  if (n == 0) {
    plan.reason = "not bound: no ranks on this node";
    return plan;
  }
  if (policy == BindPolicy::none) {
    plan.reason = "not bound: MSA_BIND=none";
    return plan;
  }
  if (policy == BindPolicy::launcher) {
    plan.reason = "not bound by msa: MSA_BIND=launcher keeps the launcher's binding";
    return plan;
  }
  if (n > cores) {
    plan.reason = fmt::format("not bound: {} ranks on {} cores (oversubscribed)", n, cores);
    return plan;
  }
  const bool explicit_cores =
      std::all_of(requests.begin(), requests.end(), [](const RankRequest& r) { return r.cores > 0; });
  int wanted = 0;
  for (const auto& r : requests) wanted += r.cores;
  if (explicit_cores && wanted > cores) {
    plan.reason = fmt::format("not bound: {} ranks want {} cores, the node has {} (oversubscribed)", n, wanted, cores);
    return plan;
  }

  Pools pools(layout);
  const int base = cores / n;
  const int extra = cores % n;
  auto share_of = [&](std::size_t i) {
    return explicit_cores ? requests[i].cores : base + (static_cast<int>(i) < extra ? 1 : 0);
  };
  // GPU ranks first, so that their GPU's NUMA domain still has cores for them.
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const int gpu = plan.ranks[i].gpu;
    if (gpu >= 0) pools.allocate(share_of(i), layout.gpus[static_cast<std::size_t>(gpu)].numa_domain, plan.ranks[i]);
  }
  for (std::size_t i = 0; i < requests.size(); ++i)
    if (plan.ranks[i].gpu < 0) pools.allocate(share_of(i), -1, plan.ranks[i]);

  plan.bind = true;
  if (explicit_cores) {
    plan.reason = fmt::format("bound: {} rank{} on {} of {} cores, as requested", n, n == 1 ? "" : "s", wanted, cores);
    return plan;
  }
  plan.reason = fmt::format("bound: {} rank{} on {} cores, {}{} core{} each", n, n == 1 ? "" : "s", cores, base,
                            extra ? "+" : "", base == 1 && !extra ? "" : "s");
  return plan;
}

}  // namespace msa
