// Step checkpoints and `dnd run --resume`.
//
// Every step of a plan has a key: a hash of its op, its parameters (after ${...} and --set),
// the pipeline's defaults, dnd's version and the keys of its inputs; a load's key also
// holds the identity of the file it reads (resolved path, size, modification time), or the
// key of the step that writes it in the same run. A checkpoint is valid for its key only,
// so a changed parameter invalidates its step and those downstream of it, and nothing else.
//
// A checkpointed step (`checkpoint: true`, or `dnd run --checkpoint ID,...`) stores its
// results, once it has finished on every rank, in one HDF5 file DIR/ID.KEY.h5 (a dataset
// per result: /result, or /FIELD for each of a multi-result step; global arrays with their
// split, so that any rank count can read them), committed durably through io::Outputs
// (temporary, fsync, rename, directory fsync). Each dataset carries its key and a checksum
// of its elements that does not depend on how the array is cut (a sum over elements of a
// hash of the element's bits and its global position).
//
// With --resume, the latest valid checkpoints the remaining steps need are read (a
// damaged one, or one whose checksum differs, is reported, ignored and recomputed), steps
// whose results are no longer needed are skipped, and the rest run. Without --resume,
// checkpoints are written but never read.
//
// A stop request (SIGUSR1, what the Slurm templates ask for before the time limit) is
// agreed on by every rank at the next step boundary (and between kmeans iterations): the
// run ends cleanly with StopRequested, leaving the checkpoints already written durable.
#pragma once

#include "kernels/cluster/kmeans.h"
#include "src/pipeline/plan.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dnd {
class Communicator;
class DNDarray;
}  // namespace dnd

namespace dnd::pipeline {

struct CheckpointOptions {
  std::string dir;                 // --checkpoint-dir; "" for the default beside the outputs
  std::vector<std::string> steps;  // --checkpoint ID,ID (in addition to `checkpoint: true`)
  bool resume = false;             // --resume
};

// Where a step's results come from in a run.
enum class StepSource { run, checkpoint, skipped };
const char* source_name(StepSource s);  // "run", "checkpoint", "skipped"

struct StepCheckpoint {
  std::string key;     // 16 hex digits
  bool write = false;  // its results are stored after it ran
  std::string file;    // DIR/ID.KEY.h5 ("" for a step without results)
  // --resume only (from the files' metadata; the checksums are checked when read):
  bool found = false;   // a checkpoint of this key whose metadata match the plan
  std::string problem;  // why the file of this key cannot be used ("" when none or fine)
  StepSource source = StepSource::run;
};

struct CheckpointPlan {
  std::string dir;  // absolute
  bool dir_given = false;
  bool resume = false;
  std::vector<StepCheckpoint> steps;  // in plan order
  bool any_write() const;
};

// The key of every step, in plan order.
std::vector<std::string> step_keys(const Plan& plan);

// The default checkpoint directory: PIPELINE-STEM.checkpoints beside the first file the
// pipeline writes (else beside the pipeline file; the working directory for stdin).
std::string default_checkpoint_dir(const Plan& plan, const std::string& pipeline_path);

// Keys, checkpointed steps, and with o.resume what each step's results come from (this
// process reads the directory; no MPI). Throws PipelineError for a --checkpoint id that
// names no step or a step without results.
CheckpointPlan plan_checkpoints(const Plan& plan, const CheckpointOptions& o,
                                const std::string& pipeline_path);

// The sources of the steps when the steps with found[i] have a usable checkpoint: steps
// without results (save, print) and results no step uses always run (or are read); a
// step is read or run when a running step needs its results, else skipped.
std::vector<StepSource> resume_sources(const Plan& plan, const std::vector<bool>& found);

// What `dnd plan` adds: the directory, the checkpointed steps, and with --resume each
// step's source. Empty when there is nothing to say.
std::string checkpoint_table(const Plan& plan, const CheckpointPlan& cp);
// The same for `dnd plan --json`: {"dir", "steps": [{"id", "key", "write", "source", "file"}]}.
std::string checkpoint_json(const Plan& plan, const CheckpointPlan& cp);

// A checksum of a global array's elements, equal at any split and rank count (collective).
uint64_t array_checksum(const DNDarray& a);

// One checkpoint file of a directory, from its metadata (no MPI).
struct CheckpointEntry {
  std::string file;  // absolute
  std::string step, key, op;
  std::vector<std::string> datasets;
  std::vector<std::string> metas;  // "(100, 4) float32 split=0" per dataset
  int64_t bytes = 0;               // file size
  double age_seconds = 0;
  std::string problem;  // not a readable dnd checkpoint: why
};
std::vector<CheckpointEntry> list_checkpoints(const std::string& dir);

// Thrown by the executor when a stop was requested (SIGUSR1), on every rank alike.
struct StopRequested : std::runtime_error {
  StopRequested(const std::string& what, size_t done_steps)
      : std::runtime_error(what), done(done_steps) {}
  size_t done;
};
// The exit status of a stopped run: the Slurm templates requeue the job on it.
inline constexpr int kExitStopped = 75;  // EX_TEMPFAIL: try again later

// SIGUSR1 asks the run to stop at the next step boundary (dnd run installs it).
void install_stop_signal();
bool stop_signal_installed();
// Collective over comm: whether any rank received the stop signal (or the test fault
// `stop-before:STEP` asks for it). One allreduce; false without the handler.
bool stop_requested(const Communicator& comm, const std::string& next_step);

class Checkpointer;
// The step that runs now, for ops that keep their own state (kmeans' checkpoint_every):
// set by the executor around each step of a run with a Checkpointer, else nullptr.
struct StepState {
  std::string step, key;
  std::string file;  // DIR/ID.KEY.state.h5
  bool resume = false;
  bool sync = true;
  Checkpointer* owner = nullptr;
};
const StepState* current_step_state();

// Collective: kmeans' state from st.file when it is there and valid for st.key, else
// nullopt (`note` says why a file that is there was not used).
std::optional<cluster::KMeansState> load_kmeans_state(const StepState& st, const Communicator& comm,
                                                      std::string& note);
// Collective: stores the state durably in st.file.
void save_kmeans_state(const StepState& st, const Communicator& comm, const cluster::KMeansState& s);

// The run-time side (collective over comm): reads the checkpoints to restore before the
// first step, writes those asked for after their steps.
class Checkpointer {
 public:
  Checkpointer(const Plan& plan, CheckpointPlan cp, const Communicator& comm, bool sync);
  ~Checkpointer();
  // Collective: with --resume, reads and checks the checkpoints the run needs into
  // `store` (value name -> array); a damaged one is reported in `notes` (rank 0) and its
  // step recomputed (the sources change accordingly).
  void restore(std::map<std::string, DNDarray>& store, std::vector<std::string>& notes);
  StepSource source(size_t pos) const { return sources_.at(pos); }
  // Where the step's results were read from (for its progress line).
  const std::string& file(size_t pos) const { return cp_.steps.at(pos).file; }
  // Collective: after step `pos` ran with results `outs`: writes its checkpoint when asked.
  // Returns a line for the progress ("" when nothing was written).
  std::string after_step(size_t pos, const std::vector<DNDarray>& outs);
  const CheckpointPlan& plan() const { return cp_; }
  // Around each step that runs: current_step_state() for its op.
  void begin_step(size_t pos);
  void end_step();
  void ensure_dir();

 private:
  const Plan& plan_;
  CheckpointPlan cp_;
  const Communicator& comm_;
  bool sync_;
  bool dir_ready_ = false;
  std::vector<StepSource> sources_;
};

}  // namespace dnd::pipeline
