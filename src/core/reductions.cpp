#include "src/core/reductions.h"

#include "src/core/error.h"
#include "src/core/reduce_kernels.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

namespace dnd {

namespace {

using Plan = ReductionMeta;

Plan make_plan(const char* op, const DNDarray& a, const Axes& axes, bool keepdims, int64_t ddof = 0) {
  return reduction_meta(op, meta_of(a), axes, keepdims, a.comm().size(), ddof);
}

// Drops the reduced axes (kept with extent 1 during the computation) unless keepdims.
at::Tensor finish_dims(at::Tensor t, const Plan& p, bool keepdims) {
  if (keepdims) return t;
  for (auto it = p.axes.rbegin(); it != p.axes.rend(); ++it) t = t.squeeze(*it);
  return t;
}

DNDarray wrap(const DNDarray& a, at::Tensor local, const Plan& p) {
  if (!local.is_contiguous()) local = local.contiguous();
  if (p.out().split) return DNDarray(local, p.out().shape, p.out().split, a.comm(), a.counts());
  return DNDarray(local, p.out().shape, kReplicated, a.comm());
}

// Combines the ranks' partial results in place (staging device tensors through the host).
void combine(const Communicator& comm, at::Tensor& t, ReduceOp op) {
  at::Tensor host = t.device().is_cpu() ? t.contiguous() : t.cpu().contiguous();
  allreduce_(comm, host, op);
  t = t.device().is_cpu() ? host : host.to(t.device());
}

// The local block's shape with the reduced axes set to 1.
std::vector<int64_t> keep_shape(const at::Tensor& x, const Plan& p) {
  std::vector<int64_t> s = x.sizes().vec();
  for (int64_t ax : p.axes) s[static_cast<size_t>(ax)] = 1;
  return s;
}

bool local_extent_empty(const at::Tensor& x, const Plan& p) {
  for (int64_t ax : p.axes)
    if (x.size(ax) == 0) return true;
  return false;
}

// Sum over the axes, keeping them (an empty axis list reduces nothing).
at::Tensor column_sum(const at::Tensor& x, const Plan& p);
at::Tensor local_sum(const at::Tensor& x, const Plan& p, std::optional<Dtype> dt = std::nullopt) {
  if (!dt || *dt == x.scalar_type()) {
    at::Tensor fast = column_sum(x, p);
    if (fast.defined()) return fast;
  }
  if (p.axes.empty()) return dt ? x.to(*dt) : at::sum(x.unsqueeze(0), 0);  // sum's dtype promotion
  return at::sum(x, p.axes, /*keepdim=*/true, dt ? c10::optional<at::ScalarType>(*dt) : c10::nullopt);
}

// ---- column kernels: a reduction over a run of leading axes of a contiguous block ------
//
// When the reduced axes are consecutive, [a, b), and axes remain after them, the block
// is `outer` panels of R rows by C columns (R the product of the reduced extents), and
// the reduction folds each panel's rows into a row of C results: src/core/reduce_kernels
// reads the panel once in memory order (torch's reduction over a leading axis of a
// contiguous block reads it far slower). The result tensor has the kept-dims shape.
struct Panels {
  int64_t outer = 1, R = 1, C = 1;
};

std::optional<Panels> column_panels(const at::Tensor& x, const Plan& p) {
  if (p.axes.empty() || !x.device().is_cpu() || !x.is_contiguous()) return std::nullopt;
  for (size_t i = 1; i < p.axes.size(); ++i)
    if (p.axes[i] != p.axes[i - 1] + 1) return std::nullopt;
  const int64_t a = p.axes.front(), b = p.axes.back() + 1;
  if (b >= x.dim()) return std::nullopt;  // an inner reduction: torch's own is fast
  Panels g;
  for (int64_t d = 0; d < x.dim(); ++d) (d < a ? g.outer : d < b ? g.R : g.C) *= x.size(d);
  // Every width, narrow ones included: the result (float64 accumulation of float32) must
  // not depend on how many columns a rank's block has, that is on the rank count.
  return g;
}

// Runs kern(x_panel, R, C, out_panel, c0, n) over column chunks of every panel in parallel.
template <class T, class O, class K>
void over_panels(const at::Tensor& x, at::Tensor& out, const Panels& g, K kern) {
  constexpr int64_t kChunk = 4096;
  const int64_t chunks = (g.C + kChunk - 1) / kChunk;
  const T* xp = x.data_ptr<T>();
  O* op = out.data_ptr<O>();
  at::parallel_for(0, g.outer * chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / chunks, c0 = (t % chunks) * kChunk, n = std::min(kChunk, g.C - c0);
      kern(xp + o * g.R * g.C + c0, g.R, g.C, n, op + o * g.C + c0, o * g.C + c0);
    }
  });
}

// The column-kernel sum (float32 and float64 in their own dtype, int32 and int64 as
// int64), or an undefined tensor where it does not apply.
at::Tensor column_sum(const at::Tensor& x, const Plan& p) {
  const auto g = column_panels(x, p);
  if (!g) return {};
  const Dtype t = x.scalar_type();
  if (t != at::kFloat && t != at::kDouble && t != at::kInt && t != at::kLong) return {};
  at::Tensor out = at::empty(keep_shape(x, p), x.options().dtype(t == at::kInt ? at::kLong : t));
  auto run = [&](auto in_tag, auto out_tag) {
    using T = decltype(in_tag);
    using O = decltype(out_tag);
    over_panels<T, O>(x, out, *g, [](const T* xp, int64_t R, int64_t ld, int64_t n, O* op, int64_t) {
      kernels::col_sum(xp, R, ld, n, op);
    });
  };
  if (t == at::kFloat) run(float{}, float{});
  if (t == at::kDouble) run(double{}, double{});
  if (t == at::kInt) run(int32_t{}, int64_t{});
  if (t == at::kLong) run(int64_t{}, int64_t{});
  return out;
}

// sum over the reduced axes of (x - center)^2, center of the kept-dims shape (or
// undefined: 0); float32 and float64 only.
at::Tensor column_sumsq(const at::Tensor& x, const Plan& p, const at::Tensor& center) {
  const auto g = column_panels(x, p);
  const Dtype t = x.scalar_type();
  if (!g || (t != at::kFloat && t != at::kDouble)) return {};
  if (center.defined() &&
      (center.scalar_type() != t || !center.is_contiguous() || center.numel() != g->outer * g->C))
    return {};
  at::Tensor out = at::empty(keep_shape(x, p), x.options());
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* cp = center.defined() ? center.data_ptr<T>() : nullptr;
    over_panels<T, T>(x, out, *g, [cp](const T* xp, int64_t R, int64_t ld, int64_t n, T* op, int64_t k) {
      kernels::col_sumsq(xp, R, ld, n, cp ? cp + k : nullptr, op);
    });
  };
  if (t == at::kFloat) run(float{});
  if (t == at::kDouble) run(double{});
  return out;
}

// min / max through the column kernels (NaN propagates); needs R >= 1.
at::Tensor column_extreme(const at::Tensor& x, const Plan& p, bool is_max) {
  const auto g = column_panels(x, p);
  const Dtype t = x.scalar_type();
  if (!g || g->R < 1 || (t != at::kFloat && t != at::kDouble && t != at::kInt && t != at::kLong))
    return {};
  at::Tensor out = at::empty(keep_shape(x, p), x.options());
  auto run = [&](auto tag) {
    using T = decltype(tag);
    over_panels<T, T>(x, out, *g,
                      [is_max](const T* xp, int64_t R, int64_t ld, int64_t n, T* op, int64_t) {
                        kernels::col_extreme(xp, R, ld, n, is_max, op);
                      });
  };
  if (t == at::kFloat) run(float{});
  if (t == at::kDouble) run(double{});
  if (t == at::kInt) run(int32_t{});
  if (t == at::kLong) run(int64_t{});
  return out;
}

// argmin / argmax over one leading run of axes through the column kernels: (value,
// local index) of the kept-dims shape; undefined where it does not apply (R >= 1 needed).
std::pair<at::Tensor, at::Tensor> column_arg(const at::Tensor& x, const Plan& p, bool is_max) {
  const auto g = column_panels(x, p);
  const Dtype t = x.scalar_type();
  if (!g || g->R < 1 || (t != at::kFloat && t != at::kDouble && t != at::kInt && t != at::kLong))
    return {};
  at::Tensor val = at::empty(keep_shape(x, p), x.options());
  at::Tensor idx = at::empty(keep_shape(x, p), x.options().dtype(at::kLong));
  int64_t* ip = idx.data_ptr<int64_t>();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    over_panels<T, T>(x, val, *g,
                      [is_max, ip](const T* xp, int64_t R, int64_t ld, int64_t n, T* op, int64_t k) {
                        kernels::col_arg_extreme(xp, R, ld, n, is_max, op, ip + k);
                      });
  };
  if (t == at::kFloat) run(float{});
  if (t == at::kDouble) run(double{});
  if (t == at::kInt) run(int32_t{});
  if (t == at::kLong) run(int64_t{});
  return {val, idx};
}

Dtype float_result(Dtype t) { return at::isFloatingType(t) || at::isComplexType(t) ? t : kDefaultDtype; }

// The identity of max (the dtype's lowest value) or min (its highest).
at::Scalar extreme_identity(Dtype t, bool is_max) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  switch (t) {
    case at::kByte:
      return is_max ? int64_t{0} : int64_t{std::numeric_limits<uint8_t>::max()};
    case at::kChar:
      return is_max ? int64_t{std::numeric_limits<int8_t>::min()}
                    : int64_t{std::numeric_limits<int8_t>::max()};
    case at::kShort:
      return is_max ? int64_t{std::numeric_limits<int16_t>::min()}
                    : int64_t{std::numeric_limits<int16_t>::max()};
    case at::kInt:
      return is_max ? int64_t{std::numeric_limits<int32_t>::min()}
                    : int64_t{std::numeric_limits<int32_t>::max()};
    case at::kLong:
      return is_max ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
    default:
      return is_max ? -inf : inf;
  }
}

// min / max with NaN propagation and empty local blocks.
DNDarray extreme(const char* op, const DNDarray& a, const Axes& axes, bool keepdims, bool is_max) {
  const Plan p = make_plan(op, a, axes, keepdims);
  at::Tensor x = a.dtype() == at::kBool ? a.larray().to(at::kByte) : a.larray();
  at::Tensor part;
  if (p.axes.empty()) {
    part = x.clone();
  } else if (local_extent_empty(x, p)) {
    // This rank holds nothing of the reduced extent: contribute the identity.
    part = at::full(keep_shape(x, p), extreme_identity(x.scalar_type(), is_max), x.options());
  } else {
    part = column_extreme(x, p, is_max);
    if (!part.defined()) part = is_max ? at::amax(x, p.axes, true) : at::amin(x, p.axes, true);
  }
  if (p.over_split) {
    at::Tensor nan_flag;
    if (at::isFloatingType(part.scalar_type())) nan_flag = at::isnan(part).to(at::kByte);
    combine(a.comm(), part, is_max ? ReduceOp::max : ReduceOp::min);
    if (nan_flag.defined()) {
      combine(a.comm(), nan_flag, ReduceOp::max);
      part = at::where(nan_flag.to(at::kBool), at::full({}, NAN, part.options()), part);
    }
  }
  if (a.dtype() == at::kBool) part = part.to(at::kBool);
  return wrap(a, finish_dims(part, p, keepdims), p);
}

// argmin / argmax: global indices, first occurrence on ties, NaN wins (numpy).
DNDarray arg_extreme(const char* op, const DNDarray& a, std::optional<int64_t> axis_opt, bool keepdims,
                     bool is_max) {
  const bool flat = !axis_opt;
  const Plan p = make_plan(op, a, flat ? all_axes() : Axes(std::vector<int64_t>{*axis_opt}), keepdims);
  const int64_t ax = flat ? -1 : p.axes[0];
  at::Tensor x = a.dtype() == at::kBool ? a.larray().to(at::kByte) : a.larray();
  auto pick = [&](const at::Tensor& t, int64_t dim) {
    return is_max ? at::argmax(t, dim, true) : at::argmin(t, dim, true);
  };

  if (!p.over_split) {
    // The reduced axis is whole on every rank: local indices are global ones.
    at::Tensor idx;
    if (!flat) idx = column_arg(x, p, is_max).second;
    if (!idx.defined()) idx = flat ? pick(x.reshape({-1}), 0).reshape(keep_shape(x, p)) : pick(x, ax);
    return wrap(a, finish_dims(idx, p, keepdims), p);
  }

  // Per rank candidate (value, global index); ranks holding nothing are masked out.
  const Communicator& comm = a.comm();
  const int64_t s = *a.split();
  const Chunk mine = a.chunk();
  const std::vector<int64_t> kshape = keep_shape(x, p);
  at::Tensor val, gidx;
  if (mine.count > 0) {
    if (flat) {
      at::Tensor k = pick(x.reshape({-1}), 0);  // local flat index
      val = x.reshape({-1}).index_select(0, k).reshape(kshape);
      // local flat -> local multi-index -> global flat index
      int64_t rem = k.item<int64_t>(), g = 0, gstride = 1;
      std::vector<int64_t> li(static_cast<size_t>(x.dim()));
      for (int64_t d = x.dim() - 1; d >= 0; --d) {
        li[static_cast<size_t>(d)] = rem % x.size(d);
        rem /= x.size(d);
      }
      for (int64_t d = x.dim() - 1; d >= 0; --d) {
        const int64_t gi = li[static_cast<size_t>(d)] + (d == s ? mine.offset : 0);
        g += gi * gstride;
        gstride *= a.gshape()[static_cast<size_t>(d)];
      }
      gidx = at::full(kshape, g, x.options().dtype(at::kLong));
    } else {
      std::tie(val, gidx) = column_arg(x, p, is_max);
      if (!gidx.defined()) {
        gidx = pick(x, ax);
        val = at::gather(x, ax, gidx);
      }
      gidx = gidx + mine.offset;
    }
  } else {
    val = at::zeros(kshape, x.options());
    gidx = at::zeros(kshape, x.options().dtype(at::kLong));
  }
  // Gather every rank's candidates: [p, ...kshape].
  auto allgather_stack = [&](const at::Tensor& t) {
    at::Tensor host = t.cpu().contiguous();
    std::vector<int64_t> st{comm.size()};
    st.insert(st.end(), kshape.begin(), kshape.end());
    at::Tensor out = at::empty(st, host.options());
    std::vector<at::Tensor> sends(static_cast<size_t>(comm.size()), host), recvs;
    for (int r = 0; r < comm.size(); ++r) recvs.push_back(out[r]);
    exchange(comm, sends, recvs);
    return out;
  };
  at::Tensor vals = allgather_stack(val), idxs = allgather_stack(gidx);
  std::vector<int64_t> bshape(kshape.size() + 1, 1);
  bshape[0] = comm.size();
  std::vector<uint8_t> valid_v;
  for (int r = 0; r < comm.size(); ++r) valid_v.push_back(a.counts()[static_cast<size_t>(r)] > 0);
  at::Tensor valid = at::tensor(at::ArrayRef<uint8_t>(valid_v), at::kByte).to(at::kBool).reshape(bshape);
  at::Tensor cand;
  if (at::isFloatingType(vals.scalar_type())) {
    at::Tensor nan = at::isnan(vals) & valid;
    at::Tensor any_nan = nan.any(0, true);
    const double worst =
        is_max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    at::Tensor masked = at::where(valid & ~nan, vals, at::full({}, worst, vals.options()));
    at::Tensor best = is_max ? masked.amax(0, true) : masked.amin(0, true);
    cand = at::where(any_nan, nan, valid & (vals == best));
  } else {
    at::Tensor wide = vals.to(at::kLong);
    const int64_t worst =
        is_max ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
    at::Tensor masked = at::where(valid, wide, at::full({}, worst, wide.options()));
    at::Tensor best = is_max ? masked.amax(0, true) : masked.amin(0, true);
    cand = valid & (wide == best);
  }
  at::Tensor result =
      at::where(cand, idxs, at::full({}, std::numeric_limits<int64_t>::max(), idxs.options())).amin(0);
  result = result.to(a.larray().device());
  return wrap(a, finish_dims(result, p, keepdims), p);
}

}  // namespace

DNDarray sum(const DNDarray& a, const Axes& axes, bool keepdims) {
  const Plan p = make_plan("sum", a, axes, keepdims);
  at::Tensor part = local_sum(a.larray(), p);
  if (p.over_split) combine(a.comm(), part, ReduceOp::sum);
  return wrap(a, finish_dims(part, p, keepdims), p);
}

DNDarray prod(const DNDarray& a, const Axes& axes, bool keepdims) {
  const Plan p = make_plan("prod", a, axes, keepdims);
  at::Tensor part = a.larray();
  if (p.axes.empty()) part = at::prod(part.unsqueeze(0), 0);
  for (auto it = p.axes.rbegin(); it != p.axes.rend(); ++it) part = at::prod(part, *it, true);
  if (p.over_split) combine(a.comm(), part, ReduceOp::prod);
  return wrap(a, finish_dims(part, p, keepdims), p);
}

DNDarray mean(const DNDarray& a, const Axes& axes, bool keepdims) {
  const Plan p = make_plan("mean", a, axes, keepdims);
  const Dtype dt = float_result(a.dtype());
  at::Tensor part = local_sum(a.larray(), p, dt);
  if (p.over_split) combine(a.comm(), part, ReduceOp::sum);
  part = part / static_cast<double>(p.n_reduced);
  return wrap(a, finish_dims(part, p, keepdims), p);
}

DNDarray var(const DNDarray& a, const Axes& axes, int64_t ddof, bool keepdims) {
  const Plan p = make_plan("var", a, axes, keepdims, ddof);
  const Dtype dt = float_result(a.dtype());
  at::Tensor x = a.larray().to(dt);
  // Pass 1: the mean (kept dims broadcast against the block).
  at::Tensor m = local_sum(x, p);
  if (p.over_split) combine(a.comm(), m, ReduceOp::sum);
  m = m / static_cast<double>(p.n_reduced);
  // Pass 2: squared deviations (the column kernel folds them without a block temporary).
  at::Tensor part = column_sumsq(x, p, m);
  if (!part.defined()) {
    at::Tensor d = x - m;
    at::Tensor sq = at::isComplexType(dt) ? at::real(d * at::conj(d)) : d * d;
    part = local_sum(sq, p);
  }
  if (p.over_split) combine(a.comm(), part, ReduceOp::sum);
  // As numpy: no degrees of freedom left gives nan (0/0) or inf, never a negative divisor.
  part = part / static_cast<double>(std::max<int64_t>(p.n_reduced - ddof, 0));
  return wrap(a, finish_dims(part, p, keepdims), p);
}

DNDarray std(const DNDarray& a, const Axes& axes, int64_t ddof, bool keepdims) {
  DNDarray v = var(a, axes, ddof, keepdims);
  return DNDarray(at::sqrt(v.larray()), v.gshape(), v.split(), v.comm(), v.counts());
}

DNDarray min(const DNDarray& a, const Axes& axes, bool keepdims) {
  return extreme("min", a, axes, keepdims, false);
}
DNDarray max(const DNDarray& a, const Axes& axes, bool keepdims) {
  return extreme("max", a, axes, keepdims, true);
}

DNDarray argmin(const DNDarray& a, std::optional<int64_t> axis, bool keepdims) {
  return arg_extreme("argmin", a, axis, keepdims, false);
}
DNDarray argmax(const DNDarray& a, std::optional<int64_t> axis, bool keepdims) {
  return arg_extreme("argmax", a, axis, keepdims, true);
}

static DNDarray any_all(const char* op, const DNDarray& a, const Axes& axes, bool keepdims,
                        bool is_any) {
  const Plan p = make_plan(op, a, axes, keepdims);
  at::Tensor part = a.larray().to(at::kBool);
  for (auto it = p.axes.rbegin(); it != p.axes.rend(); ++it)
    part = is_any ? at::any(part, *it, true) : at::all(part, *it, true);
  if (p.over_split) combine(a.comm(), part, is_any ? ReduceOp::max : ReduceOp::min);
  return wrap(a, finish_dims(part, p, keepdims), p);
}

DNDarray any(const DNDarray& a, const Axes& axes, bool keepdims) {
  return any_all("any", a, axes, keepdims, true);
}
DNDarray all(const DNDarray& a, const Axes& axes, bool keepdims) {
  return any_all("all", a, axes, keepdims, false);
}

DNDarray norm(const DNDarray& a, double ord, const Axes& axes, bool keepdims) {
  const Plan p = make_plan("norm", a, axes, keepdims);
  const Dtype dt = float_result(a.dtype());
  at::Tensor mag = at::abs(a.larray().to(dt));  // real for complex input
  if (std::isinf(ord)) {
    // max / min of |x|, through the same path as max / min.
    DNDarray m(mag, a.gshape(), a.split(), a.comm(), a.counts());
    return ord > 0 ? max(m, axes, keepdims) : min(m, axes, keepdims);
  }
  at::Tensor part;
  if (ord == 0) {
    part = local_sum((mag != 0).to(mag.scalar_type()), p);
  } else if (ord == 1) {
    part = local_sum(mag, p);
  } else if (ord == 2) {
    part = column_sumsq(mag, p, at::Tensor());
    if (!part.defined()) part = local_sum(mag * mag, p);
  } else {
    part = local_sum(at::pow(mag, ord), p);
  }
  if (p.over_split) combine(a.comm(), part, ReduceOp::sum);
  if (ord == 2)
    part = at::sqrt(part);
  else if (ord != 0 && ord != 1)
    part = at::pow(part, 1.0 / ord);
  return wrap(a, finish_dims(part, p, keepdims), p);
}

// ---- NaN-ignoring reductions -------------------------------------------------------------

namespace {

bool may_hold_nan(Dtype t) { return at::isFloatingType(t) || at::isComplexType(t); }

DNDarray like(const DNDarray& a, at::Tensor local) {
  return DNDarray(std::move(local), a.gshape(), a.split(), a.comm(), a.counts());
}

// The sum of the non-NaN elements and their count (int64), both combined over the ranks,
// with the reduced axes kept. `nan` is the block's NaN mask (the block float or complex).
std::pair<at::Tensor, at::Tensor> sum_and_count(const DNDarray& a, const at::Tensor& nan,
                                                const Plan& p) {
  const at::Tensor& x = a.larray();
  at::Tensor sum = local_sum(x.masked_fill(nan, 0), p);
  // The NaNs counted in the real float type (exact to 2^24 per slice for float32; a
  // bool-to-int64 sum would hold an int64 copy of the block), the rest as int64.
  int64_t slice = 1;
  for (int64_t ax : p.axes) slice *= x.size(ax);
  at::Tensor count =
      slice - local_sum(nan.to(c10::toRealValueType(x.scalar_type())), p).round_().to(at::kLong);
  if (p.over_split) {
    combine(a.comm(), sum, ReduceOp::sum);
    combine(a.comm(), count, ReduceOp::sum);
  }
  return {sum, count};
}

// Whether each slice holds NaNs alone, combined over the ranks (kept dims; a rank
// holding none of a slice agrees, as all() of nothing is true).
at::Tensor all_nan(const DNDarray& a, const at::Tensor& nan, const Plan& p) {
  at::Tensor r = nan;
  for (auto it = p.axes.rbegin(); it != p.axes.rend(); ++it) r = at::all(r, *it, true);
  if (p.over_split) combine(a.comm(), r, ReduceOp::min);
  return r;
}

double worst(bool is_max) {
  return is_max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

DNDarray nan_extreme(const char* op, const DNDarray& a, const Axes& axes, bool keepdims, bool is_max) {
  if (!may_hold_nan(a.dtype())) return extreme(op, a, axes, keepdims, is_max);
  const Plan p = make_plan(op, a, axes, keepdims);
  const at::Tensor nan = at::isnan(a.larray());
  const DNDarray r =
      extreme(op, like(a, a.larray().masked_fill(nan, worst(is_max))), axes, keepdims, is_max);
  // A slice of NaNs alone: NaN (numpy warns "All-NaN slice encountered").
  const at::Tensor none = finish_dims(all_nan(a, nan, p), p, keepdims);
  return like(r, at::where(none, at::full({}, NAN, r.larray().options()), r.larray()));
}

DNDarray nan_arg_extreme(const char* op, const DNDarray& a, std::optional<int64_t> axis, bool keepdims,
                         bool is_max) {
  if (!may_hold_nan(a.dtype())) return arg_extreme(op, a, axis, keepdims, is_max);
  const Plan p = make_plan(op, a, axis ? Axes(std::vector<int64_t>{*axis}) : all_axes(), keepdims);
  // Every rank learns whether any slice anywhere holds NaNs alone, and all throw.
  const at::Tensor nan = at::isnan(a.larray());
  at::Tensor bad = all_nan(a, nan, p).any().to(at::kByte).reshape({1});
  combine(a.comm(), bad, ReduceOp::max);
  if (bad.item<uint8_t>() != 0)
    throw ValueError(fmt::format("{}: All-NaN slice encountered (in an array {} split={})", op,
                                 shape_str(a.gshape()), split_str(a.split())));
  // numpy's rule: NaN becomes the worst value, then the plain arg-reduction.
  return arg_extreme(op, like(a, a.larray().masked_fill(nan, worst(is_max))), axis, keepdims, is_max);
}

}  // namespace

DNDarray nansum(const DNDarray& a, const Axes& axes, bool keepdims) {
  if (!may_hold_nan(a.dtype())) return sum(a, axes, keepdims);
  const Plan p = make_plan("nansum", a, axes, keepdims);
  at::Tensor part = local_sum(a.larray().masked_fill(at::isnan(a.larray()), 0), p);
  if (p.over_split) combine(a.comm(), part, ReduceOp::sum);
  return wrap(a, finish_dims(part, p, keepdims), p);
}

DNDarray nanmean(const DNDarray& a, const Axes& axes, bool keepdims) {
  if (!may_hold_nan(a.dtype())) return mean(a, axes, keepdims);
  const Plan p = make_plan("nanmean", a, axes, keepdims);
  auto [sum, count] = sum_and_count(a, at::isnan(a.larray()), p);
  // 0 / 0: NaN for a slice of NaNs alone.
  at::Tensor part = sum / count.to(c10::toRealValueType(sum.scalar_type()));
  return wrap(a, finish_dims(part, p, keepdims), p);
}

DNDarray nanvar(const DNDarray& a, const Axes& axes, int64_t ddof, bool keepdims) {
  if (!may_hold_nan(a.dtype())) return var(a, axes, ddof, keepdims);
  const Plan p = make_plan("nanvar", a, axes, keepdims, ddof);
  const at::Tensor nan = at::isnan(a.larray());
  auto [sum, count] = sum_and_count(a, nan, p);
  const Dtype real = c10::toRealValueType(sum.scalar_type());
  const at::Tensor m = sum / count.to(real);
  // Squared deviations of the non-NaN elements (NaN ones contribute 0).
  at::Tensor d = a.larray() - m;
  d.masked_fill_(nan, 0);
  at::Tensor sq = at::isComplexType(d.scalar_type()) ? at::real(d * at::conj(d)) : d.mul_(d);
  at::Tensor part = local_sum(sq, p);
  d = at::Tensor();
  sq = at::Tensor();
  if (p.over_split) combine(a.comm(), part, ReduceOp::sum);
  const at::Tensor dof = count - ddof;
  part = at::where(dof.gt(0), part / dof.clamp_min(1).to(real), at::full({}, NAN, part.options()));
  return wrap(a, finish_dims(part, p, keepdims), p);
}

DNDarray nanstd(const DNDarray& a, const Axes& axes, int64_t ddof, bool keepdims) {
  DNDarray v = nanvar(a, axes, ddof, keepdims);
  return like(v, at::sqrt(v.larray()));
}

DNDarray nanmin(const DNDarray& a, const Axes& axes, bool keepdims) {
  return nan_extreme("nanmin", a, axes, keepdims, false);
}
DNDarray nanmax(const DNDarray& a, const Axes& axes, bool keepdims) {
  return nan_extreme("nanmax", a, axes, keepdims, true);
}
DNDarray nanargmin(const DNDarray& a, std::optional<int64_t> axis, bool keepdims) {
  return nan_arg_extreme("nanargmin", a, axis, keepdims, false);
}
DNDarray nanargmax(const DNDarray& a, std::optional<int64_t> axis, bool keepdims) {
  return nan_arg_extreme("nanargmax", a, axis, keepdims, true);
}

DNDarray count_nonzero(const DNDarray& a, const Axes& axes, bool keepdims) {
  const Plan p = make_plan("count_nonzero", a, axes, keepdims);
  at::Tensor part = local_sum(a.larray().ne(0), p, at::kLong);
  if (p.over_split) combine(a.comm(), part, ReduceOp::sum);
  return wrap(a, finish_dims(part, p, keepdims), p);
}

Dtype reduction_dtype(std::string_view op_name, Dtype t) {
  // The NaN-ignoring reductions have the dtypes of the plain ones.
  const std::string_view op = op_name.substr(0, 3) == "nan" ? op_name.substr(3) : op_name;
  if (op == "count_nonzero") return at::kLong;
  if (op == "sum" || op == "prod") return at::isIntegralType(t, /*includeBool=*/true) ? at::kLong : t;
  if (op == "argmin" || op == "argmax") return at::kLong;
  if (op == "any" || op == "all") return at::kBool;
  if (op == "min" || op == "max") return t;
  // mean, var, std, norm: floats keep their type, integers give the default float.
  if (at::isComplexType(t)) return op == "mean" ? t : c10::toRealValueType(t);
  return at::isFloatingType(t) ? t : kDefaultDtype;
}

ReductionMeta reduction_meta(std::string_view op_name, const ArrayMeta& a, const Axes& axes,
                             bool keepdims, int nranks, int64_t ddof) {
  const std::string op(op_name);
  static const std::vector<std::string> kOps{
      "sum",    "prod",   "mean",   "var",    "std",       "min",       "max",
      "argmin", "argmax", "any",    "all",    "norm",      "nansum",    "nanmean",
      "nanvar", "nanstd", "nanmin", "nanmax", "nanargmin", "nanargmax", "count_nonzero"};
  DND_ASSERT(std::find(kOps.begin(), kOps.end(), op) != kOps.end(), op);
  // What a NaN-ignoring reduction does after masking the NaNs (of a float block).
  const bool nan_op = op.rfind("nan", 0) == 0;
  const std::string base = nan_op ? op.substr(3) : op;
  const bool masks = nan_op && (at::isFloatingType(a.dtype) || at::isComplexType(a.dtype));
  const bool arg = base == "argmin" || base == "argmax";
  const bool extreme = arg || base == "min" || base == "max";
  DND_CHECK_TYPE(!(extreme && at::isComplexType(a.dtype)), "{}: complex arrays have no ordering", op);
  DND_CHECK_VALUE(!(arg && axes && axes->size() != 1),
                  "{}: axis must be a single axis or none, got ({})", op, fmt::join(*axes, ", "));
  DND_CHECK_VALUE(ddof >= 0, "{}: ddof must be non-negative, got {}", op, ddof);
  ReductionMeta p;
  const int64_t nd = static_cast<int64_t>(a.shape.size());
  if (!axes) {
    for (int64_t d = 0; d < nd; ++d) p.axes.push_back(d);
  } else {
    for (int64_t ax : *axes) p.axes.push_back(normalize_axis(ax, nd, op));
    std::sort(p.axes.begin(), p.axes.end());
    DND_CHECK_VALUE(std::adjacent_find(p.axes.begin(), p.axes.end()) == p.axes.end(),
                    "{}: duplicate value in axis ({})", op, fmt::join(*axes, ", "));
  }
  const auto reduced = [&](int64_t d) { return std::binary_search(p.axes.begin(), p.axes.end(), d); };
  ArrayMeta out;
  out.dtype = reduction_dtype(op, a.dtype);
  out.device = a.device;
  int64_t removed_before_split = 0;
  for (int64_t d = 0; d < nd; ++d) {
    const int64_t n = a.shape[static_cast<size_t>(d)];
    if (reduced(d)) {
      p.n_reduced *= n;
      if (keepdims) out.shape.push_back(1);
      if (a.split && d < *a.split) ++removed_before_split;
    } else {
      out.shape.push_back(n);
    }
  }
  if (extreme && p.n_reduced == 0 && ((arg && !axes) || shape_numel(out.shape) > 0)) {
    if (arg)
      throw ValueError(fmt::format("{}: attempt to get {} of an empty sequence (shape {})", op, op,
                                   shape_str(a.shape)));
    throw ValueError(
        fmt::format("{}: zero-size array {} split={} to reduction operation which has no identity", op,
                    shape_str(a.shape), split_str(a.split)));
  }
  if (a.split) {
    p.over_split = reduced(*a.split);
    if (!p.over_split) out.split = keepdims ? *a.split : *a.split - removed_before_split;
  }
  if (p.over_split && nranks > 1) {
    // Each rank contributes a partial result of the output's size.
    ArrayMeta flag = out, count = out;
    flag.dtype = at::kByte;
    count.dtype = at::kLong;
    if (arg) {  // every rank's candidate (value and int64 index) goes to every rank
      p.op.comm_bytes =
          (nranks - 1) * shape_numel(out.shape) * static_cast<int64_t>(c10::elementSize(a.dtype) + 8);
      if (masks) p.op.comm_bytes += allreduce_bytes(flag, nranks);  // whether a slice holds a number
    } else {
      // (var and std combine twice: the mean, then the squared deviations)
      p.op.comm_bytes = allreduce_bytes(out, nranks) * (base == "var" || base == "std" ? 2 : 1);
      if ((base == "min" || base == "max") && at::isFloatingType(a.dtype))  // and a NaN flag per element
        p.op.comm_bytes += allreduce_bytes(flag, nranks);
      if (masks && (base == "min" || base == "max"))  // whether a slice holds a number
        p.op.comm_bytes += allreduce_bytes(flag, nranks);
      if (masks && (base == "mean" || base == "var" || base == "std"))  // the non-NaN counts
        p.op.comm_bytes += allreduce_bytes(count, nranks);
    }
  }
  // nanargmin / nanargmax: whether any slice anywhere holds NaNs alone (one byte).
  if (masks && arg && nranks > 1) p.op.comm_bytes += allreduce_bytes(ArrayMeta{{1}, at::kByte}, nranks);
  // Temporaries of the kernels above, per rank (measured by tests/cli/test_memory.py):
  // var/std/norm hold two block-sized arrays in the float dtype (x - mean and its square,
  // |x| and its power); a dtype change copies the block first (an int32 sum works on an
  // int64 copy, any/all on a bool copy).
  const int64_t esize = static_cast<int64_t>(c10::elementSize(a.dtype));
  const int64_t block = max_block_bytes(a, nranks) / std::max<int64_t>(1, esize);
  const bool floating = at::isFloatingType(a.dtype) || at::isComplexType(a.dtype);
  const Dtype work = base == "any" || base == "all" || base == "count_nonzero" ? at::kBool
                     : base == "var" || base == "std" || base == "norm" || base == "mean"
                         ? (floating ? a.dtype : kDefaultDtype)
                     : base == "sum" || base == "prod" ? out.dtype
                                                       : a.dtype;
  const int64_t wsize = static_cast<int64_t>(c10::elementSize(work));
  if (work != a.dtype) p.op.temp_bytes += block * wsize;
  if (!masks && (base == "var" || base == "std" || base == "norm")) p.op.temp_bytes += 2 * block * wsize;
  // The NaN mask and one block in the float type at a time: the masked copy, the count's
  // float copy of the mask, or nanvar's deviations (each freed before the next).
  if (masks) p.op.temp_bytes += block * (1 + wsize);
  // count_nonzero: the bool mask, summed by torch through an int64 copy.
  if (base == "count_nonzero") p.op.temp_bytes += block * 8;
  p.op.outputs.push_back(std::move(out));
  return p;
}

}  // namespace dnd
