#pragma once
/// Errors of msa. Every failure is one of these: the message names where
/// (component, rank, file:line, variable), what is wrong and what to do.

#include <stdexcept>
#include <string>

namespace msa {

/// Base of every error msa throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Wrong configuration: environment variables, profiles, job specs, options.
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// An MPI call failed; the message carries the MPI error string and context.
class MpiError : public Error {
 public:
  MpiError(int code, const std::string& what);
  /// The MPI error code returned by the failing call.
  int code() const noexcept { return m_code; }

 private:
  int m_code;
};

/// File or HDF5 failures.
class IoError : public Error {
 public:
  using Error::Error;
};

/// Channel set-up or transfer failures (shape/type mismatch, dead peer, ...).
class ChannelError : public Error {
 public:
  using Error::Error;
};

/// Hardware topology or binding failures (hwloc).
class TopologyError : public Error {
 public:
  using Error::Error;
};

}  // namespace msa
