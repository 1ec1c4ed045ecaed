#pragma once
/// Machine profiles: the modules of a machine and the hardware class of each,
/// read from a TOML file under backends/profiles/ (laptop.toml, jupiter.toml).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace msa {

/// One module of a machine, e.g. JUPITER's booster.
struct ModuleSpec {
  std::string name;             ///< e.g. "booster"; the name ranks are tagged with
  std::string backend;          ///< hardware class: "host", "gh200", "rhea1"
  std::string emulates;         ///< on a laptop, the class this module stands in for ("" if real)
  int nodes = 1;                ///< nodes of the module on this machine
  std::optional<int> psmpi_id;  ///< ParaStation MPI module id that maps to this module
  int line = 0;                 ///< line of the profile where the module is defined
};

/// A machine: its modules and the answer of the hardware discovery rule.
struct Profile {
  std::string name;
  std::string description;
  std::string source;          ///< the file it was read from
  std::string default_module;  ///< module of a node whose hardware no GPU module claims
  std::vector<ModuleSpec> modules;

  /// The module called `name`, or nullptr. Thread-safe.
  const ModuleSpec* find(std::string_view module_name) const;
  /// Position of module `name` in `modules`, or -1.
  int index_of(std::string_view module_name) const;
  /// The module whose psmpi_id is `id`, or nullptr.
  const ModuleSpec* find_by_psmpi_id(int id) const;
  /// "booster, cluster, host": for error messages.
  std::string module_names() const;
};

/// Parses a profile from TOML text; `source` names it in errors
/// ("<source>:<line>:<column>: ..."). Throws ConfigError. Not collective.
Profile parse_profile(std::string_view toml_text, const std::string& source);

/// Reads and parses the profile file at `path`. Throws ConfigError.
Profile load_profile(const std::string& path);

/// The directories searched for profiles by name, in order: $MSA_PROFILE_PATH
/// (colon-separated), then <prefix>/share/msa/profiles when libmsa_runtime is
/// installed in <prefix>/lib, else the source tree's backends/profiles.
std::vector<std::string> profile_search_path();

/// Finds a profile by name ("laptop") in profile_search_path(), or reads it as
/// a path when it contains '/' or ends in ".toml". Throws ConfigError naming
/// the directories searched.
Profile find_profile(const std::string& name_or_path);

/// The profile a program uses when it names none: $MSA_PROFILE, else "laptop".
std::string default_profile_name();

}  // namespace msa
