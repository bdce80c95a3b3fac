// Sorting along any axis.
//
// Along an axis that is not split (or of a replicated array, or on one rank) every rank
// sorts its block locally (no communication); the result keeps a's split and counts.
// Along the split axis of a 1-D array: a distributed sample sort (local sort, p - 1
// splitters chosen from regular samples of every rank, compared as (value, global index)
// pairs so ties stay stable and runs of equal values spread over ranks, one personalised
// exchange, local merge), then a redistribution so the result is balanced. Along the
// split axis of an n-d array: the array is resplit along the largest other axis so every
// line to sort is local, sorted, and resplit back to a's split axis and counts (two
// exchanges).
#pragma once

#include "src/core/dndarray.h"
#include "src/core/meta.h"

#include <utility>

namespace dnd {

// Values sorted along `axis` (stable; NaN last as in numpy/torch) and the global indices
// along that axis they came from (int64, same shape and split as the values): exactly
// at::sort(full, /*stable=*/true, axis, descending) of the global array, at any rank
// count. descending reverses the order (NaN first) but keeps equal values in their
// original order. A 0-d array accepts axis -1 and 0, as torch does. Throws ValueError
// for an axis out of range and TypeError for complex dtypes, alike on every rank.
// Collective over a's communicator.
// The rule of sort without data: outputs[0] the values (a's shape, dtype and split),
// outputs[1] the int64 indices; comm_bytes and temp_bytes for the busiest of `nranks`
// ranks with balanced blocks. Throws sort's ValueError / TypeError.
OpMeta sort_meta(const ArrayMeta& a, int64_t axis, int nranks);

std::pair<DNDarray, DNDarray> sort(const DNDarray& a, int64_t axis = -1, bool descending = false);

// The values of sort(a, axis, descending) alone, bit for bit (the same stable order), at a
// fraction of the cost: no indices are made where the order does not need them, and none
// are moved, merged or rebalanced (the sample sort still ranks its local run by (value,
// global index) to cut it exactly). sort_values_meta is its rule: outputs[0] the values.
OpMeta sort_values_meta(const ArrayMeta& a, int64_t axis, int nranks);
DNDarray sort_values(const DNDarray& a, int64_t axis = -1, bool descending = false);

}  // namespace dnd
