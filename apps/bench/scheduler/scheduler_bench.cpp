// The scheduler benchmark, one run, baselines measured or computed in the same process:
//  1. overhead: empty independent tasks over all ranks, time per task, next
//     to an MPI ping-pong round trip measured here (goal <= 5 us a task);
//     and, when built with StarPU (libstarpu-dev), next to StarPU's own
//     empty-task time with as many CPU workers in one process (dmda);
//  2. makespan: synthetic mixed DAGs (independent, layered) of kinds with
//     different booster/cluster speeds, emulated by calibrated waits, against
//     the lower bound max(area bound, critical path) computed here (goal <=
//     1.10 x), and against round-robin placement run on the same DAG.
//   mpirun -np 4 msa_bench_scheduler [--quick] [--json FILE]
// Without MSA_LAYOUT (or another module hint) the ranks are split half
// booster, half cluster (laptop profile: booster emulates gh200, cluster rhea1).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <msa/msa.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "../bench_common.hpp"

#ifdef MSA_BENCH_HAVE_STARPU
#include <starpu.h>
#endif

namespace {

using msa::bench::median;
using msa::bench::now;

nlohmann::json g_records = nlohmann::json::array();
int g_rank = 0;

void record(const std::string& name, const std::string& metric, const std::string& unit, double msa, double baseline,
            const std::string& baseline_name, const std::string& better, double goal, const std::string& extra = "") {
  const double ratio = baseline > 0 ? msa / baseline : 0;
  g_records.push_back(
      msa::bench::make_record("scheduler", name, metric, unit, msa, baseline, baseline_name, better, goal));
  if (g_rank == 0) {
    std::printf("scheduler %-30s %-9s msa %9.3f %-3s baseline %9.3f %-3s (%s)  ratio %.3f%s%s\n", name.c_str(),
                metric.c_str(), msa, unit.c_str(), baseline, unit.c_str(), baseline_name.c_str(), ratio,
                goal > 0 ? msa::bench::goal_text(better, goal).c_str() : "", extra.c_str());
    std::fflush(stdout);
  }
}

// Calibrated work: the task takes `seconds` of wall time. It sleeps for most
// of it and spins the rest, so emulated modules sharing a laptop's few cores
// do not slow each other down (the wait is what is being scheduled).
void work_for(double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  if (seconds > 3e-4) std::this_thread::sleep_for(std::chrono::duration<double>(seconds - 2e-4));
  while (std::chrono::steady_clock::now() < end) {
  }
}

struct Kind {
  std::string name;
  double booster, cluster;  // seconds per task
};

struct Dag {
  std::string name;
  std::vector<int> kind;               // per task
  std::vector<std::vector<int>> deps;  // per task
};

// Lower bound on the makespan: the larger of the critical path (each task at
// its faster module) and the area bound (kinds split fractionally between the
// two modules so both finish together: the best split gives each module the
// kinds it is relatively fastest at, so a greedy by speed ratio is exact).
double lower_bound(const Dag& dag, const std::vector<Kind>& kinds, int booster_ranks, int cluster_ranks) {
  std::vector<double> finish(dag.kind.size(), 0);
  double path = 0;
  for (std::size_t t = 0; t < dag.kind.size(); ++t) {
    double start = 0;
    for (int d : dag.deps[t]) start = std::max(start, finish[static_cast<std::size_t>(d)]);
    const Kind& k = kinds[static_cast<std::size_t>(dag.kind[t])];
    finish[t] = start + std::min(k.booster, k.cluster);
    path = std::max(path, finish[t]);
  }
  std::vector<double> count(kinds.size(), 0);
  for (int k : dag.kind) count[static_cast<std::size_t>(k)] += 1;
  std::vector<std::size_t> order(kinds.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return kinds[a].booster / kinds[a].cluster < kinds[b].booster / kinds[b].cluster;
  });
  auto feasible = [&](double T) {
    double booster_left = T * booster_ranks, cluster_load = 0;
    for (std::size_t i : order) {
      const double on_booster = std::min(count[i], booster_left / kinds[i].booster);
      booster_left -= on_booster * kinds[i].booster;
      cluster_load += (count[i] - on_booster) * kinds[i].cluster;
    }
    return cluster_load <= T * cluster_ranks * (1 + 1e-12);
  };
  double lo = 0, hi = 0;
  for (std::size_t i = 0; i < kinds.size(); ++i) hi += count[i] * std::min(kinds[i].booster, kinds[i].cluster);
  for (int it = 0; it < 100; ++it) {
    const double mid = 0.5 * (lo + hi);
    (feasible(mid) ? hi : lo) = mid;
  }
  return std::max(path, hi);
}

Dag independent(const std::vector<int>& counts) {
  Dag d{"independent", {}, {}};
  // Interleaved, as a pipeline would submit them.
  const int most = *std::max_element(counts.begin(), counts.end());
  for (int i = 0; i < most; ++i)
    for (std::size_t k = 0; k < counts.size(); ++k)
      if (i < counts[k]) {
        d.kind.push_back(static_cast<int>(k));
        d.deps.emplace_back();
      }
  return d;
}

Dag layered(int layers, int width, int kinds) {
  Dag d{"layered", {}, {}};
  std::uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int>(state >> 33);
  };
  for (int l = 0; l < layers; ++l)
    for (int w = 0; w < width; ++w) {
      d.kind.push_back((l + w) % kinds);
      std::vector<int> deps;
      if (l > 0) {
        const int base = (l - 1) * width;
        deps.push_back(base + w);
        const int other = base + next() % width;
        if (other != base + w) deps.push_back(other);
      }
      d.deps.push_back(deps);
    }
  return d;
}

msa::TaskGraph to_graph(const Dag& dag, const std::vector<Kind>& kinds, const std::string& tag) {
  msa::TaskGraph g;
  for (std::size_t t = 0; t < dag.kind.size(); ++t) {
    std::vector<msa::TaskId> in;
    for (int d : dag.deps[t]) in.push_back(msa::TaskId{d});
    g.add(kinds[static_cast<std::size_t>(dag.kind[t])].name, tag + "/" + std::to_string(t), in);
  }
  return g;
}

double ping_pong_us(const msa::Session& session, int repeats) {
  if (session.world().size() < 2) return 0;
  const int rank = session.world().rank();
  char byte = 0;
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    MPI_Barrier(session.world());
    const double t0 = now();
    if (rank == 0) {
      MPI_Send(&byte, 1, MPI_BYTE, 1, 7, session.world());
      MPI_Recv(&byte, 1, MPI_BYTE, 1, 7, session.world(), MPI_STATUS_IGNORE);
    } else if (rank == 1) {
      MPI_Recv(&byte, 1, MPI_BYTE, 0, 7, session.world(), MPI_STATUS_IGNORE);
      MPI_Send(&byte, 1, MPI_BYTE, 0, 7, session.world());
    }
    t.push_back(now() - t0);
  }
  return 1e6 * median(t);
}

#ifdef MSA_BENCH_HAVE_STARPU
// StarPU's time per empty task: `workers` CPU workers in this process, its
// dmda scheduler (the placement msa's follows), `n` independent tasks; the
// median of `repeats`. Returns 0 when StarPU does not start.
double starpu_empty_us(int workers, int n, int repeats) {
  setenv("STARPU_SILENT", "1", 0);
  setenv("STARPU_WORKERS_NOBIND", "1", 0);  // the MPI ranks' binding stays as it is
  starpu_conf conf;
  starpu_conf_init(&conf);
  conf.ncpus = workers;
  conf.ncuda = 0;
  conf.nopencl = 0;
  conf.sched_policy_name = "dmda";
  if (starpu_init(&conf) != 0) return 0;
  static starpu_codelet codelet;
  starpu_codelet_init(&codelet);
  codelet.cpu_funcs[0] = [](void**, void*) {};
  codelet.nbuffers = 0;
  codelet.name = "empty";
  std::vector<double> per_task;
  for (int r = 0; r < repeats + 1; ++r) {  // the first is a warm-up
    const double t0 = now();
    for (int i = 0; i < n; ++i) {
      starpu_task* task = starpu_task_create();
      task->cl = &codelet;
      if (starpu_task_submit(task) != 0) {
        starpu_shutdown();
        return 0;
      }
    }
    starpu_task_wait_for_all();
    if (r > 0) per_task.push_back(1e6 * (now() - t0) / n);
  }
  starpu_shutdown();
  return median(per_task);
}
#endif

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"msa scheduler benchmark: empty-task overhead and makespan vs lower bound and round robin"};
  bool quick = false;
  std::string json;
  int repeats = 0;
  app.add_flag("--quick", quick, "a few seconds: fewer and shorter tasks");
  app.add_option("--json", json, "write DESIGN's records to this file");
  bool verbose = false;
  app.add_flag("--verbose", verbose, "print the scheduler's report of each measured run");
  app.add_option("--repeats", repeats, "repetitions per case (median reported); default 5, 3 with --quick");
  CLI11_PARSE(app, argc, argv);
  if (repeats <= 0) repeats = quick ? 3 : 5;

  // Half booster, half cluster unless told otherwise (MPI started here to
  // know the size; the Session then leaves its finalisation to us).
  bool started_mpi = false;
  if (!std::getenv("MSA_LAYOUT") && !std::getenv("MSA_MODULE") && !std::getenv("PSP_MSA_MODULE_ID")) {
    int size = 0;
    MPI_Init(&argc, &argv);
    started_mpi = true;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int booster = std::max(1, size / 2);
    const std::string layout =
        size == 1 ? "booster:1" : "booster:" + std::to_string(booster) + ",cluster:" + std::to_string(size - booster);
    setenv("MSA_LAYOUT", layout.c_str(), 1);
  }
  try {
    msa::Session session(argc, argv);
    g_rank = session.world().rank();
    const auto booster_ranks = static_cast<int>(session.module_ranks("booster").size());
    const auto cluster_ranks = static_cast<int>(session.module_ranks("cluster").size());
    if (g_rank == 0)
      std::printf("scheduler bench: %d ranks (booster %d, cluster %d)%s\n", session.world().size(), booster_ranks,
                  cluster_ranks, quick ? ", quick" : "");

    // 1. Overhead of empty tasks.
    {
      msa::SchedulerOptions options;
      options.warn_small_tasks = false;
      msa::Scheduler scheduler(session, options);
      scheduler.kind("empty").variant("host", [](msa::TaskContext&) {});
      const int n = quick ? 20000 : 100000;
      msa::TaskGraph g;
      for (int i = 0; i < n; ++i) g.add("empty", "e" + std::to_string(i));
      std::vector<double> per_task, master;
      scheduler.run(g);  // warm up: history of the kind, pages, connections
      for (int r = 0; r < repeats; ++r) {
        const auto& st = scheduler.run(g);
        per_task.push_back(1e6 * st.makespan_seconds / n);
        master.push_back(1e6 * st.overhead_seconds);
      }
      const double rtt = ping_pong_us(session, 101);
      char extra[160];
      std::snprintf(extra, sizeof extra, "  (goal <= 5 us a task; %d tasks, master busy %.2f us a task)", n,
                    median(master));
      record("empty tasks", "overhead", "us", median(per_task), rtt, "MPI ping-pong round trip", "lower", 0, extra);
      g_records.back()["goal_us"] = 5.0;
#ifdef MSA_BENCH_HAVE_STARPU
      // StarPU on rank 0 alone, with as many workers as msa had ranks; the
      // other ranks sleep meanwhile.
      double starpu = 0;
      if (g_rank == 0) starpu = starpu_empty_us(session.world().size(), n, repeats);
      msa::bench::sleepy_barrier();
      MPI_Bcast(&starpu, 1, MPI_DOUBLE, 0, session.world());
      if (starpu > 0) {
        record("empty tasks vs StarPU", "overhead", "us", median(per_task), starpu,
               "StarPU 1.3 dmda, " + std::to_string(session.world().size()) + " CPU workers in one process", "lower",
               0);
      } else if (g_rank == 0) {
        std::printf("scheduler empty tasks vs StarPU: StarPU did not start; case skipped\n");
      }
#endif
    }

    // 2. Makespan of mixed DAGs.
    if (booster_ranks == 0 || cluster_ranks == 0) {
      if (g_rank == 0) std::printf("scheduler makespan cases need both modules (at least 2 ranks)\n");
    } else {
      const double unit = quick ? 1e-3 : 2e-3;
      const std::vector<Kind> kinds = {{"align_like", 1 * unit, 10 * unit},  // GPU-friendly
                                       {"parse_like", 4 * unit, 2 * unit},   // CPU-friendly
                                       {"stats_like", 3 * unit, 3 * unit}};  // indifferent
      const int scale = (quick ? 1 : 3) * std::max(booster_ranks, cluster_ranks);
      std::vector<Dag> dags = {independent({20 * scale, 12 * scale, 10 * scale}),
                               layered(quick ? 6 : 10, 6 * std::max(booster_ranks, cluster_ranks), 3)};
      for (const Dag& dag : dags) {
        const double bound = lower_bound(dag, kinds, booster_ranks, cluster_ranks);
        std::vector<double> eft, rr;
        for (const std::string policy : {"eft", "round_robin"}) {
          msa::SchedulerOptions options;
          options.policy = policy;
          options.warn_small_tasks = false;
          msa::Scheduler scheduler(session, options);
          for (const Kind& k : kinds)
            scheduler.kind(k.name)
                .variant("gh200", [t = k.booster](msa::TaskContext&) { work_for(t); })
                .variant("rhea1", [t = k.cluster](msa::TaskContext&) { work_for(t); });
          // Calibration run: every kind a few times on each module.
          scheduler.run(to_graph(independent({4 * (booster_ranks + cluster_ranks), 4 * (booster_ranks + cluster_ranks),
                                              4 * (booster_ranks + cluster_ranks)}),
                                 kinds, "calibrate"));
          for (int r = 0; r < repeats; ++r) {
            const auto& st = scheduler.run(to_graph(dag, kinds, dag.name + std::to_string(r)));
            (policy == std::string("eft") ? eft : rr).push_back(st.makespan_seconds);
            if (verbose && g_rank == 0)
              std::printf("%s %s:\n%s", dag.name.c_str(), policy.c_str(), st.report().c_str());
          }
        }
        char extra[128];
        std::snprintf(extra, sizeof extra, "  (%zu tasks; round robin %.3f s = %.2f x bound)", dag.kind.size(),
                      median(rr), median(rr) / bound);
        record(dag.name + " mixed DAG", "makespan", "s", median(eft), bound, "lower bound max(area, critical path)",
               "lower", 1.10, extra);
        record(dag.name + " mixed DAG vs round robin", "makespan", "s", median(eft), median(rr),
               "round-robin placement", "lower", 0);
      }
    }
    if (!json.empty() && g_rank == 0) msa::bench::write_records(g_records, json);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "msa_bench_scheduler: %s\n", e.what());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  if (started_mpi) MPI_Finalize();
  return 0;
}
