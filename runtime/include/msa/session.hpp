#pragma once
/// The Session: the object every msa program creates first. It starts MPI,
/// Kokkos and the hwloc topology (respecting any the application started
/// itself), discovers this rank's module, places and binds the rank, and
/// builds the communicators: world, module, node, component, and a bridge
/// inter-communicator to every other module of the job.
///
///   msa::Session session(argc, argv);
///   if (session.module_name() == "booster") ...
///
/// Construction and destruction are collective over MPI_COMM_WORLD. A wrong
/// hint (MSA_LAYOUT that does not add up, an unknown module, MSA_MODULE on
/// some ranks only, a malformed profile) throws the same ConfigError on every
/// rank instead of hanging.

#include <memory>
#include <string>
#include <vector>

#include "msa/backend.hpp"
#include "msa/comm.hpp"
#include "msa/discovery.hpp"
#include "msa/placement.hpp"
#include "msa/profile.hpp"
#include "msa/topology.hpp"

namespace msa {

class ChannelBuilder;

struct SessionOptions {
  /// Profile name or path; empty: $MSA_PROFILE, else "laptop".
  std::string profile;
  /// Thread level requested from MPI_Init_thread when msa initialises MPI.
  int mpi_thread_level = MPI_THREAD_FUNNELED;
  /// Initialise Kokkos (when the application has not) with the placement's
  /// thread count and device.
  bool init_kokkos = true;
};

/// One rank as msa info reports it.
struct RankInfo {
  int world_rank = 0;
  std::string host;
  std::string module;
  int module_rank = 0;
  std::string component;
  std::string rule;     ///< to_string(ModuleRule)
  std::string detail;   ///< why the rule decided what it did
  std::string cpuset;   ///< PUs the rank runs on now ("0-3")
  bool bound = false;   ///< whether msa bound the rank
  std::string binding;  ///< the placement's reason ("bound: ...", "not bound: ...")
  std::string gpu;      ///< "" or "0 NVIDIA GH100 (0009:01:00.0)"
};

class Session {
 public:
  /// Collective. Throws ConfigError / MpiError / TopologyError (the same on
  /// every rank). When msa started MPI and throws, MPI is finalised again.
  Session(int& argc, char**& argv, SessionOptions options = {});
  /// As above without command-line arguments for MPI.
  explicit Session(SessionOptions options = {});
  /// Collective: frees the communicators and finalises Kokkos and MPI if this
  /// Session initialised them. Never throws.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session(Session&&) = delete;
  Session& operator=(Session&&) = delete;

  const Comm& world() const;      ///< MPI_COMM_WORLD (borrowed)
  const Comm& module() const;     ///< ranks of my module
  const Comm& node() const;       ///< ranks sharing my node's memory
  const Comm& component() const;  ///< ranks of my component
  /// Inter-communicator between my module and `other_module`. Throws
  /// ConfigError when the job has no rank in that module (or it is mine).
  const Comm& bridge(const std::string& other_module) const;

  /// Inter-communicator between my component and `other_component` (channels
  /// run over these). Throws ConfigError when the job has no such component.
  const Comm& component_bridge(const std::string& other_component) const;
  /// Components of this job, in the order of their first world rank.
  const std::vector<std::string>& components() const;

  /// Starts building a channel named `name` (see msa/channel.hpp); include
  /// msa/channel.hpp to use it.
  ChannelBuilder channel(const std::string& name) const;

  /// Modules that have ranks in this job, in profile order.
  const std::vector<std::string>& modules() const;
  /// World ranks of module `name` (empty if it has none).
  std::vector<int> module_ranks(const std::string& name) const;

  const std::string& module_name() const;
  ModuleRule module_rule() const;
  /// Why the rule decided what it did ("MSA_LAYOUT=booster:2,cluster:1 puts ranks 0-1 in booster").
  const std::string& module_detail() const;
  /// $MSA_COMPONENT, by default the module's name.
  const std::string& component_name() const;

  const Profile& profile() const;
  /// The hardware class of my module.
  const Backend& backend() const;
  const Topology& topology() const;
  /// This rank's planned placement and whether it was applied.
  const RankPlacement& placement() const;
  bool bound() const;
  /// The placement's reason ("bound: 2 ranks on 2 cores, one core each").
  const std::string& binding_report() const;
  const std::string& hostname() const;

  bool owns_mpi() const;     ///< whether this Session initialised MPI
  bool owns_kokkos() const;  ///< whether this Session initialised Kokkos

  /// Collective over world: every rank's RankInfo, on every rank, by world rank.
  std::vector<RankInfo> gather_ranks() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace msa
