// numpy.quantile, percentile and median with numpy's default ("linear") method, exact, at
// any split, without gathering the array onto one rank.
//
// For n values along the axis and a quantile q, the result is the linear interpolation
// between the order statistics floor((n - 1) q) and the next (numpy's _lerp, so equal
// to numpy's to the last bit for float64). A slice holding a NaN gives NaN (as numpy);
// an empty one gives NaN (as numpy.median). Float arrays keep their dtype (as
// numpy.median; numpy.quantile of float32 gives float64), integers and bools give
// float64; complex arrays are a TypeError.
//
// Along an axis that is whole on every rank: order statistics of the block (a selection,
// not a sort). Along the split axis of an n-d array: the array is resplit along its
// largest other axis first (one exchange; the result is split along that axis). Along
// the split axis of a 1-D array (or over all axes of a split array): a distributed radix
// select on the values' bits (each rank's block in place; one allreduce of a 64 Ki-bin
// histogram, then of a 256-bin one per further byte of the values; no data moved).
#pragma once

#include "src/core/dndarray.h"
#include "src/core/meta.h"

#include <optional>
#include <vector>

namespace dnd {

// q in [0, 1]. scalar_q: one quantile, no leading axis; otherwise the result has a
// leading axis of len(q) (numpy's shape for an array of q). axis none: over all elements
// (keepdims keeps every axis with extent 1).
DNDarray quantile(const DNDarray& a, const std::vector<double>& q, bool scalar_q = false,
                  std::optional<int64_t> axis = std::nullopt, bool keepdims = false);
// q in [0, 100].
DNDarray percentile(const DNDarray& a, const std::vector<double>& q, bool scalar_q = false,
                    std::optional<int64_t> axis = std::nullopt, bool keepdims = false);
DNDarray median(const DNDarray& a, std::optional<int64_t> axis = std::nullopt, bool keepdims = false);

// The rule of the three, without data: the result, what moves and the working memory.
// `op` names the function in errors; nq is len(q) (ignored when scalar_q). Throws
// ValueError for q out of [0, 1] or a bad axis, TypeError for complex arrays.
OpMeta quantile_meta(const char* op, const ArrayMeta& a, const std::vector<double>& q, bool scalar_q,
                     std::optional<int64_t> axis, bool keepdims, int nranks);

}  // namespace dnd
