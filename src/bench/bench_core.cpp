// dnd-bench-core: memory-bound core operations against their baselines, in one run.
//
//   mpirun -n 1 build/dnd-bench-core      (then -n 2)
//
// For float32 arrays of 2^26 elements split along axis 0 it measures, per rank:
//   triad      STREAM-style a[i] = b[i] + s * c[i] over the rank's block (plain loop):
//              the memory bandwidth one core reaches, the ceiling for the rest;
//   torch      the same expression with plain torch on one process (rank 0 alone, the
//              whole array, torch's own allocator): what a torch user gets;
//   dnd        a * b + c on the split arrays (two kernels, caching allocator), the
//              fused multiply_add, and a * b + c with the system allocator;
//   sum        a reduction over the split axis (local sum + allreduce) next to torch's
//              sum of the whole array on one process;
//   axis 0     sum, mean, max, var over axis 0 of a 2-D array split 0 (the column kernels)
//              next to torch's sum(0) of the whole array on one process;
//   random     random.uniform, random.normal, random.integers (int32) of 2^log2n values
//              next to torch's rand, randn, randint on one process (4 bytes per value);
//   allreduce  64 MiB float32 allreduce bandwidth (the collective dnd's reductions use).
// Effective GB/s counts the bytes an ideal kernel moves: 16 per element for a*b+c (three
// reads, one write), 12 for the triad, 4 for a sum. Times are the slowest rank's,
// median over repeats after warm-ups. Rank 0 prints a table and one CSV line per figure.
#include "src/core/communicator.h"
#include "src/core/elementwise.h"
#include "src/core/factories.h"
#include "src/core/memory.h"
#include "src/core/reductions.h"
#include "src/core/runtime.h"
#include "src/bench/baselines.h"
#include "src/bench/timing.h"

#include <ATen/ATen.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <vector>

using namespace dnd;
using dnd::bench::measure;
using dnd::bench::Timing;

using dnd::bench::triad;

int main(int argc, char** argv) {
  CLI::App app{"dnd core benchmark: elementwise and reductions vs triad and single-process torch"};
  int log2n = 26, reps = 20, warmup = 3, threads = 1;
  app.add_option("--log2n", log2n, "global elements = 2^log2n")->capture_default_str();
  app.add_option("--repeat", reps, "timed repeats")->capture_default_str();
  app.add_option("--warmup", warmup, "discarded warm-up runs")->capture_default_str();
  app.add_option("--threads", threads, "torch threads per rank")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  Runtime runtime(&argc, &argv, RuntimeOptions{threads, false});
  const Communicator comm = Communicator::world();
  const int p = comm.size(), rank = comm.rank();
  const int64_t n = int64_t{1} << log2n;
  const double gb = 1e9;

  DNDarray a = random_uniform({n}, 1, 0, 1, {0});
  DNDarray b = random_uniform({n}, 2, 0, 1, {0});
  DNDarray c = random_uniform({n}, 3, 0, 1, {0});
  const int64_t nl = a.larray().numel();

  struct Row {
    std::string name;
    Timing t;
    double bytes;  // per rank
    std::string note;
  };
  std::vector<Row> rows;

  // Triad on this rank's block, buffers touched once before timing.
  {
    at::Tensor ta = at::empty({nl}, at::kFloat).zero_();
    const float* pb = b.larray().data_ptr<float>();
    const float* pc = c.larray().data_ptr<float>();
    float* pa = ta.data_ptr<float>();
    Timing t = measure(comm, warmup, reps, [&] { triad(pa, pb, pc, 3.0f, nl); });
    rows.push_back(
        {"triad (per rank, 1 thread)", t, 12.0 * static_cast<double>(nl), "baseline: memory bandwidth"});
  }

  // Plain torch on one process: the whole array on rank 0 with torch's own allocator.
  {
    memory::set_caching(false);
    at::Tensor fa, fb, fc;
    if (rank == 0) {
      fa = at::rand({n}), fb = at::rand({n}), fc = at::rand({n});
    }
    Timing t = measure(comm, warmup, reps, [&] {
      if (rank == 0) {
        at::Tensor r = fa * fb + fc;
      }
    });
    rows.push_back(
        {"torch a*b+c, 1 process", t, 16.0 * static_cast<double>(n), "baseline: plain torch"});
    Timing ts = measure(comm, warmup, reps, [&] {
      if (rank == 0) {
        at::Tensor r = fa.sum();
      }
    });
    rows.push_back({"torch sum, 1 process", ts, 4.0 * static_cast<double>(n), "baseline: plain torch"});
    memory::set_caching(true);
  }

  // dnd with the caching allocator (the default).
  {
    Timing t = measure(comm, warmup, reps, [&] { DNDarray r = a * b + c; });
    rows.push_back({"dnd a*b+c", t, 16.0 * static_cast<double>(nl), "split=0, caching allocator"});
    Timing tf = measure(comm, warmup, reps, [&] { DNDarray r = multiply_add(a, b, c); });
    rows.push_back({"dnd multiply_add(a,b,c)", tf, 16.0 * static_cast<double>(nl), "fused, one pass"});
    memory::set_caching(false);
    memory::release_cached();
    Timing ts = measure(comm, warmup, reps, [&] { DNDarray r = a * b + c; });
    rows.push_back(
        {"dnd a*b+c, system allocator", ts, 16.0 * static_cast<double>(nl), "fresh pages every time"});
    memory::set_caching(true);
    Timing tsum = measure(comm, warmup, reps, [&] { DNDarray r = sum(a); });
    rows.push_back(
        {"dnd sum over split axis", tsum, 4.0 * static_cast<double>(nl), "local sum + allreduce"});
  }

  // Reductions over the split axis of a square (2^(log2n/2) rows) array, split 0: the
  // column kernels, next to torch's sum(0) of the whole array on one process.
  {
    const int64_t side = int64_t{1} << (log2n / 2), other = n / side;
    DNDarray m = random_uniform({side, other}, 4, 0, 1, {0});
    const double mb = 4.0 * static_cast<double>(m.larray().numel());
    Timing t0 = measure(comm, warmup, reps, [&] { DNDarray r = sum(m, axis(0)); });
    rows.push_back({"dnd sum axis 0 (2-D, split 0)", t0, mb, "column kernel + allreduce"});
    Timing t1 = measure(comm, warmup, reps, [&] { DNDarray r = mean(m, axis(0)); });
    rows.push_back({"dnd mean axis 0", t1, mb, ""});
    Timing t2 = measure(comm, warmup, reps, [&] { DNDarray r = dnd::max(m, axis(0)); });
    rows.push_back({"dnd max axis 0", t2, mb, "NaN-propagating"});
    Timing t3 = measure(comm, warmup, reps, [&] { DNDarray r = var(m, axis(0)); });
    rows.push_back({"dnd var axis 0", t3, 2 * mb, "two passes (bytes counted twice)"});
    memory::set_caching(false);
    at::Tensor whole;
    if (rank == 0) whole = at::rand({side, other});
    Timing tt = measure(comm, warmup, reps, [&] {
      if (rank == 0) {
        at::Tensor r = whole.sum(0);
      }
    });
    rows.push_back(
        {"torch sum(0), 1 process", tt, 4.0 * static_cast<double>(n), "baseline: plain torch"});
    whole = at::Tensor();
    memory::set_caching(true);
  }

  // Random numbers, 4 bytes per float32 value written (GB/s / 4 = G values/s): dnd on
  // the split array next to torch's generators on one process.
  {
    const double ob = 4.0 * static_cast<double>(nl);
    Timing tu =
        measure(comm, 1, std::max(3, reps / 4), [&] { DNDarray r = random_uniform({n}, 5, 0, 1, {0}); });
    rows.push_back({"dnd random.uniform", tu, ob, "float32, Philox, counter-based"});
    Timing tn =
        measure(comm, 1, std::max(3, reps / 4), [&] { DNDarray r = random_normal({n}, 6, 0, 1, {0}); });
    rows.push_back({"dnd random.normal", tn, ob, "float32, Box-Muller"});
    Timing ti = measure(comm, 1, std::max(3, reps / 4), [&] {
      DNDarray r = random_integers({n}, 7, 0, 100, {0, at::kInt});
    });
    rows.push_back({"dnd random.integers", ti, ob, "int32 in [0, 100)"});
    memory::set_caching(false);
    const double wb = 4.0 * static_cast<double>(n);
    auto solo = [&](const std::function<void()>& f) {
      return measure(comm, 1, std::max(3, reps / 4), [&] {
        if (rank == 0) f();
      });
    };
    rows.push_back({"torch rand, 1 process", solo([&] { at::Tensor r = at::rand({n}); }), wb,
                    "baseline: plain torch"});
    rows.push_back({"torch randn, 1 process", solo([&] { at::Tensor r = at::randn({n}); }), wb,
                    "baseline: plain torch"});
    rows.push_back({"torch randint, 1 process",
                    solo([&] { at::Tensor r = at::randint(0, 100, {n}, at::kInt); }), wb,
                    "baseline: plain torch"});
    memory::set_caching(true);
  }

  // Point-to-point bandwidth: every rank sends 64 MiB to its right neighbour.
  if (p > 1) {
    at::Tensor out = at::ones({16 << 20}, at::kFloat), in = at::zeros({16 << 20}, at::kFloat);
    Timing t = measure(comm, 1, std::max(3, reps / 2), [&] {
      std::vector<at::Tensor> sends(static_cast<size_t>(p)), recvs(static_cast<size_t>(p));
      sends[static_cast<size_t>((rank + 1) % p)] = out;
      recvs[static_cast<size_t>((rank + p - 1) % p)] = in;
      exchange(comm, sends, recvs);
    });
    rows.push_back({"MPI send/recv 64 MiB", t, 64.0 * (1 << 20), "baseline: link bandwidth"});
  }

  // Allreduce bandwidth of 64 MiB.
  if (p > 1) {
    at::Tensor buf = at::ones({16 << 20}, at::kFloat);
    Timing t = measure(comm, 1, std::max(3, reps / 2), [&] { allreduce_(comm, buf, ReduceOp::sum); });
    rows.push_back({"MPI allreduce 64 MiB", t, 64.0 * (1 << 20), "reduce-scatter + allgather"});
  }

  if (rank == 0) {
    fmt::print(
        "dnd-bench-core: {} ranks, {} torch thread(s) per rank, 2^{} float32 elements ({} per rank on "
        "rank 0)\n",
        p, threads, log2n, nl);
    fmt::print("{:<30} {:>10} {:>10} {:>10} {:>12}  {}\n", "measure", "median s", "min s", "max s",
               "GB/s/rank", "note");
    double triad_bw = rows[0].bytes / rows[0].t.median / gb;
    for (const Row& r : rows) {
      const double bw = r.bytes / r.t.median / gb;
      fmt::print(
          "{:<30} {:>10.5f} {:>10.5f} {:>10.5f} {:>12.2f}  {}{}\n", r.name, r.t.median, r.t.min, r.t.max,
          bw, r.note,
          r.name.rfind("dnd", 0) == 0 ? fmt::format(" ({:.0f}% of triad)", 100 * bw / triad_bw) : "");
    }
    fmt::print(
        "\n# csv: bench,version,ranks,threads,log2n,measure,median_s,min_s,max_s,gbps_per_rank\n");
    for (const Row& r : rows)
      fmt::print("bench_core,1,{},{},{},{},{:.6f},{:.6f},{:.6f},{:.3f}\n", p, threads, log2n, r.name,
                 r.t.median, r.t.min, r.t.max, r.bytes / r.t.median / gb);
  }
  return 0;
}
