#include <cstdio>
#include <msa/msa.hpp>

int main(int argc, char** argv) try {
  msa::Session session(argc, argv);
  if (session.world().rank() == 0) {
    std::printf("consumer: %d ranks, modules", session.world().size());
    for (const auto& m : session.modules()) std::printf(" %s", m.c_str());
    std::printf("\nconsumer: profile %s\n", session.profile().source.c_str());
  }
  return 0;
} catch (const msa::Error& e) {
  std::fprintf(stderr, "consumer: %s\n", e.what());
  return 1;
}
