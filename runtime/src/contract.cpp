#include "msa/contract.hpp"

#include <cstdio>
#include <cstdlib>

namespace msa::detail {

void contract_violation(const char* kind, const char* condition, const char* file, int line) noexcept {
  std::fprintf(stderr, "msa: %s violated: %s (%s:%d)\n", kind, condition, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace msa::detail
