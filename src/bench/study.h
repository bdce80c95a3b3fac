// dnd bench's engine: strong and weak scaling sweeps of a workload inside one job, on
// sub-communicators of the first 1, 2, 4, ... ranks in turn while the other ranks wait
// without spinning.
//
// Timing is honest: a barrier before every run, each rank's own wall time of the run and
// of each of its steps, the slowest rank's (one allreduce after the run), warm-up runs
// discarded, median / min / max over the repeats.
//
//   Case      what to measure: builds a Problem of a given size on a communicator, with
//             its unit (GB/s, GFLOP/s, ...) and its baselines;
//   Problem   one workload at one size on one communicator, ready to run;
//   Study     the rows (one per case, mode and rank count), the baselines and the context;
//             report.h turns it into the table, JSON, CSV and SVG plots.
#pragma once

#include "src/core/communicator.h"
#include "src/core/hash.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace dnd::bench {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// This rank's wall time of each named step of one run.
class StepClock {
 public:
  // Runs fn and records its wall time on this rank under `name`.
  void step(const std::string& name, const std::function<void()>& fn);
  // Records a time measured elsewhere (a pipeline's own per-step times).
  void record(const std::string& name, double seconds);
  // The work this run did, when only the run knows it (k-means stopping early); it must
  // be the same on every rank. Overrides Problem::work.
  void set_work(double work) { work_ = work; }
  double work() const noexcept { return work_; }
  const std::vector<std::string>& names() const noexcept { return names_; }
  const std::vector<double>& seconds() const noexcept { return seconds_; }
  void clear() {
    names_.clear();
    seconds_.clear();
    work_ = 0;
  }

 private:
  std::vector<std::string> names_;
  std::vector<double> seconds_;
  double work_ = 0;
};

// A figure besides the time, measured once after the timed runs: peak memory in units of
// the local block, an error norm, the bytes a plan sends, an overhead in ms.
struct Extra {
  std::string name;  // with its unit: "peak memory / local block", "overhead ms"
  double value = kNaN;
};

struct Row;

// One workload at one problem size on one communicator.
struct Problem {
  std::string shape;  // what runs, e.g. "(8192, 256) float32 split 0"
  // Work per run in the case's unit times unit_scale (bytes, flops, rows); the figure is
  // work / median seconds / unit_scale. 0: no figure.
  double work = 0;
  // One run, collective over the problem's communicator; it must run the same steps in
  // the same order every time.
  std::function<void(StepClock&)> run;
  // Untimed, on every rank before every run (before its barrier): e.g. dropping a file
  // from the page cache so that each load reads the device. May be empty.
  std::function<void()> prepare;
  // A baseline that depends on the ranks (MPI_Alltoall of the bytes the run moves between
  // ranks), measured on the same communicator after the repeats: the slowest rank's
  // median seconds of moving the same work. Empty when there is none.
  std::function<double(int warmup, int repeat)> baseline;
  // The step of the run whose median (slowest rank) the figure counts, when the run does
  // more than what the figure is about (a pipeline that makes its input, then maps it);
  // "" for the whole run.
  std::string figure_step;
  // The steps whose sum is the run's time (dnd bench --time: a pipeline's set-up, such as
  // making random input, stays out of the figure): each repeat's time is then the sum of
  // these steps (each the slowest rank's), Row::run keeps the whole run's. Empty: the
  // whole run.
  std::vector<std::string> timed_steps;
  // When set, one more step of this name after the run's own: the whole run minus the sum
  // of its steps (each the slowest rank's), in each repeat, so that the steps add up to
  // the run (a pipeline's time outside its steps: the executor's set-up and commit). It
  // may be slightly negative when different ranks were the slowest in different steps.
  std::string rest_step;
  // Extra figures, measured once after the repeats and the baseline, collective over the
  // problem's communicator, the same names on every rank. row: the times so far (run and
  // steps, slowest rank); baseline_s: Problem::baseline's seconds (NaN when none). May be
  // empty.
  std::function<std::vector<Extra>(const Row& row, double baseline_s)> extras;
};

// A baseline measured once per study on one process (rank 0 alone), with its figure in
// the case's unit.
struct Baseline {
  std::string name;  // "torch a*b+c, 1 process"
  double seconds = kNaN;
  double value = kNaN;
  std::vector<Extra> extras;  // as a row's: the baseline's errors, say (rank 0's)
};

struct Case {
  std::string name;         // "matmul-0x1", "elementwise", or the pipeline's name
  std::string workload;     // "matmul", or the pipeline file
  std::string unit;         // "GB/s", "GFLOP/s", ...; "" for none
  std::string unit_doc;     // what the unit counts, for the report
  double unit_scale = 1e9;  // figure = work / seconds / unit_scale
  std::string size_name;    // what --size / --scale sets: "rows", or the pipeline param
  int64_t size = 0;         // at one rank; weak scaling multiplies it by the rank count
  bool weak_ok = true;      // false: weak scaling has nothing to grow (a pipeline without --scale)
  std::string definition;   // everything that defines the problem, hashed into the report
  std::string rank_baseline_name;  // the name of Problem::baseline, "" when none
  // Throws (dnd::ValueError, pipeline::PipelineError) when the problem cannot run at
  // every size of a sweep over these rank counts ("strong", "weak"); called before
  // anything runs. Not collective.
  std::function<void(const std::vector<int>& ranks, const std::vector<std::string>& modes)> check;
  // Collective over comm: the problem at `size` (the size at this rank count).
  std::function<Problem(const Communicator& comm, int64_t size)> make;
  // Collective over world (rank 0 measures alone): the one-process baseline, measured at
  // the size of one rank. Empty when there is none.
  std::function<Baseline(const Communicator& world, int warmup, int repeat)> solo_baseline;
};

struct Stats {
  double median = kNaN, min = kNaN, max = kNaN;
};

struct StepStats {
  std::string name;
  Stats t;
  std::vector<double> times;  // every timed repeat (slowest rank), in order
};

// One case in one mode at one rank count.
struct Row {
  std::string case_name, workload, mode;  // mode: "strong" or "weak"
  int ranks = 0;
  int64_t size = 0;  // the size at this rank count
  std::string shape;
  Stats t;                    // the whole run (or the timed steps), slowest rank
  std::vector<double> times;  // every timed repeat (slowest rank), in order
  std::vector<StepStats> steps;
  // With Problem::timed_steps: t and times are the sums of those steps, run and run_times
  // the whole run's (else run_times is empty).
  Stats run;
  std::vector<double> run_times;
  // Where the ranks ran (place_rows): the most loaded node's ranks and the cores they may
  // use there; oversubscribed when its ranks x threads per rank exceed those cores.
  int node_ranks = 0, node_cores = 0;
  bool oversubscribed = false;
  std::string unit;
  double value = kNaN;           // work / median / unit_scale
  std::string baseline_name;     // the case's baseline (solo or at these ranks)
  double baseline_value = kNaN;  // in the unit
  double vs_baseline = kNaN;     // value / baseline_value
  // Against the first rank count p0 of the same case and mode. Strong: T(p0) / T(p)
  // (ideal p / p0); weak: (p / p0) T(p0) / T(p) (scaled speedup, ideal p / p0).
  // Efficiency: speedup / (p / p0) (ideal 1).
  double speedup = kNaN, efficiency = kNaN;
  double old_median = kNaN, ratio = kNaN;  // --compare: median / the old median
  std::vector<Extra> extras;               // Problem::extras
};

struct Context {
  std::string host, date, version, command, source, hash, launcher, torch, blas;
  int world_ranks = 0, threads = 0, repeat = 0, warmup = 0;
  std::string compare;             // the --compare file, if any
  std::vector<std::string> timed;  // --time: the steps the times count; empty: whole runs
  // The machine: rank 0's CPU model and logical CPUs (cores), the nodes (distinct host
  // names) of the ranks, and the warning of oversubscription_warning ("" when none).
  std::string cpu_model;
  int cores = 0, nodes = 0;
  std::vector<std::string> hosts;
  std::string warning;
};

struct CaseInfo {
  std::string name, workload, unit, unit_doc, size_name, rank_baseline_name;
  Baseline solo;  // name empty when none
};

struct Study {
  Context context;
  std::vector<CaseInfo> cases;
  std::vector<Row> rows;
};

struct SweepOptions {
  std::vector<int> ranks;          // rank counts, ascending, each <= the world's size
  std::vector<std::string> modes;  // "strong", "weak"
  int repeat = 5;
  int warmup = 1;
  bool baselines = true;    // measure the one-process baselines
  std::FILE* log = stderr;  // progress (rank 0); nullptr for none
};

// Collective over world: every case in every mode at every rank count. The rows are
// complete on rank 0 (speedup and efficiency included); other ranks get the case list.
// Throws (on the ranks that ran it) what a problem throws.
Study run_study(const Communicator& world, const std::vector<Case>& cases, const SweepOptions& o);

// Fills speedup and efficiency of every row from its case and mode's first rank count.
void derive_scaling(Study& s);

// Fills old_median and ratio for the rows that `old` has (same case, mode and ranks).
void compare_with(Study& s, const Study& old);

// Where one rank runs: its host, the logical CPUs of the host, the CPUs it may run on
// (its affinity mask) and a CPU quota of its cgroup (0 when none).
struct RankPlace {
  std::string host;
  int cpus = 0;
  std::vector<int> allowed;
  int quota = 0;
};

// This process's place.
RankPlace this_place();

// Collective over comm: every rank's place, in rank order.
std::vector<RankPlace> gather_places(const Communicator& comm);

// The CPU model of this machine ("model name" of /proc/cpuinfo), or "unknown".
std::string cpu_model();

// Fills every row's node_ranks, node_cores and oversubscribed (a row at p ranks ran on
// the first p places with `threads` threads per rank), and the context's nodes and hosts
// (over the first places of the largest rank count).
void place_rows(Study& s, const std::vector<RankPlace>& places, int threads);

// "WARNING: ..." naming the rank counts whose rows are oversubscribed, "" when none.
std::string oversubscription_warning(const Study& s);

// fnv1a_hex: the 64-bit FNV-1a of src/core/hash.h, as 16 hex digits.
inline std::string fnv1a_hex(const std::string& text) { return fnv1a64_hex(text); }

}  // namespace dnd::bench
