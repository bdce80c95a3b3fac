// dnd-bench-cluster: k-means Lloyd iterations against a plain torch Lloyd step, in one run.
//
//   mpirun -n 2 build/dnd-bench-cluster [--n 1000000] [--d 16] [--k 8] [--iters 20]
//
// X is n x d float32 uniform in [0, 1) (so Lloyd does not converge early), the initial
// centroids k seeded random points, the same at every rank count. Reported, as seconds
// per Lloyd iteration (the fit's iteration time over its iterations, slowest rank,
// median over repeats):
//   torch      one process (rank 0, the whole X): cdist + argmin + index_add + bincount
//              per step, the plain torch implementation of the same step, with dnd's
//              caching allocator and with torch's own;
//   dnd        kmeans on 1 rank (a one-rank communicator) and on all ranks;
// and the kmeans|| / kmeans++ initialisation time, and the peak memory a fit adds on
// top of X (in units of the local block of X).
#include "src/core/communicator.h"
#include "src/core/factories.h"
#include "src/core/memory.h"
#include "src/core/runtime.h"
#include "src/bench/baselines.h"
#include "kernels/cluster/kmeans.h"

#include <ATen/ATen.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

using namespace dnd;
using bench::peak_extra_bytes;
using dnd::cluster::KMeansInit;
using dnd::cluster::KMeansOptions;
using dnd::cluster::KMeansResult;

namespace {

struct Stat {
  double median = 0, min = 0, max = 0;
};

Stat stat_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Wall and CPU seconds of single iterations, slowest rank per iteration.
struct IterTimes {
  std::vector<double> wall, cpu;
  void add(const Communicator& world, std::vector<double> w, std::vector<double> c, size_t slots) {
    w.resize(slots, 0.0);
    c.resize(slots, 0.0);
    at::Tensor t = at::empty({2, static_cast<int64_t>(slots)}, at::kDouble);
    std::copy(w.begin(), w.end(), t.data_ptr<double>());
    std::copy(c.begin(), c.end(), t.data_ptr<double>() + slots);
    allreduce_(world, t, ReduceOp::max);
    for (size_t i = 0; i < slots; ++i) {
      if (t.data_ptr<double>()[i] <= 0) continue;
      wall.push_back(t.data_ptr<double>()[i]);
      cpu.push_back(t.data_ptr<double>()[slots + i]);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dnd k-means benchmark: Lloyd iterations at 1 and p ranks vs a plain torch Lloyd step"};
  int64_t n = 1000000, d = 16, k = 8, iters = 20;
  int reps = 3, threads = 1;
  app.add_option("--n", n, "samples")->capture_default_str();
  app.add_option("--d", d, "features")->capture_default_str();
  app.add_option("--k", k, "clusters")->capture_default_str();
  app.add_option("--iters", iters, "Lloyd iterations per fit")->capture_default_str();
  app.add_option("--repeat", reps, "timed fits per measure (after one warm-up)")->capture_default_str();
  app.add_option("--threads", threads, "torch threads per rank")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  Runtime runtime(&argc, &argv, RuntimeOptions{threads, false});
  const Communicator world = Communicator::world();
  const int p = world.size(), rank = world.rank();

  struct Row {
    std::string name;
    Stat s;
    std::string note;
    double cpu = -1;  // CPU seconds of this thread per iteration (median), for Lloyd rows
  };
  std::vector<Row> rows;
  double torch_iter = 0, one_rank_iter = 0, torch_cpu = 0, one_rank_cpu = 0;
  at::Tensor x_full;  // rank 0: the whole X, for the torch baseline

  // dnd at 1 rank, then at all ranks. Ranks outside the communicator only take part in
  // the timing reductions.
  std::vector<int> counts{1};
  if (p > 1) counts.push_back(p);
  for (int ranks : counts) {
    const bool member = rank < ranks;
    const Communicator comm = ranks == p ? world : world.split(member ? 0 : -1, rank);
    std::optional<DNDarray> x;
    KMeansOptions o;
    o.k = k;
    o.max_iter = iters;
    o.tol = 0;
    if (member) {
      const ArrayOptions ao = ArrayOptions{}.with_split(0).with_dtype(at::kFloat).with_comm(comm);
      x = random_uniform({n, d}, 1, 0, 1, ao);
      o.centroids =
          random_uniform({k, d}, 2, 0, 1, ArrayOptions{}.with_dtype(at::kFloat).with_comm(comm));
      if (ranks == 1 && rank == 0) x_full = x->larray();
    }
    // Every iteration is timed from one progress call to the next (the first, which
    // follows the initialisation, is left out).
    IterTimes it_times;
    std::vector<double> waits;  // seconds per iteration in the allreduce, the most of any rank
    int64_t n_iter = 0;
    for (int rep = -1; rep < reps; ++rep) {
      std::vector<double> w, c;
      double last_w = 0, last_c = 0;
      KMeansOptions ot = o;
      ot.progress = [&](int iter, double, double) {
        const double nw = bench::now_seconds(), nc = cpu_now();
        if (iter > 1) w.push_back(nw - last_w), c.push_back(nc - last_c);
        last_w = nw, last_c = nc;
      };
      barrier(world);
      double wait = 0;
      if (member) {
        const KMeansResult r = cluster::kmeans(*x, ot);
        n_iter = r.n_iter;
        wait = r.comm_seconds / static_cast<double>(r.n_iter);
      }
      if (rep >= 0) {
        it_times.add(world, w, c, static_cast<size_t>(iters));
        waits.push_back(allreduce_value(world, wait, ReduceOp::max));
      }
    }
    const Stat s = stat_of(it_times.wall), sc = stat_of(it_times.cpu);
    if (ranks == 1) one_rank_iter = s.median, one_rank_cpu = sc.median;
    rows.push_back({fmt::format("dnd kmeans Lloyd, {} rank{}", ranks, ranks > 1 ? "s" : ""), s,
                    fmt::format("{} iterations per fit; allreduce incl. waiting {:.5f} s/iter", n_iter,
                                stat_of(waits).median),
                    sc.median});

    // Initialisation (default kmeans||, and kmeans++), and the memory a fit adds.
    if (ranks == p) {
      for (KMeansInit init : {KMeansInit::kmeans_parallel, KMeansInit::kmeans_plus_plus}) {
        KMeansOptions oi = o;
        oi.centroids.reset();
        oi.init = init;
        oi.max_iter = 1;
        std::vector<double> t;
        for (int rep = -1; rep < reps; ++rep) {
          barrier(world);
          const double s0 = cluster::kmeans(*x, oi).init_seconds;
          if (rep >= 0) t.push_back(allreduce_value(world, s0, ReduceOp::max));
        }
        rows.push_back({fmt::format("dnd {} init, {} rank{}", cluster::kmeans_init_name(init), ranks,
                                    ranks > 1 ? "s" : ""),
                        stat_of(t), "seconds per initialisation (input checks included)"});
      }
      const int64_t extra = peak_extra_bytes([&] { cluster::kmeans(*x, o); });
      const double block = static_cast<double>(x->lnbytes());
      const double worst = static_cast<double>(allreduce_value(world, extra, ReduceOp::max)) / block;
      rows.push_back({"dnd kmeans peak extra memory",
                      {worst, worst, worst},
                      "x local block of X during a whole fit (labels are n int64 = 0.5x for d=16)"});
    }
  }

  // Plain torch Lloyd steps on rank 0 with the whole X, with dnd's caching allocator and
  // with torch's own (fresh pages for every temporary).
  for (bool caching : {true, false}) {
    memory::set_caching(caching);
    if (!caching) memory::release_cached();
    IterTimes t;
    for (int rep = -1; rep < reps; ++rep) {
      barrier(world);
      std::vector<double> w, cp;
      if (rank == 0) {
        at::Tensor c =
            random_uniform({k, d}, 2, 0, 1,
                           ArrayOptions{}.with_dtype(at::kFloat).with_comm(Communicator::self()))
                .larray()
                .clone();
        for (int64_t it = 0; it < iters; ++it) {
          const double w0 = bench::now_seconds(), c0 = cpu_now();
          const at::Tensor lab = at::cdist(x_full, c).argmin(1);
          const at::Tensor sums = at::zeros({k, d}, at::kFloat).index_add_(0, lab, x_full);
          const at::Tensor cnt = at::bincount(lab, {}, k).to(at::kFloat).clamp_min(1);
          c = sums / cnt.unsqueeze(1);
          w.push_back(bench::now_seconds() - w0);
          cp.push_back(cpu_now() - c0);
        }
      }
      if (rep >= 0) t.add(world, w, cp, static_cast<size_t>(iters));
    }
    const Stat s = stat_of(t.wall), sc = stat_of(t.cpu);
    if (caching) torch_iter = s.median, torch_cpu = sc.median;
    rows.insert(rows.begin() + (caching ? 0 : 1),
                Row{fmt::format("torch Lloyd step, 1 process{}", caching ? "" : ", torch allocator"), s,
                    "baseline: cdist + argmin + index_add + bincount", sc.median});
  }
  memory::set_caching(true);

  if (rank == 0) {
    fmt::print(
        "dnd-bench-cluster: {} ranks, {} thread(s) per rank, X {} x {} float32 ({:.0f} MiB), k={}, {} "
        "Lloyd "
        "iterations per fit, {} fits per measure\n",
        p, threads, n, d, static_cast<double>(n * d * 4) / (1 << 20), k, iters, reps);
    fmt::print("{:<44} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  {}\n", "measure", "median", "min", "max",
               "cpu", "vs torch", "speedup", "note");
    for (const Row& r : rows) {
      const bool lloyd = r.cpu >= 0;
      const bool dnd_lloyd = lloyd && r.name.rfind("dnd", 0) == 0;
      fmt::print("{:<44} {:>9.5f} {:>9.5f} {:>9.5f} {:>9} {:>9} {:>9}  {}\n", r.name, r.s.median,
                 r.s.min, r.s.max, lloyd ? fmt::format("{:.5f}", r.cpu) : "-",
                 lloyd ? fmt::format("{:.2f}x", torch_iter / r.s.median) : "-",
                 dnd_lloyd ? fmt::format("{:.2f}x", one_rank_iter / r.s.median) : "-", r.note);
    }
    fmt::print(
        "Lloyd rows: seconds per iteration (wall, slowest rank; median/min/max over the iterations of "
        "{} fits, a\n"
        "dnd fit's first iteration left out) and\n"
        "cpu = CPU seconds of the rank's thread per iteration (what the step costs when the core is not "
        "shared);\n"
        "vs torch = torch step / this (wall), speedup = dnd at 1 rank / this (wall). cpu-time ratios: "
        "torch/dnd 1 "
        "rank {:.2f}x.\n",
        reps, torch_cpu / one_rank_cpu);
    fmt::print("\n# csv: bench,version,ranks,threads,n,d,k,measure,median,min,max,cpu\n");
    for (const Row& r : rows)
      fmt::print("bench_cluster,1,{},{},{},{},{},{},{:.6f},{:.6f},{:.6f},{:.6f}\n", p, threads, n, d, k,
                 r.name, r.s.median, r.s.min, r.s.max, r.cpu);
  }
  return 0;
}
