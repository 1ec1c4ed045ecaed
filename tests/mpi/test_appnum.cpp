// Launched as `mpiexec -x MSA_APP_MODULES=booster,cluster -np 1 t : -np 2 t`:
// MPI_APPNUM (0 for the first program, 1 for the second) picks the module.
#include <gtest/gtest.h>

#include <vector>

#include "msa/session.hpp"

namespace {

TEST(Appnum, MpmdProgramsLandInTheirModules) {
  int* appnum = nullptr;
  int flag = 0;
  MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_APPNUM, &appnum, &flag);
  ASSERT_TRUE(flag) << "MPI_APPNUM not set";
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  ASSERT_EQ(size, 3) << "launch as: mpiexec -np 1 ... : -np 2 ...";
  std::vector<int> appnums(3);
  MPI_Allgather(appnum, 1, MPI_INT, appnums.data(), 1, MPI_INT, MPI_COMM_WORLD);
  ASSERT_EQ(appnums, (std::vector<int>{0, 1, 1})) << "this test must be launched MPMD (two programs)";
  msa::Session session;
  EXPECT_EQ(session.module_rule(), msa::ModuleRule::appnum);
  EXPECT_EQ(session.module_name(), *appnum == 0 ? "booster" : "cluster");
  EXPECT_EQ(session.module().size(), *appnum == 0 ? 1 : 2);
  EXPECT_EQ(session.module_ranks("booster"), std::vector<int>{0});
  EXPECT_EQ(session.module_ranks("cluster"), (std::vector<int>{1, 2}));
  const auto& bridge = session.bridge(*appnum == 0 ? "cluster" : "booster");
  EXPECT_TRUE(bridge.is_inter());
  EXPECT_EQ(bridge.remote_size(), *appnum == 0 ? 2 : 1);
}

}  // namespace
