// Distributed matrix products: matmul (numpy's @), dot, matvec, outer.
//
// The result's shape, dtype, split and algorithm follow plan_matmul (plan.h, which holds
// the result-split table): a split along a's rows gives a result split along rows, else a
// split along b's columns gives columns, else a split contraction axis is reduced onto
// rows (columns when only b is split), a split batch axis stays. Results equal
// at::matmul of the global arrays at any rank count (to rounding: the contraction may be
// summed in another order). No rank ever holds a whole split operand: b's (or a's)
// blocks travel round a ring one at a time, overlapping the next block's transfer with
// the current block's GEMM, and partial products are reduced in a ring of result blocks.
//
// All are collective over the operands' communicator. Shapes, splits, dtypes and
// communicators are checked from metadata before anything is sent, so a bad call throws
// the same ShapeError / ValueError / TypeError on every rank. CPU arrays only.
#pragma once

#include "src/core/dndarray.h"
#include "kernels/linalg/plan.h"

namespace dnd::linalg {

// numpy.matmul: 1-D operands promoted and their added axis dropped, batch axes broadcast.
DNDarray matmul(const DNDarray& a, const DNDarray& b);
// numpy.dot for operands of at most 2 axes (two vectors give a 0-d replicated result);
// ValueError for more axes (use matmul).
DNDarray dot(const DNDarray& a, const DNDarray& b);
// A 2-D matrix times a 1-D vector (ShapeError otherwise).
DNDarray matvec(const DNDarray& a, const DNDarray& x);
// The outer product of two 1-D arrays: a's split becomes the rows', b's the columns'.
DNDarray outer(const DNDarray& a, const DNDarray& b);

// The plan matmul(a, b) follows with these operands' actual counts.
MatmulPlan plan_matmul(const DNDarray& a, const DNDarray& b);

}  // namespace dnd::linalg
