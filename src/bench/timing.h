// Honest timing for the benchmarks: warm-ups discarded, a barrier before every run, the
// slowest rank's time, median / min / max over the repeats.
#pragma once

#include "core/communicator.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

namespace dnd::bench {

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
    const double t0 = MPI_Wtime();
    fn();
    const double mine = MPI_Wtime() - t0;
    const double slowest = allreduce_value(comm, mine, ReduceOp::max);
    if (i >= 0) t.push_back(slowest);
  }
  return summarize(std::move(t));
}

// Collective over comm: a barrier at which ranks wait without spinning (polling every
// 2 ms), so ranks with nothing to do leave the cores to those that work.
inline void idle_barrier(const Communicator& comm) {
  MPI_Request req;
  DND_MPI_CHECK(MPI_Ibarrier(comm.get(), &req));
  for (int done = 0; !done;) {
    DND_MPI_CHECK(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// Collective over comm: rank 0 alone runs fn (warm-ups, then reps timed runs) while the
// others wait without spinning, so rank 0 has the machine as a one-process run would.
// `before`, when given, runs untimed before each run (on rank 0). Every rank gets rank
// 0's median / min / max.
inline Timing measure_solo(const Communicator& comm, int warmup, int reps, const std::function<void()>& fn,
                           const std::function<void()>& before = {}) {
  std::vector<double> t;
  if (comm.rank() == 0)
    for (int i = -warmup; i < reps; ++i) {
      if (before) before();
      const double t0 = MPI_Wtime();
      fn();
      if (i >= 0) t.push_back(MPI_Wtime() - t0);
    }
  idle_barrier(comm);
  Timing r = summarize(std::move(t));
  double v[3] = {r.median, r.min, r.max};
  DND_MPI_CHECK(MPI_Bcast(v, 3, MPI_DOUBLE, 0, comm.get()));
  return Timing{v[0], v[1], v[2]};
}

}  // namespace dnd::bench
