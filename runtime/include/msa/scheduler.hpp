#pragma once
/// The scheduler: task kinds with a variant per backend, a DAG of task
/// instances, placement on the module where each task is expected to finish
/// soonest, execution on every rank of every module, and a journal so that a
/// rerun after a crash skips the tasks that already finished.
///
///   msa::Scheduler scheduler(session, {.journal_dir = "journal"});
///   scheduler.kind("align").variant("gh200", align_kernel).variant("host", align_loop)
///            .work({.flops_per_byte = 4e3});
///   msa::TaskGraph graph;
///   auto reads = graph.add("load", "load/0", {}, {{"path", "reads.fq"}});
///   auto hits  = graph.add("align", "align/0", {reads});
///   scheduler.run(graph);                       // collective over all ranks
///   msa::Bytes out = scheduler.result(hits);    // collective: every rank gets it
///
/// Every rank builds the same kinds and the same graph (SPMD); run() checks it.
/// Placement (policy "eft", after StarPU's dmda, at module level): expected
/// finish time = wait for the rank's queue + execution estimate (a history
/// model per kind and module of the input size, persisted between runs and
/// seeded from the backends' nominal figures) + transfer of inputs held
/// elsewhere (bytes / bandwidth measured between the modules at start).
/// Each rank runs tasks on one worker thread; its main thread moves data and
/// messages, so MPI is only called from the thread that created the Session.
/// Outputs stay on the rank that made them and go straight to the rank that
/// needs them.

#include <Kokkos_Core.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "msa/error.hpp"

namespace msa {

class Session;

/// Task inputs and outputs.
using Bytes = std::vector<std::uint8_t>;
/// Small named parameters of a task instance ("path", "chunk", ...).
using Params = std::map<std::string, std::string>;

/// What a task variant sees while it runs. Not thread-safe (one task, one thread).
class TaskContext {
 public:
  TaskContext(const std::string& name, const std::string& kind, const std::string& module, const std::string& variant,
              const Params& params, std::vector<std::shared_ptr<const Bytes>> inputs);

  const std::string& name() const { return m_name; }  ///< the instance's name ("align/12")
  const std::string& kind() const { return m_kind; }
  const std::string& module() const { return m_module; }    ///< where it runs ("booster")
  const std::string& variant() const { return m_variant; }  ///< which variant runs ("gh200")

  std::size_t input_count() const { return m_inputs.size(); }
  /// Output of the i-th task this one depends on (graph order).
  const Bytes& input(std::size_t i) const;
  /// The i-th input seen as an array of T on the host (no copy). Throws Error
  /// when its size is not a multiple of sizeof(T).
  template <class T>
  Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> input_view(std::size_t i) const {
    static_assert(std::is_trivially_copyable_v<T>, "input_view<T>: T must be trivially copyable");
    const Bytes& bytes = input(i);
    check_view_size(i, bytes.size(), sizeof(T));
    using View = Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
    return View(reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T));
  }

  /// The parameter `key`; throws ConfigError naming the task when it is missing.
  const std::string& param(const std::string& key) const;
  /// The parameter `key` as a number; throws ConfigError when missing or not a number.
  std::int64_t param_int(const std::string& key) const;
  double param_double(const std::string& key) const;
  /// The parameter `key`, or `fallback` when the task has none.
  std::string param_or(const std::string& key, const std::string& fallback) const;

  /// Sets the task's output (one buffer per task; empty if never set).
  void set_output(Bytes bytes) { m_output = std::move(bytes); }
  /// Sets the output to the elements of a rank-1 view in any memory space (copied to the host).
  template <class View>
  void set_output_view(const View& view) {
    using T = typename View::non_const_value_type;
    static_assert(View::rank == 1, "set_output_view: a rank-1 view");
    Kokkos::View<T*, Kokkos::HostSpace> host("msa::task_output", view.extent(0));
    Kokkos::deep_copy(host, view);
    Bytes bytes(host.extent(0) * sizeof(T));
    if (!bytes.empty()) std::memcpy(bytes.data(), host.data(), bytes.size());
    m_output = std::move(bytes);
  }
  Bytes take_output() { return std::move(m_output); }

 private:
  void check_view_size(std::size_t i, std::size_t bytes, std::size_t element) const;

  const std::string& m_name;
  const std::string& m_kind;
  const std::string& m_module;
  const std::string& m_variant;
  const Params& m_params;
  std::vector<std::shared_ptr<const Bytes>> m_inputs;
  Bytes m_output;
};

using TaskFunction = std::function<void(TaskContext&)>;

/// Prior for a kind's execution time as a function of its input size n in
/// bytes: fixed_seconds + max(flops_per_byte * n / peak flop rate,
/// memory_bytes_per_byte * n / memory bandwidth), with the rank's share of the
/// node's nominal figures (Backend::nominal of the class the module is or
/// emulates). Used until the kind has run on that module.
struct WorkModel {
  double flops_per_byte = 0;
  double memory_bytes_per_byte = 0;
  double fixed_seconds = 0;
};

/// Defines a task kind; returned by Scheduler::kind().
class TaskKindBuilder {
 public:
  /// Adds the variant that runs on modules of hardware class `backend`
  /// ("host", "gh200", "rhea1"). A module uses, in this order, the variant of
  /// the class it emulates (laptop profiles), of its own class, then "host".
  TaskKindBuilder& variant(const std::string& backend, TaskFunction function);
  TaskKindBuilder& work(WorkModel model);

 private:
  friend class Scheduler;
  explicit TaskKindBuilder(void* kind) : m_kind(kind) {}
  void* m_kind;
};

/// A task instance in a TaskGraph.
struct TaskId {
  std::int32_t index = -1;
  bool valid() const { return index >= 0; }
};

/// A DAG of task instances. Built the same way on every rank. Not thread-safe.
class TaskGraph {
 public:
  /// Adds an instance of `kind` named `name` (unique in the graph; the
  /// journal knows tasks by name, parameters and inputs) that runs after
  /// `inputs` and receives their outputs in that order. `size_hint` is the
  /// size the cost model uses for a task without inputs (else the sum of its
  /// inputs' sizes). Throws ConfigError for a duplicate name or an input that
  /// is not an earlier task of this graph.
  TaskId add(const std::string& kind, const std::string& name, const std::vector<TaskId>& inputs = {},
             Params params = {}, double size_hint = 0);

  std::size_t size() const { return m_tasks.size(); }
  /// The task called `name`, or an invalid TaskId.
  TaskId find(const std::string& name) const;

  struct Task {
    std::string kind;
    std::string name;
    std::vector<std::int32_t> inputs;
    Params params;
    double size_hint = 0;
  };
  const Task& task(TaskId id) const;
  const std::vector<Task>& tasks() const { return m_tasks; }

 private:
  std::vector<Task> m_tasks;
  std::map<std::string, std::int32_t> m_names;
};

struct SchedulerOptions {
  /// Placement policy: "eft" (expected finish time) or "round_robin" (ranks in
  /// turn, ignoring estimates: a baseline).
  std::string policy = "eft";
  /// Directory of the journal of completed tasks (shared by all ranks); empty:
  /// no journal. A rerun with the same directory skips journaled tasks.
  std::string journal_dir;
  /// JSON file of the execution-time history; empty: none. Read at
  /// construction when it exists, written by run() (rank 0, atomically).
  std::string history_file;
  /// Each rank gets at least this many tasks ahead of time ...
  int min_queue = 2;
  /// ... and more, up to max_queue, while its queued work is estimated under
  /// queue_seconds (small tasks travel in batches).
  int max_queue = 64;
  double queue_seconds = 2e-4;
  /// Measure the bandwidth between and inside modules at construction (else
  /// use the nominal network figure).
  bool measure_bandwidth = true;
  /// Warn (on rank 0's stderr) about kinds whose mean time is under 10 x the
  /// measured per-task overhead.
  bool warn_small_tasks = true;
};

/// Per kind and module, after run().
struct KindStats {
  std::string kind;
  std::string module;
  std::int64_t tasks = 0;
  double seconds = 0;            ///< total execution time
  double estimated_seconds = 0;  ///< total of the estimates made when placing them
};

struct ModuleStats {
  std::string module;
  int ranks = 0;
  std::int64_t tasks = 0;
  double busy_seconds = 0;  ///< execution time summed over the module's ranks
  double utilisation = 0;   ///< busy / (ranks x makespan)
};

struct SchedulerStats {
  double makespan_seconds = 0;
  std::int64_t tasks_run = 0;
  std::int64_t tasks_skipped = 0;  ///< found in the journal
  std::int64_t bytes_moved = 0;    ///< outputs sent between ranks
  double overhead_seconds = 0;     ///< the master's busy time per task (placing, messages)
  std::vector<ModuleStats> modules;
  std::vector<KindStats> kinds;
  std::vector<std::string> warnings;
  /// A few lines for a person.
  std::string report() const;
};

class Scheduler {
 public:
  /// Collective over the session's world. Measures bandwidths (unless told not
  /// to) and reads the history file.
  explicit Scheduler(const Session& session, SchedulerOptions options = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Defines (or extends) the kind `name`. Not collective; every rank defines
  /// the same kinds before run().
  TaskKindBuilder kind(const std::string& name);

  /// Collective over world: runs `graph` to completion on all ranks. Throws
  /// ConfigError (unknown kind, a kind with no variant for any module, graphs
  /// that differ between ranks) or Error naming the task, kind and rank when
  /// a task throws; the same error on every rank.
  const SchedulerStats& run(const TaskGraph& graph);

  /// Collective over world: the output of `task` from the last run(), on every
  /// rank (read from the journal when the task was skipped).
  Bytes result(TaskId task) const;

  /// Bytes per second measured between modules `from` and `to`.
  double bandwidth(const std::string& from, const std::string& to) const;
  /// Expected execution time of `kind` on `module` for `bytes` of input, from
  /// the history model (or its prior). Not collective.
  double estimate(const std::string& kind, const std::string& module, double bytes) const;
  const SchedulerStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace msa
