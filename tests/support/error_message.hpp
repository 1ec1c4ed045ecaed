#pragma once
// The message of the ConfigError a callable throws, for tests that check
// what a user would read.
#include <string>

#include "msa/error.hpp"

namespace msa::test {

/// The what() of the msa::ConfigError `f` throws, or "" if it throws none.
template <class F>
std::string config_error(F&& f) {
  try {
    f();
  } catch (const msa::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace msa::test
