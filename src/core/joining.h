// Joining arrays: concatenate along an existing axis, stack along a new one.
//
// The result is split like the first split operand (replicated when none is) with
// balanced counts; every operand's elements move straight to their owners in the result,
// one exchange per operand (none at all for operands already in place). Dtypes promote
// as in torch.cat.
#pragma once

#include "src/core/dndarray.h"
#include "src/core/meta.h"

#include <vector>

namespace dnd {

DNDarray concatenate(const std::vector<DNDarray>& arrays, int64_t axis = 0);
DNDarray stack(const std::vector<DNDarray>& arrays, int64_t axis = 0);

// Their rule without data: the result, and the bytes the busiest of `nranks` ranks sends.
OpMeta concatenate_meta(const std::vector<ArrayMeta>& arrays, int64_t axis, int nranks);
OpMeta stack_meta(const std::vector<ArrayMeta>& arrays, int64_t axis, int nranks);

}  // namespace dnd
