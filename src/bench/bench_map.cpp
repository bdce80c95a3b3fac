// dnd-bench-map: op: map and halos against their baselines, in one run.
//
//   mpirun -n 1 build/dnd-bench-map      (then -n 2)
//
//   map        a pipeline step `op: map` with fn "x * 2.0 + 1.0" on 2^26 float32 elements
//              per rank (TorchScript, the executor's step time) next to the same
//              expression called from C++ on the same block (x * 2.0 + 1.0 with at::Tensor);
//   halo       get_halo of h rows on each side of a (rows, 8192) float32 array split 0,
//              next to raw MPI Isend/Irecv of the same bytes with the same neighbours
//              (point-to-point bandwidth), for h = 1 and h = 1024 (32 MiB per side);
//   compile    validate time of a typical map step (TorchScript compilation and the two
//              probe runs that infer its result) next to planning the same pipeline
//              without it.
// Times are the slowest rank's, median over repeats after warm-ups.
#include "src/bench/timing.h"
#include "src/core/communicator.h"
#include "src/core/factories.h"
#include "src/core/halo.h"
#include "src/core/runtime.h"
#include "src/pipeline/execute.h"

#include <ATen/ATen.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <vector>

using namespace dnd;
using dnd::bench::measure;
using dnd::bench::summarize;
using dnd::bench::Timing;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

const char* kNormalise = R"~(
      def normalise(x: Tensor, s1: Tensor, s2: Tensor, n: int, clip: float) -> Tensor:
          mu = s1 / n
          sd = torch.sqrt(s2 / n - mu * mu)
          return ((x - mu) / sd).clamp(-clip, clip)
)~";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "dnd map benchmark: TorchScript map vs C++, halo exchange vs point-to-point, compile time"};
  int log2n = 26, reps = 10, warmup = 2, threads = 1;
  int64_t cols = 8192;
  app.add_option("--log2n", log2n, "elements per rank = 2^log2n")->capture_default_str();
  app.add_option("--repeat", reps, "timed repeats")->capture_default_str();
  app.add_option("--warmup", warmup, "discarded warm-up runs")->capture_default_str();
  app.add_option("--threads", threads, "torch threads per rank")->capture_default_str();
  app.add_option("--cols", cols, "row length (float32) of the halo arrays")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  Runtime runtime(&argc, &argv, RuntimeOptions{threads, false});
  const Communicator comm = Communicator::world();
  const int p = comm.size(), rank = comm.rank();
  const int64_t per_rank = int64_t{1} << log2n;
  std::FILE* devnull = std::fopen("/dev/null", "w");
  struct Row {
    std::string name;
    double value;
    std::string unit;
    std::string baseline;
    double base;
  };
  std::vector<Row> rows;

  // ---- map x * 2 + 1 vs the same expression from C++ ---------------------------------------
  {
    const std::string yaml = fmt::format(R"~(version: 1
steps:
  - {{id: x, op: random.uniform, shape: [{}], split: 0, seed: 1}}
  - {{id: y, op: map, input: x, fn: "def f(x: Tensor) -> Tensor: return x * 2.0 + 1.0"}}
)~",
                                         per_rank * p);
    const pipeline::Document doc = pipeline::parse_document(yaml, "bench.yaml");
    const pipeline::Plan plan = pipeline::make_plan(doc, p);
    pipeline::RunOptions o;
    o.quiet = true;
    o.out = devnull;
    // Interleaved, so that both see the same machine (other work on it drifts).
    const DNDarray x = random_uniform({per_rank * p}, 1, 0, 1, {0});
    const at::Tensor xl = x.larray();
    std::vector<double> t, tcs;
    for (int i = -warmup; i < reps; ++i) {
      const pipeline::RunResult r = pipeline::execute(plan, comm, o);
      barrier(comm);
      const double t0 = MPI_Wtime();
      { at::Tensor y = xl * 2.0 + 1.0; }
      const double tc = allreduce_value(comm, MPI_Wtime() - t0, ReduceOp::max);
      if (i >= 0) {
        t.push_back(r.steps[1].seconds);
        tcs.push_back(tc);
      }
    }
    const Timing tm = summarize(t), tc = summarize(tcs);
    const double bytes = 8.0 * static_cast<double>(per_rank);  // read 4, write 4 (ideal)
    rows.push_back({"map x*2+1 (TorchScript)", bytes / tm.median / 1e9, "GB/s/rank", "C++ x*2.0+1.0",
                    bytes / tc.median / 1e9});
    if (rank == 0)
      fmt::print("CSV,map,ranks={},elements_per_rank={},map_s={:.6f},cpp_s={:.6f},ratio={:.3f}\n", p,
                 per_rank, tm.median, tc.median, tc.median / tm.median);
  }

  // ---- halo exchange vs point-to-point ------------------------------------------------------
  if (p > 1) {
    for (int64_t h : {int64_t{1}, int64_t{1024}}) {
      const int64_t rows_per_rank = std::max<int64_t>(2 * h, 2048);
      const DNDarray a = random_uniform({rows_per_rank * p, cols}, 2, 0, 1, {0});
      const Timing th = measure(comm, warmup, reps, [&] { Halo halo = get_halo(a, h, Boundary::none); });
      // The same bytes with raw MPI: h rows to and from each neighbour that exists.
      const int64_t n = h * cols;
      at::Tensor sl = at::ones({n}), sr = at::ones({n}), rl = at::empty({n}), rr = at::empty({n});
      const Timing tp = measure(comm, warmup, reps, [&] {
        std::vector<MPI_Request> req;
        auto post = [&](bool send, at::Tensor& t, int peer) {
          MPI_Request q;
          if (send)
            MPI_Isend(t.data_ptr(), static_cast<int>(n), MPI_FLOAT, peer, 7, comm.get(), &q);
          else
            MPI_Irecv(t.data_ptr(), static_cast<int>(n), MPI_FLOAT, peer, 7, comm.get(), &q);
          req.push_back(q);
        };
        if (rank > 0) post(false, rl, rank - 1);
        if (rank + 1 < p) post(false, rr, rank + 1);
        if (rank > 0) post(true, sl, rank - 1);
        if (rank + 1 < p) post(true, sr, rank + 1);
        MPI_Waitall(static_cast<int>(req.size()), req.data(), MPI_STATUSES_IGNORE);
      });
      // Bytes the busiest rank receives (an interior rank gets both halos).
      const double bytes = (p > 2 ? 2.0 : 1.0) * static_cast<double>(n) * 4.0;
      rows.push_back({fmt::format("halo h={} ({} KiB per side)", h, n * 4 / 1024),
                      bytes / th.median / 1e9, "GB/s/rank", "MPI Isend/Irecv same bytes",
                      bytes / tp.median / 1e9});
      if (rank == 0)
        fmt::print("CSV,halo,ranks={},h={},bytes_per_side={},halo_s={:.6f},p2p_s={:.6f},ratio={:.3f}\n",
                   p, h, n * 4, th.median, tp.median, tp.median / th.median);
    }
  }

  // ---- compile time of a typical fn ----------------------------------------------------------
  {
    const std::string base = R"~(version: 1
params: {n: 1000}
steps:
  - {id: X, op: random.normal, shape: [${n}, 4], split: 0}
  - id: moments
    op: map
    input: X
    reduce: sum
    outputs: [s1, s2]
    fn: "def f(x: Tensor) -> Tuple[Tensor, Tensor]:\n  return x.sum(0), (x * x).sum(0)"
)~";
    std::vector<double> with, without;
    for (int i = -1; i < reps; ++i) {
      // A fresh source each time (a comment differs), so nothing comes from the cache.
      const std::string yaml = base + fmt::format(R"~(  - id: Z
    op: map
    inputs: [X, moments.s1, moments.s2]
    args: {{n: 1000, clip: 3.0}}
    fn: |
      # variant {}
{})~",
                                                  i + 1000 * rank, kNormalise);
      const pipeline::Document d0 = pipeline::parse_document(base, "bench.yaml");
      const pipeline::Plan warm = pipeline::make_plan(d0, p);  // the first map compiled already
      double t0 = now();
      const pipeline::Plan p0 = pipeline::make_plan(d0, p);
      const double a = now() - t0;
      const pipeline::Document d1 = pipeline::parse_document(yaml, "bench.yaml");
      t0 = now();
      const pipeline::Plan p1 = pipeline::make_plan(d1, p);
      const double b = now() - t0;
      if (i >= 0) {
        without.push_back(a);
        with.push_back(b);
      }
    }
    const Timing tw = summarize(with), to = summarize(without);
    rows.push_back({"validate a 4-line map fn", (tw.median - to.median) * 1e3, "ms", "plan without it",
                    to.median * 1e3});
    if (rank == 0)
      fmt::print(
          "CSV,compile,ranks={},plan_with_s={:.6f},plan_without_s={:.6f},compile_and_infer_s={:.6f}\n",
          p, tw.median, to.median, tw.median - to.median);
  }

  if (rank == 0) {
    fmt::print("dnd-bench-map: {} ranks, {} torch thread(s) per rank, 2^{} float32 elements per rank\n",
               p, threads, log2n);
    fmt::print("{:<34} {:>12} {:<10} {:<28} {:>12} {:>8}\n", "measure", "value", "unit",
               "baseline (same run)", "baseline", "ratio");
    for (const Row& r : rows)
      fmt::print("{:<34} {:>12.3f} {:<10} {:<28} {:>12.3f} {:>8}\n", r.name, r.value, r.unit, r.baseline,
                 r.base,
                 r.unit == "ms" ? std::string("-") : fmt::format("{:.0f}%", 100.0 * r.value / r.base));
  }
  std::fclose(devnull);
  return 0;
}
