// The scheduler in a few lines: five squares and their sum, placed on the
// modules by expected finish time, journaled so a rerun skips them.
//   mpirun -np 2 -x MSA_LAYOUT=booster:1,cluster:1 tasks
#include <cstdio>
#include <msa/msa.hpp>

int main(int argc, char** argv) {
  msa::Session session(argc, argv);
  msa::SchedulerOptions options;
  options.journal_dir = ".msa/tasks-journal";  // a rerun skips what finished
  msa::Scheduler scheduler(session, options);
  scheduler.kind("square").variant("host", [](msa::TaskContext& t) {
    const auto x = t.param_int("x");
    t.set_output(msa::Bytes{static_cast<std::uint8_t>(x * x)});
  });
  scheduler.kind("sum").variant("host", [](msa::TaskContext& t) {  // .variant("gh200", ...) for a GPU version
    int total = 0;
    for (std::size_t i = 0; i < t.input_count(); ++i) total += t.input(i)[0];
    t.set_output(msa::Bytes{static_cast<std::uint8_t>(total)});
  });
  msa::TaskGraph graph;  // the same on every rank
  std::vector<msa::TaskId> squares;
  for (int x = 0; x < 5; ++x)
    squares.push_back(graph.add("square", "square/" + std::to_string(x), {}, {{"x", std::to_string(x)}}));
  const auto total = graph.add("sum", "total", squares);
  const auto& stats = scheduler.run(graph);    // collective
  const int sum = scheduler.result(total)[0];  // collective: on every rank
  if (session.world().rank() == 0) std::printf("%stotal %d\n", stats.report().c_str(), sum);  // 30
}
