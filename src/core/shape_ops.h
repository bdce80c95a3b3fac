// Changing the shape of a DNDarray: axis permutations, inserted / removed axes, and
// row-major reshapes. Permutations never communicate (the split axis moves with its
// dimension); reshape sends each element straight to its owner under the new shape,
// in one exchange, and no rank ever holds the whole array.
#pragma once

#include "src/core/dndarray.h"
#include "src/core/meta.h"

#include <optional>
#include <vector>

namespace dnd {

// The axes permuted as `axes` says (numpy's transpose; reversed when empty). The split
// axis moves with its dimension. No communication.
DNDarray transpose(const DNDarray& a, const std::vector<int64_t>& axes = {});
inline DNDarray permute(const DNDarray& a, const std::vector<int64_t>& axes) {
  return transpose(a, axes);
}
DNDarray swapaxes(const DNDarray& a, int64_t axis1, int64_t axis2);

// An axis of extent 1 inserted at `axis` (numpy: -ndim-1 <= axis <= ndim). No communication.
DNDarray expand_dims(const DNDarray& a, int64_t axis);
// Axes of extent 1 removed (all of them when axes is empty). Removing the split axis
// replicates the array (its one slab is broadcast from its owner).
DNDarray squeeze(const DNDarray& a, const std::vector<int64_t>& axes = {});

// The same elements in row-major order under `shape` (one entry may be -1). The result
// is split along `new_split` (balanced), or, when unset, along axis 0 if a is split and
// replicated otherwise. Collective; one exchange.
DNDarray reshape(const DNDarray& a, const Shape& shape, std::optional<Split> new_split = std::nullopt);
// reshape to 1-D.
DNDarray flatten(const DNDarray& a);

// The rules of the ops above, without data (the library checks them before computing;
// the planner shows them). comm_bytes: what the busiest of `nranks` ranks sends.
// transpose_axes: the permutation `axes` names (reversed when empty), checked.
std::vector<int64_t> transpose_axes(const ArrayMeta& a, const std::vector<int64_t>& axes);
OpMeta transpose_meta(const ArrayMeta& a, const std::vector<int64_t>& axes = {});
OpMeta expand_dims_meta(const ArrayMeta& a, int64_t axis);
// The axes squeeze removes (ascending), checked.
std::vector<int64_t> squeeze_axes(const ArrayMeta& a, const std::vector<int64_t>& axes);
OpMeta squeeze_meta(const ArrayMeta& a, const std::vector<int64_t>& axes, int nranks);
// `shape` with its -1 resolved against a's size, checked.
Shape resolve_shape(const ArrayMeta& a, const Shape& shape);
OpMeta reshape_meta(const ArrayMeta& a, const Shape& shape, std::optional<Split> new_split, int nranks);

}  // namespace dnd
