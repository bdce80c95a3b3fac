// Distributed SVD: exact via QR (tsqr), hierarchical (hsvd), randomized (see svd.h).
#include "kernels/linalg/svd.h"

#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "src/core/p2p.h"
#include "src/core/shape_ops.h"
#include "kernels/linalg/matmul.h"
#include "kernels/linalg/qr.h"
#include "kernels/linalg/qr_impl.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace dnd::linalg {

namespace {

double frob2(const DNDarray& a) {
  const double mine = a.larray().numel() ? a.larray().to(at::kDouble).pow(2).sum().item<double>() : 0.0;
  return a.split() ? allreduce_value(a.comm(), mine, ReduceOp::sum) : mine;
}

// The first r columns of a 2-D array that is replicated or split along its rows.
DNDarray first_cols(const DNDarray& x, int64_t r) {
  at::Tensor t = x.larray().narrow(1, 0, r).contiguous();
  if (!x.split()) return DNDarray(t, {x.gshape()[0], r}, kReplicated, x.comm());
  DND_ASSERT(*x.split() == 0, "first_cols: split along rows only");
  return DNDarray(t, {x.gshape()[0], r}, 0, x.comm(), x.counts());
}

DNDarray first_of(const DNDarray& s, int64_t r) {
  return DNDarray(s.larray().narrow(0, 0, r).contiguous(), {r}, kReplicated, s.comm());
}

// Rank 0's tensor on every rank (shape included). `t` matters on rank 0 only.
at::Tensor bcast_from0(const Communicator& comm, at::Tensor t, const at::TensorOptions& opts) {
  if (comm.size() == 1) return t.contiguous();
  at::Tensor shape = at::zeros({3}, at::kLong);
  if (comm.rank() == 0) {
    shape[0] = t.dim();
    for (int64_t d = 0; d < t.dim(); ++d) shape[d + 1] = t.size(d);
  }
  broadcast_(comm, shape, 0);
  std::vector<int64_t> sizes;
  for (int64_t d = 0; d < shape[0].item<int64_t>(); ++d) sizes.push_back(shape[d + 1].item<int64_t>());
  at::Tensor out = comm.rank() == 0 ? t.contiguous() : at::empty(sizes, opts);
  broadcast_(comm, out, 0);
  return out;
}

// Keeps the long factor split along its rows and the short one replicated (svd.h).
void layout(SvdResult& r, const DNDarray& a) {
  if (!a.split() || !r.U || !r.V) return;
  const bool u_long = a.gshape()[0] >= a.gshape()[1];
  r.U = resplit(*r.U, u_long ? Split(0) : kReplicated);
  r.V = resplit(*r.V, u_long ? kReplicated : Split(0));
}

// How many leading singular values to keep: at most `cap`, none that are zero to
// rounding, and drop a tail whose squared norm fits in `budget`. Adds the dropped
// squared norm to `discarded`.
int64_t keep_count(const at::Tensor& s, int64_t cap, double budget, int64_t dim, double& discarded) {
  const at::Tensor sd = s.to(at::kDouble);
  const int64_t len = sd.numel();
  if (len == 0) return 0;
  const auto* v = sd.data_ptr<double>();
  const double eps = s.scalar_type() == at::kFloat ? 1.2e-7 : 2.3e-16;
  int64_t k = std::min(cap, len);
  while (k > 0 && v[k - 1] <= v[0] * eps * static_cast<double>(dim)) --k;
  double tail = 0;
  for (int64_t i = k; i < len; ++i) tail += v[i] * v[i];
  while (k > 0 && tail + v[k - 1] * v[k - 1] <= budget) {
    tail += v[k - 1] * v[k - 1];
    --k;
  }
  discarded += tail;
  return k;
}

SvdResult svd_tsqr(const DNDarray& a, const SvdOptions& o) {
  const Communicator& comm = a.comm();
  const int64_t m = a.gshape()[0], n = a.gshape()[1];
  if (m < n && a.split()) {
    SvdResult r = svd_tsqr(transpose(a), o);
    std::swap(r.U, r.V);
    return r;
  }
  const int64_t kk = std::min(m, n), r = o.rank > 0 ? std::min(o.rank, kk) : kk;
  at::Tensor Ur, S, Vh, R;
  std::optional<DNDarray> Q;
  at::Tensor X, T;  // Q = X T when the QR leaves it unformed
  if (a.split()) {
    if (o.compute_uv) {
      detail::LazyQr f = detail::qr_lazy(a);
      Q = f.result.Q;
      R = f.result.R.larray();
      X = f.X;
      T = f.T;
    } else {
      R = qr(a, QrMode::r).R.larray();
    }
  } else {
    R = a.larray();
  }
  // The small SVD on rank 0 (every rank holds the same R; one answer for all of them).
  if (comm.rank() == 0 || !a.split()) {
    if (o.compute_uv)
      std::tie(Ur, S, Vh) = at::linalg_svd(R, /*full_matrices=*/false);
    else
      S = at::linalg_svdvals(R);
  }
  const auto opts = a.larray().options();
  if (a.split()) {
    S = bcast_from0(comm, S, opts);
    if (o.compute_uv) {
      Ur = bcast_from0(comm, Ur, opts);
      Vh = bcast_from0(comm, Vh, opts);
    }
  }
  double bound = 0;
  if (r < S.numel()) bound = S.narrow(0, r, S.numel() - r).to(at::kDouble).norm().item<double>();
  SvdResult out{std::nullopt, DNDarray(S.narrow(0, 0, r).contiguous(), {r}, kReplicated, comm),
                std::nullopt, SvdMethod::tsqr, bound};
  if (!o.compute_uv) return out;
  at::Tensor Urr = Ur.narrow(1, 0, r).contiguous();
  out.V = DNDarray(Vh.narrow(0, 0, r).t().contiguous(), {n, r}, kReplicated, comm);
  if (X.defined())
    out.U = DNDarray(at::mm(X, at::mm(T, Urr)), {m, r}, 0, comm, a.counts());
  else if (a.split())
    out.U = matmul(*Q, DNDarray(Urr, {kk, r}, kReplicated, comm));
  else
    out.U = DNDarray(Urr, {m, r}, kReplicated, comm);
  layout(out, a);
  return out;
}

SvdResult hsvd(const DNDarray& a, const SvdOptions& o) {
  if (a.split() && *a.split() == 1) {
    SvdResult r = hsvd(transpose(a), o);
    std::swap(r.U, r.V);
    return r;
  }
  const Communicator& comm = a.comm();
  const int p = a.split() ? comm.size() : 1, me = comm.rank();
  const Communicator& tree = kernel_comm(comm);  // the tree's messages
  const int64_t n = a.gshape()[1];
  const auto opts = a.larray().options();
  const double norm2 = frob2(a);
  const double budget = o.rtol ? (*o.rtol) * (*o.rtol) * norm2 / static_cast<double>(2 * p - 1) : 0.0;
  const int64_t cap = o.rank > 0 ? o.rank : std::numeric_limits<int64_t>::max();
  double discarded = 0;
  // Leaf: this block's leading right singular vectors (basis) and basis * s (what merges).
  at::Tensor basis = at::empty({n, 0}, opts), scaled = basis;
  const at::Tensor A = a.larray();
  if (A.size(0) > 0 && n > 0) {
    auto [U, s, Vh] = at::linalg_svd(A, /*full_matrices=*/false);
    const int64_t k = keep_count(s, cap, budget, std::max(A.size(0), n), discarded);
    basis = Vh.narrow(0, 0, k).t().contiguous();
    scaled = basis * s.narrow(0, 0, k);
  }
  // Up a binary tree to rank 0.
  for (int step = 1; step < p; step <<= 1) {
    if (me % (2 * step) == step) {
      at::Tensor cols = at::full({1}, scaled.size(1), at::kLong);
      dnd::send(tree, cols, me - step);
      if (scaled.numel() > 0) dnd::send(tree, scaled.contiguous(), me - step);
      break;
    }
    if (me % (2 * step) == 0 && me + step < p) {
      at::Tensor cols = at::empty({1}, at::kLong);
      dnd::recv(tree, cols, me + step);
      at::Tensor other = at::empty({n, cols.item<int64_t>()}, opts);
      if (other.numel() > 0) dnd::recv(tree, other, me + step);
      at::Tensor both = at::cat({scaled, other}, 1);
      if (both.size(1) == 0) continue;
      auto [U, s, Vh] = at::linalg_svd(both, /*full_matrices=*/false);
      const int64_t k = keep_count(s, cap, budget, std::max(both.size(1), n), discarded);
      basis = U.narrow(1, 0, k).contiguous();
      scaled = basis * s.narrow(0, 0, k);
    }
  }
  if (p > 1) {
    basis = bcast_from0(comm, basis, opts);
    discarded = allreduce_value(comm, discarded, ReduceOp::sum);
  }
  const int64_t r = basis.size(1);
  // Finish exactly on the projection a V: its tall-skinny SVD gives orthonormal U and V.
  const DNDarray X = a.split() ? DNDarray(at::mm(A, basis), {a.gshape()[0], r}, 0, comm, a.counts())
                               : DNDarray(at::mm(A, basis), {a.gshape()[0], r}, kReplicated, comm);
  SvdOptions exact;
  exact.compute_uv = o.compute_uv;
  SvdResult fx = svd_tsqr(X, exact);
  SvdResult out{fx.U, fx.S, std::nullopt, SvdMethod::hsvd, std::sqrt(discarded)};
  if (o.compute_uv) {
    const at::Tensor W = fx.V->larray();  // replicated r x r (X is tall)
    out.V = DNDarray(at::mm(basis, W), {n, W.size(1)}, kReplicated, comm);
    if (out.U->split()) out.U = resplit(*out.U, 0);
  }
  return out;
}

SvdResult randomized(const DNDarray& a, const SvdOptions& o) {
  const Communicator& comm = a.comm();
  const int64_t m = a.gshape()[0], n = a.gshape()[1], kk = std::min(m, n);
  const int64_t r = std::min(o.rank, kk), l = std::min(r + o.oversample, kk);
  const ArrayOptions ao = ArrayOptions{}.with_dtype(a.dtype()).with_comm(comm);
  const DNDarray omega = random_normal({n, l}, o.seed, 0.0, 1.0, ao);
  DNDarray Q = *qr(matmul(a, omega)).Q;
  for (int64_t it = 0; it < o.power_iterations; ++it) {
    DNDarray Z = transpose(matmul(transpose(Q), a));  // a^T Q, n x l
    if (Z.split()) Z = resplit(Z, 0);
    Q = *qr(matmul(a, *qr(Z).Q)).Q;
  }
  const DNDarray B = matmul(transpose(Q), a);  // l x n
  SvdOptions exact;
  exact.compute_uv = o.compute_uv;
  SvdResult fb = svd_tsqr(B, exact);
  SvdResult out{std::nullopt, first_of(fb.S, r), std::nullopt, SvdMethod::randomized, 0};
  const double kept = out.S.larray().to(at::kDouble).pow(2).sum().item<double>();
  out.error_bound = std::sqrt(std::max(0.0, frob2(a) - kept));
  if (!o.compute_uv) return out;
  DNDarray UB = fb.U->split() && *fb.U->split() != 0 ? resplit(*fb.U, 0) : *fb.U;
  DNDarray VB = fb.V->split() && *fb.V->split() != 0 ? resplit(*fb.V, 0) : *fb.V;
  out.U = matmul(Q, first_cols(UB, r));
  out.V = first_cols(VB, r);
  layout(out, a);
  return out;
}

}  // namespace

SvdPlan plan_svd(const DNDarray& a, const SvdOptions& o) {
  return plan_svd(a.gshape(), a.split(), a.comm().size(), a.dtype(), o);
}

SvdResult svd(const DNDarray& a, const SvdOptions& o) {
  const SvdPlan plan = plan_svd(a, o);  // throws alike on every rank before anything is sent
  if (a.device() != DeviceKind::cpu && a.comm().size() > 1)
    throw TypeError("svd: distributed factorisations need cpu arrays (move them with to_device)");
  switch (plan.method) {
    case SvdMethod::hsvd:
      return hsvd(a, o);
    case SvdMethod::randomized:
      return randomized(a, o);
    default:
      return svd_tsqr(a, o);
  }
}

}  // namespace dnd::linalg
