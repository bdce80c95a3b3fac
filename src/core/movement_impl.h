// Private to src/core: the data-movement engine behind resplit, redistribute, balance,
// concatenate and friends.
#pragma once

#include "src/core/dndarray.h"

#include <vector>

namespace dnd::detail {

// Collective over a's communicator: writes the elements of `a` into `out`, this rank's
// block of a result array R of global shape `rshape` distributed along `target` (or
// replicated) with `tcounts`. a's element at global index g lands in R at g, shifted by
// `shift` along `shift_axis` (-1: no shift); a must match R's extent on every other axis.
// Every element moves at most once, in one exchange; a replicated `a` only copies
// locally. out must have R's local shape and a's dtype.
void place(const DNDarray& a, at::Tensor& out, const Shape& rshape, Split target,
           const std::vector<int64_t>& tcounts, int64_t shift_axis = -1, int64_t shift = 0);

}  // namespace dnd::detail
