#pragma once
// The message of the error a callable throws, for tests that check what a
// user would read.
#include <string>

#include "msa/error.hpp"

namespace msa::test {

/// The what() of the `Error` (an msa::Error subclass) `f` throws, or "" if it throws none.
template <class Error, class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

/// The what() of the msa::ConfigError `f` throws, or "" if it throws none.
template <class F>
std::string config_error(F&& f) {
  return error_message<msa::ConfigError>(std::forward<F>(f));
}

}  // namespace msa::test
