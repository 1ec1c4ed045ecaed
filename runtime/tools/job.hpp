#pragma once
// Job specs: one TOML file describing a heterogeneous job (which program runs
// on which module with how many ranks, threads and GPUs), validated against a
// machine profile. See README "Job files".

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "msa/profile.hpp"

namespace msa::tools {

using EnvList = std::vector<std::pair<std::string, std::string>>;

/// One program of the job.
struct ComponentSpec {
  std::string name;
  std::string module;
  int ranks = 1;
  int threads_per_rank = 1;
  int gpus_per_rank = 0;
  std::vector<std::string> command;  ///< argv; never joined into a shell string
  EnvList env;                       ///< extra environment, sorted by name
  std::string workdir;               ///< "" = where msa run is started
  int line = 0;                      ///< line of its [[components]] table
};

/// Settings of one channel, handed to every rank as MSA_CHANNEL_<NAME>_* variables.
struct ChannelSpec {
  std::string name;
  std::string engine;        ///< "" = the runtime's default
  std::string policy;        ///< block | drop_oldest | drop_newest | latest_only, "" = default
  int64_t queue_depth = 0;   ///< 0 = default
  int64_t max_bytes = 0;     ///< byte budget of the queue, 0 = default
  int64_t open_timeout = 0;  ///< seconds, 0 = default
  int64_t peer_timeout = 0;  ///< seconds, 0 = default
  int zero_copy = -1;        ///< 1 or 0; -1 = default
  std::string directory;     ///< hdf5 engine: where the step files go, "" = default
  int line = 0;
};

struct JobSpec {
  std::string name;
  std::string source;        ///< the file it was read from
  std::string profile_name;  ///< the profile validated against (name or path)
  Profile profile;
  std::vector<ComponentSpec> components;
  std::vector<ChannelSpec> channels;

  int total_ranks() const;
  /// The environment every rank gets for the channels (MSA_CHANNEL_<NAME>_ENGINE, ...).
  EnvList channel_environment() const;
};

/// The profile a job uses: `override_name` (msa run --profile), else
/// $MSA_PROFILE, else the file's `profile`, else "laptop".
std::string choose_profile(const std::string& override_name, const std::string& file_profile);

/// Parses and validates a job spec. Errors are ConfigError "<file>:<line>:<col>: ...".
JobSpec parse_job(const std::string& text, const std::string& source, const std::string& profile_override);

/// Reads `path` and parses it.
JobSpec load_job(const std::string& path, const std::string& profile_override);

/// The GPUs one node of `module` has (for an emulated module: the class it emulates).
int gpus_per_node(const Profile& profile, const std::string& module);

}  // namespace msa::tools
