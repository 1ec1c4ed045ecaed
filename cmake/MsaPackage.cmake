# Installable package: find_package(msa) gives msa::runtime and msa::io.
include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

set(MSA_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/msa)
install(EXPORT msaTargets NAMESPACE msa:: DESTINATION ${MSA_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/msaConfig.cmake.in
  ${PROJECT_BINARY_DIR}/msaConfig.cmake INSTALL_DESTINATION ${MSA_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/msaConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/msaConfig.cmake ${PROJECT_BINARY_DIR}/msaConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/MsaKokkos.cmake DESTINATION ${MSA_INSTALL_CMAKEDIR})
