# msa_add_test(NAME <name> SOURCES <src...> [RANKS <n...>] [TIMEOUT <s>]
#              [LIBRARIES <lib...>] [ENV <VAR=value...>] [LABELS <label...>])
#
# Builds one GoogleTest executable from SOURCES (with the shared MPI-aware main
# in tests/support) and registers one ctest per rank count, named <name>.np<n>,
# run through mpiexec. Every test gets a TIMEOUT (default 60 s) so that a
# deadlock fails instead of hanging, and PROCESSORS so that ctest -j does not
# oversubscribe on its own. Open MPI's root and oversubscribe switches are added
# only when they are needed: when running as root, and when <n> exceeds the
# cores of this machine.
include_guard(GLOBAL)

execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE _msa_mpiexec_version ERROR_QUIET)
set(MSA_MPIEXEC_IS_OPENMPI OFF)
if(_msa_mpiexec_version MATCHES "Open MPI|OpenRTE")
  set(MSA_MPIEXEC_IS_OPENMPI ON)
endif()
# Open MPI counts physical cores as slots.
cmake_host_system_information(RESULT MSA_HOST_CORES QUERY NUMBER_OF_PHYSICAL_CORES)
execute_process(COMMAND id -u OUTPUT_VARIABLE _msa_uid OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
set(MSA_RUNNING_AS_ROOT OFF)
if(_msa_uid STREQUAL "0")
  set(MSA_RUNNING_AS_ROOT ON)
endif()

# The environment every MPI test needs on this machine (root switches for Open MPI).
set(MSA_TEST_MPI_ENV "")
if(MSA_MPIEXEC_IS_OPENMPI AND MSA_RUNNING_AS_ROOT)
  list(APPEND MSA_TEST_MPI_ENV OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
endif()
if(MSA_MPIEXEC_IS_OPENMPI)
  # Loopback-only runs in containers: keep Open MPI off interfaces it cannot use.
  list(APPEND MSA_TEST_MPI_ENV OMPI_MCA_btl=self,vader,tcp)
endif()
if(MSA_SANITIZE)
  # Open MPI unloads its components at finalize, which leaves their leak
  # reports without symbols; keep them loaded so the suppressions can match,
  # and unwind slowly because those libraries have no frame pointers.
  # intercept_tls_get_addr=0: with it, GCC 12's LeakSanitizer on Debian 12
  # recorded a bogus dynamic-TLS block ("DTLS 7 at 0x3d9f-0x400004ea1" with
  # LSAN_OPTIONS=verbosity=1) and its tracer crashed scanning it at exit
  # ("Tracer caught signal 11: addr=0x3da0"), in test_channel at 8 ranks in
  # every run of some versions of that test. Leaks are still detected; only blocks of
  # dlopen()ed libraries' thread-local storage are no longer scanned as roots.
  list(APPEND MSA_TEST_MPI_ENV
    OMPI_MCA_mca_base_component_disable_dlclose=1
    "ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:detect_odr_violation=0:intercept_tls_get_addr=0"
    "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/cmake/lsan.supp:print_suppressions=0"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()

# msa_oversubscribe_flags(<out-var> <total-ranks>): Open MPI's --oversubscribe
# when <total-ranks> exceeds this machine's cores, nothing otherwise.
function(msa_oversubscribe_flags out total)
  set(flags "")
  if(MSA_MPIEXEC_IS_OPENMPI AND total GREATER MSA_HOST_CORES)
    set(flags --oversubscribe)
  endif()
  set(${out} ${flags} PARENT_SCOPE)
endfunction()

# msa_mpiexec_command(<out-var> <ranks> <command...>): the mpiexec line for <ranks>.
function(msa_mpiexec_command out ranks)
  msa_oversubscribe_flags(over ${ranks})
  set(cmd ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${ranks} ${over})
  list(APPEND cmd ${MPIEXEC_PREFLAGS} ${ARGN} ${MPIEXEC_POSTFLAGS})
  set(${out} ${cmd} PARENT_SCOPE)
endfunction()

function(msa_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;RANKS;LIBRARIES;ENV;LABELS" ${ARGN})
  if(NOT T_NAME OR NOT T_SOURCES)
    message(FATAL_ERROR "msa_add_test: NAME and SOURCES are required")
  endif()
  if(NOT T_RANKS)
    set(T_RANKS 1)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE msa_test_main msa::runtime GTest::gtest ${T_LIBRARIES} msa_warnings)
  foreach(n IN LISTS T_RANKS)
    msa_mpiexec_command(cmd ${n} $<TARGET_FILE:${T_NAME}>)
    add_test(NAME ${T_NAME}.np${n} COMMAND ${cmd})
    set_tests_properties(${T_NAME}.np${n} PROPERTIES
      TIMEOUT ${T_TIMEOUT} PROCESSORS ${n}
      ENVIRONMENT "${MSA_TEST_MPI_ENV};${T_ENV}"
      LABELS "${T_LABELS}")
  endforeach()
endfunction()
