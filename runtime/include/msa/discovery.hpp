#pragma once
/// Module discovery: which module a rank belongs to. One chain, first answer
/// wins, the same on every MPI (DESIGN.md, "Module discovery"):
///   1. MSA_MODULE=<name>
///   2. ParaStation MPI: MPI_INFO_ENV key msa_module_id, then PSP_MSA_MODULE_ID
///      (only when PSP_MSA_AWARENESS=1); ids map to names through the profile
///   3. MSA_LAYOUT=booster:2,cluster:1 (blocks of consecutive world ranks)
///   4. MPI_APPNUM mapped through MSA_APP_MODULES=booster,cluster
///   5. hardware: a node with devices of a GPU module's class is that module,
///      otherwise the profile's default module

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msa/profile.hpp"

namespace msa {

/// The rule of the chain that decided a rank's module.
enum class ModuleRule { env_module, psmpi_info, psmpi_env, layout, appnum, hardware };

/// Stable names: "MSA_MODULE", "msa_module_id", "PSP_MSA_MODULE_ID",
/// "MSA_LAYOUT", "MPI_APPNUM", "hardware".
std::string_view to_string(ModuleRule rule);

/// Everything the chain looks at, for one rank. Unset optionals mean "absent".
struct DiscoveryInput {
  int world_rank = 0;
  int world_size = 1;
  std::optional<std::string> msa_module;         ///< MSA_MODULE
  std::optional<std::string> psmpi_info_id;      ///< MPI_INFO_ENV "msa_module_id"
  std::optional<std::string> psp_msa_awareness;  ///< PSP_MSA_AWARENESS
  std::optional<std::string> psp_msa_module_id;  ///< PSP_MSA_MODULE_ID
  std::optional<std::string> layout;             ///< MSA_LAYOUT
  std::optional<int> appnum;                     ///< MPI_APPNUM attribute of MPI_COMM_WORLD
  std::optional<std::string> app_modules;        ///< MSA_APP_MODULES
  /// Backends whose devices were found on this node (e.g. {"gh200"}).
  std::vector<std::string> device_backends;

  /// Fills the environment fields from this process's environment (empty
  /// variables count as unset). MPI-derived fields are left for the caller.
  static DiscoveryInput from_environment(int world_rank, int world_size);
};

/// The answer: the module, the rule that decided, and a human-readable why.
struct Discovery {
  std::string module;
  ModuleRule rule = ModuleRule::hardware;
  std::string detail;  ///< e.g. "MSA_LAYOUT=booster:2,cluster:1 puts rank 2 in cluster"
};

/// Runs the chain for one rank. Pure: no MPI, no environment access.
/// Throws ConfigError naming the variable and the rank when a hint is
/// malformed or names a module the profile does not have.
Discovery discover_module(const DiscoveryInput& input, const Profile& profile);

/// MSA_LAYOUT parsed into (module, ranks) blocks, checked against the profile
/// and the world size. Throws ConfigError.
std::vector<std::pair<std::string, int>> parse_layout(const std::string& layout, const Profile& profile, int world_size,
                                                      int world_rank);

}  // namespace msa
