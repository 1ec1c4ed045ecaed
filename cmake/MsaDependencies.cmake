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

# Real clients the tests run on our output (netCDF's ncdump, xarray): required
# with the tests, so their checks always run (scripts/install-deps has them).
# The scheduler's journal checksums (crc32); biopipe reads gzip FASTA/FASTQ.
find_package(ZLIB REQUIRED)
if(MSA_BUILD_TESTS)
  # The reference aligner biopipe's Smith-Waterman scores are checked against.
  pkg_check_modules(PARASAIL IMPORTED_TARGET parasail-1)
  if(NOT PARASAIL_FOUND)
    message(FATAL_ERROR "the tests need parasail (Debian: libparasail-dev); run scripts/install-deps")
  endif()
  find_program(MSA_NCDUMP ncdump)
  if(NOT MSA_NCDUMP)
    message(FATAL_ERROR "the tests need ncdump (Debian: netcdf-bin); run scripts/install-deps")
  endif()
  # Debian's Python modules live with /usr/bin/python3; another python3 may
  # come first in PATH, so take the first interpreter that imports them.
  find_package(Python3 QUIET COMPONENTS Interpreter)
  set(MSA_PYTHON_XARRAY "")
  foreach(candidate IN ITEMS ${Python3_EXECUTABLE} /usr/bin/python3)
    execute_process(COMMAND ${candidate} -c "import xarray, netCDF4" RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
    if(_rc EQUAL 0)
      set(MSA_PYTHON_XARRAY ${candidate})
      break()
    endif()
  endforeach()
  if(NOT MSA_PYTHON_XARRAY)
    message(FATAL_ERROR "the tests need a Python 3 that imports xarray and netCDF4 "
                        "(Debian: python3-xarray python3-netcdf4); run scripts/install-deps")
  endif()
endif()

message(STATUS "Dependencies: MPI ${MPI_C_VERSION} (${MPIEXEC_EXECUTABLE}), Kokkos ${Kokkos_VERSION}, "
               "hwloc ${HWLOC_VERSION}, HDF5 ${HDF5_VERSION} (parallel=${HDF5_IS_PARALLEL}), "
               "CLI11 ${CLI11_VERSION}, toml++ ${tomlplusplus_VERSION}, nlohmann_json ${nlohmann_json_VERSION}, fmt ${fmt_VERSION}")
