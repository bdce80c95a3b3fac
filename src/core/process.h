// Other programs: the path of this one, running one and waiting for it, running one with
// its output captured and a time limit, replacing this process by one. No shell: argv[0]
// is looked up on PATH, arguments reach the program as they are. Used by the dnd
// executable (-n's relaunch under mpirun, dnd bench --launcher, dnd jobs' checks).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace dnd {

// This executable's path (/proc/self/exe). Throws dnd::Error when it cannot be read.
std::string self_executable();

// Runs argv with this process's stdin, stdout and stderr, and waits for it. Returns its
// exit code, 128 + the signal that ended it, or 127 when it could not start (after
// printing why on stderr). Throws dnd::Error when fork or wait fails.
int run_process(const std::vector<std::string>& argv);

struct CapturedRun {
  int rc = -1;  // exit code (128 + signal); 127: could not start; -1: time-out (killed) or no fork
  std::string out, err;
};

// Runs argv with stdout and stderr captured (stdin inherited); kills it after `timeout`.
CapturedRun run_captured(const std::vector<std::string>& argv, std::chrono::seconds timeout);

// Replaces this process by argv (execvp). Returns only when that fails, with the reason.
std::string exec_process(const std::vector<std::string>& argv);

}  // namespace dnd
