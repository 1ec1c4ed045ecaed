#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <algorithm>

#include "msa/backend.hpp"
#include "msa/error.hpp"

namespace {

TEST(Backend, RegistryHasTheThreeClasses) {
  EXPECT_EQ(msa::backend_names(), (std::vector<std::string>{"host", "gh200", "rhea1"}));
  EXPECT_EQ(msa::find_backend("tpu"), nullptr);
  try {
    msa::backend("tpu");
    FAIL() << "no error for an unknown backend";
  } catch (const msa::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("known backends: host, gh200, rhea1"), std::string::npos) << e.what();
  }
}

TEST(Backend, NominalFiguresFollowPublicSpecs) {
  const auto& g = msa::backend("gh200").nominal;
  EXPECT_EQ(g.gpus, 4);
  EXPECT_EQ(g.cores, 288);
  EXPECT_DOUBLE_EQ(g.gpu_memory_bandwidth_gbs, 4000.0);
  EXPECT_DOUBLE_EQ(g.host_device_bandwidth_gbs, 900.0);
  const auto& r = msa::backend("rhea1").nominal;
  EXPECT_EQ(r.cores, 160);
  EXPECT_EQ(r.numa_domains, 8);
  EXPECT_EQ(r.gpus, 0);
  EXPECT_TRUE(msa::backend("gh200").uses_gpus);
  EXPECT_FALSE(msa::backend("rhea1").uses_gpus);
}

TEST(Backend, ExecutionSpaceIsTheFirstEnabledPreference) {
  const auto enabled = msa::kokkos_enabled_spaces();
  ASSERT_FALSE(enabled.empty());
  for (const auto& name : msa::backend_names()) {
    const auto& b = msa::backend(name);
    const std::string chosen = b.execution_space();
    EXPECT_NE(std::find(enabled.begin(), enabled.end(), chosen), enabled.end()) << name << " chose " << chosen;
    // Nothing earlier in the preference list is enabled.
    for (const auto& s : b.execution_spaces) {
      if (s == chosen) break;
      EXPECT_EQ(std::find(enabled.begin(), enabled.end(), s), enabled.end()) << name << " skipped enabled " << s;
    }
  }
#if defined(KOKKOS_ENABLE_SERIAL) && !defined(KOKKOS_ENABLE_OPENMP) && !defined(KOKKOS_ENABLE_THREADS) && \
    !defined(KOKKOS_ENABLE_CUDA)
  EXPECT_EQ(msa::backend("gh200").execution_space(), "Serial");
  EXPECT_EQ(msa::backend("gh200").memory_space(), "HostSpace");
#endif
}

msa::Device device(const char* vendor, const char* kind, int numa, const char* os_name) {
  msa::Device d;
  d.vendor = vendor;
  d.kind = kind;
  d.numa_domain = numa;
  d.os_names = {os_name};
  return d;
}

TEST(Backend, DeviceFindersSeeOnlyTheirClass) {
  // A GH200-like node as hwloc lists it: the BMC's display chip first, then
  // four H100s, and an unrelated accelerator.
  const std::vector<msa::Device> node = {device("0x1a03", "gpu", 0, "card0"), device("NVIDIA", "gpu", 0, "cuda0"),
                                         device("NVIDIA", "gpu", 1, "cuda1"), device("NVIDIA", "gpu", 2, "cuda2"),
                                         device("NVIDIA", "gpu", 3, "cuda3"), device("Intel", "coprocessor", 0, "ve0")};
  const auto h100 = msa::backend("gh200").find_devices(node);
  ASSERT_EQ(h100.size(), 4u);
  for (std::size_t i = 0; i < h100.size(); ++i) {
    EXPECT_EQ(h100[i].vendor, "NVIDIA");
    EXPECT_EQ(h100[i].numa_domain, static_cast<int>(i));
  }
  EXPECT_TRUE(msa::backend("rhea1").find_devices(node).empty());
  EXPECT_TRUE(msa::backend("host").find_devices(node).empty());

  // On this machine: whatever hwloc finds, the CPU classes claim nothing and
  // the topology's cores add up.
  const msa::Topology topo;
  EXPECT_TRUE(msa::backend("host").find_devices(topo.devices()).empty());
  EXPECT_GE(topo.cores(), 1);
  EXPECT_GE(topo.pus(), topo.cores());
  EXPECT_EQ(topo.layout().core_count(), topo.cores());
}

}  // namespace
