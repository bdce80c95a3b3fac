#include "src/bench/study.h"

#include "src/bench/timing.h"
#include "src/core/comm_count.h"
#include "src/core/error.h"

#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <thread>
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
          std::vector<size_t> timed;  // indices of pb.timed_steps in names
          StepClock clock;
          double work = pb.work;
          int64_t sent = 0;  // counted (comm_count.h) in the last run, this rank
          for (int i = -o.warmup; i < o.repeat; ++i) {
            clock.clear();
            if (pb.prepare) pb.prepare();
            barrier(sub);
            const double t0 = now_seconds();
            const int64_t sent0 = comm_count().sent;
            pb.run(clock);
            sent = comm_count().sent - sent0;
            std::vector<double> v = clock.seconds();
            v.push_back(now_seconds() - t0);
            // One collective per run: the slowest rank's total and steps.
            at::Tensor vt = at::from_blob(v.data(), {static_cast<int64_t>(v.size())}, at::kDouble);
            allreduce_(sub, vt, ReduceOp::max);
            if (names.empty()) {
              names = clock.names();
              step_times.resize(names.size() + (pb.rest_step.empty() ? 0 : 1));
              for (const std::string& t : pb.timed_steps) {
                const size_t k =
                    static_cast<size_t>(std::find(names.begin(), names.end(), t) - names.begin());
                DND_ASSERT(k < names.size(), c.name + ": no step '" + t + "' to time");
                timed.push_back(k);
              }
            }
            DND_ASSERT(clock.names() == names, c.name + ": a run's steps differ from the first run's");
            if (clock.work() > 0) work = clock.work();
            const double run_s = v.back();
            double rest = run_s, figure = run_s;
            for (size_t k = 0; k < names.size(); ++k) rest -= v[k];
            if (!timed.empty()) {
              figure = 0;
              for (size_t k : timed) figure += v[k];
            }
            if (i >= 0) {
              row.times.push_back(figure);
              if (!timed.empty()) row.run_times.push_back(run_s);
              for (size_t k = 0; k < names.size(); ++k) step_times[k].push_back(v[k]);
              if (!pb.rest_step.empty()) step_times.back().push_back(rest);
            }
            progress.run_done(label, i, o.warmup, o.repeat, figure);
          }
          row.t = stats_of(row.times);
          if (!row.run_times.empty()) row.run = stats_of(row.run_times);
          if (!pb.rest_step.empty()) names.push_back(pb.rest_step);
          for (size_t k = 0; k < names.size(); ++k)
            row.steps.push_back(StepStats{names[k], stats_of(step_times[k]), step_times[k]});
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
          // What one run moved between ranks, as the MPI layer counted it (busiest rank).
          row.extras.push_back(
              Extra{"MB sent / rank (counted)",
                    static_cast<double>(allreduce_value(sub, sent, ReduceOp::max)) / 1e6});
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

// ---- the machine ---------------------------------------------------------------------------

namespace {

// The CPUs of a cgroup's quota (cgroup v2 cpu.max, else v1 cfs_quota_us / cfs_period_us),
// rounded up; 0 when there is none. A container limited to 2 CPUs of 64 shows all 64 in
// its affinity mask.
int cgroup_quota() {
  double quota = -1, period = 0;
  if (std::ifstream f("/sys/fs/cgroup/cpu.max"); f) {
    std::string q;
    if (f >> q >> period && q != "max") quota = std::atof(q.c_str());
  } else {
    std::ifstream fq("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), fp("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
    if (!(fq >> quota && fp >> period)) quota = -1;
  }
  if (!(quota > 0 && period > 0)) return 0;
  return std::max(1, static_cast<int>(std::ceil(quota / period - 1e-9)));
}

std::string host_name() {
  char h[256] = {0};
  gethostname(h, sizeof(h) - 1);
  return h;
}

// A place as int64 words for one allgather: cpus, quota, the host name (kHostWords
// words) and the affinity mask (kMaskWords words of 64 CPUs each).
constexpr size_t kHostWords = 32, kMaskWords = CPU_SETSIZE / 64;

}  // namespace

RankPlace this_place() {
  RankPlace p;
  p.host = host_name();
  p.cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) p.allowed.push_back(c);
  } else {
    for (int c = 0; c < p.cpus; ++c) p.allowed.push_back(c);
  }
  p.quota = cgroup_quota();
  return p;
}

std::vector<RankPlace> gather_places(const Communicator& comm) {
  const RankPlace me = this_place();
  std::vector<int64_t> w(2 + kHostWords + kMaskWords, 0);
  w[0] = me.cpus;
  w[1] = me.quota;
  for (size_t i = 0; i < me.host.size() && i < kHostWords * 8 - 1; ++i)
    w[2 + i / 8] |= static_cast<int64_t>(static_cast<unsigned char>(me.host[i])) << (8 * (i % 8));
  for (int c : me.allowed) w[2 + kHostWords + c / 64] |= int64_t{1} << (c % 64);
  const std::vector<int64_t> all = allgather_values(comm, w);
  std::vector<RankPlace> places;
  for (size_t r = 0; r < all.size() / w.size(); ++r) {
    const int64_t* x = all.data() + r * w.size();
    RankPlace p;
    p.cpus = static_cast<int>(x[0]);
    p.quota = static_cast<int>(x[1]);
    for (size_t i = 0; i < kHostWords * 8; ++i) {
      const char ch = static_cast<char>((x[2 + i / 8] >> (8 * (i % 8))) & 0xff);
      if (ch == 0) break;
      p.host += ch;
    }
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if ((x[2 + kHostWords + c / 64] >> (c % 64)) & 1) p.allowed.push_back(c);
    places.push_back(std::move(p));
  }
  return places;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  // x86 names it "model name"; some other architectures "cpu model" or "Processor".
  for (int n = 0; n < 10000 && std::getline(f, line); ++n)
    for (const char* key : {"model name", "cpu model", "Processor"})
      if (line.rfind(key, 0) == 0) {
        const size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        const size_t b = line.find_first_not_of(" \t", colon + 1);
        if (b != std::string::npos) return line.substr(b);
      }
  return "unknown";
}

void place_rows(Study& s, const std::vector<RankPlace>& places, int threads) {
  int most = 0;
  for (Row& r : s.rows) {
    most = std::max(most, r.ranks);
    // Per host: its ranks and the CPUs they may use together.
    std::map<std::string, std::pair<int, std::set<int>>> nodes;
    std::map<std::string, int> quota;
    for (int k = 0; k < r.ranks && k < static_cast<int>(places.size()); ++k) {
      const RankPlace& p = places[static_cast<size_t>(k)];
      auto& [n, cpus] = nodes[p.host];
      ++n;
      cpus.insert(p.allowed.begin(), p.allowed.end());
      if (p.quota > 0) {
        auto q = quota.find(p.host);
        if (q == quota.end())
          quota.emplace(p.host, p.quota);
        else
          q->second = std::min(q->second, p.quota);
      }
    }
    // The node most over (or least under) its cores.
    double worst = -1;
    for (const auto& [host, nc] : nodes) {
      int cores = std::max(1, static_cast<int>(nc.second.size()));
      if (quota.count(host)) cores = std::min(cores, quota[host]);
      const double load = static_cast<double>(nc.first) * std::max(1, threads) / cores;
      if (load > worst) {
        worst = load;
        r.node_ranks = nc.first;
        r.node_cores = cores;
      }
    }
    r.oversubscribed = static_cast<int64_t>(r.node_ranks) * std::max(1, threads) > r.node_cores;
  }
  std::set<std::string> hosts;
  for (int k = 0; k < most && k < static_cast<int>(places.size()); ++k)
    hosts.insert(places[static_cast<size_t>(k)].host);
  s.context.hosts.assign(hosts.begin(), hosts.end());
  s.context.nodes = static_cast<int>(hosts.size());
}

std::string oversubscription_warning(const Study& s) {
  std::vector<int> at;
  int ranks = 0, cores = 0;
  for (const Row& r : s.rows)
    if (r.oversubscribed && std::find(at.begin(), at.end(), r.ranks) == at.end()) {
      at.push_back(r.ranks);
      if (ranks == 0) std::tie(ranks, cores) = std::make_pair(r.node_ranks, r.node_cores);
    }
  if (at.empty()) return "";
  std::sort(at.begin(), at.end());
  std::string list;
  for (size_t i = 0; i < at.size(); ++i)
    list += (i == 0 ? "" : i + 1 == at.size() ? " and " : ", ") + std::to_string(at[i]);
  const int t = s.context.threads;
  // The part before "; " is the plots' first line of it.
  return fmt::format(
      "WARNING: oversubscribed at {} rank{}: {} rank{} x {} thread{} per rank on a node with {} "
      "core{} for them; ranks that share cores measure the sharing, not how dnd scales (use fewer "
      "ranks or threads per rank, or more nodes)",
      list, at.size() == 1 && at[0] == 1 ? "" : "s", ranks, ranks == 1 ? "" : "s", t, t == 1 ? "" : "s",
      cores, cores == 1 ? "" : "s");
}

}  // namespace dnd::bench
