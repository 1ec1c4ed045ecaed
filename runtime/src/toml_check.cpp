#include "toml_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "msa/error.hpp"
#include "strings.hpp"

namespace msa::detail {

toml::table TomlChecker::parse(std::string_view text) const {
  try {
    return toml::parse(text, m_source);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}: malformed TOML: {}", where(e.source()), e.description()));
  }
}

std::string TomlChecker::where(const toml::source_region& region) const {
  return fmt::format("{}:{}:{}", m_source, region.begin.line, region.begin.column);
}

void TomlChecker::fail(const toml::node& node, const std::string& what) const { fail_at(node.source(), what); }

void TomlChecker::fail_at(const toml::source_region& region, const std::string& what) const {
  throw ConfigError(fmt::format("{}: {}", where(region), what));
}

void TomlChecker::reject_unknown_keys(const toml::table& table, const std::vector<std::string>& allowed,
                                      const std::string& context) const {
  for (const auto& [key, node] : table) {
    const std::string k{key.str()};
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    const std::string hint = closest_match(k, allowed);
    fail_at(key.source(),
            fmt::format("unknown key '{}' in {}{}; allowed keys: {}", k, context,
                        hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint), join(allowed, ", ")));
  }
}

std::string TomlChecker::required_string(const toml::table& table, const char* key, const std::string& context) const {
  const toml::node* node = table.get(key);
  if (!node) throw ConfigError(fmt::format("{}:{}: {} has no '{}'", m_source, table.source().begin.line, context, key));
  const auto value = node->value<std::string>();
  if (!value || value->empty()) fail(*node, fmt::format("'{}' in {} must be a non-empty string", key, context));
  return *value;
}

std::string TomlChecker::optional_string(const toml::table& table, const char* key, const std::string& context) const {
  const toml::node* node = table.get(key);
  if (!node) return {};
  const auto value = node->value<std::string>();
  if (!value) fail(*node, fmt::format("'{}' in {} must be a string", key, context));
  return *value;
}

int64_t TomlChecker::optional_int(const toml::table& table, const char* key, int64_t minimum, int64_t fallback,
                                  const std::string& context, int64_t maximum) const {
  const toml::node* node = table.get(key);
  if (!node) return fallback;
  const auto value = node->is_integer() ? node->value<int64_t>() : std::nullopt;
  if (!value || *value < minimum || *value > maximum)
    fail(*node, fmt::format("'{}' in {} must be an integer from {} to {}", key, context, minimum, maximum));
  return *value;
}

std::vector<std::string> TomlChecker::string_array(const toml::table& table, const char* key,
                                                   const std::string& context) const {
  std::vector<std::string> out;
  const toml::node* node = table.get(key);
  if (!node) return out;
  const toml::array* array = node->as_array();
  if (!array)
    fail(*node, fmt::format("'{}' in {} must be an array of strings, e.g. [\"./prog\", \"--flag\"]", key, context));
  for (const toml::node& item : *array) {
    const auto value = item.value<std::string>();
    if (!value || !item.is_string()) fail(item, fmt::format("'{}' in {} must contain only strings", key, context));
    out.push_back(*value);
  }
  return out;
}

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
}

}  // namespace msa::detail
