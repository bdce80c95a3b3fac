// Distributed singular value decomposition a ~= U diag(S) V^T of a 2-D array.
//
// Methods (SvdOptions in plan.h):
// - tsqr (exact): qr(a) (CholeskyQR2 / TSQR for tall split-0 arrays, see qr.h), then the
//   SVD of the small replicated R on rank 0 (broadcast), U = Q U_R. A wide array goes
//   through its transpose. Truncated to `rank` when given; error_bound is then the norm
//   of the discarded singular values (exact).
// - hsvd (Heat's hierarchical SVD, truncated): every rank takes the SVD of its block and
//   keeps the leading vectors of the axis that is not split (scaled by their singular
//   values); pairs of ranks merge theirs with another SVD up a binary tree, each node
//   truncating at `rank` and/or discarding a tail whose squared norm stays within
//   rtol^2 ||a||_F^2 / (number of nodes). The root's vectors V are broadcast and the
//   factorisation is finished exactly on the projection a V (a tall-skinny tsqr SVD), so
//   U and V have orthonormal columns and U S V^T = a V V^T. error_bound is
//   sqrt(sum of everything discarded), a rigorous bound on ||a - U S V^T||_F (Iwen & Ong
//   2016); the kept rank depends on the tree, so on the rank count, within that bound.
// - randomized (Halko, Martinsson & Tropp 2011): Y = a Omega with a seeded Gaussian
//   Omega (n x (rank + oversample), the same at any rank count), power iterations with
//   re-orthonormalisation by qr, B = Q^T a, the exact SVD of B, U = Q U_B; truncated to
//   rank. error_bound is ||a - U S V^T||_F computed as sqrt(||a||_F^2 - ||S||^2).
// - auto: hsvd when rtol is given, randomized when a rank below min(m, n) / 2 is asked,
//   tsqr otherwise.
//
// Layout of the results: S replicated. When a is split, the long factor (U when m >= n,
// else V) is split along its rows and the short one replicated, except for hsvd, where
// the factor along a's split axis is split (U for split 0, V for split 1) and the other
// replicated. A replicated a gives replicated results.
//
// Collective over a's communicator. float32 / float64 only.
#pragma once

#include "src/core/dndarray.h"
#include "kernels/linalg/plan.h"

#include <optional>

namespace dnd::linalg {

struct SvdResult {
  std::optional<DNDarray> U;  // m x r (absent when !compute_uv)
  DNDarray S;                 // r, descending
  std::optional<DNDarray> V;  // n x r (absent when !compute_uv)
  SvdMethod method;           // what ran (never automatic)
  double error_bound = 0;     // see above; 0 for an untruncated tsqr
};

SvdResult svd(const DNDarray& a, const SvdOptions& options = {});

SvdPlan plan_svd(const DNDarray& a, const SvdOptions& options = {});

}  // namespace dnd::linalg
