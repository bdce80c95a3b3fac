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
#include "core/communicator.h"
#include "core/factories.h"
#include "core/memory.h"
#include "core/runtime.h"
#include "kernels/cluster/kmeans.h"

#include <ATen/ATen.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <mpi.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

using namespace dnd;
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

int64_t status_kb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return std::stoll(line.substr(std::string(key).size()));
  return -1;
}

// Peak resident bytes while fn runs, above what was resident before it.
int64_t peak_extra_bytes(const std::function<void()>& fn) {
  memory::release_cached();
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  const int64_t before = status_kb("VmRSS:");
  fn();
  return (status_kb("VmHWM:") - before) * 1024;
}

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
  };
  std::vector<Row> rows;
  double torch_iter = 0, one_rank_iter = 0;
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
      o.centroids = random_uniform({k, d}, 2, 0, 1, ArrayOptions{}.with_dtype(at::kFloat).with_comm(comm));
      if (ranks == 1 && rank == 0) x_full = x->larray();
    }
    std::vector<double> per_iter;
    int64_t n_iter = 0;
    for (int rep = -1; rep < reps; ++rep) {
      barrier(world);
      double mine = 0;
      if (member) {
        const KMeansResult r = cluster::kmeans(*x, o);
        mine = r.iter_seconds / static_cast<double>(r.n_iter);
        n_iter = r.n_iter;
      }
      const double slowest = allreduce_value(world, mine, ReduceOp::max);
      if (rep >= 0) per_iter.push_back(slowest);
    }
    const Stat s = stat_of(per_iter);
    if (ranks == 1) one_rank_iter = s.median;
    rows.push_back({fmt::format("dnd kmeans Lloyd, {} rank{}", ranks, ranks > 1 ? "s" : ""), s,
                    fmt::format("{} iterations per fit", n_iter)});

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
      rows.push_back({"dnd kmeans peak extra memory", {worst, worst, worst},
                      "x local block of X during a whole fit (labels are n int64 = 0.5x for d=16)"});
    }
  }

  // Plain torch Lloyd steps on rank 0 with the whole X, with dnd's caching allocator and
  // with torch's own (fresh pages for every temporary).
  for (bool caching : {true, false}) {
    memory::set_caching(caching);
    if (!caching) memory::release_cached();
    std::vector<double> per_iter;
    for (int rep = -1; rep < reps; ++rep) {
      barrier(world);
      double mine = 0;
      if (rank == 0) {
        at::Tensor c = random_uniform({k, d}, 2, 0, 1, ArrayOptions{}.with_dtype(at::kFloat).with_comm(Communicator::self()))
                           .larray()
                           .clone();
        const double t0 = MPI_Wtime();
        for (int64_t it = 0; it < iters; ++it) {
          const at::Tensor lab = at::cdist(x_full, c).argmin(1);
          const at::Tensor sums = at::zeros({k, d}, at::kFloat).index_add_(0, lab, x_full);
          const at::Tensor cnt = at::bincount(lab, {}, k).to(at::kFloat).clamp_min(1);
          c = sums / cnt.unsqueeze(1);
        }
        mine = (MPI_Wtime() - t0) / static_cast<double>(iters);
      }
      const double slowest = allreduce_value(world, mine, ReduceOp::max);
      if (rep >= 0) per_iter.push_back(slowest);
    }
    const Stat s = stat_of(per_iter);
    if (caching) torch_iter = s.median;
    rows.insert(rows.begin() + (caching ? 0 : 1),
                Row{fmt::format("torch Lloyd step, 1 process{}", caching ? "" : ", torch allocator"), s,
                    "baseline: cdist + argmin + index_add + bincount"});
  }
  memory::set_caching(true);

  if (rank == 0) {
    fmt::print("dnd-bench-cluster: {} ranks, {} thread(s) per rank, X {} x {} float32 ({:.0f} MiB), k={}, {} Lloyd "
               "iterations per fit, {} fits per measure\n",
               p, threads, n, d, static_cast<double>(n * d * 4) / (1 << 20), k, iters, reps);
    fmt::print("{:<36} {:>10} {:>10} {:>10} {:>9} {:>9}  {}\n", "measure", "median", "min", "max", "vs torch",
               "speedup", "note");
    for (const Row& r : rows) {
      const bool lloyd = r.name.find("Lloyd") != std::string::npos;
      const bool dnd_lloyd = lloyd && r.name.rfind("dnd", 0) == 0;
      fmt::print("{:<36} {:>10.5f} {:>10.5f} {:>10.5f} {:>9} {:>9}  {}\n", r.name, r.s.median, r.s.min, r.s.max,
                 lloyd ? fmt::format("{:.2f}x", torch_iter / r.s.median) : "-",
                 dnd_lloyd ? fmt::format("{:.2f}x", one_rank_iter / r.s.median) : "-", r.note);
    }
    fmt::print("(Lloyd rows: seconds per iteration; vs torch: torch's time / this one; speedup: dnd at 1 rank / this)\n");
    fmt::print("\n# csv: bench,version,ranks,threads,n,d,k,measure,median,min,max\n");
    for (const Row& r : rows)
      fmt::print("bench_cluster,1,{},{},{},{},{},{},{:.6f},{:.6f},{:.6f}\n", p, threads, n, d, k, r.name, r.s.median,
                 r.s.min, r.s.max);
  }
  return 0;
}
