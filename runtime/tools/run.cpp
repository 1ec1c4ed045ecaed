#include "run.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "job.hpp"
#include "launch.hpp"
#include "msa/error.hpp"
#include "rank_status.hpp"
#include "strings.hpp"

extern char** environ;

namespace msa::tools {

namespace fs = std::filesystem;

namespace {

volatile sig_atomic_t g_stop_signal = 0;
void on_stop_signal(int sig) { g_stop_signal = sig; }

std::string self_executable() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("msa") : p.string();
}

// command[0] without a '/': msa's own directory first (the build tree's bin/
// or the install prefix's bin/), then PATH. Returns "" when not found.
std::string resolve_program(const std::string& name, const std::string& msa_dir) {
  if (name.find('/') != std::string::npos) return name;
  std::vector<std::string> dirs = {msa_dir};
  if (const auto path = detail::getenv_nonempty("PATH"))
    for (auto& d : detail::split(*path, ':')) dirs.push_back(d.empty() ? "." : d);
  for (const auto& d : dirs) {
    const fs::path candidate = fs::path(d) / name;
    if (::access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate)) return candidate.string();
  }
  return "";
}

void print_plan(const JobSpec& job, const LaunchPlan& plan) {
  std::printf("# msa run --dry-run: job '%s' (%s), profile %s, %d ranks, launcher %s\n", job.name.c_str(),
              job.source.c_str(), job.profile_name.c_str(), job.total_ranks(), plan.launcher.c_str());
  for (const auto& note : plan.notes) std::printf("# %s\n", note.c_str());
  for (const auto& [path, content] : plan.files) {
    std::printf("# file %s:\n", path.c_str());
    for (const auto& line : detail::split(content, '\n'))
      if (!line.empty()) std::printf("#   %s\n", line.c_str());
  }
  for (const auto& [k, v] : plan.env) std::printf("export %s\n", shell_quote({k + "=" + v}).c_str());
  // One component per line, as one would type it.
  std::vector<std::string> part;
  std::string text;
  for (const auto& a : plan.argv) {
    if (a == ":") {
      text += shell_quote(part) + " \\\n  : ";
      part.clear();
    } else {
      part.push_back(a);
    }
  }
  text += shell_quote(part);
  std::printf("%s\n", text.c_str());
}

// Signals every process re-parented to us (our children other than the
// launcher are ranks it left behind); returns how many there were.
int kill_descendants(int sig) {
  int n = 0;
  const std::string me = std::to_string(::getpid());
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream stat(it->path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const auto close = line.rfind(')');  // "pid (comm) state ppid ..."; comm may contain spaces
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    if (ppid == me && state != "Z") {
      ::kill(std::stoi(name), sig);
      ++n;
    }
  }
  return n;
}

struct ComponentResult {
  int reported = 0;
  double start = 0, end = 0;
  int exit_code = 0;
  int signal = 0;
  int failed_rank = -1;
};

}  // namespace

int run_job(const RunOptions& options) {
  const JobSpec job = load_job(options.job_file, options.profile);
  if (options.check) {
    std::printf("%s: job '%s' is valid: %zu component(s), %d rank(s), profile %s\n", job.source.c_str(),
                job.name.c_str(), job.components.size(), job.total_ranks(), job.profile_name.c_str());
    for (const auto& c : job.components)
      std::printf("  %-12s module %-8s ranks %-4d threads/rank %-3d gpus/rank %d: %s\n", c.name.c_str(),
                  c.module.c_str(), c.ranks, c.threads_per_rank, c.gpus_per_rank, shell_quote(c.command).c_str());
    return 0;
  }

  if (options.plain && !options.dry_run)
    throw ConfigError("--plain only changes what --dry-run prints; msa run always runs ranks under its wrapper");
  const std::string launcher = choose_launcher(options.launcher);
  LaunchContext ctx;
  ctx.msa_executable = self_executable();
  ctx.wrap = !(options.dry_run && options.plain);
  ctx.as_root = ::geteuid() == 0;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  ctx.hostname = host;
  ctx.cwd = fs::current_path().string();
  const Topology topology;
  ctx.layout = topology.layout();
  const fs::path run_dir = fs::absolute(fs::path(".msa") / fmt::format("{}-{}", job.name, ::getpid()));
  ctx.run_dir = run_dir.string();
  if (!options.logs_dir.empty()) ctx.logs_dir = fs::absolute(options.logs_dir).string();

  JobSpec resolved = job;
  const std::string msa_dir = fs::path(ctx.msa_executable).parent_path().string();
  for (auto& c : resolved.components) {
    const std::string found = resolve_program(c.command.front(), msa_dir);
    if (!found.empty()) {
      c.command.front() = found;
    } else if (!options.dry_run) {
      throw ConfigError(fmt::format("{}:{}: component '{}': program '{}' not found in {} or PATH", job.source, c.line,
                                    c.name, c.command.front(), msa_dir));
    }
  }
  const LaunchPlan plan = plan_launch(launcher, resolved, ctx);
  if (options.dry_run) {
    print_plan(resolved, plan);
    return 0;
  }

  // The run directory holds the rankfile and the ranks' exit records.
  fs::create_directories(run_dir.parent_path());
  if (::mkdir(run_dir.c_str(), 0700) != 0)
    throw IoError(fmt::format("cannot create run directory {}: {}", run_dir.string(), std::strerror(errno)));
  for (const auto& [path, content] : plan.files) {
    std::ofstream f(path);
    f << content;
    if (!f) throw IoError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  }

  // Each run starts its logs afresh.
  if (!ctx.logs_dir.empty()) {
    fs::create_directories(ctx.logs_dir);
    for (const auto& c : job.components) {
      std::ofstream truncate(fs::path(ctx.logs_dir) / (c.name + ".log"), std::ios::trunc);
      if (!truncate) throw IoError(fmt::format("cannot write logs in {}: {}", ctx.logs_dir, std::strerror(errno)));
    }
  }

  std::fprintf(stderr, "msa run: job '%s': %d ranks with %s\n", job.name.c_str(), job.total_ranks(), launcher.c_str());
  for (const auto& note : plan.notes) std::fprintf(stderr, "msa run: %s\n", note.c_str());

  // Ranks a launcher leaves behind are re-parented to us, so that we can
  // stop them too (Open MPI puts each rank in a process group of its own).
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  // Handlers go in before fork, so that no signal finds the job half set up;
  // the launcher gets the default dispositions back. It stays in our process
  // group and so keeps the terminal (a rank may read stdin).
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old[3] = {};
  const int stop_signals[3] = {SIGINT, SIGTERM, SIGHUP};
  for (int i = 0; i < 3; ++i) ::sigaction(stop_signals[i], &sa, &old[i]);

  const double t0 = now_seconds();
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(fmt::format("msa run: fork: {}", std::strerror(errno)));
  if (pid == 0) {
    for (int i = 0; i < 3; ++i) ::sigaction(stop_signals[i], &old[i], nullptr);
    for (const auto& [k, v] : plan.env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    for (const auto& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "msa run: cannot start launcher '%s': %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }

  bool stopping = false;
  double kill_at = 0, failure_seen_at = 0;
  constexpr double kLauncherGrace = 3.0;
  int launcher_code = -1;
  std::optional<RankStatus> first_failure;
  while (true) {
    int ws = 0;
    const pid_t done = ::waitpid(pid, &ws, WNOHANG);
    if (done == pid) {
      launcher_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
      break;
    }
    // Ranks that end because we are stopping the job on a signal are not failures.
    if (!first_failure && !g_stop_signal) {
      for (const auto& s : read_rank_statuses(ctx.run_dir))
        if (s.exit_code != 0 && (!first_failure || s.end < first_failure->end)) first_failure = s;
      if (first_failure) {
        std::fprintf(stderr,
                     "msa run: component '%s' rank %d (world rank %d on %s) exited with code %d%s; stopping the "
                     "others\n",
                     first_failure->component.c_str(), first_failure->rank, first_failure->world_rank,
                     first_failure->host.c_str(), first_failure->exit_code,
                     first_failure->signal ? fmt::format(" (signal {})", first_failure->signal).c_str() : "");
      }
    }
    // Launchers stop a job with a failed rank by themselves (mpirun does,
    // srun --kill-on-bad-exit does); give them a moment before stepping in,
    // since signalling one in the middle of its own abort can crash it.
    if (first_failure && !stopping && failure_seen_at == 0) failure_seen_at = now_seconds();
    const bool launcher_slow = failure_seen_at > 0 && now_seconds() - failure_seen_at > kLauncherGrace;
    if (!stopping && (launcher_slow || g_stop_signal)) {
      if (g_stop_signal)
        std::fprintf(stderr, "msa run: got signal %d, stopping the job\n", static_cast<int>(g_stop_signal));
      ::kill(pid, SIGTERM);  // the launcher forwards it to every rank
      stopping = true;
      kill_at = now_seconds() + options.stop_timeout;
    }
    if (stopping && now_seconds() > kill_at) {
      std::fprintf(stderr, "msa run: the job did not stop within %.0f s; killing it\n", options.stop_timeout);
      ::kill(pid, SIGKILL);
      kill_descendants(SIGKILL);
      kill_at = now_seconds() + 3600;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Whatever outlived the launcher (re-parented to us) is stopped now.
  if (kill_descendants(SIGTERM) > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    kill_descendants(SIGKILL);
  }
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  for (int i = 0; i < 3; ++i) ::sigaction(stop_signals[i], &old[i], nullptr);
  const double wall = now_seconds() - t0;

  // Summary: wall time and exit code per component.
  const auto statuses = read_rank_statuses(ctx.run_dir);
  if (first_failure)  // every record is in now: the earliest failure may have been read late
    for (const auto& s : statuses)
      if (s.exit_code != 0 && s.end < first_failure->end) first_failure = s;
  if (!first_failure && !g_stop_signal)
    for (const auto& s : statuses)
      if (s.exit_code != 0 && (!first_failure || s.end < first_failure->end)) first_failure = s;
  std::map<std::string, ComponentResult> results;
  for (const auto& s : statuses) {
    auto& r = results[s.component];
    r.start = r.reported ? std::min(r.start, s.start) : s.start;
    r.end = std::max(r.end, s.end);
    ++r.reported;
    if (s.exit_code != 0 && r.exit_code == 0) {
      r.exit_code = s.exit_code;
      r.signal = s.signal;
      r.failed_rank = s.rank;
    }
  }
  const char* outcome = g_stop_signal ? "was stopped" : (first_failure || launcher_code != 0 ? "failed" : "finished");
  std::fprintf(stderr, "msa run: job '%s' %s after %.2f s (%s exit code %d)\n", job.name.c_str(), outcome, wall,
               launcher.c_str(), launcher_code);
  std::fprintf(stderr, "  %-14s %-10s %-7s %-9s %s\n", "component", "module", "ranks", "wall", "exit");
  for (const auto& c : job.components) {
    const auto it = results.find(c.name);
    const ComponentResult r = it == results.end() ? ComponentResult{} : it->second;
    std::string exit;
    if (r.exit_code != 0 && r.signal != 0)
      exit = fmt::format("{} (rank {} ended by signal {}{})", r.exit_code, r.failed_rank, r.signal,
                         (first_failure && first_failure->component != c.name) || g_stop_signal ? ", stopped" : "");
    else if (r.exit_code != 0)
      exit = fmt::format("{} (rank {})", r.exit_code, r.failed_rank);
    else if (r.reported == c.ranks)
      exit = "0";
    else
      exit = fmt::format("0 on {} of {} ranks, the rest {}", r.reported, c.ranks, stopping ? "stopped" : "unreported");
    std::fprintf(stderr, "  %-14s %-10s %-7d %-9s %s\n", c.name.c_str(), c.module.c_str(), c.ranks,
                 r.reported ? fmt::format("{:.2f} s", r.end - r.start).c_str() : "-", exit.c_str());
  }
  if (!options.logs_dir.empty()) std::fprintf(stderr, "msa run: logs in %s\n", ctx.logs_dir.c_str());

  std::error_code ec;
  fs::remove_all(run_dir, ec);
  if (g_stop_signal) return 128 + g_stop_signal;
  if (first_failure) return first_failure->exit_code;
  return launcher_code == 0 ? 0 : (launcher_code > 0 ? launcher_code : 1);
}

}  // namespace msa::tools
