// Distributed QR: CholeskyQR2 with a Householder TSQR fallback for tall-skinny split-0
// arrays, block Householder over column panels otherwise (see qr.h).
#include "kernels/linalg/qr.h"

#include "src/core/error.h"
#include "src/core/manipulation.h"
#include "src/core/p2p.h"
#include "kernels/linalg/qr_impl.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace dnd::linalg {

namespace {

// One CholeskyQR pass on rank 0's factor of the summed Gram matrix. Returns R (n x n,
// identical on every rank) and whether it is usable; `check_orth` also rejects a Gram
// matrix far from the identity (the previous pass lost orthogonality).
bool cholesky_pass(const Communicator& comm, const at::Tensor& X, at::Tensor& R, bool check_orth) {
  const int64_t n = X.size(1);
  at::Tensor G = at::mm(X.t(), X);
  if (comm.size() > 1) allreduce_(comm, G, ReduceOp::sum);
  // R and a status flag in one message, so every rank takes the same branch.
  at::Tensor msg = at::empty({n * n + 1}, X.options());
  if (comm.rank() == 0) {
    bool ok = G.isfinite().all().item<bool>();
    if (ok && check_orth) ok = (G - at::eye(n, G.options())).norm().item<double>() <= 0.5;
    at::Tensor U;
    if (ok) {
      auto [L, info] = at::linalg_cholesky_ex(G, /*upper=*/true);
      ok = info.item<int>() == 0 && L.isfinite().all().item<bool>() &&
           L.diagonal().abs().min().item<double>() > 0;
      U = L;
    }
    if (ok) msg.narrow(0, 0, n * n).copy_(U.reshape({n * n}));
    msg[n * n] = ok ? 1.0 : 0.0;
  }
  if (comm.size() > 1) broadcast_(comm, msg, 0);
  R = msg.narrow(0, 0, n * n).view({n, n});
  return msg[n * n].item<double>() == 1.0;
}

// Householder TSQR over a binary tree; every block has at least n rows.
QrResult tsqr(const DNDarray& a, QrMode mode) {
  const Communicator& comm = a.comm();
  const Communicator& tree = kernel_comm(comm);  // the tree's messages
  const int p = comm.size(), me = comm.rank();
  const int64_t n = a.gshape()[1];
  auto [Ql, R] = at::linalg_qr(a.larray(), mode == QrMode::r ? "r" : "reduced");
  R = R.contiguous();
  // Up the tree: at level `step`, rank me (a multiple of 2 step) absorbs me + step's R.
  std::vector<std::pair<int, at::Tensor>> children;  // (child rank, the 2n x n Q of that merge)
  int parent = -1;
  for (int step = 1; step < p; step <<= 1) {
    if (me % (2 * step) == step) {
      parent = me - step;
      dnd::send(tree, R, parent);
      break;
    }
    if (me % (2 * step) == 0 && me + step < p) {
      at::Tensor other = at::empty({n, n}, R.options());
      dnd::recv(tree, other, me + step);
      auto [Qs, Rs] = at::linalg_qr(at::cat({R, other}, 0), mode == QrMode::r ? "r" : "reduced");
      if (mode == QrMode::reduced) children.emplace_back(me + step, Qs);
      R = Rs.contiguous();
    }
  }
  if (p > 1) broadcast_(comm, R, 0);
  DNDarray Rd(R, {n, n}, kReplicated, comm);
  if (mode == QrMode::r) return QrResult{std::nullopt, Rd, QrAlgorithm::cholesky_qr2, true};
  // Down the tree: each rank's n x n factor of the tree's Q, then Q_r = Ql M.
  at::Tensor M = at::eye(n, R.options());
  if (parent >= 0) dnd::recv(tree, M, parent);
  for (auto it = children.rbegin(); it != children.rend(); ++it) {
    at::Tensor both = at::mm(it->second, M);
    dnd::send(tree, both.narrow(0, n, n).contiguous(), it->first);
    M = both.narrow(0, 0, n).contiguous();
  }
  DNDarray Q(at::mm(Ql, M), a.gshape(), 0, comm, a.counts());
  return QrResult{Q, Rd, QrAlgorithm::cholesky_qr2, true};
}

detail::LazyQr cholesky_qr2(const DNDarray& a, QrMode mode, bool lazy) {
  const Communicator& comm = a.comm();
  const int64_t m = a.gshape()[0], n = a.gshape()[1];
  const at::Tensor A = a.larray();
  at::Tensor R1, R2;
  if (n == 0) {
    DNDarray R(at::empty({0, 0}, A.options()), {0, 0}, kReplicated, comm);
    std::optional<DNDarray> Q;
    if (mode == QrMode::reduced)
      Q = DNDarray(at::empty({A.size(0), 0}, A.options()), {m, 0}, 0, comm, a.counts());
    return {QrResult{Q, R, QrAlgorithm::cholesky_qr2, false}, {}, {}};
  }
  // X R^-1 as one GEMM with the (n x n) inverse: torch's trsm with the triangle on the
  // right copies X into column-major order first and runs at a fraction of the GEMM's
  // speed. The second pass's Gram check catches the accuracy this could lose.
  const at::Tensor I = at::eye(n, A.options());
  auto inverse = [&](const at::Tensor& R) { return at::linalg_solve_triangular(R, I, /*upper=*/true); };
  if (cholesky_pass(comm, A, R1, false)) {
    const at::Tensor Q1 = at::mm(A, inverse(R1));
    if (cholesky_pass(comm, Q1, R2, true)) {
      DNDarray R(at::mm(R2, R1), {n, n}, kReplicated, comm);
      if (lazy) return {QrResult{std::nullopt, R, QrAlgorithm::cholesky_qr2, false}, Q1, inverse(R2)};
      std::optional<DNDarray> Q;
      if (mode == QrMode::reduced) Q = DNDarray(at::mm(Q1, inverse(R2)), {m, n}, 0, comm, a.counts());
      return {QrResult{Q, R, QrAlgorithm::cholesky_qr2, false}, {}, {}};
    }
  }
  // Too ill-conditioned for Cholesky: Householder.
  if (m >= n * comm.size()) return {tsqr(balance(a), mode), {}, {}};
  QrResult r = qr(resplit(a, 1), mode);
  if (r.Q) r.Q = resplit(*r.Q, 0);
  r.fell_back = true;
  return {r, {}, {}};
}

// Block Householder over the column panels of an array split 1.
QrResult householder_panels(const DNDarray& a, QrMode mode) {
  const Communicator& comm = a.comm();
  const int p = comm.size(), me = comm.rank();
  const int64_t m = a.gshape()[0], n = a.gshape()[1], kk = std::min(m, n);
  const std::vector<int64_t>& cols = a.counts();
  const std::vector<int64_t> offs = counts_to_offsets(cols);
  const auto opts = a.larray().options();
  at::Tensor W = a.larray().clone(at::MemoryFormat::Contiguous);
  auto reflectors = [&](int q) { return std::min(cols[q], std::max<int64_t>(0, m - offs[q])); };
  // One panel's reflectors (geqrf's packed form) and their scalar factors, from rank q.
  auto panel = [&](int q, at::Tensor& V, at::Tensor& tau) {
    const int64_t rows = m - offs[q];
    if (me == q) {
      V = W.narrow(0, offs[q], rows);  // contiguous: whole rows of W
    } else {
      V = at::empty({rows, cols[q]}, opts);
      tau = at::empty({reflectors(q)}, opts);
    }
    if (p > 1) {
      at::Tensor Vc = V.contiguous();
      broadcast_(comm, Vc, q);
      broadcast_(comm, tau, q);
      if (me != q) V = Vc;
    }
  };
  at::Tensor my_tau;
  for (int q = 0; q < p; ++q) {
    if (reflectors(q) == 0) continue;
    at::Tensor V, tau;
    if (me == q) {
      at::Tensor block = W.narrow(0, offs[q], m - offs[q]);
      auto [F, t] = at::geqrf(block);
      block.copy_(F);
      my_tau = t;
      tau = t;
    }
    panel(q, V, tau);
    if (me > q && W.size(1) > 0) {
      at::Tensor rows = W.narrow(0, offs[q], m - offs[q]);
      rows.copy_(at::ormqr(V, tau, rows, /*left=*/true, /*transpose=*/true));
    }
  }
  // R: the top kk rows of every rank's columns, below the global diagonal zeroed.
  at::Tensor Rl = W.narrow(0, 0, kk).triu(-offs[static_cast<size_t>(me)]).contiguous();
  DNDarray R(allgather(DNDarray(Rl, {kk, n}, 1, comm, cols)), {kk, n}, kReplicated, comm);
  if (mode == QrMode::r) return QrResult{std::nullopt, R, QrAlgorithm::householder_panels, false};
  // Q = H_0 ... H_{p-1} applied to this rank's columns of the identity, last panel first.
  const std::vector<int64_t> qcols = balanced_counts(kk, p), qoffs = counts_to_offsets(qcols);
  at::Tensor E = at::zeros({m, qcols[static_cast<size_t>(me)]}, opts);
  for (int64_t j = 0; j < E.size(1); ++j) E[qoffs[static_cast<size_t>(me)] + j][j] = 1;
  for (int q = p - 1; q >= 0; --q) {
    if (reflectors(q) == 0) continue;
    at::Tensor V, tau = me == q ? my_tau : at::Tensor();
    panel(q, V, tau);
    if (E.size(1) > 0) {
      at::Tensor rows = E.narrow(0, offs[q], m - offs[q]);
      rows.copy_(at::ormqr(V, tau, rows, /*left=*/true, /*transpose=*/false));
    }
  }
  DNDarray Q(E, {m, kk}, 1, comm, qcols);
  return QrResult{Q, R, QrAlgorithm::householder_panels, false};
}

}  // namespace

QrPlan plan_qr(const DNDarray& a, QrMode mode) {
  return plan_qr(a.gshape(), a.split(), a.comm().size(), a.dtype(), mode);
}

namespace {

// NaN or infinity would make R depend on the split (CholeskyQR2 falls back to TSQR on
// some ranks' data only): refused on every rank, as kmeans refuses it. Collective.
void refuse_non_finite(const DNDarray& a) {
  const at::Tensor x = a.larray().reshape({-1});
  int64_t bad = 0;
  constexpr int64_t kPiece = int64_t{1} << 16;  // no block-sized bool temporary
  for (int64_t i = 0; i < x.numel() && !bad; i += kPiece)
    bad = at::isfinite(x.narrow(0, i, std::min(kPiece, x.numel() - i))).all().item<bool>() ? 0 : 1;
  if (allreduce_value(a.comm(), bad, ReduceOp::max) != 0)
    throw ValueError(fmt::format("qr: the matrix holds NaN or infinity (gshape={}, split={})",
                                 shape_str(a.gshape()), split_str(a.split())));
}

}  // namespace

QrResult qr(const DNDarray& a, QrMode mode) {
  const QrPlan plan = plan_qr(a, mode);  // throws alike on every rank before anything is sent
  if (a.device() != DeviceKind::cpu && a.comm().size() > 1)
    throw TypeError("qr: distributed factorisations need cpu arrays (move them with to_device)");
  refuse_non_finite(a);
  const Communicator& comm = a.comm();
  if (!a.split()) {
    auto [Q, R] = at::linalg_qr(a.larray(), mode == QrMode::r ? "r" : "reduced");
    std::optional<DNDarray> Qd;
    if (mode == QrMode::reduced) Qd = DNDarray(Q.contiguous(), plan.q_shape, kReplicated, comm);
    return QrResult{Qd, DNDarray(R.contiguous(), plan.r_shape, kReplicated, comm), QrAlgorithm::local,
                    false};
  }
  if (plan.algorithm == QrAlgorithm::cholesky_qr2) return cholesky_qr2(a, mode, false).result;
  if (*a.split() == 1) return householder_panels(a, mode);
  QrResult r = householder_panels(resplit(a, 1), mode);
  if (r.Q) r.Q = resplit(*r.Q, 0);
  return r;
}

detail::LazyQr detail::qr_lazy(const DNDarray& a) {
  const QrPlan plan = plan_qr(a, QrMode::reduced);
  if (a.split() && plan.algorithm == QrAlgorithm::cholesky_qr2) {
    refuse_non_finite(a);
    return cholesky_qr2(a, QrMode::reduced, true);
  }
  return {qr(a, QrMode::reduced), {}, {}};
}

}  // namespace dnd::linalg
