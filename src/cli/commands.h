// The dnd executable's subcommands. Each lives in its own cmd_*.cpp, registers its
// options on the CLI11 app, and runs after MPI is up. main.cpp only dispatches.
#pragma once

#include "src/core/text.h"

#include <CLI/App.hpp>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dnd::pipeline {
struct CheckpointOptions;
}  // namespace dnd::pipeline

namespace dnd::cli {

// Options every subcommand shares.
struct Global {
  bool verbose = false;
  bool quiet = false;
  int nranks = 0;                    // -n N: re-launch under mpirun with N ranks (0: as launched)
  std::vector<std::string> plugins;  // --plugin libmyops.so (repeatable)
};

// What a subcommand runs once MPI is initialised; returns the exit code.
using Action = std::function<int()>;

struct Command {
  CLI::App* app;
  Action run;
  // false: runs before (and without) MPI initialisation, in one process.
  bool needs_mpi = true;
  // When set and true after parsing, this time it runs without MPI (dnd run --dry-run).
  std::function<bool()> without_mpi;
  // When set: the checks that need no MPI, run before `-n N` re-launches under mpirun, so
  // that an invalid pipeline is reported by this one process (no MPI banners). Throws
  // UsageError. The argument is N.
  std::function<void(int)> before_launch;
};

// What `dnd plan` prints for a pipeline file at `nranks` ranks (dnd run --dry-run too).
// Throws UsageError for an invalid pipeline. With `ck`: the checkpoint directory, the
// checkpointed steps and, with --resume, what each step's results come from.
int print_plan(const std::string& file, const std::vector<std::string>& sets, int nranks, bool json,
               const pipeline::CheckpointOptions* ck = nullptr);
// --checkpoint-dir, --checkpoint and --resume on `app` (dnd run, dnd plan).
void add_checkpoint_options(CLI::App* app, pipeline::CheckpointOptions& o);

Command add_demo(CLI::App& root, const Global& g);
Command add_info(CLI::App& root, const Global& g);
Command add_run(CLI::App& root, const Global& g);
Command add_plan(CLI::App& root, const Global& g);
Command add_validate(CLI::App& root, const Global& g);
Command add_ops(CLI::App& root, const Global& g);
Command add_jobs(CLI::App& root, const Global& g);
Command add_inspect(CLI::App& root, const Global& g);
Command add_bench(CLI::App& root, const Global& g);
Command add_checkpoints(CLI::App& root, const Global& g);
// dnd completion bash|zsh and dnd man, generated from `root` (cmd_reference.cpp).
Command add_completion(CLI::App& root, const Global& g);
Command add_man(CLI::App& root, const Global& g);

// did_you_mean: core/text.h.

// A validator for counts (ranks, repeats): a whole number from 1 to 2^31 - 1, with a
// message a user can read (CLI::PositiveNumber prints DBL_MAX's 309 digits).
CLI::Validator positive_count();

// The text of a command-line mistake caught by CLI11, as every dnd usage error reads:
// "dnd <command>: error: ..." with a "did you mean" for a mistyped option and the
// command's --help to read. `app` is the root app after the failed parse.
std::string usage_error_text(CLI::App& app, const CLI::ParseError& e);

// All spellings of the options of `app` and of its parents ("--set", "-n", ...).
std::vector<std::string> option_names(const CLI::App& app);

// Whether a launcher (mpirun, srun) started this process.
bool under_launcher();
// Replaces this process by `mpirun -n N <this executable> <args without -n N>`. Returns
// only on failure (with the reason).
std::string relaunch(int nranks, int argc, char** argv);

// Invalid input found before anything ran (every rank finds it alike): exit 2.
// `bare`: the message is complete as it stands (a pipeline error that already reads
// "file:line:col: error: ..."), so it is printed without the command's prefix.
struct UsageError : std::runtime_error {
  explicit UsageError(const std::string& msg, bool bare_message = false)
      : std::runtime_error(msg), bare(bare_message) {}
  bool bare = false;
};

// Exit codes (README "The dnd command", docs/ARCHITECTURE.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

}  // namespace dnd::cli
