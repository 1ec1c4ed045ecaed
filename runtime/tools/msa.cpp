// The `msa` command. Subcommands: info, run (and exec, the per-rank wrapper msa run uses).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "exec.hpp"
#include "info.hpp"
#include "launch.hpp"
#include "msa/error.hpp"
#include "run.hpp"

int main(int argc, char** argv) {
  CLI::App app{"msa: run one job across the modules of a Modular Supercomputing Architecture machine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("msa ") + msa::tools::version());

  msa::tools::InfoOptions info;
  CLI::App* info_cmd = app.add_subcommand(
      "info", "Show the node's topology, the libraries, the profile, and (under mpirun) where every rank runs");
  info_cmd->add_flag("--json", info.json, "Print JSON (keys documented in the README) instead of text");
  info_cmd->add_option("--profile", info.profile,
                       "Machine profile name or .toml path (default: $MSA_PROFILE or laptop)");

  msa::tools::RunOptions run;
  CLI::App* run_cmd = app.add_subcommand("run", "Launch a job file on the laptop, under Slurm or with ParaStation MPI");
  run_cmd->add_option("job", run.job_file, "Job file (TOML)")->required();
  run_cmd->add_flag("--check", run.check, "Validate the job file and exit");
  run_cmd->add_flag("--dry-run", run.dry_run, "Print the exact launch command and environment, run nothing");
  run_cmd->add_flag("--plain", run.plain,
                    "With --dry-run: the command without msa's per-rank wrapper, to type by hand");
  std::string launchers = "auto";
  for (const auto& n : msa::tools::launcher_names()) launchers += ", " + n;
  run_cmd->add_option("--launcher", run.launcher, "Launcher: " + launchers + " (auto: slurm inside an allocation)")
      ->capture_default_str();
  run_cmd->add_option("--profile", run.profile,
                      "Machine profile (default: $MSA_PROFILE, else the job file's, else laptop)");
  run_cmd->add_option("--logs", run.logs_dir, "Write each component's output to DIR/<component>.log");
  run_cmd->add_option("--stop-timeout", run.stop_timeout, "Seconds between SIGTERM and SIGKILL when stopping a job")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  msa::tools::ExecOptions exec;
  CLI::App* exec_cmd =
      app.add_subcommand("exec", "Per-rank wrapper used by msa run (prefixes output, records exit status)");
  exec_cmd->group("");  // internal: not listed in --help
  exec_cmd->add_option("--component", exec.component)->required();
  exec_cmd->add_option("--first-rank", exec.first_rank)->required();
  exec_cmd->add_option("--run-dir", exec.run_dir);
  exec_cmd->add_option("--logs", exec.logs_dir);
  exec_cmd->add_option("command", exec.command)->required();
  exec_cmd->positionals_at_end();

  CLI11_PARSE(app, argc, argv);

  try {
    if (*info_cmd) return msa::tools::run_info(argc, argv, info);
    if (*run_cmd) return msa::tools::run_job(run);
    if (*exec_cmd) return msa::tools::run_exec(exec);
  } catch (const msa::Error& e) {
    std::fprintf(stderr, "msa: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "msa: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
