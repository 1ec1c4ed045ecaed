// Finds the hdf5 engine in libmsa_io. The runtime does not link the Store, so
// a program that only links msa::runtime can still pick engine = "hdf5" at run
// time: the library is loaded from next to libmsa_runtime (installed tree),
// from the build tree, or from the loader's search path.
#include <dlfcn.h>
#include <fmt/format.h>

#include <filesystem>

#include "engine.hpp"
#include "strings.hpp"

namespace msa::detail {

namespace {

Hdf5EngineMaker find_maker(std::string& tried) {
  if (void* sym = dlsym(RTLD_DEFAULT, kHdf5EngineSymbol)) return reinterpret_cast<Hdf5EngineMaker>(sym);
  std::vector<std::string> candidates;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&make_hdf5_engine), &info) && info.dli_fname) {
    const std::filesystem::path here = std::filesystem::path(info.dli_fname).parent_path();
    candidates.push_back((here / MSA_IO_SONAME).string());
    candidates.push_back((here.parent_path() / "io" / MSA_IO_SONAME).string());  // build tree
  }
  candidates.emplace_back(MSA_IO_SONAME);
  for (const auto& c : candidates) {
    if (void* handle = dlopen(c.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
      if (void* sym = dlsym(handle, kHdf5EngineSymbol)) return reinterpret_cast<Hdf5EngineMaker>(sym);
    } else {
      tried += fmt::format("\n  {}: {}", c, dlerror());
    }
  }
  return nullptr;
}

}  // namespace

std::unique_ptr<Engine> make_hdf5_engine(const ChannelPlan& plan) {
  static std::string tried;
  static const Hdf5EngineMaker maker = find_maker(tried);
  if (!maker)
    throw ChannelError(
        fmt::format("channel '{}': engine 'hdf5' is in libmsa_io, which could not be loaded:{}", plan.name, tried));
  return std::unique_ptr<Engine>(maker(plan));
}

}  // namespace msa::detail
