#include "launch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "msa/error.hpp"
#include "msa/placement.hpp"
#include "strings.hpp"

namespace msa::tools {

namespace {

// `msa exec` in front of the user's command (unless --plain).
std::vector<std::string> rank_command(const JobSpec& job, std::size_t index, const LaunchContext& ctx, int first) {
  const ComponentSpec& c = job.components[index];
  std::vector<std::string> argv;
  if (ctx.wrap) {
    argv = {ctx.msa_executable,    "exec",      "--component", c.name, "--first-rank",
            std::to_string(first), "--run-dir", ctx.run_dir};
    if (!ctx.logs_dir.empty()) {
      argv.push_back("--logs");
      argv.push_back(ctx.logs_dir);
    }
    argv.push_back("--");
  }
  argv.insert(argv.end(), c.command.begin(), c.command.end());
  return argv;
}

std::string module_list(const JobSpec& job) {
  std::vector<std::string> modules;
  for (const auto& c : job.components) modules.push_back(c.module);
  return detail::join(modules, ",");
}

// Open MPI: one MPMD mpirun. Every context carries its own -x (Open MPI
// applies -x to the context it is written in). Binding comes from msa's
// placement through a rankfile when the node's cores suffice.
LaunchPlan openmpi(const JobSpec& job, const LaunchContext& ctx) {
  LaunchPlan plan;
  plan.launcher = "openmpi";
  plan.argv = {"mpirun"};
  if (ctx.as_root) plan.argv.push_back("--allow-run-as-root");

  std::vector<RankRequest> requests;
  for (const auto& c : job.components)
    for (int r = 0; r < c.ranks; ++r)
      requests.push_back({static_cast<int>(requests.size()), c.module, c.gpus_per_rank > 0, c.threads_per_rank});
  const PlacementPlan placement = plan_placement(ctx.layout, requests, BindPolicy::core);
  if (ctx.layout.gpus.empty())
    for (const auto& c : job.components)
      if (c.gpus_per_rank > 0)
        plan.notes.push_back(
            fmt::format("component '{}' asks for {} GPU(s) per rank; this node has none, so its ranks "
                        "use CPU cores only (an emulated module)",
                        c.name, c.gpus_per_rank));
  std::string bind_env;
  if (placement.bind) {
    // Rankfile slots are logical core indices of this node.
    std::vector<int> core_of_pu;
    int logical = 0;
    for (const auto& domain : ctx.layout.numa)
      for (const auto& core : domain.cores) {
        for (int pu : core.pus) {
          if (pu >= static_cast<int>(core_of_pu.size())) core_of_pu.resize(static_cast<std::size_t>(pu) + 1, -1);
          core_of_pu[static_cast<std::size_t>(pu)] = logical;
        }
        ++logical;
      }
    std::string rankfile;
    for (const auto& r : placement.ranks) {
      std::vector<int> cores;
      for (int pu : r.cpuset.pus()) cores.push_back(core_of_pu[static_cast<std::size_t>(pu)]);
      rankfile += fmt::format("rank {}={} slot={}\n", r.world_rank, ctx.hostname, CpuSet(cores).to_string());
    }
    const std::string path = ctx.run_dir + "/rankfile";
    plan.files.emplace_back(path, rankfile);
    plan.argv.insert(plan.argv.end(), {"--rankfile", path});
    bind_env = "launcher";
    plan.notes.push_back(fmt::format("binding from msa's placement ({}); rankfile {}", placement.reason, path));
  } else {
    plan.argv.insert(plan.argv.end(), {"--oversubscribe", "--bind-to", "none"});
    plan.notes.push_back(fmt::format("{}: --oversubscribe, no binding", placement.reason));
  }

  const auto firsts = first_ranks(job);
  for (std::size_t i = 0; i < job.components.size(); ++i) {
    const ComponentSpec& c = job.components[i];
    if (i) plan.argv.push_back(":");
    plan.argv.insert(plan.argv.end(), {"-np", std::to_string(c.ranks)});
    EnvList env = {{"MSA_MODULE", c.module}};
    for (auto& kv : component_environment(job, c)) env.push_back(std::move(kv));
    if (!bind_env.empty()) env.emplace_back("MSA_BIND", bind_env);
    for (const auto& [k, v] : env) plan.argv.insert(plan.argv.end(), {"-x", k + "=" + v});
    if (!c.workdir.empty()) plan.argv.insert(plan.argv.end(), {"-wdir", c.workdir});
    for (auto& a : rank_command(job, i, ctx, firsts[i])) plan.argv.push_back(std::move(a));
  }
  return plan;
}

// Slurm: one heterogeneous srun, ':'-separated groups, one per component.
// --mpi=pmix makes MPI_APPNUM the group index; MSA_MODULE is exported per group
// too, so pmi2 sites work the same.
LaunchPlan slurm(const JobSpec& job, const LaunchContext& ctx) {
  LaunchPlan plan;
  plan.launcher = "slurm";
  plan.argv = {"srun"};
  plan.env = {{"MSA_APP_MODULES", module_list(job)}};
  const auto firsts = first_ranks(job);
  const bool any_workdir = std::any_of(job.components.begin(), job.components.end(),
                                       [](const ComponentSpec& c) { return !c.workdir.empty(); });
  for (std::size_t i = 0; i < job.components.size(); ++i) {
    const ComponentSpec& c = job.components[i];
    if (i) plan.argv.push_back(":");
    // Job-wide options once: srun carries them over to the later groups.
    if (i == 0) plan.argv.insert(plan.argv.end(), {"--mpi=pmix", "--kill-on-bad-exit=1"});
    plan.argv.insert(plan.argv.end(),
                     {fmt::format("--ntasks={}", c.ranks), fmt::format("--cpus-per-task={}", c.threads_per_rank)});
    if (c.gpus_per_rank > 0) plan.argv.push_back(fmt::format("--gpus-per-task={}", c.gpus_per_rank));
    std::vector<std::string> exports = {"ALL", "MSA_MODULE=" + c.module};
    for (const auto& [k, v] : component_environment(job, c)) {
      if (v.find(',') != std::string::npos)
        throw ConfigError(
            fmt::format("{}:{}: component '{}': variable {}='{}' contains a comma, which srun --export "
                        "cannot carry; set it in the environment of msa run instead",
                        job.source, c.line, c.name, k, v));
      exports.push_back(k + "=" + v);
    }
    plan.argv.push_back("--export=" + detail::join(exports, ","));
    // --chdir carries over to later groups too: once one component sets it,
    // every group states its own (the directory of msa run by default).
    if (any_workdir) plan.argv.push_back("--chdir=" + (c.workdir.empty() ? ctx.cwd : c.workdir));
    for (auto& a : rank_command(job, i, ctx, firsts[i])) plan.argv.push_back(std::move(a));
  }
  plan.notes.push_back(
      "run inside a heterogeneous allocation with one group per component "
      "(sbatch/salloc with '#SBATCH hetjob' or ':'), in the order of the job file");
  return plan;
}

// ParaStation MPI: its (Hydra-style) mpiexec with MSA awareness on and each
// component's module id, which the profile maps back to the module.
LaunchPlan psmpi(const JobSpec& job, const LaunchContext& ctx) {
  LaunchPlan plan;
  plan.launcher = "psmpi";
  plan.argv = {"mpiexec", "-genv", "PSP_MSA_AWARENESS", "1"};
  const auto firsts = first_ranks(job);
  for (std::size_t i = 0; i < job.components.size(); ++i) {
    const ComponentSpec& c = job.components[i];
    const ModuleSpec* m = job.profile.find(c.module);
    if (!m->psmpi_id)
      throw ConfigError(
          fmt::format("component '{}' runs on module '{}', which has no psmpi_id in profile '{}' ({}:{}); "
                      "add the ParaStation module id there to launch with psmpi",
                      c.name, c.module, job.profile.name, job.profile.source, m->line));
    if (i) plan.argv.push_back(":");
    // -tpp: the cores psmgmt pins each rank to (threads per process).
    plan.argv.insert(plan.argv.end(), {"-n", std::to_string(c.ranks), "-tpp", std::to_string(c.threads_per_rank)});
    EnvList env = {{"PSP_MSA_MODULE_ID", std::to_string(*m->psmpi_id)}};
    for (auto& kv : component_environment(job, c)) env.push_back(std::move(kv));
    for (const auto& [k, v] : env) plan.argv.insert(plan.argv.end(), {"-env", k, v});
    if (!c.workdir.empty()) plan.argv.insert(plan.argv.end(), {"-wdir", c.workdir});
    for (auto& a : rank_command(job, i, ctx, firsts[i])) plan.argv.push_back(std::move(a));
  }
  return plan;
}

using Builder = LaunchPlan (*)(const JobSpec&, const LaunchContext&);
struct Entry {
  const char* name;
  Builder build;
};
constexpr Entry kLaunchers[] = {{"openmpi", &openmpi}, {"slurm", &slurm}, {"psmpi", &psmpi}};

}  // namespace

std::vector<std::string> launcher_names() {
  std::vector<std::string> names;
  for (const auto& e : kLaunchers) names.emplace_back(e.name);
  return names;
}

std::string choose_launcher(const std::string& requested) {
  if (requested.empty() || requested == "auto") return detail::getenv_nonempty("SLURM_JOB_ID") ? "slurm" : "openmpi";
  for (const auto& e : kLaunchers)
    if (requested == e.name) return requested;
  const std::string hint = detail::closest_match(requested, launcher_names());
  throw ConfigError(fmt::format("unknown launcher '{}'{}; use auto, {}", requested,
                                hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint),
                                detail::join(launcher_names(), ", ")));
}

LaunchPlan plan_launch(const std::string& name, const JobSpec& job, const LaunchContext& context) {
  for (const auto& e : kLaunchers)
    if (name == e.name) return e.build(job, context);
  return plan_launch(choose_launcher(name), job, context);
}

EnvList component_environment(const JobSpec& job, const ComponentSpec& component) {
  // A profile given as a path must work from any workdir.
  std::string profile = job.profile_name;
  if (detail::looks_like_path(profile)) profile = std::filesystem::absolute(profile).string();
  EnvList env = {{"MSA_COMPONENT", component.name},
                 {"MSA_PROFILE", profile},
                 {"OMP_NUM_THREADS", std::to_string(component.threads_per_rank)}};
  for (auto& kv : job.channel_environment()) env.push_back(std::move(kv));
  for (const auto& kv : component.env) env.push_back(kv);
  return env;
}

std::vector<int> first_ranks(const JobSpec& job) {
  std::vector<int> firsts;
  int next = 0;
  for (const auto& c : job.components) {
    firsts.push_back(next);
    next += c.ranks;
  }
  return firsts;
}

std::string shell_quote(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& a : argv) {
    if (!line.empty()) line += ' ';
    const bool plain = !a.empty() && std::all_of(a.begin(), a.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) ||
             std::string_view("-_./=:,+@%").find(c) != std::string_view::npos;
    });
    if (plain) {
      line += a;
    } else {
      line += '\'';
      for (char c : a) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
      line += '\'';
    }
  }
  return line;
}

}  // namespace msa::tools
