#pragma once
// Launchers: turn a job spec into the one command line that starts it with
// Open MPI (MPMD mpirun), Slurm (a heterogeneous srun) or ParaStation MPI
// (mpiexec with module ids). Pure functions of the spec and a LaunchContext,
// so the generated argv can be checked line by line (tests/tools).

#include <string>
#include <utility>
#include <vector>

#include "job.hpp"
#include "msa/topology.hpp"

namespace msa::tools {

/// What a launcher needs to know about the machine msa run is on.
struct LaunchContext {
  std::string msa_executable;  ///< absolute path of `msa`, for the per-rank wrapper
  std::string run_dir;         ///< where ranks report their exit status (shared file system)
  std::string logs_dir;        ///< --logs DIR, "" = prefix output on the terminal
  bool wrap = true;            ///< run each rank under `msa exec` (status, prefixes); false: --plain
  bool as_root = false;        ///< Open MPI needs --allow-run-as-root
  std::string hostname;        ///< this node (Open MPI rankfile)
  std::string cwd;             ///< where msa run starts: the default working directory
  NodeLayout layout;           ///< this node's cores (Open MPI binding)
};

/// The exact command: argv, variables set in the launcher's own environment,
/// and files it reads (an Open MPI rankfile).
struct LaunchPlan {
  std::string launcher;
  std::vector<std::string> argv;
  EnvList env;
  std::vector<std::pair<std::string, std::string>> files;  ///< path, content
  std::vector<std::string> notes;                          ///< decisions worth telling the user
};

/// Names of the registered launchers: openmpi, slurm, psmpi.
std::vector<std::string> launcher_names();

/// `requested` ("auto" or a name): auto is slurm inside a Slurm allocation
/// ($SLURM_JOB_ID set), otherwise openmpi. Throws ConfigError for unknown names.
std::string choose_launcher(const std::string& requested);

/// Builds the plan with launcher `name`. Throws ConfigError when the job
/// cannot be expressed with it (e.g. a module without a psmpi_id for psmpi).
LaunchPlan plan_launch(const std::string& name, const JobSpec& job, const LaunchContext& context);

/// The variables msa sets for every rank of `component` (MSA_COMPONENT,
/// MSA_PROFILE, OMP_NUM_THREADS, channel settings, the component's env).
EnvList component_environment(const JobSpec& job, const ComponentSpec& component);

/// First world rank of each component, in job order.
std::vector<int> first_ranks(const JobSpec& job);

/// `argv` as one line a shell would read back to the same argv (for printing only).
std::string shell_quote(const std::vector<std::string>& argv);

}  // namespace msa::tools
