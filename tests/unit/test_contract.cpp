// Contracts are checked in debug builds and cost nothing in release builds.
#include <gtest/gtest.h>

#include "msa/comm.hpp"
#include "msa/contract.hpp"

namespace {

TEST(Contract, CheckedOnlyInDebugBuilds) {
  int evaluated = 0;
  MSA_EXPECTS(++evaluated > 0);
  MSA_ASSERT(++evaluated > 0);
#ifdef NDEBUG
  EXPECT_EQ(evaluated, 0) << "release builds must not evaluate contract conditions";
#else
  EXPECT_EQ(evaluated, 2);
#endif
}

#ifndef NDEBUG
TEST(ContractDeathTest, NullCommunicatorIsAPreconditionViolation) {
  GTEST_FLAG_SET(death_test_style, "fast");  // fork only: the child must not re-run main (MPI_Init)
  const msa::Comm none;
  EXPECT_DEATH(static_cast<void>(none.rank()), "precondition violated: m_comm != MPI_COMM_NULL");
}

TEST(ContractDeathTest, ViolationNamesConditionFileAndLine) {
  GTEST_FLAG_SET(death_test_style, "fast");  // fork only: the child must not re-run main (MPI_Init)
  EXPECT_DEATH(MSA_ASSERT(1 + 1 == 3), "assertion violated: 1 \\+ 1 == 3 \\(.*test_contract.cpp:[0-9]+\\)");
}
#endif

}  // namespace
