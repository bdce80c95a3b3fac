#include "src/cli/commands.h"
#include "src/core/process.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace dnd::cli {

CLI::Validator positive_count() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        errno = 0;
        const long long n = std::strtoll(v.c_str(), &end, 10);
        if (v.empty() || end != v.c_str() + v.size() || errno == ERANGE || n < 1 || n > INT_MAX)
          return fmt::format("must be a whole number from 1 to {}, got '{}'", INT_MAX, v);
        return {};
      },
      "N");
}

std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* a = &app; a; a = a->get_parent())
    for (const CLI::Option* o : a->get_options()) {
      for (const std::string& l : o->get_lnames()) names.push_back("--" + l);
      for (const std::string& s : o->get_snames()) names.push_back("-" + s);
    }
  return names;
}

std::string usage_error_text(CLI::App& app, const CLI::ParseError& e) {
  // The innermost command the parse reached.
  CLI::App* cmd = &app;
  for (;;) {
    const std::vector<CLI::App*> subs = cmd->get_subcommands();
    if (subs.empty()) break;
    cmd = subs.front();
  }
  std::string prefix = "dnd";
  for (const CLI::App* a = cmd; a && a->get_parent(); a = a->get_parent())
    prefix.insert(3, " " + a->get_name());
  const std::string help =
      fmt::format("Run '{} --help' for {}.", prefix, cmd == &app ? "the commands" : "its options");
  std::string what = e.what();
  // "The following argument(s) was/were not expected: --sett n=5"
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    const size_t colon = what.find(": ");
    std::istringstream extras(colon == std::string::npos ? what : what.substr(colon + 2));
    std::string first, word, option;
    while (extras >> word) {  // the first option among them, else the first argument
      if (first.empty()) first = word;
      if (word.size() > 1 && word[0] == '-' && option.empty()) option = word;
    }
    if (!option.empty()) {
      const std::string name = option.substr(0, option.find('='));
      return fmt::format("{}: error: unknown option '{}'{}\n{}", prefix, name,
                         did_you_mean(name, option_names(*cmd)), help);
    }
    return fmt::format("{}: error: unexpected argument '{}'\n{}", prefix, first, help);
  }
  if (cmd == &app && what == "A subcommand is required")
    return fmt::format("dnd: error: a command is required\n{}", help);
  return fmt::format("{}: error: {}\n{}", prefix, what, help);
}

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

  // --quiet: Open MPI's own banners (the MPI_ABORT notice, "Primary job terminated
  // normally, but ...") would follow dnd's message and bury it.
  std::vector<std::string> args{"mpirun", "--quiet", "-n", std::to_string(nranks)};
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
