// The hdf5 channel engine, chosen at run time. This program links only
// msa::runtime: the engine is loaded from libmsa_io on first use.
//  - Hdf5Channel.*: producer and consumer in one job (2 -> 3 ranks).
//  - LaterRun.Produce, then LaterRun.Consume in another mpiexec with another
//    rank count: the consumer reads what an earlier run wrote.
#include <gtest/gtest.h>

#include <cstdlib>

#include "env_guard.hpp"
#include "error_message.hpp"
#include "io_test_util.hpp"
#include "msa/channel.hpp"
#include "msa/session.hpp"

namespace {

using msa::Box;
using msa::Decomposition;

const std::vector<int64_t> kGlobal{6, 10};

double value(int64_t i, int64_t j, int64_t step) { return 1000.0 * static_cast<double>(step) + 10.0 * i + j; }

template <class F>
std::string channel_error(F&& f) {
  return msa::test::error_message<msa::ChannelError>(std::forward<F>(f));
}

// Producer ranks split rows and write from LayoutLeft views.
void produce(msa::Channel<double>& ch, const Box& box, int steps) {
  for (int64_t s = 0; s < steps; ++s) {
    Kokkos::View<double**, Kokkos::LayoutLeft, Kokkos::HostSpace> u("u", box.count[0], box.count[1]);
    for (int64_t i = 0; i < box.count[0]; ++i)
      for (int64_t j = 0; j < box.count[1]; ++j) u(i, j) = value(box.start[0] + i, box.start[1] + j, s);
    ch.put(10 * s, 0.5 * static_cast<double>(s), u, {{"label", std::string("step ") + std::to_string(s)}});
  }
  ch.close();
}

// Consumer ranks split columns; returns the number of frames, checks each.
int consume(msa::Channel<double>& ch, const Box& box) {
  int frames = 0;
  while (auto f = ch.get()) {
    const int64_t s = frames;
    EXPECT_EQ(f->step(), 10 * s);
    EXPECT_EQ(f->time(), 0.5 * static_cast<double>(s));
    EXPECT_EQ(std::get<std::string>(f->attributes().at("label")), "step " + std::to_string(s));
    Kokkos::View<double**, Kokkos::LayoutLeft, Kokkos::HostSpace> v("v", box.count[0], box.count[1]);
    f->copy_to(v);
    int64_t wrong = 0;
    for (int64_t i = 0; i < box.count[0]; ++i)
      for (int64_t j = 0; j < box.count[1]; ++j) wrong += v(i, j) != value(box.start[0] + i, box.start[1] + j, s);
    EXPECT_EQ(wrong, 0) << "step " << s;
    ++frames;
  }
  EXPECT_FALSE(ch.get().has_value());  // stays at the end
  return frames;
}

TEST(Hdf5Channel, ProducerAndConsumerInOneJob) {
  msa::test::ScratchDir dir(MPI_COMM_WORLD, "hdf5ch");
  msa::test::EnvGuard env;
  env.set("MSA_LAYOUT", "booster:2,cluster:3");
  msa::Session session;
  const bool producer = session.component_name() == "booster";
  const int rank = session.component().rank(), size = session.component().size();
  const Box box = msa::block_along(kGlobal, producer ? 0 : 1, size, rank);
  auto b = session.channel("fields").engine("hdf5").directory(dir.path().string());
  if (producer) {
    auto ch = b.to("cluster").decomposition(Decomposition::of(kGlobal, box)).open<double>();
    produce(ch, box, 4);
    EXPECT_EQ(ch.stats().steps_sent, 4);
    EXPECT_EQ(ch.stats().bytes_sent, box.volume() * 8 * 4);
  } else {
    auto ch = b.from("booster").decomposition(Decomposition::of(kGlobal, box)).open<double>();
    EXPECT_EQ(consume(ch, box), 4);
    EXPECT_EQ(ch.stats().steps_received, 4);
    ch.close();
  }
}

TEST(Hdf5Channel, ShapeMismatchFailsOnBothSides) {
  msa::test::ScratchDir dir(MPI_COMM_WORLD, "hdf5ch");
  msa::test::EnvGuard env;
  env.set("MSA_LAYOUT", "booster:2,cluster:3");
  msa::Session session;
  const bool producer = session.component_name() == "booster";
  const std::vector<int64_t> shape = producer ? kGlobal : std::vector<int64_t>{6, 11};
  const Box box = msa::block_along(shape, 0, session.component().size(), session.component().rank());
  auto b = session.channel("fields").engine("hdf5").directory(dir.path().string());
  if (producer)
    b.to("cluster");
  else
    b.from("booster");
  const auto error = channel_error([&] { b.decomposition(Decomposition::of(shape, box)).open<double>(); });
  EXPECT_NE(error.find("global shapes differ"), std::string::npos) << error;
  EXPECT_NE(error.find("double[6, 10]"), std::string::npos) << error;
  EXPECT_NE(error.find("double[6, 11]"), std::string::npos) << error;
}

TEST(Hdf5Channel, NoStreamIsAnErrorAfterTheOpenTimeout) {
  msa::test::ScratchDir dir(MPI_COMM_WORLD, "hdf5ch");
  msa::Session session;  // one component: the producer is not in this job
  const Box box = msa::block_along(kGlobal, 0, session.component().size(), session.component().rank());
  const auto error = channel_error([&] {
    session.channel("fields")
        .engine("hdf5")
        .directory(dir.path().string())
        .open_timeout(1)
        .from("model")
        .decomposition(Decomposition::of(kGlobal, box))
        .open<double>();
  });
  EXPECT_NE(error.find("channel 'fields': no stream in '" + dir.path().string() + "/fields' after 1 s"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("producer 'model' has not opened it"), std::string::npos) << error;
}

// The engine and directory come from MSA_CHANNEL_STAGE_ENGINE and
// MSA_CHANNEL_STAGE_DIRECTORY (set by ctest), not from the code.
TEST(LaterRun, Produce) {
  msa::Session session;
  const Box box = msa::block_along(kGlobal, 0, session.component().size(), session.component().rank());
  auto ch = session.channel("stage").to("analysis").decomposition(Decomposition::of(kGlobal, box)).open<double>();
  produce(ch, box, 5);
}

TEST(LaterRun, Consume) {
  msa::Session session;
  const Box box = msa::block_along(kGlobal, 1, session.component().size(), session.component().rank());
  auto ch = session.channel("stage")
                .from("model")
                .peer_timeout(5)
                .decomposition(Decomposition::of(kGlobal, box))
                .open<double>();
  EXPECT_EQ(consume(ch, box), 5);
}

}  // namespace
