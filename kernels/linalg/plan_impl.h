// Private to kernels/linalg: the normalised geometry of a matrix product, shared by the
// planner (plan.cpp) and the kernel (matmul.cpp) so both apply the same rules.
#pragma once

#include "kernels/linalg/plan.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dnd::linalg::detail {

// What an operand's split axis is, once 1-D operands are promoted to matrices.
enum class Role { none, batch, row, col };

struct MatmulGeom {
  bool vec_a = false, vec_b = false;  // a 1-D operand was promoted (its added axis is dropped)
  Shape pa, pb;                       // promoted shapes (ndim >= 2)
  Shape batch;                        // broadcast batch shape of the result
  int64_t n = 0, k = 0, m = 0;
  Role ra = Role::none, rb = Role::none;
  // Split axes in the promoted operands; for Role::batch, the result axis too.
  int64_t axis_a = -1, axis_b = -1, batch_axis_a = -1, batch_axis_b = -1;
  Shape full_shape;  // the result before dropping the added axes
  Shape shape;       // the result
  // Which axis of full_shape the result is split along (-1: replicated), and where that
  // axis is once the added ones are dropped.
  int64_t full_split = -1;
  Split split;
};

// Checks shapes and splits (throwing ShapeError / ValueError naming op) and classifies.
MatmulGeom matmul_geometry(const Shape& a, Split sa, const Shape& b, Split sb, bool outer,
                           const char* op);

// The full plan, with the operands' counts (empty when replicated) on `nranks` ranks.
struct MatmulDecision {
  MatmulGeom g;
  MatmulPlan plan;
  // Result counts along full_split (empty when replicated).
  std::vector<int64_t> out_counts;
  // Alignment of the other operand before a local product: resplit to `align_axis`
  // (promoted axis of that operand) with `align_counts`.
  bool align_a = false, align_b = false;
  int64_t align_axis = -1;
  std::vector<int64_t> align_counts;
  // reduce_scatter: the result axis (of full_shape) the partial products are cut along.
  int64_t reduce_axis = -1;
};
MatmulDecision decide_matmul(const Shape& a, Split sa, const std::vector<int64_t>& counts_a,
                             const Shape& b, Split sb, const std::vector<int64_t>& counts_b, int nranks,
                             Dtype da, Dtype db, bool outer);

// Bytes rank r sends when an axis cut by `from` counts is recut by `to` counts and each
// index of that axis carries `per_index` bytes.
int64_t recut_bytes(const std::vector<int64_t>& from, const std::vector<int64_t>& to, int r,
                    int64_t per_index);
// Per-rank bytes of a binomial-tree broadcast of `bytes` from `root`.
std::vector<int64_t> bcast_bytes(int nranks, int root, int64_t bytes);
// Per-rank bytes of an allreduce of `numel` elements of `itemsize` bytes, as
// src/core/comm_count.h counts allreduce_ (balanced segments reduce-scattered, then
// allgathered).
std::vector<int64_t> allreduce_bytes(int nranks, int64_t numel, int64_t itemsize);

}  // namespace dnd::linalg::detail
