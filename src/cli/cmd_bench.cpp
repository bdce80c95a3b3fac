// dnd bench: strong and weak scaling sweeps of a pipeline or a built-in workload.
//
// In one job (mpirun -n 8 dnd bench ...), the sweep runs on sub-communicators of the
// first 1, 2, 4, ... ranks in turn while the others wait. With --launcher mpirun|srun,
// this process (started without a launcher) launches `dnd bench` once per rank count and
// merges what the launches wrote. Either way rank 0 prints the table and writes
// results.json, results.csv and plots/*.svg under --out.
//
// The command starts MPI itself (needs_mpi = false) because with --launcher it must not
// be an MPI process: it only starts the launches.
#include "src/bench/report.h"
#include "src/bench/study.h"
#include "src/bench/workloads.h"
#include "src/cli/commands.h"
#include "src/core/error.h"
#include "src/core/process.h"
#include "src/core/runtime.h"
#include "dnd/version.h"
#include "src/pipeline/document.h"

#include <cstdio>

#include <fmt/format.h>
#include <torch/version.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace dnd::cli {

namespace {

struct BenchArgs {
  std::string pipeline, workload, ranks, mode = "strong", scale, out = "bench-results", compare,
                                         split_pair, launcher;
  std::string io_format = "h5", scratch;
  std::string time;  // --time STEP,...: the pipeline steps a run's time counts
  bool io_sync = false, log = false;
  std::vector<std::string> sets;
  int repeat = 5, warmup = 1, threads = 0;
  int64_t size = 0, cols = 0;
  bool quiet = false, list = false;
  bool part = false, no_baselines = false;  // internal: one launch of a --launcher study
};

std::vector<int> parse_ranks(const std::string& text) {
  std::vector<int> r;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v < 1)
      throw UsageError(fmt::format(
          "--ranks {}: expected positive rank counts separated by commas, as in 1,2,4,8", text));
    if (!r.empty() && v <= r.back())
      throw UsageError(fmt::format("--ranks {}: rank counts must increase", text));
    r.push_back(v);
    pos = comma + 1;
  }
  return r;
}

// 1, 2, 4, ... up to n, and n itself.
std::vector<int> default_ranks(int n) {
  std::vector<int> r;
  for (int p = 1; p < n; p *= 2) r.push_back(p);
  r.push_back(n);
  return r;
}

std::vector<std::string> modes_of(const std::string& mode) {
  if (mode == "both") return {"strong", "weak"};
  return {mode};
}

// Everything that does not need MPI, alike on every rank: the cases, checked at every
// size; the --compare file. Throws UsageError.
struct Prepared {
  std::vector<bench::Case> cases;
  std::vector<std::string> modes;
  std::vector<std::string> timed;  // --time
  std::unique_ptr<bench::Study> old;
};

// --time a,b,c: the step ids, in order.
std::vector<std::string> parse_time(const std::string& text) {
  std::vector<std::string> ids;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string id = text.substr(pos, comma - pos);
    if (id.empty())
      throw UsageError(
          fmt::format("--time {}: expected the ids of pipeline steps separated by commas, as in "
                      "--time kmeans or --time resplit,kmeans",
                      text));
    ids.push_back(id);
    pos = comma + 1;
  }
  return ids;
}

// The io workloads' files: --scratch, else a directory under --out removed afterwards.
std::string scratch_dir(const BenchArgs& a) {
  return a.scratch.empty() ? a.out + "/scratch" : a.scratch;
}

Prepared prepare(const BenchArgs& a, const std::vector<int>& ranks) {
  Prepared p;
  if (a.pipeline.empty() == a.workload.empty())
    throw UsageError("give either a pipeline file or --workload NAME (see dnd bench --list)");
  if (!a.pipeline.empty() && (a.size != 0 || a.cols != 0 || !a.split_pair.empty()))
    throw UsageError(
        "--size, --cols and --split-pair are for built-in workloads; a pipeline grows a param with "
        "--scale");
  if (!a.workload.empty() && (!a.scale.empty() || !a.sets.empty()))
    throw UsageError("--scale and --set are for pipelines; a built-in workload takes --size");
  if (!a.workload.empty() && !a.time.empty())
    throw UsageError(
        "--time is for pipelines: it names the steps of the pipeline file whose time counts");
  if (!a.time.empty()) p.timed = parse_time(a.time);
  if (a.repeat < 1) throw UsageError(fmt::format("--repeat must be at least 1, got {}", a.repeat));
  if (a.warmup < 0) throw UsageError(fmt::format("--warmup must be 0 or more, got {}", a.warmup));
  p.modes = modes_of(a.mode);
  try {
    if (!a.workload.empty()) {
      p.cases = bench::workload_cases(
          a.workload,
          bench::WorkloadOptions{a.size, a.split_pair, a.io_format, scratch_dir(a), a.io_sync, a.cols});
    } else {
      // No --time: the pipeline's own `timed:` list, if it has one.
      if (p.timed.empty())
        for (const auto& [id, mark] : pipeline::load_document(a.pipeline, a.sets).timed)
          p.timed.push_back(id);
      p.cases.push_back(bench::pipeline_case(a.pipeline, a.sets, a.scale, p.timed));
      if (!p.cases.back().weak_ok && std::count(p.modes.begin(), p.modes.end(), "weak"))
        throw UsageError(
            fmt::format("--mode {} needs --scale PARAM: weak scaling grows a param of {} with the ranks",
                        a.mode, a.pipeline));
    }
    for (const bench::Case& c : p.cases) c.check(ranks, p.modes);
    if (!a.compare.empty()) p.old = std::make_unique<bench::Study>(bench::read_json(a.compare));
  } catch (const pipeline::PipelineError& e) {
    throw UsageError(e.what(), /*bare=*/true);
  } catch (const ValueError& e) {
    throw UsageError(e.what());
  }
  return p;
}

std::string hostname() {
  char h[256] = {0};
  gethostname(h, sizeof(h) - 1);
  return h;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char b[32];
  std::strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return b;
}

// The command line the study stands for, with every option that shapes it.
std::string command_of(const BenchArgs& a, const std::string& ranks) {
  std::string c = "dnd bench";
  if (!a.pipeline.empty()) c += " " + a.pipeline;
  if (!a.workload.empty()) c += " --workload " + a.workload;
  c += fmt::format(" --ranks {} --mode {} --repeat {} --warmup {}", ranks, a.mode, a.repeat, a.warmup);
  if (a.size) c += fmt::format(" --size {}", a.size);
  if (!a.split_pair.empty()) c += " --split-pair " + a.split_pair;
  if (a.io_format != "h5") c += " --io-format " + a.io_format;
  if (a.io_sync) c += " --io-sync";
  if (a.cols) c += fmt::format(" --cols {}", a.cols);
  if (!a.scale.empty()) c += " --scale " + a.scale;
  for (const std::string& s : a.sets) c += " --set " + s;
  if (!a.time.empty()) c += " --time " + a.time;
  if (a.threads) c += fmt::format(" --threads {}", a.threads);
  if (a.log) c += " --log";
  if (!a.launcher.empty()) c += " --launcher " + a.launcher;
  return c;
}

std::string join(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

void fill_context(bench::Study& s, const BenchArgs& a, const Prepared& p, const std::vector<int>& ranks,
                  int world_ranks, int threads) {
  bench::Context& c = s.context;
  c.host = hostname();
  c.date = utc_now();
  c.version = DND_VERSION_STRING;
  c.command = command_of(a, join(ranks));
  c.source = a.pipeline.empty() ? "workload:" + a.workload : a.pipeline;
  std::string def;
  for (const bench::Case& k : p.cases) def += k.definition + "\n";
  c.hash = bench::fnv1a_hex(def);
  c.launcher = a.launcher.empty() ? "in-job" : a.launcher;
  c.torch = TORCH_VERSION;
  c.blas = blas_info();
  c.world_ranks = world_ranks;
  c.threads = threads;
  c.repeat = a.repeat;
  c.warmup = a.warmup;
  c.compare = a.compare;
  c.timed = p.timed;
  // This machine's (rank 0's); a --launcher study takes them from its launches.
  c.cpu_model = bench::cpu_model();
  c.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Rank 0: --compare, the files, the table.
void finish(bench::Study& s, const BenchArgs& a, const Prepared& p, const Global& g) {
  if (p.old) bench::compare_with(s, *p.old);
  std::vector<std::string> removed;
  const std::vector<std::string> paths =
      bench::write_outputs(s, a.out, bench::PlotOptions{a.log}, &removed);
  if (!g.quiet && !a.quiet) {
    fmt::print("{}\n", bench::format_table(s));
    // The table reaches stdout before the note reaches stderr: a log of both keeps
    // the table's lines whole (the smoke test reads such a log).
    std::fflush(stdout);
    fmt::print(stderr, "dnd bench: wrote {}/results.json, results.csv and {} plot{} in {}/plots{}\n",
               a.out, paths.size() - 2, paths.size() == 3 ? "" : "s", a.out,
               removed.empty() ? ""
                               : fmt::format(" (removed {} plot{} of an earlier study there)",
                                             removed.size(), removed.size() == 1 ? "" : "s"));
  }
}

// ---- in one job ----------------------------------------------------------------------------

int run_in_job(BenchArgs& a, const Global& g) {
  dnd::Runtime runtime(nullptr, nullptr, dnd::RuntimeOptions{a.threads, g.verbose});
  const Communicator world = Communicator::world();
  const bool root = world.rank() == 0;
  Prepared p;
  std::vector<int> ranks;
  try {  // every rank finds the same errors, before any communication
    if (g.nranks > 0 && g.nranks != world.size())
      throw UsageError(
          fmt::format("-n {} given, but the launcher started {} ranks", g.nranks, world.size()));
    ranks = a.ranks.empty() ? default_ranks(world.size()) : parse_ranks(a.ranks);
    if (ranks.back() > world.size())
      throw UsageError(
          fmt::format("--ranks {} needs {} ranks, but the job has {}: start it with mpirun -n {} (or "
                      "dnd -n {} bench ...), or use --launcher mpirun|srun",
                      a.ranks, ranks.back(), world.size(), ranks.back(), ranks.back()));
    p = prepare(a, ranks);
  } catch (const UsageError& e) {
    if (root) fmt::print(stderr, e.bare ? "{}\n" : "dnd bench: error: {}\n", e.what());
    return kExitUsage;
  }
  // Only rank 0 writes: it says whether it can, so that every rank stops alike.
  std::string why;
  if (root) try {
      bench::prepare_output_dir(a.out);
    } catch (const std::exception& e) {
      why = e.what();
    }
  if (allreduce_value(world, static_cast<int64_t>(why.empty() ? 0 : 1), ReduceOp::max) != 0) {
    if (root) fmt::print(stderr, "dnd bench: error: --out {}: {}\n", a.out, why);
    return kExitUsage;
  }

  // Where every rank runs (collective): the nodes, and whether some rank count puts more
  // ranks x threads on a node than it has cores.
  const std::vector<bench::RankPlace> places = bench::gather_places(world);
  const bool talk = root && !g.quiet && !a.quiet;
  if (talk) {
    bench::Study plan;  // the rows to come, to warn before the sweep
    plan.context.threads = threads();
    for (int r : ranks) {
      plan.rows.emplace_back();
      plan.rows.back().ranks = r;
    }
    bench::place_rows(plan, places, threads());
    const std::string warning = bench::oversubscription_warning(plan);
    if (!warning.empty()) fmt::print(stderr, "dnd bench: {}\n", warning);
  }
  if (talk) {
    std::string names;
    for (const bench::Case& c : p.cases) names += (names.empty() ? "" : ", ") + c.name;
    fmt::print(
        stderr,
        "dnd bench: {} ({}) at {} rank{} of {}, {} thread{} per rank; {} repeat{} after {} warm-up{}\n",
        names, a.mode, join(ranks), ranks.size() == 1 && ranks[0] == 1 ? "" : "s", world.size(),
        threads(), threads() == 1 ? "" : "s", a.repeat, a.repeat == 1 ? "" : "s", a.warmup,
        a.warmup == 1 ? "" : "s");
  }
  bench::SweepOptions o;
  o.ranks = ranks;
  o.modes = p.modes;
  o.repeat = a.repeat;
  o.warmup = a.warmup;
  o.baselines = !a.no_baselines;
  o.log = talk ? stderr : nullptr;
  // A failure (on one rank or all) reaches main, which reports it once and ends the job.
  bench::Study s = bench::run_study(world, p.cases, o);
  if (root && a.scratch.empty())
    ::rmdir(scratch_dir(a).c_str());  // only if the io workloads left it empty
  if (root) {
    fill_context(s, a, p, ranks, world.size(), threads());
    bench::place_rows(s, places, threads());
    s.context.warning = bench::oversubscription_warning(s);
    if (a.part)
      bench::write_outputs(s, a.out);
    else
      finish(s, a, p, g);
  }
  return kExitOk;
}

// ---- one launch per rank count --------------------------------------------------------------

std::vector<std::string> own_command_line() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> words;
  std::string w;
  while (std::getline(f, w, '\0')) words.push_back(w);
  return words;
}

int run_launches(BenchArgs& a, const Global& g) {
  Prepared p;
  std::vector<int> ranks;
  if (a.launcher != "mpirun" && a.launcher != "srun")
    throw UsageError(fmt::format("--launcher {}: expected mpirun or srun", a.launcher));
  if (under_launcher())
    throw UsageError(
        "--launcher starts every rank count itself: run dnd bench --launcher without mpirun/srun");
  if (g.nranks > 0)
    throw UsageError("-n and --launcher exclude each other: --ranks gives the launches' sizes");
  if (a.ranks.empty()) throw UsageError("--launcher needs --ranks, e.g. --ranks 1,2,4,8");
  ranks = parse_ranks(a.ranks);
  p = prepare(a, ranks);
  try {
    bench::prepare_output_dir(a.out);
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("--out {}: {}", a.out, e.what()));
  }
  // The same threads per rank in every launch (else the 1-rank launch would take every
  // core): --threads, else DND_NUM_THREADS, else the cores over the largest launch.
  int threads = a.threads;
  if (threads <= 0)
    if (const char* e = std::getenv("DND_NUM_THREADS")) threads = std::atoi(e);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (threads <= 0) threads = std::max(1, cores / ranks.back());
  if (geteuid() == 0 && a.launcher == "mpirun") {  // as relaunch() does for -n
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  }
  const std::string self = self_executable();
  bench::Study merged;
  bool first = true;
  for (const std::string& mode : p.modes)
    for (int r : ranks) {
      const std::string dir = fmt::format("{}/launches/{}-{}", a.out, mode, r);
      std::vector<std::string> args{a.launcher, "-n", std::to_string(r)};
      if (a.launcher == "mpirun" && r > cores) args.push_back("--oversubscribe");
      args.insert(args.end(), {self, "bench"});
      if (!a.pipeline.empty()) args.push_back(a.pipeline);
      if (!a.workload.empty()) args.insert(args.end(), {"--workload", a.workload});
      args.insert(args.end(), {"--ranks", std::to_string(r), "--mode", mode, "--repeat",
                               std::to_string(a.repeat), "--warmup", std::to_string(a.warmup),
                               "--threads", std::to_string(threads), "--out", dir, "--part"});
      if (a.size) args.insert(args.end(), {"--size", std::to_string(a.size)});
      if (!a.split_pair.empty()) args.insert(args.end(), {"--split-pair", a.split_pair});
      args.insert(args.end(), {"--io-format", a.io_format, "--scratch", scratch_dir(a)});
      if (a.io_sync) args.push_back("--io-sync");
      if (a.cols) args.insert(args.end(), {"--cols", std::to_string(a.cols)});
      if (!a.scale.empty()) args.insert(args.end(), {"--scale", a.scale});
      for (const std::string& s : a.sets) args.insert(args.end(), {"--set", s});
      if (!a.time.empty()) args.insert(args.end(), {"--time", a.time});
      if (!first) args.push_back("--no-baselines");  // measured once, by the first launch
      if (g.quiet || a.quiet) args.push_back("--quiet");
      if (!g.quiet && !a.quiet) {
        std::string line;
        for (const std::string& s : args) line += (line.empty() ? "" : " ") + s;
        fmt::print(stderr, "dnd bench: launch: {}\n", line);
      }
      const int rc = run_process(args);
      if (rc != 0) {
        fmt::print(stderr, "dnd bench: error: the launch of {} rank{} ({} scaling) exited with {}\n", r,
                   r == 1 ? "" : "s", mode, rc);
        return kExitFailure;
      }
      bench::Study part = bench::read_json(dir + "/results.json");
      if (first) {
        merged.cases = part.cases;
        merged.context.cpu_model = part.context.cpu_model;  // the machine of the ranks
        merged.context.cores = part.context.cores;
      }
      for (const std::string& h : part.context.hosts)
        if (std::find(merged.context.hosts.begin(), merged.context.hosts.end(), h) ==
            merged.context.hosts.end())
          merged.context.hosts.push_back(h);
      for (bench::Row& row : part.rows) {
        // The one-process baselines come from the first launch.
        for (const bench::CaseInfo& c : merged.cases)
          if (c.name == row.case_name && c.rank_baseline_name.empty() && !c.solo.name.empty()) {
            row.baseline_name = c.solo.name;
            row.baseline_value = c.solo.value;
            row.vs_baseline = row.value / row.baseline_value;
          }
        merged.rows.push_back(std::move(row));
      }
      first = false;
    }
  if (a.scratch.empty()) ::rmdir(scratch_dir(a).c_str());  // only if the io workloads left it empty
  // Rows in the in-job order: case, mode, ranks.
  auto case_index = [&](const std::string& n) {
    for (size_t i = 0; i < merged.cases.size(); ++i)
      if (merged.cases[i].name == n) return i;
    return merged.cases.size();
  };
  std::stable_sort(merged.rows.begin(), merged.rows.end(),
                   [&](const bench::Row& x, const bench::Row& y) {
                     return std::make_tuple(case_index(x.case_name), x.mode != "strong", x.ranks) <
                            std::make_tuple(case_index(y.case_name), y.mode != "strong", y.ranks);
                   });
  bench::derive_scaling(merged);
  const bench::Context machine = merged.context;
  fill_context(merged, a, p, ranks, ranks.back(), threads);
  merged.context.cpu_model = machine.cpu_model;
  merged.context.cores = machine.cores;
  merged.context.hosts = machine.hosts;
  std::sort(merged.context.hosts.begin(), merged.context.hosts.end());
  merged.context.nodes = static_cast<int>(machine.hosts.size());
  merged.context.warning = bench::oversubscription_warning(merged);
  finish(merged, a, p, g);
  return kExitOk;
}

}  // namespace

Command add_bench(CLI::App& root, const Global& g) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* app = root.add_subcommand("bench",
                                      "Strong and weak scaling sweeps of a pipeline or a built-in "
                                      "workload: table, JSON, CSV, SVG plots");
  app->add_option("pipeline", a->pipeline, "the pipeline file (YAML); or --workload");
  app->add_option("-w,--workload", a->workload,
                  "a built-in workload, a list (a,b), or all (see --list)");
  app->add_option("--ranks", a->ranks,
                  "rank counts, e.g. 1,2,4,8 (default: 1, 2, 4, ... up to the job's ranks)");
  app->add_option("--mode", a->mode, "strong (fixed problem), weak (grows with the ranks) or both")
      ->check(CLI::IsMember({"strong", "weak", "both"}))
      ->capture_default_str();
  app->add_option("--size", a->size,
                  "workloads: the rows at one rank (weak scaling multiplies them by the ranks)");
  app->add_option("--split-pair", a->split_pair,
                  "matmul: A's and B's split, e.g. 0x1 or rx0 (default: all nine)");
  app->add_option("--io-format", a->io_format, "io workloads: the file format: h5, npy or h5,npy (both)")
      ->check(CLI::IsMember({"h5", "npy", "h5,npy", "npy,h5"}))
      ->capture_default_str();
  app->add_option("--cols", a->cols, "qr, svd: the columns of the tall-skinny array (default 32)");
  app->add_flag("--io-sync", a->io_sync,
                "io-save: durable saves (fsync before the rename), baseline write() + fsync()");
  app->add_option("--scratch", a->scratch,
                  "io-load, io-save: directory for their files (default: OUT/scratch)");
  app->add_option("--scale", a->scale,
                  "pipelines: the param weak scaling multiplies by the ranks (n, or n=4096)");
  app->add_option("--set", a->sets, "pipelines: override a param, key=value (repeatable)")->take_all();
  app->add_option("--time", a->time,
                  "pipelines: time only these steps, e.g. --time kmeans (set-up such as random "
                  "input stays out of the times)");
  app->add_option("--repeat", a->repeat, "timed runs per size")->capture_default_str();
  app->add_option("--warmup", a->warmup, "discarded runs first")->capture_default_str();
  app->add_option("--threads", a->threads,
                  "torch threads per rank (default: DND_NUM_THREADS, else cores / ranks)");
  app->add_option("-o,--out", a->out,
                  "directory for results.json, results.csv and plots/ (plots of an earlier study "
                  "there are replaced)")
      ->capture_default_str();
  app->add_flag("--log", a->log, "log-log time and speedup plots");
  app->add_option("--compare", a->compare,
                  "an earlier results.json: adds time / old time for the same rows");
  app->add_option("--launcher", a->launcher, "start each rank count as its own launch: mpirun or srun")
      ->check(CLI::IsMember({"mpirun", "srun"}));
  app->add_flag("--list", a->list, "list the built-in workloads");
  app->add_flag("--quiet", a->quiet, "no progress and no table (the files are still written)");
  app->add_flag("--part", a->part, "internal: one launch of a --launcher study")->group("");
  app->add_flag("--no-baselines", a->no_baselines, "internal: skip the one-process baselines")
      ->group("");
  return Command{app,
                 [a, &g]() -> int {
                   if (a->list) {
                     fmt::print("built-in workloads (--workload NAME, or all):\n{}",
                                bench::workload_list());
                     return kExitOk;
                   }
                   if (!a->launcher.empty()) return run_launches(*a, g);
                   if (g.nranks > 0 && !under_launcher()) {
                     // As main does for the other commands: re-launch under mpirun with N ranks
                     // (the command line comes from /proc, as main keeps argv to itself).
                     std::vector<std::string> words = own_command_line();
                     std::vector<char*> argv;
                     for (std::string& w : words) argv.push_back(w.data());
                     throw Error(relaunch(g.nranks, static_cast<int>(argv.size()), argv.data()));
                   }
                   return run_in_job(*a, g);
                 },
                 /*needs_mpi=*/false};
}

}  // namespace dnd::cli
