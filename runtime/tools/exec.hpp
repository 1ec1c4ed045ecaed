#pragma once
#include <string>
#include <vector>

namespace msa::tools {

/// `msa exec`: the per-rank wrapper msa run puts in front of each command.
struct ExecOptions {
  std::string component;
  int first_rank = 0;    ///< world rank of the component's rank 0
  std::string run_dir;   ///< where the exit status is recorded
  std::string logs_dir;  ///< per-component log files instead of the terminal
  std::vector<std::string> command;
};

/// Runs the command with its output prefixed "[component rank]" (or appended
/// to <logs_dir>/<component>.log), forwards SIGINT/SIGTERM/SIGHUP to it,
/// records its exit status in run_dir and returns its exit code.
int run_exec(const ExecOptions& options);

}  // namespace msa::tools
