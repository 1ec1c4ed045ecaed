#include "info.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "msa/io/hdf5_library.hpp"
#include "msa/msa.hpp"

namespace msa::tools {

const char* version() { return MSA_VERSION_STRING; }

namespace {

std::string thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE:
      return "single";
    case MPI_THREAD_FUNNELED:
      return "funneled";
    case MPI_THREAD_SERIALIZED:
      return "serialized";
    case MPI_THREAD_MULTIPLE:
      return "multiple";
    default:
      return std::to_string(level);
  }
}

nlohmann::json collect(const Session& session, const std::vector<RankInfo>& ranks) {
  using nlohmann::json;
  const Topology& topo = session.topology();
  const Profile& profile = session.profile();

  json devices = json::array();
  for (const auto& d : topo.devices())
    devices.push_back({{"kind", d.kind},
                       {"vendor", d.vendor},
                       {"model", d.model},
                       {"pci_bus_id", d.pci_bus_id},
                       {"os_names", d.os_names},
                       {"numa_domain", d.numa_domain}});

  json modules = json::array();
  for (const auto& m : profile.modules) {
    json jm = {{"name", m.name},
               {"backend", m.backend},
               {"emulates", m.emulates},
               {"nodes", m.nodes},
               {"psmpi_id", m.psmpi_id ? json(*m.psmpi_id) : json(nullptr)},
               {"ranks", session.module_ranks(m.name)}};
    modules.push_back(jm);
  }

  json backends = json::array();
  for (const auto& name : backend_names()) {
    const Backend& b = backend(name);
    const auto& n = b.nominal;
    backends.push_back({{"name", b.name},
                        {"description", b.description},
                        {"execution_space", b.execution_space()},
                        {"memory_space", b.memory_space()},
                        {"uses_gpus", b.uses_gpus},
                        {"nominal",
                         {{"sockets", n.sockets},
                          {"cores", n.cores},
                          {"numa_domains", n.numa_domains},
                          {"gpus", n.gpus},
                          {"memory_gib", n.memory_gib},
                          {"memory_bandwidth_gbs", n.memory_bandwidth_gbs},
                          {"gpu_memory_gib", n.gpu_memory_gib},
                          {"gpu_memory_bandwidth_gbs", n.gpu_memory_bandwidth_gbs},
                          {"host_device_bandwidth_gbs", n.host_device_bandwidth_gbs},
                          {"network_bandwidth_gbs", n.network_bandwidth_gbs},
                          {"fp64_tflops", n.fp64_tflops}}}});
  }

  json jranks = json::array();
  for (const auto& r : ranks)
    jranks.push_back({{"world_rank", r.world_rank},
                      {"host", r.host},
                      {"module", r.module},
                      {"module_rank", r.module_rank},
                      {"component", r.component},
                      {"rule", r.rule},
                      {"detail", r.detail},
                      {"cpuset", r.cpuset},
                      {"bound", r.bound},
                      {"binding", r.binding},
                      {"gpu", r.gpu}});

  char library[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int len = 0, major = 0, minor = 0, provided = 0;
  check_mpi(MPI_Get_library_version(library, &len), "msa info: MPI_Get_library_version");
  check_mpi(MPI_Get_version(&major, &minor), "msa info: MPI_Get_version");
  check_mpi(MPI_Query_thread(&provided), "msa info: MPI_Query_thread");
  std::string lib(library, static_cast<std::size_t>(len));
  while (!lib.empty() && (lib.back() == '\n' || lib.back() == '\0')) lib.pop_back();

  return {{"schema_version", 1},
          {"msa_version", version()},
          {"node",
           {{"host", session.hostname()},
            {"packages", topo.packages()},
            {"numa_nodes", topo.numa_nodes()},
            {"cores", topo.cores()},
            {"pus", topo.pus()},
            {"memory_gib", topo.memory_gib()},
            {"hwloc_version", Topology::hwloc_version()},
            {"devices", devices}}},
          {"kokkos",
           {{"version", kokkos_version()},
            {"enabled_spaces", kokkos_enabled_spaces()},
            {"initialized_by_msa", session.owns_kokkos()}}},
          {"mpi",
           {{"library", lib},
            {"standard", fmt::format("{}.{}", major, minor)},
            {"thread_level", thread_level_name(provided)},
            {"world_size", session.world().size()}}},
          {"hdf5", {{"version", io::hdf5_version()}, {"parallel", io::hdf5_is_parallel()}}},
          {"profile",
           {{"name", profile.name},
            {"source", profile.source},
            {"description", profile.description},
            {"default_module", profile.default_module},
            {"modules", modules}}},
          {"backends", backends},
          {"ranks", jranks}};
}

void print_text(const nlohmann::json& j) {
  const auto& node = j["node"];
  std::printf("msa %s\n\n", j["msa_version"].get<std::string>().c_str());
  std::printf("node %s: %d package(s), %d NUMA node(s), %d core(s), %d PU(s), %.1f GiB (hwloc %s)\n",
              node["host"].get<std::string>().c_str(), node["packages"].get<int>(), node["numa_nodes"].get<int>(),
              node["cores"].get<int>(), node["pus"].get<int>(), node["memory_gib"].get<double>(),
              node["hwloc_version"].get<std::string>().c_str());
  if (node["devices"].empty()) std::printf("  GPUs/coprocessors: none found\n");
  for (const auto& d : node["devices"])
    std::printf("  %s: %s %s [%s] near NUMA domain %d\n", d["kind"].get<std::string>().c_str(),
                d["vendor"].get<std::string>().c_str(), d["model"].get<std::string>().c_str(),
                d["pci_bus_id"].get<std::string>().c_str(), d["numa_domain"].get<int>());
  std::string spaces;
  for (const auto& s : j["kokkos"]["enabled_spaces"]) spaces += (spaces.empty() ? "" : ", ") + s.get<std::string>();
  std::printf("Kokkos %s: %s\n", j["kokkos"]["version"].get<std::string>().c_str(), spaces.c_str());
  std::printf("MPI %s (thread level %s): %s\n", j["mpi"]["standard"].get<std::string>().c_str(),
              j["mpi"]["thread_level"].get<std::string>().c_str(), j["mpi"]["library"].get<std::string>().c_str());
  std::printf("HDF5 %s (%s)\n", j["hdf5"]["version"].get<std::string>().c_str(),
              j["hdf5"]["parallel"].get<bool>() ? "parallel" : "serial");
  const auto& p = j["profile"];
  std::printf("\nprofile %s (%s)\n", p["name"].get<std::string>().c_str(), p["source"].get<std::string>().c_str());
  for (const auto& m : p["modules"]) {
    const std::string emulates = m["emulates"].get<std::string>();
    std::printf("  module %-10s backend %-6s%s nodes %-5d ranks in this job: %zu\n",
                m["name"].get<std::string>().c_str(), m["backend"].get<std::string>().c_str(),
                emulates.empty() ? "" : fmt::format(" (emulates {})", emulates).c_str(), m["nodes"].get<int>(),
                m["ranks"].size());
  }
  std::printf("\n%-5s %-16s %-10s %-4s %-12s %-17s %-10s %s\n", "rank", "host", "module", "mrk", "component", "rule",
              "cpuset", "gpu");
  for (const auto& r : j["ranks"]) {
    const std::string gpu = r["gpu"].get<std::string>();
    std::printf("%-5d %-16s %-10s %-4d %-12s %-17s %-10s %s\n", r["world_rank"].get<int>(),
                r["host"].get<std::string>().c_str(), r["module"].get<std::string>().c_str(),
                r["module_rank"].get<int>(), r["component"].get<std::string>().c_str(),
                r["rule"].get<std::string>().c_str(), r["cpuset"].get<std::string>().c_str(),
                gpu.empty() ? "-" : gpu.c_str());
  }
  if (!j["ranks"].empty()) std::printf("placement: %s\n", j["ranks"][0]["binding"].get<std::string>().c_str());
}

}  // namespace

int run_info(int& argc, char**& argv, const InfoOptions& options) {
  SessionOptions so;
  so.profile = options.profile;
  Session session(argc, argv, so);
  const auto ranks = session.gather_ranks();
  if (session.world().rank() != 0) return 0;
  const nlohmann::json j = collect(session, ranks);
  if (options.json)
    std::printf("%s\n", j.dump(2).c_str());
  else
    print_text(j);
  std::fflush(stdout);
  return 0;
}

}  // namespace msa::tools
