#pragma once
#include <string>

namespace msa::tools {

struct RunOptions {
  std::string job_file;
  std::string launcher = "auto";
  std::string profile;       ///< overrides $MSA_PROFILE and the file's profile
  std::string logs_dir;      ///< per-component log files instead of the terminal
  bool check = false;        ///< validate only
  bool dry_run = false;      ///< print the exact argv and env, run nothing
  bool plain = false;        ///< with --dry-run: without the per-rank `msa exec` wrapper
  double stop_timeout = 10;  ///< seconds between SIGTERM and SIGKILL when stopping
};

/// `msa run`: returns the process exit code.
int run_job(const RunOptions& options);

}  // namespace msa::tools
