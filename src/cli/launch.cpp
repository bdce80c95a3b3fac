#include "src/cli/commands.h"
#include "src/core/process.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace dnd::cli {

bool under_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                        "SLURM_STEP_NUM_TASKS", "MPI_LOCALNRANKS", "HYDRA_CONTROL_FD"})
    if (std::getenv(v)) return true;
  return false;
}

std::string relaunch(int nranks, int argc, char** argv) {
  std::string self;
  try {
    self = self_executable();
  } catch (const std::exception& e) {
    return e.what();
  }

  std::vector<std::string> args{"mpirun", "-n", std::to_string(nranks)};
  if (static_cast<unsigned>(nranks) > std::max(1u, std::thread::hardware_concurrency()))
    args.push_back("--oversubscribe");
  args.push_back(self);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-n" || a == "--nranks") {
      ++i;  // drop the value too
      continue;
    }
    if (a.rfind("-n", 0) == 0 && a.size() > 2 && a[2] != '-') continue;  // -n4
    if (a.rfind("--nranks=", 0) == 0) continue;
    args.push_back(a);
  }
  // Open MPI refuses root unless told; -n is the user's explicit request to launch.
  if (geteuid() == 0) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  }
  return exec_process(args);
}

}  // namespace dnd::cli
