#pragma once
// Sets environment variables for the scope of a test and restores them after.
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace msa::test {

class EnvGuard {
 public:
  EnvGuard() {
    // Discovery hints a developer may have exported must not leak into tests.
    for (const char* name : {"MSA_MODULE", "MSA_LAYOUT", "MSA_APP_MODULES", "MSA_COMPONENT", "MSA_BIND", "MSA_PROFILE",
                             "PSP_MSA_AWARENESS", "PSP_MSA_MODULE_ID"})
      unset(name);
  }
  void set(const std::string& name, const std::string& value) {
    remember(name);
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  void unset(const std::string& name) {
    remember(name);
    ::unsetenv(name.c_str());
  }
  ~EnvGuard() {
    for (const auto& [name, value] : m_saved) {
      if (value)
        ::setenv(name.c_str(), value->c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  void remember(const std::string& name) {
    if (m_saved.count(name)) return;
    const char* v = std::getenv(name.c_str());
    m_saved[name] = v ? std::optional<std::string>(v) : std::nullopt;
  }
  std::map<std::string, std::optional<std::string>> m_saved;
};

}  // namespace msa::test
