// filter, nonzero, unique, topk and take (see selection.h for the communication of each).
#include "src/core/selection.h"

#include "src/core/communicator.h"
#include "src/core/distribution.h"
#include "src/core/error.h"
#include "src/core/manipulation.h"
#include "src/core/radix_sort.h"
#include "src/core/elementwise.h"
#include "src/core/math.h"
#include "src/core/reductions.h"
#include "src/core/shape_ops.h"
#include "src/core/words.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <type_traits>

namespace dnd {

namespace {

int64_t sum_of(const std::vector<int64_t>& v) { return std::accumulate(v.begin(), v.end(), int64_t{0}); }

uint64_t bit(int64_t axis, int64_t extent) { return extent > 0 ? uint64_t{1} << axis : 0; }

// The largest number of elements a rank holds of a balanced array: ceil(rows / p) rows
// (max_block_bytes divides the bytes instead, which a row-granular block may exceed).
int64_t max_local_numel(const ArrayMeta& m, int nranks) {
  const int64_t n = shape_numel(m.shape);
  if (!m.split || n == 0) return n;
  const int64_t rows = m.shape[static_cast<size_t>(*m.split)];
  const int64_t per_row = n / rows;
  return (rows + nranks - 1) / nranks * per_row;
}

ArrayMeta with_dtype(ArrayMeta m, Dtype dt) {
  m.dtype = dt;
  return m;
}

std::string describe(const ArrayMeta& m) {
  return fmt::format("{} array of shape {} (split={})", dtype_name(m.dtype), shape_str(m.shape),
                     split_str(m.split));
}

// ---- unique's local pass and ordering --------------------------------------------------

// NaN counts as one value, after every number (numpy.unique, equal_nan).
template <typename T>
bool nan_of(T v) {
  if constexpr (std::is_floating_point_v<T>)
    return std::isnan(v);
  else
    return false;
}
template <typename T>
bool less(T a, T b) {
  const bool an = nan_of(a), bn = nan_of(b);
  if (an || bn) return !an && bn;
  return a < b;
}

// Runs of equal values in a sorted (NaN last) 1-D tensor: a bool tensor, true where a run
// starts.
at::Tensor run_starts(const at::Tensor& sorted) {
  const int64_t n = sorted.numel();
  at::Tensor starts = at::ones({n}, sorted.options().dtype(at::kBool));
  if (n > 1) {
    const at::Tensor a = sorted.narrow(0, 1, n - 1), b = sorted.narrow(0, 0, n - 1);
    at::Tensor differ = a.ne(b);
    if (at::isFloatingType(sorted.scalar_type()))
      differ.logical_and_(a.isnan().logical_and(b.isnan()).logical_not());
    starts.narrow(0, 1, n - 1).copy_(differ);
  }
  return starts;
}

// The distinct values of a 1-D tensor, sorted, with how often each occurs (weighted by
// `weights` when defined) and, when `inverse` is given, each element's run number.
void local_unique(const at::Tensor& flat, const at::Tensor& weights, at::Tensor& values,
                  at::Tensor& counts, at::Tensor* inverse) {
  auto [sorted, perm] = at::sort(flat, /*stable=*/false, 0, false);
  const at::Tensor starts = run_starts(sorted);
  at::Tensor run = at::cumsum(starts, 0, at::kLong).sub_(1);
  values = sorted.masked_select(starts);
  const int64_t k = values.numel();
  counts = at::zeros({k}, flat.options().dtype(at::kLong));
  if (weights.defined())
    counts.index_add_(0, run, weights.index_select(0, perm));
  else
    counts.index_add_(0, run, at::ones({flat.numel()}, counts.options()));
  if (inverse) *inverse = at::empty_like(run).index_put_({perm}, run);
}

// Two values in one run of unique (NaN equals NaN, as numpy's equal_nan).
template <typename T>
bool same(T a, T b) {
  return a == b || (nan_of(a) && nan_of(b));
}

// local_unique without an inverse or weights, without torch's sort (at 1e8 values torch
// 1.13's sort, twice, was most of unique's time): a radix-sorted copy, compacted in place
// to its distinct values; the counts go into the sort's scratch when it is wide enough.
// Fresh memory is dear (a page fault per 4 KiB), so nothing else is allocated.
template <typename T>
void sorted_unique(const at::Tensor& flat, at::Tensor& values, at::Tensor& counts) {
  const int64_t n = flat.numel();
  at::Tensor buf = flat.clone(at::MemoryFormat::Contiguous);
  T* b = buf.data_ptr<T>();
  at::Tensor scratch = at::empty_like(buf);
  radix_sort(b, n, scratch.data_ptr<T>());
  int64_t k = 0;
  for (int64_t i = 0; i < n; ++i) k += (i == 0 || !same(b[i], b[i - 1]));
  counts = sizeof(T) == sizeof(int64_t) ? scratch.view(at::kLong).narrow(0, 0, k)
                                        : at::empty({k}, flat.options().dtype(at::kLong));
  int64_t* c = counts.data_ptr<int64_t>();
  int64_t r = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (i == 0 || !same(b[i], b[i - 1])) {
      c[++r] = 0;
      b[r] = b[i];  // r <= i: in place
    }
    ++c[r];
  }
  values = buf.narrow(0, 0, k);
}

// The merge of unique: `v` holds sorted runs of distinct values (one per sender, lengths
// `len`), `c` their counts; the distinct values of all of them, with the counts summed.
// Pairwise merges, log2(p) rounds of one pass each, between v, c (overwritten) and one
// more pair of buffers; the results are views of one of the two pairs.
template <typename T>
void merge_unique(at::Tensor& v, at::Tensor& c, const std::vector<int64_t>& len, at::Tensor& values,
                  at::Tensor& counts) {
  std::vector<int64_t> runs, nruns;
  for (int64_t l : len)
    if (l > 0) runs.push_back(l);
  at::Tensor bufv[2] = {v, at::Tensor()}, bufc[2] = {c, at::Tensor()};
  int from = 0;
  int64_t total = v.numel();
  while (runs.size() > 1) {
    const int to = 1 - from;
    if (!bufv[to].defined()) {
      bufv[to] = at::empty_like(v);
      bufc[to] = at::empty_like(c);
    }
    const T* a = bufv[from].data_ptr<T>();
    const int64_t* an = bufc[from].data_ptr<int64_t>();
    T* o = bufv[to].data_ptr<T>();
    int64_t* on = bufc[to].data_ptr<int64_t>();
    int64_t w = 0, at = 0;
    nruns.clear();
    for (size_t r = 0; r < runs.size(); r += 2) {
      const int64_t i1 = at + runs[r];
      const int64_t j1 = r + 1 < runs.size() ? i1 + runs[r + 1] : i1;
      const int64_t before = w;
      int64_t i = at, j = i1;
      while (i < i1 && j < j1) {
        if (same(a[i], a[j])) {
          o[w] = a[i];
          on[w++] = an[i++] + an[j++];
        } else if (less(a[i], a[j])) {
          o[w] = a[i];
          on[w++] = an[i++];
        } else {
          o[w] = a[j];
          on[w++] = an[j++];
        }
      }
      for (; i < i1; ++i, ++w) o[w] = a[i], on[w] = an[i];
      for (; j < j1; ++j, ++w) o[w] = a[j], on[w] = an[j];
      nruns.push_back(w - before);
      at = j1;
    }
    runs.swap(nruns);
    total = w;
    from = to;
  }
  values = bufv[from].narrow(0, 0, total);
  counts = bufc[from].narrow(0, 0, total);
}

// Where each rank's sorted distinct values go: send_counts[q] of them (in order) to rank
// q, cut by p - 1 splitters taken from regular samples of every rank's values, so that
// equal values of all ranks meet on one rank.
template <typename T>
std::vector<int64_t> value_partition(const Communicator& comm, const at::Tensor& values) {
  const int p = comm.size();
  const size_t np = static_cast<size_t>(p);
  const int64_t n = values.numel();
  const T* v = values.data_ptr<T>();
  std::vector<int64_t> mine(2 * (np - 1), 0);
  if (n > 0)
    for (size_t k = 0; k + 1 < np; ++k) {
      mine[2 * k] = 1;
      mine[2 * k + 1] = to_word(v[static_cast<int64_t>(k + 1) * n / p]);
    }
  const std::vector<int64_t> all = allgather_values(comm, mine);
  std::vector<T> samples;
  for (size_t s = 0; s < all.size(); s += 2)
    if (all[s] != 0) samples.push_back(from_word<T>(all[s + 1]));
  std::sort(samples.begin(), samples.end(), less<T>);
  std::vector<int64_t> cut(np, n);
  const size_t m = samples.size();
  for (size_t q = 0; q + 1 < np && m > 0; ++q) {
    const T s = samples[std::min(m - 1, (q + 1) * m / np)];
    // The values <= s: an upper-bound search.
    const T* end = std::upper_bound(v + (q > 0 ? cut[q - 1] : 0), v + n, s, less<T>);
    cut[q] = end - v;
  }
  std::vector<int64_t> send(np);
  for (size_t q = 0; q < np; ++q) send[q] = cut[q] - (q > 0 ? cut[q - 1] : 0);
  return send;
}

// Views of consecutive pieces of t along `axis`, of the given lengths.
std::vector<at::Tensor> pieces(const at::Tensor& t, const std::vector<int64_t>& lengths,
                               int64_t axis = 0) {
  std::vector<at::Tensor> out;
  int64_t at = 0;
  for (int64_t len : lengths) {
    out.push_back(t.narrow(axis, at, len));
    at += len;
  }
  return out;
}

// The p x p matrix of counts (row = sender) and this rank's column.
std::vector<int64_t> received_counts(const Communicator& comm, const std::vector<int64_t>& send,
                                     std::vector<int64_t>& matrix) {
  const size_t np = static_cast<size_t>(comm.size());
  matrix = allgather_values(comm, send);
  std::vector<int64_t> recv(np);
  for (size_t q = 0; q < np; ++q) recv[q] = matrix[q * np + static_cast<size_t>(comm.rank())];
  return recv;
}

}  // namespace

// ---- filter ---------------------------------------------------------------------------

BoundedMeta filter_meta(const ArrayMeta& x, const ArrayMeta& mask, int64_t axis, bool balance,
                        int nranks) {
  const int64_t nd = static_cast<int64_t>(x.shape.size());
  if (nd == 0) throw ValueError("filter: a 0-d array has no axis to filter along");
  const int64_t ax = normalize_axis(axis, nd, "filter");
  const int64_t n = x.shape[static_cast<size_t>(ax)];
  if (mask.dtype != at::kBool)
    throw TypeError(fmt::format(
        "filter: the mask must be bool, got a {} (make one with a comparison such as `op: greater`, "
        "or `op: astype` with `dtype: bool`)",
        describe(mask)));
  if (mask.shape.size() != 1 || mask.shape[0] != n)
    throw ValueError(
        fmt::format("filter: the mask must be 1-D with {} entries (axis {} of {}), got shape {}", n, ax,
                    shape_str(x.shape), shape_str(mask.shape)));
  BoundedMeta b;
  b.meta.outputs.push_back(x);
  b.at_most.push_back(bit(ax, n));
  const bool along_split = x.split && *x.split == ax;
  const int64_t rows = along_split ? (n + nranks - 1) / nranks : n;
  // The positions kept (int64) and this rank's part of the mask.
  b.meta.temp_bytes = rows * 9;
  if (along_split) {
    if (mask.split) b.meta.comm_bytes = move_bytes(mask, nranks);
    if (balance) {
      b.meta.comm_bytes += move_bytes(x, nranks);
      b.meta.temp_bytes += max_block_bytes(x, nranks);  // the unbalanced result, until moved
      b.meta.note = "keeps each rank's selected rows, then rebalances them (one exchange)";
    } else {
      b.meta.note = "keeps each rank's selected rows: the result may be unbalanced";
    }
  } else if (mask.split) {
    b.meta.comm_bytes = allgather_bytes(mask, nranks);
  }
  return b;
}

DNDarray filter(const DNDarray& x, const DNDarray& mask, int64_t axis, bool balance_result) {
  const Communicator& comm = x.comm();
  filter_meta(meta_of(x), meta_of(mask), axis, balance_result, comm.size());
  if (mask.comm() != comm) throw ValueError("filter: the mask lives on another communicator");
  const int64_t ax = normalize_axis(axis, x.ndim(), "filter");
  const bool along_split = x.split() && *x.split() == ax;
  at::Tensor m;  // the mask's entries for this rank's block along the axis
  if (along_split) {
    if (!mask.split())
      m = mask.larray().narrow(0, x.chunk().offset, x.chunk().count);
    else if (mask.counts() == x.counts())
      m = mask.larray();
    else
      m = resplit(mask, 0, x.counts()).larray();
  } else {
    m = mask.split() ? allgather(mask) : mask.larray();
  }
  const at::Tensor keep = at::nonzero(m.to(x.larray().device())).reshape({-1});
  const at::Tensor local = x.larray().index_select(ax, keep);
  Shape g = x.gshape();
  if (!along_split) {
    g[static_cast<size_t>(ax)] = keep.numel();
    return DNDarray(local, g, x.split(), comm, x.counts());
  }
  const std::vector<int64_t> counts = allgather_value(comm, keep.numel());
  g[static_cast<size_t>(ax)] = sum_of(counts);
  DNDarray r(local, g, x.split(), comm, counts);
  return balance_result ? balance(r) : r;
}

// ---- nonzero --------------------------------------------------------------------------

BoundedMeta nonzero_meta(const ArrayMeta& x, int nranks) {
  const int64_t n = shape_numel(x.shape), nd = static_cast<int64_t>(x.shape.size());
  BoundedMeta b;
  ArrayMeta r{Shape{n, nd}, at::kLong, x.split ? Split(0) : kReplicated, x.device};
  b.meta.outputs.push_back(r);
  b.at_most.push_back(bit(0, n));
  const ArrayMeta rows0 = x.split ? ArrayMeta{x.shape, x.dtype, Split(0), x.device} : x;
  if (x.split && *x.split != 0) {
    b.meta.comm_bytes = move_bytes(x, nranks);
    b.meta.temp_bytes = max_block_bytes(rows0, nranks);
    b.meta.note = "resplits along 0 first (numpy's row-major order)";
  }
  // A rank's entries are whole rows of x: its count may exceed r's balanced block.
  b.meta.temp_bytes +=
      (max_local_numel(rows0, nranks) - (n + nranks - 1) / std::max(1, nranks)) * nd * 8;
  return b;
}

DNDarray nonzero(const DNDarray& x0) {
  const Communicator& comm = x0.comm();
  nonzero_meta(meta_of(x0), comm.size());
  const DNDarray x = x0.split() && *x0.split() != 0 ? resplit(x0, Split(0)) : x0;
  at::Tensor idx = at::nonzero(x.larray());
  const int64_t nd = x.ndim();
  if (!x.split()) return DNDarray(idx, Shape{idx.size(0), nd}, kReplicated, comm);
  if (x.chunk().offset != 0 && idx.size(0) > 0) idx.select(1, 0).add_(x.chunk().offset);
  const std::vector<int64_t> counts = allgather_value(comm, idx.size(0));
  return DNDarray(idx, Shape{sum_of(counts), nd}, Split(0), comm, counts);
}

// ---- unique ---------------------------------------------------------------------------

BoundedMeta unique_meta(const ArrayMeta& x, int nranks) {
  if (at::isComplexType(x.dtype))
    throw TypeError(fmt::format("unique: {}: complex numbers have no order", describe(x)));
  const int64_t n = shape_numel(x.shape);
  const Split s = x.split ? Split(0) : kReplicated;
  const ArrayMeta values{Shape{n}, x.dtype, s, x.device};
  const ArrayMeta counts{Shape{n}, at::kLong, s, x.device};
  BoundedMeta b;
  b.meta.outputs = {values, counts, with_dtype(x, at::kLong)};
  b.at_most = {bit(0, n), bit(0, n), 0};
  const int64_t vb = max_block_bytes(values, nranks), cb = max_block_bytes(counts, nranks);
  // The sorted copy and its permutation, the runs (values, counts, run numbers), what
  // arrives (up to about twice a block) and its merge; a rank's distinct values may come
  // to about twice a balanced block of the bound.
  b.meta.temp_bytes = 2 * vb + 3 * cb + 2 * (vb + cb) + (vb + 2 * cb) + (vb + cb);
  if (x.split && nranks > 1) {
    b.meta.comm_bytes = move_bytes(values, nranks) + 2 * move_bytes(counts, nranks);
    b.meta.note = "local unique, then one exchange by value range and a merge";
  }
  return b;
}

UniqueResult unique(const DNDarray& x, bool return_inverse) {
  const Communicator& comm = x.comm();
  unique_meta(meta_of(x), comm.size());
  const at::Device device = x.larray().device();
  const at::Tensor flat = x.larray().reshape({-1}).cpu();
  at::Tensor values, counts, run;
  if (return_inverse)
    local_unique(flat, at::Tensor(), values, counts, &run);
  else
    AT_DISPATCH_ALL_TYPES_AND(at::kBool, flat.scalar_type(), "unique",
                              [&] { sorted_unique<scalar_t>(flat, values, counts); });
  const auto dev = [&](const at::Tensor& t) { return device.is_cpu() ? t : t.to(device); };
  if (!x.split() || comm.size() == 1) {  // nothing to exchange
    const Split split = x.split() ? Split(0) : kReplicated;
    const Shape g{values.numel()};
    UniqueResult r{DNDarray(dev(values), g, split, comm), DNDarray(dev(counts), g, split, comm),
                   std::nullopt};
    if (return_inverse)
      r.inverse = DNDarray(dev(run.reshape(x.larray().sizes())), x.gshape(), x.split(), comm);
    return r;
  }
  // Each value to the rank owning its range.
  std::vector<int64_t> send;
  AT_DISPATCH_ALL_TYPES_AND(at::kBool, values.scalar_type(), "unique",
                            [&] { send = value_partition<scalar_t>(comm, values); });
  std::vector<int64_t> matrix;
  const std::vector<int64_t> recv = received_counts(comm, send, matrix);
  const int64_t total = sum_of(recv);
  at::Tensor rv = at::empty({total}, values.options()), rc = at::empty({total}, counts.options());
  exchange(comm, pieces(values, send), pieces(rv, recv));
  exchange(comm, pieces(counts, send), pieces(rc, recv));
  // Merge: the distinct values of what arrived, their counts summed.
  at::Tensor mv, mc, mrun;
  if (return_inverse)
    local_unique(rv, rc, mv, mc, &mrun);
  else
    AT_DISPATCH_ALL_TYPES_AND(at::kBool, rv.scalar_type(), "unique",
                              [&] { merge_unique<scalar_t>(rv, rc, recv, mv, mc); });
  const std::vector<int64_t> shares = allgather_value(comm, mv.numel());
  const Shape g{sum_of(shares)};
  UniqueResult r{DNDarray(dev(mv), g, Split(0), comm, shares),
                 DNDarray(dev(mc), g, Split(0), comm, shares), std::nullopt};
  if (return_inverse) {
    // Each arrived value's global position, back to its sender, in the order it was sent.
    const int64_t offset = counts_to_offsets(shares)[static_cast<size_t>(comm.rank())];
    const at::Tensor position = mrun.add(offset);
    at::Tensor mine = at::empty({values.numel()}, counts.options());
    exchange(comm, pieces(position, recv), pieces(mine, send));
    r.inverse = DNDarray(dev(mine.index_select(0, run).reshape(x.larray().sizes())), x.gshape(),
                         x.split(), comm, x.counts());
  }
  return r;
}

// ---- topk -----------------------------------------------------------------------------

OpMeta topk_meta(const ArrayMeta& x, int64_t k, int64_t axis, int nranks) {
  const int64_t nd = static_cast<int64_t>(x.shape.size());
  if (nd == 0) throw ValueError("topk: a 0-d array has no axis to select along");
  const int64_t ax = normalize_axis(axis, nd, "topk");
  if (at::isComplexType(x.dtype) || x.dtype == at::kBool)
    throw TypeError(fmt::format("topk: {}: {} values have no order to select by", describe(x),
                                x.dtype == at::kBool ? "bool" : "complex"));
  const int64_t n = x.shape[static_cast<size_t>(ax)];
  if (k < 0 || k > n)
    throw ValueError(fmt::format("topk: k = {} is out of range for axis {} of extent {}", k, ax, n));
  OpMeta m;
  ArrayMeta v = x;
  v.shape[static_cast<size_t>(ax)] = k;
  const bool along_split = x.split && *x.split == ax;
  if (along_split) v.split = kReplicated;
  m.outputs = {v, with_dtype(v, at::kLong)};
  if (along_split && nranks > 1) {
    // Every rank's k candidates (values and indices) on every rank.
    ArrayMeta cand = x;
    cand.shape[static_cast<size_t>(ax)] = std::min(n, k * nranks);
    const int64_t per = static_cast<int64_t>(c10::elementSize(x.dtype)) + 8;
    const int64_t whole = shape_numel(cand.shape) * per;
    m.comm_bytes = allgather_bytes(with_dtype(cand, at::kLong), nranks) / 8 * per;
    m.temp_bytes = whole + max_block_bytes(with_dtype(cand, at::kLong), nranks) / 8 * per;
    m.note = "each rank's k best are allgathered and the k best of them kept (replicated)";
  } else {
    m.temp_bytes = max_block_bytes(x, nranks);  // torch's working copy
  }
  return m;
}

std::pair<DNDarray, DNDarray> topk(const DNDarray& x, int64_t k, int64_t axis, bool largest) {
  const Communicator& comm = x.comm();
  const OpMeta m = topk_meta(meta_of(x), k, axis, comm.size());
  const int64_t ax = normalize_axis(axis, x.ndim(), "topk");
  const Shape& out = m.outputs[0].shape;
  if (!x.split() || *x.split() != ax) {
    auto [v, i] = at::topk(x.larray(), k, ax, largest, /*sorted=*/true);
    return {DNDarray(v, out, x.split(), comm, x.counts()),
            DNDarray(i, out, x.split(), comm, x.counts())};
  }
  const int64_t kk = std::min(k, x.chunk().count);
  auto [lv, li] = at::topk(x.larray(), kk, ax, largest, /*sorted=*/true);
  li.add_(x.chunk().offset);
  const std::vector<int64_t> counts = allgather_value(comm, kk);
  Shape cs = x.gshape();
  cs[static_cast<size_t>(ax)] = sum_of(counts);
  const at::Tensor cv = allgather(DNDarray(lv, cs, ax, comm, counts));
  const at::Tensor ci = allgather(DNDarray(li, cs, ax, comm, counts));
  auto [v, pos] = at::topk(cv, k, ax, largest, /*sorted=*/true);
  return {DNDarray(v, out, kReplicated, comm), DNDarray(ci.gather(ax, pos), out, kReplicated, comm)};
}

// ---- take -----------------------------------------------------------------------------

namespace {

// take's result shape for x (already flattened for axis none) along ax.
Shape take_shape(const Shape& xs, const Shape& is, int64_t ax) {
  Shape s(xs.begin(), xs.begin() + ax);
  s.insert(s.end(), is.begin(), is.end());
  s.insert(s.end(), xs.begin() + ax + 1, xs.end());
  return s;
}

}  // namespace

OpMeta take_meta(const ArrayMeta& x, const ArrayMeta& indices, std::optional<int64_t> axis, int nranks) {
  if (!at::isIntegralType(indices.dtype, /*includeBool=*/false))
    throw TypeError(fmt::format("take: the indices must be integers, got a {}", describe(indices)));
  ArrayMeta xs = x;
  if (!axis) {
    xs.shape = {shape_numel(x.shape)};
    xs.split = x.split ? Split(0) : kReplicated;
  } else if (x.shape.empty()) {
    throw ValueError("take: a 0-d array has no axis; leave `axis` out to take from the flattened array");
  }
  const int64_t ax = axis ? normalize_axis(*axis, static_cast<int64_t>(x.shape.size()), "take") : 0;
  const int64_t n = xs.shape[static_cast<size_t>(ax)];
  if (n == 0 && shape_numel(indices.shape) > 0)
    throw ValueError(fmt::format("take: cannot take from axis {} of extent 0", ax));
  const int64_t ni = static_cast<int64_t>(indices.shape.size());
  OpMeta m;
  ArrayMeta r = xs;
  r.shape = take_shape(xs.shape, indices.shape, ax);
  int64_t comm = 0, temp = 0;
  const int64_t idx_block = max_block_bytes(with_dtype(indices, at::kLong), nranks);
  if (!xs.split) {
    // Each rank takes its share of the indices' distribution.
    r.split = indices.split ? Split(ax + *indices.split) : kReplicated;
    temp = idx_block;
  } else if (*xs.split != ax) {
    r.split = *xs.split < ax ? *xs.split : *xs.split + ni - 1;
    if (indices.split) comm = allgather_bytes(indices, nranks);
    temp = shape_numel(indices.shape) * 8;
  } else {
    r.split = ni == 0 ? kReplicated : Split(ax);
    // Requests (int64) out, rows back: at most this rank's share of the result.
    const int64_t share = max_block_bytes(r, nranks);
    comm = idx_block + share;
    // The requests and their order (int64 each), the rows sent and received, the result
    // in the indices' order (measured: about three shares besides the result).
    temp = 6 * idx_block + 3 * share;
    m.note = "each rank fetches the rows its share needs from their owners (two exchanges)";
  }
  if (!axis && x.split && *x.split != 0) {
    comm += move_bytes(x, nranks);
    temp += max_block_bytes(x, nranks);
  }
  m.outputs.push_back(r);
  m.comm_bytes = comm;
  m.temp_bytes = temp;
  return m;
}

DNDarray take(const DNDarray& x0, const DNDarray& indices, std::optional<int64_t> axis) {
  const Communicator& comm = x0.comm();
  const int p = comm.size();
  const OpMeta m = take_meta(meta_of(x0), meta_of(indices), axis, p);
  if (indices.comm() != comm) throw ValueError("take: the indices live on another communicator");
  const DNDarray x =
      axis ? x0
           : (x0.split() ? flatten(x0)
                         : DNDarray(x0.larray().reshape({-1}), Shape{x0.numel()}, kReplicated, comm));
  const int64_t ax = axis ? normalize_axis(*axis, x0.ndim(), "take") : 0;
  const int64_t n = x.gshape()[static_cast<size_t>(ax)];
  const ArrayMeta& r = m.outputs[0];

  // This rank's indices: its share (along the indices' first axis when the result is
  // split there) or all of them; wrapped and checked alike on every rank.
  const bool along_split = x.split() && *x.split() == ax;
  // (resplit of a replicated array along 0 keeps each rank's share: no communication).
  const DNDarray idx = along_split && indices.ndim() > 0 && indices.split() != Split(0)
                           ? resplit(indices, Split(0))
                           : indices;
  at::Tensor mine;
  if (x.split() && !along_split)
    mine = idx.split() ? allgather(idx) : idx.larray();
  else
    mine = idx.larray();
  mine = mine.to(at::kLong).to(x.larray().device());
  const int64_t bad =
      mine.numel() > 0 && (mine.lt(-n).any().item<bool>() || mine.ge(n).any().item<bool>());
  if (allreduce_value(comm, bad, ReduceOp::max) != 0) {
    throw ValueError(fmt::format("take: an index is out of bounds for axis {} with size {}", ax, n));
  }
  mine = at::where(mine.lt(0), mine.add(n), mine);

  const auto place = [&](const at::Tensor& rows, const at::Tensor& shape_of) {
    // rows: x's block with `ax` replaced by the flattened indices; reshaped to the result.
    std::vector<int64_t> s(rows.sizes().begin(), rows.sizes().begin() + ax);
    for (int64_t d : shape_of.sizes()) s.push_back(d);
    s.insert(s.end(), rows.sizes().begin() + ax + 1, rows.sizes().end());
    return rows.reshape(s);
  };
  if (!along_split) {
    const at::Tensor rows = x.larray().index_select(ax, mine.reshape({-1}));
    if (!x.split()) {
      // x whole on every rank: the result is distributed as the indices are.
      const at::Tensor local = place(rows, mine);
      if (!idx.split()) return DNDarray(local, r.shape, kReplicated, comm);
      return DNDarray(local, r.shape, r.split, comm, idx.counts());
    }
    return DNDarray(place(rows, mine), r.shape, r.split, comm, x.counts());
  }

  // Along the split axis: ask each owner for the rows this rank's share needs.
  const at::Tensor want = mine.reshape({-1}).cpu();
  std::vector<int64_t> ends = counts_to_offsets(x.counts());
  for (size_t q = 0; q < ends.size(); ++q) ends[q] += x.counts()[q];
  const at::Tensor bounds = at::tensor(ends, at::kLong);
  const at::Tensor owner = at::searchsorted(bounds, want, /*out_int32=*/false, /*right=*/true);
  const at::Tensor order = at::argsort(owner, /*stable=*/true, 0, false);
  const at::Tensor asked = want.index_select(0, order);
  const at::Tensor per_owner = at::bincount(owner, {}, p);
  std::vector<int64_t> send(static_cast<size_t>(p));
  for (int q = 0; q < p; ++q) send[static_cast<size_t>(q)] = per_owner[q].item<int64_t>();
  std::vector<int64_t> matrix;
  const std::vector<int64_t> recv = received_counts(comm, send, matrix);
  at::Tensor requests = at::empty({sum_of(recv)}, at::kLong);
  exchange(comm, pieces(asked, send), pieces(requests, recv));
  const at::Tensor local_rows = requests.sub(x.chunk().offset).to(x.larray().device());
  const at::Tensor reply = x.larray().index_select(ax, local_rows);
  std::vector<int64_t> shape(x.larray().sizes().begin(), x.larray().sizes().end());
  shape[static_cast<size_t>(ax)] = want.numel();
  at::Tensor got = at::empty(shape, x.larray().options());
  exchange(comm, pieces(reply, recv, ax), pieces(got, send, ax));
  // Back into the order the indices give.
  const at::Tensor inverse =
      at::empty_like(order).index_put_({order}, at::arange(want.numel(), at::kLong));
  const at::Tensor rows = got.index_select(ax, inverse.to(got.device()));
  if (!r.split) return DNDarray(place(rows, mine), r.shape, kReplicated, comm);
  return DNDarray(place(rows, mine), r.shape, r.split, comm, idx.counts());
}

std::pair<DNDarray, int64_t> rows_without_nan(const DNDarray& a) {
  if (a.ndim() != 2)
    throw ShapeError(fmt::format("rows_without_nan: a must be 2-D, got {}", shape_str(a.gshape())));
  const DNDarray bad = any(isnan(a), Axes{std::vector<int64_t>{1}});
  const int64_t n = sum(bad).larray().item<int64_t>();
  return {logical_not(bad), n};
}

}  // namespace dnd
