#pragma once
/// Contracts: MSA_EXPECTS (preconditions) and MSA_ASSERT (invariants).
/// Checked in debug builds (NDEBUG not defined) and compiled out in release,
/// where they cost nothing. A violated contract is a bug in the caller or in
/// msa, so it aborts with the condition, file and line rather than throwing.

namespace msa::detail {
[[noreturn]] void contract_violation(const char* kind, const char* condition, const char* file, int line) noexcept;
}  // namespace msa::detail

#ifdef NDEBUG
#define MSA_EXPECTS(cond) static_cast<void>(0)
#define MSA_ASSERT(cond) static_cast<void>(0)
#else
#define MSA_EXPECTS(cond) \
  ((cond) ? static_cast<void>(0) : ::msa::detail::contract_violation("precondition", #cond, __FILE__, __LINE__))
#define MSA_ASSERT(cond) \
  ((cond) ? static_cast<void>(0) : ::msa::detail::contract_violation("assertion", #cond, __FILE__, __LINE__))
#endif
