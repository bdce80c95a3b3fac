// The executor: steps in plan order, inputs handed over (moved on their last use so that
// elementwise ops can reuse the buffer), results checked against the plan, values freed
// after their last use, per-step timing.
#include "src/pipeline/execute.h"

#include "src/core/communicator.h"
#include "src/core/dndarray.h"
#include "src/core/error.h"
#include "src/core/text.h"
#include "src/pipeline/fault.h"
#include "io/io.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>

namespace dnd::pipeline {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int64_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;
}

// Rank 0's live line: rewritten in place on a terminal, throttled lines otherwise.
class LiveProgress : public Progress {
 public:
  LiveProgress(bool enabled, std::FILE* log)
      : enabled_(enabled), log_(log), tty_(isatty(fileno(log)) != 0) {}
  void update(const std::string& text) override {
    if (!enabled_) return;
    const auto now = Clock::now();
    if (tty_) {
      std::fprintf(log_, "\r\033[K      %s", text.c_str());
      dirty_ = true;
    } else {
      if (printed_ && std::chrono::duration<double>(now - last_).count() < 0.5) return;
      std::fprintf(log_, "      %s\n", text.c_str());
    }
    std::fflush(log_);
    last_ = now;
    printed_ = true;
  }
  void finish() {
    if (dirty_) std::fprintf(log_, "\r\033[K");
    dirty_ = false;
    printed_ = false;
  }

 private:
  bool enabled_;
  std::FILE* log_;
  bool tty_;
  bool dirty_ = false;
  bool printed_ = false;
  Clock::time_point last_{};
};

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
  // Every save goes into this set; nothing under a final name changes before the commit
  // after the last step (a failure unwinds it: the temporaries are removed).
  io::Outputs outputs(comm, opts.sync);
  size_t notes_shown = 0;
  const double startup = process_age_seconds();  // process start to the first step
  const auto t_run = Clock::now();
  const size_t nsteps = plan.steps.size();
  for (size_t pos = 0; pos < nsteps; ++pos) {
    const PlannedStep& ps = plan.steps[pos];
    const Step& st = *ps.step;
    const std::string label = fmt::format("[{}/{}] {}", pos + 1, nsteps, st.id);
    if (talk) {
      const std::string in = inputs_str(ps);
      std::fprintf(opts.log, "%s: %s%s%s\n", label.c_str(), ps.op->name.c_str(), in.empty() ? "" : " ",
                   in.empty() ? "" : in.c_str());
      std::fflush(opts.log);
    }
    const auto t0 = Clock::now();
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
      RunContext ctx{st,
                     *ps.params,
                     std::move(operands),
                     comm,
                     ddtype,
                     ddevice,
                     ps.info.outputs,
                     progress,
                     opts.out,
                     &outputs,
                     &ps.files};
      outs = ps.op->run(ctx);
      progress.finish();
      DND_ASSERT(outs.size() == ps.info.outputs.size(), ps.op->name, outs.size(),
                 ps.info.outputs.size());
      for (size_t f = 0; f < outs.size(); ++f) {
        const ArrayMeta& m = ps.info.outputs[f];
        const DNDarray& a = outs[f];
        // The plan is what `dnd plan` showed and what later steps were checked against.
        if (a.gshape() != m.shape || a.dtype() != m.dtype || a.split() != m.split)
          throw InternalError(fmt::format("op '{}' produced {} {} split={}, the plan said {}",
                                          ps.op->name, shape_str(a.gshape()), dtype_name(a.dtype()),
                                          split_str(a.split()), meta_str(m)));
      }
    } catch (Error& e) {  // the kind is kept: a bug stays a bug, a user's value error stays one
      progress.finish();
      e.add_prefix(fmt::format("step '{}' ({}, {}:{})", st.id, ps.op->name, doc.file, st.mark.line));
      throw;
    } catch (const std::bad_alloc&) {
      progress.finish();
      throw Error(fmt::format("step '{}' ({}, {}:{}): out of memory", st.id, ps.op->name, doc.file,
                              st.mark.line));
    } catch (const std::exception& e) {  // torch's own errors: failures while running
      progress.finish();
      throw Error(fmt::format("step '{}' ({}, {}:{}): {}", st.id, ps.op->name, doc.file, st.mark.line,
                              message_of(e)));
    }
    const double secs = since(t0);
    local_seconds.push_back(secs);
    local_rss.push_back(peak_rss_bytes());
    for (size_t f = 0; f < outs.size(); ++f)
      store.insert_or_assign(ps.output_names[f], std::move(outs[f]));
    if (!opts.keep_results)
      for (const std::string& name : ps.frees) store.erase(name);
    if (talk) {
      for (; notes_shown < outputs.notes().size(); ++notes_shown)
        std::fprintf(opts.log, "%s: %s\n", label.c_str(), outputs.notes()[notes_shown].c_str());
      std::fprintf(opts.log, "%s: done in %.3f s\n", label.c_str(), secs);
      std::fflush(opts.log);
    }
  }
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
  const int p = comm.size();
  for (size_t s = 0; s < nsteps; ++s) {
    StepTiming t;
    t.id = plan.steps[s].step->id;
    t.op = plan.steps[s].op->name;
    t.seconds = times[s];
    t.comm_bytes = plan.steps[s].info.comm_bytes;
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

void write_timings(const std::string& path, const Plan& plan, const RunResult& r, int nranks) {
  using nlohmann::ordered_json;
  ordered_json steps = ordered_json::array();
  for (const StepTiming& t : r.steps)
    steps.push_back({{"id", t.id},
                     {"op", t.op},
                     {"seconds", t.seconds},
                     {"comm_bytes", t.comm_bytes},
                     {"peak_rss_bytes", t.peak_rss}});
  const ordered_json j = {{"pipeline", plan.doc->file},
                          {"ranks", nranks},
                          {"seconds", r.seconds},
                          {"startup_seconds", r.startup_seconds},
                          {"steps", steps}};
  const std::string o = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
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
