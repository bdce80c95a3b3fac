// Scaling and descriptive statistics with numpy's, scipy.stats' and sklearn's semantics:
// standardize (sklearn's StandardScaler), minmax_scale, normalize
// (sklearn.preprocessing), cov and corrcoef (numpy, rows as observations by default),
// average (numpy.average), ptp (numpy.ptp), skew and kurtosis (scipy.stats defaults).
//
// Every split works and nothing is gathered: statistics over the split axis are local
// partial sums (or minima / maxima) combined by one allreduce of the result's size;
// over other axes nothing is communicated and the result keeps the split. cov of a
// table split along its variables is first resplit along its observations (one
// exchange), then handled like a split-0 table: local X_c^T X_c products (GEMM) and one
// allreduce of the d x d matrix.
//
// dtypes: float32 and float64 keep their type; integers and bool compute in float64 (as
// numpy); complex arrays are a TypeError (ptp: integers keep their type, bool is a
// TypeError, as numpy). NaN propagates as in numpy: a NaN in a column makes that column's
// statistics (and its scaled values) NaN.
#pragma once

#include "src/core/dndarray.h"
#include "src/core/meta.h"

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace dnd {

// ---- scaling (2-D arrays; rows are observations, columns features) ------------------------

struct StandardizeResult {
  DNDarray X;      // the scaled array, split like the input
  DNDarray mean;   // per column (d); split 0 when the input is split 1, else replicated
  DNDarray scale;  // per column: the standard deviation (ddof 0), 1 where a column is constant
};
// (x - mean) / scale per column (sklearn's StandardScaler().fit_transform with ddof 0): a
// column of zero variance (up to rounding, sklearn's test) becomes 0, not NaN. with_mean
// false: no centring; with_std false: no scaling (scale is then all ones). A table of
// 0 rows gives an empty X and NaN statistics (numpy's mean of nothing).
StandardizeResult standardize(const DNDarray& a, bool with_mean = true, bool with_std = true);
// outputs: X, mean, scale.
OpMeta standardize_meta(const ArrayMeta& a, int nranks);

// (x - min) / (max - min) * (hi - lo) + lo per column (sklearn.preprocessing.minmax_scale):
// a constant column maps to lo. ValueError unless lo < hi.
DNDarray minmax_scale(const DNDarray& a, double lo = 0.0, double hi = 1.0);
OpMeta minmax_scale_meta(const ArrayMeta& a, double lo, double hi, int nranks);

// Each row (axis 1) or column (axis 0) divided by its l1, l2 or max (largest |x|) norm
// (sklearn.preprocessing.normalize); a zero row stays zero.
DNDarray normalize(const DNDarray& a, std::string_view norm = "l2", int64_t axis = 1);
OpMeta normalize_meta(const ArrayMeta& a, std::string_view norm, int64_t axis, int nranks);

// ---- statistics ----------------------------------------------------------------------------

// numpy.cov(a, rowvar=rowvar, bias=bias, ddof=ddof) with rowvar false by default (rows are
// observations). 1-D or 2-D input; the result is d x d and replicated (0-d for a single
// variable, as numpy squeezes it). ddof overrides bias; no degrees of freedom left gives
// inf / NaN as numpy.
DNDarray cov(const DNDarray& a, bool rowvar = false, std::optional<int64_t> ddof = std::nullopt,
             bool bias = false);
// numpy.corrcoef(a, rowvar=rowvar): cov scaled by the standard deviations, clipped to
// [-1, 1]; a constant variable gives NaN.
DNDarray corrcoef(const DNDarray& a, bool rowvar = false);
OpMeta cov_meta(const ArrayMeta& a, bool rowvar, std::optional<int64_t> ddof, int nranks);

// numpy.average(a, axis, weights, keepdims): weights of a's shape, or 1-D of the length
// of `axis`. ValueError when the weights along an axis sum to zero.
DNDarray average(const DNDarray& a, std::optional<int64_t> axis = std::nullopt,
                 const DNDarray* weights = nullptr, bool keepdims = false);
OpMeta average_meta(const ArrayMeta& a, const ArrayMeta* weights, std::optional<int64_t> axis,
                    bool keepdims, int nranks);

// numpy.ptp: max - min over the axes (all when none).
DNDarray ptp(const DNDarray& a, const std::optional<std::vector<int64_t>>& axes = std::nullopt,
             bool keepdims = false);
OpMeta ptp_meta(const ArrayMeta& a, const std::optional<std::vector<int64_t>>& axes, bool keepdims,
                int nranks);

// scipy.stats.skew / kurtosis (defaults axis 0, bias true, Fisher's definition; axis none:
// the flattened array). A slice whose variance is zero up to rounding gives NaN (scipy).
DNDarray skew(const DNDarray& a, std::optional<int64_t> axis = 0, bool bias = true);
DNDarray kurtosis(const DNDarray& a, std::optional<int64_t> axis = 0, bool fisher = true,
                  bool bias = true);
// op: "skew" or "kurtosis".
OpMeta moment_meta(std::string_view op, const ArrayMeta& a, std::optional<int64_t> axis, int nranks);

// numpy.bincount of a 1-D array of non-negative integers (any split): how often each
// value in [0, minlength) occurs, int64, or the sums of `weights` (same shape; float64)
// per value. The result is replicated and has exactly minlength entries: its length is
// known before the data is read, so a value of minlength or more (or a negative one) is a
// ValueError on every rank, not a longer result as in numpy.
DNDarray bincount(const DNDarray& x, int64_t minlength, const DNDarray* weights = nullptr);
OpMeta bincount_meta(const ArrayMeta& x, const ArrayMeta* weights, int64_t minlength, int nranks);

// numpy.histogram of all elements (any split): `bins` equal bins over `range` (default:
// the data's min and max, widened by 0.5 each way when they are equal), or the bins
// between the increasing `edges` when given. Values outside the range are left out; the
// last bin includes its right edge. Returns (counts, edges): counts int64, or float64
// with weights (same shape) or density; edges in the array's float dtype (float64 for
// integers). Both replicated. NaN with no range given is a ValueError (numpy's "range
// is not finite"); with a range, NaNs are left out.
std::pair<DNDarray, DNDarray> histogram(const DNDarray& a, int64_t bins,
                                        std::optional<std::pair<double, double>> range = std::nullopt,
                                        const std::vector<double>& edges = {},
                                        const DNDarray* weights = nullptr, bool density = false);
OpMeta histogram_meta(const ArrayMeta& a, int64_t bins, const std::vector<double>& edges,
                      const ArrayMeta* weights, bool density, int nranks);

// The float dtype these ops compute in: float32 / float64 keep theirs, integers and bool
// give float64; complex is a TypeError naming `op`.
Dtype statistics_dtype(Dtype t, std::string_view op);

}  // namespace dnd
