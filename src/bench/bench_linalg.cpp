// dnd-bench-linalg: distributed matmul, QR and SVD against torch on one process, in one run.
//
//   mpirun -n 2 build/dnd-bench-linalg [--n 4096] [--m 1000000] [--k 64]
//
// matmul: an n x n float32 product for each split pair; the figure is GFLOP/s per rank
// (2 n^3 / time / ranks) next to at::mm of the whole matrices on rank 0 alone, with the
// same threads per rank, while the other ranks sleep. QR and SVD: an m x k float32 array
// split 0 (tall-skinny), dnd's qr (CholeskyQR2) and svd (method tsqr) next to
// torch.linalg.qr / torch.linalg.svd of the whole array on rank 0 alone, with the
// relative reconstruction error and the loss of orthogonality of both.
// Times: slowest rank, median of repeats after a warm-up.
#include "src/core/communicator.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "src/core/runtime.h"
#include "src/bench/timing.h"
#include "kernels/linalg/matmul.h"
#include "kernels/linalg/qr.h"
#include "kernels/linalg/svd.h"

#include <ATen/ATen.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

using namespace dnd;
namespace la = dnd::linalg;

namespace {

// ||Q^T Q - I||_F of a split-0 Q (one allreduce of k x k).
double orth_error(const DNDarray& Q) {
  at::Tensor G = at::mm(Q.larray().t().to(at::kDouble), Q.larray().to(at::kDouble));
  if (Q.split()) allreduce_(Q.comm(), G, ReduceOp::sum);
  return (G - at::eye(G.size(0), G.options())).norm().item<double>();
}

// ||X - Y||_F / ||X||_F of two arrays with the same split and counts.
double rel_error(const DNDarray& x, const at::Tensor& y_local) {
  const at::Tensor xl = x.larray().to(at::kDouble), yl = y_local.to(at::kDouble);
  double num = (xl - yl).pow(2).sum().item<double>(), den = xl.pow(2).sum().item<double>();
  if (x.split()) {
    num = allreduce_value(x.comm(), num, ReduceOp::sum);
    den = allreduce_value(x.comm(), den, ReduceOp::sum);
  }
  return std::sqrt(num / den);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dnd linear-algebra benchmark: matmul, QR, SVD vs torch on one process"};
  int64_t n = 4096, m = 1000000, k = 64;
  int reps = 3, warmup = 1, threads = 0;
  bool skip_matmul = false, skip_factor = false;
  app.add_option("--n", n, "matmul: n x n times n x n float32")->capture_default_str();
  app.add_option("--m", m, "QR/SVD: rows of the tall-skinny array")->capture_default_str();
  app.add_option("--k", k, "QR/SVD: columns of the tall-skinny array")->capture_default_str();
  app.add_option("--repeat", reps, "timed repeats")->capture_default_str();
  app.add_option("--warmup", warmup, "untimed runs first")->capture_default_str();
  app.add_option("--threads", threads,
                 "torch threads per rank (0: DND_NUM_THREADS, else cores / ranks)");
  app.add_flag("--skip-matmul", skip_matmul, "only QR and SVD");
  app.add_flag("--skip-factor", skip_factor, "only matmul");
  CLI11_PARSE(app, argc, argv);

  Runtime runtime(&argc, &argv, RuntimeOptions{threads, false});
  const Communicator comm = Communicator::world();
  const int p = comm.size();
  if (comm.rank() == 0)
    fmt::print("dnd-bench-linalg: {} ranks, {} threads per rank, {}\n", p, dnd::threads(), blas_info());

  if (!skip_matmul) {
    const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
    const ArrayOptions f32 = ArrayOptions{}.with_dtype(at::kFloat);
    at::Tensor A, B, C;
    const double t_mm = bench::measure_solo(comm, warmup, reps, [&] {
                          if (!A.defined()) {
                            A = at::rand({n, n}, at::kFloat);
                            B = at::rand({n, n}, at::kFloat);
                            C = at::empty({n, n}, at::kFloat);
                          }
                          at::mm_out(C, A, B);
                        }).median;
    A = B = C = at::Tensor();
    const double local = flops / t_mm / 1e9;
    if (comm.rank() == 0) {
      fmt::print("\nmatmul {} x {} float32: GFLOP/s per rank; baseline at::mm on one process\n", n, n);
      fmt::print("{:<22} {:>10} {:>14} {:>10} {:>16} {:>14}\n", "a.split x b.split", "median s",
                 "GFLOP/s/rank", "vs at::mm", "algorithm", "MiB sent/rank");
      fmt::print("{:<22} {:>10.4f} {:>14.1f} {:>10} {:>16} {:>14}\n", "at::mm (baseline)", t_mm, local,
                 "100%", "-", "-");
    }
    for (Split sa : {kReplicated, Split(0), Split(1)})
      for (Split sb : {kReplicated, Split(0), Split(1)}) {
        const DNDarray a = random_uniform({n, n}, 1, 0, 1, ArrayOptions(f32).with_split(sa));
        const DNDarray b = random_uniform({n, n}, 2, 0, 1, ArrayOptions(f32).with_split(sb));
        const la::MatmulPlan plan = la::plan_matmul(a, b);
        const double t =
            bench::measure(comm, warmup, reps, [&] { DNDarray c = la::matmul(a, b); }).median;
        const double per_rank = flops / t / p / 1e9;
        if (comm.rank() == 0)
          fmt::print("{:<22} {:>10.4f} {:>14.1f} {:>9.0f}% {:>16} {:>14.1f}\n",
                     fmt::format("{} x {}", split_str(sa), split_str(sb)), t, per_rank,
                     100 * per_rank / local, la::algorithm_name(plan.algorithm),
                     static_cast<double>(plan.max_bytes_sent()) / (1 << 20));
      }
  }

  if (!skip_factor) {
    const ArrayOptions f32 = ArrayOptions{}.with_dtype(at::kFloat);
    const DNDarray a = random_normal({m, k}, 3, 0, 1, ArrayOptions(f32).with_split(0));
    // torch on one process: the same global array on rank 0 (values depend on the seed only).
    at::Tensor full;
    double t_tqr = 0, t_tsvd = 0, e_tqr = 0, o_tqr = 0, e_tsvd = 0, o_tsvd = 0;
    if (comm.rank() == 0)
      full = random_normal({m, k}, 3, 0, 1, ArrayOptions(f32).with_comm(Communicator::self())).larray();
    t_tqr = bench::measure_solo(comm, warmup, reps, [&] { auto qr = at::linalg_qr(full); }).median;
    t_tsvd =
        bench::measure_solo(comm, warmup, reps, [&] { auto s = at::linalg_svd(full, false); }).median;
    if (comm.rank() == 0) {
      auto [Q, R] = at::linalg_qr(full);
      const double an = full.to(at::kDouble).norm().item<double>();
      e_tqr = (at::mm(Q, R) - full).to(at::kDouble).norm().item<double>() / an;
      o_tqr = (at::mm(Q.t(), Q).to(at::kDouble) - at::eye(k, at::kDouble)).norm().item<double>();
      auto [U, S, Vh] = at::linalg_svd(full, false);
      e_tsvd = (at::mm(U * S, Vh) - full).to(at::kDouble).norm().item<double>() / an;
      o_tsvd = (at::mm(U.t(), U).to(at::kDouble) - at::eye(k, at::kDouble)).norm().item<double>();
    }
    full = at::Tensor();
    const double t_qr = bench::measure(comm, warmup, reps, [&] { la::QrResult r = la::qr(a); }).median;
    la::SvdOptions so;
    so.method = la::SvdMethod::tsqr;
    const double t_svd =
        bench::measure(comm, warmup, reps, [&] { la::SvdResult r = la::svd(a, so); }).median;
    const la::QrResult qr = la::qr(a);
    const double e_qr = rel_error(a, at::mm(qr.Q->larray(), qr.R.larray())), o_qr = orth_error(*qr.Q);
    const la::SvdResult sv = la::svd(a, so);
    const double e_svd = rel_error(a, at::mm(sv.U->larray() * sv.S.larray(), sv.V->larray().t()));
    const double o_svd = orth_error(*sv.U);
    if (comm.rank() == 0) {
      fmt::print("\n{} x {} float32 split 0 (tall-skinny); baseline torch on one process\n", m, k);
      fmt::print("{:<34} {:>10} {:>10} {:>14} {:>14}\n", "operation", "median s", "vs torch",
                 "||A-QR||/||A||", "||Q^TQ-I||");
      fmt::print("{:<34} {:>10.4f} {:>10} {:>14.2e} {:>14.2e}\n", "torch.linalg.qr (baseline)", t_tqr,
                 "1.00x", e_tqr, o_tqr);
      fmt::print("{:<34} {:>10.4f} {:>9.2f}x {:>14.2e} {:>14.2e}\n",
                 fmt::format("dnd qr ({}{})", la::algorithm_name(qr.algorithm),
                             qr.fell_back ? ", fell back" : ""),
                 t_qr, t_tqr / t_qr, e_qr, o_qr);
      fmt::print("{:<34} {:>10.4f} {:>10} {:>14.2e} {:>14.2e}\n", "torch.linalg.svd (baseline)", t_tsvd,
                 "1.00x", e_tsvd, o_tsvd);
      fmt::print("{:<34} {:>10.4f} {:>9.2f}x {:>14.2e} {:>14.2e}\n", "dnd svd (tsqr)", t_svd,
                 t_tsvd / t_svd, e_svd, o_svd);
    }
  }
  return 0;
}
