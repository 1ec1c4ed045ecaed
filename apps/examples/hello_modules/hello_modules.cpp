// hello_modules: every rank says where it runs, sums over its module, and
// swaps a value with each other module over the bridge.
//   mpirun -np 3 -x MSA_LAYOUT=booster:2,cluster:1 hello_modules
#include <cstdio>
#include <msa/msa.hpp>
#include <numeric>

int main(int argc, char** argv) try {
  msa::Session session(argc, argv);
  const int rank = session.world().rank();

  // Allreduce on the module: the sum of my module's world ranks.
  long mine = rank, module_sum = 0;
  msa::check_mpi(MPI_Allreduce(&mine, &module_sum, 1, MPI_LONG, MPI_SUM, session.module()), "hello: module sum");
  std::printf("rank %d: module %s, rank %d of %d (decided by %s), cpuset %s, module sum %ld\n", rank,
              session.module_name().c_str(), session.module().rank(), session.module().size(),
              std::string(msa::to_string(session.module_rule())).c_str(),
              session.topology().current_binding().to_string().c_str(), module_sum);

  // Over a bridge, an allreduce returns the *other* module's sum.
  int wrong = 0;
  for (const auto& other : session.modules()) {
    if (other == session.module_name()) continue;
    long remote_sum = 0;
    msa::check_mpi(MPI_Allreduce(&mine, &remote_sum, 1, MPI_LONG, MPI_SUM, session.bridge(other)), "hello: bridge");
    const auto ranks = session.module_ranks(other);
    if (remote_sum != std::accumulate(ranks.begin(), ranks.end(), 0L)) ++wrong;
  }
  int wrong_total = 0;
  msa::check_mpi(MPI_Reduce(&wrong, &wrong_total, 1, MPI_INT, MPI_SUM, 0, session.world()), "hello: check");

  if (rank == 0) {
    std::printf("%d ranks in %zu module(s) of profile %s:", session.world().size(), session.modules().size(),
                session.profile().name.c_str());
    for (const auto& m : session.modules()) std::printf(" %s=%zu", m.c_str(), session.module_ranks(m).size());
    std::printf("\nbridge exchange: %s; placement: %s\n", wrong_total ? "WRONG VALUES" : "ok",
                session.binding_report().c_str());
  }
  return wrong_total ? 2 : 0;
} catch (const msa::Error& e) {
  std::fprintf(stderr, "hello_modules: error: %s\n", e.what());
  return 1;
}
