// dnd run PIPE.yaml: executes a pipeline SPMD on every rank of the job.
#include "src/cli/commands.h"
#include "src/core/collectives.h"
#include "src/core/communicator.h"
#include "src/core/runtime.h"
#include "src/pipeline/checkpoint.h"
#include "src/pipeline/execute.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace dnd::cli {

namespace {

struct RunArgs {
  std::string file;
  std::vector<std::string> sets;
  std::string timings;
  bool quiet = false;
  bool force = false;
  bool no_sync = false;
  bool dry_run = false;
  bool json = false;
  pipeline::CheckpointOptions ck;
};

// Relative paths mean the same file on every rank: the ranks work in rank 0's working
// directory (a launcher may start them elsewhere). Before planning, which resolves paths.
void agree_working_directory(const Communicator& world) {
  std::error_code ec;
  std::string cwd = world.rank() == 0 ? std::filesystem::current_path(ec).string() : std::string();
  int64_t n = static_cast<int64_t>(cwd.size());
  n = allreduce_value(world, n, ReduceOp::max);
  if (n == 0) return;
  std::vector<int64_t> codes(static_cast<size_t>(n), 0);
  for (size_t i = 0; i < cwd.size(); ++i) codes[i] = static_cast<unsigned char>(cwd[i]);
  // Rank 0's characters come first in the gathered list.
  const std::vector<int64_t> all = allgather_values(world, codes);
  std::string root(static_cast<size_t>(n), '\0');
  for (int64_t i = 0; i < n; ++i)
    root[static_cast<size_t>(i)] = static_cast<char>(all[static_cast<size_t>(i)]);
  if (world.rank() != 0 && !root.empty() && std::filesystem::current_path(ec).string() != root)
    std::filesystem::current_path(root, ec);  // where it does not exist, paths fail as they would have
}

// Memory this rank may use: what the node has available, shared by its ranks.
int64_t available_bytes_per_rank() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024 / std::max(1, node_local_size());
  return INT64_MAX;
}

// --timings OUT.json must be writable before anything runs (it is written at the end).
void check_timings_path(const std::string& path) {
  if (path.empty()) return;
  auto fail = [&](const std::string& why) {
    throw pipeline::PipelineError("--timings " + path, {}, why);
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) fail("it is a directory");
    if (::access(path.c_str(), W_OK) != 0)
      fail(fmt::format("the file is not writable ({})", std::strerror(errno)));
    return;
  }
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    fail(fmt::format("the directory '{}' does not exist", dir));
  if (::access(dir.c_str(), W_OK) != 0)
    fail(fmt::format("the directory '{}' is not writable ({})", dir, std::strerror(errno)));
}

int run_pipeline(const RunArgs& a, const Global& g) {
  const Communicator world = Communicator::world();
  pipeline::Document doc;
  std::unique_ptr<pipeline::Plan> plan;
  pipeline::CheckpointPlan ckplan;
  std::string error;
  pipeline::install_stop_signal();  // SIGUSR1: stop at the next step boundary (Slurm's warning)
  agree_working_directory(world);
  try {                   // every rank reads the same files and, normally, finds the same errors
    if (a.file == "-") {  // standard input reaches rank 0 alone: it reads, the others receive
      std::string text, why;
      if (world.rank() == 0) {
        try {
          text = pipeline::read_pipeline_text("-");
        } catch (const pipeline::PipelineError& e) {
          why = e.what();
        }
      }
      broadcast_string(world, why, 0);
      if (!why.empty()) throw UsageError(why, /*bare=*/true);
      broadcast_string(world, text, 0);
      doc = pipeline::parse_document(text, pipeline::pipeline_name(a.file), a.sets);
    } else {
      doc = pipeline::load_document(a.file, a.sets);
    }
    plan = std::make_unique<pipeline::Plan>(pipeline::make_plan(doc, world.size()));
    ckplan = pipeline::plan_checkpoints(*plan, a.ck, a.file);
    check_timings_path(a.timings);
  } catch (const pipeline::PipelineError& e) {
    error = e.what();
  }
  // A rank may see other files than rank 0 (a node without the shared file system): agree
  // before the first collective, so that nobody waits for a rank that gave up.
  if (const auto failed = first_error(world, error)) {
    if (failed->rank == 0) throw UsageError(failed->message, /*bare=*/true);
    if (world.rank() == failed->rank) fmt::print(stderr, "[rank {}] {}\n", world.rank(), error);
    throw UsageError(
        fmt::format("the pipeline is invalid on rank {} (its message is above)", failed->rank));
  }
  const int64_t avail = allreduce_value(world, available_bytes_per_rank(), ReduceOp::min);
  if (plan->peak_bytes > avail && !a.force)
    throw UsageError(
        fmt::format("the plan needs {} per rank at its peak (step '{}'), but only {} is available per "
                    "rank; use more ranks, or --force to run anyway",
                    human_bytes(plan->peak_bytes), plan->peak_step, human_bytes(avail)));
  pipeline::RunOptions o;
  o.quiet = a.quiet || g.quiet;
  o.timings_path = a.timings;
  o.sync = !a.no_sync && doc.default_sync;
  if (world.rank() == 0 && !o.quiet) {
    fmt::print(stderr, "dnd run {}: {} steps on {} rank{}, peak {} per rank (planned)\n",
               pipeline::pipeline_name(a.file), plan->steps.size(), world.size(),
               world.size() == 1 ? "" : "s", human_bytes(plan->peak_bytes));
    // The params in effect (after --set), so that a log says what ran.
    std::string params;
    for (const auto& [k, v] : doc.params)
      params += fmt::format(" {}={}", k, v.IsScalar() ? v.Scalar() : std::string("..."));
    if (!params.empty()) fmt::print(stderr, "params:{}\n", params);
  }
  pipeline::Checkpointer checkpoints(*plan, std::move(ckplan), world, o.sync);
  o.checkpoints = &checkpoints;
  try {
    const pipeline::RunResult r = pipeline::execute(*plan, world, o);
    // --json: the run's summary, the last line of standard output (after print steps).
    if (a.json && world.rank() == 0) {
      fmt::print("{}\n", pipeline::run_summary_json(*plan, r, world.size(), -1));
      std::fflush(stdout);
    }
  } catch (const pipeline::StopRequested& e) {  // on every rank alike: no output was changed
    if (world.rank() == 0)
      fmt::print(stderr,
                 "dnd run {}: {}; no output was changed; the checkpoints in {} are kept: run again "
                 "with --resume (exit {})\n",
                 pipeline::pipeline_name(a.file), e.what(), checkpoints.plan().dir,
                 pipeline::kExitStopped);
    return pipeline::kExitStopped;
  }
  return kExitOk;
}

}  // namespace

Command add_run(CLI::App& root, const Global& g) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* app =
      root.add_subcommand("run", "Run a pipeline (SPMD on every rank; -n N launches N ranks)");
  app->add_option("pipeline", args->file, "the pipeline file (YAML; - reads standard input)")
      ->required();
  app->add_option("--set", args->sets, "override a param: --set key=value (repeatable)")->take_all();
  app->add_option("--timings", args->timings,
                  "write per-step times, communication and peak memory to this JSON file");
  app->add_flag("--quiet", args->quiet, "no progress lines (print steps still print)");
  app->add_flag("--force", args->force,
                "run even if the planned peak memory exceeds what the ranks have");
  app->add_flag("--no-sync", args->no_sync,
                "do not sync saved files to the device before renaming them (scratch data; also "
                "defaults: {sync: false})");
  app->add_flag("--dry-run", args->dry_run, "plan only: print what `dnd plan` prints, run nothing");
  app->add_flag("--json", args->json,
                "at the end, print the run's summary (steps, times, outputs written, params in "
                "effect, pipeline hash) as one JSON line on standard output; with --dry-run, "
                "the plan as JSON");
  add_checkpoint_options(app, args->ck);
  Command c{app, [args, &g] {
              if (args->dry_run)
                return print_plan(args->file, args->sets, g.nranks > 0 ? g.nranks : 1, args->json,
                                  &args->ck);
              return run_pipeline(*args, g);
            }};
  c.without_mpi = [args] { return args->dry_run; };
  c.before_launch = [args](int nranks) {
    if (args->file == "-") return;  // standard input is read once, by rank 0 of the job
    try {
      const pipeline::Plan plan =
          pipeline::make_plan(pipeline::load_document(args->file, args->sets), nranks);
      pipeline::plan_checkpoints(plan, args->ck, args->file);
      check_timings_path(args->timings);
    } catch (const pipeline::PipelineError& e) {
      throw UsageError(e.what(), /*bare=*/true);
    }
  };
  return c;
}

}  // namespace dnd::cli
