// Baselines that benchmark figures are set against, measured in the same run: shared by
// the dnd-bench-* programs and `dnd bench`.
#pragma once

#include "bench/timing.h"

#include <cstdint>
#include <string>

namespace dnd::bench {

// STREAM triad a[i] = b[i] + s * c[i]: the memory bandwidth one core reaches. Cloned for
// the widest vector unit the CPU has (torch's kernels dispatch the same way), so the
// baseline is not handicapped by the portable SSE2 default.
void triad(float* a, const float* b, const float* c, float s, int64_t n);

// Collective over comm: MPI_Alltoall in which every rank sends `bytes_per_rank` bytes
// (as float32), an equal share to every rank, itself included.
Timing alltoall(const Communicator& comm, int64_t bytes_per_rank, int warmup, int reps);

}  // namespace dnd::bench
