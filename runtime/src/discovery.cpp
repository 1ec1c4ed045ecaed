#include "msa/discovery.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "msa/backend.hpp"
#include "msa/error.hpp"
#include "strings.hpp"

namespace msa {

std::string_view to_string(ModuleRule rule) {
  switch (rule) {
    case ModuleRule::env_module:
      return "MSA_MODULE";
    case ModuleRule::psmpi_info:
      return "msa_module_id";
    case ModuleRule::psmpi_env:
      return "PSP_MSA_MODULE_ID";
    case ModuleRule::layout:
      return "MSA_LAYOUT";
    case ModuleRule::appnum:
      return "MPI_APPNUM";
    case ModuleRule::hardware:
      return "hardware";
  }
  return "unknown";
}

DiscoveryInput DiscoveryInput::from_environment(int world_rank, int world_size) {
  DiscoveryInput in;
  in.world_rank = world_rank;
  in.world_size = world_size;
  in.msa_module = detail::getenv_nonempty("MSA_MODULE");
  in.psp_msa_awareness = detail::getenv_nonempty("PSP_MSA_AWARENESS");
  in.psp_msa_module_id = detail::getenv_nonempty("PSP_MSA_MODULE_ID");
  in.layout = detail::getenv_nonempty("MSA_LAYOUT");
  in.app_modules = detail::getenv_nonempty("MSA_APP_MODULES");
  return in;
}

namespace {

void require_module(const Profile& profile, const std::string& name, const std::string& source, int rank) {
  if (profile.find(name)) return;
  const std::string hint = detail::closest_match(name, [&] {
    std::vector<std::string> names;
    for (const auto& m : profile.modules) names.push_back(m.name);
    return names;
  }());
  throw ConfigError(
      fmt::format("rank {}: {} names module '{}', which profile '{}' ({}) does not have{}; its modules are: {}", rank,
                  source, name, profile.name, profile.source,
                  hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint), profile.module_names()));
}

std::optional<int> parse_int(const std::string& text) {
  const std::string t = detail::trim(text);
  if (t.empty()) return std::nullopt;
  std::size_t used = 0;
  try {
    const int v = std::stoi(t, &used);
    if (used != t.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Discovery from_psmpi_id(const std::string& value, ModuleRule rule, const std::string& variable,
                        const DiscoveryInput& in, const Profile& profile) {
  const auto id = parse_int(value);
  if (!id)
    throw ConfigError(fmt::format("rank {}: {}='{}' is not an integer module id", in.world_rank, variable, value));
  const ModuleSpec* m = profile.find_by_psmpi_id(*id);
  if (!m) {
    std::vector<std::string> known;
    for (const auto& mod : profile.modules)
      if (mod.psmpi_id) known.push_back(fmt::format("{}={}", *mod.psmpi_id, mod.name));
    throw ConfigError(
        fmt::format("rank {}: {}={} maps to no module of profile '{}' ({}); known ids: {}. "
                    "Add psmpi_id = {} to the right [[modules]] table or pick another profile (MSA_PROFILE)",
                    in.world_rank, variable, *id, profile.name, profile.source,
                    known.empty() ? std::string("none") : detail::join(known, ", "), *id));
  }
  return {m->name, rule, fmt::format("{}={} is module '{}' in profile '{}'", variable, *id, m->name, profile.name)};
}

}  // namespace

std::vector<std::pair<std::string, int>> parse_layout(const std::string& layout, const Profile& profile, int world_size,
                                                      int world_rank) {
  std::vector<std::pair<std::string, int>> blocks;
  int total = 0;
  for (const auto& raw : detail::split(layout, ',')) {
    const std::string item = detail::trim(raw);
    const auto colon = item.find(':');
    if (item.empty() || colon == std::string::npos)
      throw ConfigError(
          fmt::format("rank {}: MSA_LAYOUT='{}' is malformed at '{}': expected <module>:<ranks>[,...], "
                      "e.g. MSA_LAYOUT=booster:2,cluster:1",
                      world_rank, layout, item));
    const std::string name = detail::trim(item.substr(0, colon));
    const auto count = parse_int(item.substr(colon + 1));
    if (!count || *count < 1)
      throw ConfigError(fmt::format("rank {}: MSA_LAYOUT='{}': rank count of '{}' must be an integer >= 1", world_rank,
                                    layout, name));
    require_module(profile, name, fmt::format("MSA_LAYOUT='{}'", layout), world_rank);
    blocks.emplace_back(name, *count);
    total += *count;
  }
  if (total != world_size)
    throw ConfigError(
        fmt::format("rank {}: MSA_LAYOUT='{}' adds up to {} ranks but the job has {}; "
                    "make the counts sum to the number of ranks given to mpirun",
                    world_rank, layout, total, world_size));
  return blocks;
}

Discovery discover_module(const DiscoveryInput& in, const Profile& profile) {
  // 1. MSA_MODULE
  if (in.msa_module) {
    const std::string name = detail::trim(*in.msa_module);
    require_module(profile, name, fmt::format("MSA_MODULE='{}'", *in.msa_module), in.world_rank);
    return {name, ModuleRule::env_module, fmt::format("MSA_MODULE={}", name)};
  }

  // 2. ParaStation MPI
  if (in.psmpi_info_id)
    return from_psmpi_id(*in.psmpi_info_id, ModuleRule::psmpi_info, "MPI_INFO_ENV msa_module_id", in, profile);
  if (in.psp_msa_module_id && in.psp_msa_awareness && detail::trim(*in.psp_msa_awareness) == "1")
    return from_psmpi_id(*in.psp_msa_module_id, ModuleRule::psmpi_env, "PSP_MSA_MODULE_ID", in, profile);

  // 3. MSA_LAYOUT
  if (in.layout) {
    const auto blocks = parse_layout(*in.layout, profile, in.world_size, in.world_rank);
    int first = 0;
    for (const auto& [name, count] : blocks) {
      if (in.world_rank < first + count)
        return {name, ModuleRule::layout,
                fmt::format("MSA_LAYOUT={} puts ranks {}-{} in {}", *in.layout, first, first + count - 1, name)};
      first += count;
    }
  }

  // 4. MPI_APPNUM through MSA_APP_MODULES
  if (in.appnum && *in.appnum >= 0 && in.app_modules) {
    const auto names = detail::split(*in.app_modules, ',');
    if (*in.appnum >= static_cast<int>(names.size()))
      throw ConfigError(
          fmt::format("rank {}: MPI_APPNUM is {} but MSA_APP_MODULES='{}' names only {} application(s); "
                      "give one module per ':'-separated program",
                      in.world_rank, *in.appnum, *in.app_modules, names.size()));
    const std::string name = detail::trim(names[static_cast<std::size_t>(*in.appnum)]);
    require_module(profile, name, fmt::format("MSA_APP_MODULES='{}' (entry {})", *in.app_modules, *in.appnum),
                   in.world_rank);
    return {name, ModuleRule::appnum,
            fmt::format("MPI_APPNUM={} is entry {} of MSA_APP_MODULES={}", *in.appnum, *in.appnum, *in.app_modules)};
  }

  // 5. Hardware: the first module whose (GPU) class has devices on this node.
  for (const auto& m : profile.modules) {
    const Backend& b = backend(m.backend);
    if (b.uses_gpus &&
        std::find(in.device_backends.begin(), in.device_backends.end(), m.backend) != in.device_backends.end())
      return {m.name, ModuleRule::hardware, fmt::format("this node has {} devices", m.backend)};
  }
  return {profile.default_module, ModuleRule::hardware,
          fmt::format("no module hint and no GPU module's devices on this node: profile '{}' default", profile.name)};
}

}  // namespace msa
