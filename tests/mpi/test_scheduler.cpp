// The scheduler at 1 to 4 ranks: booster and cluster emulated by MSA_LAYOUT
// (one module at 1 rank). Results of DAGs, data moving between ranks,
// placement against the cost model, the journal, the history, bad input.
#include <gtest/gtest.h>
#include <mpi.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

#include "env_guard.hpp"
#include "error_message.hpp"
#include "msa/scheduler.hpp"
#include "msa/session.hpp"
#include "world.hpp"

namespace {

using msa::test::world_rank;
using msa::test::world_size;

std::string layout() {
  switch (world_size()) {
    case 1:
      return "booster:1";
    case 2:
      return "booster:1,cluster:1";
    case 3:
      return "booster:1,cluster:2";
    default:
      return "booster:" + std::to_string(world_size() / 2) +
             ",cluster:" + std::to_string(world_size() - world_size() / 2);
  }
}

struct Job {
  msa::test::EnvGuard env;
  std::unique_ptr<msa::Session> session;
  Job() {
    env.set("MSA_LAYOUT", layout());
    session = std::make_unique<msa::Session>();
  }
};

// A directory every rank agrees on, removed at the end.
struct SharedDir {
  std::string path;
  explicit SharedDir(const std::string& name) {
    path = (std::filesystem::temp_directory_path() / ("msa_test_scheduler_" + name + "_" + std::to_string(::getppid())))
               .string();
    MPI_Barrier(MPI_COMM_WORLD);
    if (world_rank() == 0) std::filesystem::remove_all(path);
    MPI_Barrier(MPI_COMM_WORLD);
  }
  ~SharedDir() {
    MPI_Barrier(MPI_COMM_WORLD);
    if (world_rank() == 0) std::filesystem::remove_all(path);
  }
};

msa::Bytes bytes_of(std::int64_t v) {
  msa::Bytes b(sizeof v);
  std::memcpy(b.data(), &v, sizeof v);
  return b;
}
std::int64_t value_of(const msa::Bytes& b) {
  std::int64_t v = 0;
  EXPECT_EQ(b.size(), sizeof v);
  std::memcpy(&v, b.data(), std::min(b.size(), sizeof v));
  return v;
}

// Emulated work of a given wall time: sleeps most of it, so ranks sharing
// a few cores (oversubscribed) do not stretch each other's tasks.
void spin(double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  if (seconds > 3e-4) std::this_thread::sleep_for(std::chrono::duration<double>(seconds - 2e-4));
  while (std::chrono::steady_clock::now() < end) {
  }
}

// leaf i -> i*i ; sum of inputs ; kinds with host variants only.
void define_arithmetic(msa::Scheduler& s) {
  s.kind("leaf").variant("host",
                         [](msa::TaskContext& c) { c.set_output(bytes_of(c.param_int("i") * c.param_int("i"))); });
  s.kind("sum").variant("host", [](msa::TaskContext& c) {
    std::int64_t total = 0;
    for (std::size_t i = 0; i < c.input_count(); ++i) total += value_of(c.input(i));
    c.set_output(bytes_of(total));
  });
}

// A reduction tree over `leaves` leaves, fan-in 3.
msa::TaskId build_tree(msa::TaskGraph& g, int leaves) {
  std::vector<msa::TaskId> level;
  for (int i = 0; i < leaves; ++i)
    level.push_back(g.add("leaf", "leaf/" + std::to_string(i), {}, {{"i", std::to_string(i)}}));
  int depth = 0;
  while (level.size() > 1) {
    std::vector<msa::TaskId> next;
    for (std::size_t i = 0; i < level.size(); i += 3) {
      std::vector<msa::TaskId> in(level.begin() + static_cast<std::ptrdiff_t>(i),
                                  level.begin() + static_cast<std::ptrdiff_t>(std::min(level.size(), i + 3)));
      next.push_back(g.add("sum", "sum/" + std::to_string(depth) + "/" + std::to_string(i), in));
    }
    level = next;
    ++depth;
  }
  return level[0];
}

msa::SchedulerOptions journal_options(const std::string& dir) {
  msa::SchedulerOptions o;
  o.journal_dir = dir;
  return o;
}
msa::SchedulerOptions history_options(const std::string& file) {
  msa::SchedulerOptions o;
  o.history_file = file;
  return o;
}
msa::SchedulerOptions policy_options(const std::string& policy) {
  msa::SchedulerOptions o;
  o.policy = policy;
  return o;
}
msa::WorkModel dense_work() {
  msa::WorkModel w;
  w.flops_per_byte = 1e4;
  return w;
}

std::int64_t sum_of_squares(int n) {
  std::int64_t s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += i * i;
  return s;
}

}  // namespace

TEST(Scheduler, ReductionTreeGivesTheExactSumOnEveryRank) {
  Job job;
  msa::Scheduler s(*job.session);
  define_arithmetic(s);
  msa::TaskGraph g;
  const auto root = build_tree(g, 500);
  const auto& stats = s.run(g);
  EXPECT_EQ(stats.tasks_run, static_cast<std::int64_t>(g.size()));
  EXPECT_EQ(stats.tasks_skipped, 0);
  EXPECT_EQ(value_of(s.result(root)), sum_of_squares(500));
  std::int64_t per_module = 0;
  for (const auto& m : stats.modules) per_module += m.tasks;
  EXPECT_EQ(per_module, static_cast<std::int64_t>(g.size()));
}

TEST(Scheduler, LargeOutputsMoveBetweenRanksIntact) {
  Job job;
  msa::Scheduler s(*job.session);
  // Producers make 2 MiB of doubles; consumers check every element and
  // return a checksum; a final task adds the checksums.
  s.kind("make").variant("host", [](msa::TaskContext& c) {
    const auto seed = c.param_int("seed");
    Kokkos::View<double*, Kokkos::HostSpace> v("v", 1 << 18);
    for (std::size_t i = 0; i < v.extent(0); ++i)
      v(i) = static_cast<double>(seed * 1000003 + static_cast<std::int64_t>(i));
    c.set_output_view(v);
  });
  s.kind("check").variant("host", [](msa::TaskContext& c) {
    std::int64_t bad = 0;
    double sum = 0;
    for (std::size_t k = 0; k < c.input_count(); ++k) {
      auto v = c.input_view<double>(k);
      const auto seed = c.param_int("seed" + std::to_string(k));
      if (v.extent(0) != (1u << 18)) ++bad;
      for (std::size_t i = 0; i < v.extent(0); ++i) {
        bad += v(i) != static_cast<double>(seed * 1000003 + static_cast<std::int64_t>(i));
        sum += v(i);
      }
    }
    c.set_output(bytes_of(bad == 0 ? static_cast<std::int64_t>(sum / 1e6) : -1 - bad));
  });
  define_arithmetic(s);
  msa::TaskGraph g;
  std::vector<msa::TaskId> makes, checks;
  for (int i = 0; i < 12; ++i)
    makes.push_back(g.add("make", "make/" + std::to_string(i), {}, {{"seed", std::to_string(i)}}));
  std::int64_t expected = 0;
  for (int i = 0; i < 12; ++i) {
    const int a = i, b = (i + 5) % 12;
    checks.push_back(g.add("check", "check/" + std::to_string(i), {makes[a], makes[b]},
                           {{"seed0", std::to_string(a)}, {"seed1", std::to_string(b)}}));
    double sum = 0;
    for (int seed : {a, b})
      for (std::int64_t k = 0; k < (1 << 18); ++k) sum += static_cast<double>(seed * 1000003 + k);
    expected += static_cast<std::int64_t>(sum / 1e6);
  }
  const auto total = g.add("sum", "total", checks);
  const auto& stats = s.run(g);
  EXPECT_EQ(value_of(s.result(total)), expected);
  if (world_size() > 1) {
    EXPECT_GT(stats.bytes_moved, 0);
  }
  // Consumed outputs are released; asking for one is a clear error.
  const auto message = msa::test::config_error([&] { s.result(makes[0]); });
  EXPECT_NE(message.find("make/0"), std::string::npos) << message;
}

TEST(Scheduler, AKindTenTimesFasterOnOneModuleGoesThereAndSpillsOverWhenItIsSaturated) {
  if (world_size() < 2) GTEST_SKIP() << "needs two modules";
  Job job;
  msa::Scheduler s(*job.session);
  const double fast = 0.002, slow = 0.020;
  // booster emulates gh200, cluster rhea1 (laptop profile).
  s.kind("gpu_friendly")
      .variant("gh200", [=](msa::TaskContext&) { spin(fast); })
      .variant("rhea1", [=](msa::TaskContext&) { spin(slow); });
  s.kind("cpu_friendly")
      .variant("gh200", [=](msa::TaskContext&) { spin(slow); })
      .variant("rhea1", [=](msa::TaskContext&) { spin(fast); });
  auto graph = [](const std::string& kind, int n, const std::string& tag) {
    msa::TaskGraph g;
    for (int i = 0; i < n; ++i) g.add(kind, tag + "/" + std::to_string(i));
    return g;
  };
  auto on = [](const msa::SchedulerStats& st, const std::string& kind, const std::string& module) {
    for (const auto& k : st.kinds)
      if (k.kind == kind && k.module == module) return k.tasks;
    return std::int64_t{0};
  };
  // Calibration: both kinds run a few times on both modules.
  s.run(graph("gpu_friendly", 12, "warm-gpu"));
  s.run(graph("cpu_friendly", 12, "warm-cpu"));
  EXPECT_NEAR(s.estimate("gpu_friendly", "booster", 0), fast, fast);
  EXPECT_NEAR(s.estimate("gpu_friendly", "cluster", 0), slow, slow / 2);

  // Few tasks: waiting for the fast module beats the slow one every time.
  const auto& few = s.run(graph("gpu_friendly", 4, "few"));
  EXPECT_EQ(on(few, "gpu_friendly", "booster"), 4) << few.report();
  const auto& few_cpu = s.run(graph("cpu_friendly", 4, "few-cpu"));
  EXPECT_EQ(on(few_cpu, "cpu_friendly", "cluster"), 4) << few_cpu.report();

  // Many tasks: the fast module is saturated and the slow one takes a share
  // (the optimum gives it about 1/11 of them per rank ratio).
  const int many = 80;
  const auto& st = s.run(graph("gpu_friendly", many, "many"));
  const auto booster = on(st, "gpu_friendly", "booster"), cluster = on(st, "gpu_friendly", "cluster");
  EXPECT_EQ(booster + cluster, many);
  EXPECT_GE(cluster, 2) << st.report();
  EXPECT_GE(booster, many * 3 / 4) << st.report();
}

TEST(Scheduler, JournalSkipsCompletedTasksAndGivesTheSameResult) {
  Job job;
  SharedDir dir("journal");
  msa::TaskGraph g;
  const auto root = build_tree(g, 200);
  const auto total = static_cast<std::int64_t>(g.size());
  {
    // The first run fails on one leaf: the error reaches every rank.
    msa::Scheduler s(*job.session, journal_options(dir.path));
    define_arithmetic(s);
    s.kind("leaf").variant("host", [](msa::TaskContext& c) {
      if (c.param_int("i") == 150) throw std::runtime_error("disk on fire");
      c.set_output(bytes_of(c.param_int("i") * c.param_int("i")));
    });
    const auto message = msa::test::error_message<msa::Error>([&] { s.run(g); });
    EXPECT_NE(message.find("leaf/150"), std::string::npos) << message;
    EXPECT_NE(message.find("disk on fire"), std::string::npos) << message;
    EXPECT_NE(message.find("kind leaf"), std::string::npos) << message;
  }
  std::int64_t skipped = 0;
  {
    msa::Scheduler s(*job.session, journal_options(dir.path));
    define_arithmetic(s);
    const auto& st = s.run(g);
    skipped = st.tasks_skipped;
    EXPECT_GT(st.tasks_skipped, 0);
    EXPECT_LT(st.tasks_skipped, total);
    EXPECT_EQ(st.tasks_run + st.tasks_skipped, total);
    EXPECT_EQ(value_of(s.result(root)), sum_of_squares(200));
  }
  // Tear the last record of rank 0's journal: those tasks run again, the
  // result is the same, and nothing after the tear is lost.
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) {
    const auto file = std::filesystem::path(dir.path) / "journal.0.bin";
    const auto size = std::filesystem::file_size(file);
    std::filesystem::resize_file(file, size - 3);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  {
    msa::Scheduler s(*job.session, journal_options(dir.path));
    define_arithmetic(s);
    const auto& st = s.run(g);
    EXPECT_GE(st.tasks_run, 1);
    EXPECT_EQ(st.tasks_run + st.tasks_skipped, total);
    EXPECT_EQ(value_of(s.result(root)), sum_of_squares(200));
  }
  {
    // Everything is journaled now: nothing runs, the result comes from the journal.
    msa::Scheduler s(*job.session, journal_options(dir.path));
    define_arithmetic(s);
    const auto& st = s.run(g);
    EXPECT_EQ(st.tasks_run, 0);
    EXPECT_EQ(st.tasks_skipped, total);
    EXPECT_EQ(value_of(s.result(root)), sum_of_squares(200));
  }
  {
    // A changed parameter changes the task (and everything downstream of it).
    msa::TaskGraph changed;
    build_tree(changed, 200);
    msa::TaskGraph g2;
    std::vector<msa::TaskId> leaves;
    for (int i = 0; i < 3; ++i)
      leaves.push_back(g2.add("leaf", "leaf/" + std::to_string(i), {}, {{"i", std::to_string(i == 2 ? 7 : i)}}));
    const auto top = g2.add("sum", "sum/0/0", leaves);
    msa::Scheduler s(*job.session, journal_options(dir.path));
    define_arithmetic(s);
    const auto& st = s.run(g2);
    EXPECT_EQ(st.tasks_skipped, 2);  // leaf/0 and leaf/1 are unchanged
    EXPECT_EQ(value_of(s.result(top)), 0 + 1 + 49);
  }
  (void)skipped;
}

TEST(Scheduler, HistoryIsPersistedAndReadBack) {
  Job job;
  SharedDir dir("history");
  const std::string file = dir.path + "/history.json";
  std::vector<double> before;
  {
    msa::Scheduler s(*job.session, history_options(file));
    s.kind("nap").variant("host", [](msa::TaskContext&) { spin(0.003); });
    msa::TaskGraph g;
    for (int i = 0; i < 10; ++i) g.add("nap", "nap/" + std::to_string(i));
    s.run(g);
    // Every rank holds rank 0's history after run(); a 3 ms task never
    // measures less than 3 ms (more when the node is oversubscribed).
    for (const auto& module : job.session->modules()) {
      before.push_back(s.estimate("nap", module, 0));
      if (before.back() > 0) {
        EXPECT_GE(before.back(), 0.003) << module;
        EXPECT_LT(before.back(), 0.03) << module;
      }
    }
    EXPECT_GT(*std::max_element(before.begin(), before.end()), 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  ASSERT_TRUE(std::filesystem::exists(file));
  {
    // A new scheduler (a later run of the program) starts from the same estimates.
    msa::Scheduler s(*job.session, history_options(file));
    s.kind("nap").variant("host", [](msa::TaskContext&) {});
    for (std::size_t m = 0; m < job.session->modules().size(); ++m)
      EXPECT_NEAR(s.estimate("nap", job.session->modules()[m], 0), before[m], 1e-12) << job.session->modules()[m];
  }
  // A damaged history file is an error naming it.
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) std::ofstream(file) << "{ not json";
  MPI_Barrier(MPI_COMM_WORLD);
  const auto message = msa::test::config_error([&] { msa::Scheduler s(*job.session, history_options(file)); });
  EXPECT_NE(message.find(file), std::string::npos) << message;
}

TEST(Scheduler, PriorsFromNominalFiguresPreferTheFasterClassBeforeAnyHistory) {
  Job job;
  msa::Scheduler s(*job.session);
  s.kind("dense").variant("host", [](msa::TaskContext&) {}).work(dense_work());
  const auto& modules = job.session->modules();
  if (std::find(modules.begin(), modules.end(), "cluster") == modules.end()) GTEST_SKIP() << "needs the cluster";
  // gh200 (booster) has 136 TF per node, rhea1 (cluster) 5.2 TF.
  const double booster = s.estimate("dense", "booster", 1e6), cluster = s.estimate("dense", "cluster", 1e6);
  ASSERT_GT(booster, 0);
  EXPECT_GT(cluster / booster, 10);
}

TEST(Scheduler, BadGraphsAndKindsAreClearErrorsOnEveryRank) {
  Job job;
  msa::Scheduler s(*job.session);
  define_arithmetic(s);
  {
    msa::TaskGraph g;
    g.add("leaf", "a", {}, {{"i", "1"}});
    g.add("laef", "b");
    const auto m = msa::test::config_error([&] { s.run(g); });
    EXPECT_NE(m.find("unknown task kind 'laef'"), std::string::npos) << m;
    EXPECT_NE(m.find("'b'"), std::string::npos) << m;
  }
  {
    s.kind("tpu_only").variant("tpu", [](msa::TaskContext&) {});
    msa::TaskGraph g;
    g.add("tpu_only", "x");
    const auto m = msa::test::config_error([&] { s.run(g); });
    EXPECT_NE(m.find("tpu_only"), std::string::npos) << m;
    EXPECT_NE(m.find("booster"), std::string::npos) << m;
  }
  {
    msa::TaskGraph g;
    g.add("leaf", "a", {}, {{"i", "1"}});
    if (world_rank() == world_size() - 1) g.add("leaf", "extra", {}, {{"i", "2"}});
    const auto m = msa::test::config_error([&] { s.run(g); });
    if (world_size() > 1) {
      EXPECT_NE(m.find("differs between ranks"), std::string::npos) << m;
    }
  }
  {
    msa::TaskGraph g;
    g.add("leaf", "a", {}, {{"i", "1"}});
    EXPECT_NE(msa::test::config_error([&] { g.add("leaf", "a"); }).find("two tasks are called 'a'"), std::string::npos);
    EXPECT_NE(msa::test::config_error([&] { g.add("sum", "s", {msa::TaskId{5}}); }).find("invalid task id 5"),
              std::string::npos);
  }
  {
    // A missing or malformed parameter fails the task with its name.
    msa::TaskGraph g;
    g.add("leaf", "no-param");
    const auto m = msa::test::error_message<msa::Error>([&] { s.run(g); });
    EXPECT_NE(m.find("no parameter 'i'"), std::string::npos) << m;
    msa::TaskGraph g2;
    g2.add("leaf", "bad-param", {}, {{"i", "12x"}});
    const auto m2 = msa::test::error_message<msa::Error>([&] { s.run(g2); });
    EXPECT_NE(m2.find("'12x' is not an integer"), std::string::npos) << m2;
  }
  // After errors the scheduler still runs graphs.
  msa::TaskGraph g;
  const auto root = build_tree(g, 30);
  s.run(g);
  EXPECT_EQ(value_of(s.result(root)), sum_of_squares(30));
  const auto m = msa::test::config_error([&] { msa::Scheduler bad(*job.session, policy_options("fastest")); });
  EXPECT_NE(m.find("unknown policy 'fastest'"), std::string::npos) << m;
}

TEST(Scheduler, RoundRobinPolicyRunsTheSameGraphToTheSameResult) {
  Job job;
  msa::Scheduler s(*job.session, policy_options("round_robin"));
  define_arithmetic(s);
  msa::TaskGraph g;
  const auto root = build_tree(g, 100);
  const auto& st = s.run(g);
  EXPECT_EQ(value_of(s.result(root)), sum_of_squares(100));
  for (const auto& m : st.modules) EXPECT_GT(m.tasks, 0) << m.module;
}
