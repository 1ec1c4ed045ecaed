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

TEST(Backend, DeviceFindersSeeOnlyTheirClass) {
  const msa::Topology topo;
  const auto nvidia = std::count_if(topo.devices().begin(), topo.devices().end(),
                                    [](const msa::Device& d) { return d.vendor == "NVIDIA"; });
  EXPECT_EQ(static_cast<long>(msa::backend("gh200").find_devices(topo).size()), nvidia);
  EXPECT_TRUE(msa::backend("rhea1").find_devices(topo).empty());
  EXPECT_TRUE(msa::backend("host").find_devices(topo).empty());
  EXPECT_GE(topo.cores(), 1);
  EXPECT_GE(topo.pus(), topo.cores());
  EXPECT_EQ(topo.layout().core_count(), topo.cores());
}

}  // namespace
