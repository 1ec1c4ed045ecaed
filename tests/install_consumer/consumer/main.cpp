#include <cstdio>
#include <msa/msa.hpp>

// Links only msa::runtime: the hdf5 channel engine must still be found (in the
// installed libmsa_io, next to libmsa_runtime) when the channel asks for it.
int main(int argc, char** argv) try {
  msa::Session session(argc, argv);
  if (session.world().rank() == 0) {
    std::printf("consumer: %d ranks, modules", session.world().size());
    for (const auto& m : session.modules()) std::printf(" %s", m.c_str());
    std::printf("\nconsumer: profile %s\n", session.profile().source.c_str());
  }
  const auto d = msa::Decomposition::of({4}, msa::Box::whole({4}));
  auto builder = session.channel("check").engine("hdf5");
  if (session.component_name() == "booster") {
    auto ch = builder.to("cluster").decomposition(d).open<double>();
    Kokkos::View<double*> v("v", 4);
    Kokkos::deep_copy(v, 2.5);
    ch.put(7, 0.5, v);
    ch.close();
  } else {
    auto ch = builder.from("booster").decomposition(d).open<double>();
    auto frame = ch.get();
    if (!frame) throw msa::ChannelError("no frame");
    std::printf("consumer: hdf5 engine step %lld value %g\n", static_cast<long long>(frame->step()), frame->data()(3));
    ch.close();
  }
  return 0;
} catch (const msa::Error& e) {
  std::fprintf(stderr, "consumer: %s\n", e.what());
  return 1;
}
