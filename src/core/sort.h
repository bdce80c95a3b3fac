// Sorting along any axis.
//
// Along an axis that is not split every rank sorts its block locally (no communication).
// Along the split axis of a 1-D array: a distributed sample sort (local sort, p - 1
// splitters chosen from regular samples of every rank, one personalised exchange, local
// merge), then a redistribution so the result is balanced. Along the split axis of an
// n-d array: the array is resplit along another axis so every line to sort is local,
// sorted, and resplit back (two exchanges).
#pragma once

#include "core/dndarray.h"

#include <utility>

namespace dnd {

// Values sorted along `axis` (stable; NaN last as in numpy/torch) and the global indices
// along that axis they came from (int64, same shape and split as the values).
// descending reverses the order. Collective over a's communicator.
std::pair<DNDarray, DNDarray> sort(const DNDarray& a, int64_t axis = -1, bool descending = false);

}  // namespace dnd
