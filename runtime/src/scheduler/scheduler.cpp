// The scheduler: rank 0 places tasks (and runs some itself); every rank runs
// tasks on a worker thread while its main thread moves messages and data.
//
// Messages (control communicator, received in order per sender):
//   dispatch  master -> rank:   tasks to run, with where each input is
//   send      master -> holder: send the output of task t to rank r
//   release   master -> holder: output of task t is no longer needed
//   done      rank -> master:   tasks finished (sizes, times) or failed
//   stop      master -> rank:   the run is over (maybe with an error)
//   bye       rank -> master:   the last message a rank sends in a run
// Messages from one sender arrive in order, so a rank that sees `stop` has
// seen every earlier order, and a master that sees every `bye` (and its own
// messages to itself) has seen every message: the run ends with nothing in
// flight, whether it succeeded or failed.
// Outputs travel on a second communicator, tag = task index.

#include "msa/scheduler.hpp"

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <limits>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "history.hpp"
#include "journal.hpp"
#include "mpi_util.hpp"
#include "msa/comm.hpp"
#include "msa/session.hpp"
#include "strings.hpp"
#include "wire.hpp"

namespace msa {

// ---------------------------------------------------------------- TaskContext

TaskContext::TaskContext(const std::string& name, const std::string& kind, const std::string& module,
                         const std::string& variant, const Params& params,
                         std::vector<std::shared_ptr<const Bytes>> inputs)
    : m_name(name), m_kind(kind), m_module(module), m_variant(variant), m_params(params), m_inputs(std::move(inputs)) {}

const Bytes& TaskContext::input(std::size_t i) const {
  if (i >= m_inputs.size())
    throw Error("task '" + m_name + "': input " + std::to_string(i) + " requested, the task has " +
                std::to_string(m_inputs.size()));
  return *m_inputs[i];
}

void TaskContext::check_view_size(std::size_t i, std::size_t bytes, std::size_t element) const {
  if (bytes % element != 0)
    throw Error("task '" + m_name + "': input " + std::to_string(i) + " has " + std::to_string(bytes) +
                " bytes, not a whole number of " + std::to_string(element) + "-byte elements");
}

const std::string& TaskContext::param(const std::string& key) const {
  const auto it = m_params.find(key);
  if (it == m_params.end())
    throw ConfigError("task '" + m_name + "' (kind " + m_kind + "): no parameter '" + key + "'");
  return it->second;
}

namespace {
// The whole of `text` as a number (std::stoll / std::stod), or nothing.
template <class Parse>
auto parse_whole(const std::string& text, Parse parse) -> std::optional<decltype(parse(text, nullptr))> {
  std::size_t used = 0;
  try {
    const auto value = parse(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}
}  // namespace

std::int64_t TaskContext::param_int(const std::string& key) const {
  const std::string& text = param(key);
  if (auto v = parse_whole(text, [](const std::string& t, std::size_t* used) { return std::stoll(t, used); }))
    return *v;
  throw ConfigError("task '" + m_name + "': parameter '" + key + "' = '" + text + "' is not an integer");
}

double TaskContext::param_double(const std::string& key) const {
  const std::string& text = param(key);
  if (auto v = parse_whole(text, [](const std::string& t, std::size_t* used) { return std::stod(t, used); })) return *v;
  throw ConfigError("task '" + m_name + "': parameter '" + key + "' = '" + text + "' is not a number");
}

std::string TaskContext::param_or(const std::string& key, const std::string& fallback) const {
  const auto it = m_params.find(key);
  return it == m_params.end() ? fallback : it->second;
}

// ------------------------------------------------------------------ TaskGraph

TaskId TaskGraph::add(const std::string& kind, const std::string& name, const std::vector<TaskId>& inputs,
                      Params params, double size_hint) {
  if (name.empty()) throw ConfigError("task graph: a task of kind '" + kind + "' has an empty name");
  if (m_names.count(name)) throw ConfigError("task graph: two tasks are called '" + name + "'");
  const auto index = static_cast<std::int32_t>(m_tasks.size());
  Task task{kind, name, {}, std::move(params), size_hint};
  for (const TaskId& input : inputs) {
    if (input.index < 0 || input.index >= index)
      throw ConfigError("task graph: task '" + name + "' depends on an invalid task id " + std::to_string(input.index));
    task.inputs.push_back(input.index);
  }
  m_tasks.push_back(std::move(task));
  m_names.emplace(name, index);
  return TaskId{index};
}

TaskId TaskGraph::find(const std::string& name) const {
  const auto it = m_names.find(name);
  return it == m_names.end() ? TaskId{} : TaskId{it->second};
}

const TaskGraph::Task& TaskGraph::task(TaskId id) const {
  if (id.index < 0 || static_cast<std::size_t>(id.index) >= m_tasks.size())
    throw ConfigError("task graph: no task with id " + std::to_string(id.index));
  return m_tasks[static_cast<std::size_t>(id.index)];
}

// -------------------------------------------------------------------- Stats

std::string SchedulerStats::report() const {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line,
                "scheduler: %lld tasks run, %lld from the journal, makespan %.3f s, %.2f MB moved, "
                "overhead %.1f us per task\n",
                static_cast<long long>(tasks_run), static_cast<long long>(tasks_skipped), makespan_seconds,
                bytes_moved / 1e6, overhead_seconds * 1e6);
  out << line;
  for (const auto& m : modules) {
    std::snprintf(line, sizeof line, "  module %-10s %3d ranks %7lld tasks  busy %8.3f s  utilisation %5.1f %%\n",
                  m.module.c_str(), m.ranks, static_cast<long long>(m.tasks), m.busy_seconds, 100 * m.utilisation);
    out << line;
  }
  for (const auto& k : kinds) {
    std::snprintf(line, sizeof line, "  kind %-14s on %-10s %7lld tasks  mean %10.1f us  estimated %10.1f us\n",
                  k.kind.c_str(), k.module.c_str(), static_cast<long long>(k.tasks),
                  1e6 * k.seconds / std::max<std::int64_t>(k.tasks, 1),
                  1e6 * k.estimated_seconds / std::max<std::int64_t>(k.tasks, 1));
    out << line;
  }
  for (const auto& w : warnings) out << "  warning: " << w << '\n';
  return out.str();
}

// ------------------------------------------------------------------- Impl

namespace {

using Clock = std::chrono::steady_clock;
/// CPU time of the calling thread: immune to the descheduling an
/// oversubscribed node inflicts on wall-clock figures.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

enum Tag : int { tag_dispatch = 1, tag_send, tag_release, tag_done, tag_stop, tag_bye };

struct KindDef {
  std::string name;
  std::map<std::string, TaskFunction> variants;
  WorkModel work;
  bool has_work = false;
};

/// The WorkModel's time on a rank with these figures, or negative when a
/// figure it needs is unknown.
double prior_seconds(const KindDef& kind, double flop_rate, double memory_rate, double bytes) {
  if (!kind.has_work) return -1;
  double compute = 0, memory = 0;
  if (kind.work.flops_per_byte > 0) {
    if (flop_rate <= 0) return -1;
    compute = kind.work.flops_per_byte * bytes / flop_rate;
  }
  if (kind.work.memory_bytes_per_byte > 0) {
    if (memory_rate <= 0) return -1;
    memory = kind.work.memory_bytes_per_byte * bytes / memory_rate;
  }
  return kind.work.fixed_seconds + std::max(compute, memory);
}

/// Drops the sends of `requests` that have completed (with the buffers they
/// kept alive); true if any had.
template <class Buffer>
bool retire(std::vector<std::pair<MPI_Request, Buffer>>& requests, const char* what) {
  bool any = false;
  for (std::size_t i = 0; i < requests.size();) {
    int done = 0;
    check_mpi(MPI_Test(&requests[i].first, &done, MPI_STATUS_IGNORE), what);
    if (done) {
      requests[i] = std::move(requests.back());
      requests.pop_back();
      any = true;
    } else {
      ++i;
    }
  }
  return any;
}

std::uint64_t fnv(std::uint64_t h, const std::string& text) {
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return (h ^ 0xff) * 1099511628211ull;  // a separator, so "ab"+"c" != "a"+"bc"
}

}  // namespace

struct Scheduler::Impl {
  const Session& session;
  SchedulerOptions options;
  Comm control;  // duplicate of world: control messages
  Comm data;     // duplicate of world: task outputs
  int rank = 0;
  int size = 1;
  int tag_limit = 32767;
  std::vector<std::string> modules;
  std::vector<int> rank_module;
  std::vector<std::vector<int>> module_ranks;
  std::vector<std::vector<std::string>> variant_order;  // per module: variant names to try
  std::vector<double> flop_rate, memory_rate;           // per module and rank: the prior's figures (0: unknown)
  std::vector<double> bandwidth;                        // modules x modules, bytes/s
  std::map<std::string, std::unique_ptr<KindDef>> kinds;
  detail::History history;
  SchedulerStats stats;

  // Last run, kept for result().
  std::vector<std::int32_t> holder;  // per task: rank with its output, -2 journal, -1 none
  std::vector<std::string> task_names;
  std::unordered_map<std::int32_t, std::shared_ptr<const Bytes>> outputs;  // this rank's
  detail::JournalIndex journal;
  std::vector<detail::JournalEntry> task_journal;  // per task (file < 0: not journaled)

  Impl(const Session& s, SchedulerOptions o) : session(s), options(std::move(o)) {}

  double bw(int from_module, int to_module) const {
    return bandwidth[static_cast<std::size_t>(from_module) * modules.size() + static_cast<std::size_t>(to_module)];
  }

  void measure_bandwidths();
  class Run;
};

namespace {

/// Which of a kind's variants runs on each module.
struct Resolved {
  const KindDef* kind = nullptr;
  std::vector<const TaskFunction*> function;  // per module, nullptr: cannot run there
  std::vector<std::string> variant;           // per module
  std::vector<detail::History::Line*> line;   // per module
};

}  // namespace

/// One call of run(): the state of the master and of this rank's worker.
class Scheduler::Impl::Run {
 public:
  Run(Impl& impl, const TaskGraph& graph) : s(impl), g(graph), n(static_cast<std::int32_t>(graph.size())) {}

  void execute();

 private:
  // ---- set-up
  void resolve_kinds();
  void check_same_graph();
  void load_journal();
  void plan_priorities();
  double estimate(std::int32_t task, int module, double bytes) const;
  /// Whether the history or a prior gives `task` a time on `module`.
  bool known(std::int32_t task, int module, double bytes) const;

  // ---- the worker (every rank)
  struct Pending {
    std::int32_t task = 0;
    std::vector<std::shared_ptr<const Bytes>> inputs;
    std::vector<std::int32_t> journal_inputs;  // positions to read from the journal
    int missing = 0;
  };
  struct Finished {
    std::int32_t task = 0;
    std::shared_ptr<const Bytes> output;
    double exec = 0;
    std::string error;
  };
  struct Incoming {
    MPI_Request request = MPI_REQUEST_NULL;
    std::shared_ptr<Bytes> buffer;
    std::vector<std::pair<std::int32_t, int>> waiting;  // (pending task, input position)
  };
  void accept_dispatch(detail::WireReader& in);
  void accept_send(detail::WireReader& in);
  void accept_release(detail::WireReader& in);
  void make_runnable(std::int32_t task);
  bool poll_data();
  bool collect_finished();
  void worker_thread();
  void send_data(std::int32_t task, int to);

  // ---- the master (rank 0)
  void master_done(int from, detail::WireReader& in);
  void task_finished(std::int32_t task, int on_rank, std::uint64_t bytes, double exec);
  bool schedule();
  std::vector<int> split_by_relative_speed(const std::vector<std::int32_t>& look, const std::vector<double>& exec,
                                           const std::vector<double>& avail) const;
  /// How many more tasks `rank` takes now: up to min_queue in any case, up
  /// to max_queue while its queued work is under queue_seconds.
  int room(int rank) const;
  void dispatch(std::int32_t task, int to);
  void stop_all(const std::string& error);

  // ---- messages
  bool poll_control();
  void post(int to, Tag tag, detail::WireWriter& message);
  detail::WireWriter& outbox(int to, Tag tag);
  void flush();
  void finish();

  Impl& s;
  const TaskGraph& g;
  std::int32_t n;
  bool master() const { return s.rank == 0; }

  std::vector<Resolved> kind_of;           // per kind index
  std::vector<std::int32_t> task_kind;     // per task: index into kind_of
  std::vector<std::uint64_t> fingerprint;  // per task
  std::vector<std::vector<std::int32_t>> consumers;
  std::vector<double> priority;
  std::unique_ptr<detail::JournalWriter> journal_writer;

  // master
  std::vector<int> deps_left;
  std::vector<int> consumers_left;
  std::vector<std::uint64_t> out_size;
  std::vector<std::vector<int>> copies;  // ranks holding (or receiving) each output
  std::vector<double> placed_estimate;
  std::vector<char> calibrating;  // per task: sent to measure its kind on a module
  std::vector<int> exploring;     // per kind x module: calibration tasks outstanding
  std::set<std::pair<double, std::int32_t>> ready;
  std::vector<int> outstanding;               // per rank
  std::vector<double> queued_work;            // per rank, estimated seconds
  std::vector<Clock::time_point> busy_since;  // per rank: start of its current task (estimated)
  std::int32_t done_count = 0;
  std::int32_t skipped = 0;
  int round_robin_next = 0;
  std::string failure;
  double master_active = 0;  // time the master's loop spent doing something
  std::vector<double> busy;  // per rank
  std::map<std::pair<std::int32_t, int>, KindStats> kind_stats;
  std::int64_t bytes_moved = 0;
  Clock::time_point started;

  // worker
  std::unordered_map<std::int32_t, Pending> pending;
  std::unordered_map<std::int32_t, Incoming> incoming;
  std::vector<std::pair<MPI_Request, std::shared_ptr<const Bytes>>> sends;
  std::map<std::pair<int, int>, detail::WireWriter> outgoing;  // (rank, tag) -> batch
  std::vector<std::pair<MPI_Request, std::shared_ptr<Bytes>>> posted;
  bool stopped = false;                           // this rank's loop is over
  bool stopping = false;                          // master: stop sent, draining; worker: stop received
  int byes = 0;                                   // master: workers that said bye
  std::int64_t self_sent = 0, self_received = 0;  // master's messages to itself
  std::string stop_error;

  std::mutex mutex;
  std::condition_variable work_cv, done_cv;
  std::deque<Pending> runnable;      // guarded by mutex
  std::deque<Finished> finished;     // guarded by mutex
  bool worker_exit = false;          // guarded by mutex
  std::atomic<bool> abandon{false};  // the run failed: skip what is queued
  bool comm_sleeping = false;        // guarded by mutex
};

// --------------------------------------------------------------- set-up

void Scheduler::Impl::measure_bandwidths() {
  const std::size_t m = modules.size();
  bandwidth.assign(m * m, 0.0);
  // Nominal fallback: the slower network of the two modules' classes.
  for (std::size_t a = 0; a < m; ++a)
    for (std::size_t b = 0; b < m; ++b) bandwidth[a * m + b] = 12.5e9;
  if (!options.measure_bandwidth || size == 1) return;
  constexpr int bytes = 4 << 20, repeats = 3;
  std::vector<char> buffer(bytes);
  std::vector<double> measured(m * m, 0.0);
  // One pair at a time, so pairs do not share the links they measure.
  for (std::size_t a = 0; a < m; ++a)
    for (std::size_t b = 0; b < m; ++b) {
      const auto& ra = module_ranks[a];
      const auto& rb = module_ranks[b];
      if (ra.empty() || rb.empty()) continue;
      const int from = ra[0];
      const int to = a == b ? (ra.size() > 1 ? ra[1] : -1) : rb[0];
      if (to < 0) continue;
      if (rank != from && rank != to) continue;
      std::vector<double> times;
      for (int i = 0; i < repeats; ++i) {
        const auto t0 = Clock::now();
        if (rank == from) {
          check_mpi(MPI_Send(buffer.data(), bytes, MPI_BYTE, to, 99, data), "scheduler: bandwidth probe");
          check_mpi(MPI_Recv(buffer.data(), 1, MPI_BYTE, to, 99, data, MPI_STATUS_IGNORE),
                    "scheduler: bandwidth probe");
        } else {
          check_mpi(MPI_Recv(buffer.data(), bytes, MPI_BYTE, from, 99, data, MPI_STATUS_IGNORE),
                    "scheduler: bandwidth probe");
          check_mpi(MPI_Send(buffer.data(), 1, MPI_BYTE, from, 99, data), "scheduler: bandwidth probe");
        }
        times.push_back(seconds_since(t0));
      }
      std::sort(times.begin(), times.end());
      if (rank == from) measured[a * m + b] = bytes / times[repeats / 2];
    }
  std::vector<double> all(m * m, 0.0);
  check_mpi(MPI_Allreduce(measured.data(), all.data(), static_cast<int>(m * m), MPI_DOUBLE, MPI_MAX, control),
            "scheduler: bandwidths");
  for (std::size_t i = 0; i < m * m; ++i)
    if (all[i] > 0) bandwidth[i] = all[i];
  // A module with one rank has no intra-module figure: use the fastest measured.
  const double best = *std::max_element(all.begin(), all.end());
  for (std::size_t a = 0; a < m; ++a)
    if (all[a * m + a] <= 0 && best > 0) bandwidth[a * m + a] = best;
}

void Scheduler::Impl::Run::resolve_kinds() {
  std::map<std::string, std::int32_t> index;
  std::string error;
  task_kind.assign(static_cast<std::size_t>(n), -1);
  for (std::int32_t t = 0; t < n && error.empty(); ++t) {
    const auto& task = g.tasks()[static_cast<std::size_t>(t)];
    auto [it, fresh] = index.emplace(task.kind, static_cast<std::int32_t>(kind_of.size()));
    if (fresh) {
      const auto def = s.kinds.find(task.kind);
      if (def == s.kinds.end()) {
        std::vector<std::string> known;
        for (const auto& k : s.kinds) known.push_back(k.first);
        error = "task '" + task.name + "': unknown task kind '" + task.kind +
                "' (known: " + (known.empty() ? std::string("none") : detail::join(known, ", ")) + ")";
        break;
      }
      Resolved r;
      r.kind = def->second.get();
      bool any = false;
      for (std::size_t m = 0; m < s.modules.size(); ++m) {
        const TaskFunction* f = nullptr;
        std::string chosen;
        for (const auto& name : s.variant_order[m]) {
          const auto v = r.kind->variants.find(name);
          if (v != r.kind->variants.end()) {
            f = &v->second;
            chosen = name;
            break;
          }
        }
        r.function.push_back(f);
        r.variant.push_back(chosen);
        r.line.push_back(&s.history.line(task.kind, s.modules[m]));
        any = any || (f != nullptr && !s.module_ranks[m].empty());
      }
      if (!any) {
        std::vector<std::string> variants, classes;
        for (const auto& v : r.kind->variants) variants.push_back(v.first);
        for (std::size_t m = 0; m < s.modules.size(); ++m)
          classes.push_back(s.modules[m] + " (" + detail::join(s.variant_order[m], "/") + ")");
        error = "task kind '" + task.kind + "' has variants for " +
                (variants.empty() ? std::string("no backend") : detail::join(variants, ", ")) +
                " but the job's modules run " + detail::join(classes, ", ") + "; add a variant for one of them";
        break;
      }
      kind_of.push_back(std::move(r));
    }
    task_kind[static_cast<std::size_t>(t)] = it->second;
  }
  detail::agree_on_error(s.control, error, 0);
}

void Scheduler::Impl::Run::check_same_graph() {
  fingerprint.assign(static_cast<std::size_t>(n), 0);
  std::uint64_t whole = 1469598103934665603ull;
  for (std::int32_t t = 0; t < n; ++t) {
    const auto& task = g.tasks()[static_cast<std::size_t>(t)];
    std::uint64_t h = fnv(fnv(1469598103934665603ull, task.kind), task.name);
    for (const auto& [k, v] : task.params) h = fnv(fnv(h, k), v);
    for (auto in : task.inputs) h = fnv(h, std::to_string(fingerprint[static_cast<std::size_t>(in)]));
    fingerprint[static_cast<std::size_t>(t)] = h;
    whole = fnv(whole, std::to_string(h));
  }
  std::uint64_t lo = whole, hi = whole;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, s.control), "scheduler: compare graphs");
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, s.control), "scheduler: compare graphs");
  if (lo != hi)
    throw ConfigError("scheduler: the task graph differs between ranks (" + std::to_string(g.size()) +
                      " tasks on rank " + std::to_string(s.rank) +
                      "); build the same graph on every rank, in the same order");
  consumers.assign(static_cast<std::size_t>(n), {});
  for (std::int32_t t = 0; t < n; ++t)
    for (auto in : g.tasks()[static_cast<std::size_t>(t)].inputs) consumers[static_cast<std::size_t>(in)].push_back(t);
}

void Scheduler::Impl::Run::load_journal() {
  s.task_journal.assign(static_cast<std::size_t>(n), detail::JournalEntry{});
  s.journal = {};
  if (s.options.journal_dir.empty()) return;
  // Rank 0 reads the journal; everyone learns which tasks it holds.
  detail::WireWriter out;
  std::string error;
  if (master()) {
    try {
      s.journal = detail::scan_journal(s.options.journal_dir);
    } catch (const std::exception& e) {
      error = e.what();
    }
    out.put<std::uint32_t>(static_cast<std::uint32_t>(s.journal.files.size()));
    for (std::size_t f = 0; f < s.journal.files.size(); ++f) {
      out.put_string(s.journal.files[f]);
      out.put<std::uint64_t>(s.journal.valid_bytes[f]);
    }
    for (std::int32_t t = 0; t < n; ++t) {
      const auto it = s.journal.entries.find(g.tasks()[static_cast<std::size_t>(t)].name);
      if (it != s.journal.entries.end() && it->second.fingerprint == fingerprint[static_cast<std::size_t>(t)])
        s.task_journal[static_cast<std::size_t>(t)] = it->second;
    }
    std::uint32_t count = 0;
    for (const auto& e : s.task_journal) count += e.file >= 0;
    out.put<std::uint32_t>(count);
    for (std::int32_t t = 0; t < n; ++t) {
      const auto& e = s.task_journal[static_cast<std::size_t>(t)];
      if (e.file < 0) continue;
      out.put<std::int32_t>(t);
      out.put<std::int32_t>(e.file);
      out.put<std::uint64_t>(e.offset);
      out.put<std::uint64_t>(e.size);
    }
    for (const auto& w : s.journal.warnings) std::fprintf(stderr, "msa scheduler: warning: %s\n", w.c_str());
  }
  detail::agree_on_error(s.control, error, 4);
  std::uint64_t bytes = out.bytes().size();
  check_mpi(MPI_Bcast(&bytes, 1, MPI_UINT64_T, 0, s.control), "scheduler: journal index");
  out.bytes().resize(bytes);
  check_mpi(MPI_Bcast(out.bytes().data(), static_cast<int>(bytes), MPI_BYTE, 0, s.control), "scheduler: journal index");
  std::int64_t mine = -1;
  if (!master()) {
    detail::WireReader in(out.bytes().data(), out.bytes().size());
    const auto files = in.get<std::uint32_t>();
    for (std::uint32_t f = 0; f < files; ++f) {
      s.journal.files.push_back(in.get_string());
      s.journal.valid_bytes.push_back(in.get<std::uint64_t>());
    }
    const auto count = in.get<std::uint32_t>();
    for (std::uint32_t i = 0; i < count; ++i) {
      const auto t = in.get<std::int32_t>();
      auto& e = s.task_journal[static_cast<std::size_t>(t)];
      e.file = in.get<std::int32_t>();
      e.offset = in.get<std::uint64_t>();
      e.size = in.get<std::uint64_t>();
      e.fingerprint = fingerprint[static_cast<std::size_t>(t)];
    }
  }
  const std::string own = "journal." + std::to_string(s.rank) + ".bin";
  for (std::size_t f = 0; f < s.journal.files.size(); ++f)
    if (s.journal.files[f].size() >= own.size() &&
        s.journal.files[f].compare(s.journal.files[f].size() - own.size(), own.size(), own) == 0)
      mine = static_cast<std::int64_t>(s.journal.valid_bytes[f]);
  try {
    journal_writer = std::make_unique<detail::JournalWriter>(s.options.journal_dir, s.rank, mine);
    error.clear();
  } catch (const std::exception& e) {
    error = e.what();
  }
  detail::agree_on_error(s.control, error, 4);
}

double Scheduler::Impl::Run::estimate(std::int32_t task, int module, double bytes) const {
  const Resolved& r = kind_of[static_cast<std::size_t>(task_kind[static_cast<std::size_t>(task)])];
  const auto m = static_cast<std::size_t>(module);
  double t = detail::History::predict(*r.line[m], bytes);
  if (t >= 0) return t;
  t = prior_seconds(*r.kind, s.flop_rate[m], s.memory_rate[m], bytes);
  if (t >= 0) return t;
  // Never seen here and no prior: as fast as the best module that has seen it,
  // so it gets tried; with nothing known at all, a small guess (few go ahead).
  double best = -1;
  for (std::size_t o = 0; o < s.modules.size(); ++o) {
    if (o == m || r.function[o] == nullptr) continue;
    const double other = detail::History::predict(*r.line[o], bytes);
    if (other >= 0 && (best < 0 || other < best)) best = other;
  }
  return best >= 0 ? best : s.options.queue_seconds;
}

bool Scheduler::Impl::Run::known(std::int32_t task, int module, double bytes) const {
  const Resolved& r = kind_of[static_cast<std::size_t>(task_kind[static_cast<std::size_t>(task)])];
  const auto m = static_cast<std::size_t>(module);
  return r.line[m]->n > 0 || prior_seconds(*r.kind, s.flop_rate[m], s.memory_rate[m], bytes) >= 0;
}

void Scheduler::Impl::Run::plan_priorities() {
  // Bottom level: the longest chain of mean estimates from a task to the end.
  priority.assign(static_cast<std::size_t>(n), 0.0);
  for (std::int32_t t = n - 1; t >= 0; --t) {
    const auto& task = g.tasks()[static_cast<std::size_t>(t)];
    const Resolved& r = kind_of[static_cast<std::size_t>(task_kind[static_cast<std::size_t>(t)])];
    double sum = 0;
    int count = 0;
    for (std::size_t m = 0; m < s.modules.size(); ++m) {
      if (r.function[m] == nullptr || s.module_ranks[m].empty()) continue;
      const double mean = s.history.mean(task.kind, s.modules[m]);
      sum += mean >= 0 ? mean : estimate(t, static_cast<int>(m), task.size_hint);
      ++count;
    }
    double tail = 0;
    for (auto c : consumers[static_cast<std::size_t>(t)]) tail = std::max(tail, priority[static_cast<std::size_t>(c)]);
    priority[static_cast<std::size_t>(t)] = (count ? sum / count : 0) + tail;
  }
}

// ------------------------------------------------------------ messages

detail::WireWriter& Scheduler::Impl::Run::outbox(int to, Tag tag) { return outgoing[{to, static_cast<int>(tag)}]; }

void Scheduler::Impl::Run::post(int to, Tag tag, detail::WireWriter& message) {
  auto buffer = std::make_shared<Bytes>(std::move(message.bytes()));
  message.clear();
  if (to == s.rank) ++self_sent;
  MPI_Request request;
  check_mpi(MPI_Isend(buffer->data(), static_cast<int>(buffer->size()), MPI_BYTE, to, tag, s.control, &request),
            "scheduler: message to rank " + std::to_string(to));
  posted.emplace_back(request, std::move(buffer));
}

void Scheduler::Impl::Run::flush() {
  for (auto& [key, message] : outgoing)
    if (!message.empty()) post(key.first, static_cast<Tag>(key.second), message);
  retire(posted, "scheduler: message");  // control messages that have left
}

bool Scheduler::Impl::Run::poll_control() {
  bool active = false;
  for (;;) {
    int flag = 0;
    MPI_Status status;
    check_mpi(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, s.control, &flag, &status), "scheduler: poll");
    if (!flag) return active;
    active = true;
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    Bytes message(static_cast<std::size_t>(count));
    check_mpi(
        MPI_Recv(message.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, s.control, MPI_STATUS_IGNORE),
        "scheduler: receive");
    detail::WireReader in(message.data(), message.size());
    if (status.MPI_SOURCE == s.rank) ++self_received;
    switch (status.MPI_TAG) {
      case tag_dispatch:
        accept_dispatch(in);
        break;
      case tag_send:
        accept_send(in);
        break;
      case tag_release:
        accept_release(in);
        break;
      case tag_done:
        master_done(status.MPI_SOURCE, in);
        break;
      case tag_bye:
        ++byes;
        break;
      case tag_stop:
        stopping = true;
        if (in.get<std::uint8_t>()) {
          stop_error = in.get_string();
          abandon = true;
        }
        break;
      default:
        throw Error("scheduler: unexpected message tag " + std::to_string(status.MPI_TAG));
    }
  }
}

// ------------------------------------------------------------ worker

void Scheduler::Impl::Run::accept_dispatch(detail::WireReader& in) {
  while (!in.done()) {
    Pending p;
    p.task = in.get<std::int32_t>();
    const auto inputs = in.get<std::uint32_t>();
    p.inputs.resize(inputs);
    for (std::uint32_t i = 0; i < inputs; ++i) {
      const auto input = in.get<std::int32_t>();
      const auto from = in.get<std::int32_t>();
      const auto bytes = in.get<std::uint64_t>();
      if (from == -2) {
        p.journal_inputs.push_back(static_cast<std::int32_t>(i));
      } else if (const auto held = s.outputs.find(input); from == s.rank && held != s.outputs.end()) {
        p.inputs[i] = held->second;
      } else if (const auto arriving = incoming.find(input); from == s.rank && arriving != incoming.end()) {
        // Ordered here for an earlier task and still on its way.
        ++p.missing;
        arriving->second.waiting.emplace_back(p.task, static_cast<int>(i));
      } else if (from == s.rank) {
        throw Error("scheduler: output of task '" + g.tasks()[static_cast<std::size_t>(input)].name +
                    "' missing on rank " + std::to_string(s.rank) + " (a bug in msa)");
      } else {
        ++p.missing;
        auto [it, fresh] = incoming.try_emplace(input);
        Incoming& inc = it->second;
        if (fresh) {
          inc.buffer = std::make_shared<Bytes>(bytes);
          check_mpi(MPI_Irecv(inc.buffer->data(), static_cast<int>(bytes), MPI_BYTE, from, input % s.tag_limit, s.data,
                              &inc.request),
                    "scheduler: receive output of task '" + g.tasks()[static_cast<std::size_t>(input)].name + "'");
        }
        inc.waiting.emplace_back(p.task, static_cast<int>(i));
      }
    }
    const auto task = p.task;
    const bool ready_now = p.missing == 0;
    pending.emplace(task, std::move(p));
    if (ready_now) make_runnable(task);
  }
}

void Scheduler::Impl::Run::make_runnable(std::int32_t task) {
  auto it = pending.find(task);
  {
    std::lock_guard<std::mutex> lock(mutex);
    runnable.push_back(std::move(it->second));
  }
  pending.erase(it);
  work_cv.notify_one();
}

void Scheduler::Impl::Run::send_data(std::int32_t task, int to) {
  const auto it = s.outputs.find(task);
  if (it == s.outputs.end())
    throw Error("scheduler: rank " + std::to_string(s.rank) + " was asked for the output of task '" +
                g.tasks()[static_cast<std::size_t>(task)].name + "', which it does not hold (a bug in msa)");
  MPI_Request request;
  check_mpi(MPI_Isend(it->second->data(), static_cast<int>(it->second->size()), MPI_BYTE, to, task % s.tag_limit,
                      s.data, &request),
            "scheduler: send output of task '" + g.tasks()[static_cast<std::size_t>(task)].name + "' to rank " +
                std::to_string(to));
  sends.emplace_back(request, it->second);
}

void Scheduler::Impl::Run::accept_send(detail::WireReader& in) {
  while (!in.done()) {
    const auto task = in.get<std::int32_t>();
    const auto to = in.get<std::int32_t>();
    send_data(task, to);
  }
}

void Scheduler::Impl::Run::accept_release(detail::WireReader& in) {
  while (!in.done()) s.outputs.erase(in.get<std::int32_t>());
}

bool Scheduler::Impl::Run::poll_data() {
  bool active = false;
  for (auto it = incoming.begin(); it != incoming.end();) {
    int done = 0;
    check_mpi(MPI_Test(&it->second.request, &done, MPI_STATUS_IGNORE), "scheduler: receive output");
    if (!done) {
      ++it;
      continue;
    }
    active = true;
    std::shared_ptr<const Bytes> data = it->second.buffer;
    s.outputs[it->first] = data;
    for (auto [task, position] : it->second.waiting) {
      Pending& p = pending.at(task);
      p.inputs[static_cast<std::size_t>(position)] = data;
      if (--p.missing == 0) make_runnable(task);
    }
    it = incoming.erase(it);
  }
  return retire(sends, "scheduler: send output") || active;
}

void Scheduler::Impl::Run::worker_thread() {
  const int module = s.rank_module[static_cast<std::size_t>(s.rank)];
  const std::string& module_name = s.modules[static_cast<std::size_t>(module)];
  for (;;) {
    std::deque<Pending> batch;
    {
      std::unique_lock<std::mutex> lock(mutex);
      work_cv.wait(lock, [&] { return worker_exit || !runnable.empty(); });
      if (worker_exit) return;
      batch.swap(runnable);
    }
    for (Pending& p : batch) {
      if (abandon.load(std::memory_order_relaxed)) break;
      Finished f;
      f.task = p.task;
      const auto& task = g.tasks()[static_cast<std::size_t>(p.task)];
      const Resolved& r = kind_of[static_cast<std::size_t>(task_kind[static_cast<std::size_t>(p.task)])];
      try {
        for (auto position : p.journal_inputs) {
          const auto input = task.inputs[static_cast<std::size_t>(position)];
          const auto& e = s.task_journal[static_cast<std::size_t>(input)];
          p.inputs[static_cast<std::size_t>(position)] = std::make_shared<const Bytes>(
              detail::read_journal_entry(s.journal.files[static_cast<std::size_t>(e.file)], e));
        }
        TaskContext context(task.name, task.kind, module_name, r.variant[static_cast<std::size_t>(module)], task.params,
                            std::move(p.inputs));
        const auto run_start = Clock::now();
        (*r.function[static_cast<std::size_t>(module)])(context);
        f.exec = seconds_since(run_start);
        auto output = std::make_shared<const Bytes>(context.take_output());
        if (output->size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
          throw Error("output of " + std::to_string(output->size()) +
                      " bytes; the scheduler moves at most 2 GiB per task output (split the task)");
        if (journal_writer) journal_writer->append(task.name, fingerprint[static_cast<std::size_t>(p.task)], *output);
        f.output = std::move(output);
      } catch (const std::exception& e) {
        f.error = "task '" + task.name + "' (kind " + task.kind + ", variant " +
                  r.variant[static_cast<std::size_t>(module)] + ") failed on rank " + std::to_string(s.rank) + " (" +
                  module_name + "): " + e.what();
      }
      // Report each task at once: the master places the next ones by it.
      bool wake = false;
      {
        std::lock_guard<std::mutex> lock(mutex);
        finished.push_back(std::move(f));
        wake = comm_sleeping;
      }
      if (wake) done_cv.notify_one();
    }
  }
}

bool Scheduler::Impl::Run::collect_finished() {
  std::deque<Finished> batch;
  {
    std::lock_guard<std::mutex> lock(mutex);
    batch.swap(finished);
  }
  if (batch.empty() || stopping) return false;
  for (Finished& f : batch) {
    if (f.error.empty()) s.outputs[f.task] = f.output;
    if (master()) {
      if (!f.error.empty()) {
        if (failure.empty()) failure = f.error;
        continue;
      }
      task_finished(f.task, 0, f.output->size(), f.exec);
    } else {
      auto& out = outbox(0, tag_done);
      out.put<std::int32_t>(f.task);
      out.put<std::uint8_t>(f.error.empty() ? 0 : 1);
      if (!f.error.empty()) {
        out.put_string(f.error);
        continue;
      }
      out.put<std::uint64_t>(f.output->size());
      out.put<double>(f.exec);
    }
  }
  return true;
}

// ------------------------------------------------------------ master

void Scheduler::Impl::Run::master_done(int from, detail::WireReader& in) {
  if (stopping) return;  // a failed run: what finishes now is not used
  while (!in.done()) {
    const auto task = in.get<std::int32_t>();
    if (in.get<std::uint8_t>()) {
      const auto error = in.get_string();
      if (failure.empty()) failure = error;
      continue;
    }
    const auto bytes = in.get<std::uint64_t>();
    const auto exec = in.get<double>();
    task_finished(task, from, bytes, exec);
  }
}

void Scheduler::Impl::Run::task_finished(std::int32_t task, int on_rank, std::uint64_t bytes, double exec) {
  const auto t = static_cast<std::size_t>(task);
  const auto r = static_cast<std::size_t>(on_rank);
  ++done_count;
  --outstanding[r];
  queued_work[r] = std::max(0.0, queued_work[r] - placed_estimate[t]);
  busy_since[r] = Clock::now();  // its next task starts now
  busy[r] += exec;
  out_size[t] = bytes;
  copies[t] = {on_rank};
  s.holder[t] = on_rank;
  const int module = s.rank_module[r];
  const auto& task_def = g.tasks()[t];
  double in_bytes = task_def.size_hint;
  if (!task_def.inputs.empty()) {
    in_bytes = 0;
    for (auto i : task_def.inputs) in_bytes += static_cast<double>(out_size[static_cast<std::size_t>(i)]);
  }
  const auto k = task_kind[t];
  if (calibrating[t]) --exploring[static_cast<std::size_t>(k) * s.modules.size() + static_cast<std::size_t>(module)];
  detail::History::observe(*kind_of[static_cast<std::size_t>(k)].line[static_cast<std::size_t>(module)], in_bytes,
                           exec);
  auto& ks = kind_stats[{k, module}];
  ++ks.tasks;
  ks.seconds += exec;
  ks.estimated_seconds += placed_estimate[t];
  for (auto c : consumers[t])
    if (--deps_left[static_cast<std::size_t>(c)] == 0) ready.emplace(-priority[static_cast<std::size_t>(c)], c);
  for (auto i : task_def.inputs) {
    const auto in = static_cast<std::size_t>(i);
    if (--consumers_left[in] == 0 && s.holder[in] != -2) {
      for (int holder : copies[in]) {
        if (holder == 0)
          s.outputs.erase(i);
        else
          outbox(holder, tag_release).put<std::int32_t>(i);
      }
      copies[in].clear();
      s.holder[in] = -1;
    }
  }
}

int Scheduler::Impl::Run::room(int rank) const {
  const auto r = static_cast<std::size_t>(rank);
  int more = std::max(0, s.options.min_queue - outstanding[r]);
  if (queued_work[r] < s.options.queue_seconds) more = std::max(more, s.options.max_queue - outstanding[r]);
  return more;
}

void Scheduler::Impl::Run::dispatch(std::int32_t task, int to) {
  const auto t = static_cast<std::size_t>(task);
  const auto& def = g.tasks()[t];
  auto& out = outbox(to, tag_dispatch);
  out.put<std::int32_t>(task);
  out.put<std::uint32_t>(static_cast<std::uint32_t>(def.inputs.size()));
  for (auto i : def.inputs) {
    const auto in = static_cast<std::size_t>(i);
    out.put<std::int32_t>(i);
    if (s.holder[in] == -2) {
      out.put<std::int32_t>(-2);
    } else if (std::find(copies[in].begin(), copies[in].end(), to) != copies[in].end()) {
      out.put<std::int32_t>(to);
    } else {
      const int from = copies[in].front();
      out.put<std::int32_t>(from);
      if (from == s.rank) {
        send_data(i, to);
      } else {
        auto& order = outbox(from, tag_send);
        order.put<std::int32_t>(i);
        order.put<std::int32_t>(to);
      }
      copies[in].push_back(to);
      bytes_moved += static_cast<std::int64_t>(out_size[in]);
    }
    out.put<std::uint64_t>(out_size[in]);
  }
  if (outstanding[static_cast<std::size_t>(to)] == 0) busy_since[static_cast<std::size_t>(to)] = Clock::now();
  ++outstanding[static_cast<std::size_t>(to)];
  queued_work[static_cast<std::size_t>(to)] += placed_estimate[t];
}

bool Scheduler::Impl::Run::schedule() {
  if (ready.empty()) return false;
  int slots = 0;
  std::vector<int> free(static_cast<std::size_t>(s.size), 0);
  for (int r = 0; r < s.size; ++r) {
    free[static_cast<std::size_t>(r)] = room(r);
    slots += free[static_cast<std::size_t>(r)];
  }
  if (slots == 0) return false;

  // The ready tasks this round looks at, most urgent first, with their
  // execution estimate on each module (negative: no variant there).
  const std::size_t modules = s.modules.size();
  const int horizon = std::max(256, 4 * slots);
  std::vector<std::int32_t> look;
  std::vector<double> exec;  // look.size() x modules
  std::vector<int> explore;  // per look: the module it calibrates, or -1
  std::vector<char> claimed(kind_of.size() * modules, 0);
  const bool eft = s.options.policy == "eft";
  for (auto it = ready.begin(); it != ready.end() && static_cast<int>(look.size()) < horizon; ++it) {
    const std::int32_t task = it->second;
    const auto t = static_cast<std::size_t>(task);
    const Resolved& kind = kind_of[static_cast<std::size_t>(task_kind[t])];
    const auto& def = g.tasks()[t];
    double in_bytes = def.size_hint;
    if (!def.inputs.empty()) {
      in_bytes = 0;
      for (auto i : def.inputs) in_bytes += static_cast<double>(out_size[static_cast<std::size_t>(i)]);
    }
    look.push_back(task);
    explore.push_back(-1);
    const auto k = static_cast<std::size_t>(task_kind[t]);
    bool any_known = false, any_unknown = false;
    for (std::size_t m = 0; m < modules; ++m) {
      if (kind.function[m] == nullptr || s.module_ranks[m].empty()) continue;
      (known(task, static_cast<int>(m), in_bytes) ? any_known : any_unknown) = true;
    }
    for (std::size_t m = 0; m < modules; ++m) {
      double e = -1;
      if (kind.function[m] != nullptr && !s.module_ranks[m].empty()) {
        e = estimate(task, static_cast<int>(m), in_bytes);
        // Calibration: a kind never run on a module it could run on, while
        // other modules know it, is tried there once (as if free) before
        // more of it are sent there; the others wait for that measurement.
        if (eft && any_known && any_unknown && !known(task, static_cast<int>(m), in_bytes)) {
          if (exploring[k * modules + m] == 0 && !claimed[k * modules + m]) {
            claimed[k * modules + m] = 1;
            explore.back() = static_cast<int>(m);
            e = 0;
          } else {
            e = -1;
          }
        }
      }
      exec.push_back(e);
    }
  }

  bool any = false;
  // The virtual plan of this round: when each rank is expected to be free,
  // counting the part of its running task already done.
  std::vector<double> avail(queued_work);
  const auto now = Clock::now();
  for (std::size_t r = 0; r < avail.size(); ++r)
    if (outstanding[r] > 0)
      avail[r] = std::max(0.0, avail[r] - std::chrono::duration<double>(now - busy_since[r]).count());
  std::vector<int> target;
  if (eft) target = split_by_relative_speed(look, exec, avail);
  std::vector<std::int32_t> taken;
  for (std::size_t j = 0; j < look.size() && slots > 0; ++j) {
    const std::int32_t task = look[j];
    const auto t = static_cast<std::size_t>(task);
    const auto& def = g.tasks()[t];
    int best = -1;
    double best_finish = 0, best_exec = 0;
    if (s.options.policy == "round_robin") {
      // Ranks in turn, skipping those without a variant; wait for the turn's rank.
      for (int tries = 0; tries < s.size && best < 0; ++tries) {
        const int r = (round_robin_next + tries) % s.size;
        if (exec[j * modules + static_cast<std::size_t>(s.rank_module[static_cast<std::size_t>(r)])] >= 0) best = r;
      }
      if (best < 0 || free[static_cast<std::size_t>(best)] == 0) break;
      round_robin_next = (best + 1) % s.size;
      best_exec = exec[j * modules + static_cast<std::size_t>(s.rank_module[static_cast<std::size_t>(best)])];
    } else {
      int only = target[static_cast<std::size_t>(task_kind[t])];
      // A task the split sends where it cannot go now (another task of its
      // kind is calibrating that module) is placed freely.
      if (only >= 0 && exec[j * modules + static_cast<std::size_t>(only)] < 0) only = -1;
      for (std::size_t m = 0; m < modules; ++m) {
        const double e = exec[j * modules + m];
        if (e < 0 || (only >= 0 && static_cast<int>(m) != only)) continue;
        for (int r : s.module_ranks[m]) {
          const auto rr = static_cast<std::size_t>(r);
          double transfer = 0;
          for (auto i : def.inputs) {
            const auto in = static_cast<std::size_t>(i);
            if (s.holder[in] == -2 || std::find(copies[in].begin(), copies[in].end(), r) != copies[in].end()) continue;
            transfer += static_cast<double>(out_size[in]) /
                        s.bw(s.rank_module[static_cast<std::size_t>(copies[in].front())], static_cast<int>(m));
          }
          // Inputs travel while the rank works through its queue.
          const double finish = std::max(avail[rr], transfer) + e;
          if (best < 0 || finish < best_finish ||
              (finish == best_finish && free[rr] > free[static_cast<std::size_t>(best)])) {
            best = r;
            best_finish = finish;
            best_exec = e;
          }
        }
      }
    }
    if (best < 0) continue;  // nowhere to run now (its kind is calibrating the only module it can use)
    const auto b = static_cast<std::size_t>(best);
    avail[b] += best_exec;
    if (free[b] == 0) continue;  // its best rank is busy: it waits for that rank
    --free[b];
    --slots;
    placed_estimate[t] = best_exec;
    if (explore[j] >= 0 && s.rank_module[b] == explore[j]) {
      calibrating[t] = 1;
      ++exploring[static_cast<std::size_t>(task_kind[t]) * modules + static_cast<std::size_t>(explore[j])];
    }
    dispatch(task, best);
    // Its queued work grew: past min_queue it may take no more.
    const int left = std::min(free[b], room(best));
    slots -= free[b] - left;
    free[b] = left;
    taken.push_back(task);
    any = true;
  }
  for (auto task : taken) ready.erase({-priority[static_cast<std::size_t>(task)], task});
  return any;
}

std::vector<int> Scheduler::Impl::Run::split_by_relative_speed(const std::vector<std::int32_t>& look,
                                                               const std::vector<double>& exec,
                                                               const std::vector<double>& avail) const {
  // Finish time alone, task by task, is short-sighted between unrelated
  // modules: while the booster is busy, the cluster would take a task the
  // booster runs 10 x faster, although other ready tasks run nearly as fast
  // on the cluster. So first split the ready work between two modules the
  // way that finishes soonest if tasks could be cut (kinds sorted by their
  // speed ratio, each module taking the kinds it is relatively best at, both
  // ending together); kinds wholly on one side of the split go to that
  // module, and the kind the split cuts through is placed freely by finish
  // time. With other than two modules, every kind is placed freely.
  std::vector<int> target(kind_of.size(), -1);
  const std::size_t modules = s.modules.size();
  std::vector<std::size_t> active;
  for (std::size_t m = 0; m < modules; ++m)
    if (!s.module_ranks[m].empty()) active.push_back(m);
  if (active.size() != 2) return target;
  const std::size_t a = active[0], b = active[1];
  std::vector<double> count(kind_of.size(), 0), cost_a(kind_of.size(), 0), cost_b(kind_of.size(), 0);
  double load_a = 0, load_b = 0;
  for (int r : s.module_ranks[a]) load_a += avail[static_cast<std::size_t>(r)];
  for (int r : s.module_ranks[b]) load_b += avail[static_cast<std::size_t>(r)];
  for (std::size_t j = 0; j < look.size(); ++j) {
    const auto k = static_cast<std::size_t>(task_kind[static_cast<std::size_t>(look[j])]);
    const double ea = exec[j * modules + a], eb = exec[j * modules + b];
    if (ea < 0 && eb < 0) continue;
    if (ea < 0) {
      load_b += eb;
    } else if (eb < 0) {
      load_a += ea;
    } else {
      count[k] += 1;
      cost_a[k] += ea;
      cost_b[k] += eb;
    }
  }
  std::vector<std::size_t> order;
  for (std::size_t k = 0; k < kind_of.size(); ++k)
    if (count[k] > 0) order.push_back(k);
  if (order.size() < 2) return target;
  auto ratio = [&](std::size_t k) { return cost_a[k] / std::max(cost_b[k], 1e-12); };
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return ratio(x) < ratio(y); });
  const double ranks_a = static_cast<double>(s.module_ranks[a].size());
  const double ranks_b = static_cast<double>(s.module_ranks[b].size());
  // Smallest T at which module a, filled from the front of the order, and
  // module b, taking the rest, both finish by T.
  auto cut = [&](double T, std::size_t* partial) {
    double left = T * ranks_a - load_a, rest = load_b;
    *partial = order.size();
    for (std::size_t i = 0; i < order.size(); ++i) {
      const std::size_t k = order[i];
      const double on_a = left <= 0 ? 0 : std::min(1.0, left / cost_a[k]);
      if (on_a < 1 && *partial == order.size()) *partial = i;
      left -= on_a * cost_a[k];
      rest += (1 - on_a) * cost_b[k];
    }
    return rest <= T * ranks_b;
  };
  double lo = 0, hi = load_a / ranks_a + load_b / ranks_b;
  for (std::size_t k : order) hi += std::min(cost_a[k] / ranks_a, cost_b[k] / ranks_b) + cost_a[k] + cost_b[k];
  for (int it = 0; it < 60; ++it) {
    const double mid = 0.5 * (lo + hi);
    std::size_t unused = 0;
    (cut(mid, &unused) ? hi : lo) = mid;
  }
  std::size_t partial = 0;
  cut(hi, &partial);
  for (std::size_t i = 0; i < order.size(); ++i)
    if (i < partial)
      target[order[i]] = static_cast<int>(a);
    else if (i > partial)
      target[order[i]] = static_cast<int>(b);
  return target;
}

void Scheduler::Impl::Run::stop_all(const std::string& error) {
  if (!error.empty()) abandon = true;
  flush();  // every order before the stop
  for (int r = 0; r < s.size; ++r) {
    if (r == s.rank) continue;
    auto& out = outbox(r, tag_stop);
    out.put<std::uint8_t>(error.empty() ? 0 : 1);
    if (!error.empty()) out.put_string(error);
  }
  stopping = true;
  stop_error = error;
}

// ------------------------------------------------------------ the run

void Scheduler::Impl::Run::execute() {
  started = Clock::now();
  s.stats = {};
  s.outputs.clear();
  s.holder.assign(static_cast<std::size_t>(n), -1);
  s.task_names.clear();
  for (const auto& t : g.tasks()) s.task_names.push_back(t.name);
  resolve_kinds();
  check_same_graph();
  load_journal();
  plan_priorities();

  if (master()) {
    const auto N = static_cast<std::size_t>(n);
    deps_left.assign(N, 0);
    consumers_left.assign(N, 0);
    out_size.assign(N, 0);
    copies.assign(N, {});
    placed_estimate.assign(N, 0);
    calibrating.assign(N, 0);
    exploring.assign(kind_of.size() * s.modules.size(), 0);
    outstanding.assign(static_cast<std::size_t>(s.size), 0);
    queued_work.assign(static_cast<std::size_t>(s.size), 0);
    busy_since.assign(static_cast<std::size_t>(s.size), started);
    busy.assign(static_cast<std::size_t>(s.size), 0);
    // Journaled tasks are done already; the others wait for their inputs.
    for (std::int32_t t = 0; t < n; ++t) {
      const auto tt = static_cast<std::size_t>(t);
      if (s.task_journal[tt].file >= 0) {
        s.holder[tt] = -2;
        out_size[tt] = s.task_journal[tt].size;
        ++skipped;
        ++done_count;
      }
    }
    for (std::int32_t t = 0; t < n; ++t) {
      const auto tt = static_cast<std::size_t>(t);
      if (s.holder[tt] == -2) continue;
      for (auto i : g.tasks()[tt].inputs) {
        if (s.holder[static_cast<std::size_t>(i)] != -2) ++deps_left[tt];
        ++consumers_left[static_cast<std::size_t>(i)];
      }
      if (deps_left[tt] == 0) ready.emplace(-priority[tt], t);
    }
  }

  std::thread worker([this] { worker_thread(); });
  try {
    int idle = 0;
    while (!stopped) {
      const double iteration = master() ? thread_cpu_seconds() : 0.0;
      bool active = poll_control();
      active = poll_data() || active;
      active = collect_finished() || active;
      if (master()) {
        if (stopping) {
          // Drain: every worker's last message, and our own to ourselves.
          if (byes == s.size - 1 && self_received == self_sent) stopped = true;
        } else if (!failure.empty() || done_count == n) {
          stop_all(failure);
        } else {
          active = schedule() || active;
        }
      } else if (stopping) {
        outbox(0, tag_bye).put<std::uint8_t>(0);
        stopped = true;
      }
      flush();
      if (active) {
        if (master()) master_active += thread_cpu_seconds() - iteration;
        idle = 0;
      } else if (++idle > 64) {
        // Nothing moved for a while: sleep until the worker finishes something
        // or a short timeout (messages from other ranks cannot wake us).
        std::unique_lock<std::mutex> lock(mutex);
        const auto wait = std::chrono::microseconds(std::min(50, 2 * (idle - 64)));
        comm_sleeping = true;
        done_cv.wait_for(lock, wait, [&] { return !finished.empty(); });
        comm_sleeping = false;
      } else if (idle > 16) {
        std::this_thread::yield();
      }
    }
  } catch (const std::exception& e) {
    // A broken message or an MPI failure on this rank: nothing sensible can
    // continue, and the other ranks would wait forever.
    std::fprintf(stderr, "msa scheduler: rank %d: %s\n", s.rank, e.what());
    std::fflush(stderr);
    {
      std::lock_guard<std::mutex> lock(mutex);
      worker_exit = true;
    }
    work_cv.notify_one();
    worker.join();
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    worker_exit = true;
    runnable.clear();
  }
  work_cv.notify_one();
  worker.join();
  finish();
}

void Scheduler::Impl::Run::finish() {
  // Every ordered transfer was matched by a dispatch, so these complete.
  for (auto& [task, inc] : incoming) check_mpi(MPI_Wait(&inc.request, MPI_STATUS_IGNORE), "scheduler: receive output");
  incoming.clear();
  for (auto& [request, buffer] : sends) check_mpi(MPI_Wait(&request, MPI_STATUS_IGNORE), "scheduler: send output");
  sends.clear();
  for (auto& [request, buffer] : posted) check_mpi(MPI_Wait(&request, MPI_STATUS_IGNORE), "scheduler: message");
  posted.clear();
  std::string error = stop_error;
  try {
    if (journal_writer && error.empty()) journal_writer->sync();
  } catch (const std::exception& e) {
    error = e.what();
  }

  // Rank 0 knows the whole story: stats, holders, the updated history.
  detail::WireWriter out;
  if (master()) {
    SchedulerStats& st = s.stats;
    st.makespan_seconds = seconds_since(started);
    st.tasks_run = done_count - skipped;
    st.tasks_skipped = skipped;
    st.bytes_moved = bytes_moved;
    // The master handles every task, so its busy time per task bounds how
    // small a task can usefully be.
    if (st.tasks_run > 0) st.overhead_seconds = master_active / static_cast<double>(st.tasks_run);
    for (std::size_t m = 0; m < s.modules.size(); ++m) {
      ModuleStats ms;
      ms.module = s.modules[m];
      ms.ranks = static_cast<int>(s.module_ranks[m].size());
      for (int r : s.module_ranks[m]) ms.busy_seconds += busy[static_cast<std::size_t>(r)];
      for (const auto& [key, ks] : kind_stats)
        if (key.second == static_cast<int>(m)) ms.tasks += ks.tasks;
      ms.utilisation = ms.ranks && st.makespan_seconds > 0 ? ms.busy_seconds / (ms.ranks * st.makespan_seconds) : 0;
      if (ms.ranks) st.modules.push_back(ms);
    }
    std::map<std::int32_t, std::pair<double, std::int64_t>> per_kind;
    for (const auto& [key, ks] : kind_stats) {
      KindStats k = ks;
      k.kind = kind_of[static_cast<std::size_t>(key.first)].kind->name;
      k.module = s.modules[static_cast<std::size_t>(key.second)];
      st.kinds.push_back(k);
      per_kind[key.first].first += ks.seconds;
      per_kind[key.first].second += ks.tasks;
    }
    for (const auto& [k, sum] : per_kind) {
      const double mean = sum.first / static_cast<double>(sum.second);
      if (sum.second >= 8 && mean < 10 * st.overhead_seconds) {
        char text[320];
        std::snprintf(text, sizeof text,
                      "task kind '%s': %.1f us per task on average, under 10 x the scheduler's overhead of %.1f us "
                      "per task; give each task more work (fewer, larger tasks)",
                      kind_of[static_cast<std::size_t>(k)].kind->name.c_str(), 1e6 * mean, 1e6 * st.overhead_seconds);
        st.warnings.emplace_back(text);
      }
    }
    if (s.options.warn_small_tasks && error.empty())
      for (const auto& w : st.warnings) std::fprintf(stderr, "msa scheduler: warning: %s\n", w.c_str());
    if (!s.options.history_file.empty() && error.empty()) {
      try {
        s.history.save(s.options.history_file);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "msa scheduler: warning: %s (the history of this run is lost)\n", e.what());
      }
    }
    out.put<std::uint8_t>(error.empty() ? 0 : 1);
    out.put_string(error);
    out.put<double>(st.makespan_seconds);
    out.put<std::int64_t>(st.tasks_run);
    out.put<std::int64_t>(st.tasks_skipped);
    out.put<std::int64_t>(st.bytes_moved);
    out.put<double>(st.overhead_seconds);
    out.put<std::uint32_t>(static_cast<std::uint32_t>(st.modules.size()));
    for (const auto& m : st.modules) {
      out.put_string(m.module);
      out.put<std::int32_t>(m.ranks);
      out.put<std::int64_t>(m.tasks);
      out.put<double>(m.busy_seconds);
      out.put<double>(m.utilisation);
    }
    out.put<std::uint32_t>(static_cast<std::uint32_t>(st.kinds.size()));
    for (const auto& k : st.kinds) {
      out.put_string(k.kind);
      out.put_string(k.module);
      out.put<std::int64_t>(k.tasks);
      out.put<double>(k.seconds);
      out.put<double>(k.estimated_seconds);
    }
    out.put<std::uint32_t>(static_cast<std::uint32_t>(st.warnings.size()));
    for (const auto& w : st.warnings) out.put_string(w);
    for (auto h : s.holder) out.put<std::int32_t>(h);
    out.put_string(s.history.dump());
  }
  std::uint64_t bytes = out.bytes().size();
  check_mpi(MPI_Bcast(&bytes, 1, MPI_UINT64_T, 0, s.control), "scheduler: results");
  out.bytes().resize(bytes);
  check_mpi(MPI_Bcast(out.bytes().data(), static_cast<int>(bytes), MPI_BYTE, 0, s.control), "scheduler: results");
  if (!master()) {
    detail::WireReader in(out.bytes().data(), out.bytes().size());
    SchedulerStats& st = s.stats;
    const bool failed = in.get<std::uint8_t>() != 0;
    error = in.get_string();
    if (!failed) error.clear();
    st.makespan_seconds = in.get<double>();
    st.tasks_run = in.get<std::int64_t>();
    st.tasks_skipped = in.get<std::int64_t>();
    st.bytes_moved = in.get<std::int64_t>();
    st.overhead_seconds = in.get<double>();
    st.modules.resize(in.get<std::uint32_t>());
    for (auto& m : st.modules) {
      m.module = in.get_string();
      m.ranks = in.get<std::int32_t>();
      m.tasks = in.get<std::int64_t>();
      m.busy_seconds = in.get<double>();
      m.utilisation = in.get<double>();
    }
    st.kinds.resize(in.get<std::uint32_t>());
    for (auto& k : st.kinds) {
      k.kind = in.get_string();
      k.module = in.get_string();
      k.tasks = in.get<std::int64_t>();
      k.seconds = in.get<double>();
      k.estimated_seconds = in.get<double>();
    }
    st.warnings.resize(in.get<std::uint32_t>());
    for (auto& w : st.warnings) w = in.get_string();
    for (auto& h : s.holder) h = in.get<std::int32_t>();
    s.history.parse(in.get_string(), "rank 0's history");
  }
  if (!error.empty()) throw Error(error);
}

// ------------------------------------------------------------ Scheduler

TaskKindBuilder& TaskKindBuilder::variant(const std::string& backend, TaskFunction function) {
  if (!function)
    throw ConfigError("task kind '" + static_cast<KindDef*>(m_kind)->name + "': empty function for variant '" +
                      backend + "'");
  static_cast<KindDef*>(m_kind)->variants[backend] = std::move(function);
  return *this;
}

TaskKindBuilder& TaskKindBuilder::work(WorkModel model) {
  auto* kind = static_cast<KindDef*>(m_kind);
  kind->work = model;
  kind->has_work = true;
  return *this;
}

Scheduler::Scheduler(const Session& session, SchedulerOptions options)
    : m_impl(std::make_unique<Impl>(session, std::move(options))) {
  Impl& s = *m_impl;
  if (s.options.policy != "eft" && s.options.policy != "round_robin")
    throw ConfigError("scheduler: unknown policy '" + s.options.policy + "' (known: eft, round_robin)");
  if (s.options.min_queue < 1 || s.options.max_queue < s.options.min_queue)
    throw ConfigError("scheduler: need 1 <= min_queue <= max_queue (min_queue " + std::to_string(s.options.min_queue) +
                      ", max_queue " + std::to_string(s.options.max_queue) + ")");
  MPI_Comm dup = MPI_COMM_NULL;
  check_mpi(MPI_Comm_dup(session.world(), &dup), "scheduler: duplicate world");
  s.control = Comm::adopt(dup);
  check_mpi(MPI_Comm_dup(session.world(), &dup), "scheduler: duplicate world");
  s.data = Comm::adopt(dup);
  s.rank = s.control.rank();
  s.size = s.control.size();
  int* tag_ub = nullptr;
  int flag = 0;
  MPI_Comm_get_attr(s.data, MPI_TAG_UB, &tag_ub, &flag);
  if (flag && tag_ub) s.tag_limit = *tag_ub;

  s.modules = session.modules();
  s.module_ranks.resize(s.modules.size());
  s.rank_module.assign(static_cast<std::size_t>(s.size), 0);
  s.variant_order.resize(s.modules.size());
  s.flop_rate.assign(s.modules.size(), 0);
  s.memory_rate.assign(s.modules.size(), 0);
  for (std::size_t m = 0; m < s.modules.size(); ++m) {
    s.module_ranks[m] = session.module_ranks(s.modules[m]);
    for (int r : s.module_ranks[m]) s.rank_module[static_cast<std::size_t>(r)] = static_cast<int>(m);
    const ModuleSpec* spec = session.profile().find(s.modules[m]);
    std::vector<std::string>& order = s.variant_order[m];
    std::string hardware = "host";
    if (spec) {
      if (!spec->emulates.empty()) order.push_back(spec->emulates);
      if (std::find(order.begin(), order.end(), spec->backend) == order.end()) order.push_back(spec->backend);
      hardware = spec->emulates.empty() ? spec->backend : spec->emulates;
    }
    if (std::find(order.begin(), order.end(), "host") == order.end()) order.push_back("host");
    if (const Backend* b = find_backend(hardware)) {
      const int nodes = spec ? std::max(1, spec->nodes) : 1;
      const double per_node = std::ceil(static_cast<double>(s.module_ranks[m].size()) / nodes);
      const double ranks = std::max(1.0, per_node);
      s.flop_rate[m] = b->nominal.fp64_tflops * 1e12 / ranks;
      const double bw =
          b->nominal.gpus > 0 ? b->nominal.gpu_memory_bandwidth_gbs * b->nominal.gpus : b->nominal.memory_bandwidth_gbs;
      s.memory_rate[m] = bw * 1e9 / ranks;
    }
  }
  std::string error;
  if (!s.options.history_file.empty()) {
    try {
      s.history.load(s.options.history_file);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  detail::agree_on_error(s.control, error, 0);
  s.measure_bandwidths();
}

Scheduler::~Scheduler() = default;

TaskKindBuilder Scheduler::kind(const std::string& name) {
  if (name.empty()) throw ConfigError("scheduler: a task kind needs a name");
  auto& slot = m_impl->kinds[name];
  if (!slot) {
    slot = std::make_unique<KindDef>();
    slot->name = name;
  }
  return TaskKindBuilder(slot.get());
}

const SchedulerStats& Scheduler::run(const TaskGraph& graph) {
  Impl::Run run(*m_impl, graph);
  run.execute();
  return m_impl->stats;
}

Bytes Scheduler::result(TaskId task) const {
  const Impl& s = *m_impl;
  if (task.index < 0 || static_cast<std::size_t>(task.index) >= s.holder.size())
    throw ConfigError("scheduler: result(): no task with id " + std::to_string(task.index) + " in the last run");
  const auto t = static_cast<std::size_t>(task.index);
  const int holder = s.holder[t];
  if (holder == -1)
    throw ConfigError("scheduler: result(): the output of task '" + s.task_names[t] +
                      "' was released after its consumers ran; only outputs no task consumes are kept");
  const int root = holder == -2 ? 0 : holder;
  Bytes out;
  std::string error;
  if (s.rank == root) {
    try {
      if (holder == -2)
        out = detail::read_journal_entry(s.journal.files[static_cast<std::size_t>(s.task_journal[t].file)],
                                         s.task_journal[t]);
      else
        out = *s.outputs.at(task.index);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  detail::agree_on_error(s.control, error, 4);
  std::uint64_t bytes = out.size();
  check_mpi(MPI_Bcast(&bytes, 1, MPI_UINT64_T, root, s.control), "scheduler: result");
  out.resize(bytes);
  for (std::uint64_t at = 0; at < bytes;) {
    const int chunk = static_cast<int>(std::min<std::uint64_t>(bytes - at, 1u << 30));
    check_mpi(MPI_Bcast(out.data() + at, chunk, MPI_BYTE, root, s.control), "scheduler: result");
    at += static_cast<std::uint64_t>(chunk);
  }
  return out;
}

double Scheduler::bandwidth(const std::string& from, const std::string& to) const {
  const Impl& s = *m_impl;
  const auto a = std::find(s.modules.begin(), s.modules.end(), from);
  const auto b = std::find(s.modules.begin(), s.modules.end(), to);
  if (a == s.modules.end() || b == s.modules.end())
    throw ConfigError("scheduler: no module '" + (a == s.modules.end() ? from : to) + "' in this job");
  return s.bw(static_cast<int>(a - s.modules.begin()), static_cast<int>(b - s.modules.begin()));
}

double Scheduler::estimate(const std::string& kind, const std::string& module, double bytes) const {
  const double t = m_impl->history.predict(kind, module, bytes);
  if (t >= 0) return t;
  const auto k = m_impl->kinds.find(kind);
  const auto m = std::find(m_impl->modules.begin(), m_impl->modules.end(), module);
  if (k == m_impl->kinds.end() || m == m_impl->modules.end()) return -1;
  const auto mi = static_cast<std::size_t>(m - m_impl->modules.begin());
  return prior_seconds(*k->second, m_impl->flop_rate[mi], m_impl->memory_rate[mi], bytes);
}

const SchedulerStats& Scheduler::stats() const { return m_impl->stats; }

}  // namespace msa
