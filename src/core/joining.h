// Joining arrays: concatenate along an existing axis, stack along a new one.
//
// The result is split like the first split operand (replicated when none is) with
// balanced counts; every operand's elements move straight to their owners in the result,
// one exchange per operand (none at all for operands already in place). Dtypes promote
// as in torch.cat.
#pragma once

#include "core/dndarray.h"

#include <vector>

namespace dnd {

DNDarray concatenate(const std::vector<DNDarray>& arrays, int64_t axis = 0);
DNDarray stack(const std::vector<DNDarray>& arrays, int64_t axis = 0);

}  // namespace dnd
