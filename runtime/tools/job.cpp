#include "job.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#include "msa/backend.hpp"
#include "msa/channel.hpp"
#include "msa/error.hpp"
#include "strings.hpp"
#include "toml_check.hpp"

namespace msa::tools {

namespace {

const std::vector<std::string> kPolicies = {"block", "drop_oldest", "drop_newest", "latest_only"};

bool is_env_name(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

ComponentSpec parse_component(const detail::TomlChecker& check, const toml::table& t, const Profile& profile) {
  const std::string ctx = "a [[components]] table";
  check.reject_unknown_keys(
      t, {"name", "module", "ranks", "threads_per_rank", "gpus_per_rank", "command", "env", "workdir"}, ctx);
  ComponentSpec c;
  c.line = static_cast<int>(t.source().begin.line);
  c.name = check.required_string(t, "name", ctx);
  if (!detail::is_identifier(c.name))
    check.fail(*t.get("name"),
               fmt::format("component name '{}' may only contain letters, digits, '_' and '-'", c.name));
  const std::string cctx = fmt::format("component '{}'", c.name);

  c.module = check.required_string(t, "module", cctx);
  if (!profile.find(c.module)) {
    std::vector<std::string> names;
    for (const auto& m : profile.modules) names.push_back(m.name);
    const std::string hint = detail::closest_match(c.module, names);
    check.fail(*t.get("module"),
               fmt::format("component '{}' runs on module '{}', which profile '{}' does not have{}; "
                           "its modules are: {}",
                           c.name, c.module, profile.name,
                           hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint), profile.module_names()));
  }
  if (const toml::node* n = t.get("ranks"); n && n->is_integer() && *n->value<int64_t>() < 1)
    check.fail(*n,
               fmt::format("component '{}' has ranks = {}; it needs at least 1 rank", c.name, *n->value<int64_t>()));
  c.ranks = static_cast<int>(check.optional_int(t, "ranks", 1, 1, cctx));
  c.threads_per_rank = static_cast<int>(check.optional_int(t, "threads_per_rank", 1, 1, cctx));
  c.gpus_per_rank = static_cast<int>(check.optional_int(t, "gpus_per_rank", 0, 0, cctx));
  const int node_gpus = gpus_per_node(profile, c.module);
  if (c.gpus_per_rank > node_gpus)
    check.fail(*t.get("gpus_per_rank"),
               fmt::format("component '{}' asks for {} GPU(s) per rank but a node of module '{}' has {}", c.name,
                           c.gpus_per_rank, c.module, node_gpus));

  if (!t.get("command"))
    throw ConfigError(
        fmt::format("{}:{}: component '{}' has no 'command' (an argv array, e.g. [\"./model\", \"--steps\", \"100\"])",
                    check.source(), c.line, c.name));
  c.command = check.string_array(t, "command", cctx);
  if (std::find(c.command.begin(), c.command.end(), ":") != c.command.end())
    check.fail(*t.get("command"),
               fmt::format("the command of component '{}' contains \":\", which every launcher reads "
                           "as the start of the next component; quote it inside a single argument",
                           c.name));
  if (c.command.empty() || c.command.front().empty())
    check.fail(*t.get("command"), fmt::format("component '{}' has an empty command; give the program and its arguments "
                                              "as an array, e.g. [\"./model\", \"--steps\", \"100\"]",
                                              c.name));

  if (const toml::node* n = t.get("env")) {
    const toml::table* env = n->as_table();
    if (!env) check.fail(*n, fmt::format("'env' of component '{}' must be a table of strings", c.name));
    for (const auto& [key, value] : *env) {
      const std::string k{key.str()};
      if (!is_env_name(k))
        check.fail_at(key.source(),
                      fmt::format("'{}' in the env of component '{}' is not a valid variable name", k, c.name));
      if (!value.is_string())
        check.fail(value, fmt::format("env variable {} of component '{}' must be a string", k, c.name));
      c.env.emplace_back(k, *value.value<std::string>());
    }
  }
  c.workdir = check.optional_string(t, "workdir", cctx);
  return c;
}

ChannelSpec parse_channel(const detail::TomlChecker& check, const std::string& name, const toml::node& node) {
  const toml::table* t = node.as_table();
  if (!t) check.fail(node, fmt::format("[channels.{}] must be a table", name));
  if (!detail::is_identifier(name))
    check.fail(node, fmt::format("channel name '{}' may only contain letters, digits, '_' and '-'", name));
  const std::string ctx = fmt::format("[channels.{}]", name);
  check.reject_unknown_keys(
      *t, {"engine", "policy", "queue_depth", "max_bytes", "open_timeout", "peer_timeout", "zero_copy", "directory"},
      ctx);
  ChannelSpec ch;
  ch.name = name;
  ch.line = static_cast<int>(t->source().begin.line);
  ch.engine = check.optional_string(*t, "engine", ctx);
  if (!ch.engine.empty() && !detail::is_identifier(ch.engine))
    check.fail(*t->get("engine"), fmt::format("engine '{}' of {} is not a name", ch.engine, ctx));
  ch.policy = check.optional_string(*t, "policy", ctx);
  if (!ch.policy.empty() && std::find(kPolicies.begin(), kPolicies.end(), ch.policy) == kPolicies.end()) {
    const std::string hint = detail::closest_match(ch.policy, kPolicies);
    check.fail(*t->get("policy"),
               fmt::format("policy '{}' of {} is not one of {}{}", ch.policy, ctx, detail::join(kPolicies, ", "),
                           hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
  }
  ch.queue_depth = check.optional_int(*t, "queue_depth", 1, 0, ctx);
  ch.max_bytes = check.optional_int(*t, "max_bytes", 1, 0, ctx, INT64_MAX);
  ch.open_timeout = check.optional_int(*t, "open_timeout", 1, 0, ctx);
  ch.peer_timeout = check.optional_int(*t, "peer_timeout", 1, 0, ctx);
  if (const toml::node* z = t->get("zero_copy")) {
    if (!z->is_boolean()) check.fail(*z, fmt::format("'zero_copy' in {} must be true or false", ctx));
    ch.zero_copy = *z->value<bool>() ? 1 : 0;
  }
  ch.directory = check.optional_string(*t, "directory", ctx);
  return ch;
}

}  // namespace

int JobSpec::total_ranks() const {
  int n = 0;
  for (const auto& c : components) n += c.ranks;
  return n;
}

EnvList JobSpec::channel_environment() const {
  EnvList env;
  for (const auto& ch : channels) {
    const std::string prefix = channel_env_prefix(ch.name);
    if (!ch.engine.empty()) env.emplace_back(prefix + "ENGINE", ch.engine);
    if (!ch.policy.empty()) env.emplace_back(prefix + "POLICY", ch.policy);
    if (ch.queue_depth) env.emplace_back(prefix + "QUEUE_DEPTH", std::to_string(ch.queue_depth));
    if (ch.max_bytes) env.emplace_back(prefix + "MAX_BYTES", std::to_string(ch.max_bytes));
    if (ch.open_timeout) env.emplace_back(prefix + "OPEN_TIMEOUT", std::to_string(ch.open_timeout));
    if (ch.peer_timeout) env.emplace_back(prefix + "PEER_TIMEOUT", std::to_string(ch.peer_timeout));
    if (ch.zero_copy >= 0) env.emplace_back(prefix + "ZERO_COPY", std::to_string(ch.zero_copy));
    if (!ch.directory.empty()) env.emplace_back(prefix + "DIRECTORY", ch.directory);
  }
  return env;
}

std::string choose_profile(const std::string& override_name, const std::string& file_profile) {
  if (!override_name.empty()) return override_name;
  if (const auto env = detail::getenv_nonempty("MSA_PROFILE")) return *env;
  if (!file_profile.empty()) return file_profile;
  return "laptop";
}

int gpus_per_node(const Profile& profile, const std::string& module) {
  const ModuleSpec* m = profile.find(module);
  if (!m) return 0;
  return backend(m->emulates.empty() ? m->backend : m->emulates).nominal.gpus;
}

JobSpec parse_job(const std::string& text, const std::string& source, const std::string& profile_override) {
  const detail::TomlChecker check(source);
  const toml::table root = check.parse(text);
  check.reject_unknown_keys(root, {"name", "description", "profile", "components", "channels"}, "the job");

  JobSpec job;
  job.source = source;
  job.name = check.required_string(root, "name", "the job");
  if (!detail::is_identifier(job.name))
    check.fail(*root.get("name"), fmt::format("job name '{}' may only contain letters, digits, '_' and '-'", job.name));
  check.optional_string(root, "description", "the job");
  job.profile_name = choose_profile(profile_override, check.optional_string(root, "profile", "the job"));
  job.profile = find_profile(job.profile_name);

  const toml::node* components = root.get("components");
  if (!components)
    throw ConfigError(
        fmt::format("{}: job '{}' has no components; add a [[components]] table per program", source, job.name));
  const toml::array* list = components->as_array();
  if (!list || list->empty())
    check.fail(*components, "'components' must be a non-empty array of tables ([[components]])");
  for (const toml::node& entry : *list) {
    const toml::table* t = entry.as_table();
    if (!t) check.fail(entry, "each entry of 'components' must be a table");
    ComponentSpec c = parse_component(check, *t, job.profile);
    for (const auto& other : job.components)
      if (other.name == c.name)
        check.fail(*t->get("name"),
                   fmt::format("component '{}' is defined twice (first on line {})", c.name, other.line));
    job.components.push_back(std::move(c));
  }

  if (const toml::node* channels = root.get("channels")) {
    const toml::table* t = channels->as_table();
    if (!t) check.fail(*channels, "'channels' must be a table of [channels.<name>] tables");
    for (const auto& [key, node] : *t) job.channels.push_back(parse_channel(check, std::string(key.str()), node));
  }
  return job;
}

JobSpec load_job(const std::string& path, const std::string& profile_override) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("cannot read job file '{}': {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_job(text.str(), path, profile_override);
}

}  // namespace msa::tools
