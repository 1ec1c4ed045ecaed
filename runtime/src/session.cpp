#include "msa/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "mpi_util.hpp"
#include "msa/detail/kokkos_compat.hpp"
#include "msa/error.hpp"
#include "strings.hpp"

namespace msa {

namespace {

// Starts MPI unless the application already did; finalises only what it started.
struct MpiGuard {
  bool owned = false;
  MpiGuard(int* argc, char*** argv, int level) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (finalized)
      throw MpiError(MPI_ERR_OTHER, "msa::Session: MPI was already finalised; create the Session before MPI_Finalize");
    if (!initialized) {
      int provided = 0;
      check_mpi(MPI_Init_thread(argc, argv, level, &provided), "msa::Session: MPI_Init_thread");
      if (provided < level) {
        MPI_Finalize();
        throw MpiError(MPI_ERR_OTHER, fmt::format("msa::Session: MPI provides thread level {} but {} was requested; "
                                                  "use an MPI built with thread support or request less",
                                                  provided, level));
      }
      owned = true;
      // Errors on world come back as codes, so check_mpi can say where they happened.
      MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    }
  }
  ~MpiGuard() {
    if (!owned) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  MpiGuard(const MpiGuard&) = delete;
  MpiGuard& operator=(const MpiGuard&) = delete;
};

struct KokkosGuard {
  bool owned = false;
  void start(int threads, int device) {
    if (detail::kokkos_is_initialized()) return;
    detail::kokkos_initialize(threads, device);
    owned = true;
  }
  ~KokkosGuard() {
    if (owned && detail::kokkos_is_initialized()) Kokkos::finalize();
  }
};

int error_kind(const std::exception& e) {
  if (dynamic_cast<const ConfigError*>(&e)) return 0;
  if (dynamic_cast<const TopologyError*>(&e)) return 1;
  if (dynamic_cast<const MpiError*>(&e)) return 2;
  return 3;
}

// "0-2,5" for a sorted list of ranks.
std::string rank_list(const std::vector<int>& ranks) { return CpuSet(ranks).to_string(); }

Comm split(MPI_Comm parent, int color, int key, const char* what) {
  MPI_Comm out = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split(parent, color, key, &out), what);
  MPI_Comm_set_errhandler(out, MPI_ERRORS_RETURN);
  return Comm::adopt(out);
}

std::optional<std::string> psmpi_info_module_id() {
  char value[MPI_MAX_INFO_VAL + 1] = {};
  int flag = 0;
  if (MPI_INFO_ENV == MPI_INFO_NULL) return std::nullopt;
  check_mpi(MPI_Info_get(MPI_INFO_ENV, "msa_module_id", MPI_MAX_INFO_VAL, value, &flag),
            "module discovery: MPI_Info_get(MPI_INFO_ENV, msa_module_id)");
  if (!flag || !*value) return std::nullopt;
  return std::string(value);
}

std::optional<int> mpi_appnum() {
  int* value = nullptr;
  int flag = 0;
  check_mpi(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_APPNUM, &value, &flag), "module discovery: MPI_APPNUM");
  if (!flag || !value) return std::nullopt;
  return *value;
}

}  // namespace

struct Session::Impl {
  MpiGuard mpi;
  Comm world = Comm::borrow(MPI_COMM_WORLD);
  std::unique_ptr<Topology> topology;
  Profile profile;
  Discovery discovery;
  std::string component_name;
  std::string hostname;
  std::vector<std::string> modules;  // present in the job, profile order
  std::vector<int> module_of_rank;   // profile index per world rank
  Comm module, node, component;
  std::map<std::string, Comm> bridges;            // by module
  std::vector<std::string> component_names;       // in the job, by first world rank
  std::map<std::string, Comm> component_bridges;  // by component
  RankPlacement placement;
  std::vector<Device> gpus;  // the GPUs placement chose from; placement.gpu indexes it
  bool bound = false;
  std::string binding_report;
  KokkosGuard kokkos;

  // Before the bridges are freed: wait (bounded) until every rank is here,
  // then take and discard any message still addressed to this rank on them
  // (a channel's hello or end of stream nobody received). Open MPI may hand a
  // freed communicator's id to the next one, and a stale message there would
  // stall it.
  ~Impl() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized || (bridges.empty() && component_bridges.empty())) return;
    MPI_Request barrier = MPI_REQUEST_NULL;
    if (MPI_Ibarrier(world, &barrier) != MPI_SUCCESS) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int done = 0;
    while (!done) {
      if (MPI_Test(&barrier, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return;
      if (!done && std::chrono::steady_clock::now() > deadline) {
        std::fputs(
            "msa: warning: not every rank reached the end of the Session within 30 s; freeing its "
            "communicators without draining them\n",
            stderr);
        return;
      }
      if (!done) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    for (auto* group : {&bridges, &component_bridges})
      for (auto& [name, comm] : *group) drain(comm);
  }

  static void drain(const Comm& comm) {
    while (true) {
      int found = 0;
      MPI_Status status;
      if (MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &found, &status) != MPI_SUCCESS || !found) return;
      int bytes = 0;
      MPI_Get_count(&status, MPI_BYTE, &bytes);
      std::vector<char> sink(static_cast<std::size_t>(std::max(bytes, 1)));
      MPI_Recv(sink.data(), bytes, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, comm, MPI_STATUS_IGNORE);
    }
  }

  Impl(int* argc, char*** argv, const SessionOptions& options) : mpi(argc, argv, options.mpi_thread_level) {
    const int rank = world.rank();
    const int size = world.size();
    {
      char name[MPI_MAX_PROCESSOR_NAME] = {};
      int len = 0;
      check_mpi(MPI_Get_processor_name(name, &len), "MPI_Get_processor_name");
      hostname.assign(name, static_cast<std::size_t>(len));
    }

    // Local part: may fail differently on different ranks, so failures are
    // agreed on before anyone goes on to a collective that could hang.
    std::string error;
    int kind = 0;
    try {
      topology = std::make_unique<Topology>();
      profile = find_profile(options.profile.empty() ? default_profile_name() : options.profile);
      DiscoveryInput input = DiscoveryInput::from_environment(rank, size);
      input.psmpi_info_id = psmpi_info_module_id();
      input.appnum = mpi_appnum();
      for (const auto& name : backend_names()) {
        const Backend& b = msa::backend(name);
        if (b.find_devices && !b.find_devices(topology->devices()).empty()) input.device_backends.push_back(name);
      }
      discovery = discover_module(input, profile);
      component_name = detail::getenv_nonempty("MSA_COMPONENT").value_or(discovery.module);
    } catch (const std::exception& e) {
      error = e.what();
      kind = error_kind(e);
    }
    detail::agree_on_error(world, error, kind);

    check_consistency();
    build_communicators(rank);
    place(rank, options);
  }

  // Every rank must have been decided by the same rule: a hint present on
  // some ranks only (MSA_MODULE exported on one node, say) is a mistake.
  // Every rank must read the same profile and the same MSA_LAYOUT (module
  // indices and blocks mean nothing otherwise), and be decided by the same
  // rule: a hint present on some ranks only (MSA_MODULE exported on one node,
  // say) is a mistake.
  void check_consistency() {
    require_same("the profile (MSA_PROFILE)", fmt::format("'{}' ({})", profile.name, profile.source));
    require_same("MSA_LAYOUT", detail::getenv_nonempty("MSA_LAYOUT").value_or("<unset>"));
    const auto rules = detail::allgather_int(world, static_cast<int>(discovery.rule));
    module_of_rank = detail::allgather_int(world, profile.index_of(discovery.module));
    std::map<int, std::vector<int>> by_rule;
    for (std::size_t r = 0; r < rules.size(); ++r) by_rule[rules[r]].push_back(static_cast<int>(r));
    if (by_rule.size() > 1) {
      std::vector<std::string> parts;
      for (const auto& [rule, ranks] : by_rule)
        parts.push_back(fmt::format("{} decided ranks {}", to_string(static_cast<ModuleRule>(rule)), rank_list(ranks)));
      const bool env_partial = by_rule.count(static_cast<int>(ModuleRule::env_module)) > 0;
      throw ConfigError(fmt::format(
          "module discovery is inconsistent across ranks: {}. {}", detail::join(parts, "; "),
          env_partial ? "MSA_MODULE is set on some ranks only: set it on every rank (msa run does) or on none"
                      : "give every rank the same kind of hint (for example MSA_LAYOUT for all of them)"));
    }
    for (std::size_t i = 0; i < profile.modules.size(); ++i)
      if (std::find(module_of_rank.begin(), module_of_rank.end(), static_cast<int>(i)) != module_of_rank.end())
        modules.push_back(profile.modules[i].name);
  }

  void require_same(const std::string& what, const std::string& mine) {
    const auto all = detail::allgather_strings(world, mine);
    std::map<std::string, std::vector<int>> by_value;
    for (std::size_t r = 0; r < all.size(); ++r) by_value[all[r]].push_back(static_cast<int>(r));
    if (by_value.size() <= 1) return;
    std::vector<std::string> parts;
    for (const auto& [value, ranks] : by_value)
      parts.push_back(fmt::format("ranks {} have {}", rank_list(ranks), value));
    throw ConfigError(
        fmt::format("ranks disagree on {}: {}; give every rank the same value", what, detail::join(parts, "; ")));
  }

  void build_communicators(int rank) {
    const int my_module = profile.index_of(discovery.module);
    module = split(world, my_module, rank, "Session: MPI_Comm_split (module)");

    MPI_Comm shared = MPI_COMM_NULL;
    check_mpi(MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &shared),
              "Session: MPI_Comm_split_type (node)");
    MPI_Comm_set_errhandler(shared, MPI_ERRORS_RETURN);
    node = Comm::adopt(shared);

    const auto components = detail::allgather_strings(world, component_name);
    std::vector<std::string> distinct;
    for (const auto& c : components)
      if (std::find(distinct.begin(), distinct.end(), c) == distinct.end()) distinct.push_back(c);
    const auto my_component = std::find(distinct.begin(), distinct.end(), component_name) - distinct.begin();
    component = split(world, static_cast<int>(my_component), rank, "Session: MPI_Comm_split (component)");
    component_names = distinct;
    std::vector<int> component_of_rank;
    for (const auto& c : components)
      component_of_rank.push_back(static_cast<int>(std::find(distinct.begin(), distinct.end(), c) - distinct.begin()));

    std::vector<std::string> module_names;
    for (const auto& m : profile.modules) module_names.push_back(m.name);
    bridges = make_bridges(module_of_rank, my_module, module, module_names, 4200, "module");
    component_bridges =
        make_bridges(component_of_rank, static_cast<int>(my_component), component, component_names, 8200, "component");
  }

  // One inter-communicator from my group to each other group with ranks,
  // created in the same global order of pairs on every rank so that no two
  // pairs wait on each other.
  std::map<std::string, Comm> make_bridges(const std::vector<int>& group_of_rank, int mine, const Comm& local,
                                           const std::vector<std::string>& names, int tag_base, const char* what) {
    std::map<std::string, Comm> out;
    const int n = static_cast<int>(names.size());
    for (int a = 0; a < n; ++a)
      for (int b = a + 1; b < n; ++b) {
        if (mine != a && mine != b) continue;
        const int other = mine == a ? b : a;
        const auto leader = std::find(group_of_rank.begin(), group_of_rank.end(), other);
        if (leader == group_of_rank.end()) continue;  // no ranks in this job
        MPI_Comm inter = MPI_COMM_NULL;
        check_mpi(MPI_Intercomm_create(local, 0, world, static_cast<int>(leader - group_of_rank.begin()),
                                       tag_base + a * n + b, &inter),
                  fmt::format("Session: MPI_Intercomm_create ({} bridge {} <-> {})", what,
                              names[static_cast<std::size_t>(a)], names[static_cast<std::size_t>(b)]));
        MPI_Comm_set_errhandler(inter, MPI_ERRORS_RETURN);
        out.emplace(names[static_cast<std::size_t>(other)], Comm::adopt(inter));
      }
    return out;
  }

  // Cores of the node with at least one PU in `set`.
  int cores_in(const CpuSet& set) const {
    int n = 0;
    for (const auto& domain : topology->layout().numa)
      for (const auto& core : domain.cores)
        if (std::any_of(core.pus.begin(), core.pus.end(),
                        [&](int pu) { return std::binary_search(set.pus().begin(), set.pus().end(), pu); }))
          ++n;
    return n;
  }

  void place(int rank, const SessionOptions& options) {
    const Backend& mine =
        msa::backend(profile.modules[static_cast<std::size_t>(profile.index_of(discovery.module))].backend);
    std::string error;
    int kind = 0;
    BindPolicy policy = BindPolicy::core;
    try {
      policy = bind_policy_from_environment();
    } catch (const std::exception& e) {
      error = fmt::format("rank {}: {}", rank, e.what());
      kind = error_kind(e);
    }
    detail::agree_on_error(world, error, kind);

    // Every rank of the node computes the same plan from the same inputs.
    const auto node_world_ranks = detail::allgather_int(node, rank);
    const auto node_wants_gpu = detail::allgather_int(node, mine.uses_gpus ? 1 : 0);
    std::vector<RankRequest> requests;
    for (std::size_t i = 0; i < node_world_ranks.size(); ++i) {
      const int wr = node_world_ranks[i];
      requests.push_back({wr,
                          profile.modules[static_cast<std::size_t>(module_of_rank[static_cast<std::size_t>(wr)])].name,
                          node_wants_gpu[i] != 0});
    }
    NodeLayout layout = topology->layout();
    layout.gpus = visible_gpus(topology->devices(), detail::getenv_nonempty("CUDA_VISIBLE_DEVICES"));
    const PlacementPlan plan = plan_placement(layout, requests, policy);
    gpus = layout.gpus;
    placement = *plan.find(rank);
    binding_report = plan.reason;

    error.clear();
    try {
      if (plan.bind) {
        topology->bind_process(placement.cpuset);
        bound = true;
      }
    } catch (const std::exception& e) {
      error = fmt::format("rank {} on {}: {}", rank, hostname, e.what());
      kind = error_kind(e);
    }
    detail::agree_on_error(world, error, kind);

    if (options.init_kokkos) {
      const int threads =
          bound ? placement.cores : std::max(1, topology->layout().core_count() / std::max(1, node.size()));
      kokkos.start(threads, placement.gpu);
    }
  }
};

Session::Session(int& argc, char**& argv, SessionOptions options)
    : m_impl(std::make_unique<Impl>(&argc, &argv, options)) {}

Session::Session(SessionOptions options) : m_impl(std::make_unique<Impl>(nullptr, nullptr, options)) {}

Session::~Session() = default;

const Comm& Session::world() const { return m_impl->world; }
const Comm& Session::module() const { return m_impl->module; }
const Comm& Session::node() const { return m_impl->node; }
const Comm& Session::component() const { return m_impl->component; }

const Comm& Session::bridge(const std::string& other_module) const {
  const auto it = m_impl->bridges.find(other_module);
  if (it != m_impl->bridges.end()) return it->second;
  std::vector<std::string> others;
  for (const auto& [name, comm] : m_impl->bridges) others.push_back(name);
  throw ConfigError(fmt::format("rank {} ({}): no bridge to module '{}'; this job's other modules: {}",
                                m_impl->world.rank(), m_impl->discovery.module, other_module,
                                others.empty() ? std::string("none") : detail::join(others, ", ")));
}

const std::vector<std::string>& Session::modules() const { return m_impl->modules; }
const std::vector<std::string>& Session::components() const { return m_impl->component_names; }

const Comm& Session::component_bridge(const std::string& other_component) const {
  const auto it = m_impl->component_bridges.find(other_component);
  if (it != m_impl->component_bridges.end()) return it->second;
  throw ConfigError(fmt::format("rank {} (component {}): no component '{}' to connect to; this job's components: {}",
                                m_impl->world.rank(), m_impl->component_name, other_component,
                                detail::join(m_impl->component_names, ", ")));
}

std::vector<int> Session::module_ranks(const std::string& name) const {
  std::vector<int> out;
  const int index = m_impl->profile.index_of(name);
  for (std::size_t r = 0; r < m_impl->module_of_rank.size(); ++r)
    if (m_impl->module_of_rank[r] == index) out.push_back(static_cast<int>(r));
  return out;
}

const std::string& Session::module_name() const { return m_impl->discovery.module; }
ModuleRule Session::module_rule() const { return m_impl->discovery.rule; }
const std::string& Session::module_detail() const { return m_impl->discovery.detail; }
const std::string& Session::component_name() const { return m_impl->component_name; }
const Profile& Session::profile() const { return m_impl->profile; }
const Backend& Session::backend() const {
  return msa::backend(m_impl->profile.find(m_impl->discovery.module)->backend);
}
const Topology& Session::topology() const { return *m_impl->topology; }
const RankPlacement& Session::placement() const { return m_impl->placement; }
bool Session::bound() const { return m_impl->bound; }
const std::string& Session::binding_report() const { return m_impl->binding_report; }
const std::string& Session::hostname() const { return m_impl->hostname; }
bool Session::owns_mpi() const { return m_impl->mpi.owned; }
bool Session::owns_kokkos() const { return m_impl->kokkos.owned; }

namespace {
// Never throws: it runs right before a collective.
std::string binding_or_error(const Topology& topology) {
  try {
    return topology.current_binding().to_string();
  } catch (const std::exception& e) {
    return std::string("unknown (") + e.what() + ")";
  }
}
}  // namespace

std::vector<RankInfo> Session::gather_ranks() const {
  const auto& p = m_impl->placement;
  std::string gpu;
  if (p.gpu >= 0) {
    const Device& d = m_impl->gpus[static_cast<std::size_t>(p.gpu)];
    gpu = fmt::format("{} {} {} ({})", p.gpu, d.vendor, d.model, d.pci_bus_id);
  }
  const nlohmann::json mine = {{"world_rank", m_impl->world.rank()},
                               {"host", m_impl->hostname},
                               {"module", m_impl->discovery.module},
                               {"module_rank", m_impl->module.rank()},
                               {"component", m_impl->component_name},
                               {"rule", std::string(to_string(m_impl->discovery.rule))},
                               {"detail", m_impl->discovery.detail},
                               {"cpuset", binding_or_error(*m_impl->topology)},
                               {"bound", m_impl->bound},
                               {"binding", m_impl->binding_report},
                               {"gpu", gpu}};
  std::vector<RankInfo> out;
  for (const auto& text : detail::allgather_strings(m_impl->world, mine.dump())) {
    const auto j = nlohmann::json::parse(text);
    RankInfo r;
    r.world_rank = j.at("world_rank").get<int>();
    r.host = j.at("host").get<std::string>();
    r.module = j.at("module").get<std::string>();
    r.module_rank = j.at("module_rank").get<int>();
    r.component = j.at("component").get<std::string>();
    r.rule = j.at("rule").get<std::string>();
    r.detail = j.at("detail").get<std::string>();
    r.cpuset = j.at("cpuset").get<std::string>();
    r.bound = j.at("bound").get<bool>();
    r.binding = j.at("binding").get<std::string>();
    r.gpu = j.at("gpu").get<std::string>();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace msa
