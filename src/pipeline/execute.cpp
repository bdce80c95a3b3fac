// The executor: steps in plan order, inputs handed over (moved on their last use so that
// elementwise ops can reuse the buffer), results checked against the plan, values freed
// after their last use, per-step timing.
#include "src/pipeline/execute.h"

#include "src/core/communicator.h"
#include "src/core/comm_count.h"
#include "src/core/dndarray.h"
#include "src/core/error.h"
#include "src/core/hash.h"
#include "src/core/text.h"
#include "src/pipeline/extents.h"
#include "src/pipeline/checkpoint.h"
#include "src/pipeline/fault.h"
#include "src/pipeline/watchdog.h"
#include "io/io.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

namespace dnd::pipeline {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int64_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;
}

// Rank 0's step lines and live line. A step that ends within one interval prints one line
// ("[2/5] m: reduce X: done in 0.004 s"); a longer one is announced when it passes an
// interval (by a watcher thread), or before its first progress line, and ends with "done in". The
// live line is rewritten in place on a terminal and printed every interval on a pipe
// (mpirun, srun, a log file), where a rewritten line would never be seen. A long step
// whose op reports nothing (svd, sort, a resplit) gets a line from the watcher every
// five intervals: how long it has run, and what it moves as planned.
//
// The cadence is DND_PROGRESS_INTERVAL seconds (default 2; 0.1 to 3600): a step is
// announced after one interval, pipe lines come at most once per interval, heartbeats
// every five (a Slurm log of a long job may want 60).
class LiveProgress : public Progress {
 public:
  LiveProgress(bool enabled, std::FILE* log)
      : enabled_(enabled), log_(log), tty_(isatty(fileno(log)) != 0) {
    double secs = 2.0;
    if (const char* e = std::getenv("DND_PROGRESS_INTERVAL")) {
      char* end = nullptr;
      const double v = std::strtod(e, &end);
      if (end != e && *end == '\0' && v >= 0.1 && v <= 3600) secs = v;
    }
    cadence_ = secs;
    announce_after_ = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs));
    heartbeat_ = 5 * announce_after_;
    if (enabled_) watcher_ = std::thread([this] { watch(); });
  }
  ~LiveProgress() override {
    if (!watcher_.joinable()) return;
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    watcher_.join();
  }
  // A step starts; `line` announces it if it takes long; `plan_note` (such as "moves 1.2
  // GiB per rank") goes into its heartbeat lines.
  void begin(std::string line, std::string plan_note = {}) {
    if (!enabled_) return;
    std::lock_guard<std::mutex> lk(mu_);
    pending_ = std::move(line);
    plan_note_ = std::move(plan_note);
    began_ = last_activity_ = Clock::now();
    running_ = true;
    cv_.notify_all();
  }
  // A line of the step (a note), after its announcement.
  void line(const std::string& label, const std::string& text) {
    if (!enabled_) return;
    std::lock_guard<std::mutex> lk(mu_);
    announce_locked();
    std::fprintf(log_, "%s: %s\n", label.c_str(), text.c_str());
    std::fflush(log_);
  }
  // The step ended: one line when it was never announced; `detail` (bytes and rate of a
  // file's read or write) is appended.
  void end(const std::string& label, double secs, const std::string& detail = {}) {
    if (!enabled_) return;
    std::lock_guard<std::mutex> lk(mu_);
    clear_locked();
    std::fprintf(log_, "%s: done in %.3f s%s\n", pending_.empty() ? label.c_str() : pending_.c_str(),
                 secs, detail.c_str());
    std::fflush(log_);
    pending_.clear();
    deferred_.clear();
    running_ = false;
  }
  void update(const std::string& text) override {
    if (!enabled_) return;
    std::lock_guard<std::mutex> lk(mu_);
    const auto now = Clock::now();
    last_activity_ = now;
    // A young step is not announced yet: its latest live text waits for the announcement
    // (a quick step keeps its one line).
    if (!pending_.empty() && now - began_ < announce_after_) {
      deferred_ = text;
      return;
    }
    announce_locked();
    show_locked(text, now);
  }
  void summary(const std::string& text) override {
    if (!enabled_) return;
    std::lock_guard<std::mutex> lk(mu_);
    announce_locked();
    clear_locked();
    deferred_.clear();
    const auto now = Clock::now();
    last_activity_ = now;
    std::fprintf(log_, "      %s\n", text.c_str());
    std::fflush(log_);
    // The next live line comes a cadence later on a pipe (a summary was just printed).
    printed_ = true;
    last_ = now;
  }
  // The live line is done (summary lines stay).
  void finish() {
    if (!enabled_) return;
    std::lock_guard<std::mutex> lk(mu_);
    clear_locked();
    deferred_.clear();
    printed_ = false;
  }
  // A failed step: no announcement left pending (the error names the step).
  void abandon() {
    finish();
    std::lock_guard<std::mutex> lk(mu_);
    pending_.clear();
    running_ = false;
  }

 private:
  void announce_locked() {
    if (pending_.empty()) return;
    clear_locked();
    std::fprintf(log_, "%s\n", pending_.c_str());
    std::fflush(log_);
    pending_.clear();
    if (!deferred_.empty()) show_locked(std::exchange(deferred_, std::string()), Clock::now());
  }
  // The live line: rewritten in place on a terminal, at most once per interval on a pipe.
  void show_locked(const std::string& text, Clock::time_point now) {
    if (tty_) {
      std::fprintf(log_, "\r\033[K      %s", text.c_str());
      dirty_ = true;
    } else {
      if (printed_ && std::chrono::duration<double>(now - last_).count() < cadence_) return;
      std::fprintf(log_, "      %s\n", text.c_str());
    }
    std::fflush(log_);
    last_ = now;
    printed_ = true;
  }
  void clear_locked() {
    if (dirty_) std::fprintf(log_, "\r\033[K");
    dirty_ = false;
  }
  void heartbeat_locked(Clock::time_point now) {
    const double secs = std::chrono::duration<double>(now - began_).count();
    const std::string text =
        fmt::format("running for {:.0f} s{}", secs, plan_note_.empty() ? "" : "; " + plan_note_);
    if (tty_) {
      std::fprintf(log_, "\r\033[K      %s", text.c_str());
      dirty_ = true;
    } else {
      std::fprintf(log_, "      %s\n", text.c_str());
    }
    std::fflush(log_);
    last_activity_ = now;
  }
  void watch() {
    std::unique_lock<std::mutex> lk(mu_);
    while (!stop_) {
      if (!running_) {
        cv_.wait(lk);
        continue;
      }
      const auto now = Clock::now();
      if (!pending_.empty()) {
        const auto due = began_ + announce_after_;
        if (now >= due) {
          announce_locked();
          continue;
        }
        cv_.wait_until(lk, due);
        continue;
      }
      const auto due = last_activity_ + heartbeat_;
      if (now >= due) {
        heartbeat_locked(now);
        continue;
      }
      cv_.wait_until(lk, due);
    }
  }

  bool enabled_;
  std::FILE* log_;
  bool tty_;
  double cadence_ = 2.0;
  Clock::duration announce_after_{};
  Clock::duration heartbeat_{};
  bool dirty_ = false;
  bool printed_ = false;
  bool running_ = false;
  Clock::time_point last_{};
  Clock::time_point last_activity_{};
  std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;
  std::string deferred_;  // the live text of a step not yet announced
  std::string plan_note_;
  Clock::time_point began_{};
  bool stop_ = false;
  std::thread watcher_;
};

// Bytes of an array of this meta (shapes from the plan are checked products).
double meta_bytes(const ArrayMeta& m) {
  double n = static_cast<double>(c10::elementSize(m.dtype));
  for (int64_t d : m.shape) n *= static_cast<double>(d);
  return n;
}

// A file step's bytes and rate for its line: ", 64.0 MiB at 1.23 GB/s" (empty otherwise).
std::string io_detail(const PlannedStep& ps, double secs) {
  if (ps.files.empty()) return {};
  double bytes = 0;
  if (std::any_of(ps.files.begin(), ps.files.end(), [](const FileUse& f) { return f.write; })) {
    for (const InputMeta& in : ps.inputs)
      if (!in.is_scalar) bytes += meta_bytes(in.array);
  } else {
    for (const ArrayMeta& m : ps.info.outputs) bytes += meta_bytes(m);
  }
  if (bytes <= 0) return {};
  std::string rate;
  if (secs > 0) {
    const double r = bytes / secs;
    rate = r >= 1e9   ? fmt::format(" at {:.2f} GB/s", r / 1e9)
           : r >= 1e6 ? fmt::format(" at {:.1f} MB/s", r / 1e6)
                      : fmt::format(" at {:.0f} kB/s", r / 1e3);
  }
  return fmt::format(" ({}{})", human_bytes(bytes), rate);
}

std::string inputs_str(const PlannedStep& ps) {
  std::string s;
  for (size_t i = 0; i < ps.input_names.size(); ++i)
    s += (i ? ", " : "") +
         (ps.input_names[i].empty() ? ps.inputs[i].literal.Scalar() : ps.input_names[i]);
  return s;
}

// Seconds since this process started (from /proc; 10 ms resolution), or -1.
double process_age_seconds() {
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = content.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream rest(content.substr(paren + 2));
  std::string field;
  unsigned long long start_ticks = 0;
  for (int k = 3; k <= 22 && rest >> field; ++k)
    if (k == 22) start_ticks = std::stoull(field);
  double uptime = 0;
  std::ifstream up("/proc/uptime");
  if (!(up >> uptime) || start_ticks == 0) return -1;
  return uptime - static_cast<double>(start_ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

RunResult execute(const Plan& plan, const Communicator& comm, const RunOptions& opts) {
  const Document& doc = *plan.doc;
  const bool root = comm.rank() == 0;
  const bool talk = root && !opts.quiet;
  const Dtype ddtype = parse_dtype(doc.default_dtype);
  const DeviceKind ddevice = parse_device(doc.default_device);
  LiveProgress progress(talk, opts.log);

  std::map<std::string, DNDarray> store;
  std::map<std::string, size_t> last_use;
  for (size_t pos = 0; pos < plan.steps.size(); ++pos)
    for (const std::string& in : plan.steps[pos].input_names)
      if (!in.empty()) last_use[in] = pos;

  RunResult result;
  std::vector<double> local_seconds;
  std::vector<int64_t> local_rss;
  std::vector<int64_t> local_moved;  // per step: counted bytes sent, then received
  // Every save goes into this set; nothing under a final name changes before the commit
  // after the last step (a failure unwinds it: the temporaries are removed).
  io::Outputs outputs(comm, opts.sync);
  size_t notes_shown = 0;
  const double startup = process_age_seconds();  // process start to the first step
  const auto t_run = Clock::now();
  const size_t nsteps = plan.steps.size();
  Checkpointer* const ck = opts.checkpoints;
  if (ck) {  // --resume: the checkpoints the run needs, read and checked before the first step
    std::vector<std::string> notes;
    ck->restore(store, notes);
    if (talk)
      for (const std::string& n : notes) std::fprintf(opts.log, "%s\n", n.c_str());
  }
  // A rank that dies ends the others, with a message naming it and the step (watchdog.h).
  std::vector<std::string> doing;
  for (size_t pos = 0; pos < nsteps; ++pos)
    doing.push_back(fmt::format("during step '{}' ([{}/{}], {})", plan.steps[pos].step->id, pos + 1,
                                nsteps, plan.steps[pos].op->name));
  const std::string committing = "while the outputs were committed";
  PeerWatch watch(comm);
  for (size_t pos = 0; pos < nsteps; ++pos) {
    const PlannedStep& ps = plan.steps[pos];
    const Step& st = *ps.step;
    const std::string label = fmt::format("[{}/{}] {}", pos + 1, nsteps, st.id);
    watch.at_step(doing[pos].c_str());
    // die-before:STEP: the last rank is killed (SIGKILL) before STEP.
    if (comm.rank() == comm.size() - 1 && fault_injected("die-before:" + st.id)) ::raise(SIGKILL);
    if (ck && stop_requested(comm, st.id))
      throw StopRequested(
          fmt::format("stopped on request (SIGUSR1) before step '{}': {} of {} steps done", st.id, pos,
                      nsteps),
          pos);
    if (ck && ck->source(pos) != StepSource::run) {  // read before the first step, or not needed
      local_seconds.push_back(0);
      local_rss.push_back(peak_rss_bytes());
      local_moved.insert(local_moved.end(), {0, 0});
      if (!opts.keep_results)
        for (const std::string& name : ps.frees) store.erase(name);
      if (talk) {
        if (ck->source(pos) == StepSource::checkpoint)
          std::fprintf(opts.log, "%s: %s: from checkpoint %s\n", label.c_str(), ps.op->name.c_str(),
                       ck->file(pos).c_str());
        else
          std::fprintf(opts.log, "%s: %s: skipped (its results are not needed)\n", label.c_str(),
                       ps.op->name.c_str());
        std::fflush(opts.log);
      }
      continue;
    }
    if (talk) {
      const std::string in = inputs_str(ps);
      progress.begin(fmt::format("{}: {}{}{}", label, ps.op->name, in.empty() ? "" : " ", in),
                     ps.info.comm_bytes > 0
                         ? fmt::format("it moves {} per rank (planned)", human_bytes(ps.info.comm_bytes))
                         : std::string());
    }
    const auto t0 = Clock::now();
    const CommCount moved0 = comm_count();
    std::vector<DNDarray> outs;
    try {
      std::vector<Operand> operands;
      for (size_t k = 0; k < ps.inputs.size(); ++k) {
        const std::string& name = ps.input_names[k];
        if (name.empty()) {
          operands.emplace_back(literal_scalar(ps.inputs[k].literal));
          continue;
        }
        auto it = store.find(name);
        DND_ASSERT(it != store.end(), name);
        const bool used_again = std::count(ps.input_names.begin(), ps.input_names.end(), name) > 1;
        if (!opts.keep_results && last_use[name] == pos && !used_again) {
          DNDarray a = std::move(it->second);
          store.erase(it);
          operands.emplace_back(std::move(a));  // a temporary: its buffer may be reused
        } else {
          operands.emplace_back(it->second);
        }
      }
      DND_ASSERT(!fault_injected("internal-run:" + st.id), "fault injected by DND_TEST_FAULT");
      // An input whose extent was a bound (extents.h): the step's rule again, with the
      // actual shapes (it refuses what they cannot do, as planning would have).
      const InferResult* expected = &ps.info;
      std::vector<uint64_t> expected_at_most = ps.at_most;
      InferResult actual_info;
      std::vector<InputMeta> actual_inputs = ps.inputs;
      bool reinfer = false;
      for (size_t k = 0; k < operands.size(); ++k)
        if (!actual_inputs[k].is_scalar) {
          actual_inputs[k].array = meta_of(operands[k].array());
          reinfer = reinfer || actual_inputs[k].array.shape != ps.inputs[k].array.shape;
        }
      if (reinfer) {
        AtMostCapture capture;
        actual_info = ps.op->infer(
            InferContext{st, *ps.params, actual_inputs, comm.size(), ddtype, ddevice, &ps.files});
        expected_at_most = capture.take(actual_info.outputs.size());
        expected = &actual_info;
      }
      RunContext ctx{st,
                     *ps.params,
                     std::move(operands),
                     comm,
                     ddtype,
                     ddevice,
                     expected->outputs,
                     progress,
                     opts.out,
                     &outputs,
                     &ps.files};
      if (ck) ck->begin_step(pos);
      if (fault_injected("slow-in:" + st.id)) std::this_thread::sleep_for(std::chrono::seconds(3));
      outs = ps.op->run(ctx);
      const CommCount moved1 = comm_count();
      local_moved.insert(local_moved.end(),
                         {moved1.sent - moved0.sent, moved1.received - moved0.received});
      if (ck) ck->end_step();
      progress.finish();
      DND_ASSERT(outs.size() == ps.info.outputs.size(), ps.op->name, outs.size(),
                 ps.info.outputs.size());
      for (size_t f = 0; f < outs.size(); ++f) {
        const ArrayMeta a = meta_of(outs[f]);
        // The plan is what `dnd plan` showed and what later steps were checked against;
        // a bounded extent may come out smaller, never larger.
        if (!fits(a, expected->outputs[f], expected_at_most[f]) ||
            !fits(a, ps.info.outputs[f], ps.at_most[f]))
          throw InternalError(fmt::format("op '{}' produced {}, the plan said {}", ps.op->name,
                                          dnd::meta_str(a),
                                          meta_str(expected->outputs[f], expected_at_most[f])));
      }
    } catch (const StopRequested&) {  // agreed on every rank inside the step (kmeans)
      progress.abandon();
      throw;
    } catch (Error& e) {  // the kind is kept: a bug stays a bug, a user's value error stays one
      progress.abandon();
      e.add_prefix(fmt::format("step '{}' ({}, {}:{})", st.id, ps.op->name, doc.file, st.mark.line));
      throw;
    } catch (const std::bad_alloc&) {
      progress.abandon();
      throw Error(fmt::format("step '{}' ({}, {}:{}): out of memory", st.id, ps.op->name, doc.file,
                              st.mark.line));
    } catch (const std::exception& e) {  // torch's own errors: failures while running
      progress.abandon();
      throw Error(fmt::format("step '{}' ({}, {}:{}): {}", st.id, ps.op->name, doc.file, st.mark.line,
                              message_of(e)));
    }
    const double secs = since(t0);
    local_seconds.push_back(secs);
    local_rss.push_back(peak_rss_bytes());
    std::string ck_line;
    if (ck) {
      try {
        ck_line = ck->after_step(pos, outs);
      } catch (Error& e) {
        e.add_prefix(fmt::format("step '{}' ({}, {}:{}): writing its checkpoint", st.id, ps.op->name,
                                 doc.file, st.mark.line));
        throw;
      }
    }
    for (size_t f = 0; f < outs.size(); ++f)
      store.insert_or_assign(ps.output_names[f], std::move(outs[f]));
    if (!opts.keep_results)
      for (const std::string& name : ps.frees) store.erase(name);
    if (talk) {
      for (; notes_shown < outputs.notes().size(); ++notes_shown)
        progress.line(label, outputs.notes()[notes_shown]);
      if (!ck_line.empty()) progress.line(label, ck_line);
      progress.end(label, secs, io_detail(ps, secs));
    }
  }
  watch.at_step(committing.c_str());
  if (!outputs.empty()) {
    const auto t_commit = Clock::now();
    try {
      outputs.commit();
    } catch (const std::exception& e) {
      throw Error(fmt::format("committing the outputs: {} (no output was changed)", e.what()));
    }
    if (talk) {
      std::fprintf(opts.log, "outputs committed%s in %.3f s\n",
                   opts.sync ? " and synced" : " (not synced)", since(t_commit));
      std::fflush(opts.log);
    }
  }
  const double total = since(t_run);

  // One collective at the end: the slowest rank's times and every rank's peak memory.
  std::vector<double> tv = local_seconds;
  tv.push_back(total);
  tv.push_back(startup);
  at::Tensor tt = at::from_blob(tv.data(), {static_cast<int64_t>(tv.size())}, at::kDouble).clone();
  allreduce_(comm, tt, ReduceOp::max);
  const double* times = tt.data_ptr<double>();
  const std::vector<int64_t> all_rss = allgather_values(comm, local_rss);
  at::Tensor mv = at::tensor(local_moved, at::kLong);
  allreduce_(comm, mv, ReduceOp::max);
  const int64_t* moved = mv.data_ptr<int64_t>();
  watch.finish();  // every rank got here: from now on a rank that exits has ended normally
  const int p = comm.size();
  for (size_t s = 0; s < nsteps; ++s) {
    StepTiming t;
    t.id = plan.steps[s].step->id;
    t.op = plan.steps[s].op->name;
    t.seconds = times[s];
    t.comm_bytes = plan.steps[s].info.comm_bytes;
    t.comm_at_most = plan.steps[s].comm_at_most;
    t.sent_bytes = moved[2 * s];
    t.received_bytes = moved[2 * s + 1];
    if (ck) t.source = source_name(ck->source(s));
    for (int r = 0; r < p; ++r) t.peak_rss.push_back(all_rss[static_cast<size_t>(r) * nsteps + s]);
    result.steps.push_back(t);
  }
  result.seconds = times[nsteps];
  result.startup_seconds = times[nsteps + 1];
  if (opts.keep_results) result.values = std::move(store);
  if (talk)
    std::fprintf(opts.log, "%s: %zu steps on %d rank%s in %.3f s\n", doc.file.c_str(), nsteps, p,
                 p == 1 ? "" : "s", result.seconds);
  if (root && !opts.timings_path.empty()) write_timings(opts.timings_path, plan, result, p);
  return result;
}

std::string run_summary_json(const Plan& plan, const RunResult& r, int nranks, int indent) {
  using nlohmann::ordered_json;
  ordered_json steps = ordered_json::array();
  ordered_json outputs = ordered_json::array();
  for (size_t s = 0; s < r.steps.size(); ++s) {
    const StepTiming& t = r.steps[s];
    steps.push_back({{"id", t.id},
                     {"op", t.op},
                     {"seconds", t.seconds},
                     {"comm_bytes", t.comm_bytes},
                     {"comm_bytes_at_most", t.comm_at_most},
                     {"sent_bytes", t.sent_bytes},
                     {"received_bytes", t.received_bytes},
                     {"peak_rss_bytes", t.peak_rss},
                     {"source", t.source}});
    if (s >= plan.steps.size() || t.source == "skipped") continue;
    for (const FileUse& f : plan.steps[s].files)
      if (f.write) {
        ordered_json o{{"path", f.path}, {"format", f.format}};
        if (!f.dataset.empty()) o["dataset"] = f.dataset;
        o["step"] = t.id;
        outputs.push_back(std::move(o));
      }
  }
  ordered_json params = ordered_json::object();
  for (const auto& [k, v] : plan.doc->params)
    params[k] = v.IsScalar() ? v.Scalar() : YAML::Dump(v);  // in effect, after --set
  std::string source;
  for (const std::string& l : plan.doc->lines) source += l + "\n";
  const ordered_json j = {{"pipeline", plan.doc->file},
                          {"pipeline_hash", "fnv1a64:" + fnv1a64_hex(source)},
                          {"params", std::move(params)},
                          {"ranks", nranks},
                          {"seconds", r.seconds},
                          {"startup_seconds", r.startup_seconds},
                          {"steps", steps},
                          {"outputs", outputs}};
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_timings(const std::string& path, const Plan& plan, const RunResult& r, int nranks) {
  const std::string o = run_summary_json(plan, r, nranks) + "\n";
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    if (!f) throw ValueError(fmt::format("cannot write timings to {}", path));
    f << o;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw ValueError(fmt::format("cannot write timings to {}", path));
}

}  // namespace dnd::pipeline
