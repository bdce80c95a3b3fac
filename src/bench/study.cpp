#include "src/bench/study.h"

#include "src/bench/timing.h"
#include "src/core/error.h"

#include <fmt/format.h>
#include <unistd.h>

#include <map>
#include <tuple>

namespace dnd::bench {

void StepClock::step(const std::string& name, const std::function<void()>& fn) {
  const double t0 = now_seconds();
  fn();
  record(name, now_seconds() - t0);
}

void StepClock::record(const std::string& name, double seconds) {
  names_.push_back(name);
  seconds_.push_back(seconds);
}

namespace {

Stats stats_of(const std::vector<double>& v) {
  const Timing t = summarize(v);
  return Stats{t.median, t.min, t.max};
}

std::string seconds_str(double s) {
  if (s < 60) return fmt::format("{:.1f} s", s);
  if (s < 3600) return fmt::format("{}m{:02d}s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return fmt::format("{}h{:02d}m", static_cast<int>(s) / 3600, static_cast<int>(s) % 3600 / 60);
}

// Rank 0's progress: which case, size and repeat, elapsed and an estimate of what is
// left (elapsed per run so far times the runs left; later sizes differ, hence "~").
class Progress {
 public:
  Progress(std::FILE* log, int64_t total_runs)
      : log_(log), tty_(log && isatty(fileno(log))), total_(total_runs), t0_(now_seconds()) {}

  void line(const std::string& text) {
    if (!log_) return;
    clear_live();
    std::fprintf(log_, "%s\n", text.c_str());
    std::fflush(log_);
  }

  // After each run (warm-up or timed) of `label`.
  void run_done(const std::string& label, int i, int warmup, int repeat, double seconds) {
    ++done_;
    if (!log_) return;
    const double now = now_seconds(), elapsed = now - t0_;
    const double left =
        done_ > 0 ? elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_) : 0;
    const std::string what = i < 0 ? fmt::format("warm-up {}/{}", i + warmup + 1, warmup)
                                   : fmt::format("repeat {}/{}", i + 1, repeat);
    const std::string text = fmt::format("{}: {} {:.4g} s | elapsed {}, ~{} left", label, what, seconds,
                                         seconds_str(elapsed), seconds_str(left));
    if (tty_) {
      std::fprintf(log_, "\r\033[K%s", text.c_str());
      live_ = true;
      std::fflush(log_);
    } else if (i == -warmup ||
               now - last_ >= 2.0) {  // a log: each size's first run, then every 2 s at most
      std::fprintf(log_, "%s\n", text.c_str());
      std::fflush(log_);
      last_ = now;
    }
  }

 private:
  void clear_live() {
    if (live_) std::fprintf(log_, "\r\033[K");
    live_ = false;
  }
  std::FILE* log_;
  bool tty_;
  int64_t total_, done_ = 0;
  double t0_, last_ = 0;
  bool live_ = false;
};

}  // namespace

Study run_study(const Communicator& world, const std::vector<Case>& cases, const SweepOptions& o) {
  const bool root = world.rank() == 0;
  int64_t total = 0;
  for (const Case& c : cases)
    for (const std::string& mode : o.modes)
      if (mode == "strong" || c.weak_ok)
        total += static_cast<int64_t>(o.ranks.size()) * (o.warmup + o.repeat);
  Progress progress(root ? o.log : nullptr, total);

  Study s;
  for (const Case& c : cases) {
    CaseInfo info{c.name, c.workload, c.unit, c.unit_doc, c.size_name, c.rank_baseline_name, {}};
    if (o.baselines && c.solo_baseline) {
      progress.line(fmt::format("{}: baseline on one process ...", c.name));
      info.solo = c.solo_baseline(world, o.warmup, o.repeat);
    }
    s.cases.push_back(info);
    for (const std::string& mode : o.modes) {
      if (mode == "weak" && !c.weak_ok) continue;
      for (size_t si = 0; si < o.ranks.size(); ++si) {
        const int p = o.ranks[si];
        const int64_t size = mode == "weak" ? c.size * p : c.size;
        const Communicator sub = world.split(world.rank() < p ? 0 : -1, world.rank());
        Row row;
        row.case_name = c.name;
        row.workload = c.workload;
        row.mode = mode;
        row.ranks = p;
        row.size = size;
        row.unit = c.unit;
        if (!sub.is_null()) {
          const Problem pb = c.make(sub, size);
          row.shape = pb.shape;
          const std::string label = fmt::format("{} {} [{}/{}] {} rank{}", c.name, mode, si + 1,
                                                o.ranks.size(), p, p == 1 ? "" : "s");
          std::vector<std::string> names;
          std::vector<std::vector<double>> step_times;
          StepClock clock;
          double work = pb.work;
          for (int i = -o.warmup; i < o.repeat; ++i) {
            clock.clear();
            if (pb.prepare) pb.prepare();
            barrier(sub);
            const double t0 = now_seconds();
            pb.run(clock);
            std::vector<double> v = clock.seconds();
            v.push_back(now_seconds() - t0);
            // One collective per run: the slowest rank's total and steps.
            at::Tensor vt = at::from_blob(v.data(), {static_cast<int64_t>(v.size())}, at::kDouble);
            allreduce_(sub, vt, ReduceOp::max);
            if (names.empty()) {
              names = clock.names();
              step_times.resize(names.size());
            }
            DND_ASSERT(clock.names() == names, c.name + ": a run's steps differ from the first run's");
            if (clock.work() > 0) work = clock.work();
            if (i >= 0) {
              row.times.push_back(v.back());
              for (size_t k = 0; k < names.size(); ++k) step_times[k].push_back(v[k]);
            }
            progress.run_done(label, i, o.warmup, o.repeat, v.back());
          }
          row.t = stats_of(row.times);
          for (size_t k = 0; k < names.size(); ++k)
            row.steps.push_back(StepStats{names[k], stats_of(step_times[k])});
          double figure_s = row.t.median;
          if (!pb.figure_step.empty()) {
            figure_s = kNaN;
            for (const StepStats& st : row.steps)
              if (st.name == pb.figure_step) figure_s = st.t.median;
            DND_ASSERT(!std::isnan(figure_s), c.name + ": no step '" + pb.figure_step + "' to count");
          }
          if (work > 0) row.value = work / figure_s / c.unit_scale;
          double tb = kNaN;
          if (pb.baseline) {
            tb = pb.baseline(o.warmup, o.repeat);
            row.baseline_name = c.rank_baseline_name;
            if (work > 0 && tb > 0) row.baseline_value = work / tb / c.unit_scale;
          } else if (!info.solo.name.empty()) {
            row.baseline_name = info.solo.name;
            row.baseline_value = info.solo.value;
          }
          if (row.value > 0 && row.baseline_value > 0) row.vs_baseline = row.value / row.baseline_value;
          if (pb.extras) row.extras = pb.extras(row, tb);
          std::string fig;
          if (!std::isnan(row.value)) fig = fmt::format(", {:.3g} {}", row.value, c.unit);
          progress.line(fmt::format("{}: median {:.4g} s (min {:.4g}, max {:.4g}){}", label,
                                    row.t.median, row.t.min, row.t.max, fig));
        }
        // The ranks outside the sub-communicator wait here without spinning.
        idle_barrier(world);
        if (root) s.rows.push_back(std::move(row));
      }
    }
  }
  if (root) derive_scaling(s);
  return s;
}

void derive_scaling(Study& s) {
  std::map<std::pair<std::string, std::string>, const Row*> first;
  for (Row& r : s.rows) {
    auto [it, fresh] = first.emplace(std::make_pair(r.case_name, r.mode), &r);
    const Row& f = *it->second;
    const double k = static_cast<double>(r.ranks) / f.ranks;
    r.speedup = r.mode == "weak" ? k * f.t.median / r.t.median : f.t.median / r.t.median;
    r.efficiency = r.speedup / k;
  }
}

void compare_with(Study& s, const Study& old) {
  std::map<std::tuple<std::string, std::string, int>, double> olds;
  for (const Row& r : old.rows) olds[{r.case_name, r.mode, r.ranks}] = r.t.median;
  for (Row& r : s.rows) {
    auto it = olds.find({r.case_name, r.mode, r.ranks});
    if (it == olds.end()) continue;
    r.old_median = it->second;
    r.ratio = r.t.median / r.old_median;
  }
}

}  // namespace dnd::bench
