// Distributed QR factorisation of a 2-D array: a = Q R, Q with orthonormal columns split
// like a, R upper triangular (trapezoidal when wide) and replicated.
//
// Algorithms (plan_qr in plan.h says which one a call takes, from metadata):
// - replicated: LAPACK Householder QR on every rank.
// - split 0 with m >= n (tall-skinny): CholeskyQR2. The Gram matrix a^T a is summed over
//   ranks (one allreduce of n x n), rank 0 factors it (Cholesky) and broadcasts R1, every
//   rank forms Q1 = a_r R1^-1 (one GEMM with the small inverse); the same again on Q1 makes Q
//   orthonormal to rounding (R = R2 R1). Everything but a few n x n factorisations is GEMM, so it runs
//   near the BLAS peak. The second pass's Gram matrix measures the first's loss of orthogonality: when
//   Cholesky fails or ||Q1^T Q1 - I||_F > 1/2 (cond(a) beyond about u^-1/2: 1e8 in float64, 4e3 in
//   float32; rank-deficient a), qr falls back to Householder TSQR: a local Householder QR per rank and a
//   binary reduction tree of the n x n R factors, with Q assembled by sending each rank its n x n piece
//   of the tree's Q back down (no rank gathers a). TSQR needs every block to hold at least n rows; when
//   m < n p the fallback is the panel algorithm below.
// - split 1 (any shape), and split 0 with m < n (resplit to 1 first, Q back to 0): block
//   Householder over the column panels split 1 gives each rank. Rank q factors its panel
//   (geqrf of rows q's diagonal offset and below) once every earlier panel's reflectors
//   have reached it, and broadcasts its reflectors; later ranks apply them to their
//   columns (ormqr, BLAS-3). Q is formed by applying the reflectors in reverse to this
//   rank's columns of the identity (a second broadcast sweep). Chosen over CholeskyQR2
//   for square and wide matrices because it is unconditionally stable and handles
//   rank-deficient and wide a; each rank holds one received panel at a time.
//
// Collective over a's communicator. float32 / float64 only.
#pragma once

#include "src/core/dndarray.h"
#include "kernels/linalg/plan.h"

#include <optional>

namespace dnd::linalg {

struct QrResult {
  std::optional<DNDarray> Q;  // m x min(m, n), split like a; empty in mode r
  DNDarray R;                 // min(m, n) x n, replicated
  QrAlgorithm algorithm;      // what ran
  bool fell_back = false;     // CholeskyQR2 was rejected and Householder ran instead
};

QrResult qr(const DNDarray& a, QrMode mode = QrMode::reduced);

// plan_qr with a's metadata.
QrPlan plan_qr(const DNDarray& a, QrMode mode = QrMode::reduced);

}  // namespace dnd::linalg
