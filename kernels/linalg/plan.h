// What the distributed linear-algebra kernels will do, from metadata alone: result shapes,
// splits and dtypes, the algorithm, and the bytes each rank sends. No data, no MPI: the
// planner calls these before anything runs, and the kernels (matmul.h, qr.h, svd.h) call
// the same functions with the operands' actual counts, so plan and run cannot disagree.
//
// Result split of matmul (c = a @ b, a is n x k, b is k x m; "row"/"col" are the last two
// axes; batch axes lead):
//
//   | a.split \ b.split | None | row (k) | col (m) |
//   |-------------------|------|---------|---------|
//   | None              | None | col     | col     |
//   | row (n)           | row  | row     | row     |
//   | col (k)           | row  | row     | col     |
//
//   1. a split along its rows -> c split along rows (a's counts);
//   2. else b split along its columns -> c split along columns (b's counts);
//   3. else a split along the contraction axis -> rows (balanced), reduced onto them;
//   4. else b split along the contraction axis -> columns (balanced);
//   5. else replicated.
//   An axis that a 1-D operand adds and the result drops never carries the split: then
//   the other free axis does (a vector times a matrix split along k gives a result split
//   along m), and a dot product of split vectors is replicated.
//   A split batch axis stays where it is: c is split along that batch axis (the other
//   operand, when split elsewhere along the same full batch axis, is resplit to match).
//
// Unlike Heat, which returns a replicated c for (None, 0) and (1, None) after an
// allreduce, dnd always keeps the result split when an operand is split: every rank
// ends with 1/p of c and sends at most (p-1)/p of it (a reduce-scatter), never a full-size
// replicated copy. Algorithms: local for (None|row, None) and (None, col); a ring that
// rotates b's blocks (a split along rows, b along rows or columns) or a's column blocks
// ((col, col)), overlapping the next block's transfer with the current product; a ring
// reduce-scatter of partial products when only the contraction axis is split, or a
// resplit of the split operand followed by a local product when that sends fewer bytes.
#pragma once

#include "src/core/types.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dnd::linalg {

// How matmul computes the product (the algorithm names of the plans).
enum class MatmulAlgorithm {
  local,           // no communication
  ring_b,          // b's blocks travel round the ring; c keeps a's row split
  ring_a,          // a's column blocks travel round the ring; c keeps b's column split
  reduce_scatter,  // partial products over the split contraction axis, reduced in a ring
  resplit_a,       // a resplit from columns to rows, then local
  resplit_b,       // b resplit from rows to columns, then local
  allreduce,       // dot product of split vectors: partial sums, then an allreduce
};
std::string algorithm_name(MatmulAlgorithm a);

struct MatmulPlan {
  Shape shape;  // of the result
  Split split;  // of the result
  Dtype dtype;  // the promoted dtype of a and b
  MatmulAlgorithm algorithm = MatmulAlgorithm::local;
  // Operands aligned before the product (an unbalanced contraction axis, a split batch
  // axis): bytes of those moves are included in bytes_sent.
  bool aligns_b = false;
  std::vector<int64_t> bytes_sent;  // per rank, everything this rank sends
  int64_t max_bytes_sent() const;
  int64_t total_bytes_sent() const;
  std::string describe() const;  // e.g. "ring_b: c (4096, 4096) split 0, 32.0 MiB sent per rank"
};

// The plan of matmul(a, b) for balanced operands on `nranks` ranks. Shapes follow numpy's
// matmul: 1-D operands are promoted (a to a row, b to a column) and the added axis is
// dropped, batch axes broadcast. Throws ShapeError for mismatched or 0-d shapes,
// ValueError for a split out of range or a combination that would need a full copy of a
// split operand (a split batch axis against a broadcast one), TypeError for bool.
MatmulPlan plan_matmul(const Shape& a, Split sa, const Shape& b, Split sb, int nranks, Dtype da,
                       Dtype db);
// The same with the operands' actual counts along their split axes (what the kernel uses).
MatmulPlan plan_matmul(const Shape& a, Split sa, const std::vector<int64_t>& counts_a, const Shape& b,
                       Split sb, const std::vector<int64_t>& counts_b, int nranks, Dtype da, Dtype db);
// outer(a, b) of 1-D a (n) and b (m): a (n, 1) @ b (1, m) without dropping axes, so a's
// split is the rows' and b's the columns'.
MatmulPlan plan_outer(const Shape& a, Split sa, const Shape& b, Split sb, int nranks, Dtype da,
                      Dtype db);

// ---- QR ---------------------------------------------------------------------------------

enum class QrMode { reduced, r };  // Q and R, or R only

enum class QrAlgorithm {
  local,               // replicated: LAPACK geqrf on every rank
  cholesky_qr2,        // split 0, m >= n: two passes of Gram matrix (allreduce) + Cholesky + trsm;
                       // falls back to Householder TSQR when the Gram matrix is too ill-conditioned
  householder_panels,  // split 1 (and split 0 with m < n via a resplit): block Householder
                       // over the column panels that split 1 gives each rank
};
std::string algorithm_name(QrAlgorithm a);

struct QrPlan {
  Shape q_shape, r_shape;  // Q is m x min(m, n) (empty when mode is r), R min(m, n) x n
  Split q_split, r_split;  // Q split like a, R replicated
  Dtype dtype;
  QrAlgorithm algorithm = QrAlgorithm::local;
  bool resplits = false;            // split 0 with m < n: a is resplit to 1 and Q back to 0
  std::vector<int64_t> bytes_sent;  // per rank, the main path (the fallback is data-dependent)
  int64_t max_bytes_sent() const;
  std::string describe() const;
};

// Throws ShapeError unless a is 2-D, TypeError unless float32/float64, ValueError for a
// split out of range.
QrPlan plan_qr(const Shape& a, Split split, int nranks, Dtype dtype, QrMode mode = QrMode::reduced);

// ---- SVD --------------------------------------------------------------------------------

enum class SvdMethod { automatic, tsqr, hsvd, randomized };
std::string method_name(SvdMethod m);
// "auto", "tsqr", "hsvd", "randomized"; throws ValueError naming them otherwise.
SvdMethod parse_svd_method(const std::string& name);

struct SvdOptions {
  SvdMethod method = SvdMethod::automatic;
  // Truncation: keep at most `rank` singular triplets (hsvd, randomized; 0 = all).
  int64_t rank = 0;
  // hsvd: relative tolerance; the discarded part's norm stays below rtol * ||a||_F.
  std::optional<double> rtol;
  // randomized (Halko, Martinsson, Tropp 2011): oversampling, power iterations, seed.
  int64_t oversample = 10;
  int64_t power_iterations = 2;
  uint64_t seed = 0;
  // S only: no U and V are formed.
  bool compute_uv = true;
};

struct SvdPlan {
  SvdMethod method;                 // resolved (never automatic)
  Shape u_shape, s_shape, v_shape;  // U m x r, S r, V n x r (r = min(m, n) unless truncated;
                                    // for hsvd with rtol, r is known only at run time: the bound)
  Split u_split, s_split, v_split;
  Dtype dtype;
  std::vector<int64_t> bytes_sent;  // per rank, approximate for truncated methods
  int64_t max_bytes_sent() const;
  std::string describe() const;
};

// auto: hsvd when rtol is given, randomized when a rank below min(m, n) / 2 is asked,
// else tsqr (exact). tsqr is exact for any shape and split (QR, then the SVD of the small
// R; a wide matrix goes through its transpose, so then V carries a's distribution).
// Throws like plan_qr, and ValueError for bad options (rank < 0, rtol outside (0, 1),
// a truncated method without rank or rtol, oversample < 0, power_iterations < 0).
SvdPlan plan_svd(const Shape& a, Split split, int nranks, Dtype dtype, const SvdOptions& options = {});

}  // namespace dnd::linalg
