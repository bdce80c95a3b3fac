// The executor: runs a Plan SPMD on every rank of a communicator. Rank 0 reports
// progress; every rank runs every step in the same order, so collectives match.
#pragma once

#include "src/pipeline/plan.h"

#include <cstdio>
#include <map>
#include <string>

namespace dnd {
class Communicator;
class DNDarray;
}  // namespace dnd

namespace dnd::pipeline {

class Checkpointer;  // checkpoint.h

struct RunOptions {
  bool quiet = false;         // no progress lines (results of print steps still go to `out`)
  std::string timings_path;   // --timings OUT.json ("" for none)
  std::FILE* out = stdout;    // print steps (rank 0)
  std::FILE* log = stderr;    // progress (rank 0)
  bool keep_results = false;  // keep every value in RunResult (tests, bench); else free after last use
  bool sync = true;           // saves synced to the device before the commit (--no-sync: false)
  // Checkpoints written after their steps, and with --resume read before the first step
  // (steps then come from a checkpoint, run, or are skipped); stop requests (SIGUSR1) end
  // the run at a step boundary with StopRequested. nullptr: none of it.
  Checkpointer* checkpoints = nullptr;
};

struct StepTiming {
  std::string id, op;
  double seconds = 0;             // the slowest rank
  int64_t comm_bytes = 0;         // planned bytes sent by the busiest rank
  bool comm_at_most = false;      // comm_bytes is a bound (PlannedStep::comm_at_most)
  int64_t sent_bytes = 0;         // counted (comm_count.h): bytes sent by the busiest rank
  int64_t received_bytes = 0;     // counted: bytes received by the busiest rank
  std::vector<int64_t> peak_rss;  // per rank, bytes, after the step
  std::string source = "run";     // "run", "checkpoint" (read from one), "skipped" (--resume)
};

struct RunResult {
  double seconds = 0;          // the whole run, slowest rank
  double startup_seconds = 0;  // process start to the first step (MPI, torch, parsing), slowest rank
  std::vector<StepTiming> steps;
  std::map<std::string, DNDarray> values;  // only with keep_results
};

// Collective over comm. A failing step throws dnd::Error naming the step, its op and its
// file:line; the caller must end every rank (the dnd executable aborts the job). Saves
// are committed together after the last step (io::Outputs): a failed run changes no file.
RunResult execute(const Plan& plan, const Communicator& comm, const RunOptions& opts = {});

// The run as one JSON object (`dnd run --timings` writes it, `dnd run --json` prints it):
// the pipeline, its hash, the params in effect, ranks, times, every step (time, bytes
// planned and counted, peak memory, source) and the outputs written. indent -1: one line.
std::string run_summary_json(const Plan& plan, const RunResult& r, int nranks, int indent = 2);
// Writes run_summary_json to `path` (rank 0), replacing it whole.
void write_timings(const std::string& path, const Plan& plan, const RunResult& r, int nranks);

}  // namespace dnd::pipeline
