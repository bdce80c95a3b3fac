// dnd: the command-line entry point. Parses flags, starts MPI, dispatches to one
// subcommand, and turns errors into DESIGN.md's exit codes: 2 for invalid input (nothing
// ran), 1 for a failure while running (one message naming the rank).
#include "cli/commands.h"
#include "core/communicator.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/diagnostics.h"
#include "dnd/version.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  using namespace dnd::cli;
  CLI::App app{"dnd: distributed n-dimensional arrays and pipelines on MPI + LibTorch", "dnd"};
  app.set_version_flag("--version", std::string("dnd ") + DND_VERSION_STRING);
  app.require_subcommand(1);
  Global g;
  app.add_flag("-v,--verbose", g.verbose, "report the runtime (BLAS, threads, ranks) at start-up");
  app.add_flag("-q,--quiet", g.quiet, "print nothing but errors");
  app.add_option("-n,--nranks", g.nranks, "run with N ranks: re-launches under mpirun when not already launched")
      ->check(CLI::PositiveNumber);

  // Global options may also follow the subcommand: dnd run pipe.yaml -n 4.
  app.fallthrough();
  std::vector<Command> commands{add_demo(app, g),    add_info(app, g), add_run(app, g),
                                add_plan(app, g),    add_validate(app, g), add_ops(app, g),
                                add_jobs(app, g), add_inspect(app, g),
                                add_bench(app, g)};

  // An unknown first word is a mistyped command: say so, with the nearest name.
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const Command& c : commands) names.push_back(c.app->get_name());
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      fmt::print(stderr, "dnd: error: unknown command '{}'{}\nRun 'dnd --help' for the commands.\n", argv[1],
                 dnd::did_you_mean(argv[1], names));
      return kExitUsage;
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help / version / the error
    return rc == 0 ? kExitOk : kExitUsage;
  }

  // Commands that read only files and metadata (validate, plan, ops, inspect, jobs) run in
  // this one process and never initialise MPI, so they work on a login node.
  for (const Command& c : commands) {
    if (!c.app->parsed() || c.needs_mpi) continue;
    try {
      return c.run();
    } catch (const UsageError& e) {
      if (e.bare)
        fmt::print(stderr, "{}\n", e.what());
      else
        fmt::print(stderr, "dnd {}: error: {}\n", c.app->get_name(), e.what());
      return kExitUsage;
    } catch (const std::exception& e) {
      fmt::print(stderr, "dnd {}: error: {}\n", c.app->get_name(), dnd::without_backtrace(e.what()));
      return kExitFailure;
    }
  }

  if (g.nranks > 0 && !under_launcher()) {
    const std::string why = relaunch(g.nranks, argc, argv);
    fmt::print(stderr, "dnd: error: {}\n", why);
    return kExitFailure;
  }

  dnd::Runtime runtime(&argc, &argv, dnd::RuntimeOptions{0, g.verbose});
  const dnd::Communicator world = dnd::Communicator::world();
  if (g.nranks > 0 && g.nranks != world.size()) {
    if (world.rank() == 0)
      fmt::print(stderr, "dnd: error: -n {} given, but the launcher started {} ranks\n", g.nranks, world.size());
    return kExitUsage;
  }

  for (const Command& c : commands) {
    if (!c.app->parsed()) continue;
    try {
      return c.run();
    } catch (const UsageError& e) {
      // Found before any communication, alike on every rank: nobody waits.
      if (world.rank() == 0) {
        if (e.bare)
          fmt::print(stderr, "{}\n", e.what());
        else
          fmt::print(stderr, "dnd {}: error: {}\n", c.app->get_name(), e.what());
      }
      return kExitUsage;
    } catch (const std::exception& e) {
      // May be one rank only: end the whole job so that no rank waits in a collective.
      // When every rank fails alike, rank 0's abort usually ends the others within the
      // pause, so the message is printed once; a rank failing alone still reports.
      if (world.rank() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
      fmt::print(stderr, "dnd {}: error on rank {}: {}\n", c.app->get_name(), world.rank(),
                 dnd::without_backtrace(e.what()));
      dnd::abort_all(kExitFailure);
    }
  }
  return kExitUsage;
}
