# Every dependency of DESIGN.md's table, found once, as imported targets.
include_guard(GLOBAL)
include(MsaKokkos)

find_package(MPI REQUIRED COMPONENTS C CXX)
msa_find_kokkos()

find_package(PkgConfig REQUIRED)
pkg_check_modules(HWLOC REQUIRED IMPORTED_TARGET hwloc>=2.0)

set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 REQUIRED COMPONENTS C HL)
if(NOT HDF5_IS_PARALLEL)
  message(WARNING "HDF5 ${HDF5_VERSION} found at ${HDF5_INCLUDE_DIRS} is serial; install libhdf5-openmpi-dev for parallel I/O")
endif()

find_package(CLI11 REQUIRED CONFIG)
find_package(tomlplusplus REQUIRED CONFIG)
find_package(nlohmann_json REQUIRED CONFIG)
find_package(fmt REQUIRED CONFIG)

if(MSA_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(MSA_BUILD_APPS)
  find_package(benchmark QUIET CONFIG)
endif()

# Real clients used by tests of later layers (Store, biopipe). Optional here: a
# test that needs one is only registered when it is found.
find_program(MSA_NCDUMP ncdump)
find_library(MSA_PARASAIL_LIBRARY parasail)
find_package(Python3 QUIET COMPONENTS Interpreter)

message(STATUS "Dependencies: MPI ${MPI_C_VERSION} (${MPIEXEC_EXECUTABLE}), Kokkos ${Kokkos_VERSION}, "
               "hwloc ${HWLOC_VERSION}, HDF5 ${HDF5_VERSION} (parallel=${HDF5_IS_PARALLEL}), "
               "CLI11 ${CLI11_VERSION}, toml++ ${tomlplusplus_VERSION}, nlohmann_json ${nlohmann_json_VERSION}, fmt ${fmt_VERSION}")
