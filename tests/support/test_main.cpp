// The one main of every msa test executable: initialises MPI and Kokkos once
// (so Sessions created by tests find them initialised and leave them alone),
// silences GoogleTest's output on ranks other than 0, and fails on every rank
// when any rank failed.
#include <gtest/gtest.h>
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cstdio>

#include "msa/detail/kokkos_compat.hpp"

namespace {
// On ranks other than 0 the usual printer is silenced; failures still show,
// one line each, prefixed with the rank.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : m_rank(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: failure\n%s\n", m_rank, result.file_name() ? result.file_name() : "?",
                 result.line_number(), result.summary());
  }

 private:
  int m_rank;
};
}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  msa::detail::kokkos_initialize(1, -1);
  ::testing::InitGoogleTest(&argc, argv);

  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(rank));
  }

  const int local = RUN_ALL_TESTS();
  int failed_ranks = 0;
  const int failed = local != 0 ? 1 : 0;
  MPI_Allreduce(&failed, &failed_ranks, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (local != 0 && rank != 0) std::fprintf(stderr, "rank %d: tests failed on this rank\n", rank);
  if (rank == 0 && failed_ranks > 0) std::fprintf(stderr, "%d rank(s) had failures\n", failed_ranks);

  Kokkos::finalize();
  MPI_Finalize();
  return failed_ranks > 0 ? 1 : 0;
}
