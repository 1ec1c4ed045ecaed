// Every rule of the discovery chain, precedence between rules, and the
// errors for bad hints, on the pure function (no MPI, no environment).
#include <gtest/gtest.h>

#include "error_message.hpp"
#include "msa/discovery.hpp"
#include "msa/error.hpp"

namespace {

using msa::test::config_error;

const msa::Profile& laptop() {
  static const msa::Profile p = msa::find_profile("laptop");
  return p;
}
const msa::Profile& jupiter() {
  static const msa::Profile p = msa::find_profile("jupiter");
  return p;
}

msa::DiscoveryInput rank_of(int rank, int size) {
  msa::DiscoveryInput in;
  in.world_rank = rank;
  in.world_size = size;
  return in;
}

TEST(Discovery, Rule1MsaModule) {
  auto in = rank_of(0, 1);
  in.msa_module = "cluster";
  const auto d = msa::discover_module(in, laptop());
  EXPECT_EQ(d.module, "cluster");
  EXPECT_EQ(d.rule, msa::ModuleRule::env_module);
  EXPECT_EQ(msa::to_string(d.rule), "MSA_MODULE");
}

TEST(Discovery, Rule2PsmpiInfoKey) {
  auto in = rank_of(0, 1);
  in.psmpi_info_id = "1";
  const auto d = msa::discover_module(in, jupiter());
  EXPECT_EQ(d.module, "booster");
  EXPECT_EQ(d.rule, msa::ModuleRule::psmpi_info);
}

TEST(Discovery, Rule2PsmpiEnvironmentNeedsAwareness) {
  auto in = rank_of(0, 1);
  in.psp_msa_module_id = "0";
  // Without PSP_MSA_AWARENESS=1 the id is ignored: the hardware rule decides.
  EXPECT_EQ(msa::discover_module(in, jupiter()).rule, msa::ModuleRule::hardware);
  in.psp_msa_awareness = "1";
  const auto d = msa::discover_module(in, jupiter());
  EXPECT_EQ(d.module, "cluster");
  EXPECT_EQ(d.rule, msa::ModuleRule::psmpi_env);
}

TEST(Discovery, Rule3LayoutAssignsBlocksOfRanks) {
  const std::vector<std::string> expected = {"booster", "booster", "cluster", "host"};
  for (int r = 0; r < 4; ++r) {
    auto in = rank_of(r, 4);
    in.layout = "booster:2, cluster:1,host:1";
    const auto d = msa::discover_module(in, laptop());
    EXPECT_EQ(d.module, expected[static_cast<std::size_t>(r)]) << "rank " << r;
    EXPECT_EQ(d.rule, msa::ModuleRule::layout);
  }
}

TEST(Discovery, Rule4AppnumThroughAppModules) {
  auto in = rank_of(3, 4);
  in.appnum = 1;
  in.app_modules = "booster,cluster";
  auto d = msa::discover_module(in, laptop());
  EXPECT_EQ(d.module, "cluster");
  EXPECT_EQ(d.rule, msa::ModuleRule::appnum);
  // An APPNUM without MSA_APP_MODULES (every Open MPI job has one) is no hint.
  in.app_modules.reset();
  EXPECT_EQ(msa::discover_module(in, laptop()).rule, msa::ModuleRule::hardware);
  // Slurm with pmi2 sets -1: no hint either.
  in.app_modules = "booster,cluster";
  in.appnum = -1;
  EXPECT_EQ(msa::discover_module(in, laptop()).rule, msa::ModuleRule::hardware);
}

TEST(Discovery, Rule5HardwareGpuNodeIsBooster) {
  auto in = rank_of(0, 1);
  in.device_backends = {"gh200"};
  auto d = msa::discover_module(in, jupiter());
  EXPECT_EQ(d.module, "booster");
  EXPECT_EQ(d.rule, msa::ModuleRule::hardware);
  in.device_backends.clear();
  EXPECT_EQ(msa::discover_module(in, jupiter()).module, "cluster");
  // A laptop with no hint: one module, host.
  EXPECT_EQ(msa::discover_module(in, laptop()).module, "host");
}

TEST(Discovery, PrecedenceFollowsTheChain) {
  auto in = rank_of(0, 2);
  in.msa_module = "host";
  in.psmpi_info_id = "1";
  in.psp_msa_awareness = "1";
  in.psp_msa_module_id = "0";
  in.layout = "cluster:2";
  in.appnum = 0;
  in.app_modules = "booster";
  in.device_backends = {"gh200"};
  const std::vector<std::pair<msa::ModuleRule, std::string>> expected = {{msa::ModuleRule::env_module, "host"},
                                                                         {msa::ModuleRule::psmpi_info, "booster"},
                                                                         {msa::ModuleRule::psmpi_env, "cluster"},
                                                                         {msa::ModuleRule::layout, "cluster"},
                                                                         {msa::ModuleRule::appnum, "booster"}};
  for (const auto& [rule, module] : expected) {
    const auto d = msa::discover_module(in, laptop());
    EXPECT_EQ(d.rule, rule) << msa::to_string(rule);
    EXPECT_EQ(d.module, module) << msa::to_string(rule);
    // Remove the hint that just won; the next rule of the chain must decide.
    switch (rule) {
      case msa::ModuleRule::env_module:
        in.msa_module.reset();
        break;
      case msa::ModuleRule::psmpi_info:
        in.psmpi_info_id.reset();
        break;
      case msa::ModuleRule::psmpi_env:
        in.psp_msa_module_id.reset();
        break;
      case msa::ModuleRule::layout:
        in.layout.reset();
        break;
      default:
        break;
    }
  }
}

TEST(Discovery, BadHintsNameTheVariableAndRank) {
  auto in = rank_of(2, 3);
  in.msa_module = "boster";
  auto msg = config_error([&] { msa::discover_module(in, laptop()); });
  EXPECT_NE(msg.find("rank 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("MSA_MODULE"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'booster'"), std::string::npos) << msg;

  in = rank_of(1, 3);
  in.layout = "booster:2,cluster:2";
  msg = config_error([&] { msa::discover_module(in, laptop()); });
  EXPECT_NE(msg.find("MSA_LAYOUT"), std::string::npos) << msg;
  EXPECT_NE(msg.find("adds up to 4 ranks but the job has 3"), std::string::npos) << msg;

  for (const char* bad : {"booster", "booster:x", "booster:0", ":2", "booster:2,,cluster:1", "gpu:3"}) {
    in.layout = bad;
    msg = config_error([&] { msa::discover_module(in, laptop()); });
    EXPECT_NE(msg.find("MSA_LAYOUT"), std::string::npos) << bad << ": " << msg;
  }

  in = rank_of(0, 1);
  in.psmpi_info_id = "9";
  msg = config_error([&] { msa::discover_module(in, jupiter()); });
  EXPECT_NE(msg.find("msa_module_id=9 maps to no module"), std::string::npos) << msg;

  in = rank_of(0, 1);
  in.psp_msa_awareness = "1";
  in.psp_msa_module_id = "booster";
  msg = config_error([&] { msa::discover_module(in, jupiter()); });
  EXPECT_NE(msg.find("PSP_MSA_MODULE_ID='booster' is not an integer"), std::string::npos) << msg;

  in = rank_of(0, 1);
  in.appnum = 2;
  in.app_modules = "booster,cluster";
  msg = config_error([&] { msa::discover_module(in, laptop()); });
  EXPECT_NE(msg.find("MPI_APPNUM is 2"), std::string::npos) << msg;
  in.appnum = 1;
  in.app_modules = "booster,gpu";
  msg = config_error([&] { msa::discover_module(in, laptop()); });
  EXPECT_NE(msg.find("MSA_APP_MODULES"), std::string::npos) << msg;
}

}  // namespace
