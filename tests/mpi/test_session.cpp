// The Session at 1-4 ranks: discovery through the real environment and MPI,
// communicator sizes and membership, bridge exchanges, binding, and bad hints
// that must fail on every rank instead of hanging.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <numeric>
#include <set>

#include "env_guard.hpp"
#include "error_message.hpp"
#include "msa/error.hpp"
#include "msa/session.hpp"
#include "world.hpp"

namespace {

using msa::test::world_rank;
using msa::test::world_size;

// booster gets the first ceil(n/2) ranks, cluster the rest.
int booster_count() { return (world_size() + 1) / 2; }
std::string split_layout() {
  const int b = booster_count(), c = world_size() - b;
  return c > 0 ? "booster:" + std::to_string(b) + ",cluster:" + std::to_string(c) : "booster:" + std::to_string(b);
}

// The ConfigError message a Session built now throws; "" if it does not.
std::string session_error(const msa::SessionOptions& options = {}) {
  return msa::test::config_error([&] { msa::Session s(options); });
}

// Every rank's value of `mine`, on every rank.
std::vector<int> allgather(int mine) {
  std::vector<int> all(static_cast<std::size_t>(world_size()));
  MPI_Allgather(&mine, 1, MPI_INT, all.data(), 1, MPI_INT, MPI_COMM_WORLD);
  return all;
}

TEST(Session, RespectsMpiAndKokkosStartedByTheApplication) {
  msa::test::EnvGuard env;
  msa::Session s;
  EXPECT_FALSE(s.owns_mpi());
  EXPECT_FALSE(s.owns_kokkos());
  EXPECT_EQ(s.world().get(), MPI_COMM_WORLD);
}

TEST(Session, NoHintMeansOneHostModule) {
  msa::test::EnvGuard env;
  msa::Session s;
  EXPECT_EQ(s.module_name(), "host");
  EXPECT_EQ(s.module_rule(), msa::ModuleRule::hardware);
  EXPECT_EQ(s.modules(), std::vector<std::string>{"host"});
  EXPECT_EQ(s.module().size(), world_size());
  EXPECT_EQ(s.component_name(), "host");
  EXPECT_THROW(s.bridge("booster"), msa::ConfigError);
}

TEST(Session, LayoutSplitsWorldIntoModules) {
  msa::test::EnvGuard env;
  env.set("MSA_LAYOUT", split_layout());
  msa::Session s;
  const int rank = world_rank(), n = world_size(), nb = booster_count();
  const bool booster = rank < nb;
  EXPECT_EQ(s.module_name(), booster ? "booster" : "cluster");
  EXPECT_EQ(s.module_rule(), msa::ModuleRule::layout);
  EXPECT_EQ(s.module().size(), booster ? nb : n - nb);
  EXPECT_EQ(s.module().rank(), booster ? rank : rank - nb);

  std::vector<int> expected_booster(static_cast<std::size_t>(nb));
  std::iota(expected_booster.begin(), expected_booster.end(), 0);
  EXPECT_EQ(s.module_ranks("booster"), expected_booster);
  EXPECT_EQ(static_cast<int>(s.module_ranks("cluster").size()), n - nb);
  EXPECT_EQ(s.modules().size(), n > 1 ? 2u : 1u);

  // Membership: the world ranks inside my module communicator are exactly my module's.
  std::vector<int> members(static_cast<std::size_t>(s.module().size()));
  MPI_Allgather(&rank, 1, MPI_INT, members.data(), 1, MPI_INT, s.module());
  EXPECT_EQ(members, s.module_ranks(s.module_name()));

  // All ranks of this test share one node; the component defaults to the module.
  EXPECT_EQ(s.node().size(), n);
  EXPECT_EQ(s.component_name(), s.module_name());
  EXPECT_EQ(s.component().size(), s.module().size());
}

TEST(Session, BridgeExchangesValuesBetweenModules) {
  if (world_size() < 2) GTEST_SKIP() << "a bridge needs two modules";
  msa::test::EnvGuard env;
  env.set("MSA_LAYOUT", split_layout());
  msa::Session s;
  const int rank = world_rank(), n = world_size(), nb = booster_count();
  const bool booster = s.module_name() == "booster";
  const msa::Comm& bridge = s.bridge(booster ? "cluster" : "booster");
  ASSERT_TRUE(bridge.is_inter());
  EXPECT_EQ(bridge.size(), s.module().size());
  EXPECT_EQ(bridge.remote_size(), booster ? n - nb : nb);

  // Collective over the bridge: each side receives the sum of the other's world ranks.
  long mine = 1000 + rank, remote = 0;
  ASSERT_EQ(MPI_Allreduce(&mine, &remote, 1, MPI_LONG, MPI_SUM, bridge), MPI_SUCCESS);
  long expected = 0;
  for (int r : s.module_ranks(booster ? "cluster" : "booster")) expected += 1000 + r;
  EXPECT_EQ(remote, expected);

  // Point to point: module rank i sends 10*world rank to remote rank i % remote size.
  const int peer = s.module().rank() % bridge.remote_size();
  std::vector<MPI_Request> requests;
  int out = 10 * rank;
  requests.emplace_back();
  MPI_Isend(&out, 1, MPI_INT, peer, 7, bridge, &requests.back());
  std::vector<int> in;
  std::vector<int> senders;
  const auto remote_ranks = s.module_ranks(booster ? "cluster" : "booster");
  for (int j = 0; j < bridge.remote_size(); ++j)
    if (j % s.module().size() == s.module().rank()) senders.push_back(j);
  in.resize(senders.size());
  for (std::size_t k = 0; k < senders.size(); ++k) {
    requests.emplace_back();
    MPI_Irecv(&in[k], 1, MPI_INT, senders[k], 7, bridge, &requests.back());
  }
  MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  for (std::size_t k = 0; k < senders.size(); ++k)
    EXPECT_EQ(in[k], 10 * remote_ranks[static_cast<std::size_t>(senders[k])]);
}

TEST(Session, MsaModuleOnEveryRankWinsOverLayout) {
  if (world_size() < 2) GTEST_SKIP() << "needs two modules";
  msa::test::EnvGuard env;
  env.set("MSA_LAYOUT", "cluster:" + std::to_string(world_size()));
  env.set("MSA_MODULE", world_rank() % 2 == 0 ? "booster" : "cluster");
  env.set("MSA_COMPONENT", world_rank() % 2 == 0 ? "model" : "analysis");
  msa::Session s;
  EXPECT_EQ(s.module_rule(), msa::ModuleRule::env_module);
  EXPECT_EQ(s.module_name(), world_rank() % 2 == 0 ? "booster" : "cluster");
  EXPECT_EQ(s.component_name(), world_rank() % 2 == 0 ? "model" : "analysis");
  EXPECT_EQ(s.module().size(), world_rank() % 2 == 0 ? (world_size() + 1) / 2 : world_size() / 2);
  EXPECT_EQ(s.component().size(), s.module().size());
  EXPECT_EQ(s.bridge(world_rank() % 2 == 0 ? "cluster" : "booster").remote_size(),
            world_rank() % 2 == 0 ? world_size() / 2 : (world_size() + 1) / 2);
}

TEST(Session, ParaStationModuleIdNeedsAwareness) {
  msa::test::EnvGuard env;
  env.set("PSP_MSA_MODULE_ID", world_rank() == 0 ? "1" : "0");  // laptop: 1 = booster, 0 = cluster
  {
    msa::Session s;
    EXPECT_EQ(s.module_rule(), msa::ModuleRule::hardware);
  }
  env.set("PSP_MSA_AWARENESS", "1");
  msa::Session s;
  EXPECT_EQ(s.module_rule(), msa::ModuleRule::psmpi_env);
  EXPECT_EQ(s.module_name(), world_rank() == 0 ? "booster" : "cluster");
}

TEST(Session, MsaModuleOnSomeRanksOnlyFailsEverywhere) {
  if (world_size() < 2) GTEST_SKIP() << "needs a rank without the variable";
  msa::test::EnvGuard env;
  if (world_rank() == 0) env.set("MSA_MODULE", "booster");
  const std::string msg = session_error();
  EXPECT_NE(msg.find("MSA_MODULE is set on some ranks only"), std::string::npos) << msg;
  EXPECT_NE(msg.find("MSA_MODULE decided ranks 0"), std::string::npos) << msg;
}

TEST(Session, LayoutThatDoesNotAddUpFailsEverywhere) {
  msa::test::EnvGuard env;
  env.set("MSA_LAYOUT", "booster:" + std::to_string(world_size() + 1));
  const std::string msg = session_error();
  EXPECT_NE(msg.find("MSA_LAYOUT='booster:" + std::to_string(world_size() + 1) + "' adds up to"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("but the job has " + std::to_string(world_size())), std::string::npos) << msg;
}

TEST(Session, UnknownModuleOnOneRankFailsEverywhere) {
  msa::test::EnvGuard env;
  env.set("MSA_MODULE", world_rank() == world_size() - 1 ? "gpu" : "booster");
  const std::string msg = session_error();
  EXPECT_NE(msg.find("rank " + std::to_string(world_size() - 1) + ": MSA_MODULE='gpu'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("its modules are: booster, cluster, host"), std::string::npos) << msg;
}

TEST(Session, MalformedProfileNamesFileAndLine) {
  msa::test::EnvGuard env;
  const std::string path = "msa_bad_profile_np" + std::to_string(world_size()) + ".toml";
  if (world_rank() == 0) {
    std::ofstream f(path);
    f << "name = \"bad\"\n[[modules]]\nname = \"booster\"\nbackend = \"gh300\"\n";
  }
  MPI_Barrier(MPI_COMM_WORLD);
  msa::SessionOptions options;
  options.profile = "./" + path;
  const std::string msg = session_error(options);
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) std::remove(path.c_str());
  EXPECT_NE(msg.find(path + ":4:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown backend 'gh300'"), std::string::npos) << msg;
}

TEST(Session, BadBindValueIsAnError) {
  msa::test::EnvGuard env;
  env.set("MSA_BIND", "socket");
  EXPECT_NE(session_error().find("MSA_BIND='socket'"), std::string::npos);
}

TEST(Session, BindingMatchesThePlanWhenCoresSuffice) {
  msa::test::EnvGuard env;
  env.set("MSA_LAYOUT", split_layout());
  msa::Session s;
  const int cores = s.topology().layout().core_count();
  if (world_size() > cores) {
    EXPECT_FALSE(s.bound());
    EXPECT_NE(s.binding_report().find("oversubscribed"), std::string::npos) << s.binding_report();
    EXPECT_TRUE(s.placement().cpuset.empty());
    return;
  }
  ASSERT_TRUE(s.bound()) << s.binding_report();
  EXPECT_FALSE(s.placement().cpuset.empty());
  // The kernel's view of this process equals the plan.
  EXPECT_EQ(s.topology().current_binding(), s.placement().cpuset);
  EXPECT_EQ(s.placement().cores, cores / world_size() + (world_rank() < cores % world_size() ? 1 : 0));
  // No PU is given to two ranks of the node.
  const auto firsts = allgather(s.placement().cpuset.pus().front());
  EXPECT_EQ(std::set<int>(firsts.begin(), firsts.end()).size(), firsts.size());
}

TEST(Session, BindNoneLeavesTheProcessAlone) {
  msa::test::EnvGuard env;
  env.set("MSA_BIND", "none");
  msa::Session s;
  EXPECT_FALSE(s.bound());
  EXPECT_EQ(s.binding_report(), "not bound: MSA_BIND=none");
}

TEST(Session, GatherRanksReportsEveryRank) {
  msa::test::EnvGuard env;
  env.set("MSA_LAYOUT", split_layout());
  msa::Session s;
  const auto ranks = s.gather_ranks();
  ASSERT_EQ(static_cast<int>(ranks.size()), world_size());
  for (int r = 0; r < world_size(); ++r) {
    const auto& info = ranks[static_cast<std::size_t>(r)];
    EXPECT_EQ(info.world_rank, r);
    EXPECT_EQ(info.module, r < booster_count() ? "booster" : "cluster");
    EXPECT_EQ(info.module_rank, r < booster_count() ? r : r - booster_count());
    EXPECT_EQ(info.rule, "MSA_LAYOUT");
    EXPECT_EQ(info.host, s.hostname());
    EXPECT_FALSE(info.cpuset.empty());
  }
}

}  // namespace
