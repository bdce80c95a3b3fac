#include "src/core/quantile.h"

#include "src/core/communicator.h"
#include "src/core/error.h"
#include "src/core/moves.h"
#include "src/core/manipulation.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

namespace dnd {

namespace {

Dtype result_dtype(Dtype t) { return at::isFloatingType(t) ? t : at::kDouble; }

// How the order statistics are found.
enum class Route {
  local,    // the axis is whole on every rank
  resplit,  // the split axis of an n-d array: resplit along `other` first
  sorted,   // a 1-D split array or all axes of a split array: a distributed selection
};

struct Layout {
  Route route = Route::local;
  int64_t axis = -1;   // normalised; -1: all axes
  int64_t other = -1;  // Route::resplit: the axis the array is resplit along
};

Layout layout_of(const char* op, const ArrayMeta& a, std::optional<int64_t> axis) {
  Layout l;
  const int64_t nd = static_cast<int64_t>(a.shape.size());
  if (axis) l.axis = normalize_axis(*axis, nd, op);
  if (!a.split) return l;
  if (l.axis >= 0 && l.axis != *a.split) return l;
  if (l.axis >= 0 && nd >= 2) {
    l.route = Route::resplit;
    for (int64_t d = 0; d < nd; ++d)
      if (d != l.axis &&
          (l.other < 0 || a.shape[static_cast<size_t>(d)] > a.shape[static_cast<size_t>(l.other)]))
        l.other = d;
    return l;
  }
  l.route = Route::sorted;
  return l;
}

// The needed order statistic positions and weights of q over n values (numpy's linear
// method): value = lerp(v[lo], v[hi], gamma).
struct Pick {
  int64_t lo = 0, hi = 0;
  double gamma = 0;
};
Pick pick(double q, int64_t n) {
  Pick p;
  const double h = static_cast<double>(n - 1) * q;
  p.lo = std::clamp<int64_t>(static_cast<int64_t>(std::floor(h)), 0, std::max<int64_t>(n - 1, 0));
  p.hi = std::min<int64_t>(p.lo + 1, std::max<int64_t>(n - 1, 0));
  p.gamma = h - std::floor(h);
  return p;
}

// numpy's _lerp: exact at both ends, symmetric about 0.5.
at::Tensor lerp(const at::Tensor& a, const at::Tensor& b, double t) {
  const at::Tensor diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

// The quantiles of a block along `dim` (whole here; -1: all elements), in the result
// dtype: [len(q)] + the reduced shape (keepdims: reduced axes kept with extent 1).
at::Tensor local_quantiles(const at::Tensor& block, int64_t dim, const std::vector<double>& q,
                           bool scalar_q, bool keepdims) {
  at::Tensor x = block.to(result_dtype(block.scalar_type()));
  std::vector<int64_t> keep_shape = x.sizes().vec();
  if (dim < 0) {
    std::fill(keep_shape.begin(), keep_shape.end(), 1);
    x = x.reshape({-1});
  } else {
    keep_shape[static_cast<size_t>(dim)] = 1;
  }
  const int64_t d = dim < 0 ? 0 : dim;
  const int64_t n = x.size(d);
  std::vector<at::Tensor> rs;
  if (n == 0 || x.numel() == 0) {
    // An empty slice: NaN (numpy.median); no slices: an empty result.
    for (size_t i = 0; i < q.size(); ++i) rs.push_back(at::full(keep_shape, NAN, x.options()));
  } else {
    const at::Tensor nan = at::isnan(x).any(d, /*keepdim=*/true);
    std::map<int64_t, at::Tensor> kth;  // order statistic -> its values (kept dims)
    auto stat = [&](int64_t k) {
      auto it = kth.find(k);
      if (it == kth.end())
        it = kth.emplace(k, std::get<0>(at::kthvalue(x, k + 1, d, /*keepdim=*/true))).first;
      return it->second;
    };
    for (double qi : q) {
      const Pick p = pick(qi, n);
      // Always numpy's _lerp, even at gamma 0: -inf next to -inf gives NaN there, as numpy.
      at::Tensor r = lerp(stat(p.lo), stat(p.hi), p.gamma);
      rs.push_back(r.masked_fill_(nan, NAN).reshape(keep_shape));
    }
  }
  for (at::Tensor& r : rs) {
    if (keepdims) continue;
    if (dim < 0)
      r = r.reshape({});
    else
      r = r.squeeze(dim);
  }
  return scalar_q ? rs[0] : at::stack(rs, 0);
}

// The result's shape and split (without dtype and cost).
ArrayMeta result_meta(const ArrayMeta& a, const Layout& l, size_t nq, bool scalar_q, bool keepdims) {
  ArrayMeta out;
  out.dtype = result_dtype(a.dtype);
  out.device = a.device;
  const int64_t nd = static_cast<int64_t>(a.shape.size());
  const int64_t lead = scalar_q ? 0 : 1;
  if (!scalar_q) out.shape.push_back(static_cast<int64_t>(nq));
  for (int64_t k = 0; k < nd; ++k) {
    const bool reduced = l.axis < 0 || k == l.axis;
    if (!reduced)
      out.shape.push_back(a.shape[static_cast<size_t>(k)]);
    else if (keepdims)
      out.shape.push_back(1);
  }
  // The axis the result is split along: a's (local route) or the resplit one.
  const int64_t s = l.route == Route::local && a.split ? *a.split
                    : l.route == Route::resplit        ? l.other
                                                       : -1;
  if (s >= 0) out.split = s - (!keepdims && l.axis >= 0 && l.axis < s ? 1 : 0) + lead;
  return out;
}

// ---- distributed selection ------------------------------------------------------------
//
// The k-th smallest values of a distributed set of floats, for a few k at once, in
// O(block) time and memory per rank: a radix select on the values' bits. Each float maps
// to an unsigned key whose order is the floats' order; pass 0 counts the keys' top 16
// bits (a histogram of 64 Ki bins, one allreduce), which fixes each k's top digits; the
// values whose top digits are one of those are kept (few, for any spread of values) and
// the next passes refine 8 bits at a time on them, one allreduce of a 256-bin histogram
// per k each. NaN is counted apart (numpy: a NaN makes every quantile NaN).

constexpr int kDigitBits = 8;  // the later passes
constexpr int kBins = 1 << kDigitBits;
// The first pass is finer (sign, exponent and 7 mantissa bits of a float32): a bucket then
// holds at most a fraction of an octave, so few values are kept for the later passes
// even when the values crowd into a few octaves, as a normal sample's do.
constexpr int kFirstBits = 16;
constexpr int64_t kFirstBins = int64_t{1} << kFirstBits;

template <typename T>
struct KeyOf;
template <>
struct KeyOf<float> {
  using U = uint32_t;
};
template <>
struct KeyOf<double> {
  using U = uint64_t;
};

template <typename T, typename U = typename KeyOf<T>::U>
U to_key(T v) {
  U u;
  std::memcpy(&u, &v, sizeof(T));
  constexpr U sign = U(1) << (8 * sizeof(U) - 1);
  return (u & sign) ? ~u : (u | sign);
}

template <typename T, typename U = typename KeyOf<T>::U>
T from_key(U u) {
  constexpr U sign = U(1) << (8 * sizeof(U) - 1);
  u = (u & sign) ? (u & ~sign) : ~u;
  T v;
  std::memcpy(&v, &u, sizeof(T));
  return v;
}

// Returns the values of global order statistics `ks` (0-based, among the non-NaN values)
// and sets `nan` when any rank holds a NaN (then the values are meaningless). Collective.
template <typename T>
std::vector<T> radix_select(const Communicator& comm, const T* x, int64_t n,
                            const std::vector<int64_t>& ks, bool& nan) {
  using U = typename KeyOf<T>::U;
  constexpr int bits = 8 * static_cast<int>(sizeof(U));
  const size_t nk = ks.size();
  // Pass 0 over the whole block: the top digits and the NaN count.
  std::vector<int64_t> hist(kFirstBins + 1, 0);
  for (int64_t i = 0; i < n; ++i) {
    const T v = x[i];
    if (v != v) {
      ++hist[kFirstBins];
      continue;
    }
    ++hist[to_key<T>(v) >> (bits - kFirstBits)];
  }
  at::Tensor h = at::from_blob(hist.data(), {kFirstBins + 1}, at::kLong).clone();
  allreduce_(comm, h, ReduceOp::sum);
  nan = h[kFirstBins].item<int64_t>() > 0;
  std::vector<U> prefix(nk, 0);
  std::vector<int64_t> rest = ks;  // each k's rank among the keys with its prefix
  const auto choose = [&](const int64_t* counts, int64_t bins, int digit_bits, size_t j) {
    int64_t b = 0;
    while (b < bins - 1 && rest[j] >= counts[b]) rest[j] -= counts[b++];
    prefix[j] = (prefix[j] << digit_bits) | static_cast<U>(b);
  };
  const int64_t* hc = h.data_ptr<int64_t>();
  for (size_t j = 0; j < nk; ++j) choose(hc, kFirstBins, kFirstBits, j);
  if (nan) return std::vector<T>(nk, T(0));
  // The candidates: keys whose top digit is one of the chosen ones (this rank's count of
  // them is in its own histogram).
  std::vector<char> wanted(static_cast<size_t>(kFirstBins), 0);
  int64_t mine = 0;
  for (U p : prefix)
    if (!wanted[static_cast<size_t>(p)]) {
      wanted[static_cast<size_t>(p)] = 1;
      mine += hist[static_cast<size_t>(p)];
    }
  std::vector<U> cand;
  cand.reserve(static_cast<size_t>(mine));
  for (int64_t i = 0; i < n; ++i) {
    const U k = to_key<T>(x[i]);
    if (x[i] == x[i] && wanted[static_cast<size_t>(k >> (bits - kFirstBits))]) cand.push_back(k);
  }
  for (int done = kFirstBits; done < bits; done += kDigitBits) {
    const int shift = bits - done - kDigitBits;
    std::vector<int64_t> hk(nk * kBins, 0);
    for (U k : cand)
      for (size_t j = 0; j < nk; ++j)
        if ((k >> (shift + kDigitBits)) == prefix[j]) ++hk[j * kBins + ((k >> shift) & (kBins - 1))];
    at::Tensor t = at::from_blob(hk.data(), {static_cast<int64_t>(hk.size())}, at::kLong).clone();
    allreduce_(comm, t, ReduceOp::sum);
    const int64_t* tc = t.data_ptr<int64_t>();
    for (size_t j = 0; j < nk; ++j) choose(tc + j * kBins, kBins, kDigitBits, j);
    // Keep only what can still matter.
    std::vector<U> next;
    for (U k : cand)
      for (size_t j = 0; j < nk; ++j)
        if ((k >> shift) == prefix[j]) {
          next.push_back(k);
          break;
        }
    cand.swap(next);
  }
  std::vector<T> out(nk);
  for (size_t j = 0; j < nk; ++j) out[j] = from_key<T>(prefix[j]);
  return out;
}

}  // namespace

OpMeta quantile_meta(const char* op, const ArrayMeta& a, const std::vector<double>& q, bool scalar_q,
                     std::optional<int64_t> axis, bool keepdims, int nranks) {
  DND_CHECK_TYPE(!at::isComplexType(a.dtype), "{}: complex arrays have no ordering", op);
  DND_CHECK_VALUE(!q.empty(), "{}: give at least one quantile", op);
  DND_CHECK_VALUE(!scalar_q || q.size() == 1, "{}: one quantile expected", op);
  for (double v : q)
    DND_CHECK_VALUE(v >= 0 && v <= 1,
                    "{}: quantiles must be in [0, 1] (percentiles in [0, 100]), got {}", op, v);
  const Layout l = layout_of(op, a, axis);
  OpMeta m;
  m.outputs.push_back(result_meta(a, l, q.size(), scalar_q, keepdims));
  ArrayMeta work = a;
  work.dtype = result_dtype(a.dtype);
  const int64_t block = max_block_bytes(work, nranks);  // the block in the result dtype
  const int64_t elements = block / static_cast<int64_t>(c10::elementSize(work.dtype));
  // A copy in the result dtype, a selection's copy of the block with its int64 indices
  // (torch's kthvalue), the NaN mask.
  m.temp_bytes = (work.dtype != a.dtype ? block : 0) + block + 9 * elements;
  if (l.route == Route::resplit) {
    m.comm_bytes = resplit_bytes(a, Split(l.other), nranks);
    m.temp_bytes += block;  // the resplit block
    m.note = fmt::format("resplit {} -> {} first", *a.split, l.other);
  } else if (l.route == Route::sorted) {
    // A radix select: one small allreduce per 8 bits of the values (256 bins per order
    // statistic); the candidates kept after the first pass are at most the block.
    const int64_t passes = static_cast<int64_t>(c10::elementSize(work.dtype)) - 2;
    const int64_t nk = 2 * static_cast<int64_t>(q.size());
    m.comm_bytes =
        allreduce_bytes(ArrayMeta{Shape{kFirstBins + 1}, at::kLong, kReplicated, a.device}, nranks) +
        passes * allreduce_bytes(ArrayMeta{Shape{nk * kBins}, at::kLong, kReplicated, a.device}, nranks);
    m.temp_bytes = (work.dtype != a.dtype ? block : 0) + block + (kFirstBins + 1) * 8 * 2;
    m.note = "a distributed radix select (a 64 Ki-bin histogram, then one small one per byte)";
  }
  return m;
}

DNDarray quantile(const DNDarray& a, const std::vector<double>& q, bool scalar_q,
                  std::optional<int64_t> axis, bool keepdims) {
  const ArrayMeta am = meta_of(a);
  const OpMeta m = quantile_meta("quantile", am, q, scalar_q, axis, keepdims, a.comm().size());
  const ArrayMeta& out = m.outputs[0];
  const Layout l = layout_of("quantile", am, axis);
  if (l.route == Route::local) {
    at::Tensor r = local_quantiles(a.larray(), l.axis, q, scalar_q, keepdims);
    if (out.split) return DNDarray(r, out.shape, out.split, a.comm(), a.counts());
    return DNDarray(r, out.shape, kReplicated, a.comm());
  }
  if (l.route == Route::resplit) {
    const DNDarray b = resplit(a, l.other);
    at::Tensor r = local_quantiles(b.larray(), l.axis, q, scalar_q, keepdims);
    return DNDarray(r, out.shape, out.split, a.comm(), b.counts());
  }
  // Over a split axis of a 1-D array or all axes: a distributed selection.
  const Dtype dt = result_dtype(a.dtype());
  // The selection needs each rank's values in any order: no flattening, no movement.
  const int64_t n = a.numel();
  std::vector<at::Tensor> rs;
  if (n == 0) {
    for (size_t i = 0; i < q.size(); ++i) rs.push_back(at::full({}, NAN, at::dtype(dt)));
  } else {
    std::vector<int64_t> ks;
    for (double qi : q) {
      const Pick p = pick(qi, n);
      ks.push_back(p.lo);
      ks.push_back(p.hi);
    }
    const at::Tensor local = a.larray().to(dt).cpu().contiguous().reshape({-1});
    bool has_nan = false;
    std::vector<double> vals;
    AT_DISPATCH_FLOATING_TYPES(dt, "quantile", [&] {
      for (scalar_t v :
           radix_select<scalar_t>(a.comm(), local.data_ptr<scalar_t>(), local.numel(), ks, has_nan))
        vals.push_back(static_cast<double>(v));
    });
    const at::Tensor picked = at::tensor(vals, at::kDouble).to(dt);
    for (size_t i = 0; i < q.size(); ++i) {
      const Pick p = pick(q[i], n);
      at::Tensor r =
          lerp(picked[static_cast<int64_t>(2 * i)], picked[static_cast<int64_t>(2 * i + 1)], p.gamma);
      if (has_nan) r.fill_(NAN);
      rs.push_back(r);
    }
  }
  std::vector<int64_t> keep(a.gshape().size(), 1);
  for (at::Tensor& r : rs)
    if (keepdims) r = r.reshape(keep);
  at::Tensor r = scalar_q ? rs[0] : at::stack(rs, 0);
  r = r.to(a.larray().device());
  return DNDarray(r.contiguous(), out.shape, kReplicated, a.comm());
}

DNDarray percentile(const DNDarray& a, const std::vector<double>& q, bool scalar_q,
                    std::optional<int64_t> axis, bool keepdims) {
  std::vector<double> f;
  for (double v : q) {
    DND_CHECK_VALUE(v >= 0 && v <= 100, "percentile: percentiles must be in [0, 100], got {}", v);
    f.push_back(v / 100.0);
  }
  return quantile(a, f, scalar_q, axis, keepdims);
}

DNDarray median(const DNDarray& a, std::optional<int64_t> axis, bool keepdims) {
  return quantile(a, {0.5}, true, axis, keepdims);
}

}  // namespace dnd
