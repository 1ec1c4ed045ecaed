// Channels between two components of one job: booster (producer) and
// cluster (consumer), split by MSA_LAYOUT in the ways the world size allows:
// 1->1 at 2 ranks, 4->2 and 2->4 at 6, 3->5 and 5->3 at 8 (oversubscribed).
#include <gtest/gtest.h>

#include <chrono>
#include <numeric>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

#include "env_guard.hpp"
#include "msa/channel.hpp"
#include "msa/session.hpp"
#include "world.hpp"

namespace {

using msa::test::world_rank;
using msa::test::world_size;

struct Split {
  int producers, consumers;
};
std::vector<Split> splits() {
  switch (world_size()) {
    case 2:
      return {{1, 1}};
    case 6:
      return {{4, 2}, {2, 4}};
    case 8:
      return {{3, 5}, {5, 3}};
    default:
      return {{1, world_size() - 1}};
  }
}

// A Session whose booster ranks produce and whose cluster ranks consume.
struct Job {
  msa::test::EnvGuard env;
  std::unique_ptr<msa::Session> session;
  bool producer = false;
  int rank = 0, size = 0;  // in my component
  explicit Job(Split s) {
    env.set("MSA_LAYOUT", "booster:" + std::to_string(s.producers) + ",cluster:" + std::to_string(s.consumers));
    session = std::make_unique<msa::Session>();
    producer = session->component_name() == "booster";
    rank = session->component().rank();
    size = session->component().size();
  }
  msa::ChannelBuilder channel(const std::string& name) const {
    auto b = session->channel(name);
    if (producer)
      b.to("cluster");
    else
      b.from("booster");
    return b;
  }
};

// Producers split along dimension 0, consumers along the last one, so every
// test redistributes for real.
msa::Decomposition decomposition(const Job& job, const std::vector<int64_t>& global) {
  const int dim = job.producer ? 0 : static_cast<int>(global.size()) - 1;
  return msa::Decomposition::of(global, msa::block_along(global, dim, job.size, job.rank));
}

// The value at a global index for a step: unique per element and step.
template <class T>
T value_at(const std::array<int64_t, 4>& g, const std::vector<int64_t>& global, int64_t step) {
  int64_t linear = 0;
  for (std::size_t d = 0; d < global.size(); ++d) linear = linear * global[d] + g[d];
  if constexpr (std::is_same_v<T, uint8_t>)
    return static_cast<T>((linear * 7 + step * 13) % 251);
  else
    return static_cast<T>(linear + 100000 * step);
}

// Visits every index of `box`: f(local index, global index).
template <class F>
void for_each_index(const msa::Box& box, F&& f) {
  const int64_t n = box.volume();
  for (int64_t k = 0; k < n; ++k) {
    std::array<int64_t, 4> local{}, global{};
    int64_t r = k;
    for (int d = box.ndims - 1; d >= 0; --d) {
      const auto i = static_cast<std::size_t>(d);
      local[i] = r % box.count[i];
      r /= box.count[i];
      global[i] = box.start[i] + local[i];
    }
    f(local, global);
  }
}

template <class View>
auto& at(const View& v, const std::array<int64_t, 4>& i) {
  if constexpr (View::rank == 1)
    return v(i[0]);
  else if constexpr (View::rank == 2)
    return v(i[0], i[1]);
  else if constexpr (View::rank == 3)
    return v(i[0], i[1], i[2]);
  else
    return v(i[0], i[1], i[2], i[3]);
}

template <class T, int N>
struct ViewOf;
template <class T>
struct ViewOf<T, 1> {
  using type = T*;
};
template <class T>
struct ViewOf<T, 2> {
  using type = T**;
};
template <class T>
struct ViewOf<T, 3> {
  using type = T***;
};
template <class T>
struct ViewOf<T, 4> {
  using type = T****;
};

template <class T, int N, class Layout>
Kokkos::View<typename ViewOf<T, N>::type, Layout> make_view(const msa::Box& box) {
  auto n = [&](int d) {
    return d < N ? static_cast<std::size_t>(box.count[static_cast<std::size_t>(d)]) : KOKKOS_INVALID_INDEX;
  };
  if constexpr (N == 1)
    return Kokkos::View<T*, Layout>("v", n(0));
  else if constexpr (N == 2)
    return Kokkos::View<T**, Layout>("v", n(0), n(1));
  else if constexpr (N == 3)
    return Kokkos::View<T***, Layout>("v", n(0), n(1), n(2));
  else
    return Kokkos::View<T****, Layout>("v", n(0), n(1), n(2), n(3));
}

// Streams `steps` steps of `global` from a LayoutLeft view to consumers that
// read both the frame's own view and a LayoutRight copy; every element checked.
template <class T, int N>
void stream_and_check(const std::string& name, const std::vector<int64_t>& global, int steps) {
  for (const Split s : splits()) {
    Job job(s);
    const auto d = decomposition(job, global);
    auto ch = job.channel(name).decomposition(d).template open<T>();
    if (job.producer) {
      auto v = make_view<T, N, Kokkos::LayoutLeft>(d.box);
      for (int step = 0; step < steps; ++step) {
        for_each_index(d.box, [&](auto l, auto g) { at(v, l) = value_at<T>(g, global, step); });
        ch.put(step, 0.5 * step, v, {{"step_name", "s" + std::to_string(step)}, {"dt", 0.5}});
      }
      ch.close();
      EXPECT_EQ(ch.stats().steps_sent, steps);
      EXPECT_EQ(ch.stats().steps_dropped, 0);
    } else {
      int seen = 0;
      while (auto frame = ch.get()) {
        EXPECT_EQ(frame->step(), seen);
        EXPECT_DOUBLE_EQ(frame->time(), 0.5 * seen);
        EXPECT_EQ(std::get<std::string>(frame->attributes().at("step_name")), "s" + std::to_string(seen));
        EXPECT_EQ(frame->box(), d.box);
        const auto fv = frame->template view<N>();
        auto right = make_view<T, N, Kokkos::LayoutRight>(d.box);
        frame->copy_to(right);
        int64_t wrong = 0;
        for_each_index(d.box, [&](auto l, auto g) {
          const T expected = value_at<T>(g, global, frame->step());
          wrong += at(fv, l) != expected;
          wrong += at(right, l) != expected;
        });
        EXPECT_EQ(wrong, 0) << name << " step " << frame->step() << " split " << s.producers << "->" << s.consumers;
        ++seen;
      }
      EXPECT_EQ(seen, steps);
      EXPECT_FALSE(ch.get().has_value()) << "end of stream stays the end";
      ch.close();
      EXPECT_EQ(ch.stats().steps_received, steps);
    }
  }
}

TEST(Channel, OneDimensionalDoubles) { stream_and_check<double, 1>("d1", {97}, 3); }
TEST(Channel, TwoDimensionalFloats) { stream_and_check<float, 2>("d2", {13, 17}, 3); }
TEST(Channel, ThreeDimensionalInt32) { stream_and_check<int32_t, 3>("d3", {6, 5, 11}, 2); }
TEST(Channel, FourDimensionalInt64) { stream_and_check<int64_t, 4>("d4", {5, 3, 4, 9}, 2); }
TEST(Channel, Uint8) { stream_and_check<uint8_t, 2>("u8", {8, 31}, 2); }

TEST(Channel, ZeroCopyLargeSteps) {
  // Steps above the split size go as their own message, from the view itself.
  const std::vector<int64_t> global = {4, 40000};  // 1.28 MB of doubles
  for (const Split s : splits()) {
    Job job(s);
    const auto d = msa::Decomposition::of(global, msa::block_along(global, 0, job.size, job.rank));
    auto ch = job.channel("zero-copy").decomposition(d).zero_copy().open<double>();
    if (job.producer) {
      Kokkos::View<double**, Kokkos::LayoutRight> v("v", static_cast<std::size_t>(d.box.count[0]), 40000);
      for (int step = 0; step < 4; ++step) {
        for_each_index(d.box, [&](auto l, auto g) { v(l[0], l[1]) = value_at<double>(g, global, step); });
        ch.put(step, step, v);
      }
      ch.close();
    } else {
      int seen = 0;
      while (auto f = ch.get()) {
        const auto fv = f->view<2>();
        int64_t wrong = 0;
        for_each_index(d.box,
                       [&](auto l, auto g) { wrong += fv(l[0], l[1]) != value_at<double>(g, global, f->step()); });
        EXPECT_EQ(wrong, 0) << "step " << f->step();
        ++seen;
      }
      EXPECT_EQ(seen, 4);
      ch.close();
    }
  }
}

// Streams `steps` 2-d steps through channel `name` with decomposition `d`;
// the consumer holds each frame until it has the next and checks both.
// Returns the channel's stats.
msa::ChannelStats stream_holding_frames(const Job& job, const std::string& name, const std::vector<int64_t>& global,
                                        const msa::Decomposition& d, int steps) {
  auto ch = job.channel(name).decomposition(d).open<double>();
  auto check = [&](const msa::Frame<double>& f) {
    const auto fv = f.view<2>();
    int64_t wrong = 0;
    for_each_index(d.box, [&](auto l, auto g) { wrong += fv(l[0], l[1]) != value_at<double>(g, global, f.step()); });
    return wrong;
  };
  if (job.producer) {
    auto v = make_view<double, 2, Kokkos::LayoutRight>(d.box);
    for (int step = 0; step < steps; ++step) {
      for_each_index(d.box, [&](auto l, auto g) { v(l[0], l[1]) = value_at<double>(g, global, step); });
      ch.put(step, 0, v);
    }
    ch.close();
  } else {
    std::optional<msa::Frame<double>> held;
    int seen = 0;
    while (auto f = ch.get()) {
      EXPECT_EQ(f->step(), seen);
      EXPECT_EQ(check(*f), 0) << "channel " << name << " step " << f->step() << " consumer rank " << job.rank;
      if (held) {
        EXPECT_EQ(check(*held), 0) << "channel " << name << " step " << held->step() << " changed while held";
      }
      held = std::move(f);
      ++seen;
    }
    EXPECT_EQ(seen, steps);
    ch.close();
  }
  return ch.stats();
}

TEST(Channel, LargeFramesStayIntactWhileHeld) {
  // Frames of 1 MiB and more live in pooled buffers on huge pages (odd sizes:
  // not whole pages): the receive buffers where one producer rank sends the
  // whole box (1->1), frames the parts land in otherwise (here each part is
  // one run of the consumer's box, received straight into the frame). A pool
  // that handed out a buffer still held would overwrite it.
  const std::vector<int64_t> global = {160, 8195};  // 10.5 MB of doubles
  for (const Split s : splits()) {
    Job job(s);
    const auto stats = stream_holding_frames(job, "large", global, decomposition(job, global), 5);
    if (!job.producer) {
      EXPECT_EQ(stats.bytes_received, 5 * decomposition(job, global).box.volume() * 8);
      // 1->1: the message is the frame; M x N: every part lands in place.
      EXPECT_EQ(stats.bytes_in_place, s.producers == 1 ? 0 : stats.bytes_received);
    }
  }
}

TEST(Channel, FramesMixPartsReceivedInPlaceAndUnpacked) {
  // Producer rank 0 owns the first 3/8 of the rows, the others split the
  // rest by columns; consumers take bands of rows. A consumer's part from
  // rank 0 is one run of its box (received into the frame), the others are
  // not where they are narrower than the box (received, then unpacked into
  // the same frame).
  // Narrow rows make the unpacked parts small enough to travel with their
  // header in one message.
  for (const int64_t width : {4099, 515}) {
    const std::vector<int64_t> global = {64, width};
    const int64_t first = global[0] * 3 / 8;
    auto box_of = [&](bool producer, int size, int rank) {
      msa::Box box = msa::block_along(global, 0, size, rank);
      if (producer && size > 1) {
        const std::vector<int64_t> rest = {global[0] - first, global[1]};
        box = rank == 0 ? msa::Box::of({0, 0}, {first, global[1]}) : msa::block_along(rest, 1, size - 1, rank - 1);
        if (rank > 0) box.start[0] += first;
      }
      return box;
    };
    for (const Split s : splits()) {
      Job job(s);
      const msa::Box mine = box_of(job.producer, job.size, job.rank);
      const int steps = 4;
      const auto stats = stream_holding_frames(job, "mixed" + std::to_string(width), global,
                                               msa::Decomposition::of(global, mine), steps);
      if (job.producer || s.producers == 1) continue;
      // What this consumer must have received in place (the part from
      // producer rank 0, where it is 32 KiB or more and not all of the box)
      // and unpacked (parts narrower than the box).
      int64_t in_place = 0, unpacked = 0;
      for (int p = 0; p < s.producers; ++p) {
        const msa::Box part = box_of(true, s.producers, p).intersect(mine);
        if (part.empty()) continue;
        const int64_t bytes = steps * part.volume() * 8;
        // (A part that is all of the box is the frame itself: nothing to land in.)
        if (p == 0 && part != mine && part.volume() * 8 >= 32 * 1024) in_place += bytes;
        if (part.count[1] < mine.count[1]) unpacked += bytes;
      }
      EXPECT_GE(stats.bytes_in_place, in_place) << "width " << width << ", consumer rank " << job.rank;
      EXPECT_LE(stats.bytes_in_place, stats.bytes_received - unpacked) << "width " << width;
    }
  }
}

TEST(Channel, AStepInFlightOutlivesAProducerDestroyedWithoutClose) {
  // A producer that leaves without close() (an exception unwinding, say)
  // with a step in flight: the consumer, which has not touched MPI since
  // open, reads the step only afterwards, from the producer's memory on
  // shared memory (parts of 3 MiB and more: single-copy, from buffers on
  // huge pages). Those buffers must outlive the channel.
  for (const Split s : splits()) {
    Job job(s);
    const std::vector<int64_t> global = {64 * s.producers, 32768};  // 16 MiB a producer
    const auto d = decomposition(job, global);
    if (job.producer) {
      auto v = make_view<double, 2, Kokkos::LayoutRight>(d.box);
      for_each_index(d.box, [&](auto l, auto g) { v(l[0], l[1]) = value_at<double>(g, global, 7); });
      auto ch = std::make_unique<msa::Channel<double>>(job.channel("orphan").decomposition(d).open<double>());
      ch->put(7, 0, v);
      ch.reset();  // without close(): says so on stderr
    } else {
      auto ch = job.channel("orphan").decomposition(d).peer_timeout(5).open<double>();
      std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the producer's channel is gone by now
      auto f = ch.get();
      ASSERT_TRUE(f.has_value());
      EXPECT_EQ(f->step(), 7);
      const auto fv = f->view<2>();
      int64_t wrong = 0;
      for_each_index(d.box, [&](auto l, auto g) { wrong += fv(l[0], l[1]) != value_at<double>(g, global, 7); });
      EXPECT_EQ(wrong, 0);
      // No end of stream will come; the channel goes without close() too.
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
}

TEST(Channel, StridedSubviewsAndEmptyBoxes) {
  // The producer's data lives inside a larger array: it puts a strided subview.
  // With more consumer ranks than columns, some consumers own empty boxes.
  const std::vector<int64_t> global = {9, 3};
  for (const Split s : splits()) {
    Job job(s);
    const auto d = decomposition(job, global);
    auto ch = job.channel("strided").decomposition(d).open<double>();
    if (job.producer) {
      Kokkos::View<double***, Kokkos::LayoutRight> big("big", static_cast<std::size_t>(2 * d.box.count[0] + 1), 4,
                                                       static_cast<std::size_t>(d.box.count[1] + 2));
      auto sub = Kokkos::subview(big, Kokkos::pair<int64_t, int64_t>(1, 1 + 2 * d.box.count[0]), 2,
                                 Kokkos::pair<int64_t, int64_t>(2, 2 + d.box.count[1]));
      auto strided = Kokkos::subview(sub, std::make_pair(int64_t(0), 2 * d.box.count[0]), Kokkos::ALL);
      // Every other row: a LayoutStride view with the box's extents.
      Kokkos::View<double**, Kokkos::LayoutStride> rows(
          strided.data(), Kokkos::LayoutStride(static_cast<std::size_t>(d.box.count[0]), 2 * strided.stride(0),
                                               static_cast<std::size_t>(d.box.count[1]), strided.stride(1)));
      for_each_index(d.box, [&](auto l, auto g) { rows(l[0], l[1]) = value_at<double>(g, global, 7); });
      ch.put(7, 1.0, rows);
      ch.close();
    } else {
      auto frame = ch.get();
      ASSERT_TRUE(frame.has_value());
      EXPECT_EQ(frame->box().volume(), d.box.volume());
      const auto fv = frame->view<2>();
      int64_t wrong = 0;
      for_each_index(d.box, [&](auto l, auto g) { wrong += fv(l[0], l[1]) != value_at<double>(g, global, 7); });
      EXPECT_EQ(wrong, 0);
      EXPECT_FALSE(ch.get().has_value());
      ch.close();
    }
  }
}

// Both sides must get the same error, naming both descriptions.
template <class TP, class TC>
void expect_mismatch(const std::string& name, std::vector<int64_t> pg, std::vector<int64_t> cg, const char* what) {
  for (const Split s : splits()) {
    Job job(s);
    const auto d = decomposition(job, job.producer ? pg : cg);
    try {
      if (job.producer)
        job.channel(name).decomposition(d).open<TP>();
      else
        job.channel(name).decomposition(d).open<TC>();
      ADD_FAILURE() << "no error on the " << (job.producer ? "producer" : "consumer");
    } catch (const msa::ChannelError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(what), std::string::npos) << msg;
      EXPECT_NE(msg.find("producer 'booster' sends"), std::string::npos) << msg;
      EXPECT_NE(msg.find("consumer 'cluster' expects"), std::string::npos) << msg;
    }
  }
}

TEST(Channel, TypeMismatchFailsOnBothSides) {
  expect_mismatch<double, float>("types", {8, 8}, {8, 8},
                                 "element types differ: producer 'booster' sends double[8, 8]");
}
TEST(Channel, ShapeMismatchFailsOnBothSides) {
  expect_mismatch<double, double>("shapes", {8, 8}, {8, 9}, "global shapes differ");
}

TEST(Channel, UncoveredConsumerBoxFailsOnBothSides) {
  for (const Split s : splits()) {
    Job job(s);
    const std::vector<int64_t> global = {10, 4};
    // Producers leave out the last row.
    msa::Decomposition d = job.producer
                               ? msa::Decomposition::of(global, msa::block_along({9, 4}, 0, job.size, job.rank))
                               : decomposition(job, global);
    try {
      job.channel("cover").decomposition(d).open<double>();
      ADD_FAILURE() << "no coverage error";
    } catch (const msa::ChannelError& e) {
      EXPECT_NE(std::string(e.what()).find("the producer ranks' boxes cover only"), std::string::npos) << e.what();
    }
  }
}

TEST(Channel, NoPeerAtOpenIsAnErrorAfterTheTimeout) {
  for (const Split s : splits()) {
    Job job(s);
    if (!job.producer) continue;  // the consumer never opens "lonely"
    const auto t0 = std::chrono::steady_clock::now();
    try {
      job.channel("lonely").decomposition(decomposition(job, {4})).open_timeout(1).open<double>();
      ADD_FAILURE() << "open did not time out";
    } catch (const msa::ChannelError& e) {
      EXPECT_NE(std::string(e.what()).find("opened it, but the consuming component 'cluster' did not within 1 s"),
                std::string::npos)
          << e.what();
    }
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_GE(waited, 1.0);
    EXPECT_LT(waited, 10.0);
  }
}

TEST(Channel, AnOlderWireFormatIsAnErrorAtOpen) {
  // Consumer rank 0 answers the open handshake as a build before wire
  // format 2 did (no "wire" key): the producer ranks refuse at open.
  for (const Split s : splits()) {
    Job job(s);
    const auto d = decomposition(job, {8});
    if (job.producer) {
      try {
        job.channel("old").decomposition(d).open_timeout(20).open<double>();
        ADD_FAILURE() << "open accepted an older wire format";
      } catch (const msa::ChannelError& e) {
        EXPECT_NE(std::string(e.what()).find("wire format 2, the consumer reads format 1"), std::string::npos)
            << e.what();
      }
    } else if (job.rank == 0) {
      const MPI_Comm inter = job.session->component_bridge("booster");
      const int tag = msa::detail::channel_tag_base("old");  // + 0: the hello
      const std::string hello = R"({"component":"cluster","producer":false,"type":"double","global":[8],)"
                                R"("boxes":[{"start":[0],"count":[8]}],"engine":"mpi","token":0})";
      MPI_Send(hello.data(), static_cast<int>(hello.size()), MPI_CHAR, 0, tag, inter);
      MPI_Status status;
      MPI_Probe(0, tag, inter, &status);
      int count = 0;
      MPI_Get_count(&status, MPI_CHAR, &count);
      std::string theirs(static_cast<std::size_t>(count), '\0');
      MPI_Recv(theirs.data(), count, MPI_CHAR, 0, tag, inter, MPI_STATUS_IGNORE);
      EXPECT_NE(theirs.find("\"wire\":2"), std::string::npos) << theirs;
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
}

TEST(Channel, StuckConsumerIsAnErrorNotAHang) {
  for (const Split s : splits()) {
    Job job(s);
    const auto d = decomposition(job, {8});
    auto ch = job.channel("stuck").decomposition(d).queue_depth(1).peer_timeout(1).open<double>();
    Kokkos::View<double*> v("v", static_cast<std::size_t>(d.box.count[0]));
    if (job.producer) {
      // Three steps in flight, one queued, then the fifth put waits for room that never comes.
      try {
        for (int step = 0; step < 5; ++step) ch.put(step, 0, v);
        ADD_FAILURE() << "put did not give up";
      } catch (const msa::ChannelError& e) {
        EXPECT_NE(std::string(e.what()).find("consumer component 'cluster' has not finished with step #0"),
                  std::string::npos)
            << e.what();
      }
    }
    // Let the producer give up before the consumer leaves.
    MPI_Barrier(MPI_COMM_WORLD);
  }
}

// With zero_copy a put() waits until the step has left the caller's view:
// when the consumer stops taking steps, that wait ends in an error too, on
// every producer rank (those whose rows one consumer holds send them from the
// view, the others pack them), and the sends it leaves with MPI, which the
// Session drains at its end, still find the view's memory.
TEST(Channel, StuckConsumerOfZeroCopyStepsIsAnErrorNotAHang) {
  const std::vector<int64_t> global = {4, 40000};  // 1.28 MB of doubles, parts above the split size
  for (const Split s : splits()) {
    Job job(s);
    const auto d = msa::Decomposition::of(global, msa::block_along(global, 0, job.size, job.rank));
    auto ch = job.channel("stuck-zero-copy").decomposition(d).zero_copy().peer_timeout(1).open<double>();
    if (job.producer) {
      Kokkos::View<double**, Kokkos::LayoutRight> v("v", static_cast<std::size_t>(d.box.count[0]), 40000);
      const auto t0 = std::chrono::steady_clock::now();
      try {
        for (int step = 0; step < 8; ++step) ch.put(step, 0, v);
        ADD_FAILURE() << "put did not give up";
      } catch (const msa::ChannelError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("consumer component 'cluster'"), std::string::npos) << what;
        EXPECT_NE(what.find("it is stuck or gone"), std::string::npos) << what;
        if (s.producers == 1 && s.consumers == 1) {
          EXPECT_NE(what.find("did not take step 1 within 1 s"), std::string::npos) << what;
        }
      }
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      EXPECT_GE(waited, 0.9);
      EXPECT_LT(waited, 30.0);
    }
    MPI_Barrier(MPI_COMM_WORLD);  // the consumer never asks for a step
  }
}

TEST(Channel, SilentProducerIsAnErrorOnTheConsumer) {
  for (const Split s : splits()) {
    Job job(s);
    const auto d = decomposition(job, {8});
    auto ch = job.channel("silent").decomposition(d).peer_timeout(1).open<double>();
    if (!job.producer) {
      try {
        ch.get();
        ADD_FAILURE() << "get did not give up";
      } catch (const msa::ChannelError& e) {
        EXPECT_NE(std::string(e.what()).find("no step from producer component 'booster'"), std::string::npos)
            << e.what();
      }
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (job.producer) ch.close();  // end of stream to consumers that no longer listen: completes (small messages)
  }
}

// Steps of 8 x `cols` doubles per producer rank (by default 2048: 128 KiB,
// above the split size), each producer's box inside one consumer's box
// (consumer c gets the producers' boxes [c P / C, (c + 1) P / C), empty when
// there are more consumers), so that a producer's step can go from its view.
struct InsideOneConsumer {
  static constexpr int64_t rows = 8;
  int64_t cols;
  std::vector<int64_t> global;
  msa::Box box;
  msa::Decomposition d;

  InsideOneConsumer(const Job& job, Split s, int64_t columns = 2048) : cols(columns), global{rows * s.producers, cols} {
    if (job.producer) {
      box = msa::Box::of({rows * job.rank, 0}, {rows, cols});
    } else {
      const int64_t lo = job.rank * s.producers / s.consumers, hi = (job.rank + 1) * s.producers / s.consumers;
      box = msa::Box::of({rows * lo, 0}, {rows * (hi - lo), cols});
    }
    d = msa::Decomposition::of(global, box);
  }
  Kokkos::View<double**, Kokkos::LayoutRight> view() const {
    return Kokkos::View<double**, Kokkos::LayoutRight>("v", static_cast<std::size_t>(rows),
                                                       static_cast<std::size_t>(cols));
  }
  void fill(const Kokkos::View<double**, Kokkos::LayoutRight>& v, int64_t step) const {
    for_each_index(box, [&](auto l, auto g) { v(l[0], l[1]) = value_at<double>(g, global, step); });
  }
  // Elements of a frame that differ from those of `step`.
  int64_t wrong(const msa::Frame<double>& f, int64_t step) const {
    const auto fv = f.view<2>();
    int64_t n = 0;
    for_each_index(box, [&](auto l, auto g) { n += fv(l[0], l[1]) != value_at<double>(g, global, step); });
    return n;
  }
};

TEST(Channel, BlockSendsFromTheViewWhileTheConsumerSetsThePace) {
  // Each producer's box lies inside one consumer's box (some consumers get an
  // empty one), so a step can go from the view. While the consumers are slow
  // (first 20 steps) the queue fills and put() sends from the view; once the
  // producer is the slow side (last 6) it copies again. The producer spoils
  // its view as soon as put() returns: a put() that returned before MPI was
  // done with the view would deliver spoiled values.
  const int first = 20, second = 6;
  for (const Split s : splits()) {
    Job job(s);
    const InsideOneConsumer g(job, s);
    auto ch = job.channel("pace").decomposition(g.d).open<double>();
    if (job.producer) {
      const auto v = g.view();
      int64_t direct_first = 0;
      for (int step = 0; step < first + second; ++step) {
        if (step == first) direct_first = ch.stats().steps_direct;
        if (step >= first) std::this_thread::sleep_for(std::chrono::milliseconds(60));
        g.fill(v, step);
        ch.put(step, step, v);
        Kokkos::deep_copy(v, -1.0);
      }
      ch.close();
      EXPECT_EQ(ch.stats().steps_sent, first + second);
      // Who sets the pace is read from timing: asserted only with a core per
      // rank. With more ranks than cores (6 or 8 here, under ASan) a consumer
      // rank that waits for a core looks stuck for a while and put() copies
      // (one CI run: 0 steps from the view at 5 -> 3); the data checks above
      // and below hold either way, and ZeroCopyLargeSteps sends M x N steps
      // from the view deterministically.
      if (static_cast<unsigned>(world_size()) <= std::thread::hardware_concurrency()) {
        EXPECT_GE(direct_first, 5) << "a full queue: steps go from the view";
        EXPECT_LE(ch.stats().steps_direct - direct_first, 1) << "the producer sets the pace: put() copies again";
      } else {
        std::printf(
            "[ info     ] %d -> %d, producer rank %d: %lld of the first %d steps and %lld of the last %d went "
            "from the view\n",
            s.producers, s.consumers, job.rank, static_cast<long long>(direct_first), first,
            static_cast<long long>(ch.stats().steps_direct - direct_first), second);
      }
    } else {
      int seen = 0;
      int64_t wrong = 0;
      while (auto f = ch.get()) {
        EXPECT_EQ(f->step(), seen) << "steps arrive in order";
        wrong += g.wrong(*f, f->step());
        if (seen++ < first) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      EXPECT_EQ(wrong, 0);
      EXPECT_EQ(seen, first + second);
      ch.close();
    }
  }
}

TEST(Channel, BlockSendsFromTheViewWhenTheProducerDoesNothingElse) {
  // The producer puts one ready-made view again and again, changing only the
  // first element of each of its rows (the step's value there): a producer
  // that does nothing else, whose steps go from the view once the consumer
  // has finished one. Whether they do depends on timing (a producer rank
  // that loses its core between two put()s looks busy), so how many did is
  // reported, not asserted; what is asserted is that every step arrives
  // whole, with its own marks: a put() that returned before MPI had read the
  // view would deliver the next step's marks.
  const int steps = 40;
  for (const Split s : splits()) {
    Job job(s);
    const InsideOneConsumer g(job, s);
    auto marked = [&](const std::array<int64_t, 4>& gi) { return gi[1] == 0; };
    auto ch = job.channel("idle").decomposition(g.d).queue_depth(steps + 4).open<double>();
    if (job.producer) {
      const auto v = g.view();
      g.fill(v, 0);
      for (int step = 0; step < steps; ++step) {
        for (int64_t r = 0; r < g.rows; ++r) v(r, 0) = value_at<double>({g.box.start[0] + r, 0, 0, 0}, g.global, step);
        ch.put(step, 0, v);
      }
      ch.close();
      EXPECT_EQ(ch.stats().steps_sent, steps);
      std::printf("[ info     ] %d -> %d, producer rank %d: %lld of %d steps went from the view\n", s.producers,
                  s.consumers, job.rank, static_cast<long long>(ch.stats().steps_direct), steps);
    } else {
      int seen = 0;
      int64_t wrong = 0;
      while (auto f = ch.get()) {
        EXPECT_EQ(f->step(), seen);
        const auto fv = f->view<2>();
        for_each_index(g.box, [&](auto l, auto gi) {
          wrong += fv(l[0], l[1]) != value_at<double>(gi, g.global, marked(gi) ? f->step() : 0);
        });
        ++seen;
      }
      EXPECT_EQ(wrong, 0);
      EXPECT_EQ(seen, steps);
      ch.close();
    }
  }
}

TEST(Channel, BlockWaitingForASlowConsumerIsNotAStuckOne) {
  // The queue fills, then put() waits for the consumer to finish every step
  // sent before sending from the view: the last three take 1.2 s, longer than
  // the peer timeout (1 s). The consumer finishes a step every 0.4 s, so it is
  // not stuck and put() must not say so.
  const int steps = 8;
  for (const Split s : splits()) {
    Job job(s);
    const InsideOneConsumer g(job, s);
    auto ch = job.channel("slow").decomposition(g.d).peer_timeout(1).open<double>();
    if (job.producer) {
      const auto v = g.view();
      for (int step = 0; step < steps; ++step) {
        g.fill(v, step);
        EXPECT_NO_THROW(ch.put(step, 0, v)) << "step " << step;
      }
      ch.close();
      EXPECT_EQ(ch.stats().steps_sent, steps);
      if (job.rank == 0) {
        EXPECT_GE(ch.stats().steps_direct, 1) << "the queue filled: put() sends from the view";
      }
    } else {
      int seen = 0;
      int64_t wrong = 0;
      while (auto f = ch.get()) {
        EXPECT_EQ(f->step(), seen);
        wrong += g.wrong(*f, f->step());
        ++seen;
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
      }
      EXPECT_EQ(wrong, 0);
      EXPECT_EQ(seen, steps);
      ch.close();
    }
  }
}

// The producer puts a(2i), a(2i+1), then b(i); the slow consumer reads b(i)
// first. A put() that waited for the consumer to finish every step of "a"
// sent before sending from the view would wait for ever (the consumer waits
// for "b"): past a few of the consumer's steps it copies instead. With
// `work_between`, the producer fills its view before each put(); without,
// it puts the same view (values of step 0) back to back, as a producer that
// does nothing else, whose steps would go from the view if the consumer read
// them in order.
void read_in_another_order(bool work_between) {
  const int rounds = 12;
  for (const Split s : splits()) {
    Job job(s);
    const InsideOneConsumer g(job, s);
    auto a = job.channel("order-a").decomposition(g.d).peer_timeout(30).open<double>();
    auto b = job.channel("order-b").decomposition(g.d).peer_timeout(30).open<double>();
    if (job.producer) {
      const auto v = g.view();
      if (!work_between) g.fill(v, 0);
      auto put = [&](msa::Channel<double>& ch, int64_t step) {
        if (work_between) g.fill(v, step);
        ch.put(step, 0, v);
      };
      for (int i = 0; i < rounds; ++i) {
        put(a, 2 * i);
        put(a, 2 * i + 1);
        put(b, i);
      }
      a.close();
      b.close();
      EXPECT_EQ(a.stats().steps_sent, 2 * rounds);
      EXPECT_EQ(b.stats().steps_sent, rounds);
    } else {
      int64_t wrong = 0;
      auto check = [&](std::optional<msa::Frame<double>> f, int64_t step) {
        ASSERT_TRUE(f.has_value()) << "step " << step;
        EXPECT_EQ(f->step(), step);
        wrong += g.wrong(*f, work_between ? step : 0);
      };
      for (int i = 0; i < rounds; ++i) {
        check(b.get(), i);
        check(a.get(), 2 * i);
        check(a.get(), 2 * i + 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      EXPECT_FALSE(a.get().has_value());
      EXPECT_FALSE(b.get().has_value());
      EXPECT_EQ(wrong, 0);
      a.close();
      b.close();
    }
  }
}

TEST(Channel, BlockTakesStepsReadInAnotherOrderThanPut) { read_in_another_order(true); }

TEST(Channel, BlockTakesStepsReadInAnotherOrderFromAProducerThatDoesNothingElse) { read_in_another_order(false); }

// Runs 20 steps against a consumer that takes 30 ms per step and, with
// `late`, starts only after the producer has put all 20 (which makes the
// outcome of the drop policies exact). Returns, on every rank, {steps sent,
// steps dropped, steps received, first received, last received}.
std::array<int64_t, 5> slow_consumer(const std::string& name, msa::Policy policy, int depth, bool late) {
  std::array<int64_t, 5> result{};
  const Split s{1, world_size() - 1};
  Job job(s);
  const auto d = decomposition(job, {16});
  auto ch = job.channel(name).decomposition(d).policy(policy).queue_depth(depth).open<int32_t>();
  std::array<int64_t, 5> mine{0, 0, 0, -1, -1};
  if (job.producer) {
    Kokkos::View<int32_t*> v("v", static_cast<std::size_t>(d.box.count[0]));
    for (int step = 0; step < 20; ++step) {
      Kokkos::deep_copy(v, step);
      ch.put(step, 0, v);
    }
    if (late) MPI_Barrier(MPI_COMM_WORLD);
    ch.close();
    mine[0] = ch.stats().steps_sent;
    mine[1] = ch.stats().steps_dropped;
  } else {
    if (late) MPI_Barrier(MPI_COMM_WORLD);
    int64_t last = -1;
    while (auto f = ch.get()) {
      EXPECT_GT(f->step(), last) << "steps arrive in order";
      for (std::size_t i = 0; i < f->data().extent(0); ++i) EXPECT_EQ(f->data()(i), f->step());
      if (last < 0) mine[3] = f->step();
      last = f->step();
      ++mine[2];
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    mine[4] = last;
    if (job.rank != 0) mine = {0, 0, 0, -1, -1};  // consumer rank 0 speaks for its side
  }
  MPI_Allreduce(mine.data(), result.data(), 5, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
  return result;
}

TEST(ChannelPolicy, BlockDeliversEveryStep) {
  const auto r = slow_consumer("p-block", msa::Policy::block, 2, false);
  EXPECT_EQ(r[0], 20);
  EXPECT_EQ(r[1], 0);
  EXPECT_EQ(r[2], 20);
  EXPECT_EQ(r[3], 0);
  EXPECT_EQ(r[4], 19);
}

TEST(ChannelPolicy, DropNewestKeepsTheFirstSteps) {
  const auto r = slow_consumer("p-newest", msa::Policy::drop_newest, 2, true);
  EXPECT_GT(r[1], 0) << "a 30 ms consumer cannot keep up with an instant producer";
  EXPECT_EQ(r[0] + r[1], 20);
  EXPECT_EQ(r[2], r[0]) << "every step sent arrives";
  EXPECT_EQ(r[3], 0);
  EXPECT_LT(r[4], 19) << "the newest steps are the ones dropped";
  EXPECT_EQ(r[2], 5) << "three in flight plus two queued, the rest dropped before the consumer took any";
  EXPECT_EQ(r[4], 4);
}

TEST(ChannelPolicy, DropOldestKeepsTheNewestSteps) {
  const auto r = slow_consumer("p-oldest", msa::Policy::drop_oldest, 2, true);
  EXPECT_GT(r[1], 0);
  EXPECT_EQ(r[0] + r[1], 20);
  EXPECT_EQ(r[2], r[0]);
  EXPECT_EQ(r[3], 0);
  EXPECT_EQ(r[4], 19) << "the last step always survives";
  EXPECT_EQ(r[2], 5) << "the first three steps (in flight) and the two newest";
}

TEST(ChannelPolicy, LatestOnlyKeepsOneQueuedStep) {
  const auto r = slow_consumer("p-latest", msa::Policy::latest_only, 4, true);
  EXPECT_GT(r[1], 0);
  EXPECT_EQ(r[0] + r[1], 20);
  EXPECT_EQ(r[2], r[0]);
  EXPECT_EQ(r[4], 19);
  EXPECT_EQ(r[2], 4) << "the first three steps (in flight) and the latest";
}

// The first two names "stale-<n>" that map to the same tags with this MPI's
// tag range (a birthday search: about 20 000 names with Open MPI's 2^31 tags).
std::pair<std::string, std::string> names_sharing_tags() {
  std::unordered_map<int, std::string> seen;
  for (int i = 0;; ++i) {
    std::string name = "stale-" + std::to_string(i);
    const auto [it, inserted] = seen.emplace(msa::detail::channel_tag_base(name), name);
    if (!inserted) return {it->second, name};
  }
}

TEST(Channel, NamesThatShareTagsCannotBeOpenAtOnce) {
  const auto [a, b] = names_sharing_tags();
  const char* const kSameTagsA = a.c_str();
  const char* const kSameTagsB = b.c_str();
  const Split s{1, world_size() - 1};
  Job job(s);
  const auto d = decomposition(job, {16});
  auto first = job.channel(kSameTagsA).decomposition(d).open<int32_t>();
  try {
    job.channel(kSameTagsB).decomposition(d).open_timeout(5).open<int32_t>();
    ADD_FAILURE() << "the second channel opened";
  } catch (const msa::ChannelError& e) {
    EXPECT_NE(std::string(e.what()).find("maps to the same MPI tags as channel '" + a + "'"), std::string::npos)
        << e.what();
  }
  try {
    job.channel(kSameTagsA).decomposition(d).open_timeout(5).open<int32_t>();
    ADD_FAILURE() << "the same channel opened twice";
  } catch (const msa::ChannelError& e) {
    EXPECT_NE(std::string(e.what()).find("'" + a + "' is already open"), std::string::npos) << e.what();
  }
  if (job.producer) {
    first.close();
  } else {
    while (first.get()) {
    }
    first.close();
  }
  // Closed (its handle still alive), the first frees the tags for the second.
  auto second = job.channel(kSameTagsB).decomposition(d).open<int32_t>();
  if (job.producer) {
    second.put(7, 0, Kokkos::View<int32_t*>("v", d.box.count[0]));
    second.close();
  } else {
    const auto frame = second.get();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->step(), 7);
    EXPECT_FALSE(second.get());
    second.close();
  }
}

// The producer puts `steps` steps of `v` before the consumer starts reading;
// returns, on every rank, {steps dropped, steps received by consumer rank 0}.
std::array<int64_t, 2> put_then_read(const Job& job, msa::Channel<int32_t>& ch, const Kokkos::View<int32_t*>& v,
                                     int steps) {
  std::array<int64_t, 2> mine{0, 0}, all{};
  if (job.producer) {
    for (int step = 0; step < steps; ++step) ch.put(step, 0, v);
    mine[0] = ch.stats().steps_dropped;
    MPI_Barrier(MPI_COMM_WORLD);
    ch.close();
  } else {
    MPI_Barrier(MPI_COMM_WORLD);
    while (ch.get()) ++mine[1];
    ch.close();
    if (job.rank != 0) mine[1] = 0;
  }
  MPI_Allreduce(mine.data(), all.data(), 2, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
  return all;
}

// Two channels on the same tags, one after the other. The consumer's last ack
// of the first arrives after its producer closed; the second must not take it
// for its own (it would think 5 steps were taken and send steps it should drop).
TEST(ChannelPolicy, AnAckLeftFromAnEarlierChannelIsIgnored) {
  const auto [a, b] = names_sharing_tags();
  const char* const kSameTagsA = a.c_str();
  const char* const kSameTagsB = b.c_str();
  const Split s{1, world_size() - 1};
  Job job(s);  // one session: both channels share the inter-communicator
  const auto d = decomposition(job, {16});
  Kokkos::View<int32_t*> v("v", 16);
  {
    std::optional<msa::Channel<int32_t>> ch = job.channel(kSameTagsA).decomposition(d).open<int32_t>();
    if (job.producer) {
      for (int step = 0; step < 5; ++step) ch->put(step, 0, v);
      ch->close();
      ch.reset();  // gone before the consumer's last ack comes
      MPI_Barrier(MPI_COMM_WORLD);
    } else {
      for (int step = 0; step < 5; ++step) ASSERT_TRUE(ch->get());
      MPI_Barrier(MPI_COMM_WORLD);
      EXPECT_FALSE(ch->get());  // acknowledges the 5 steps, then finds the end
      ch->close();
    }
  }
  // A consumer that starts late: on a fresh channel three steps travel, two are
  // queued and the other 15 are dropped.
  auto ch = job.channel(kSameTagsB).decomposition(d).policy(msa::Policy::drop_newest).queue_depth(2).open<int32_t>();
  const auto r = put_then_read(job, ch, v, 20);
  EXPECT_EQ(r[0], 15);
  EXPECT_EQ(r[1], 5);
}

// Closed, a channel frees its tags even while its handle lives: the same name
// opens again (it would be "already open" otherwise) and, with a one-step
// budget, every step waits for its own ack, none of which may be lost to the
// closed channel.
TEST(Channel, ReopensAfterCloseWhileTheOldHandleLives) {
  const Split s{1, world_size() - 1};
  Job job(s);
  const auto d = decomposition(job, {16});
  Kokkos::View<int32_t*> v("v", 16);
  auto first = job.channel("reopened").decomposition(d).open<int32_t>();
  if (job.producer) {
    first.put(0, 0, v);
    first.close();
  } else {
    while (first.get()) {
    }
    first.close();
  }
  auto second = job.channel("reopened").decomposition(d).max_bytes(64).peer_timeout(10).open<int32_t>();
  if (job.producer) {
    for (int step = 0; step < 5; ++step) second.put(step, 0, v);
    second.close();
    EXPECT_EQ(second.stats().steps_dropped, 0);
  } else {
    int64_t expected = 0;
    while (auto frame = second.get()) EXPECT_EQ(frame->step(), expected++);
    EXPECT_EQ(expected, 5);
    second.close();
  }
}

TEST(Channel, ByteBudgetIsEnforcedAtPutTime) {
  // 16 int32 = 64 bytes a step; a budget of 128 bytes holds two steps: both in flight, none queued.
  const Split s{1, world_size() - 1};
  Job job(s);
  const auto d = decomposition(job, {16});
  auto ch = job.channel("budget")
                .decomposition(d)
                .policy(msa::Policy::drop_newest)
                .queue_depth(8)
                .max_bytes(128)
                .open<int32_t>();
  Kokkos::View<int32_t*> v("v", 16);
  const auto r = put_then_read(job, ch, v, 10);  // nobody reads yet: 2 fit, 8 dropped
  EXPECT_EQ(r[0], 8);
  EXPECT_EQ(r[1], 2);
}

// A budget of one step: one step still travels while the consumer works, so a
// consumer that reads two such channels in the other order than they are
// written gets every step (with acknowledgements only on the next get() it
// would wait for a step the producer cannot send yet: a hang until the timeout).
TEST(Channel, OneStepBudgetsOnTwoChannelsReadInTurn) {
  const Split s{1, world_size() - 1};
  Job job(s);
  const auto d = decomposition(job, {16});
  auto open = [&](const std::string& name) {
    return job.channel(name).decomposition(d).max_bytes(64).peer_timeout(20).open<int32_t>();
  };
  auto a = open("budget-a");
  auto b = open("budget-b");
  const int steps = 6;
  int64_t received = 0, all = 0;
  if (job.producer) {
    Kokkos::View<int32_t*> v("v", 16);
    for (int step = 0; step < steps; ++step) {
      Kokkos::deep_copy(v, step);
      a.put(step, 0, v);
      b.put(step, 0, v);
    }
    a.close();
    b.close();
  } else {
    for (int step = 0; step < steps; ++step) {
      auto fb = b.get();
      auto fa = a.get();
      ASSERT_TRUE(fa && fb);
      EXPECT_EQ(fa->step(), step);
      EXPECT_EQ(fb->step(), step);
      if (d.box.count[0] > 0) {
        EXPECT_EQ(fa->data()(0), step);
      }
      ++received;
    }
    EXPECT_FALSE(b.get());
    EXPECT_FALSE(a.get());
    a.close();
    b.close();
    if (job.rank != 0) received = 0;
  }
  MPI_Allreduce(&received, &all, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
  EXPECT_EQ(all, steps);
}

TEST(Channel, ManySmallSteps) {
  // 1000 small steps; under the debug preset LeakSanitizer checks that none leaks.
  for (const Split s : splits()) {
    Job job(s);
    const auto d = decomposition(job, {12});
    auto ch = job.channel("many").decomposition(d).open<double>();
    if (job.producer) {
      Kokkos::View<double*> v("v", static_cast<std::size_t>(d.box.count[0]));
      for (int step = 0; step < 1000; ++step) {
        for (int64_t i = 0; i < d.box.count[0]; ++i) v(i) = step + 0.001 * static_cast<double>(d.box.start[0] + i);
        ch.put(step, step, v);
      }
      ch.close();
    } else {
      int n = 0;
      int64_t wrong = 0;
      while (auto f = ch.get()) {
        for (int64_t i = 0; i < d.box.count[0]; ++i)
          wrong += f->data()(i) != f->step() + 0.001 * static_cast<double>(d.box.start[0] + i);
        ++n;
      }
      EXPECT_EQ(n, 1000);
      EXPECT_EQ(wrong, 0);
      ch.close();
    }
  }
}

TEST(Channel, ConsumerClosingEarlyLetsTheProducerFinish) {
  const Split s{1, world_size() - 1};
  Job job(s);
  const auto d = decomposition(job, {8});
  auto ch = job.channel("early").decomposition(d).open<double>();
  if (job.producer) {
    Kokkos::View<double*> v("v", 8);
    for (int step = 0; step < 50; ++step) ch.put(step, 0, v);
    ch.close();
    EXPECT_GT(ch.stats().steps_dropped, 0) << "steps after the consumer left are dropped, not sent";
  } else {
    auto f = ch.get();
    ASSERT_TRUE(f.has_value());
    ch.close();  // takes what is in flight until the producer's end of stream
    EXPECT_FALSE(ch.get().has_value());
  }
}

TEST(Channel, NullEngineNeedsNoPeer) {
  const Split s{1, world_size() - 1};
  Job job(s);
  const auto d = decomposition(job, {8});
  auto ch = job.channel("nothing").decomposition(d).engine("null").open<double>();
  if (job.producer) {
    Kokkos::View<double*> v("v", 8);
    for (int step = 0; step < 5; ++step) ch.put(step, 0, v);
    EXPECT_EQ(ch.stats().steps_sent, 5);
    EXPECT_EQ(ch.stats().bytes_sent, 5 * 8 * 8);
  } else {
    EXPECT_FALSE(ch.get().has_value());
  }
  ch.close();
}

TEST(Channel, SettingsComeFromTheEnvironment) {
  msa::test::EnvGuard env;
  env.set("MSA_CHANNEL_MY_FIELDS_POLICY", "latest_only");
  env.set("MSA_CHANNEL_MY_FIELDS_QUEUE_DEPTH", "7");
  env.set("MSA_CHANNEL_MY_FIELDS_ENGINE", "null");
  env.set("MSA_CHANNEL_MY_FIELDS_ZERO_COPY", "1");
  const auto s = msa::settings_from_environment("my-fields", msa::ChannelSettings{});
  EXPECT_TRUE(s.zero_copy);
  EXPECT_EQ(s.policy, msa::Policy::latest_only);
  EXPECT_EQ(s.queue_depth, 7);
  EXPECT_EQ(s.engine, "null");
  env.set("MSA_CHANNEL_MY_FIELDS_POLICY", "drop_some");
  EXPECT_THROW(msa::settings_from_environment("my-fields", msa::ChannelSettings{}), msa::ConfigError);
  env.set("MSA_CHANNEL_MY_FIELDS_POLICY", "block");
  env.set("MSA_CHANNEL_MY_FIELDS_QUEUE_DEPTH", "many");
  EXPECT_THROW(msa::settings_from_environment("my-fields", msa::ChannelSettings{}), msa::ConfigError);
}

}  // namespace
