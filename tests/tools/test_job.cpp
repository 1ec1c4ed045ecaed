// Job files: what is accepted, and the message for each kind of mistake.
#include <gtest/gtest.h>

#include "env_guard.hpp"
#include "error_message.hpp"
#include "job.hpp"

namespace {

using msa::test::config_error;

const char* kValid = R"(name = "coupled"
description = "model on the booster, analysis on the cluster"
profile = "laptop"

[[components]]
name = "model"
module = "booster"
ranks = 2
threads_per_rank = 2
gpus_per_rank = 1
command = ["climate_model", "--steps", "100"]
env = { OMP_PROC_BIND = "close", MODEL_OPTS = "a b" }
workdir = "/scratch/run"

[[components]]
name = "analysis"
module = "cluster"
command = ["climate_analysis"]

[channels.fields]
engine = "mpi"
policy = "drop_oldest"
queue_depth = 4
max_bytes = 8589934592
open_timeout = 120
peer_timeout = 900
zero_copy = true
directory = "/scratch/stage"
)";

TEST(Job, ParsesEveryField) {
  msa::test::EnvGuard env;
  const auto job = msa::tools::parse_job(kValid, "coupled.toml", "");
  EXPECT_EQ(job.name, "coupled");
  EXPECT_EQ(job.profile_name, "laptop");
  ASSERT_EQ(job.components.size(), 2u);
  const auto& m = job.components[0];
  EXPECT_EQ(m.name, "model");
  EXPECT_EQ(m.module, "booster");
  EXPECT_EQ(m.ranks, 2);
  EXPECT_EQ(m.threads_per_rank, 2);
  EXPECT_EQ(m.gpus_per_rank, 1);
  EXPECT_EQ(m.command, (std::vector<std::string>{"climate_model", "--steps", "100"}));
  ASSERT_EQ(m.env.size(), 2u);
  EXPECT_EQ(m.env[0], (std::pair<std::string, std::string>{"MODEL_OPTS", "a b"}));
  EXPECT_EQ(m.env[1], (std::pair<std::string, std::string>{"OMP_PROC_BIND", "close"}));
  EXPECT_EQ(m.workdir, "/scratch/run");
  EXPECT_EQ(m.line, 5);
  const auto& a = job.components[1];
  EXPECT_EQ(a.ranks, 1);
  EXPECT_EQ(a.threads_per_rank, 1);
  EXPECT_EQ(a.gpus_per_rank, 0);
  EXPECT_EQ(job.total_ranks(), 3);
  ASSERT_EQ(job.channels.size(), 1u);
  EXPECT_EQ(job.channels[0].max_bytes, 8589934592LL);
  const msa::tools::EnvList expected = {
      {"MSA_CHANNEL_FIELDS_ENGINE", "mpi"},       {"MSA_CHANNEL_FIELDS_POLICY", "drop_oldest"},
      {"MSA_CHANNEL_FIELDS_QUEUE_DEPTH", "4"},    {"MSA_CHANNEL_FIELDS_MAX_BYTES", "8589934592"},
      {"MSA_CHANNEL_FIELDS_OPEN_TIMEOUT", "120"}, {"MSA_CHANNEL_FIELDS_PEER_TIMEOUT", "900"},
      {"MSA_CHANNEL_FIELDS_ZERO_COPY", "1"},      {"MSA_CHANNEL_FIELDS_DIRECTORY", "/scratch/stage"}};
  EXPECT_EQ(job.channel_environment(), expected);
}

TEST(Job, ProfileComesFromFlagThenEnvironmentThenFile) {
  msa::test::EnvGuard env;
  EXPECT_EQ(msa::tools::parse_job(kValid, "j.toml", "jupiter").profile.name, "jupiter");
  env.set("MSA_PROFILE", "jupiter");
  EXPECT_EQ(msa::tools::parse_job(kValid, "j.toml", "").profile.name, "jupiter");
  env.unset("MSA_PROFILE");
  EXPECT_EQ(msa::tools::parse_job(kValid, "j.toml", "").profile.name, "laptop");
  EXPECT_EQ(msa::tools::choose_profile("", ""), "laptop");
}

TEST(Job, GpusAreCheckedAgainstTheModulesNodes) {
  msa::test::EnvGuard env;
  // The laptop's booster emulates a GH200 node (4 GPUs); its host module has none.
  EXPECT_EQ(msa::tools::gpus_per_node(msa::find_profile("laptop"), "booster"), 4);
  EXPECT_EQ(msa::tools::gpus_per_node(msa::find_profile("laptop"), "host"), 0);
  EXPECT_EQ(msa::tools::gpus_per_node(msa::find_profile("jupiter"), "cluster"), 0);
}

// At least ten malformed specs, each with the message a user reads.
TEST(Job, MalformedSpecsSayWhereAndWhat) {
  msa::test::EnvGuard env;
  const std::string head = "name = \"j\"\n[[components]]\nname = \"a\"\n";  // component table on line 2
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {head + "module = \"booster\"\ncomand = [\"x\"]\n",
       "j.toml:5:1: unknown key 'comand' in a [[components]] table (did you mean 'command'?)"},
      {head + "module = \"gpu\"\ncommand = [\"x\"]\n",
       "j.toml:4:10: component 'a' runs on module 'gpu', which profile 'laptop' does not have"},
      {head + "module = \"boster\"\ncommand = [\"x\"]\n",
       "j.toml:4:10: component 'a' runs on module 'boster', which profile 'laptop' does not have (did you mean "
       "'booster'?); its modules are: booster, cluster, host"},
      {head + "module = \"booster\"\ncommand = [\"echo\", \":\", \"x\"]\n",
       "j.toml:5:11: the command of component 'a' contains \":\""},
      {head + "module = \"booster\"\nranks = 0\ncommand = [\"x\"]\n",
       "j.toml:5:9: component 'a' has ranks = 0; it needs at least 1 rank"},
      {head + "module = \"booster\"\ncommand = []\n", "j.toml:5:11: component 'a' has an empty command"},
      {head + "module = \"booster\"\ncommand = [\"\"]\n", "component 'a' has an empty command"},
      {head + "module = \"booster\"\n", "j.toml:2: component 'a' has no 'command'"},
      {head + "module = \"booster\"\ncommand = \"./model --steps 3\"\n",
       "j.toml:5:11: 'command' in component 'a' must be an array of strings"},
      {head + "module = \"booster\"\ncommand = [\"x\"]\n[[components]]\nname = \"a\"\nmodule = \"cluster\"\ncommand = "
              "[\"y\"]\n",
       "j.toml:7:8: component 'a' is defined twice (first on line 2)"},
      {head + "module = \"booster\"\ngpus_per_rank = 5\ncommand = [\"x\"]\n",
       "j.toml:5:17: component 'a' asks for 5 GPU(s) per rank but a node of module 'booster' has 4"},
      {head + "module = \"host\"\ngpus_per_rank = 1\ncommand = [\"x\"]\n",
       "asks for 1 GPU(s) per rank but a node of module 'host' has 0"},
      {head + "module = \"booster\"\nthreads_per_rank = -2\ncommand = [\"x\"]\n",
       "j.toml:5:20: 'threads_per_rank' in component 'a' must be an integer from 1 to 2147483647"},
      {head + "module = \"booster\"\ncommand = [\"x\"]\nenv = { \"1BAD\" = \"v\" }\n",
       "'1BAD' in the env of component 'a' is not a valid variable name"},
      {head + "module = \"booster\"\ncommand = [\"x\"]\nenv = { N = 3 }\n",
       "env variable N of component 'a' must be a string"},
      {head + "module = \"booster\"\ncommand = [\"x\"]\n[channels.fields]\npolicy = \"drop_old\"\n",
       "j.toml:7:10: policy 'drop_old' of [channels.fields] is not one of block, drop_oldest, drop_newest, "
       "latest_only (did you mean 'drop_oldest'?)"},
      {head + "module = \"booster\"\ncommand = [\"x\"]\n[channels.fields]\nqueue = 3\n",
       "unknown key 'queue' in [channels.fields] (did you mean 'queue_depth'?)"},
      {head + "module = \"booster\"\ncommand = [\"x\"]\n[channels.fields]\ndirectory = 3\n",
       "j.toml:7:13: 'directory' in [channels.fields] must be a string"},
      {"name = \"j\"\n", "j.toml: job 'j' has no components"},
      {"[[components]]\nname = \"a\"\n", "j.toml:1: the job has no 'name'"},
      {"name = \"j\"\n[[components]\n", "j.toml:2:"},
      {"name = \"j\"\nprofile = \"summit\"\n[[components]]\nname = \"a\"\nmodule = \"x\"\ncommand = [\"x\"]\n",
       "no profile named 'summit'"},
  };
  ASSERT_GE(cases.size(), 10u);
  for (const auto& c : cases) {
    const std::string msg = config_error([&] { msa::tools::parse_job(c.text, "j.toml", ""); });
    EXPECT_NE(msg.find(c.expected), std::string::npos)
        << "input:\n"
        << c.text << "\nexpected: " << c.expected << "\nmessage:  " << msg;
  }
}

TEST(Job, MissingFileIsAClearError) {
  const std::string msg = config_error([] { msa::tools::load_job("/nonexistent/job.toml", ""); });
  EXPECT_NE(msg.find("cannot read job file '/nonexistent/job.toml'"), std::string::npos) << msg;
}

}  // namespace
