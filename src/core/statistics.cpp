#include "src/core/statistics.h"

#include "src/core/comm_count.h"
#include "src/core/communicator.h"
#include "src/core/elementwise.h"
#include "src/core/error.h"
#include "src/core/manipulation.h"
#include "src/core/map_kernels.h"
#include "src/core/reduce_kernels.h"
#include "src/core/reductions.h"
#include "src/core/shape_ops.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

namespace dnd {

namespace {

// Combines the ranks' partial results in place (device tensors staged through the host).
void combine(const Communicator& comm, at::Tensor& t, ReduceOp op) {
  at::Tensor host = t.device().is_cpu() ? t.contiguous() : t.cpu().contiguous();
  allreduce_(comm, host, op);
  t = t.device().is_cpu() ? host : host.to(t.device());
}

int64_t elem(Dtype t) { return static_cast<int64_t>(c10::elementSize(t)); }

// Bytes of the busiest rank's block of `a` were it of dtype `t`.
int64_t block_as(const ArrayMeta& a, Dtype t, int nranks) {
  return max_block_bytes(a, nranks) / std::max<int64_t>(1, elem(a.dtype)) * elem(t);
}

double eps_of(Dtype t) {
  return t == at::kFloat ? std::numeric_limits<float>::epsilon()
                         : std::numeric_limits<double>::epsilon();
}

bool fast_cpu(const at::Tensor& x) {
  return x.device().is_cpu() && x.is_contiguous() && x.dim() == 2 &&
         (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble);
}

// standardize's statistics in one pass (col_moments): float32 CPU tables with rows. (A
// float64 table keeps two passes: its results want float64's precision, which a shift
// that is far from the mean would cost.)
bool one_pass_moments(const ArrayMeta& a) {
  return a.dtype == at::kFloat && a.device == DeviceKind::cpu && a.shape.size() == 2 && a.shape[0] > 0;
}

// Column sums of a 2-D block (float64 result of the block's column count).
at::Tensor col_sums(const at::Tensor& x) {
  if (fast_cpu(x) && x.size(0) > 0) {
    at::Tensor out = at::empty({x.size(1)}, x.options());
    if (x.scalar_type() == at::kFloat)
      kernels::col_sum(x.data_ptr<float>(), x.size(0), x.size(1), x.size(1), out.data_ptr<float>());
    else
      kernels::col_sum(x.data_ptr<double>(), x.size(0), x.size(1), x.size(1), out.data_ptr<double>());
    return out.to(at::kDouble);
  }
  return at::sum(x, {0}, false, at::kDouble);
}

// Column sums of (x - center)^2 (center: float64, one per column).
at::Tensor col_sumsq(const at::Tensor& x, const at::Tensor& center) {
  if (fast_cpu(x) && x.size(0) > 0) {
    at::Tensor c = center.to(x.scalar_type()).contiguous();
    at::Tensor out = at::empty({x.size(1)}, x.options());
    if (x.scalar_type() == at::kFloat)
      kernels::col_sumsq(x.data_ptr<float>(), x.size(0), x.size(1), x.size(1), c.data_ptr<float>(),
                         out.data_ptr<float>());
    else
      kernels::col_sumsq(x.data_ptr<double>(), x.size(0), x.size(1), x.size(1), c.data_ptr<double>(),
                         out.data_ptr<double>());
    return out.to(at::kDouble);
  }
  at::Tensor d = x.to(at::kDouble) - center.to(x.device());
  return at::sum(d * d, {0}).cpu();
}

// out[i, j] = f(x[i, j], j) over a contiguous 2-D float block, in parallel over rows.
template <class T, class F>
void rowwise(const at::Tensor& x, at::Tensor& out, F f) {
  const int64_t R = x.size(0), C = x.size(1);
  const T* xp = x.data_ptr<T>();
  T* op = out.data_ptr<T>();
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, C));
  at::parallel_for(0, R, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T* xr = xp + i * C;
      T* orow = op + i * C;
      for (int64_t j = 0; j < C; ++j) orow[j] = f(xr[j], j);
    }
  });
}

// (x - sub) / div per column (sub and div float64 per column), fused in one pass on CPU
// (as a product with 1 / div, rounded once from float64: within an ulp of the quotient, and
// the pass stays memory-bound).
at::Tensor center_scale(const at::Tensor& x, const at::Tensor& sub, const at::Tensor& div) {
  if (fast_cpu(x)) {
    at::Tensor out = at::empty_like(x);
    auto run = [&](auto tag) {
      using T = decltype(tag);
      at::Tensor s = sub.to(x.scalar_type()).contiguous();
      at::Tensor d = (1.0 / div.to(at::kDouble)).to(x.scalar_type()).contiguous();
      const T* sp = s.data_ptr<T>();
      const T* dp = d.data_ptr<T>();
      const T* xp = x.data_ptr<T>();
      T* op = out.data_ptr<T>();
      const int64_t R = x.size(0), C = x.size(1);
      // map_kernels.h: AVX2, and streaming stores for an output too large for the cache.
      const bool stream = x.numel() * static_cast<int64_t>(sizeof(T)) >= kernels::kStreamBytes;
      const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, C));
      at::parallel_for(0, R, grain, [&](int64_t b, int64_t e) {
        kernels::center_scale(xp, op, b, e, C, sp, dp, stream);
      });
    };
    if (x.scalar_type() == at::kFloat)
      run(float{});
    else
      run(double{});
    return out;
  }
  return (x - sub.to(x.options())) / div.to(x.options());
}

// x * mul + add per column, fused in one pass on CPU.
at::Tensor scale_shift(const at::Tensor& x, const at::Tensor& mul, const at::Tensor& add) {
  if (fast_cpu(x)) {
    at::Tensor out = at::empty_like(x);
    auto run = [&](auto tag) {
      using T = decltype(tag);
      at::Tensor m = mul.to(x.scalar_type()).contiguous(), a = add.to(x.scalar_type()).contiguous();
      const T* mp = m.data_ptr<T>();
      const T* ap = a.data_ptr<T>();
      rowwise<T>(x, out, [mp, ap](T v, int64_t j) { return v * mp[j] + ap[j]; });
    };
    if (x.scalar_type() == at::kFloat)
      run(float{});
    else
      run(double{});
    return out;
  }
  return x * mul.to(x.options()) + add.to(x.options());
}

// A per-column vector of a 2-D array's columns: split 0 (with the array's counts) when
// the array is split along its columns, else replicated.
DNDarray column_vector(const DNDarray& a, at::Tensor v, Dtype dt) {
  v = v.to(a.larray().device()).to(dt).contiguous();
  if (a.split() == 1) return DNDarray(v, {a.gshape()[1]}, 0, a.comm(), a.counts());
  return DNDarray(v, {a.gshape()[1]}, kReplicated, a.comm());
}

void check_table(const ArrayMeta& a, const char* op) {
  DND_CHECK_SHAPE(a.shape.size() == 2, "{}: expects a 2-D array (rows are observations), got shape {}",
                  op, shape_str(a.shape));
}

ArrayMeta column_meta(const ArrayMeta& a, Dtype dt) {
  return ArrayMeta{{a.shape[1]}, dt, a.split == 1 ? Split(0) : kReplicated, a.device};
}

// Allreduce-max of values that may hold NaN: NaN wins (numpy), in one message.
void combine_max_nan(const Communicator& comm, at::Tensor& v) {
  at::Tensor t = v.to(at::kDouble).cpu().contiguous();
  at::Tensor nan = at::isnan(t);
  at::Tensor pack =
      at::cat({t.masked_fill(nan, -std::numeric_limits<double>::infinity()), nan.to(at::kDouble)});
  allreduce_(comm, pack, ReduceOp::max);
  const int64_t n = t.numel();
  at::Tensor r = pack.narrow(0, 0, n).clone();
  r.masked_fill_(pack.narrow(0, n, n) > 0, std::numeric_limits<double>::quiet_NaN());
  v = r.to(v.device()).to(v.scalar_type());
}

}  // namespace

Dtype statistics_dtype(Dtype t, std::string_view op) {
  DND_CHECK_TYPE(!at::isComplexType(t), "{}: complex arrays are not supported, got {}", op,
                 dtype_name(t));
  if (t == at::kFloat || t == at::kDouble) return t;
  DND_CHECK_TYPE(at::isIntegralType(t, /*includeBool=*/true), "{}: unsupported dtype {}", op,
                 dtype_name(t));
  return at::kDouble;
}

// ---- standardize --------------------------------------------------------------------------

OpMeta standardize_meta(const ArrayMeta& a, int nranks) {
  check_table(a, "standardize");
  const Dtype wt = statistics_dtype(a.dtype, "standardize");
  OpMeta m;
  m.outputs.push_back(ArrayMeta{a.shape, wt, a.split, a.device});
  m.outputs.push_back(column_meta(a, wt));
  m.outputs.push_back(column_meta(a, wt));
  if (a.split == 0 && nranks > 1) {
    const ArrayMeta cols{{a.shape[1]}, at::kDouble, kReplicated, a.device};
    if (one_pass_moments(a))  // the shift row (a broadcast), then both sums in one message
      m.comm_bytes =
          broadcast_max_bytes(global_bytes(cols), nranks) +
          allreduce_bytes(ArrayMeta{{2 * a.shape[1]}, at::kDouble, kReplicated, a.device}, nranks);
    else  // the column sums, then the squared deviations
      m.comm_bytes = 2 * allreduce_bytes(cols, nranks);
  }
  if (wt != a.dtype) m.temp_bytes = block_as(a, wt, nranks);  // the converted block
  return m;
}

StandardizeResult standardize(const DNDarray& a, bool with_mean, bool with_std) {
  const OpMeta meta = standardize_meta(meta_of(a), a.comm().size());
  const Dtype wt = meta.outputs[0].dtype;
  const at::Tensor x = a.larray().to(wt).contiguous();
  const bool over = a.split() == 0;
  const auto n = static_cast<double>(a.gshape()[0]);
  at::Tensor mean, var;
  if (one_pass_moments(meta_of(a)) && fast_cpu(x)) {
    // One read for both statistics: sums of x - K and (x - K)^2 in float64 around a row K
    // of the data (the global first row, the same on every rank; non-finite entries 0), so
    // that the variance (S2 - S1^2 / n) / n does not cancel as E[x^2] - E[x]^2 would.
    const int64_t C = x.size(1);
    const Communicator& comm = a.comm();
    at::Tensor shift = at::zeros({C}, at::TensorOptions().dtype(at::kDouble));
    int owner = comm.rank();
    if (over && comm.size() > 1) {
      const std::vector<int64_t>& counts = a.counts();
      owner = static_cast<int>(
          std::find_if(counts.begin(), counts.end(), [](int64_t c) { return c > 0; }) - counts.begin());
    }
    if (comm.rank() == owner && x.size(0) > 0) shift = x.select(0, 0).to(at::kDouble).contiguous();
    if (over && comm.size() > 1) broadcast_(comm, shift, owner);
    shift.masked_fill_(at::isfinite(shift).logical_not(), 0.0);
    at::Tensor both = at::zeros({2 * C}, at::TensorOptions().dtype(at::kDouble));
    if (x.size(0) > 0)
      kernels::col_moments(x.data_ptr<float>(), x.size(0), C, C, shift.data_ptr<double>(),
                           both.data_ptr<double>(), both.data_ptr<double>() + C);
    if (over) combine(comm, both, ReduceOp::sum);
    const at::Tensor s1 = both.narrow(0, 0, C), s2 = both.narrow(0, C, C);
    mean = shift + s1 / n;
    var = ((s2 - s1.square() / n) / n).clamp_min(0.0);  // NaN stays NaN
  } else {
    at::Tensor s1 = col_sums(x);
    if (over) combine(a.comm(), s1, ReduceOp::sum);
    mean = s1 / n;  // 0 rows: NaN, as numpy's mean of nothing
    at::Tensor ss = col_sumsq(x, mean);
    if (over) combine(a.comm(), ss, ReduceOp::sum);
    var = ss / n;
  }
  // sklearn's _is_constant_feature: a variance within rounding of zero is zero.
  const double eps = eps_of(wt);
  const at::Tensor bound = n * eps * var + (n * eps * mean).square();
  at::Tensor scale = at::sqrt(var).masked_fill_(var <= bound, 1.0);
  if (!with_std) scale = at::ones_like(scale);
  const at::Tensor sub = with_mean ? mean : at::zeros_like(mean);
  at::Tensor out = center_scale(x, sub, scale);
  return {DNDarray(out, a.gshape(), a.split(), a.comm(), a.counts()), column_vector(a, mean, wt),
          column_vector(a, scale, wt)};
}

// ---- minmax_scale -------------------------------------------------------------------------

OpMeta minmax_scale_meta(const ArrayMeta& a, double lo, double hi, int nranks) {
  check_table(a, "minmax_scale");
  DND_CHECK_VALUE(
      lo < hi,
      "minmax_scale: the minimum of feature_range must be smaller than its maximum, got [{}, {}]", lo,
      hi);
  const Dtype wt = statistics_dtype(a.dtype, "minmax_scale");
  OpMeta m;
  m.outputs.push_back(ArrayMeta{a.shape, wt, a.split, a.device});
  if (a.split == 0 && nranks > 1)  // -min, max and a NaN flag per column, in one message
    m.comm_bytes =
        allreduce_bytes(ArrayMeta{{3 * a.shape[1]}, at::kDouble, kReplicated, a.device}, nranks);
  if (wt != a.dtype) m.temp_bytes = block_as(a, wt, nranks);
  return m;
}

DNDarray minmax_scale(const DNDarray& a, double lo, double hi) {
  const OpMeta meta = minmax_scale_meta(meta_of(a), lo, hi, a.comm().size());
  const Dtype wt = meta.outputs[0].dtype;
  const at::Tensor x = a.larray().to(wt).contiguous();
  const int64_t c = x.size(1);
  const double inf = std::numeric_limits<double>::infinity();
  at::Tensor neg_min = at::full({c}, -inf, at::kDouble), mx = at::full({c}, -inf, at::kDouble);
  if (x.size(0) > 0) {
    if (fast_cpu(x)) {
      at::Tensor l = at::empty({c}, x.options()), h = at::empty({c}, x.options());
      if (wt == at::kFloat) {
        kernels::col_extreme(x.data_ptr<float>(), x.size(0), c, c, false, l.data_ptr<float>());
        kernels::col_extreme(x.data_ptr<float>(), x.size(0), c, c, true, h.data_ptr<float>());
      } else {
        kernels::col_extreme(x.data_ptr<double>(), x.size(0), c, c, false, l.data_ptr<double>());
        kernels::col_extreme(x.data_ptr<double>(), x.size(0), c, c, true, h.data_ptr<double>());
      }
      neg_min = -l.to(at::kDouble);
      mx = h.to(at::kDouble);
    } else {
      neg_min = -std::get<0>(at::min(x, 0)).to(at::kDouble).cpu();
      mx = std::get<0>(at::max(x, 0)).to(at::kDouble).cpu();
    }
  }
  at::Tensor both = at::cat({neg_min, mx});
  if (a.split() == 0) combine_max_nan(a.comm(), both);
  const at::Tensor dmin = -both.narrow(0, 0, c), dmax = both.narrow(0, c, c);
  at::Tensor range = dmax - dmin;
  range.masked_fill_(range < 10 * eps_of(wt), 1.0);  // sklearn's _handle_zeros_in_scale
  const at::Tensor scale = (hi - lo) / range;
  const at::Tensor shift = lo - dmin * scale;
  return DNDarray(scale_shift(x, scale, shift), a.gshape(), a.split(), a.comm(), a.counts());
}

// ---- normalize ----------------------------------------------------------------------------

namespace {
int64_t normalize_axis_checked(const ArrayMeta& a, std::string_view norm, int64_t axis) {
  check_table(a, "normalize");
  DND_CHECK_VALUE(norm == "l1" || norm == "l2" || norm == "max",
                  "normalize: norm must be l1, l2 or max, got '{}'", norm);
  return normalize_axis(axis, 2, "normalize");
}
}  // namespace

OpMeta normalize_meta(const ArrayMeta& a, std::string_view norm, int64_t axis, int nranks) {
  const int64_t ax = normalize_axis_checked(a, norm, axis);
  const Dtype wt = statistics_dtype(a.dtype, "normalize");
  OpMeta m;
  m.outputs.push_back(ArrayMeta{a.shape, wt, a.split, a.device});
  if (a.split == ax && nranks > 1) {
    const int64_t k = a.shape[static_cast<size_t>(1 - ax)] * (norm == "max" ? 2 : 1);
    m.comm_bytes =
        allreduce_bytes(ArrayMeta{{k}, norm == "max" ? at::kDouble : wt, kReplicated, a.device}, nranks);
  }
  // |x| or x * x, and the converted block
  m.temp_bytes = block_as(a, wt, nranks) * (wt != a.dtype ? 2 : 1);
  return m;
}

DNDarray normalize(const DNDarray& a, std::string_view norm, int64_t axis) {
  const OpMeta meta = normalize_meta(meta_of(a), norm, axis, a.comm().size());
  const int64_t ax = normalize_axis(axis, 2, "normalize");
  const Dtype wt = meta.outputs[0].dtype;
  const at::Tensor x = a.larray().to(wt);
  const bool over = a.split() == ax;
  at::Tensor norms;
  if (norm == "max") {
    norms = x.size(ax) == 0 ? at::zeros({x.size(1 - ax)}, x.options()) : at::amax(at::abs(x), {ax});
    if (over) combine_max_nan(a.comm(), norms);
  } else {
    norms = norm == "l1" ? at::sum(at::abs(x), {ax}) : at::sum(x * x, {ax});
    if (over) combine(a.comm(), norms, ReduceOp::sum);
    if (norm == "l2") norms = at::sqrt(norms);
  }
  norms.masked_fill_(norms < 10 * eps_of(wt), 1.0);  // sklearn's _handle_zeros_in_scale
  at::Tensor out = x / norms.unsqueeze(ax);
  return DNDarray(out, a.gshape(), a.split(), a.comm(), a.counts());
}

// ---- cov, corrcoef ------------------------------------------------------------------------

namespace {
constexpr int64_t kCovChunkBytes = 4 << 20;  // rows of X_c per GEMM

int64_t cov_chunk_rows(int64_t d, Dtype t) {
  return std::max<int64_t>(1, kCovChunkBytes / std::max<int64_t>(1, d * elem(t)));
}

Shape cov_shape(int64_t d) { return d == 1 ? Shape{} : Shape{d, d}; }
}  // namespace

OpMeta cov_meta(const ArrayMeta& a, bool rowvar, std::optional<int64_t> ddof, int nranks) {
  (void)ddof;
  DND_CHECK_SHAPE(a.shape.size() == 1 || a.shape.size() == 2,
                  "cov: expects a 1-D or 2-D array, got shape {}", shape_str(a.shape));
  const Dtype wt = statistics_dtype(a.dtype, "cov");
  const bool one = a.shape.size() == 1;
  const size_t obs_axis = one || !rowvar ? 0 : 1;
  const int64_t n = a.shape[obs_axis];
  const int64_t d = one ? 1 : a.shape[1 - obs_axis];
  OpMeta m;
  m.outputs.push_back(ArrayMeta{cov_shape(d), wt, kReplicated, a.device});
  // The observations axis carries the split (a table split along its variables is resplit).
  const bool split_vars = a.split && static_cast<size_t>(*a.split) != obs_axis;
  const bool split_obs = a.split && !split_vars;
  const ArrayMeta work{a.shape, wt, a.split, a.device};
  if (wt != a.dtype) m.temp_bytes += block_as(a, wt, nranks);
  if (split_vars) {
    m.comm_bytes += move_bytes(work, nranks);
    m.temp_bytes += max_block_bytes(work, nranks);
    m.note = fmt::format("resplits the table along its observations (axis {})", obs_axis);
  }
  if ((split_obs || split_vars) && nranks > 1) {
    m.comm_bytes += allreduce_bytes(ArrayMeta{{d}, at::kDouble, kReplicated, a.device}, nranks);
    m.comm_bytes += allreduce_bytes(ArrayMeta{{d, d}, wt, kReplicated, a.device}, nranks);
  }
  // X_c of one chunk of rows, and the d x d Gram matrix
  const int64_t local_rows = a.split ? (n + nranks - 1) / nranks : n;
  m.temp_bytes += std::min(cov_chunk_rows(d, wt), std::max<int64_t>(local_rows, 1)) * d * elem(wt) +
                  d * d * elem(wt);
  return m;
}

DNDarray cov(const DNDarray& a, bool rowvar, std::optional<int64_t> ddof, bool bias) {
  const OpMeta meta = cov_meta(meta_of(a), rowvar, ddof, a.comm().size());
  const Dtype wt = meta.outputs[0].dtype;
  DNDarray t = a;
  if (a.ndim() == 2 && rowvar) t = transpose(a);  // observations along axis 0 (no communication)
  if (t.ndim() == 2 && t.split() == 1) t = resplit(t, 0);
  const int64_t n = t.gshape()[0];
  const int64_t d = t.ndim() == 1 ? 1 : t.gshape()[1];
  at::Tensor x = t.larray().to(wt).reshape({t.larray().size(0), d}).contiguous();
  const bool over = t.split() == 0;
  at::Tensor s1 = col_sums(x);
  if (over) combine(a.comm(), s1, ReduceOp::sum);
  const at::Tensor mean = (s1 / static_cast<double>(n)).to(x.options());
  at::Tensor g = at::zeros({d, d}, x.options());
  const int64_t rows = x.size(0), step = cov_chunk_rows(d, wt);
  for (int64_t r = 0; r < rows; r += step) {
    const at::Tensor xc = x.narrow(0, r, std::min(step, rows - r)) - mean;
    g.addmm_(xc.t(), xc);
  }
  if (over) combine(a.comm(), g, ReduceOp::sum);
  const int64_t dof = ddof ? *ddof : (bias ? 0 : 1);
  const double fact = std::max<double>(static_cast<double>(n - dof), 0.0);
  g.mul_(1.0 / fact);  // as numpy: no degrees of freedom left gives inf (or NaN for 0 * inf)
  const Shape shape = cov_shape(d);
  return DNDarray(g.reshape(shape).contiguous(), shape, kReplicated, a.comm());
}

DNDarray corrcoef(const DNDarray& a, bool rowvar) {
  DNDarray c = cov(a, rowvar);
  at::Tensor g = c.larray();
  if (g.dim() == 0) {
    g = g / g;
  } else {
    const at::Tensor sd = at::sqrt(at::diagonal(g));
    g = (g / sd.unsqueeze(1) / sd.unsqueeze(0)).clamp(-1, 1);
  }
  return DNDarray(g.contiguous(), c.gshape(), kReplicated, a.comm());
}

// ---- average ------------------------------------------------------------------------------

namespace {
Dtype average_dtype(Dtype a, const Dtype* w) {
  const Dtype base = statistics_dtype(a, "average");
  if (!w) return base;
  DND_CHECK_TYPE(!at::isComplexType(*w), "average: complex weights are not supported");
  return at::promote_types(base, *w == at::kBool ? base : *w);
}

Axes average_axes(std::optional<int64_t> axis) {
  return axis ? Axes(std::vector<int64_t>{*axis}) : all_axes();
}
}  // namespace

OpMeta average_meta(const ArrayMeta& a, const ArrayMeta* w, std::optional<int64_t> axis, bool keepdims,
                    int nranks) {
  const Dtype rt = average_dtype(a.dtype, w ? &w->dtype : nullptr);
  const ArrayMeta work{a.shape, rt, a.split, a.device};
  ReductionMeta r = reduction_meta("sum", work, average_axes(axis), keepdims, nranks);
  if (w && w->shape != a.shape) {
    DND_CHECK_SHAPE(axis.has_value(),
                    "average: axis must be given when the shapes of a {} and weights {} differ",
                    shape_str(a.shape), shape_str(w->shape));
    DND_CHECK_SHAPE(w->shape.size() == 1,
                    "average: 1-D weights expected when the shapes of a {} and weights {} differ",
                    shape_str(a.shape), shape_str(w->shape));
    const int64_t ax = normalize_axis(*axis, static_cast<int64_t>(a.shape.size()), "average");
    DND_CHECK_SHAPE(w->shape[0] == a.shape[static_cast<size_t>(ax)],
                    "average: the length of the weights ({}) is not that of axis {} of a {}",
                    w->shape[0], ax, shape_str(a.shape));
  }
  OpMeta m;
  m.outputs.push_back(r.out());
  m.comm_bytes = r.op.comm_bytes * (w ? 3 : 1);  // sum(a * w), sum(w), the zero check
  m.temp_bytes = r.op.temp_bytes;
  if (rt != a.dtype) m.temp_bytes += block_as(a, rt, nranks);
  if (w)
    m.temp_bytes +=
        block_as(a, rt, nranks) + block_as(*w, rt, nranks) + max_block_bytes(r.out(), nranks);
  return m;
}

DNDarray average(const DNDarray& a, std::optional<int64_t> axis, const DNDarray* weights,
                 bool keepdims) {
  const ArrayMeta wm = weights ? meta_of(*weights) : ArrayMeta{};
  const OpMeta meta = average_meta(meta_of(a), weights ? &wm : nullptr, axis, keepdims, a.comm().size());
  const Dtype rt = meta.outputs[0].dtype;
  const Axes axes = average_axes(axis);
  const DNDarray x = astype(a, rt, /*copy=*/false);
  if (!weights) return mean(x, axes, keepdims);
  DNDarray w = astype(*weights, rt, /*copy=*/false);
  if (weights->gshape() != a.gshape()) {
    const int64_t ax = normalize_axis(*axis, a.ndim(), "average");
    for (int64_t d = 0; d < a.ndim(); ++d)
      if (d != ax) w = expand_dims(w, d);
  }
  const DNDarray scl = sum(w, axes, keepdims);
  const DNDarray zero = any(equal(scl, 0.0));
  DND_CHECK_VALUE(!zero.larray().item<bool>(), "average: the weights sum to zero, can't be normalized");
  return sum(x * w, axes, keepdims) / scl;
}

// ---- ptp ----------------------------------------------------------------------------------

OpMeta ptp_meta(const ArrayMeta& a, const std::optional<std::vector<int64_t>>& axes, bool keepdims,
                int nranks) {
  DND_CHECK_TYPE(a.dtype != at::kBool, "ptp: boolean arrays have no subtraction (numpy), got bool");
  ReductionMeta r = reduction_meta("max", a, axes, keepdims, nranks);
  OpMeta m;
  m.outputs.push_back(r.out());
  m.comm_bytes = 2 * r.op.comm_bytes;
  m.temp_bytes = 2 * r.op.temp_bytes + 2 * max_block_bytes(r.out(), nranks);  // max and min
  return m;
}

DNDarray ptp(const DNDarray& a, const std::optional<std::vector<int64_t>>& axes, bool keepdims) {
  ptp_meta(meta_of(a), axes, keepdims, a.comm().size());
  const DNDarray hi = max(a, axes, keepdims);
  const DNDarray lo = min(a, axes, keepdims);
  at::Tensor d = hi.larray() - lo.larray();
  return DNDarray(d, hi.gshape(), hi.split(), hi.comm(), hi.counts());
}

// ---- skew, kurtosis -----------------------------------------------------------------------

namespace {
ReductionMeta moment_plan(std::string_view op, const ArrayMeta& a, std::optional<int64_t> axis,
                          int nranks) {
  const Dtype wt = statistics_dtype(a.dtype, op);
  return reduction_meta("mean", ArrayMeta{a.shape, wt, a.split, a.device}, average_axes(axis), false,
                        nranks);
}

at::Tensor local_sum_keep(const at::Tensor& x, const std::vector<int64_t>& axes) {
  if (axes.empty()) return x.clone();  // a 0-d array: torch would reduce everything
  return at::sum(x, axes, /*keepdim=*/true);
}

DNDarray moments(const DNDarray& a, std::optional<int64_t> axis, bool kurt, bool fisher, bool bias) {
  const char* op = kurt ? "kurtosis" : "skew";
  const ReductionMeta p = moment_plan(op, meta_of(a), axis, a.comm().size());
  const Dtype wt = p.out().dtype;
  const at::Tensor x = a.larray().to(wt);
  const auto n = static_cast<double>(p.n_reduced);
  at::Tensor s1 = local_sum_keep(x, p.axes);
  if (p.over_split) combine(a.comm(), s1, ReduceOp::sum);
  const at::Tensor mean = s1 / n;
  const at::Tensor dev = x - mean;
  at::Tensor pw = dev * dev;
  at::Tensor m2 = local_sum_keep(pw, p.axes);
  if (kurt)
    pw.square_();
  else
    pw.mul_(dev);
  at::Tensor mk = local_sum_keep(pw, p.axes);
  at::Tensor both = at::stack({m2, mk});
  if (p.over_split) combine(a.comm(), both, ReduceOp::sum);
  both = both / n;
  m2 = both[0];
  mk = both[1];
  const double resolution = wt == at::kFloat ? 1e-6 : 1e-15;  // numpy's finfo(...).resolution
  const at::Tensor zero = m2 <= (resolution * mean).square();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  at::Tensor vals;
  if (!kurt) {
    vals = at::where(zero, at::full({}, nan, m2.options()), mk / m2.pow(1.5));
    if (!bias && n > 2)
      vals = at::where(zero, vals, std::sqrt((n - 1.0) * n) / (n - 2.0) * mk / m2.pow(1.5));
  } else {
    vals = at::where(zero, at::full({}, nan, m2.options()), mk / m2.square());
    if (!bias && n > 3)
      vals = at::where(
          zero, vals,
          1.0 / (n - 2) / (n - 3) * ((n * n - 1.0) * mk / m2.square() - 3 * (n - 1) * (n - 1)) + 3.0);
    if (fisher) vals = vals - 3.0;
  }
  for (auto it = p.axes.rbegin(); it != p.axes.rend(); ++it) vals = vals.squeeze(*it);
  vals = vals.contiguous();
  if (p.out().split) return DNDarray(vals, p.out().shape, p.out().split, a.comm(), a.counts());
  return DNDarray(vals, p.out().shape, kReplicated, a.comm());
}
}  // namespace

OpMeta moment_meta(std::string_view op, const ArrayMeta& a, std::optional<int64_t> axis, int nranks) {
  const ReductionMeta p = moment_plan(op, a, axis, nranks);
  OpMeta m;
  m.outputs.push_back(p.out());
  if (p.over_split && nranks > 1) {  // the sums, then the second and third / fourth moments
    ArrayMeta two = p.out();
    two.shape.insert(two.shape.begin(), 2);
    m.comm_bytes = allreduce_bytes(p.out(), nranks) + allreduce_bytes(two, nranks);
  }
  // x - mean and its powers (and the converted block)
  const Dtype wt = p.out().dtype;
  m.temp_bytes = block_as(a, wt, nranks) * (wt != a.dtype ? 3 : 2);
  return m;
}

DNDarray skew(const DNDarray& a, std::optional<int64_t> axis, bool bias) {
  return moments(a, axis, false, false, bias);
}
DNDarray kurtosis(const DNDarray& a, std::optional<int64_t> axis, bool fisher, bool bias) {
  return moments(a, axis, true, fisher, bias);
}

OpMeta bincount_meta(const ArrayMeta& x, const ArrayMeta* weights, int64_t minlength, int nranks) {
  DND_CHECK_SHAPE(x.shape.size() == 1, "bincount: the input must be 1-D, got shape {}",
                  shape_str(x.shape));
  DND_CHECK_TYPE(at::isIntegralType(x.dtype, /*includeBool=*/true),
                 "bincount: the input must hold integers, got {}", dtype_name(x.dtype));
  DND_CHECK_VALUE(minlength >= 1 && minlength <= (int64_t{1} << 31),
                  "bincount: minlength (the number of bins) must be in [1, 2^31], got {}", minlength);
  OpMeta m;
  ArrayMeta out{{minlength}, weights ? at::kDouble : at::kLong, kReplicated, x.device};
  if (weights) {
    DND_CHECK_SHAPE(weights->shape == x.shape, "bincount: weights of shape {} for an input of shape {}",
                    shape_str(weights->shape), shape_str(x.shape));
    DND_CHECK_TYPE(!at::isComplexType(weights->dtype), "bincount: complex weights");
    // Weights split otherwise are brought to the input's distribution.
    if (weights->split != x.split) {
      m.comm_bytes += move_bytes(*weights, nranks);
      m.temp_bytes += max_block_bytes(*weights, nranks);
    }
    ArrayMeta w64 = *weights;
    w64.dtype = at::kDouble;
    m.temp_bytes += max_block_bytes(w64, nranks);
  }
  ArrayMeta x64 = x;
  x64.dtype = at::kLong;
  if (x.dtype != at::kLong) m.temp_bytes += max_block_bytes(x64, nranks);
  m.temp_bytes += global_bytes(out);  // the rank's own counts
  if (x.split && nranks > 1)
    m.comm_bytes += allreduce_bytes(out, nranks) + allreduce_bytes(ArrayMeta{{2}, at::kLong}, nranks);
  m.outputs.push_back(std::move(out));
  return m;
}

DNDarray bincount(const DNDarray& x, int64_t minlength, const DNDarray* weights) {
  const ArrayMeta wm = weights ? meta_of(*weights) : ArrayMeta{};
  const OpMeta m = bincount_meta(meta_of(x), weights ? &wm : nullptr, minlength, x.comm().size());
  const at::Tensor v = x.larray().to(at::kLong);
  // Every rank learns the smallest and largest value anywhere (empty blocks add nothing).
  at::Tensor range = at::tensor({v.numel() ? -v.min().item<int64_t>() : int64_t{0},
                                 v.numel() ? v.max().item<int64_t>() : int64_t{0}},
                                at::kLong);
  if (x.split()) allreduce_(x.comm(), range, ReduceOp::max);
  const int64_t lo = -range[0].item<int64_t>(), hi = range[1].item<int64_t>();
  DND_CHECK_VALUE(lo >= 0, "bincount: the values must be non-negative, found {}", lo);
  DND_CHECK_VALUE(
      hi < minlength,
      "bincount: the value {} is not below minlength {} (the result's length, fixed when planning)", hi,
      minlength);
  at::Tensor counts;
  if (weights) {
    DNDarray w = *weights;
    if (w.split() != x.split()) w = resplit(w, x.split());
    if (x.split() && w.counts() != x.counts()) w = redistribute(w, x.counts());
    counts = at::bincount(v.cpu(), w.larray().cpu().to(at::kDouble), minlength);
  } else {
    counts = at::bincount(v.cpu(), {}, minlength);
  }
  counts = counts.to(m.outputs[0].dtype).contiguous();
  if (x.split()) allreduce_(x.comm(), counts, ReduceOp::sum);
  return DNDarray(counts.to(x.larray().device()), m.outputs[0].shape, kReplicated, x.comm());
}

OpMeta histogram_meta(const ArrayMeta& a, int64_t bins, const std::vector<double>& edges,
                      const ArrayMeta* weights, bool density, int nranks) {
  DND_CHECK_TYPE(!at::isComplexType(a.dtype), "histogram: complex arrays have no ordering");
  if (edges.empty()) {
    DND_CHECK_VALUE(bins >= 1 && bins <= (int64_t{1} << 31),
                    "histogram: bins must be in [1, 2^31], got {}", bins);
  } else {
    DND_CHECK_VALUE(edges.size() >= 2, "histogram: give at least two bin edges, got {}", edges.size());
    for (size_t i = 1; i < edges.size(); ++i)
      DND_CHECK_VALUE(edges[i] >= edges[i - 1],
                      "histogram: bin edges must increase monotonically ({} after {})", edges[i],
                      edges[i - 1]);
  }
  const int64_t n = edges.empty() ? bins : static_cast<int64_t>(edges.size()) - 1;
  if (weights)
    DND_CHECK_SHAPE(weights->shape == a.shape, "histogram: weights of shape {} for an array of shape {}",
                    shape_str(weights->shape), shape_str(a.shape));
  OpMeta m;
  const Dtype edge_dtype = at::isFloatingType(a.dtype) ? a.dtype : at::kDouble;
  m.outputs.push_back(
      ArrayMeta{{n}, weights || density ? at::kDouble : at::kLong, kReplicated, a.device});
  m.outputs.push_back(ArrayMeta{{n + 1}, edge_dtype, kReplicated, a.device});
  // A float64 copy of the block, the kept mask, the bin indices and the kept ones (and of
  // the weights); the weights brought to the array's blocks.
  ArrayMeta x64 = a;
  x64.dtype = at::kDouble;
  const int64_t elements = max_block_bytes(x64, nranks) / 8;
  m.temp_bytes = elements * (8 + 1 + 8 + 8 + (weights ? 16 : 0)) + global_bytes(m.outputs[0]);
  if (weights && weights->split != a.split) {
    m.comm_bytes += move_bytes(*weights, nranks);
    m.temp_bytes += max_block_bytes(*weights, nranks);
  }
  if (a.split && nranks > 1)
    m.comm_bytes +=
        allreduce_bytes(m.outputs[0], nranks) + 2 * allreduce_bytes(ArrayMeta{{2}, at::kDouble}, nranks);
  return m;
}

std::pair<DNDarray, DNDarray> histogram(const DNDarray& a, int64_t bins,
                                        std::optional<std::pair<double, double>> range,
                                        const std::vector<double>& edge_list, const DNDarray* weights,
                                        bool density) {
  const ArrayMeta wm = weights ? meta_of(*weights) : ArrayMeta{};
  const OpMeta m =
      histogram_meta(meta_of(a), bins, edge_list, weights ? &wm : nullptr, density, a.comm().size());
  const at::Tensor x = a.larray().reshape({-1}).to(at::kDouble).cpu();
  const Dtype edge_dtype = m.outputs[1].dtype;
  at::Tensor edges;
  if (!edge_list.empty()) {
    edges = at::tensor(edge_list, at::kDouble);
  } else {
    double lo = 0, hi = 0;
    if (range) {
      std::tie(lo, hi) = *range;
      DND_CHECK_VALUE(lo <= hi, "histogram: max must be larger than min in range, got [{}, {}]", lo, hi);
      DND_CHECK_VALUE(std::isfinite(lo) && std::isfinite(hi), "histogram: range [{}, {}] is not finite",
                      lo, hi);
    } else {
      // The data's range: (-min, max) allreduced as maxima, NaN flagged on every rank.
      const bool any = x.numel() > 0;
      at::Tensor mm = at::tensor(
          {any ? -x.min().item<double>() : -INFINITY, any ? x.max().item<double>() : -INFINITY,
           any && at::isnan(x).any().item<bool>() ? 1.0 : 0.0},
          at::kDouble);
      if (a.split()) allreduce_(a.comm(), mm, ReduceOp::max);
      DND_CHECK_VALUE(mm[2].item<double>() == 0,
                      "histogram: autodetected range of an array with NaN is not finite "
                      "(give range: [min, max])");
      lo = -mm[0].item<double>();
      hi = mm[1].item<double>();
      if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;  // no values at all (numpy: [0, 1])
    }
    if (lo == hi) lo -= 0.5, hi += 0.5;
    // numpy.linspace: start + i * step, the last edge exactly stop.
    edges = at::arange(bins + 1, at::kDouble) * ((hi - lo) / static_cast<double>(bins)) + lo;
    edges[bins] = hi;
  }
  edges = edges.to(edge_dtype).to(at::kDouble);  // the edges as the result holds them
  const int64_t n = edges.numel() - 1;
  const double first = edges[0].item<double>(), last = edges[n].item<double>();
  // Bin i holds edges[i] <= x < edges[i+1]; the last also x == its right edge.
  const at::Tensor keep = x.ge(first).logical_and_(x.le(last));
  at::Tensor idx =
      at::searchsorted(edges, x, /*out_int32=*/false, /*right=*/true).sub_(1).clamp_(0, n - 1);
  at::Tensor counts;
  if (weights) {
    DNDarray w = *weights;
    if (w.split() != a.split()) w = resplit(w, a.split());
    if (a.split() && w.counts() != a.counts()) w = redistribute(w, a.counts());
    const at::Tensor wv = w.larray().reshape({-1}).to(at::kDouble).cpu();
    counts = at::zeros({n}, at::kDouble).index_add_(0, idx.masked_select(keep), wv.masked_select(keep));
  } else {
    counts = at::bincount(idx.masked_select(keep), {}, n).to(at::kLong);
  }
  if (a.split()) allreduce_(a.comm(), counts, ReduceOp::sum);
  if (density) {
    const at::Tensor c = counts.to(at::kDouble);
    counts = c / c.sum() / (edges.slice(0, 1) - edges.slice(0, 0, n));
  } else if (weights) {
    counts = counts.to(at::kDouble);
  }
  const at::Device dev = a.larray().device();
  return {
      DNDarray(counts.contiguous().to(dev), m.outputs[0].shape, kReplicated, a.comm()),
      DNDarray(edges.to(edge_dtype).contiguous().to(dev), m.outputs[1].shape, kReplicated, a.comm())};
}

}  // namespace dnd
