// dnd-bench-movement: data movement against MPI_Alltoall of the same bytes, in one run.
//
//   mpirun -n 2 build/dnd-bench-movement [--n 8192]
//
// For a float32 n x n array: resplit 0 -> 1, resplit 1 -> 0, reshape (n, n) split 0 ->
// (n/2, 2n) split 1 (the general path), reshape to (n*n,) split 0 (the contiguous path),
// and transpose. Each is reported as GB/s per rank of the bytes a rank must send to
// others ((p-1)/p of its block), next to MPI_Alltoall moving the same bytes, and with the
// peak resident memory during the operation in units of the local block (input and
// output included). Times: slowest rank, median of repeats after a warm-up.
#include "src/core/communicator.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "src/core/memory.h"
#include "src/core/runtime.h"
#include "src/core/shape_ops.h"
#include "src/bench/baselines.h"
#include "src/bench/timing.h"

#include <ATen/ATen.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

using namespace dnd;
using bench::peak_extra_bytes;

int main(int argc, char** argv) {
  CLI::App app{"dnd data-movement benchmark: resplit / reshape vs MPI_Alltoall"};
  int64_t n = 8192;
  int reps = 5, warmup = 1, threads = 1;
  app.add_option("--n", n, "the array is n x n float32")->capture_default_str();
  app.add_option("--repeat", reps, "timed repeats")->capture_default_str();
  app.add_option("--threads", threads, "torch threads per rank")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  Runtime runtime(&argc, &argv, RuntimeOptions{threads, false});
  const Communicator comm = Communicator::world();
  const int p = comm.size();
  DNDarray a0 = random_uniform({n, n}, 1, 0, 1, {0});
  DNDarray a1 = resplit(a0, 1);
  const double block = static_cast<double>(a0.lnbytes());
  const double moved = block * (p - 1) / p;

  // MPI_Alltoall of the same bytes: each rank sends block / p to every rank.
  const double t_a2a = bench::alltoall(comm, a0.lnbytes(), warmup, reps).median;

  struct Row {
    std::string name;
    std::function<void()> fn;
  };
  std::vector<Row> ops = {
      {"resplit 0 -> 1", [&] { DNDarray r = resplit(a0, 1); }},
      {"resplit 1 -> 0", [&] { DNDarray r = resplit(a1, 0); }},
      {"reshape (n/2, 2n) split 1",
       [&] {
         DNDarray r = reshape(a0, {n / 2, 2 * n}, Split(1));
       }},
      {"reshape (n*n,) split 0", [&] { DNDarray r = reshape(a0, {n * n}); }},
      {"transpose (local)", [&] { DNDarray r = transpose(a0); }},
  };
  if (comm.rank() == 0) {
    fmt::print(
        "dnd-bench-movement: {} ranks, {} x {} float32, local block {:.1f} MiB, {:.1f} MiB sent per "
        "rank\n",
        p, n, n, block / (1 << 20), moved / (1 << 20));
    fmt::print("{:<28} {:>10} {:>12} {:>14} {:>16}\n", "operation", "median s", "GB/s/rank",
               "vs alltoall", "peak / block");
    fmt::print("{:<28} {:>10.4f} {:>12.2f} {:>14} {:>16}\n", "MPI_Alltoall (baseline)", t_a2a,
               moved / t_a2a / 1e9, "100%", "-");
  }
  for (const Row& r : ops) {
    const double t = bench::measure(comm, warmup, reps, r.fn).median;
    // The input block is resident already; peak counts it plus what the operation adds.
    const int64_t extra = peak_extra_bytes(r.fn);
    const double peak =
        (block + static_cast<double>(allreduce_value(comm, extra, ReduceOp::max))) / block;
    if (comm.rank() == 0) {
      if (r.name.find("local") != std::string::npos)  // no communication: the ratio means nothing
        fmt::print("{:<28} {:>10.4f} {:>12} {:>14} {:>15.2f}x\n", r.name, t, "-", "-", peak);
      else
        fmt::print("{:<28} {:>10.4f} {:>12.2f} {:>13.0f}% {:>15.2f}x\n", r.name, t, moved / t / 1e9,
                   100 * t_a2a / t, peak);
    }
  }
  return 0;
}
