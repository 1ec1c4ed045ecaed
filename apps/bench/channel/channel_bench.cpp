// apps/bench/channel: channels against hand-written MPI, in one run.
//   mpirun -np 8 --oversubscribe msa_bench_channel [--quick] [--json FILE]
// 1->1 (world ranks 0 -> 1): bandwidth from 8 B to 64 MiB vs an osu_bw-style
// window of MPI_Isend/Irecv, latency vs an MPI ping-pong, and the time put()
// keeps the producer when the queue has room vs a plain memcpy of the
// payload. M x N 4->2 (6 ranks) and 3->5 (8 ranks) vs MPI_Alltoallv of the
// same boxes. Every figure is a median of repeated measurements; streams are
// timed after a few warm-up steps; ranks not in a case wait asleep.
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <msa/msa.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "../bench_common.hpp"

namespace {

using msa::bench::median;
using msa::bench::now;
using msa::bench::sleepy_barrier;

struct Env {
  int rank = 0, size = 0;
  bool quick = false;
  nlohmann::json records = nlohmann::json::array();
};

void record(Env& env, const std::string& case_name, const std::string& metric, const std::string& unit, double msa,
            double baseline, const std::string& baseline_name, const std::string& better, double goal,
            const std::string& note = "") {
  const double ratio = baseline > 0 ? msa / baseline : 0;
  nlohmann::json r =
      msa::bench::make_record("channel", case_name, metric, unit, msa, baseline, baseline_name, better, goal);
  if (!note.empty()) r["note"] = note;
  env.records.push_back(r);
  std::printf("channel %-22s %-10s msa %10.3f %-5s baseline %10.3f %-5s (%s)  ratio %.3f%s%s\n", case_name.c_str(),
              metric.c_str(), msa, unit.c_str(), baseline, unit.c_str(), baseline_name.c_str(), ratio,
              goal > 0 ? msa::bench::goal_text(better, goal).c_str() : "", note.empty() ? "" : ("  " + note).c_str());
  std::fflush(stdout);
}

// A Session for `layout` (booster produces, cluster consumes, host idles).
std::unique_ptr<msa::Session> session_for(const std::string& layout) {
  setenv("MSA_LAYOUT", layout.c_str(), 1);
  setenv("MSA_BIND", "none", 1);  // keep mpirun's binding; several cases share the ranks
  return std::make_unique<msa::Session>();
}

// --- 1 -> 1 -----------------------------------------------------------------

// Buffers a side in the second raw baseline: as many steps as a channel with
// the queue depth used here (4) holds in its queue and window (3), plus one.
constexpr int kStreamBuffers = 8;

// A touched buffer of `bytes`; with `huge`, on 2 MiB boundaries and asking
// for transparent huge pages, as the channel's own buffers of 1 MiB or more.
struct RawBuffer {
  RawBuffer(std::size_t bytes, bool huge) {
    const std::size_t align = huge ? std::size_t{2} << 20 : 64;
    const std::size_t size = (std::max<std::size_t>(bytes, 1) + align - 1) / align * align;
    data.reset(static_cast<char*>(std::aligned_alloc(align, size)));
    if (!data) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
    if (huge) madvise(data.get(), size, MADV_HUGEPAGE);
#endif
    std::memset(data.get(), 0, size);
  }
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> data;
};

// osu_bw: a window of Isends, the receiver acknowledges each window; one
// window goes untimed first (osu_bw's warm-up). With `buffers` > 1 each side
// cycles through that many buffers (message k uses buffer k mod buffers), as
// a stream of steps does, instead of osu_bw's one.
double raw_bandwidth(MPI_Comm pair, int me, std::size_t bytes, int window, int iterations, int buffers = 1,
                     bool huge = false) {
  std::vector<RawBuffer> buffer;
  for (int b = 0; b < buffers; ++b) buffer.emplace_back(bytes, huge);
  std::vector<char> ack(4);
  std::vector<MPI_Request> req(static_cast<std::size_t>(window));
  std::size_t k = 0;
  double t0 = 0;
  for (int it = -1; it < iterations; ++it) {
    if (it == 0) t0 = now();
    for (int w = 0; w < window; ++w) {
      char* b = buffer[k++ % buffer.size()].data.get();
      if (me == 0)
        MPI_Isend(b, static_cast<int>(bytes), MPI_BYTE, 1, 1, pair, &req[static_cast<std::size_t>(w)]);
      else
        MPI_Irecv(b, static_cast<int>(bytes), MPI_BYTE, 0, 1, pair, &req[static_cast<std::size_t>(w)]);
    }
    MPI_Waitall(window, req.data(), MPI_STATUSES_IGNORE);
    if (me == 0)
      MPI_Recv(ack.data(), 4, MPI_BYTE, 1, 2, pair, MPI_STATUS_IGNORE);
    else
      MPI_Send(ack.data(), 4, MPI_BYTE, 0, 2, pair);
    if (it == -1) MPI_Barrier(pair);
  }
  const double t = now() - t0;
  return static_cast<double>(bytes) * window * iterations / t / 1e9;
}

// Steps a stream sends before it is timed, as osu_bw's warm-up iterations:
// the queue fills and the channel's buffers are touched for the first time
// (the raw baselines' buffers are touched before their clocks start).
constexpr int kWarmup = kStreamBuffers;

// Streams kWarmup + `steps` + 1 steps of `v` through channel `name` (booster
// -> cluster); returns, on consumer ranks, the seconds per step from the
// frame after the warm-up to the last (the pipeline full), 0 on producer ranks.
template <class View>
double stream_steps(msa::Session& s, const std::string& name, const msa::Decomposition& d, const View& v, int steps,
                    bool zero_copy = false) {
  if (s.component_name() == "booster") {
    auto ch =
        s.channel(name).to("cluster").decomposition(d).queue_depth(4).zero_copy(zero_copy).template open<double>();
    for (int step = 0; step <= kWarmup + steps; ++step) ch.put(step, 0, v);
    ch.close();
    return 0;
  }
  auto ch =
      s.channel(name).from("booster").decomposition(d).queue_depth(4).zero_copy(zero_copy).template open<double>();
  double first = 0, last = 0;
  int got = 0;
  while (auto f = ch.get()) {
    last = now();
    if (got++ == kWarmup) first = last;
  }
  ch.close();
  return (last - first) / (got - 1 - kWarmup);
}

// The same bytes through a channel, as many steps, in GB/s (on the consumer).
double channel_bandwidth(msa::Session& s, const std::string& name, std::size_t bytes, int steps, bool zero_copy) {
  const int64_t n = static_cast<int64_t>(std::max<std::size_t>(1, bytes / sizeof(double)));
  const auto d = msa::Decomposition::of({n}, msa::Box::whole({n}));
  Kokkos::View<double*> v("v", static_cast<std::size_t>(n));
  const double per_step = stream_steps(s, name, d, v, steps, zero_copy);
  return per_step > 0 ? static_cast<double>(n * sizeof(double)) / per_step / 1e9 : 0;
}

// Round trips before a ping-pong is timed, as osu_latency skips its first ones.
int latency_warmup(int iterations) { return iterations / 10; }

double raw_latency(MPI_Comm pair, int me, int iterations) {
  double x = 0;
  MPI_Barrier(pair);
  const int skip = latency_warmup(iterations);
  double t0 = 0;
  for (int i = 0; i < skip + iterations; ++i) {
    if (i == skip) t0 = now();
    if (me == 0) {
      MPI_Send(&x, 1, MPI_DOUBLE, 1, 3, pair);
      MPI_Recv(&x, 1, MPI_DOUBLE, 1, 3, pair, MPI_STATUS_IGNORE);
    } else {
      MPI_Recv(&x, 1, MPI_DOUBLE, 0, 3, pair, MPI_STATUS_IGNORE);
      MPI_Send(&x, 1, MPI_DOUBLE, 0, 3, pair);
    }
  }
  return (now() - t0) / iterations / 2 * 1e6;
}

// Ping-pong through two channels (one each way), one double a step: us one way.
double channel_latency(msa::Session& s, MPI_Comm pair, int iterations, int round) {
  const auto d = msa::Decomposition::of({1}, msa::Box::whole({1}));
  const bool booster = s.component_name() == "booster";
  const std::string ping = "ping" + std::to_string(round), pong = "pong" + std::to_string(round);
  // Both sides open "ping" first, then "pong": open() waits for the peer.
  auto first = booster ? s.channel(ping).to("cluster").decomposition(d).open<double>()
                       : s.channel(ping).from("booster").decomposition(d).open<double>();
  auto second = booster ? s.channel(pong).from("cluster").decomposition(d).open<double>()
                        : s.channel(pong).to("booster").decomposition(d).open<double>();
  auto& out = booster ? first : second;
  auto& in = booster ? second : first;
  Kokkos::View<double*> v("v", 1);
  MPI_Barrier(pair);
  const int skip = latency_warmup(iterations);
  double t0 = 0;
  for (int i = 0; i < skip + iterations; ++i) {
    if (i == skip) t0 = now();
    if (booster) {
      out.put(i, 0, v);
      in.get();
    } else {
      in.get();
      out.put(i, 0, v);
    }
  }
  const double us = (now() - t0) / iterations / 2 * 1e6;
  out.close();
  while (in.get()) {
  }
  in.close();
  return us;
}

// put() with room in the queue vs memcpy of the same bytes (ms, medians).
std::pair<double, double> put_vs_memcpy(msa::Session& s, std::size_t bytes, int steps) {
  const int64_t n = static_cast<int64_t>(bytes / sizeof(double));
  const auto d = msa::Decomposition::of({n}, msa::Box::whole({n}));
  double put_ms = 0, copy_ms = 0;
  if (s.component_name() == "booster") {
    auto ch = s.channel("blocked").to("cluster").decomposition(d).queue_depth(8).open<double>();
    Kokkos::View<double*> v("v", static_cast<std::size_t>(n));
    Kokkos::deep_copy(v, 1.0);
    std::vector<double> puts, copies;
    std::vector<double> dst(static_cast<std::size_t>(n), 0.0);
    for (int step = 0; step < steps; ++step) {
      double t0 = now();
      ch.put(step, 0, v);
      puts.push_back(now() - t0);
      t0 = now();
      std::memcpy(dst.data(), v.data(), bytes);
      copies.push_back(now() - t0);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // "compute": the consumer keeps up
    }
    ch.close();
    puts.erase(puts.begin(), puts.begin() + std::min<std::ptrdiff_t>(3, static_cast<std::ptrdiff_t>(puts.size() / 2)));
    put_ms = median(puts) * 1e3;
    copy_ms = median(copies) * 1e3;
  } else {
    auto ch = s.channel("blocked").from("booster").decomposition(d).queue_depth(8).open<double>();
    while (ch.get()) {
    }
    ch.close();
  }
  return {put_ms, copy_ms};
}

void one_to_one(Env& env) {
  auto s =
      session_for("booster:1,cluster:1" + (env.size > 2 ? ",host:" + std::to_string(env.size - 2) : std::string()));
  const bool active = s->component_name() != "host";
  MPI_Comm pair;
  MPI_Comm_split(MPI_COMM_WORLD, active ? 0 : MPI_UNDEFINED, env.rank, &pair);
  if (active) {
    const int me = env.rank;  // world ranks 0 and 1
    std::vector<std::size_t> sizes;
    for (std::size_t b = 8; b <= (env.quick ? std::size_t{4} << 20 : std::size_t{64} << 20); b *= env.quick ? 8 : 4)
      sizes.push_back(b);
    const int repeats = env.quick ? 3 : 5;
    for (std::size_t bytes : sizes) {
      const int window = static_cast<int>(std::clamp<std::size_t>((std::size_t{256} << 20) / bytes, 1, 64));
      const std::size_t per_round = std::max<std::size_t>(bytes * window, 1);
      const int iterations = static_cast<int>(
          std::clamp<std::size_t>((env.quick ? std::size_t{64} << 20 : std::size_t{512} << 20) / per_round, 2, 200));
      std::vector<double> raw, raw_rotating, raw_huge, msa, msa_zero;
      const bool large = bytes >= (std::size_t{32} << 10);  // zero copy applies to these
      const bool goal_size = bytes >= (std::size_t{1} << 20);
      const bool huge = bytes >= (std::size_t{1} << 20);  // the channel's buffers use huge pages
      for (int r = 0; r < repeats; ++r) {
        const std::string id = std::to_string(bytes) + "-" + std::to_string(r);
        raw.push_back(raw_bandwidth(pair, me, bytes, window, iterations));
        if (goal_size) raw_rotating.push_back(raw_bandwidth(pair, me, bytes, window, iterations, kStreamBuffers));
        if (huge) raw_huge.push_back(raw_bandwidth(pair, me, bytes, window, iterations, 1, true));
        msa.push_back(channel_bandwidth(*s, "bw" + id, bytes, std::max(window * iterations, 8), false));
        if (large) msa_zero.push_back(channel_bandwidth(*s, "bz" + id, bytes, std::max(window * iterations, 8), true));
      }
      // The consumer measured the channel; raw is measured on both.
      double m = median(msa), z = median(msa_zero), b = median(raw);
      MPI_Bcast(&m, 1, MPI_DOUBLE, 1, pair);
      MPI_Bcast(&z, 1, MPI_DOUBLE, 1, pair);
      const double goal = goal_size ? 0.95 : 0;
      if (me == 0) {
        record(env, "1to1 bytes=" + std::to_string(bytes), "bandwidth", "GB/s", m, b, "raw MPI Isend/Irecv window",
               "higher", goal);
        // No goal: where the gap above comes from. osu_bw's one buffer per
        // side stays in cache; a stream's steps, like the channel's queue, do not.
        if (goal_size)
          record(env, "1to1 stream bytes=" + std::to_string(bytes), "bandwidth", "GB/s", m, median(raw_rotating),
                 "raw window, " + std::to_string(kStreamBuffers) + " buffers a side", "higher", 0);
        // No goal: the same window from buffers on huge pages, as the
        // channel's own receive buffers of this size are.
        if (huge)
          record(env, "1to1 huge_pages bytes=" + std::to_string(bytes), "bandwidth", "GB/s", m, median(raw_huge),
                 "raw window, huge-page buffers", "higher", 0);
        if (large)
          record(env, "1to1 zero_copy bytes=" + std::to_string(bytes), "bandwidth", "GB/s", z, b,
                 "raw MPI Isend/Irecv window", "higher", goal);
      }
    }
    std::vector<double> raw_l, msa_l;
    const int iterations = env.quick ? 500 : 5000;
    for (int r = 0; r < repeats; ++r) {
      raw_l.push_back(raw_latency(pair, me, iterations));
      msa_l.push_back(channel_latency(*s, pair, iterations, r));
    }
    if (me == 0) {
      const double m = median(msa_l), b = median(raw_l);
      record(env, "1to1 bytes=8", "latency", "us", m, b, "raw MPI ping-pong", "lower", 0,
             std::string("goal: msa <= baseline + 0.5 us; difference ") + std::to_string(m - b) + " us");
    }
    const std::size_t big = env.quick ? std::size_t{16} << 20 : std::size_t{64} << 20;
    const auto [put_ms, copy_ms] = put_vs_memcpy(*s, big, env.quick ? 8 : 16);
    if (me == 0)
      record(env, "1to1 bytes=" + std::to_string(big), "put_blocked", "ms", put_ms, copy_ms, "memcpy of the payload",
             "lower", 1.1);
    MPI_Comm_free(&pair);
  }
  s.reset();
  sleepy_barrier();
}

// --- M x N ------------------------------------------------------------------

void m_by_n(Env& env, int producers, int consumers) {
  const int used = producers + consumers;
  if (env.size < used) {
    if (env.rank == 0)
      std::printf("channel %dto%d: skipped (needs %d ranks, have %d)\n", producers, consumers, used, env.size);
    return;
  }
  std::string layout = "booster:" + std::to_string(producers) + ",cluster:" + std::to_string(consumers);
  if (env.size > used) layout += ",host:" + std::to_string(env.size - used);
  auto s = session_for(layout);
  const std::string role = s->component_name();
  MPI_Comm group;  // producers then consumers, for the Alltoallv baseline
  MPI_Comm_split(MPI_COMM_WORLD, role == "host" ? MPI_UNDEFINED : 0, env.rank, &group);
  const int64_t edge = env.quick ? 48 : 96;
  const std::vector<int64_t> global = {edge, edge, edge};
  const int64_t step_bytes = edge * edge * edge * static_cast<int64_t>(sizeof(double));
  const int steps = env.quick ? 10 : 30, repeats = env.quick ? 3 : 5;
  std::vector<msa::Box> pboxes, cboxes;
  for (int p = 0; p < producers; ++p) pboxes.push_back(msa::block_along(global, 0, producers, p));
  for (int c = 0; c < consumers; ++c) cboxes.push_back(msa::block_along(global, 2, consumers, c));
  const std::string name = std::to_string(producers) + "to" + std::to_string(consumers);

  std::vector<double> msa_t, raw_t, place_t;
  if (role != "host") {
    const bool producer = role == "booster";
    const int me = s->component().rank();
    const msa::Box mine = producer ? pboxes[static_cast<std::size_t>(me)] : cboxes[static_cast<std::size_t>(me)];
    Kokkos::View<double***, Kokkos::LayoutRight> v("v", static_cast<std::size_t>(mine.count[0]),
                                                   static_cast<std::size_t>(mine.count[1]),
                                                   static_cast<std::size_t>(mine.count[2]));
    Kokkos::deep_copy(v, 1.0);
    for (int r = 0; r < repeats; ++r) {
      // Channel: time per step on the slowest consumer, pipeline full.
      const double per_step =
          stream_steps(*s, "mxn" + std::to_string(r), msa::Decomposition::of(global, mine), v, steps);
      double slowest = 0;
      MPI_Allreduce(&per_step, &slowest, 1, MPI_DOUBLE, MPI_MAX, group);
      msa_t.push_back(slowest);

      // Alltoallv of the same boxes: producers pack their parts, consumers unpack.
      // With `in_place`, consumers receive straight into their view instead,
      // as the channel does where a part is one contiguous run of the box.
      const int n = producers + consumers;
      std::vector<int> scount(static_cast<std::size_t>(n), 0), sdispl(static_cast<std::size_t>(n), 0),
          rcount(static_cast<std::size_t>(n), 0), rdispl(static_cast<std::size_t>(n), 0),
          rplace(static_cast<std::size_t>(n), 0);
      std::vector<msa::Box> parts(static_cast<std::size_t>(n));
      int64_t stotal = 0, rtotal = 0;
      int runs = 1;  // every part one contiguous run of my box (consumers)
      for (int q = 0; q < n; ++q) {
        const auto qi = static_cast<std::size_t>(q);
        if (producer && q >= producers) parts[qi] = mine.intersect(cboxes[qi - static_cast<std::size_t>(producers)]);
        if (!producer && q < producers) parts[qi] = pboxes[qi].intersect(mine);
        const int64_t count = parts[qi].ndims ? parts[qi].volume() : 0;
        if (producer) {
          scount[qi] = static_cast<int>(count);
          sdispl[qi] = static_cast<int>(stotal);
          stotal += count;
        } else {
          rcount[qi] = static_cast<int>(count);
          rdispl[qi] = static_cast<int>(rtotal);
          rtotal += count;
          const int64_t at = count ? msa::detail::contiguous_offset(mine, parts[qi]) : 0;
          rplace[qi] = static_cast<int>(at);
          if (at < 0) runs = 0;
        }
      }
      std::vector<double> sendbuf(static_cast<std::size_t>(std::max<int64_t>(stotal, 1))),
          recvbuf(static_cast<std::size_t>(std::max<int64_t>(rtotal, 1)));
      auto alltoallv = [&](bool in_place) {
        MPI_Barrier(group);
        const double t0 = now();
        for (int step = 0; step < steps; ++step) {
          if (producer)
            for (int q = producers; q < n; ++q)
              msa::detail::pack_view(v, mine, parts[static_cast<std::size_t>(q)],
                                     sendbuf.data() + sdispl[static_cast<std::size_t>(q)]);
          MPI_Alltoallv(sendbuf.data(), scount.data(), sdispl.data(), MPI_DOUBLE, in_place ? v.data() : recvbuf.data(),
                        rcount.data(), in_place ? rplace.data() : rdispl.data(), MPI_DOUBLE, group);
          if (!producer && !in_place)
            for (int q = 0; q < producers; ++q)
              msa::detail::unpack_view(v, mine, parts[static_cast<std::size_t>(q)],
                                       recvbuf.data() + rdispl[static_cast<std::size_t>(q)]);
        }
        double t = (now() - t0) / steps, tmax = 0;
        MPI_Allreduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, group);
        return tmax;
      };
      raw_t.push_back(alltoallv(false));
      MPI_Allreduce(MPI_IN_PLACE, &runs, 1, MPI_INT, MPI_MIN, group);
      if (runs) place_t.push_back(alltoallv(true));
    }
    if (env.rank == 0) {
      const double m = static_cast<double>(step_bytes) / median(msa_t) / 1e9;
      const double b = static_cast<double>(step_bytes) / median(raw_t) / 1e9;
      record(env, name + " bytes=" + std::to_string(step_bytes), "bandwidth", "GB/s", m, b,
             "MPI_Alltoallv of the same boxes", "higher", 0.90);
      // Where the lead comes from: the channel receives parts that are one
      // run of the consumer's box straight into its frame (see README).
      if (!place_t.empty())
        record(env, name + " in_place bytes=" + std::to_string(step_bytes), "bandwidth", "GB/s", m,
               static_cast<double>(step_bytes) / median(place_t) / 1e9, "MPI_Alltoallv into the consumers' views",
               "higher", 0);
    }
    MPI_Comm_free(&group);
  }
  s.reset();
  sleepy_barrier();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Channel benchmark: msa channels vs hand-written MPI in the same run"};
  Env env;
  std::string json_file;
  app.add_flag("--quick", env.quick, "Small sizes and few repetitions (seconds)");
  app.add_option("--json", json_file, "Write the records as a JSON array to FILE");
  CLI11_PARSE(app, argc, argv);

  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &env.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &env.size);
  Kokkos::initialize(argc, argv);  // outlives the Sessions of the cases
  int rc = 0;
  try {
    if (env.size < 2) throw msa::ConfigError("run with at least 2 ranks (8 for every case): mpirun -np 8 ...");
    one_to_one(env);
    m_by_n(env, 4, 2);
    m_by_n(env, 3, 5);
    if (env.rank == 0 && !json_file.empty()) {
      msa::bench::write_records(env.records, json_file);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "msa_bench_channel: rank %d: %s\n", env.rank, e.what());
    rc = 1;
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  Kokkos::finalize();
  MPI_Finalize();
  return rc;
}
