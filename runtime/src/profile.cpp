#include "msa/profile.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

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

#ifndef MSA_PROFILE_DIR_SOURCE
#define MSA_PROFILE_DIR_SOURCE ""
#endif
#ifndef MSA_PROFILE_DIR_INSTALL
#define MSA_PROFILE_DIR_INSTALL ""
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

namespace {

std::string where(const std::string& source, const toml::source_region& region) {
  return fmt::format("{}:{}:{}", source, region.begin.line, region.begin.column);
}

[[noreturn]] void fail(const std::string& source, const toml::node& node, const std::string& what) {
  throw ConfigError(fmt::format("{}: {}", where(source, node.source()), what));
}

void reject_unknown_keys(const std::string& source, const toml::table& table, const std::vector<std::string>& allowed,
                         const std::string& context) {
  for (const auto& [key, node] : table) {
    const std::string k{key.str()};
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    const std::string hint = detail::closest_match(k, allowed);
    throw ConfigError(fmt::format("{}: unknown key '{}' in {}{}; allowed keys: {}", where(source, key.source()), k,
                                  context, hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint),
                                  detail::join(allowed, ", ")));
  }
}

std::string required_string(const std::string& source, const toml::table& table, const char* key,
                            const std::string& context) {
  const toml::node* node = table.get(key);
  if (!node) throw ConfigError(fmt::format("{}:{}: {} has no '{}'", source, table.source().begin.line, context, key));
  const auto value = node->value<std::string>();
  if (!value || value->empty()) fail(source, *node, fmt::format("'{}' in {} must be a non-empty string", key, context));
  return *value;
}

std::string optional_string(const std::string& source, const toml::table& table, const char* key,
                            const std::string& context) {
  const toml::node* node = table.get(key);
  if (!node) return {};
  const auto value = node->value<std::string>();
  if (!value) fail(source, *node, fmt::format("'{}' in {} must be a string", key, context));
  return *value;
}

bool is_identifier(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

}  // namespace

Profile parse_profile(std::string_view toml_text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}:{}: malformed TOML: {}", source, e.source().begin.line,
                                  e.source().begin.column, e.description()));
  }
  reject_unknown_keys(source, root, {"name", "description", "default_module", "modules"}, "the profile");

  Profile p;
  p.source = source;
  p.name = required_string(source, root, "name", "the profile");
  p.description = optional_string(source, root, "description", "the profile");

  const toml::node* modules_node = root.get("modules");
  if (!modules_node)
    throw ConfigError(fmt::format("{}: profile '{}' defines no modules; add [[modules]] tables", source, p.name));
  const toml::array* modules = modules_node->as_array();
  if (!modules || modules->empty())
    fail(source, *modules_node, "'modules' must be a non-empty array of tables ([[modules]])");

  for (const toml::node& entry : *modules) {
    const toml::table* t = entry.as_table();
    if (!t) fail(source, entry, "each entry of 'modules' must be a table");
    const std::string ctx = "a [[modules]] table";
    reject_unknown_keys(source, *t, {"name", "backend", "emulates", "nodes", "psmpi_id"}, ctx);
    ModuleSpec m;
    m.line = static_cast<int>(t->source().begin.line);
    m.name = required_string(source, *t, "name", ctx);
    if (!is_identifier(m.name))
      fail(source, *t->get("name"),
           fmt::format("module name '{}' may only contain letters, digits, '_' and '-'", m.name));
    const std::string mctx = fmt::format("module '{}'", m.name);
    m.backend = required_string(source, *t, "backend", mctx);
    if (!find_backend(m.backend))
      fail(source, *t->get("backend"),
           fmt::format("module '{}' has unknown backend '{}'; known backends: {}", m.name, m.backend,
                       detail::join(backend_names(), ", ")));
    m.emulates = optional_string(source, *t, "emulates", mctx);
    if (!m.emulates.empty() && !find_backend(m.emulates))
      fail(source, *t->get("emulates"),
           fmt::format("module '{}' emulates unknown backend '{}'; known backends: {}", m.name, m.emulates,
                       detail::join(backend_names(), ", ")));
    if (const toml::node* n = t->get("nodes")) {
      const auto v = n->value<int64_t>();
      if (!v || *v < 1) fail(source, *n, fmt::format("'nodes' of module '{}' must be an integer >= 1", m.name));
      m.nodes = static_cast<int>(*v);
    }
    if (const toml::node* n = t->get("psmpi_id")) {
      const auto v = n->value<int64_t>();
      if (!v || *v < 0) fail(source, *n, fmt::format("'psmpi_id' of module '{}' must be an integer >= 0", m.name));
      if (const ModuleSpec* other = p.find_by_psmpi_id(static_cast<int>(*v)))
        fail(source, *n,
             fmt::format("psmpi_id {} of module '{}' is already used by module '{}'", *v, m.name, other->name));
      m.psmpi_id = static_cast<int>(*v);
    }
    if (p.find(m.name)) fail(source, entry, fmt::format("module '{}' is defined twice", m.name));
    p.modules.push_back(std::move(m));
  }

  p.default_module = optional_string(source, root, "default_module", "the profile");
  if (p.default_module.empty()) {
    p.default_module = p.modules.front().name;
  } else if (!p.find(p.default_module)) {
    fail(source, *root.get("default_module"),
         fmt::format("default_module '{}' is not one of the profile's modules ({})", p.default_module,
                     p.module_names()));
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

std::vector<std::string> profile_search_path() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("MSA_PROFILE_PATH"))
    for (auto& d : detail::split(env, ':'))
      if (!d.empty()) dirs.push_back(d);
  for (const char* d : {MSA_PROFILE_DIR_SOURCE, MSA_PROFILE_DIR_INSTALL})
    if (*d) dirs.emplace_back(d);
  return dirs;
}

Profile find_profile(const std::string& name_or_path) {
  namespace fs = std::filesystem;
  const bool is_path = name_or_path.find('/') != std::string::npos ||
                       (name_or_path.size() > 5 && name_or_path.substr(name_or_path.size() - 5) == ".toml");
  if (is_path) return load_profile(name_or_path);
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
