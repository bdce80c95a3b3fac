// Honest timing for the benchmarks: warm-ups discarded, a barrier before every run, the
// slowest rank's time, median / min / max over the repeats.
#pragma once

#include "core/communicator.h"

#include <mpi.h>

#include <algorithm>
#include <functional>
#include <vector>

namespace dnd::bench {

struct Timing {
  double median = 0, min = 0, max = 0;
};

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
  std::sort(t.begin(), t.end());
  return Timing{t[t.size() / 2], t.front(), t.back()};
}

}  // namespace dnd::bench
