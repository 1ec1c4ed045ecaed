// The climate benchmark, one run, baselines measured in the same process:
//  1. stencil: the model's time step (one rank) against the STREAM-copy bound,
//     the bytes one step must move (3 stages reading and writing h, u, v) at
//     the copy bandwidth measured here;
//  2. coupled: model (booster rank) + analysis (cluster rank) through the
//     channel, wall time against max(model alone, run next to each coupled
//     run, analysis alone), with an
//     analysis lighter than the model and one heavier, under each policy.
//   mpirun -np 2 msa_bench_climate [--quick] [--json FILE]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <msa/msa.hpp>
#include <nlohmann/json.hpp>

#include "../bench_common.hpp"
#include "analysis.hpp"
#include "progress.hpp"
#include "shallow_water.hpp"

namespace {

using msa::bench::median;
using msa::bench::now;

nlohmann::json g_records = nlohmann::json::array();

void record(const std::string& name, const std::string& metric, const std::string& unit, double msa, double baseline,
            const std::string& baseline_name, const std::string& better, double goal, const std::string& extra = "") {
  const double ratio = baseline > 0 ? msa / baseline : 0;
  g_records.push_back(
      msa::bench::make_record("climate", name, metric, unit, msa, baseline, baseline_name, better, goal));
  std::printf("climate %-34s %-9s msa %9.4f %-4s baseline %9.4f %-4s (%s)  ratio %.3f%s%s\n", name.c_str(),
              metric.c_str(), msa, unit.c_str(), baseline, unit.c_str(), baseline_name.c_str(), ratio,
              goal > 0 ? msa::bench::goal_text(better, goal).c_str() : "", extra.c_str());
  std::fflush(stdout);
}

// STREAM copy with Kokkos of n doubles: bytes read + written per second.
class StreamCopy {
 public:
  explicit StreamCopy(int64_t n) : m_a("a", static_cast<std::size_t>(n)), m_b("b", static_cast<std::size_t>(n)) {
    Kokkos::deep_copy(m_a, 1.0);
    Kokkos::deep_copy(m_b, 0.0);  // its pages faulted in before any timing
  }
  double bandwidth() const {
    const auto a = m_a;
    const auto b = m_b;
    const double t0 = now();
    Kokkos::parallel_for(
        "stream_copy", a.extent(0), KOKKOS_LAMBDA(const std::size_t i) { b(i) = a(i); });
    Kokkos::fence();
    return 2.0 * 8.0 * static_cast<double>(a.extent(0)) / (now() - t0) / 1e9;
  }

 private:
  Kokkos::View<double*> m_a, m_b;
};

climate::Config bench_config(int64_t n) {
  climate::Config c;
  c.nx = c.ny = n;
  c.dt = 40 * 256.0 / static_cast<double>(n);
  return c;
}

// Frames the analysis alone works on: the model's states, made beforehand.
std::vector<std::vector<double>> make_frames(const climate::Config& c, int frames, int every) {
  climate::Model m(c, MPI_COMM_SELF);
  m.initialise();
  std::vector<std::vector<double>> out;
  for (int f = 0; f < frames; ++f) {
    auto owned = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m.owned());
    std::vector<double> v;
    for (int k = 0; k < 3; ++k)
      for (int64_t j = 0; j < c.ny; ++j)
        for (int64_t i = 0; i < c.nx; ++i) v.push_back(owned(k, j, i));
    out.push_back(std::move(v));
    for (int s = 0; s < every; ++s) m.step();
  }
  return out;
}

climate::AnalysisConfig analysis_config(const climate::Config& c) {
  climate::AnalysisConfig a;
  a.threshold = c.depth - 10;
  a.hist_min = c.depth - 50;
  a.hist_max = c.depth + 10;
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string json_file;
  CLI::App app("msa climate benchmark: stencil vs STREAM copy; coupled model + analysis vs each alone");
  app.add_flag("--quick", quick, "Small sizes, few repetitions (seconds)");
  app.add_option("--json", json_file, "Write the records as a JSON array to FILE");
  CLI11_PARSE(app, argc, argv);
  if (!std::getenv("MSA_LAYOUT") && !std::getenv("MSA_MODULE")) setenv("MSA_LAYOUT", "booster:1,cluster:1", 0);
  try {
    msa::Session session(argc, argv);
    if (session.world().size() != 2 || session.components().size() != 2)
      throw msa::ConfigError(
          "run with 2 ranks: mpirun -np 2 -x MSA_LAYOUT=booster:1,cluster:1 msa_bench_climate "
          "(MSA_LAYOUT is set for you when absent)");
    const bool model_side = session.component_name() == "booster";
    const bool root = session.world().rank() == 0;
    const int repeats = quick ? 3 : 7;

    // 1. Stencil throughput against the STREAM-copy bound (booster rank; the other waits).
    if (model_side) {
      const int64_t n = quick ? 512 : 1024;
      const double cells = static_cast<double>(n * n);
      climate::Model big(bench_config(n), session.component());
      big.initialise();
      big.step();  // warm up
      // The same step stage by stage (Config::fuse_stages), for comparison.
      climate::Config staged_config = bench_config(n);
      staged_config.fuse_stages = false;
      climate::Model staged(staged_config, session.component());
      staged.initialise();
      staged.step();
      // Seconds per step of `m`, over `steps` steps.
      auto time_steps = [](climate::Model& m, int steps) {
        const double t0 = now();
        for (int s = 0; s < steps; ++s) m.step();
        return (now() - t0) / steps;
      };
      // The stencil and the copy take turns, so that both see the same state
      // of a shared machine (its bandwidth drifts by a quarter within minutes).
      const StreamCopy stream(static_cast<int64_t>(8 * cells));
      std::vector<double> step, copy, staged_step;
      for (int r = 0; r < repeats; ++r) {
        step.push_back(time_steps(big, quick ? 5 : 20));
        copy.push_back(stream.bandwidth());
        staged_step.push_back(time_steps(staged, quick ? 5 : 20));
      }
      // The same kernel with its data in cache (128 x 128, about 1.3 MB): what
      // the computation alone costs, for comparison (no goal).
      climate::Model small(bench_config(128), session.component());
      small.initialise();
      small.step();
      std::vector<double> in_cache;
      for (int r = 0; r < repeats; ++r) in_cache.push_back(time_steps(small, quick ? 200 : 800));
      std::printf(
          "climate stencil per point and step: %.2f ns at %ldx%ld (stage by stage %.2f), %.2f ns at 128x128 (in "
          "cache)\n",
          median(step) / cells * 1e9, static_cast<long>(n), static_cast<long>(n), median(staged_step) / cells * 1e9,
          median(in_cache) / (128.0 * 128.0) * 1e9);
      // The bytes of a step stage by stage: stage 1 reads and writes 3
      // fields, stages 2 and 3 read 6 and write 3. The fused step (the
      // model's default on CPUs) moves fewer across memory (see
      // Model::fused_step()): its figure is the stage-by-stage bytes over its
      // time, the throughput against the bound of stepping stage by stage.
      const double bytes = 24.0 * 8.0 * cells;
      const std::string size = std::to_string(n) + "x" + std::to_string(n);
      record("stencil " + size, "bandwidth", "GB/s", bytes / median(step) / 1e9, median(copy), "STREAM copy (Kokkos)",
             "higher", 0.85);
      record("stencil staged " + size, "bandwidth", "GB/s", bytes / median(staged_step) / 1e9, median(copy),
             "STREAM copy (Kokkos)", "higher", 0);
    }
    MPI_Barrier(session.world());

    // 2. Coupled against each alone. The model sends every `every` steps.
    const int64_t n = quick ? 128 : 256;
    const climate::Config c = bench_config(n);
    const int steps = quick ? 240 : 1920, every = 10;
    const int frames = steps / every + 1;
    const auto prepared = model_side ? std::vector<std::vector<double>>{} : make_frames(c, frames, every);
    const msa::Decomposition whole = msa::Decomposition::of({3, n, n}, msa::Box::whole({3, n, n}));

    int round = 0;  // a fresh channel name per run, the same sequence on both sides
    auto run_model = [&](const std::string& engine, const std::string& policy, int64_t* dropped) {
      climate::Model m(c, session.component());
      m.initialise();
      auto ch = session.channel("fields-" + engine + "-" + std::to_string(round++))
                    .to("cluster")
                    .engine(engine)
                    .policy(msa::policy_from_string(policy))
                    .decomposition(msa::Decomposition::of(m.global_shape(), m.box()))
                    .open<double>();
      const double t0 = now();
      ch.put(0, 0, m.owned());
      for (int s = 1; s <= steps; ++s) {
        m.step();
        if (s % every == 0) ch.put(s, m.time(), m.owned());
      }
      ch.close();
      if (dropped) *dropped = ch.stats().steps_dropped;
      return now() - t0;
    };
    auto analyse = [&](climate::Analysis& a, const double* data, int work) {
      for (int w = 0; w <= work; ++w) a.compute(data);
      a.accumulate(data);
    };
    auto run_analysis_alone = [&](int work) {
      climate::Analysis a(climate::grid_of(c), analysis_config(c), session.component(), 0, n);
      const double t0 = now();
      for (const auto& f : prepared) analyse(a, f.data(), work);
      return now() - t0;
    };
    auto run_analysis = [&](const std::string& policy, int work) {
      climate::Analysis a(climate::grid_of(c), analysis_config(c), session.component(), 0, n);
      auto ch = session.channel("fields-mpi-" + std::to_string(round++))
                    .from("booster")
                    .policy(msa::policy_from_string(policy))
                    .decomposition(whole)
                    .open<double>();
      const double t0 = now();
      while (auto f = ch.get()) analyse(a, f->data().data(), work);
      ch.close();
      return now() - t0;
    };

    // The analysis alone: measured on the cluster rank, shared with both.
    // A light analysis does the diagnostics once per frame; a heavy one
    // enough times to take longer than the model.
    double model_alone = 0;
    {
      std::vector<double> t;
      for (int r = 0; r < repeats; ++r) {
        double mine = 0;
        if (model_side)
          mine = run_model("null", "block", nullptr);
        else
          ++round;  // the model side used a name
        MPI_Allreduce(MPI_IN_PLACE, &mine, 1, MPI_DOUBLE, MPI_MAX, session.world());
        t.push_back(mine);
      }
      model_alone = median(t);
    }
    for (const auto& [label, work_target] :
         std::vector<std::pair<std::string, double>>{{"light", 0.5}, {"heavy", 1.5}}) {
      // Choose the analysis' work so that it takes about `work_target` x the
      // model alone: its base cost plus a measured cost per extra pass.
      double base_cost = 0, one_more = 0;
      if (!model_side) {
        base_cost = run_analysis_alone(0);
        // An extra pass costs about what the first one does; a noisy
        // difference must not make it look free (and the work endless).
        one_more = std::max(run_analysis_alone(1) - base_cost, 0.5 * base_cost);
      }
      MPI_Bcast(&base_cost, 1, MPI_DOUBLE, 1, session.world());
      MPI_Bcast(&one_more, 1, MPI_DOUBLE, 1, session.world());
      const int work =
          std::clamp(static_cast<int>(std::ceil((work_target * model_alone - base_cost) / one_more)), 0, 1000);
      std::vector<double> alone_t;
      for (int r = 0; r < repeats; ++r) {
        double mine = model_side ? 0 : run_analysis_alone(work);
        MPI_Allreduce(MPI_IN_PLACE, &mine, 1, MPI_DOUBLE, MPI_MAX, session.world());
        alone_t.push_back(mine);
      }
      const double analysis_alone = median(alone_t);
      for (const std::string policy : {"block", "drop_oldest", "drop_newest", "latest_only"}) {
        // The model alone again, run by run next to the coupled runs: the
        // machine's speed drifts over the benchmark, and a baseline taken
        // seconds earlier would count that drift as coupling cost.
        std::vector<double> t, model_t;
        int64_t dropped = 0;
        for (int r = 0; r < repeats; ++r) {
          double alone = 0;
          if (model_side)
            alone = run_model("null", "block", nullptr);
          else
            ++round;
          MPI_Allreduce(MPI_IN_PLACE, &alone, 1, MPI_DOUBLE, MPI_MAX, session.world());
          model_t.push_back(alone);
          double mine = model_side ? run_model("mpi", policy, &dropped) : run_analysis(policy, work);
          MPI_Allreduce(MPI_IN_PLACE, &mine, 1, MPI_DOUBLE, MPI_MAX, session.world());
          t.push_back(mine);
        }
        MPI_Bcast(&dropped, 1, MPI_INT64_T, 0, session.world());
        const double model_now = median(model_t), baseline = std::max(model_now, analysis_alone);
        char extra[160];
        std::snprintf(extra, sizeof extra,
                      "; model alone %.3f s, analysis alone %.3f s; %lld of %d steps dropped (last run)", model_now,
                      analysis_alone, static_cast<long long>(dropped), frames);
        if (root)
          record("coupled " + label + " analysis " + policy, "wall", "s", median(t), baseline,
                 "max(model alone, analysis alone)", "lower", label == "light" ? 1.05 : 0, extra);
      }
    }
    if (root && !json_file.empty()) {
      msa::bench::write_records(g_records, json_file);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "msa_bench_climate: %s\n", e.what());
    return 1;
  }
}
