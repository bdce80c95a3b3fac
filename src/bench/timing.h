// Honest timing for the benchmarks: warm-ups discarded, a barrier before every run, the
// slowest rank's time, median / min / max over the repeats.
#pragma once

#include "src/core/collectives.h"
#include "src/core/communicator.h"

#include <ATen/core/Tensor.h>
#include <ATen/ops/from_blob.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

namespace dnd::bench {

// Seconds on a monotonic clock (differences only).
inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Timing {
  double median = 0, min = 0, max = 0;
};

// Median (the mean of the middle two for an even count) / min / max of samples.
inline Timing summarize(std::vector<double> t) {
  if (t.empty()) return {};
  std::sort(t.begin(), t.end());
  const size_t h = t.size() / 2;
  return Timing{t.size() % 2 ? t[h] : (t[h - 1] + t[h]) / 2, t.front(), t.back()};
}

// Collective over comm: runs fn warmup + reps times.
inline Timing measure(const Communicator& comm, int warmup, int reps, const std::function<void()>& fn) {
  std::vector<double> t;
  for (int i = -warmup; i < reps; ++i) {
    barrier(comm);
    const double t0 = now_seconds();
    fn();
    const double mine = now_seconds() - t0;
    const double slowest = allreduce_value(comm, mine, ReduceOp::max);
    if (i >= 0) t.push_back(slowest);
  }
  return summarize(std::move(t));
}

// idle_barrier(comm): core/collectives.h.

// Collective over comm: rank 0 alone runs fn (warm-ups, then reps timed runs) while the
// others wait without spinning, so rank 0 has the machine as a one-process run would.
// `before`, when given, runs untimed before each run (on rank 0). Every rank gets rank
// 0's median / min / max.
inline Timing measure_solo(const Communicator& comm, int warmup, int reps,
                           const std::function<void()>& fn, const std::function<void()>& before = {}) {
  std::vector<double> t;
  if (comm.rank() == 0)
    for (int i = -warmup; i < reps; ++i) {
      if (before) before();
      const double t0 = now_seconds();
      fn();
      if (i >= 0) t.push_back(now_seconds() - t0);
    }
  idle_barrier(comm);
  Timing r = summarize(std::move(t));
  double v[3] = {r.median, r.min, r.max};
  at::Tensor vt = at::from_blob(v, {3}, at::kDouble);
  broadcast_(comm, vt, 0);
  return Timing{v[0], v[1], v[2]};
}

}  // namespace dnd::bench
