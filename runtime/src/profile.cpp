#include "msa/profile.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "msa/backend.hpp"
#include "msa/error.hpp"
#include "strings.hpp"
#include "toml_check.hpp"

#ifndef MSA_PROFILE_DIR_SOURCE
#define MSA_PROFILE_DIR_SOURCE ""
#endif
#ifndef MSA_PROFILE_DIR_RELATIVE
#define MSA_PROFILE_DIR_RELATIVE "share/msa/profiles"
#endif

namespace msa {

const ModuleSpec* Profile::find(std::string_view module_name) const {
  for (const auto& m : modules)
    if (m.name == module_name) return &m;
  return nullptr;
}

int Profile::index_of(std::string_view module_name) const {
  for (std::size_t i = 0; i < modules.size(); ++i)
    if (modules[i].name == module_name) return static_cast<int>(i);
  return -1;
}

const ModuleSpec* Profile::find_by_psmpi_id(int id) const {
  for (const auto& m : modules)
    if (m.psmpi_id && *m.psmpi_id == id) return &m;
  return nullptr;
}

std::string Profile::module_names() const {
  std::vector<std::string> names;
  for (const auto& m : modules) names.push_back(m.name);
  return detail::join(names, ", ");
}

Profile parse_profile(std::string_view toml_text, const std::string& source) {
  const detail::TomlChecker check(source);
  const toml::table root = check.parse(toml_text);
  check.reject_unknown_keys(root, {"name", "description", "default_module", "modules"}, "the profile");

  Profile p;
  p.source = source;
  p.name = check.required_string(root, "name", "the profile");
  p.description = check.optional_string(root, "description", "the profile");

  const toml::node* modules_node = root.get("modules");
  if (!modules_node)
    throw ConfigError(fmt::format("{}: profile '{}' defines no modules; add [[modules]] tables", source, p.name));
  const toml::array* modules = modules_node->as_array();
  if (!modules || modules->empty())
    check.fail(*modules_node, "'modules' must be a non-empty array of tables ([[modules]])");

  for (const toml::node& entry : *modules) {
    const toml::table* t = entry.as_table();
    if (!t) check.fail(entry, "each entry of 'modules' must be a table");
    const std::string ctx = "a [[modules]] table";
    check.reject_unknown_keys(*t, {"name", "backend", "emulates", "nodes", "psmpi_id"}, ctx);
    ModuleSpec m;
    m.line = static_cast<int>(t->source().begin.line);
    m.name = check.required_string(*t, "name", ctx);
    if (!detail::is_identifier(m.name))
      check.fail(*t->get("name"),
                 fmt::format("module name '{}' may only contain letters, digits, '_' and '-'", m.name));
    const std::string mctx = fmt::format("module '{}'", m.name);
    m.backend = check.required_string(*t, "backend", mctx);
    if (!find_backend(m.backend))
      check.fail(*t->get("backend"), fmt::format("module '{}' has unknown backend '{}'; known backends: {}", m.name,
                                                 m.backend, detail::join(backend_names(), ", ")));
    m.emulates = check.optional_string(*t, "emulates", mctx);
    if (!m.emulates.empty() && !find_backend(m.emulates))
      check.fail(*t->get("emulates"), fmt::format("module '{}' emulates unknown backend '{}'; known backends: {}",
                                                  m.name, m.emulates, detail::join(backend_names(), ", ")));
    m.nodes = static_cast<int>(check.optional_int(*t, "nodes", 1, 1, mctx));
    if (t->get("psmpi_id")) {
      const int id = static_cast<int>(check.optional_int(*t, "psmpi_id", 0, 0, mctx));
      if (const ModuleSpec* other = p.find_by_psmpi_id(id))
        check.fail(*t->get("psmpi_id"),
                   fmt::format("psmpi_id {} of module '{}' is already used by module '{}'", id, m.name, other->name));
      m.psmpi_id = id;
    }
    if (p.find(m.name)) check.fail(entry, fmt::format("module '{}' is defined twice", m.name));
    p.modules.push_back(std::move(m));
  }

  p.default_module = check.optional_string(root, "default_module", "the profile");
  if (p.default_module.empty()) {
    p.default_module = p.modules.front().name;
  } else if (!p.find(p.default_module)) {
    check.fail(*root.get("default_module"), fmt::format("default_module '{}' is not one of the profile's modules ({})",
                                                        p.default_module, p.module_names()));
  }
  return p;
}

Profile load_profile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("cannot read profile '{}': {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_profile(text.str(), path);
}

namespace {
// <prefix>/share/msa/profiles when this library is installed in <prefix>/lib.
std::string installed_profile_dir() {
  namespace fs = std::filesystem;
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&profile_search_path), &info) || !info.dli_fname) return {};
  std::error_code ec;
  const fs::path library = fs::canonical(info.dli_fname, ec);
  if (ec) return {};
  const fs::path dir = library.parent_path().parent_path() / MSA_PROFILE_DIR_RELATIVE;
  return fs::is_directory(dir, ec) ? dir.string() : std::string();
}
}  // namespace

std::vector<std::string> profile_search_path() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("MSA_PROFILE_PATH"))
    for (auto& d : detail::split(env, ':'))
      if (!d.empty()) dirs.push_back(d);
  const std::string installed = installed_profile_dir();
  if (!installed.empty()) {
    dirs.push_back(installed);
  } else if (*MSA_PROFILE_DIR_SOURCE) {
    dirs.emplace_back(MSA_PROFILE_DIR_SOURCE);
  }
  return dirs;
}

Profile find_profile(const std::string& name_or_path) {
  namespace fs = std::filesystem;
  if (detail::looks_like_path(name_or_path)) return load_profile(name_or_path);
  const auto dirs = profile_search_path();
  for (const auto& dir : dirs) {
    const fs::path candidate = fs::path(dir) / (name_or_path + ".toml");
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return load_profile(candidate.string());
  }
  throw ConfigError(
      fmt::format("no profile named '{}' in {} (set MSA_PROFILE to a profile name or a .toml path, "
                  "or add its directory to MSA_PROFILE_PATH)",
                  name_or_path, dirs.empty() ? std::string("<no directories>") : detail::join(dirs, ":")));
}

std::string default_profile_name() {
  const char* env = std::getenv("MSA_PROFILE");
  return (env && *env) ? std::string(env) : std::string("laptop");
}

}  // namespace msa
