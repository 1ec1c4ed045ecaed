#pragma once
// Checked access to parsed TOML for msa's configuration files (profiles, job
// specs): every error is a ConfigError "<file>:<line>:<column>: <what>".

#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace msa::detail {

class TomlChecker {
 public:
  explicit TomlChecker(std::string source) : m_source(std::move(source)) {}

  /// Parses `text`; a syntax error becomes "<file>:<l>:<c>: malformed TOML: ...".
  toml::table parse(std::string_view text) const;

  const std::string& source() const { return m_source; }
  /// "<file>:<line>:<column>"
  std::string where(const toml::source_region& region) const;
  [[noreturn]] void fail(const toml::node& node, const std::string& what) const;
  [[noreturn]] void fail_at(const toml::source_region& region, const std::string& what) const;

  /// Rejects keys of `table` not in `allowed`, with a "did you mean".
  void reject_unknown_keys(const toml::table& table, const std::vector<std::string>& allowed,
                           const std::string& context) const;

  std::string required_string(const toml::table& table, const char* key, const std::string& context) const;
  std::string optional_string(const toml::table& table, const char* key, const std::string& context) const;
  /// An integer >= `minimum`, or `fallback` when the key is absent.
  int64_t optional_int(const toml::table& table, const char* key, int64_t minimum, int64_t fallback,
                       const std::string& context, int64_t maximum = 2147483647) const;
  /// An array of strings (e.g. an argv); absent is an empty vector.
  std::vector<std::string> string_array(const toml::table& table, const char* key, const std::string& context) const;

 private:
  std::string m_source;
};

/// Letters, digits, '_' and '-': names of modules, components, channels.
bool is_identifier(std::string_view s);

}  // namespace msa::detail
