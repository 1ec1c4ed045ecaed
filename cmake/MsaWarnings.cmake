# Warnings and sanitizers as INTERFACE targets, linked PRIVATE by the project's
# own targets so they never leak into consumers.
include_guard(GLOBAL)

add_library(msa_warnings INTERFACE)
target_compile_options(msa_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual>
  $<$<AND:$<BOOL:${MSA_WARNINGS_AS_ERRORS}>,$<CXX_COMPILER_ID:GNU,Clang>>:-Werror>)

if(MSA_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
