// dnd: the command-line entry point. Parses flags, starts MPI, dispatches to one
// subcommand, and turns errors into the exit codes of docs/ARCHITECTURE.md: 2 for invalid input (nothing
// ran), 1 for a failure while running (one message naming the rank).
#include "src/cli/commands.h"
#include "src/core/collectives.h"
#include "src/core/communicator.h"
#include "src/core/error.h"
#include "src/core/runtime.h"
#include "src/core/diagnostics.h"
#include "dnd/version.h"
#include "src/pipeline/plugins.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

// How long a rank whose command failed waits for the other ranks to report a failure too
// (DND_FAILURE_WAIT, seconds; default 10). Only a failure on some ranks alone waits it out.
std::chrono::milliseconds failure_wait() {
  double s = 10;
  if (const char* e = std::getenv("DND_FAILURE_WAIT")) {
    char* end = nullptr;
    const double v = std::strtod(e, &end);
    if (end != e && v >= 0 && v <= 3600) s = v;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
}

void print_usage_error(const dnd::cli::Command& c, const dnd::cli::UsageError& e) {
  if (e.bare)
    fmt::print(stderr, "{}\n", e.what());
  else
    fmt::print(stderr, "dnd {}: error: {}\n", c.app->get_name(), e.what());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dnd::cli;
  CLI::App app{"dnd: distributed n-dimensional arrays and pipelines on MPI + LibTorch", "dnd"};
  app.set_version_flag("-V,--version", std::string("dnd ") + DND_VERSION_STRING);
  app.require_subcommand(1);
  Global g;
  app.add_flag("-v,--verbose", g.verbose, "report the runtime (BLAS, threads, ranks) at start-up");
  app.add_flag("-q,--quiet", g.quiet, "print nothing but errors");
  app.add_option("-n,--nranks", g.nranks,
                 "run with N ranks: re-launches under mpirun when not already launched")
      ->check(positive_count());
  app.add_option("--plugin", g.plugins,
                 "load a shared library of ops (repeatable; see README 'Plugins')");

  // Global options may also follow the subcommand: dnd run pipe.yaml -n 4.
  app.fallthrough();
  std::vector<Command> commands{add_demo(app, g),        add_info(app, g),       add_run(app, g),
                                add_plan(app, g),        add_validate(app, g),   add_ops(app, g),
                                add_jobs(app, g),        add_inspect(app, g),    add_bench(app, g),
                                add_checkpoints(app, g), add_completion(app, g), add_man(app, g)};

  std::vector<std::string> names;
  for (const Command& c : commands) names.push_back(c.app->get_name());
  const auto is_command = [&](const std::string& w) {
    return std::find(names.begin(), names.end(), w) != names.end();
  };
  // dnd help [command]: git's and Slurm's way of asking.
  if (argc > 1 && std::string(argv[1]) == "help") {
    if (argc == 2) {
      fmt::print("{}", app.help());
      return kExitOk;
    }
    if (argc == 3 && is_command(argv[2])) {
      fmt::print("{}", app.get_subcommand(argv[2])->help());
      return kExitOk;
    }
    fmt::print(stderr, "dnd help: error: unknown command '{}'{}\nRun 'dnd --help' for the commands.\n",
               argv[2], argc == 3 ? dnd::did_you_mean(argv[2], names) : std::string());
    return kExitUsage;
  }
  // An unknown first word is a mistyped command, an unknown first long option a mistyped
  // option: say so, with the nearest name.
  if (argc > 1 && argv[1][0] != '-' && !is_command(argv[1])) {
    names.push_back("help");
    fmt::print(stderr, "dnd: error: unknown command '{}'{}\nRun 'dnd --help' for the commands.\n",
               argv[1], dnd::did_you_mean(argv[1], names));
    return kExitUsage;
  }
  if (argc > 1 && std::string(argv[1]).rfind("--", 0) == 0 && std::string(argv[1]) != "--") {
    const std::string opt = std::string(argv[1]).substr(0, std::string(argv[1]).find('='));
    const std::vector<std::string> opts = option_names(app);
    if (std::find(opts.begin(), opts.end(), opt) == opts.end()) {
      fmt::print(stderr, "dnd: error: unknown option '{}'{}\nRun 'dnd --help' for the commands.\n", opt,
                 dnd::did_you_mean(opt, opts));
      return kExitUsage;
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e) == 0 ? kExitOk : kExitUsage;  // --help, --version
    fmt::print(stderr, "{}\n", usage_error_text(app, e));
    return kExitUsage;
  }

  // Commands that read only files and metadata (validate, plan, ops, inspect, jobs) run in
  // this one process and never initialise MPI, so they work on a login node.
  // Plugins' ops register before any command looks at the registry.
  auto load_plugins = [&]() -> std::string {
    try {
      for (const std::string& p : g.plugins) dnd::pipeline::load_plugin(p);
    } catch (const std::exception& e) {
      return e.what();
    }
    return {};
  };
  // In this one process, without MPI: plugins first, then fn; errors become exit codes.
  auto run_alone = [&](const Command& c, const std::function<int()>& fn) {
    if (const std::string err = load_plugins(); !err.empty()) {
      fmt::print(stderr, "dnd: error: {}\n", err);
      return kExitUsage;
    }
    try {
      return fn();
    } catch (const UsageError& e) {
      print_usage_error(c, e);
      return kExitUsage;
    } catch (const std::exception& e) {
      fmt::print(stderr, "dnd {}: error: {}\n", c.app->get_name(), dnd::without_backtrace(e.what()));
      return kExitFailure;
    }
  };
  for (const Command& c : commands) {
    if (!c.app->parsed() || (c.needs_mpi && !(c.without_mpi && c.without_mpi()))) continue;
    return run_alone(c, [&] { return c.run(); });
  }

  if (g.nranks > 0 && !under_launcher()) {
    for (const Command& c : commands) {
      if (!c.app->parsed() || !c.before_launch) continue;
      if (const int rc = run_alone(c,
                                   [&] {
                                     c.before_launch(g.nranks);
                                     return kExitOk;
                                   });
          rc != kExitOk)
        return rc;
    }
    const std::string why = relaunch(g.nranks, argc, argv);
    fmt::print(stderr, "dnd: error: {}\n", why);
    return kExitFailure;
  }

  dnd::Runtime runtime(&argc, &argv, dnd::RuntimeOptions{0, g.verbose});
  const dnd::Communicator world = dnd::Communicator::world();
  if (g.nranks > 0 && g.nranks != world.size()) {
    if (world.rank() == 0)
      fmt::print(stderr, "dnd: error: -n {} given, but the launcher started {} ranks\n", g.nranks,
                 world.size());
    return kExitUsage;
  }
  {  // every rank loads the plugins; all give up if one cannot (nobody waits for it)
    const std::string err = load_plugins();
    const int64_t first = dnd::allreduce_value(
        world, err.empty() ? int64_t{world.size()} : int64_t{world.rank()}, dnd::ReduceOp::min);
    if (first < world.size()) {
      if (world.rank() == first)
        fmt::print(stderr, "dnd: error{}: {}\n", first ? fmt::format(" on rank {}", first) : "", err);
      return kExitUsage;
    }
  }

  // Made before anything can fail: after a failure the ranks agree on whether it was on
  // every rank, on a communicator of its own.
  dnd::FailureVote vote(world);
  for (const Command& c : commands) {
    if (!c.app->parsed()) continue;
    try {
      return c.run();
    } catch (const UsageError& e) {
      // Found before any communication, alike on every rank: nobody waits.
      if (world.rank() == 0) print_usage_error(c, e);
      return kExitUsage;
    } catch (const std::exception& e) {
      // May be one rank only, with the others waiting for it in a collective. The ranks
      // that failed agree (with a bounded wait) on whether every rank did: then rank 0
      // alone prints the failure; otherwise each failing rank prints its own, naming
      // itself. Then the whole job ends, so that no rank waits forever.
      const auto outcome = vote.vote(dnd::without_backtrace(e.what()), failure_wait());
      using Outcome = dnd::FailureVote::Outcome;
      if (outcome == Outcome::not_every_rank)
        fmt::print(stderr, "dnd {}: error on rank {}: {}\n", c.app->get_name(), world.rank(),
                   dnd::without_backtrace(e.what()));
      else if (world.rank() == 0)
        fmt::print(stderr, "dnd {}: error on {}: {}\n", c.app->get_name(),
                   world.size() == 1 ? std::string("rank 0")
                   : outcome == Outcome::every_rank_same
                       ? fmt::format("every rank ({})", world.size())
                       : fmt::format("every rank ({}; rank 0's message)", world.size()),
                   dnd::without_backtrace(e.what()));
      // Every rank failed: rank 0's abort ends the job (one abort, not p of them racing
      // in the launcher's report); the others wait for it, boundedly.
      if (outcome != Outcome::not_every_rank && world.rank() != 0)
        std::this_thread::sleep_for(failure_wait());
      dnd::abort_all(kExitFailure);
    }
  }
  return kExitUsage;
}
