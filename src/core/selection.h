// Selection with numpy's semantics: filter (a boolean mask along an axis), nonzero, unique,
// topk and take.
//
// filter, nonzero and unique give results whose extent along one axis is in the data
// (how many entries a mask keeps, how many values are distinct). Their meta functions give
// the largest extent that axis can have (the input's) and name the axis in `at_most`: the
// planner plans memory and bytes at that bound, and the run's extent is at most it.
//
// | op      | across ranks                                                              |
// |---------|---------------------------------------------------------------------------|
// | filter  | along the split axis each rank keeps its own selected rows (the mask is   |
// |         | aligned with the blocks first): the result may be unbalanced, `balance`   |
// |         | rebalances it (one exchange); along another axis the mask is made whole   |
// |         | on every rank and each rank selects from its block                        |
// | nonzero | each rank's nonzero entries, offset by its block's start: split 0 (a      |
// |         | split along another axis is resplit along 0 first, for numpy's order)     |
// | unique  | local unique values and counts, then a partition of the value range (p-1  |
// |         | splitters from samples) so each value lands on one rank, one exchange,    |
// |         | a merge; return_inverse sends each value's global position back           |
// | topk    | along the split axis each rank's k best are allgathered (k per rank) and  |
// |         | the k best of those kept (replicated); along another axis: local          |
// | take    | along the split axis each rank asks the owners for the rows its share of  |
// |         | the result needs (two exchanges); along another axis: local               |
#pragma once

#include "src/core/dndarray.h"
#include "src/core/meta.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace dnd {

// A meta function's result for a data-dependent op: the outputs as OpMeta gives them, and
// per output a bit mask of the axes whose planned extent is an upper bound.
struct BoundedMeta {
  OpMeta meta;
  std::vector<uint64_t> at_most;
};

// The rule of filter: x's meta (shape[axis] the bound), the mask checked: 1-D bool of
// x.shape[axis] entries. Throws ValueError (axis, 0-d x, mask's length) or TypeError
// (a mask that is not bool).
BoundedMeta filter_meta(const ArrayMeta& x, const ArrayMeta& mask, int64_t axis, bool balance,
                        int nranks);
// numpy's x.compress(mask, axis) = x[..., mask, ...]: the entries along `axis` where the
// mask is true, in order. Collective. Along the split axis the result keeps each rank's
// selected rows (unbalanced; balanced with `balance`); along another axis x's split and
// counts are kept. The mask may be split or replicated.
DNDarray filter(const DNDarray& x, const DNDarray& mask, int64_t axis = 0, bool balance = false);

// The rule of nonzero: int64 (x.numel(), x.ndim()) (the bound), split 0 when x is split.
BoundedMeta nonzero_meta(const ArrayMeta& x, int nranks);
// torch.nonzero / numpy.argwhere: the indices of the nonzero entries of x, one row each,
// in row-major order (numpy.nonzero(x)[k] is column k). Collective.
DNDarray nonzero(const DNDarray& x);

// The rule of unique: values (x.numel(),) x's dtype (the bound), counts int64 of the same
// length, inverse int64 of x's shape and split (exact). Values and counts are split 0 when
// x is split. Throws TypeError for complex dtypes.
BoundedMeta unique_meta(const ArrayMeta& x, int nranks);
struct UniqueResult {
  DNDarray values;  // sorted distinct values; NaNs count as one value (numpy >= 1.24), last
  DNDarray counts;  // how often each occurs
  std::optional<DNDarray> inverse;  // x's shape: each entry's position in values (when asked)
};
// numpy.unique(x, return_counts, return_inverse) of the flattened array. Collective.
UniqueResult unique(const DNDarray& x, bool return_inverse);

// The rule of topk: values and int64 indices, x's shape with axis' extent k; split kept
// unless it is `axis` (then replicated). Throws ValueError for k < 0, k above the extent,
// a bad axis; TypeError for complex or bool dtypes.
OpMeta topk_meta(const ArrayMeta& x, int64_t k, int64_t axis, int nranks);
// torch.topk(x, k, axis, largest, sorted=true): the k largest (smallest) entries along
// axis, best first, and their global indices along it. Collective. Among equal values the
// index chosen is torch's (any of them); NaN counts as larger than every number.
std::pair<DNDarray, DNDarray> topk(const DNDarray& x, int64_t k, int64_t axis = -1, bool largest = true);

// The rule of take: x.shape[:axis] + indices.shape + x.shape[axis+1:] (axis none: the
// flattened x, the result has indices' shape). Throws TypeError for non-integer indices,
// ValueError for a bad axis or indices into an empty axis.
OpMeta take_meta(const ArrayMeta& x, const ArrayMeta& indices, std::optional<int64_t> axis, int nranks);
// numpy.take(x, indices, axis) (mode 'raise': negative indices count from the end, out of
// range is an error on every rank). Collective. The indices may be split or replicated.
// Along a split axis the result is split along the indices' first axis (balanced, or as
// the indices are split along 0); along another axis it keeps x's split.
DNDarray take(const DNDarray& x, const DNDarray& indices, std::optional<int64_t> axis);

// Collective. The rows of a 2-D a that hold no NaN (1-D bool, one entry per row, split 0
// like a's rows or replicated) and how many rows do hold NaN: the mask that filter takes
// for `nan_policy: omit`.
std::pair<DNDarray, int64_t> rows_without_nan(const DNDarray& a);

}  // namespace dnd
