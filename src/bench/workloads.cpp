#include "src/bench/workloads.h"

#include "src/bench/baselines.h"
#include "src/bench/workloads_impl.h"
#include "kernels/cluster/kmeans.h"
#include "src/bench/timing.h"
#include "src/core/elementwise.h"
#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "src/core/reductions.h"
#include "src/core/shape_ops.h"
#include "src/core/text.h"
#include "kernels/linalg/matmul.h"
#include "kernels/linalg/qr.h"
#include "io/io.h"
#include "kernels/linalg/svd.h"
#include "src/pipeline/execute.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>

namespace dnd::bench {

namespace detail {

ArrayOptions f32_on(const Communicator& comm, Split s) {
  return ArrayOptions{}.with_dtype(at::kFloat).with_split(s).with_comm(comm);
}

std::string shape2(int64_t r, int64_t c, Split s) {
  return fmt::format("({}, {}) float32 split {}", r, c, s ? std::to_string(*s) : "none");
}

Check divides(const std::string& name, int64_t base, int64_t multiple, const std::string& why_multiple) {
  return [=](const std::vector<int>& ranks, const std::vector<std::string>&) {
    int64_t need = multiple;
    for (int p : ranks) need = std::lcm(need, static_cast<int64_t>(p));
    if (base % need == 0) return;
    int bad = ranks.front();
    for (int p : ranks)
      if (base % std::lcm(multiple, static_cast<int64_t>(p)) != 0) {
        bad = p;
        break;
      }
    const int64_t lo = base / need * need, hi = lo + need;
    throw ValueError(
        fmt::format("{}: --size {} does not divide evenly over {} rank{}{}: every rank count must "
                    "divide the size, so that "
                    "every rank holds an equal block and the ideal lines are exact; try --size {}",
                    name, base, bad, bad == 1 ? "" : "s", why_multiple,
                    lo > 0 ? fmt::format("{} or {}", lo, hi) : std::to_string(hi)));
  };
}

// On data only rank 0 holds. Same process, so the same allocator and threads per rank as
// dnd's runs.
Baseline solo(const Communicator& world, int warmup, int repeat, const std::string& name, double work,
              double unit_scale, const std::function<void()>& fn) {
  const Timing t = measure_solo(world, warmup, std::max(1, repeat), fn);
  return Baseline{name, t.median, work / t.median / unit_scale};
}

Case case_of(const std::string& name, const std::string& workload, const std::string& unit,
             const std::string& unit_doc, const std::string& size_name, int64_t size) {
  Case c;
  c.name = name;
  c.workload = workload;
  c.unit = unit;
  c.unit_doc = unit_doc;
  c.size_name = size_name;
  c.size = size;
  return c;
}

std::function<double(int, int)> alltoall_baseline(const Communicator& comm, int64_t block_bytes,
                                                  int moves) {
  if (comm.size() == 1) return {};
  return [comm, block_bytes, moves](int warmup, int repeat) {
    return moves * alltoall(comm, block_bytes, warmup, std::max(1, repeat)).median;
  };
}

double peak_over_block(const Communicator& comm, double block, const std::function<void()>& fn) {
  const int64_t extra = peak_extra_bytes(fn);  // above what was resident: the input is
  return (block + static_cast<double>(allreduce_value(comm, extra, ReduceOp::max))) / block;
}

}  // namespace detail

namespace {

using namespace detail;

constexpr int64_t kCols = 256;  // elementwise, reduce: (rows, 256)
constexpr int64_t kTall = 32;   // qr, svd: (rows, 32) unless --cols

// ---- elementwise and reduce ------------------------------------------------------------

Case elementwise_case(int64_t base) {
  Case c;
  c.name = c.workload = "elementwise";
  c.unit = "GB/s";
  c.unit_doc =
      "bytes a fused kernel moves for a*b+c, 16 per element (3 reads, 1 write), all ranks together";
  c.size_name = "rows";
  c.size = base;
  c.definition = fmt::format("elementwise a*b+c rows={} cols={} float32", base, kCols);
  c.check = divides(c.name, base, 1);
  c.make = [](const Communicator& comm, int64_t rows) {
    auto a = std::make_shared<DNDarray>(random_uniform({rows, kCols}, 1, 0, 1, f32_on(comm, 0)));
    auto b = std::make_shared<DNDarray>(random_uniform({rows, kCols}, 2, 0, 1, f32_on(comm, 0)));
    auto cc = std::make_shared<DNDarray>(random_uniform({rows, kCols}, 3, 0, 1, f32_on(comm, 0)));
    Problem p;
    p.shape = shape2(rows, kCols, 0);
    p.work = 16.0 * static_cast<double>(rows * kCols);
    p.run = [a, b, cc](StepClock& clock) {
      std::optional<DNDarray> ab;
      clock.step("a*b", [&] { ab = *a * *b; });
      clock.step("+c", [&] { DNDarray r = std::move(*ab) + *cc; });
    };
    return p;
  };
  c.solo_baseline = [base](const Communicator& world, int warmup, int repeat) {
    at::Tensor a, b, cc;
    if (world.rank() == 0) {
      a = at::rand({base, kCols}), b = at::rand({base, kCols}), cc = at::rand({base, kCols});
    }
    return solo(world, warmup, repeat, "torch a*b+c, 1 process",
                16.0 * static_cast<double>(base * kCols), 1e9, [&] { at::Tensor r = a * b + cc; });
  };
  return c;
}

Case reduce_case(int64_t base) {
  Case c;
  c.name = c.workload = "reduce";
  c.unit = "GB/s";
  c.unit_doc = "bytes read, 4 per element per sum (two sums), all ranks together";
  c.size_name = "rows";
  c.size = base;
  c.definition = fmt::format("reduce sum axis 0, sum axis 1 rows={} cols={} float32", base, kCols);
  c.check = divides(c.name, base, 1);
  c.make = [](const Communicator& comm, int64_t rows) {
    auto a = std::make_shared<DNDarray>(random_uniform({rows, kCols}, 1, 0, 1, f32_on(comm, 0)));
    Problem p;
    p.shape = shape2(rows, kCols, 0);
    p.work = 8.0 * static_cast<double>(rows * kCols);
    p.run = [a](StepClock& clock) {
      clock.step("sum axis 0 (split)", [&] { DNDarray r = sum(*a, axis(0)); });
      clock.step("sum axis 1", [&] { DNDarray r = sum(*a, axis(1)); });
    };
    return p;
  };
  c.solo_baseline = [base](const Communicator& world, int warmup, int repeat) {
    at::Tensor a;
    if (world.rank() == 0) a = at::rand({base, kCols});
    return solo(world, warmup, repeat, "torch sum(0), sum(1), 1 process",
                8.0 * static_cast<double>(base * kCols), 1e9, [&] {
                  at::Tensor r0 = a.sum(0);
                  at::Tensor r1 = a.sum(1);
                });
  };
  return c;
}

// ---- data movement ---------------------------------------------------------------------

Case resplit_case(int64_t base) {
  Case c;
  c.name = c.workload = "resplit";
  c.unit = "GB/s";
  c.unit_doc =
      "bytes that cross ranks, (p-1)/p of the array per resplit, all ranks together (none at 1 rank)";
  c.size_name = "rows";
  c.size = base;
  c.rank_baseline_name = "MPI_Alltoall of the same bytes";
  c.definition = fmt::format("resplit 0->1->0 rows={} cols={} float32", base, base);
  c.check = divides(c.name, base, 1);
  c.make = [base](const Communicator& comm, int64_t rows) {
    auto a = std::make_shared<DNDarray>(random_uniform({rows, base}, 1, 0, 1, f32_on(comm, 0)));
    const int p = comm.size();
    const double bytes = 4.0 * static_cast<double>(rows * base);
    Problem pb;
    pb.shape = shape2(rows, base, 0);
    pb.work = 2.0 * bytes * (p - 1) / p;
    pb.run = [a](StepClock& clock) {
      std::optional<DNDarray> r1;
      clock.step("resplit 0 -> 1", [&] { r1 = resplit(*a, 1); });
      clock.step("resplit 1 -> 0", [&] { DNDarray r0 = resplit(*r1, 0); });
    };
    pb.baseline = alltoall_baseline(comm, a->lnbytes(), 2);
    return pb;
  };
  return c;
}

Case reshape_case(int64_t base) {
  Case c;
  c.name = c.workload = "reshape";
  c.unit = "GB/s";
  c.unit_doc =
      "bytes that cross ranks, nominally (p-1)/p of the array per reshape, all ranks together (none at "
      "1 rank)";
  c.size_name = "rows";
  c.size = base;
  c.rank_baseline_name = "MPI_Alltoall of the same bytes";
  c.definition =
      fmt::format("reshape (r,c) s0 -> (r/2,2c) s1 -> (r,c) s0 rows={} cols={} float32", base, base);
  c.check = divides(c.name, base, 2, " (and an even number: reshape halves the rows)");
  c.make = [base](const Communicator& comm, int64_t rows) {
    auto a = std::make_shared<DNDarray>(random_uniform({rows, base}, 1, 0, 1, f32_on(comm, 0)));
    const int p = comm.size();
    const double bytes = 4.0 * static_cast<double>(rows * base);
    Problem pb;
    pb.shape = shape2(rows, base, 0);
    pb.work = 2.0 * bytes * (p - 1) / p;
    pb.run = [a, rows, base](StepClock& clock) {
      std::optional<DNDarray> w;
      clock.step("(r, c) split 0 -> (r/2, 2c) split 1", [&] {
        w = reshape(*a, {rows / 2, 2 * base}, Split(1));
      });
      clock.step("(r/2, 2c) split 1 -> (r, c) split 0", [&] {
        DNDarray b = reshape(*w, {rows, base}, Split(0));
      });
    };
    pb.baseline = alltoall_baseline(comm, a->lnbytes(), 2);
    return pb;
  };
  return c;
}

// ---- linear algebra ----------------------------------------------------------------------

std::string split_letter(Split s) { return s ? std::to_string(*s) : "r"; }

Split parse_split_letter(const std::string& t, const std::string& pair) {
  if (t == "0") return Split(0);
  if (t == "1") return Split(1);
  if (t == "r" || t == "none" || t == "None") return kReplicated;
  throw ValueError(fmt::format(
      "--split-pair '{}': each side must be 0, 1 or r (replicated), as in 0x1 or rx0", pair));
}

std::vector<Case> matmul_cases(int64_t base, const std::string& pair) {
  std::vector<std::pair<Split, Split>> pairs;
  if (pair.empty()) {
    for (Split sa : {kReplicated, Split(0), Split(1)})
      for (Split sb : {kReplicated, Split(0), Split(1)}) pairs.emplace_back(sa, sb);
  } else {
    const size_t x = pair.find_first_of("x,");
    if (x == std::string::npos)
      throw ValueError(fmt::format(
          "--split-pair '{}': expected A's and B's split joined by x, as in 0x1 or rx0", pair));
    pairs.emplace_back(parse_split_letter(pair.substr(0, x), pair),
                       parse_split_letter(pair.substr(x + 1), pair));
  }
  // One at::mm baseline for all split pairs, measured the first time a case asks.
  auto shared = std::make_shared<std::optional<Baseline>>();
  std::vector<Case> out;
  for (auto [sa, sb] : pairs) {
    Case c;
    c.name = fmt::format("matmul-{}x{}", split_letter(sa), split_letter(sb));
    c.workload = "matmul";
    c.unit = "GFLOP/s";
    c.unit_doc = "2 rows S^2 flops of (rows, S) @ (S, S), all ranks together";
    c.size_name = "rows";
    c.size = base;
    c.definition = fmt::format("matmul ({0},{0})@({0},{0}) float32 splits {1}x{2}", base,
                               split_letter(sa), split_letter(sb));
    c.check = divides(c.name, base, 1);
    c.make = [base, sa = sa, sb = sb](const Communicator& comm, int64_t rows) {
      auto a = std::make_shared<DNDarray>(random_uniform({rows, base}, 1, 0, 1, f32_on(comm, sa)));
      auto b = std::make_shared<DNDarray>(random_uniform({base, base}, 2, 0, 1, f32_on(comm, sb)));
      Problem p;
      p.shape = fmt::format("({}, {}) @ ({}, {}) float32 split {} x {}", rows, base, base, base,
                            split_letter(sa), split_letter(sb));
      p.work = 2.0 * static_cast<double>(rows) * static_cast<double>(base) * static_cast<double>(base);
      p.run = [a, b](StepClock& clock) {
        clock.step("matmul", [&] { DNDarray r = linalg::matmul(*a, *b); });
      };
      const linalg::MatmulPlan plan = linalg::plan_matmul(*a, *b);
      p.extras = [sent = static_cast<double>(plan.max_bytes_sent()) / (1 << 20),
                  algo = linalg::algorithm_name(plan.algorithm)](const Row&, double) {
        return std::vector<Extra>{{fmt::format("MiB sent per rank ({})", algo), sent}};
      };
      return p;
    };
    c.solo_baseline = [base, shared](const Communicator& world, int warmup, int repeat) {
      if (!shared->has_value()) {
        at::Tensor a, b, r;
        if (world.rank() == 0) {
          a = at::rand({base, base}), b = at::rand({base, base}), r = at::empty({base, base});
        }
        const double flops =
            2.0 * static_cast<double>(base) * static_cast<double>(base) * static_cast<double>(base);
        *shared =
            solo(world, warmup, repeat, "at::mm, 1 process", flops, 1e9, [&] { at::mm_out(r, a, b); });
      }
      return **shared;
    };
    out.push_back(std::move(c));
  }
  return out;
}

// Nominal flop counts (Golub & Van Loan), not what the algorithms execute: Householder QR
// 2mn^2 - 2n^3/3; R-SVD giving U (m x n), S and V: 6mn^2 + 20n^3.
double qr_flops(double m, double n) { return 2 * m * n * n - 2 * n * n * n / 3; }
double svd_flops(double m, double n) { return 6 * m * n * n + 20 * n * n * n; }

// ||Q^T Q - I||_F of a split-0 Q, and ||A - B||_F / ||A||_F for a B with A's split and
// counts (B's local block given): the accuracy of a factorisation, collective.
double orth_error(const DNDarray& q) {
  at::Tensor g = at::mm(q.larray().t().to(at::kDouble), q.larray().to(at::kDouble));
  if (q.split()) allreduce_(q.comm(), g, ReduceOp::sum);
  return (g - at::eye(g.size(0), g.options())).norm().item<double>();
}
double rel_error(const DNDarray& a, const at::Tensor& b_local) {
  const at::Tensor al = a.larray().to(at::kDouble), bl = b_local.to(at::kDouble);
  double v[2] = {(al - bl).pow(2).sum().item<double>(), al.pow(2).sum().item<double>()};
  at::Tensor t = at::from_blob(v, {2}, at::kDouble);
  if (a.split()) allreduce_(a.comm(), t, ReduceOp::sum);
  return std::sqrt(v[0] / v[1]);
}

Case factor_case(const std::string& name, int64_t base, int64_t cols) {
  const bool is_qr = name == "qr";
  const int64_t kTall = cols;  // the columns: 32 unless --cols
  Case c;
  c.name = c.workload = name;
  c.unit = "GFLOP/s";
  c.unit_doc =
      fmt::format(is_qr ? "nominal Householder flops 2mn^2 - 2n^3/3 of the (rows, {}) array, all ranks "
                          "together"
                        : "nominal R-SVD flops 6mn^2 + 20n^3 (U, S and V) of the (rows, {}) array, all "
                          "ranks together",
                  kTall);
  c.size_name = "rows";
  c.size = base;
  c.definition = fmt::format("{} rows={} cols={} float32 split 0", name, base, kTall);
  c.check = [name, base, kTall, check = divides(name, base, 1)](const std::vector<int>& ranks,
                                                                const std::vector<std::string>& modes) {
    check(ranks, modes);
    const int p = ranks.back();
    if (base / p < kTall)
      throw ValueError(
          fmt::format("{}: --size {} gives {} rows per rank at {} ranks, fewer than the {} columns: use "
                      "--size {} or more for a tall-skinny array",
                      name, base, base / p, p, kTall, kTall * p));
  };
  c.make = [is_qr, kTall](const Communicator& comm, int64_t rows) {
    auto a = std::make_shared<DNDarray>(random_normal({rows, kTall}, 3, 0, 1, f32_on(comm, 0)));
    Problem p;
    p.shape = shape2(rows, kTall, 0);
    p.work =
        is_qr ? qr_flops(static_cast<double>(rows), kTall) : svd_flops(static_cast<double>(rows), kTall);
    if (is_qr) {
      p.run = [a](StepClock& clock) { clock.step("qr", [&] { linalg::QrResult r = linalg::qr(*a); }); };
    } else {
      p.run = [a](StepClock& clock) {
        linalg::SvdOptions so;
        so.method = linalg::SvdMethod::tsqr;
        clock.step("svd (tsqr)", [&] { linalg::SvdResult r = linalg::svd(*a, so); });
      };
    }
    p.extras = [a, is_qr](const Row&, double) {
      if (is_qr) {
        const linalg::QrResult r = linalg::qr(*a);
        return std::vector<Extra>{{"|A-QR|/|A|", rel_error(*a, at::mm(r.Q->larray(), r.R.larray()))},
                                  {"|QtQ-I|", orth_error(*r.Q)}};
      }
      linalg::SvdOptions so;
      so.method = linalg::SvdMethod::tsqr;
      const linalg::SvdResult r = linalg::svd(*a, so);
      return std::vector<Extra>{
          {"|A-USVt|/|A|", rel_error(*a, at::mm(r.U->larray() * r.S.larray(), r.V->larray().t()))},
          {"|UtU-I|", orth_error(*r.U)}};
    };
    return p;
  };
  c.solo_baseline = [is_qr, base, kTall](const Communicator& world, int warmup, int repeat) {
    at::Tensor a;
    if (world.rank() == 0) a = at::randn({base, kTall});
    Baseline b =
        is_qr ? solo(world, warmup, repeat, "torch.linalg.qr, 1 process",
                     qr_flops(static_cast<double>(base), kTall), 1e9, [&] { auto r = at::linalg_qr(a); })
              : solo(world, warmup, repeat, "torch.linalg.svd, 1 process",
                     svd_flops(static_cast<double>(base), kTall), 1e9,
                     [&] { auto r = at::linalg_svd(a, false); });
    // torch's accuracy on the same kind of array, next to dnd's (the rows' extras).
    double err[2] = {kNaN, kNaN};
    if (world.rank() == 0) {
      const at::Tensor ad = a.to(at::kDouble), eye = at::eye(kTall, at::kDouble);
      at::Tensor q, rec;
      if (is_qr) {
        auto [qq, r] = at::linalg_qr(a);
        q = qq, rec = at::mm(qq, r);
      } else {
        auto [u, s, vh] = at::linalg_svd(a, false);
        q = u, rec = at::mm(u * s, vh);
      }
      err[0] = ((rec.to(at::kDouble) - ad).norm() / ad.norm()).item<double>();
      err[1] = (at::mm(q.t().to(at::kDouble), q.to(at::kDouble)) - eye).norm().item<double>();
    }
    at::Tensor et = at::from_blob(err, {2}, at::kDouble);
    broadcast_(world, et, 0);
    b.extras = is_qr ? std::vector<Extra>{{"|A-QR|/|A|", err[0]}, {"|QtQ-I|", err[1]}}
                     : std::vector<Extra>{{"|A-USVt|/|A|", err[0]}, {"|UtU-I|", err[1]}};
    return b;
  };
  return c;
}

// ---- clustering ----------------------------------------------------------------------------

constexpr int64_t kFeatures = 16, kClusters = 8, kIters = 10;

// Plain torch Lloyd steps (cdist + argmin + index_add + bincount), the kmeans
// baseline.
at::Tensor torch_lloyd(const at::Tensor& x, at::Tensor c, int64_t iters) {
  for (int64_t it = 0; it < iters; ++it) {
    const at::Tensor lab = at::cdist(x, c).argmin(1);
    const at::Tensor sums = at::zeros({c.size(0), x.size(1)}, x.options()).index_add_(0, lab, x);
    const at::Tensor cnt = at::bincount(lab, {}, c.size(0)).to(x.scalar_type()).clamp_min(1);
    c = sums / cnt.unsqueeze(1);
  }
  return c;
}

Case kmeans_case(int64_t base) {
  Case c;
  c.name = c.workload = "kmeans";
  c.unit = "Mrows/s";
  c.unit_doc = fmt::format(
      "rows assigned per second, summed over the Lloyd iterations (rows x iterations / s), all "
      "ranks together; k={}, {} features, given initial centroids, {} iterations at most",
      kClusters, kFeatures, kIters);
  c.unit_scale = 1e6;
  c.size_name = "rows";
  c.size = base;
  c.definition = fmt::format("kmeans rows={} d={} k={} max_iter={} float32 split 0", base, kFeatures,
                             kClusters, kIters);
  c.check = [base, check = divides(c.name, base, 1)](const std::vector<int>& ranks,
                                                     const std::vector<std::string>& modes) {
    check(ranks, modes);
    if (base < kClusters)
      throw ValueError(
          fmt::format("kmeans: --size {} is fewer rows than the k={} clusters", base, kClusters));
  };
  c.make = [](const Communicator& comm, int64_t rows) {
    auto x = std::make_shared<DNDarray>(random_uniform({rows, kFeatures}, 1, 0, 1, f32_on(comm, 0)));
    auto c0 = std::make_shared<DNDarray>(
        random_uniform({kClusters, kFeatures}, 2, 0, 1, f32_on(comm, kReplicated)));
    Problem p;
    p.shape = fmt::format("({}, {}) float32 split 0, k={}", rows, kFeatures, kClusters);
    p.work = static_cast<double>(rows * kIters);  // the run says how many iterations it made
    p.run = [x, c0, rows](StepClock& clock) {
      cluster::KMeansOptions o;
      o.k = kClusters;
      o.max_iter = kIters;
      o.tol = 0;
      o.centroids = *c0;
      const cluster::KMeansResult r = cluster::kmeans(*x, o);
      clock.record("checks and init", r.init_seconds);
      clock.record("Lloyd iterations", r.iter_seconds);
      clock.record("final labels", r.final_seconds);
      clock.set_work(static_cast<double>(rows * r.n_iter));
    };
    p.extras = [x, c0](const Row&, double) {
      cluster::KMeansOptions o;
      o.k = kClusters;
      o.max_iter = kIters;
      o.tol = 0;
      o.centroids = *c0;
      const double peak =
          peak_over_block(x->comm(), static_cast<double>(x->lnbytes()), [&] { cluster::kmeans(*x, o); });
      o.centroids.reset();  // kmeans|| (the default init) from the data, one iteration
      o.max_iter = 1;
      const double init = allreduce_value(x->comm(), cluster::kmeans(*x, o).init_seconds, ReduceOp::max);
      return std::vector<Extra>{{"peak memory beyond X / local block", peak - 1},
                                {"kmeans|| init s", init}};
    };
    return p;
  };
  c.solo_baseline = [base](const Communicator& world, int warmup, int repeat) {
    at::Tensor x, c0;
    if (world.rank() == 0) {
      x = at::rand({base, kFeatures});
      c0 = at::rand({kClusters, kFeatures});
    }
    return solo(world, warmup, repeat, fmt::format("torch Lloyd, {} steps, 1 process", kIters),
                static_cast<double>(base * kIters), 1e6,
                [&] { at::Tensor c = torch_lloyd(x, c0, kIters); });
  };
  return c;
}

// ---- file I/O ----------------------------------------------------------------------------

// A file in the scratch directory, removed (by rank 0) with the last reference.
struct ScratchFile {
  std::string path;
  bool owner;
  ScratchFile(std::string p, bool o) : path(std::move(p)), owner(o) {}
  ~ScratchFile() {
    if (owner) std::remove(path.c_str());
  }
};

void make_scratch_dir(const Communicator& comm, const std::string& dir) {
  std::string err;
  if (comm.rank() == 0) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) err = ec.message();
  }
  if (allreduce_value(comm, static_cast<int64_t>(err.empty() ? 0 : 1), ReduceOp::max) != 0)
    throw ValueError(
        fmt::format("cannot create the scratch directory {}{}", dir, err.empty() ? "" : ": " + err));
}

// name: io-save, io-load (cold) or io-load-warm (the file still cached from its save);
// case_name: name, or name-FORMAT when a study runs several formats.
Case io_case(const std::string& name, const std::string& case_name, int64_t base,
             const std::string& format, const std::string& scratch, bool sync) {
  const bool save = name == "io-save", warm = name == "io-load-warm";
  const std::string ext = format == "npy" ? "npy" : "h5";
  Case c;
  c.name = case_name;
  c.workload = name;
  c.unit = "GB/s";
  c.unit_doc =
      save ? (sync ? "the array's bytes written per second, synced to the device (as the baseline), all "
                     "ranks together"
                   : "the array's bytes written per second (page cache: no fsync, as the baseline), all "
                     "ranks "
                     "together")
      : warm
          ? "the array's bytes read per second, warm (the file in the page cache, as for the baseline), "
            "all ranks together"
          : "the array's bytes read per second, cold (pages dropped before each run, as for the "
            "baseline), all ranks together";
  c.size_name = "rows";
  c.size = base;
  c.definition = fmt::format("{} rows={} cols={} float32 split 0 {}{}", name, base, kCols, ext,
                             sync ? " sync" : "");
  c.check = divides(c.name, base, 1);
  c.make = [=](const Communicator& comm, int64_t rows) {
    make_scratch_dir(comm, scratch);
    auto file = std::make_shared<ScratchFile>(
        fmt::format("{}/{}-{}.{}", scratch, case_name, comm.size(), ext), comm.rank() == 0);
    const bool root = comm.rank() == 0;
    io::SaveOptions so;
    so.dataset = "data";
    so.overwrite = true;
    so.sync = sync;  // page cache only, or durable, as the baseline
    auto a = std::make_shared<DNDarray>(random_uniform({rows, kCols}, 1, 0, 1, f32_on(comm, 0)));
    Problem p;
    p.shape = fmt::format("({}, {}) float32 split 0, {}", rows, kCols, ext == "h5" ? "HDF5" : "npy");
    p.work = 4.0 * static_cast<double>(rows * kCols);
    if (save) {
      // Each save starts with no dirty pages of the previous one in flight.
      p.prepare = [file, root] {
        if (root && std::filesystem::exists(file->path)) flush_file(file->path);
      };
      p.run = [a, file, so](StepClock& clock) {
        clock.step("save", [&] { io::save(*a, file->path, so); });
      };
    } else {
      io::save(*a, file->path, so);
      a.reset();
      if (!warm)
        p.prepare = [file, root] {
          if (root) drop_page_cache(file->path);
        };
      p.run = [file, comm](StepClock& clock) {
        io::LoadOptions lo;
        lo.dataset = "data";
        lo.split = 0;
        clock.step("load", [&] { DNDarray b = io::load(file->path, lo, comm); });
      };
    }
    return p;
  };
  c.solo_baseline = [=](const Communicator& world, int warmup, int repeat) {
    make_scratch_dir(world, scratch);
    const bool root = world.rank() == 0;
    ScratchFile file(scratch + "/baseline.bin", root);
    const size_t bytes = static_cast<size_t>(base * kCols * 4);
    at::Tensor buf;
    if (root) {
      buf = at::rand({base, kCols});
      plain_write(file.path, buf.data_ptr(), bytes);
    }
    Timing t;
    if (save)
      t = measure_solo(
          world, warmup, std::max(1, repeat),
          [&] {
            plain_write(file.path, buf.data_ptr(), bytes);
            if (sync) flush_file(file.path);
          },
          [&] { flush_file(file.path); });
    else
      t = measure_solo(
          world, warmup, std::max(1, repeat), [&] { plain_read(file.path, buf.data_ptr(), bytes); },
          [&] {
            if (!warm) drop_page_cache(file.path);
          });
    return Baseline{save   ? (sync ? "write() + fsync() of the same bytes, 1 process"
                                   : "write() of the same bytes, 1 process")
                    : warm ? "read() of the same bytes, warm, 1 process"
                           : "read() of the same bytes, cold, 1 process",
                    t.median, static_cast<double>(bytes) / t.median / 1e9};
  };
  return c;
}

std::vector<Case> matmul_family(int64_t base, const WorkloadOptions& o) {
  return matmul_cases(base, o.split_pair);
}

std::vector<Case> io_family(const std::string& name, int64_t base, const WorkloadOptions& o) {
  std::vector<std::string> formats;
  std::stringstream in(o.io_format);
  for (std::string f; std::getline(in, f, ',');) {
    if (f != "h5" && f != "npy")
      throw ValueError(fmt::format("--io-format {}: expected h5, npy or h5,npy", o.io_format));
    formats.push_back(f);
  }
  if (formats.empty()) throw ValueError("--io-format: expected h5, npy or h5,npy");
  if (o.scratch_dir.empty()) throw ValueError(name + ": no scratch directory for its files");
  // io-save-sync: io-save with --io-sync.
  const bool sync = name == "io-save-sync" || (o.io_sync && name == "io-save");
  const std::string workload = name == "io-save-sync" ? "io-save" : name;
  std::vector<Case> out;
  for (const std::string& f : formats)
    out.push_back(
        io_case(workload, formats.size() > 1 ? name + "-" + f : name, base, f, o.scratch_dir, sync));
  return out;
}

struct WorkloadDef {
  const char* name;
  int64_t default_size;
  const char* unit;
  const char* baseline;
  std::function<std::vector<Case>(int64_t base, const WorkloadOptions& o)> make;
  bool in_all = true;  // false: left out of --workload all (say why in `baseline`)
};

// Default sizes: each run takes milliseconds to tens of milliseconds on one core, and
// `--workload all --ranks 1,2 --mode both` a minute or two on two; use --size for real
// studies.
const std::vector<WorkloadDef>& defs() {
  auto one = [](Case (*f)(int64_t)) {
    return [f](int64_t b, const WorkloadOptions&) { return std::vector<Case>{f(b)}; };
  };
  auto named = [](const char* n, auto f) {
    return [n, f](int64_t b, const WorkloadOptions& o) { return f(n, b, o); };
  };
  auto factor = [](const char* n, int64_t b, const WorkloadOptions& o) {
    if (o.cols < 0) throw ValueError(fmt::format("--cols must be positive, got {}", o.cols));
    return std::vector<Case>{factor_case(n, b, o.cols > 0 ? o.cols : kTall)};
  };
  static const std::vector<WorkloadDef> d = {
      {"elementwise", 32768, "GB/s", "torch a*b+c, 1 process", one(elementwise_case)},
      {"reduce", 32768, "GB/s", "torch sum(0), sum(1), 1 process", one(reduce_case)},
      {"resplit", 2048, "GB/s", "MPI_Alltoall of the same bytes", one(resplit_case)},
      {"reshape", 2048, "GB/s", "MPI_Alltoall of the same bytes", one(reshape_case)},
      {"matmul", 768, "GFLOP/s", "at::mm, 1 process", matmul_family},
      {"qr", 131072, "GFLOP/s", "torch.linalg.qr, 1 process", named("qr", factor)},
      {"svd", 131072, "GFLOP/s", "torch.linalg.svd, 1 process", named("svd", factor)},
      {"kmeans", 131072, "Mrows/s", "torch Lloyd steps, 1 process", one(kmeans_case)},
      {"io-save", 65536, "GB/s", "write() of the same bytes, 1 process", named("io-save", io_family)},
      {"io-load", 65536, "GB/s", "read() of the same bytes (cold), 1 process",
       named("io-load", io_family)},
      {"io-save-sync", 65536, "GB/s", "write() + fsync() of the same bytes, 1 process (durable saves)",
       named("io-save-sync", io_family)},
      {"io-load-warm", 65536, "GB/s", "read() of the same bytes (warm: in the page cache), 1 process",
       named("io-load-warm", io_family)},
      {"stream", 1048576, "GB/s",
       "STREAM triad on each rank's block; torch on 1 process (cases a*b+c, multiply_add, "
       "system allocator, sum; --size: elements)",
       stream_cases},
      {"random", 1048576, "Mvalues/s",
       "torch rand, randn, randint on 1 process (cases uniform, normal, integers; --size: elements)",
       random_cases},
      {"allreduce", 1048576, "GB/s",
       "Isend/Irecv of the same bytes to the next rank (--size: elements per rank)", allreduce_cases},
      {"movement", 1024, "GB/s",
       "MPI_Alltoall of the same bytes; peak memory (cases resplit 0->1, 1->0, reshape, flatten, "
       "transpose)",
       movement_cases},
      {"pipeline-overhead", 1000, "ms",
       "the same core calls from C++ (20 steps on (rows, 8); the overhead in ms)",
       pipeline_overhead_cases},
      {"map", 65536, "GB/s", "x * 2.0 + 1.0 from C++ on the same block (--size: elements per rank)",
       map_cases},
      {"map-compile", 1000, "ms", "planning the same pipeline without the map step", map_compile_cases},
      {"statistics", 131072, "GFLOP/s, GB/s",
       "torch.mm X^T X on each rank's block (cov), STREAM triad (standardize, nan_to_num); torch on 1 "
       "process (cases cov, standardize, nan_to_num of (rows, 64) float32)",
       statistics_cases},
      {"selection", 1048576, "Mvalues/s",
       "torch.sort, torch.unique on 1 process (cases sort of float32, unique of int64; --size: "
       "elements)",
       selection_cases},
      {"halo", 512, "GB/s",
       "Isend/Irecv of the same bytes with the same neighbours ((rows, S), h = 1 and S/8)", halo_cases},
  };
  return d;
}

}  // namespace

std::vector<std::string> workload_names() {
  std::vector<std::string> n;
  for (const WorkloadDef& d : defs()) n.push_back(d.name);
  return n;
}

std::string workload_list() {
  std::string o;
  for (const WorkloadDef& d : defs())
    o += fmt::format("  {:<17} --size {:<7} {:<8} baseline: {}{}\n", d.name, d.default_size, d.unit,
                     d.baseline, d.in_all ? "" : " [not in all]");
  return o;
}

std::vector<Case> workload_cases(const std::string& name, const WorkloadOptions& o) {
  if (name.find(',') != std::string::npos) {  // a list: each in turn
    std::vector<Case> all;
    std::stringstream in(name);
    for (std::string one; std::getline(in, one, ',');)
      for (Case& c : workload_cases(one, o)) all.push_back(std::move(c));
    return all;
  }
  if (name == "all") {
    std::vector<Case> all;
    for (const WorkloadDef& d : defs())
      if (d.in_all)
        for (Case& c : workload_cases(d.name, o)) all.push_back(std::move(c));
    return all;
  }
  const WorkloadDef* def = nullptr;
  for (const WorkloadDef& d : defs())
    if (name == d.name) def = &d;
  if (!def) {
    std::vector<std::string> names = workload_names();
    names.push_back("all");
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    throw ValueError(
        fmt::format("unknown workload '{}'{} (workloads: {})", name, did_you_mean(name, names), list));
  }
  if (o.size < 0) throw ValueError(fmt::format("--size must be positive, got {}", o.size));
  const int64_t base = o.size > 0 ? o.size : def->default_size;
  if (!o.split_pair.empty() && name != "matmul")
    throw ValueError(fmt::format("--split-pair is for the matmul workload, not '{}'", name));
  if (o.cols != 0 && name != "qr" && name != "svd")
    throw ValueError(fmt::format("--cols is for the qr and svd workloads, not '{}'", name));
  return def->make(base, o);
}

// ---- pipelines ---------------------------------------------------------------------------

Case pipeline_case(const std::string& path, const std::vector<std::string>& sets,
                   const std::string& scale, const std::vector<std::string>& time_opt) {
  const pipeline::Document doc = pipeline::load_document(path, sets);
  // --time wins over the pipeline's own `timed:` list (its ids are checked when it loads).
  std::vector<std::string> timed = time_opt;
  if (timed.empty())
    for (const auto& [id, mark] : doc.timed) timed.push_back(id);
  {
    std::vector<std::string> ids;
    for (const pipeline::Step& st : doc.steps) ids.push_back(st.id);
    std::string list;
    for (const std::string& n : ids) list += (list.empty() ? "" : ", ") + n;
    for (size_t i = 0; i < timed.size(); ++i) {
      const std::string& t = timed[i];
      if (std::find(ids.begin(), ids.end(), t) == ids.end())
        throw ValueError(fmt::format("--time: {} has no step '{}'{} (its steps: {})", path, t,
                                     did_you_mean(t, ids), list));
      if (std::find(timed.begin(), timed.begin() + static_cast<std::ptrdiff_t>(i), t) !=
          timed.begin() + static_cast<std::ptrdiff_t>(i))
        throw ValueError(fmt::format("--time: the step '{}' is given twice", t));
    }
  }
  std::string param = scale, value;
  if (const size_t eq = scale.find('='); eq != std::string::npos) {
    param = scale.substr(0, eq);
    value = scale.substr(eq + 1);
  }
  int64_t base = 0;
  if (!param.empty()) {
    std::vector<std::string> names;
    const YAML::Node* found = nullptr;
    for (const auto& [k, v] : doc.params) {
      names.push_back(k);
      if (k == param) found = &v;
    }
    if (!found) {
      std::string list;
      for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
      throw ValueError(fmt::format("--scale {}: {} has no param '{}'{} (its params: {})", scale, path,
                                   param, did_you_mean(param, names), list.empty() ? "none" : list));
    }
    const std::string text = value.empty() ? found->Scalar() : value;
    size_t used = 0;
    try {
      base = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || base < 1)
      throw ValueError(
          fmt::format("--scale {}: the param '{}' must be a positive integer to grow with the ranks, "
                      "it is '{}'",
                      scale, param, text));
  }
  // Every run writes again: a save that keeps an existing file would fail from the second.
  for (const pipeline::Step& st : doc.steps) {
    if (st.op != "save") continue;
    bool overwrite = false;
    for (const auto& [k, v] : st.params)
      if (k == "overwrite") overwrite = v.IsScalar() && (v.Scalar() == "true" || v.Scalar() == "True");
    if (!overwrite)
      throw doc.error(st.op_mark,
                      fmt::format("dnd bench runs the pipeline many times: save step '{}' needs "
                                  "'overwrite: true'",
                                  st.id));
  }
  std::ifstream f(path, std::ios::binary);
  std::stringstream text;
  text << f.rdbuf();

  Case c;
  c.name = doc.name.empty() ? path : doc.name;
  c.workload = path;
  c.size_name = param.empty() ? "size" : param;
  c.size = base;
  c.weak_ok = !param.empty();
  c.definition = text.str();
  for (const std::string& s : sets) c.definition += "\n--set " + s;
  c.definition += "\n--scale " + scale;
  if (!timed.empty()) {
    c.definition += "\n--time ";
    for (size_t i = 0; i < timed.size(); ++i) c.definition += (i ? "," : "") + timed[i];
  }
  // The sets at a size: the user's, then the scaled param (the last --set wins).
  auto sets_at = [sets, param](int64_t size) {
    std::vector<std::string> s = sets;
    if (!param.empty()) s.push_back(fmt::format("{}={}", param, size));
    return s;
  };
  c.check = [path, sets_at, base](const std::vector<int>& ranks, const std::vector<std::string>& modes) {
    for (const std::string& m : modes)
      for (int p : ranks) {
        const pipeline::Document d =
            pipeline::load_document(path, sets_at(m == "weak" ? base * p : base));
        pipeline::make_plan(d, p);
      }
  };
  c.make = [path, sets_at, timed](const Communicator& comm, int64_t size) {
    struct Loaded {
      pipeline::Document doc;
      std::unique_ptr<pipeline::Plan> plan;
    };
    auto l = std::make_shared<Loaded>();
    l->doc = pipeline::load_document(path, sets_at(size));
    l->plan = std::make_unique<pipeline::Plan>(pipeline::make_plan(l->doc, comm.size()));
    Problem p;
    p.shape = fmt::format("{} steps", l->plan->steps.size());
    p.timed_steps = timed;
    // The executor's own work between and around the steps (its set-up, committing the
    // saves) is part of the run: shown as a step of its own, so that the steps add up.
    p.rest_step = "(outside steps)";
    p.run = [l, comm](StepClock& clock) {
      static std::FILE* devnull = std::fopen("/dev/null", "w");
      pipeline::RunOptions o;
      o.quiet = true;
      o.out = devnull ? devnull : stdout;
      const pipeline::RunResult r = pipeline::execute(*l->plan, comm, o);
      for (const pipeline::StepTiming& t : r.steps) clock.record(t.id, t.seconds);
    };
    // The plan's promise beside the count study.cpp adds ("MB sent / rank (counted)"):
    // the steps' planned bytes of the busiest rank, summed.
    p.extras = [l](const Row&, double) {
      int64_t planned = 0;
      for (const pipeline::PlannedStep& ps : l->plan->steps) planned += ps.info.comm_bytes;
      return std::vector<Extra>{Extra{"MB sent / rank (planned)", static_cast<double>(planned) / 1e6}};
    };
    return p;
  };
  return c;
}

}  // namespace dnd::bench
