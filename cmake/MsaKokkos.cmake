# Find Kokkos and repair the target Debian ships.
#
# Debian's libtrilinos-kokkos-dev (Kokkos 3.4.1 inside Trilinos 13) defines
# Kokkos::kokkos with INTERFACE_INCLUDE_DIRECTORIES "<prefix>/include", computed
# one directory too high (/usr/lib/include), while the headers live in
# Kokkos_INCLUDE_DIRS (/usr/include/trilinos). Point the target at the directory
# the package itself reports. A standalone Kokkos 4.x install is left untouched.
# This file is installed with msa so that find_package(msa) repairs it too.
include_guard(GLOBAL)
include(CMakeFindDependencyMacro)

macro(msa_find_kokkos)
  if(NOT TARGET Kokkos::kokkos)
    find_package(Kokkos REQUIRED ${ARGN})
  endif()
  get_target_property(_msa_kokkos_inc Kokkos::kokkos INTERFACE_INCLUDE_DIRECTORIES)
  if(NOT _msa_kokkos_inc)  # Kokkos 4 puts its include directories on the targets it links
    set(_msa_kokkos_inc "")
  endif()
  set(_msa_kokkos_broken OFF)
  foreach(_dir IN LISTS _msa_kokkos_inc)
    if(NOT _dir MATCHES "^\\$<" AND NOT EXISTS "${_dir}/Kokkos_Core.hpp")
      set(_msa_kokkos_broken ON)
    endif()
  endforeach()
  if(_msa_kokkos_broken)
    if(NOT Kokkos_INCLUDE_DIRS OR NOT EXISTS "${Kokkos_INCLUDE_DIRS}/Kokkos_Core.hpp")
      message(FATAL_ERROR "Kokkos::kokkos points at '${_msa_kokkos_inc}' which has no Kokkos_Core.hpp, "
                          "and Kokkos_INCLUDE_DIRS ('${Kokkos_INCLUDE_DIRS}') does not help either.")
    endif()
    get_filename_component(_msa_kokkos_fixed "${Kokkos_INCLUDE_DIRS}" REALPATH)
    set_target_properties(Kokkos::kokkos PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_msa_kokkos_fixed}")
    if(NOT MSA_KOKKOS_REPAIR_REPORTED)
      message(STATUS "Kokkos: repaired Kokkos::kokkos include directory -> ${_msa_kokkos_fixed}")
      set(MSA_KOKKOS_REPAIR_REPORTED ON CACHE INTERNAL "")
    endif()
  endif()
  unset(_msa_kokkos_inc)
  unset(_msa_kokkos_broken)
endmacro()
