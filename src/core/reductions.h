// Reductions with numpy semantics. `axes` empty (std::nullopt) reduces over all axes;
// negative axes count from the end; keepdims keeps reduced axes with extent 1.
//
// Over the split axis the partial results of the ranks are combined (one allreduce, or
// an allgather of per-rank candidates for argmin/argmax); over other axes nothing is
// communicated and the result keeps the split (shifted when axes before it vanish).
// A result that no longer has the split axis is replicated on every rank.
#pragma once

#include "core/dndarray.h"

#include <optional>
#include <vector>

namespace dnd {

using Axes = std::optional<std::vector<int64_t>>;

inline Axes all_axes() { return std::nullopt; }
inline Axes axis(int64_t a) { return std::vector<int64_t>{a}; }

DNDarray sum(const DNDarray& a, const Axes& axes = all_axes(), bool keepdims = false);
DNDarray prod(const DNDarray& a, const Axes& axes = all_axes(), bool keepdims = false);
// Floating (or complex) input only, like torch.mean.
DNDarray mean(const DNDarray& a, const Axes& axes = all_axes(), bool keepdims = false);
// Divides by N - ddof (numpy's default ddof = 0). Two passes, so no cancellation.
DNDarray var(const DNDarray& a, const Axes& axes = all_axes(), int64_t ddof = 0, bool keepdims = false);
DNDarray std(const DNDarray& a, const Axes& axes = all_axes(), int64_t ddof = 0, bool keepdims = false);
// NaN propagates, as in numpy. A zero-size reduction is a ValueError.
DNDarray min(const DNDarray& a, const Axes& axes = all_axes(), bool keepdims = false);
DNDarray max(const DNDarray& a, const Axes& axes = all_axes(), bool keepdims = false);
// Global indices (int64). axis none: the index into the flattened (row-major) array.
// Ties and NaN: the first occurrence, as numpy.
DNDarray argmin(const DNDarray& a, std::optional<int64_t> axis = std::nullopt, bool keepdims = false);
DNDarray argmax(const DNDarray& a, std::optional<int64_t> axis = std::nullopt, bool keepdims = false);
// Bool results.
DNDarray any(const DNDarray& a, const Axes& axes = all_axes(), bool keepdims = false);
DNDarray all(const DNDarray& a, const Axes& axes = all_axes(), bool keepdims = false);
// Vector p-norm over the axes (torch.linalg.vector_norm): ord 2 by default; inf, -inf
// and 0 (count of non-zeros) as numpy.
DNDarray norm(const DNDarray& a, double ord = 2.0, const Axes& axes = all_axes(), bool keepdims = false);

}  // namespace dnd
