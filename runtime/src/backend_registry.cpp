// The one table of backends. Adding a hardware class: a folder backends/<name>/
// with backend.cpp defining msa::backends::<name>::descriptor(), and one line
// in kBackends below.
#include <fmt/format.h>

#include <Kokkos_Core.hpp>
#include <algorithm>

#include "msa/backend.hpp"
#include "msa/error.hpp"
#include "strings.hpp"

namespace msa {
namespace backends {
namespace host {
const Backend& descriptor();
}
namespace gh200 {
const Backend& descriptor();
}
namespace rhea1 {
const Backend& descriptor();
}
}  // namespace backends

namespace {
using Descriptor = const Backend& (*)();
constexpr Descriptor kBackends[] = {
    &backends::host::descriptor,
    &backends::gh200::descriptor,
    &backends::rhea1::descriptor,
};
}  // namespace

const Backend* find_backend(std::string_view name) {
  for (Descriptor d : kBackends)
    if (d().name == name) return &d();
  return nullptr;
}

const Backend& backend(std::string_view name) {
  if (const Backend* b = find_backend(name)) return *b;
  throw ConfigError(fmt::format("unknown backend '{}'; known backends: {}", name, detail::join(backend_names(), ", ")));
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (Descriptor d : kBackends) names.push_back(d().name);
  return names;
}

std::vector<std::string> kokkos_enabled_spaces() {
  std::vector<std::string> spaces;
#if defined(KOKKOS_ENABLE_CUDA)
  spaces.emplace_back("Cuda");
#endif
#if defined(KOKKOS_ENABLE_HIP)
  spaces.emplace_back("HIP");
#endif
#if defined(KOKKOS_ENABLE_SYCL)
  spaces.emplace_back("SYCL");
#endif
#if defined(KOKKOS_ENABLE_OPENMP)
  spaces.emplace_back("OpenMP");
#endif
#if defined(KOKKOS_ENABLE_THREADS)
  spaces.emplace_back("Threads");
#endif
#if defined(KOKKOS_ENABLE_HPX)
  spaces.emplace_back("HPX");
#endif
#if defined(KOKKOS_ENABLE_SERIAL)
  spaces.emplace_back("Serial");
#endif
  return spaces;
}

std::string kokkos_version() {
  return fmt::format("{}.{}.{}", KOKKOS_VERSION / 10000, KOKKOS_VERSION / 100 % 100, KOKKOS_VERSION % 100);
}

std::string Backend::execution_space() const {
  const auto enabled = kokkos_enabled_spaces();
  for (const auto& s : execution_spaces)
    if (std::find(enabled.begin(), enabled.end(), s) != enabled.end()) return s;
  return enabled.empty() ? std::string("none") : enabled.front();
}

std::string Backend::memory_space() const {
  const std::string exec = execution_space();
  for (std::size_t i = 0; i < execution_spaces.size() && i < memory_spaces.size(); ++i)
    if (execution_spaces[i] == exec) return memory_spaces[i];
  return "HostSpace";
}

}  // namespace msa
