#include "src/core/process.h"

#include "src/core/error.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace dnd {

namespace {

// argv as execvp wants it; the strings must outlive the call.
std::vector<char*> c_argv(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (std::string& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

// Waits for pid; its exit code or 128 + signal; -1 when waitpid fails.
int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::string self_executable() {
  char buf[4096];
  const ssize_t len = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (len <= 0) throw Error(std::string("cannot find this executable: ") + std::strerror(errno));
  return std::string(buf, static_cast<size_t>(len));
}

int run_process(const std::vector<std::string>& argv) {
  if (argv.empty()) throw Error("run_process: no program given");
  std::vector<std::string> copy = argv;
  std::vector<char*> cargs = c_argv(copy);
  const pid_t pid = fork();
  if (pid < 0) throw Error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    execvp(cargs[0], cargs.data());
    std::fprintf(stderr, "cannot start %s: %s\n", cargs[0], std::strerror(errno));
    _exit(127);
  }
  const int rc = wait_for(pid);
  if (rc < 0) throw Error(std::string("waitpid failed: ") + std::strerror(errno));
  return rc;
}

CapturedRun run_captured(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  CapturedRun c;
  if (argv.empty()) return c;
  std::vector<std::string> copy = argv;
  std::vector<char*> cargs = c_argv(copy);
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0) return c;
  if (pipe(err_pipe) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return c;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return c;
  }
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    execvp(cargs[0], cargs.data());
    std::fprintf(stderr, "cannot start %s: %s\n", cargs[0], std::strerror(errno));
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&c.out, &c.err};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int open_fds = 2;
  bool killed = false;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), INT_MAX))) < 0 && errno != EINTR)
      break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (const pollfd& p : fds)
    if (p.fd >= 0) close(p.fd);
  const int rc = wait_for(pid);
  if (!killed) c.rc = rc;
  return c;
}

std::string exec_process(const std::vector<std::string>& argv) {
  if (argv.empty()) return "no program given";
  std::vector<std::string> copy = argv;
  std::vector<char*> cargs = c_argv(copy);
  execvp(cargs[0], cargs.data());
  return std::string("cannot start ") + argv[0] + ": " + std::strerror(errno);
}

}  // namespace dnd
