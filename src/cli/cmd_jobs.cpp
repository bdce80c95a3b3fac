// `dnd jobs sbatch PIPE.yaml ...`: prints an sbatch script rendered from jobs/ (see
// jobs.h). Runs without MPI, so it works on a login node. Before printing, it asks
// `dnd plan` for the pipeline's peak memory per rank and `sinfo` for the nodes, and warns
// when the request cannot hold the pipeline; either may be missing (a login node without
// Slurm, a broken pipeline that the script's `dnd validate` will report), which costs the
// check, never the script.
#include "src/cli/commands.h"
#include "src/cli/jobs.h"
#include "src/core/process.h"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <sstream>

namespace dnd::cli {

namespace {

std::string self_exe() {
  try {
    return self_executable();
  } catch (const std::exception&) {
    return "dnd";
  }
}

std::string first_line(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  return line.empty() ? std::string("no message") : line;
}

// The pipeline's peak bytes per rank at r.ranks(), the largest over the sweep's values;
// nullopt with the reason in `why` when `dnd plan` cannot say.
std::optional<uint64_t> plan_peak(const jobs::Request& r, std::string& why) {
  std::vector<std::vector<std::string>> overrides{{}};
  if (!r.sweep.empty()) {
    const jobs::Sweep s = jobs::parse_sweep(r.sweep);
    std::set<std::string> values(s.values.begin(), s.values.end());
    if (values.empty()) {  // each task's id is its value: the largest id stands for all
      const auto ids = jobs::array_ids(r.array);
      values.insert(std::to_string(*std::max_element(ids.begin(), ids.end())));
    }
    if (values.size() > 32) {
      why = fmt::format("the sweep has {} values; the memory check plans at most 32", values.size());
      return std::nullopt;
    }
    overrides.clear();
    for (const auto& v : values) overrides.push_back({"--set", s.param + "=" + v});
  }
  // Planning is checked and bounded (dnd's limits make a hostile file fail fast), but the
  // script is only a rendering: never wait more than kPlanSeconds for all of it.
  constexpr int kPlanSeconds = 15;  // dnd starts in ~1 s on a quiet node, several on a busy login node
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(kPlanSeconds);
  std::optional<uint64_t> peak;
  for (const auto& extra : overrides) {
    const auto left =
        std::chrono::duration_cast<std::chrono::seconds>(give_up - std::chrono::steady_clock::now());
    if (left.count() < 1) {
      why = fmt::format("`dnd plan` took more than {} s", kPlanSeconds);
      return std::nullopt;
    }
    std::vector<std::string> argv{self_exe(), "plan", r.pipeline, "-n", std::to_string(r.ranks()),
                                  "--json"};
    for (const auto& s : r.sets) argv.insert(argv.end(), {"--set", s});
    argv.insert(argv.end(), extra.begin(), extra.end());
    const CapturedRun c = run_captured(argv, left);
    // An invalid pipeline (or --set value) would fail on the cluster after the wait in the
    // queue: refuse to write the script.
    if (c.rc == 2) {
      std::string err = c.err;
      while (!err.empty() && err.back() == '\n') err.pop_back();
      throw UsageError(fmt::format("{}\ndnd jobs: error: the pipeline does not plan at {} ranks{}{}, "
                                   "so the job would fail; no script written (--no-check skips this)",
                                   err, r.ranks(), r.sets.empty() ? "" : " with its --set values",
                                   extra.empty() ? "" : " and --set " + extra[1]),
                       /*bare=*/true);
    }
    if (c.rc != 0) {
      why = c.rc == -1 ? fmt::format("`dnd plan` took more than {} s", kPlanSeconds)
                       : fmt::format("`dnd plan` exited with {}: {}", c.rc, first_line(c.err));
      return std::nullopt;
    }
    const auto bytes = jobs::json_top_level_number(c.out, "peak_bytes_per_rank");
    if (!bytes || *bytes < 0) {
      why = "`dnd plan --json` gave no peak_bytes_per_rank";
      return std::nullopt;
    }
    peak = std::max(peak.value_or(0), static_cast<uint64_t>(*bytes));
  }
  return peak;
}

// CPUs and memory of the smallest node of the partition, from sinfo, when Slurm answers.
void ask_sinfo(const jobs::Request& r, jobs::Fit& f) {
  std::vector<std::string> argv{"sinfo", "--noheader", "--format=%c %m"};
  if (!r.partition.empty()) argv.push_back("--partition=" + r.partition);
  const CapturedRun c = run_captured(
      argv, std::chrono::seconds(10));  // a Slurm client whose munged is down waits ~50 s otherwise
  if (c.rc != 0) return;
  std::istringstream in(c.out);
  std::string line;
  std::optional<int> cpus;
  std::optional<uint64_t> mib;
  while (std::getline(in, line)) {
    // "%c %m": CPUs and MiB per node, with '+' when the nodes of a line differ.
    long long cc = 0, mm = 0;
    if (std::sscanf(line.c_str(), "%lld%*[+] %lld", &cc, &mm) != 2 &&
        std::sscanf(line.c_str(), "%lld %lld", &cc, &mm) != 2)
      continue;
    if (cc > 0) cpus = std::min<int>(cpus.value_or(INT_MAX), static_cast<int>(cc));
    if (mm > 0) mib = std::min<uint64_t>(mib.value_or(UINT64_MAX), static_cast<uint64_t>(mm));
  }
  if (!cpus && !mib) return;
  const std::string source =
      r.partition.empty() ? "sinfo, default partition" : "sinfo, partition " + r.partition;
  if (cpus) {
    f.node_cpus = cpus;
    f.node_cpus_source = source;
  }
  if (!f.node_bytes && mib) {  // --mem, when given, is what the job gets
    f.node_bytes = *mib << 20;
    f.node_bytes_source = source;
  }
}

}  // namespace

Command add_jobs(CLI::App& root, const Global& g) {
  CLI::App* app = root.add_subcommand(
      "jobs", "Slurm job scripts from dnd's templates (no MPI: runs on a login node)");
  app->require_subcommand(1);
  auto r = std::make_shared<jobs::Request>();
  auto no_check = std::make_shared<bool>(false);

  CLI::App* sb = app->add_subcommand("sbatch",
                                     "Print an sbatch script for PIPE.yaml: `dnd jobs sbatch PIPE.yaml "
                                     "--nodes N --ntasks-per-node M > job.sh`");
  sb->add_option("pipeline", r->pipeline, "the pipeline file (none for --template bench)");
  sb->add_option("-N,--nodes", r->nodes, "nodes (required)");
  sb->add_option("--ntasks-per-node", r->ntasks_per_node,
                 "MPI ranks per node (required; gpu: = --gpus-per-node)");
  sb->add_option("-c,--cpus-per-task", r->cpus_per_task, "cores per rank: its torch/OpenMP threads")
      ->capture_default_str();
  sb->add_option("--gpus-per-node", r->gpus_per_node,
                 "GPUs per node, one rank each (chooses the gpu template)");
  sb->add_option("-t,--time", r->time, "wall time: MINUTES, H:MM:SS or D-HH:MM:SS");
  sb->add_option(
      "--signal-before", r->signal_before,
      "seconds before the time limit at which Slurm asks the run to stop (SIGUSR1; the job "
      "is requeued and resumes from its checkpoints); default 300, at most a tenth of --time");
  sb->add_option("-p,--partition", r->partition, "Slurm partition");
  sb->add_option("-A,--account", r->account, "Slurm account");
  sb->add_option("--mem", r->mem, "memory per node, Slurm's syntax (64G; no suffix: MiB)");
  sb->add_option("--set", r->sets, "KEY=VALUE parameter override for `dnd run` (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sb->add_option("--array", r->array,
                 "Slurm array spec (0-9, 1,4,16, 0-30:10, 0-99%4); chooses the array template");
  sb->add_option(
      "--sweep", r->sweep,
      "PARAM=V1,V2,...: array task i runs with --set PARAM=V_i (tasks 0..n-1 unless --array); "
      "PARAM alone: each task's id is its value (needs --array)");
  sb->add_option(
      "--template", r->template_name,
      "pipeline, array, bench, gpu, or a path to your own .sbatch template (default: chosen from the "
      "options)");
  sb->add_option("--launcher", r->launcher, "srun (srun --mpi=pmix) or mpirun")->capture_default_str();
  sb->add_option("--workload", r->workload, "bench: the built-in workload (chooses the bench template)");
  sb->add_option("--ranks", r->bench_ranks,
                 "bench: rank counts to measure (default 1,2,4,... up to the allocation)");
  sb->add_option("--mode", r->bench_mode, "bench: strong or weak scaling")->capture_default_str();
  sb->add_option("--out", r->bench_out, "bench: report directory (default dnd-bench-WORKLOAD-JOBID)");
  sb->add_option("--dnd", r->dnd, "the dnd executable the script runs (default: this one)");
  sb->add_flag("--no-check", *no_check, "skip the checks with `dnd plan` and `sinfo`");

  CLI::App* list = app->add_subcommand("templates", "List the built-in sbatch templates");

  return Command{app,
                 [r, no_check, sb, list, &g] {
                   if (list->parsed()) {
                     for (const auto& [name, text] : jobs::builtin_templates())
                       fmt::print("{:<9} {}\n", name, jobs::template_summary(name));
                     return kExitOk;
                   }
                   if (!sb->parsed()) return kExitUsage;
                   jobs::Request req = *r;
                   if (req.dnd.empty()) req.dnd = self_exe();
                   jobs::normalize(req);
                   const jobs::Template tpl = jobs::load_template(req);

                   jobs::Fit fit;
                   std::vector<std::string> notes;
                   if (!req.mem.empty()) {
                     fit.node_bytes = jobs::parse_mem(req.mem);
                     fit.node_bytes_source = "--mem " + req.mem;
                   }
                   if (!*no_check) {
                     if (!req.pipeline.empty()) {
                       std::string why;
                       fit.peak_bytes_per_rank = plan_peak(req, why);
                       if (!fit.peak_bytes_per_rank) notes.push_back("no memory check: " + why);
                     }
                     ask_sinfo(req, fit);
                   }
                   const jobs::FitReport rep = jobs::check_fit(req, fit);
                   const std::string script = jobs::render(req, tpl, rep.note);
                   if (!g.quiet) {
                     for (const auto& n : notes) fmt::print(stderr, "dnd jobs: note: {}\n", n);
                     for (const auto& w : rep.warnings) fmt::print(stderr, "dnd jobs: warning: {}\n", w);
                   }
                   fmt::print("{}", script);
                   return kExitOk;
                 },
                 false};
}

}  // namespace dnd::cli
