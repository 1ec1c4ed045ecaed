// Golden tests of the launch lines: each is what a user of that system would
// type by hand (plus, unless --plain, msa's per-rank wrapper).
#include <gtest/gtest.h>

#include "env_guard.hpp"
#include "error_message.hpp"
#include "launch.hpp"

namespace {

using msa::tools::shell_quote;

const char* kLaptopJob = R"(name = "coupled"
[[components]]
name = "model"
module = "booster"
ranks = 2
command = ["/opt/bin/model"]
[[components]]
name = "analysis"
module = "cluster"
threads_per_rank = 2
command = ["/opt/bin/analysis", "--in", "fields"]
env = { ANALYSIS_OUT = "/tmp/out dir" }
workdir = "/scratch"
[channels.fields]
policy = "block"
)";

const char* kJupiterJob = R"(name = "coupled"
[[components]]
name = "model"
module = "booster"
ranks = 8
threads_per_rank = 18
gpus_per_rank = 1
command = ["/opt/bin/model"]
[[components]]
name = "analysis"
module = "cluster"
ranks = 4
threads_per_rank = 40
command = ["/opt/bin/analysis"]
)";

msa::NodeLayout cores(int n) {
  msa::NodeLayout l;
  l.numa.emplace_back();
  for (int c = 0; c < n; ++c) l.numa[0].cores.push_back(msa::Core{{c}});
  return l;
}

msa::tools::LaunchContext context(int node_cores, bool wrap) {
  msa::tools::LaunchContext ctx;
  ctx.msa_executable = "/opt/msa/bin/msa";
  ctx.run_dir = "/scratch/run";
  ctx.wrap = wrap;
  ctx.hostname = "node1";
  ctx.cwd = "/home/me";
  ctx.layout = cores(node_cores);
  return ctx;
}

msa::tools::JobSpec job(const char* text, const char* profile) {
  return msa::tools::parse_job(text, "job.toml", profile);
}

TEST(Launch, OpenMpiBindsWithARankfileWhenTheCoresSuffice) {
  msa::test::EnvGuard env;
  const auto plan = msa::tools::plan_launch("openmpi", job(kLaptopJob, "laptop"), context(4, false));
  EXPECT_EQ(shell_quote(plan.argv),
            "mpirun --rankfile /scratch/run/rankfile"
            " -np 2 -x MSA_MODULE=booster -x MSA_COMPONENT=model -x MSA_PROFILE=laptop -x OMP_NUM_THREADS=1"
            " -x MSA_CHANNEL_FIELDS_POLICY=block -x MSA_BIND=launcher /opt/bin/model"
            " : -np 1 -x MSA_MODULE=cluster -x MSA_COMPONENT=analysis -x MSA_PROFILE=laptop -x OMP_NUM_THREADS=2"
            " -x MSA_CHANNEL_FIELDS_POLICY=block -x 'ANALYSIS_OUT=/tmp/out dir' -x MSA_BIND=launcher"
            " -wdir /scratch /opt/bin/analysis --in fields");
  ASSERT_EQ(plan.files.size(), 1u);
  EXPECT_EQ(plan.files[0].first, "/scratch/run/rankfile");
  EXPECT_EQ(plan.files[0].second, "rank 0=node1 slot=0\nrank 1=node1 slot=1\nrank 2=node1 slot=2-3\n");
  EXPECT_TRUE(plan.env.empty());
}

TEST(Launch, OpenMpiOversubscribesWithoutBindingWhenTheyDoNot) {
  msa::test::EnvGuard env;
  auto ctx = context(2, true);
  ctx.as_root = true;
  const auto plan = msa::tools::plan_launch("openmpi", job(kLaptopJob, "laptop"), ctx);
  EXPECT_EQ(shell_quote(plan.argv),
            "mpirun --allow-run-as-root --oversubscribe --bind-to none"
            " -np 2 -x MSA_MODULE=booster -x MSA_COMPONENT=model -x MSA_PROFILE=laptop -x OMP_NUM_THREADS=1"
            " -x MSA_CHANNEL_FIELDS_POLICY=block"
            " /opt/msa/bin/msa exec --component model --first-rank 0 --run-dir /scratch/run -- /opt/bin/model"
            " : -np 1 -x MSA_MODULE=cluster -x MSA_COMPONENT=analysis -x MSA_PROFILE=laptop -x OMP_NUM_THREADS=2"
            " -x MSA_CHANNEL_FIELDS_POLICY=block -x 'ANALYSIS_OUT=/tmp/out dir' -wdir /scratch"
            " /opt/msa/bin/msa exec --component analysis --first-rank 2 --run-dir /scratch/run"
            " -- /opt/bin/analysis --in fields");
  EXPECT_TRUE(plan.files.empty());
  ASSERT_FALSE(plan.notes.empty());
  EXPECT_NE(plan.notes[0].find("oversubscribed"), std::string::npos) << plan.notes[0];
}

TEST(Launch, SlurmIsOneHeterogeneousSrun) {
  msa::test::EnvGuard env;
  const auto plan = msa::tools::plan_launch("slurm", job(kJupiterJob, "jupiter"), context(4, false));
  EXPECT_EQ(shell_quote(plan.argv),
            "srun --mpi=pmix --kill-on-bad-exit=1 --ntasks=8 --cpus-per-task=18 --gpus-per-task=1"
            " --export=ALL,MSA_MODULE=booster,MSA_COMPONENT=model,MSA_PROFILE=jupiter,OMP_NUM_THREADS=18"
            " /opt/bin/model"
            " : --ntasks=4 --cpus-per-task=40"
            " --export=ALL,MSA_MODULE=cluster,MSA_COMPONENT=analysis,MSA_PROFILE=jupiter,OMP_NUM_THREADS=40"
            " /opt/bin/analysis");
  EXPECT_EQ(plan.env, (msa::tools::EnvList{{"MSA_APP_MODULES", "booster,cluster"}}));
}

TEST(Launch, SlurmWithEnvAndWorkdirAndWrapper) {
  msa::test::EnvGuard env;
  const auto plan = msa::tools::plan_launch("slurm", job(kLaptopJob, "laptop"), context(4, true));
  EXPECT_EQ(shell_quote(plan.argv),
            "srun --mpi=pmix --kill-on-bad-exit=1 --ntasks=2 --cpus-per-task=1"
            " --export=ALL,MSA_MODULE=booster,MSA_COMPONENT=model,MSA_PROFILE=laptop,OMP_NUM_THREADS=1,"
            "MSA_CHANNEL_FIELDS_POLICY=block"
            " --chdir=/home/me /opt/msa/bin/msa exec --component model --first-rank 0 --run-dir /scratch/run"
            " -- /opt/bin/model"
            " : --ntasks=1 --cpus-per-task=2"
            " '--export=ALL,MSA_MODULE=cluster,MSA_COMPONENT=analysis,MSA_PROFILE=laptop,OMP_NUM_THREADS=2,"
            "MSA_CHANNEL_FIELDS_POLICY=block,ANALYSIS_OUT=/tmp/out dir' --chdir=/scratch"
            " /opt/msa/bin/msa exec --component analysis --first-rank 2 --run-dir /scratch/run"
            " -- /opt/bin/analysis --in fields");
}

TEST(Launch, SlurmCannotExportCommas) {
  msa::test::EnvGuard env;
  auto spec = job(kLaptopJob, "laptop");
  spec.components[1].env.emplace_back("LIST", "a,b");
  const std::string msg = msa::test::config_error([&] { msa::tools::plan_launch("slurm", spec, context(4, false)); });
  EXPECT_NE(msg.find("job.toml:7: component 'analysis': variable LIST='a,b' contains a comma"), std::string::npos)
      << msg;
}

TEST(Launch, ParaStationGetsModuleIds) {
  msa::test::EnvGuard env;
  const auto plan = msa::tools::plan_launch("psmpi", job(kJupiterJob, "jupiter"), context(4, false));
  EXPECT_EQ(shell_quote(plan.argv),
            "mpiexec -genv PSP_MSA_AWARENESS 1"
            " -n 8 -tpp 18 -env PSP_MSA_MODULE_ID 1 -env MSA_COMPONENT model -env MSA_PROFILE jupiter"
            " -env OMP_NUM_THREADS 18 /opt/bin/model"
            " : -n 4 -tpp 40 -env PSP_MSA_MODULE_ID 0 -env MSA_COMPONENT analysis -env MSA_PROFILE jupiter"
            " -env OMP_NUM_THREADS 40 /opt/bin/analysis");
  EXPECT_TRUE(plan.env.empty());
}

TEST(Launch, ParaStationNeedsAModuleId) {
  msa::test::EnvGuard env;
  auto spec = job(kLaptopJob, "laptop");
  spec.components[1].module = "host";  // the laptop's host module has no psmpi_id
  const std::string msg = msa::test::config_error([&] { msa::tools::plan_launch("psmpi", spec, context(4, false)); });
  EXPECT_NE(msg.find("module 'host', which has no psmpi_id in profile 'laptop'"), std::string::npos) << msg;
}

TEST(Launch, LauncherChoice) {
  msa::test::EnvGuard env;
  env.unset("SLURM_JOB_ID");
  EXPECT_EQ(msa::tools::choose_launcher("auto"), "openmpi");
  env.set("SLURM_JOB_ID", "4242");
  EXPECT_EQ(msa::tools::choose_launcher("auto"), "slurm");
  EXPECT_EQ(msa::tools::choose_launcher("psmpi"), "psmpi");
  const std::string msg = msa::test::config_error([] { msa::tools::choose_launcher("slrum"); });
  EXPECT_NE(msg.find("unknown launcher 'slrum' (did you mean 'slurm'?); use auto, openmpi, slurm, psmpi"),
            std::string::npos)
      << msg;
}

TEST(Launch, ShellQuotingRoundTrips) {
  EXPECT_EQ(shell_quote({"a", "b c", "it's", "", "x=1,y"}), "a 'b c' 'it'\\''s' '' x=1,y");
}

}  // namespace
