// Placement on described machines: a laptop, a GH200 Booster node and a
// Rhea1 Cluster node, without being on them.
#include <gtest/gtest.h>

#include <set>

#include "msa/error.hpp"
#include "msa/placement.hpp"

namespace {

// `domains` NUMA domains of `cores` cores with `smt` PUs each; PU ids are
// numbered core-major as Linux does without SMT interleaving.
msa::NodeLayout machine(int domains, int cores, int smt = 1) {
  msa::NodeLayout l;
  int pu = 0;
  for (int d = 0; d < domains; ++d) {
    msa::NumaDomain nd;
    nd.os_index = d;
    for (int c = 0; c < cores; ++c) {
      msa::Core core;
      for (int t = 0; t < smt; ++t) core.pus.push_back(pu++);
      nd.cores.push_back(core);
    }
    l.numa.push_back(nd);
  }
  return l;
}

std::vector<msa::RankRequest> ranks(int n, const std::string& module, bool gpu, int first = 0) {
  std::vector<msa::RankRequest> out;
  for (int i = 0; i < n; ++i) out.push_back({first + i, module, gpu});
  return out;
}

// The NUMA domains a cpuset touches.
std::set<int> domains_of(const msa::NodeLayout& l, const msa::CpuSet& set) {
  std::set<int> out;
  for (std::size_t d = 0; d < l.numa.size(); ++d)
    for (const auto& c : l.numa[d].cores)
      for (int pu : c.pus)
        for (int p : set.pus())
          if (p == pu) out.insert(static_cast<int>(d));
  return out;
}

void expect_disjoint_and_within(const msa::NodeLayout& l, const msa::PlacementPlan& plan) {
  std::set<int> seen;
  std::size_t total = 0;
  for (const auto& r : plan.ranks) {
    for (int pu : r.cpuset.pus()) EXPECT_TRUE(seen.insert(pu).second) << "PU " << pu << " given twice";
    total += r.cpuset.size();
  }
  std::size_t all = 0;
  for (const auto& d : l.numa)
    for (const auto& c : d.cores) all += c.pus.size();
  EXPECT_EQ(total, all) << "every PU of the node is given to exactly one rank";
}

TEST(CpuSet, ListSyntaxRoundTrips) {
  const auto s = msa::CpuSet::parse("0-3,8,10-11");
  EXPECT_EQ(s.size(), 7u);
  EXPECT_EQ(s.to_string(), "0-3,8,10-11");
  EXPECT_EQ(msa::CpuSet({5, 1, 2, 2, 3}).to_string(), "1-3,5");
  EXPECT_TRUE(msa::CpuSet::parse("").empty());
  EXPECT_THROW(msa::CpuSet::parse("3-1"), msa::ConfigError);
  EXPECT_THROW(msa::CpuSet::parse("a"), msa::ConfigError);
}

TEST(Placement, LaptopTwoRanksGetOneCoreEach) {
  const auto l = machine(1, 2);
  auto req = ranks(1, "booster", false);
  req.push_back({1, "cluster", false});
  const auto plan = msa::plan_placement(l, req, msa::BindPolicy::core);
  ASSERT_TRUE(plan.bind) << plan.reason;
  EXPECT_EQ(plan.ranks[0].cpuset.to_string(), "0");
  EXPECT_EQ(plan.ranks[1].cpuset.to_string(), "1");
  EXPECT_EQ(plan.ranks[1].module, "cluster");
  EXPECT_EQ(plan.find(1)->cores, 1);
  EXPECT_EQ(plan.find(7), nullptr);
}

TEST(Placement, OversubscribedNodeIsNotBoundAndSaysWhy) {
  const auto l = machine(1, 2);
  const auto plan = msa::plan_placement(l, ranks(3, "booster", false), msa::BindPolicy::core);
  EXPECT_FALSE(plan.bind);
  EXPECT_NE(plan.reason.find("3 ranks on 2 cores (oversubscribed)"), std::string::npos) << plan.reason;
  for (const auto& r : plan.ranks) EXPECT_TRUE(r.cpuset.empty());
}

TEST(Placement, BindNoneIsRespected) {
  const auto plan = msa::plan_placement(machine(1, 8), ranks(2, "cluster", false), msa::BindPolicy::none);
  EXPECT_FALSE(plan.bind);
  EXPECT_NE(plan.reason.find("MSA_BIND=none"), std::string::npos);
}

TEST(Placement, Gh200RanksGetTheirGpuAndItsGraceCores) {
  // 4 superchips of 72 cores; GPUs enumerated in the opposite order of the
  // NUMA domains, so a placement that ignores locality would fail.
  auto l = machine(4, 72);
  for (int g = 0; g < 4; ++g) {
    msa::Device d;
    d.kind = "gpu";
    d.vendor = "NVIDIA";
    d.numa_domain = 3 - g;
    l.gpus.push_back(d);
  }
  for (int n : {4, 8}) {
    const auto plan = msa::plan_placement(l, ranks(n, "booster", true), msa::BindPolicy::core);
    ASSERT_TRUE(plan.bind) << plan.reason;
    for (int i = 0; i < n; ++i) {
      const auto& r = plan.ranks[static_cast<std::size_t>(i)];
      EXPECT_EQ(r.gpu, i % 4) << "rank " << i;
      EXPECT_EQ(r.cores, 288 / n);
      EXPECT_EQ(domains_of(l, r.cpuset), std::set<int>{3 - i % 4})
          << "rank " << i << " cpuset " << r.cpuset.to_string();
      EXPECT_EQ(r.numa_domain, 3 - i % 4);
    }
    expect_disjoint_and_within(l, plan);
  }
}

TEST(Placement, Rhea1RanksAreNumaCompact) {
  const auto l = machine(8, 20);  // 2 x Rhea1: 8 NUMA domains of 20 cores
  const auto plan = msa::plan_placement(l, ranks(16, "cluster", false), msa::BindPolicy::core);
  ASSERT_TRUE(plan.bind);
  for (const auto& r : plan.ranks) {
    EXPECT_EQ(r.cores, 10);
    EXPECT_EQ(domains_of(l, r.cpuset).size(), 1u) << r.cpuset.to_string();
  }
  expect_disjoint_and_within(l, plan);

  // Shares that do not fit a domain spill over but still cover the node once.
  const auto odd = msa::plan_placement(l, ranks(3, "cluster", false), msa::BindPolicy::core);
  ASSERT_TRUE(odd.bind);
  EXPECT_EQ(odd.ranks[0].cores, 54);
  EXPECT_EQ(odd.ranks[1].cores, 53);
  EXPECT_EQ(odd.ranks[2].cores, 53);
  expect_disjoint_and_within(l, odd);
}

TEST(Placement, SmtSiblingsStayWithTheirCore) {
  const auto l = machine(1, 4, 2);
  const auto plan = msa::plan_placement(l, ranks(2, "host", false), msa::BindPolicy::core);
  ASSERT_TRUE(plan.bind);
  EXPECT_EQ(plan.ranks[0].cpuset.to_string(), "0-3");
  EXPECT_EQ(plan.ranks[1].cpuset.to_string(), "4-7");
}

TEST(Placement, MixedModulesOnOneEmulatedNode) {
  // Emulated booster ranks have no GPU here: cores are shared evenly, in rank order.
  const auto l = machine(2, 4);
  auto req = ranks(2, "booster", false);
  for (auto& r : ranks(2, "cluster", false, 2)) req.push_back(r);
  const auto plan = msa::plan_placement(l, req, msa::BindPolicy::core);
  ASSERT_TRUE(plan.bind);
  EXPECT_EQ(plan.ranks[0].cpuset.to_string(), "0-1");
  EXPECT_EQ(plan.ranks[3].cpuset.to_string(), "6-7");
  expect_disjoint_and_within(l, plan);
}

}  // namespace

namespace {

TEST(Placement, ExplicitCoresPerRankAreHonoured) {
  const auto l = machine(2, 4);
  std::vector<msa::RankRequest> req = {{0, "booster", false, 3}, {1, "cluster", false, 2}};
  const auto plan = msa::plan_placement(l, req, msa::BindPolicy::core);
  ASSERT_TRUE(plan.bind) << plan.reason;
  EXPECT_EQ(plan.ranks[0].cpuset.to_string(), "0-2");
  EXPECT_EQ(plan.ranks[1].cpuset.to_string(), "4-5") << "a 2-core rank goes whole into the domain that has room";
  EXPECT_NE(plan.reason.find("5 of 8 cores"), std::string::npos) << plan.reason;

  req.push_back({2, "cluster", false, 4});
  const auto over = msa::plan_placement(l, req, msa::BindPolicy::core);
  EXPECT_FALSE(over.bind);
  EXPECT_NE(over.reason.find("want 9 cores, the node has 8"), std::string::npos) << over.reason;
}

TEST(Placement, LauncherPolicyKeepsTheLaunchersBinding) {
  const auto plan = msa::plan_placement(machine(1, 4), ranks(2, "cluster", false), msa::BindPolicy::launcher);
  EXPECT_FALSE(plan.bind);
  EXPECT_NE(plan.reason.find("MSA_BIND=launcher"), std::string::npos) << plan.reason;
}

}  // namespace

namespace {

std::vector<msa::Device> gh200_node_devices(bool with_cuda_names) {
  std::vector<msa::Device> out;
  msa::Device bmc;
  bmc.vendor = "0x1a03";
  bmc.kind = "gpu";
  out.push_back(bmc);
  for (int i = 0; i < 4; ++i) {
    msa::Device d;
    d.vendor = "NVIDIA";
    d.kind = "gpu";
    d.numa_domain = i;
    d.pci_bus_id = "000" + std::to_string(i) + ":01:00.0";
    if (with_cuda_names) d.cuda_index = 3 - i;  // CUDA may number them differently from PCI order
    out.push_back(d);
  }
  return out;
}

TEST(VisibleGpus, OnlyGpuClassDevicesInCudaOrder) {
  const auto all = msa::visible_gpus(gh200_node_devices(false), std::nullopt);
  ASSERT_EQ(all.size(), 4u) << "the BMC display chip is not a GPU to place ranks on";
  EXPECT_EQ(all[0].numa_domain, 0);

  // Slurm --gpus-per-task=1 gave this task the device CUDA calls 2.
  const auto one = msa::visible_gpus(gh200_node_devices(true), std::string("2"));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].cuda_index, 2);
  EXPECT_EQ(one[0].numa_domain, 1);

  // Without hwloc's cudaN names, CUDA's numbering is taken as PCI order.
  const auto two = msa::visible_gpus(gh200_node_devices(false), std::string("3,1"));
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].numa_domain, 3);
  EXPECT_EQ(two[1].numa_domain, 1);

  // UUIDs cannot be matched: as many devices as listed, from the first.
  EXPECT_EQ(msa::visible_gpus(gh200_node_devices(false), std::string("GPU-1a2b,GPU-3c4d")).size(), 2u);
  EXPECT_TRUE(msa::visible_gpus(gh200_node_devices(false), std::string("7")).empty());
}

}  // namespace
