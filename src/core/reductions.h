// Reductions with numpy semantics. `axes` empty (std::nullopt) reduces over all axes;
// negative axes count from the end; keepdims keeps reduced axes with extent 1.
//
// Over the split axis the partial results of the ranks are combined (one allreduce, or
// an allgather of per-rank candidates for argmin/argmax); over other axes nothing is
// communicated and the result keeps the split (shifted when axes before it vanish).
// A result that no longer has the split axis is replicated on every rank.
#pragma once

#include "src/core/dndarray.h"
#include "src/core/meta.h"

#include <optional>
#include <string_view>
#include <vector>

namespace dnd {

using Axes = std::optional<std::vector<int64_t>>;

inline Axes all_axes() { return std::nullopt; }
inline Axes axis(int64_t a) { return std::vector<int64_t>{a}; }

// The rule of every reduction below, without data (what the library checks before it
// computes, and what `dnd plan` shows). `op` is one of sum prod mean var std min max
// argmin argmax any all norm, nansum nanmean nanvar nanstd nanmin nanmax nanargmin
// nanargmax, count_nonzero; the arg ones take at most one axis (none: the flattened
// array). Throws the op's own ValueError/TypeError for bad axes, ddof, dtypes, and for a
// zero-size reduction without identity (min, max, argmin, argmax).
struct ReductionMeta {
  std::vector<int64_t> axes;  // normalised, ascending
  bool over_split = false;    // the split axis is reduced: the ranks' partial results combine
  int64_t n_reduced = 1;      // elements folded into each result element
  OpMeta op;                  // outputs[0] is the result; comm_bytes what the busiest rank sends
  const ArrayMeta& out() const { return op.outputs[0]; }
};
ReductionMeta reduction_meta(std::string_view op, const ArrayMeta& a, const Axes& axes, bool keepdims,
                             int nranks, int64_t ddof = 0);
// The result dtype of reduction `op` of an array of dtype `t` (numpy's and torch's rules:
// sum/prod of integers and bools give int64, mean/var/std/norm of integers the default
// float, var/std/norm of complex their real type, argmin/argmax int64, any/all bool).
Dtype reduction_dtype(std::string_view op, Dtype t);

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

// numpy's NaN-ignoring reductions: a NaN counts as absent (integers and bools have none,
// so these are the reductions above for them). Of a slice holding only NaNs, nansum is
// 0, nanmean, nanvar, nanstd, nanmin and nanmax are NaN (numpy warns), and nanargmin /
// nanargmax throw ValueError on every rank. nanvar divides by (non-NaN count - ddof);
// none left gives NaN.
DNDarray nansum(const DNDarray& a, const Axes& axes = all_axes(), bool keepdims = false);
DNDarray nanmean(const DNDarray& a, const Axes& axes = all_axes(), bool keepdims = false);
DNDarray nanvar(const DNDarray& a, const Axes& axes = all_axes(), int64_t ddof = 0,
                bool keepdims = false);
DNDarray nanstd(const DNDarray& a, const Axes& axes = all_axes(), int64_t ddof = 0,
                bool keepdims = false);
DNDarray nanmin(const DNDarray& a, const Axes& axes = all_axes(), bool keepdims = false);
DNDarray nanmax(const DNDarray& a, const Axes& axes = all_axes(), bool keepdims = false);
DNDarray nanargmin(const DNDarray& a, std::optional<int64_t> axis = std::nullopt, bool keepdims = false);
DNDarray nanargmax(const DNDarray& a, std::optional<int64_t> axis = std::nullopt, bool keepdims = false);
// The number of non-zero elements (int64; NaN is non-zero, as numpy).
DNDarray count_nonzero(const DNDarray& a, const Axes& axes = all_axes(), bool keepdims = false);

}  // namespace dnd
