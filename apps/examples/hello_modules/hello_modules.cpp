// hello_modules: each rank says where it runs, sums over its module, and
// swaps sums with every other module over the bridge.
//   mpirun -np 3 -x MSA_LAYOUT=booster:2,cluster:1 hello_modules
#include <cstdio>
#include <msa/msa.hpp>
#include <numeric>

int main(int argc, char** argv) try {
  msa::Session s(argc, argv);
  long rank = s.world().rank(), sum = 0, bad = 0, bad_total = 0;
  msa::check_mpi(MPI_Allreduce(&rank, &sum, 1, MPI_LONG, MPI_SUM, s.module()), "hello: module allreduce");
  std::printf("rank %ld: module %s, rank %d of %d (decided by %s), cpuset %s, module sum %ld\n", rank,
              s.module_name().c_str(), s.module().rank(), s.module().size(), msa::to_string(s.module_rule()).data(),
              s.topology().current_binding().to_string().c_str(), sum);
  for (const auto& other : s.modules()) {  // over a bridge, allreduce returns the *other* module's sum
    if (other == s.module_name()) continue;
    long remote = 0;
    msa::check_mpi(MPI_Allreduce(&rank, &remote, 1, MPI_LONG, MPI_SUM, s.bridge(other)), "hello: bridge");
    const auto ranks = s.module_ranks(other);
    bad += remote != std::accumulate(ranks.begin(), ranks.end(), 0L);
  }
  msa::check_mpi(MPI_Reduce(&bad, &bad_total, 1, MPI_LONG, MPI_SUM, 0, s.world()), "hello: check");
  if (rank == 0) {
    std::printf("%d ranks in %zu module(s) of profile %s:", s.world().size(), s.modules().size(),
                s.profile().name.c_str());
    for (const auto& m : s.modules()) std::printf(" %s=%zu", m.c_str(), s.module_ranks(m).size());
    std::printf("\nbridge exchange: %s; placement: %s\n", bad_total ? "WRONG" : "ok", s.binding_report().c_str());
  }
  return bad_total ? 2 : 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "hello_modules: error: %s\n", e.what());
  return 1;
}
