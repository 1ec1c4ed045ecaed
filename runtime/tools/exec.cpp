#include "exec.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "msa/error.hpp"
#include "rank_status.hpp"
#include "strings.hpp"

namespace msa::tools {

namespace {

volatile sig_atomic_t g_child = 0;

void forward_signal(int sig) {
  if (g_child > 0) ::kill(static_cast<pid_t>(g_child), sig);
}

// The world rank the launcher gave this process.
int launcher_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const auto v = detail::getenv_nonempty(name)) {
      try {
        return std::stoi(*v);
      } catch (const std::exception&) {
      }
    }
  return 0;
}

void write_all(int fd, const std::string& text) {
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // the terminal or log went away; the program's status still counts
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

// Splits a stream into lines and writes each with a prefix, one write a line
// so that lines of different ranks do not interleave.
struct LineSink {
  int fd;
  std::string prefix;
  std::string pending;
  void feed(const char* data, std::size_t n) {
    pending.append(data, n);
    std::size_t start = 0, nl;
    while ((nl = pending.find('\n', start)) != std::string::npos) {
      write_all(fd, prefix + pending.substr(start, nl - start + 1));
      start = nl + 1;
    }
    pending.erase(0, start);
  }
  void flush() {
    if (!pending.empty()) write_all(fd, prefix + pending + "\n");
    pending.clear();
  }
};

}  // namespace

int run_exec(const ExecOptions& options) {
  if (options.command.empty()) throw ConfigError("msa exec: no command after '--'");
  const int world = launcher_rank();
  const int rank = world - options.first_rank;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);

  int log_fd = -1;
  if (!options.logs_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.logs_dir, ec);
    const std::string path = options.logs_dir + "/" + options.component + ".log";
    log_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) throw Error(fmt::format("msa exec: cannot open log file {}: {}", path, std::strerror(errno)));
  }

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw Error(fmt::format("msa exec: pipe: {}", std::strerror(errno)));

  RankStatus status;
  status.component = options.component;
  status.rank = rank;
  status.world_rank = world;
  status.host = host;
  status.start = now_seconds();

  std::vector<char*> argv;
  for (const auto& a : options.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  // Signals are forwarded to the program; handlers go in before fork so that
  // none is lost, and the program gets the default dispositions back. SIGPIPE
  // is ignored here so that a closed terminal cannot kill us before the exit
  // status is recorded.
  struct sigaction forward {
  }, ignore{};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  const int forwarded[3] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old[3] = {}, old_pipe{};
  for (int i = 0; i < 3; ++i) ::sigaction(forwarded[i], &forward, &old[i]);
  ::sigaction(SIGPIPE, &ignore, &old_pipe);
  // When the launcher dies (killed by msa run, say), so do we, and the program with us.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);

  const pid_t child = ::fork();
  if (child < 0) throw Error(fmt::format("msa exec: fork: {}", std::strerror(errno)));
  if (child == 0) {
    for (int i = 0; i < 3; ++i) ::sigaction(forwarded[i], &old[i], nullptr);
    ::sigaction(SIGPIPE, &old_pipe, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "msa exec: cannot start '%s': %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  g_child = child;
  ::close(out[1]);
  ::close(err[1]);

  const std::string label =
      log_fd >= 0 ? fmt::format("[rank {}] ", rank) : fmt::format("[{} {}] ", options.component, rank);
  LineSink sinks[2] = {
      {log_fd >= 0 ? log_fd : STDOUT_FILENO, label, {}},
      {log_fd >= 0 ? log_fd : STDERR_FILENO, log_fd >= 0 ? fmt::format("[rank {} stderr] ", rank) : label, {}}};
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_streams = 2;
  char buffer[65536];
  int wstatus = 0;
  bool exited = false;
  double drain_until = 0;
  // Until the program has exited and its pipes are drained. A background
  // process it left holding the pipes must not delay its exit status, so
  // after the exit the pipes get one more second at most.
  while (open_streams > 0) {
    if (!exited && ::waitpid(child, &wstatus, WNOHANG) == child) {
      exited = true;
      status.end = now_seconds();
      drain_until = status.end + 1.0;
    }
    if (exited && now_seconds() > drain_until) break;
    if (::poll(fds, 2, 100) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i].feed(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        sinks[i].flush();
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_streams;
      }
    }
  }
  for (int i = 0; i < 2; ++i)
    if (fds[i].fd >= 0) {
      sinks[i].flush();
      ::close(fds[i].fd);
    }
  if (!exited) {
    while (::waitpid(child, &wstatus, 0) < 0 && errno == EINTR) {
    }
    status.end = now_seconds();
  }
  if (WIFSIGNALED(wstatus)) {
    status.signal = WTERMSIG(wstatus);
    status.exit_code = 128 + status.signal;
  } else {
    status.exit_code = WEXITSTATUS(wstatus);
  }
  if (log_fd >= 0) ::close(log_fd);
  if (!options.run_dir.empty()) {
    try {
      write_rank_status(options.run_dir, status);
    } catch (const std::exception& e) {  // the program's own exit code still goes back to the launcher
      std::fprintf(stderr, "msa exec: warning: %s\n", e.what());
    }
  }
  return status.exit_code;
}

}  // namespace msa::tools
