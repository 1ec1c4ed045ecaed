# Runs a command and checks its outcome. Used as
#   cmake -DCOMMAND=<|-list> -DEXPECT=success|failure [-DMATCH=<regex|...>]
#         [-DMATCH_COUNT=<regex>] [-DCOUNT=<n>] [-DJSON_CHECKS=<file>] -P expect.cmake
# MATCH: every regex must match the combined stdout+stderr.
# MATCH_COUNT/COUNT: the regex must match exactly COUNT times (one per rank, say).
# JSON_CHECKS: a CMake file included with OUTPUT_JSON set to stdout (it parses
# the JSON with string(JSON) and checks values).
# COMMAND and MATCH arrive as '|'-separated lists (see tests/cli/CMakeLists.txt).
string(REPLACE "|" ";" COMMAND "${COMMAND}")
string(REPLACE "|" ";" MATCH "${MATCH}")
# The inner timeout is shorter than ctest's, so a hang is reported as one.
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 90)
string(REPLACE ";" " " shown "${COMMAND}")
set(all "${out}\n${err}")
if(NOT rc MATCHES "^[0-9]+$")
  message(FATAL_ERROR "'${shown}' did not exit normally (${rc}):\n${out}\n${err}")
elseif(EXPECT STREQUAL "success" AND NOT rc EQUAL 0)
  message(FATAL_ERROR "expected success, got exit '${rc}' from: ${shown}\n${all}")
elseif(EXPECT STREQUAL "failure" AND rc EQUAL 0)
  message(FATAL_ERROR "expected a non-zero exit, got 0 from: ${shown}\n${all}")
endif()
foreach(re IN LISTS MATCH)
  if(NOT all MATCHES "${re}")
    message(FATAL_ERROR "output of ${shown} does not match '${re}':\n${all}")
  endif()
endforeach()
if(DEFINED MATCH_COUNT)
  string(REGEX MATCHALL "${MATCH_COUNT}" hits "${all}")
  list(LENGTH hits n)
  if(NOT n EQUAL COUNT)
    message(FATAL_ERROR "'${MATCH_COUNT}' matched ${n} times, expected ${COUNT}, in output of ${shown}:\n${all}")
  endif()
endif()
if(DEFINED EXPECT_CODE AND NOT rc EQUAL EXPECT_CODE)
  message(FATAL_ERROR "expected exit code ${EXPECT_CODE}, got ${rc} from: ${shown}\n${all}")
endif()
# FILE_MATCH: <path>|<regex>: the file exists and its content matches.
if(DEFINED FILE_MATCH)
  string(REPLACE "|" ";" fm "${FILE_MATCH}")
  list(GET fm 0 path)
  list(GET fm 1 re)
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "${shown} did not write ${path}:\n${all}")
  endif()
  file(READ "${path}" content)
  if(NOT content MATCHES "${re}")
    message(FATAL_ERROR "${path} does not match '${re}':\n${content}")
  endif()
endif()
if(DEFINED JSON_CHECKS)
  set(OUTPUT_JSON "${out}")
  include(${JSON_CHECKS})
endif()
message(STATUS "ok: ${shown}")
