// Cumulative ops along an axis with numpy's semantics: cumsum, cumprod and diff.
//
// Along an axis that is not split (or of a replicated array) every rank works on its own
// block: no communication. Along the split axis:
//
// | op             | across ranks                                                        |
// |----------------|---------------------------------------------------------------------|
// | cumsum/cumprod | local scan, then an exclusive scan of the ranks' block totals (one   |
// |                | slice per rank, MPI_Exscan), added to (multiplied into) the block    |
// | diff           | the result is balanced; each rank fetches the input rows its share   |
// |                | needs (its rows and the n before them) in one exchange (halo.h)      |
//
// Empty blocks (more ranks than rows) contribute the identity and receive nothing.
#pragma once

#include "src/core/dndarray.h"
#include "src/core/meta.h"

#include <c10/core/Scalar.h>

#include <optional>
#include <string_view>

namespace dnd {

// The rule of cumsum / cumprod (`op` "cumsum" or "cumprod") without data. axis none:
// over the flattened array (row-major), a 1-D result split along 0 when `a` is split (a
// split other than 0 first reshapes the array to 1-D, one exchange), replicated
// otherwise. The result dtype is `dtype` when given, else numpy's: bool and integers give
// int64, floating and complex keep theirs. Throws ValueError for a bad axis (a 0-d array
// takes axis none only).
OpMeta cumulative_meta(std::string_view op, const ArrayMeta& a, std::optional<int64_t> axis,
                       std::optional<Dtype> dtype, int nranks);

// Collective over a.comm(). Same split as `a` (and same counts) for an axis; see
// cumulative_meta for axis none (a split-0 array keeps its blocks, flattened: the counts
// are the rows' counts times the row size).
DNDarray cumsum(const DNDarray& a, std::optional<int64_t> axis = std::nullopt,
                std::optional<Dtype> dtype = std::nullopt);
DNDarray cumprod(const DNDarray& a, std::optional<int64_t> axis = std::nullopt,
                 std::optional<Dtype> dtype = std::nullopt);

// The rule of diff without data: numpy.diff(a, n, axis, prepend, append) with numbers as
// prepend / append (each one slice of that value along the axis). The extent along the
// axis becomes max(m - n, 0) with m = extent + (prepend ? 1 : 0) + (append ? 1 : 0); n = 0
// gives `a` itself. The dtype is a's, promoted with prepend/append as dnd's elementwise
// ops promote with a number (an integer keeps an integer array's dtype, a float turns it
// into the default float, float32); bool arrays use not_equal (numpy). Throws ValueError
// for n < 0, a 0-d array or a bad axis.
OpMeta diff_meta(const ArrayMeta& a, int64_t n, int64_t axis, const std::optional<c10::Scalar>& prepend,
                 const std::optional<c10::Scalar>& append, int nranks);

// Collective over a.comm(). The result keeps a's split; along the split axis it is
// balanced, along other axes it keeps a's counts.
DNDarray diff(const DNDarray& a, int64_t n = 1, int64_t axis = -1,
              const std::optional<c10::Scalar>& prepend = std::nullopt,
              const std::optional<c10::Scalar>& append = std::nullopt);

}  // namespace dnd
