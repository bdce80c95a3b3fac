#include "src/core/sort.h"

#include "src/core/moves.h"
#include "src/core/error.h"
#include "src/core/manipulation.h"
#include "src/core/radix_sort.h"
#include "src/core/words.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

namespace dnd {

namespace {

bool radix_sortable(const at::Tensor& t);

// torch's stable sort along `axis` of a local block: (values, indices), both contiguous.
// A 1-D CPU block: the same order from an LSD radix sort (radix_sort.h), several times
// faster than torch 1.13's sort at 1e7 values and more.
std::pair<at::Tensor, at::Tensor> local_sort(const at::Tensor& t, int64_t axis, bool descending) {
  if (radix_sortable(t)) {
    at::Tensor values = t.clone(at::MemoryFormat::Contiguous);
    at::Tensor indices = at::arange(t.numel(), t.options().dtype(at::kLong));
    at::Tensor sv = at::empty_like(values), si = at::empty_like(indices);
    AT_DISPATCH_ALL_TYPES_AND(at::kBool, values.scalar_type(), "sort", [&] {
      radix_sort_with_index(values.data_ptr<scalar_t>(), indices.data_ptr<int64_t>(), values.numel(),
                            sv.data_ptr<scalar_t>(), si.data_ptr<int64_t>(), descending);
    });
    return {values, indices};
  }
  auto [values, indices] = at::sort(t, /*stable=*/true, axis, descending);
  return {values.contiguous(), indices.contiguous()};
}

// Whether local blocks of this tensor sort by the radix sort (1-D, CPU, a plain real dtype).
bool radix_sortable(const at::Tensor& t) {
  return t.dim() == 1 && t.device().is_cpu() && t.numel() >= 2 && !at::isComplexType(t.scalar_type()) &&
         t.scalar_type() != at::kHalf && t.scalar_type() != at::kBFloat16;
}

// local_sort's values alone (the same order; a stable sort of the values needs no indices).
at::Tensor local_sort_values(const at::Tensor& t, int64_t axis, bool descending) {
  if (radix_sortable(t)) {
    at::Tensor values = t.clone(at::MemoryFormat::Contiguous);
    at::Tensor scratch = at::empty_like(values);
    AT_DISPATCH_ALL_TYPES_AND(at::kBool, values.scalar_type(), "sort", [&] {
      radix_sort(values.data_ptr<scalar_t>(), values.numel(), scratch.data_ptr<scalar_t>(), descending);
    });
    return values;
  }
  return std::get<0>(at::sort(t, /*stable=*/true, axis, descending)).contiguous();
}

// The axis an n-d array is resplit along so that every line along `ax` is local: the
// largest other axis (the first on ties).
int64_t line_axis(const Shape& g, int64_t ax) {
  int64_t other = -1;
  for (int64_t d = 0; d < static_cast<int64_t>(g.size()); ++d)
    if (d != ax && (other < 0 || g[static_cast<size_t>(d)] > g[static_cast<size_t>(other)])) other = d;
  return other;
}

// The busiest rank's bytes of the n-d path: `a` (split along ax) resplit along the line
// axis, then the sorted values (and the int64 indices) resplit back to ax.
int64_t lines_bytes(const ArrayMeta& a, int64_t ax, int p, bool with_indices) {
  const int64_t line = line_axis(a.shape, ax);
  const auto es = static_cast<int64_t>(c10::elementSize(a.dtype));
  std::vector<int64_t> sent = place_rank_bytes(a.shape, ax, {}, a.shape, line, {}, -1, 0, es, p);
  const auto back = place_rank_bytes(a.shape, line, {}, a.shape, ax, {}, -1, 0, es, p);
  for (size_t r = 0; r < sent.size(); ++r) sent[r] += back[r] + (with_indices ? back[r] / es * 8 : 0);
  return max_of(sent);
}

// A bound on the 1-D sample sort's bytes: the exchange sends every element of a block at
// most once; the rebalance after it, at most all but a share of the whole (a rank may
// have received everything).
int64_t sample_sort_bound(const ArrayMeta& a, int p) {
  const int64_t n = a.shape.empty() ? 1 : a.shape[0];
  return max_block_bytes(a, p) + global_bytes(a) - (n > 0 ? global_bytes(a) / n * (n / p) : 0);
}

// An element of the 1-D sample sort: its value and its global index.
template <typename T>
struct Key {
  T value;
  int64_t index;
};

template <typename T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>)
    return std::isnan(v);
  else
    return false;
}

// The order of torch's stable sort as a strict total order on (value, global index):
// ascending puts NaN after every number, descending before; equal values (and NaNs among
// themselves) keep their global order, so every key is distinct.
template <typename T>
struct Before {
  bool descending;
  bool operator()(const Key<T>& a, const Key<T>& b) const {
    const bool an = is_nan(a.value), bn = is_nan(b.value);
    if (an != bn) return descending ? an : bn;
    if (!an) {
      if (a.value < b.value) return !descending;
      if (b.value < a.value) return descending;
    }
    return a.index < b.index;
  }
};

// The 1-D distributed sample sort of a CPU block x (this rank's rows [offset, offset + n)
// of the global array). Returns this rank's share of the sorted values and their global
// indices, and every rank's share (the counts, unbalanced in general).
//
//  1. local stable sort: the run is ordered by Before (value, then global index);
//  2. every rank with data picks p - 1 regular samples of its run; all samples are
//     allgathered (3 words each: present, value bits, index) and every rank picks the same
//     p - 1 splitters from them;
//  3. bucket q receives the keys k with splitter[q - 1] < k <= splitter[q]; comparing the
//     (value, index) pairs, not just the values, keeps ties exact and spreads runs of equal
//     values over ranks instead of piling them onto one;
//  4. one exchange moves every element once (values and indices);
//  5. the received runs arrive in source rank order, i.e. in global index order for equal
//     values, so a stable sort of the received values by value alone yields Before order.
// Without `with_indices` (sort_values), the indices rank the local run only: step 4 moves
// the values alone and step 5 sorts them alone; out_indices stays undefined.
template <typename T>
void sample_sort(const Communicator& comm, const at::Tensor& x, int64_t offset, bool descending,
                 bool with_indices, at::Tensor& out_values, at::Tensor& out_indices,
                 std::vector<int64_t>& out_counts) {
  const int p = comm.size(), me = comm.rank();
  const size_t np = static_cast<size_t>(p);
  const int64_t n = x.numel();
  const Before<T> before{descending};

  // 1. Local run.
  auto [sv, si] = local_sort(x, 0, descending);
  si.add_(offset);
  const T* v = sv.data_ptr<T>();
  const int64_t* idx = si.data_ptr<int64_t>();
  const auto key = [&](int64_t i) { return Key<T>{v[i], idx[i]}; };

  // 2. Regular samples and splitters (identical on every rank).
  std::vector<int64_t> mine(3 * (np - 1), 0);
  if (n > 0)
    for (size_t k = 0; k + 1 < np; ++k) {
      const int64_t pos = static_cast<int64_t>(k + 1) * n / p;
      mine[3 * k] = 1;
      mine[3 * k + 1] = to_word(v[pos]);
      mine[3 * k + 2] = idx[pos];
    }
  const std::vector<int64_t> all = allgather_values(comm, mine);
  std::vector<Key<T>> samples;
  for (size_t s = 0; s < all.size(); s += 3)
    if (all[s] != 0) samples.push_back(Key<T>{from_word<T>(all[s + 1]), all[s + 2]});
  std::sort(samples.begin(), samples.end(), before);
  const size_t m = samples.size();
  std::vector<Key<T>> splitters;
  if (m > 0)
    for (size_t k = 0; k + 1 < np; ++k) splitters.push_back(samples[std::min(m - 1, (k + 1) * m / np)]);

  // 3. Cut the run: cut[q] = number of keys <= splitter[q] (an upper bound search).
  std::vector<int64_t> cut(np, n);
  for (size_t q = 0; q < splitters.size(); ++q) {
    int64_t lo = q > 0 ? cut[q - 1] : 0, hi = n;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (before(splitters[q], key(mid)))
        hi = mid;
      else
        lo = mid + 1;
    }
    cut[q] = lo;
  }
  std::vector<int64_t> send_counts(np);
  for (size_t q = 0; q < np; ++q) send_counts[q] = cut[q] - (q > 0 ? cut[q - 1] : 0);

  // 4. Who receives how much from whom (a p x p matrix, row = sender), then the exchange.
  const std::vector<int64_t> matrix = allgather_values(comm, send_counts);
  std::vector<int64_t> recv_counts(np);
  int64_t total = 0;
  for (size_t q = 0; q < np; ++q) {
    recv_counts[q] = matrix[q * np + static_cast<size_t>(me)];
    total += recv_counts[q];
  }
  at::Tensor rv = at::empty({total}, sv.options());
  at::Tensor ri = with_indices ? at::empty({total}, si.options()) : at::Tensor();
  std::vector<at::Tensor> send_v(np), send_i(np), recv_v(np), recv_i(np);
  for (size_t q = 0, s = 0, r = 0; q < np; ++q) {
    send_v[q] = sv.narrow(0, static_cast<int64_t>(s), send_counts[q]);
    recv_v[q] = rv.narrow(0, static_cast<int64_t>(r), recv_counts[q]);
    if (with_indices) {
      send_i[q] = si.narrow(0, static_cast<int64_t>(s), send_counts[q]);
      recv_i[q] = ri.narrow(0, static_cast<int64_t>(r), recv_counts[q]);
    }
    s += static_cast<size_t>(send_counts[q]);
    r += static_cast<size_t>(recv_counts[q]);
  }
  exchange(comm, send_v, recv_v);
  if (with_indices) exchange(comm, send_i, recv_i);
  sv = at::Tensor();  // the local run is sent: free it before the merge
  si = at::Tensor();

  // 5. Merge.
  if (with_indices) {
    auto [mv, perm] = local_sort(rv, 0, descending);
    out_values = mv;
    out_indices = ri.index_select(0, perm);
  } else {
    out_values = local_sort_values(rv, 0, descending);
  }
  out_counts.assign(np, 0);
  for (size_t q = 0; q < np; ++q)
    for (size_t r = 0; r < np; ++r) out_counts[q] += matrix[r * np + q];
}

}  // namespace

OpMeta sort_meta(const ArrayMeta& a, int64_t axis, int nranks) {
  const int64_t nd = static_cast<int64_t>(a.shape.size());
  // A 0-d array sorts like a 1-element line (torch accepts axis -1 and 0 for it).
  const int64_t ax = normalize_axis(axis, std::max<int64_t>(nd, 1), "sort");
  if (at::isComplexType(a.dtype))
    throw TypeError(fmt::format(
        "sort: {} array of shape {} (split={}) cannot be sorted: complex numbers have no order",
        dtype_name(a.dtype), shape_str(a.shape), split_str(a.split)));
  OpMeta m;
  m.outputs.push_back(a);
  ArrayMeta idx = a;
  idx.dtype = at::kLong;
  m.outputs.push_back(idx);
  const int64_t vb = max_block_bytes(a, nranks), ib = max_block_bytes(idx, nranks);
  const bool distributed = a.split && *a.split == ax && nranks > 1 && nd > 0 && shape_numel(a.shape) > 0;
  if (!distributed) {
    // torch's sort: a working copy of the lines; a long single line (1-D) takes buffers
    // of values and indices twice over (measured).
    m.temp_bytes = nd <= 1 ? 2 * (vb + ib) : vb;
    return m;
  }
  if (nd == 1) {
    // Sample sort: the sorted run (values, indices), the received runs (up to about twice
    // a block), their merge and its permutation, then the rebalance, which moves a few
    // rows (measured: about four blocks of values and indices besides the results).
    m.comm_bytes = sample_sort_bound(a, nranks) + sample_sort_bound(idx, nranks);
    m.temp_bytes = 4 * (vb + ib) + ib;
    m.note = "distributed sample sort (one exchange), then rebalanced";
    return m;
  }
  // n-d along the split axis: resplit along another axis, sort the lines, resplit back.
  m.comm_bytes = lines_bytes(a, ax, nranks, true);
  m.temp_bytes = vb + 2 * (vb + ib);
  m.note = "resplits along another axis to sort whole lines, then back (two exchanges)";
  return m;
}

std::pair<DNDarray, DNDarray> sort(const DNDarray& a, int64_t axis, bool descending) {
  sort_meta(meta_of(a), axis, a.comm().size());
  const int64_t ax = normalize_axis(axis, std::max<int64_t>(a.ndim(), 1), "sort");
  const Communicator& comm = a.comm();
  const int p = comm.size();

  // Every line along the axis is local: sort each block, no communication. Indices along
  // an unsplit axis are already global.
  if (!a.split() || *a.split() != ax || p == 1 || a.ndim() == 0 || a.numel() == 0) {
    auto [v, i] = local_sort(a.larray(), a.ndim() == 0 ? 0 : ax, descending);
    return {DNDarray(v, a.gshape(), a.split(), comm, a.counts()),
            DNDarray(i, a.gshape(), a.split(), comm, a.counts())};
  }

  // n-d along the split axis: make the lines local by splitting along the largest other
  // axis (the first on ties), sort, and move back to a's split axis and counts.
  if (a.ndim() >= 2) {
    const DNDarray lines = resplit(a, line_axis(a.gshape(), ax));
    auto [v, i] = local_sort(lines.larray(), ax, descending);
    const DNDarray values(v, lines.gshape(), lines.split(), comm, lines.counts());
    const DNDarray indices(i, lines.gshape(), lines.split(), comm, lines.counts());
    return {resplit(values, ax, a.counts()), resplit(indices, ax, a.counts())};
  }

  // 1-D along the split axis: distributed sample sort, then balanced. Device blocks are
  // staged through the host (the exchange and the splitter search work on CPU memory).
  at::Tensor x = a.larray().device().is_cpu() ? a.larray() : a.larray().cpu();
  at::Tensor values, indices;
  std::vector<int64_t> counts;
  AT_DISPATCH_ALL_TYPES_AND(at::kBool, x.scalar_type(), "sort", [&] {
    sample_sort<scalar_t>(comm, x.contiguous(), a.chunk().offset, descending, /*with_indices=*/true,
                          values, indices, counts);
  });
  const at::Device device = a.larray().device();
  if (!device.is_cpu()) {
    values = values.to(device);
    indices = indices.to(device);
  }
  return {balance(DNDarray(values, a.gshape(), 0, comm, counts)),
          balance(DNDarray(indices, a.gshape(), 0, comm, counts))};
}

OpMeta sort_values_meta(const ArrayMeta& a, int64_t axis, int nranks) {
  OpMeta m = sort_meta(a, axis, nranks);  // its checks, and the shapes
  m.outputs.resize(1);
  ArrayMeta idx = a;
  idx.dtype = at::kLong;
  const int64_t nd = static_cast<int64_t>(a.shape.size());
  const int64_t ax = normalize_axis(axis, std::max<int64_t>(nd, 1), "sort");
  const int64_t vb = max_block_bytes(a, nranks), ib = max_block_bytes(idx, nranks);
  const bool radix = nd <= 1 && !at::isComplexType(a.dtype) && a.dtype != at::kHalf &&
                     a.dtype != at::kBFloat16 && a.device == DeviceKind::cpu;
  const bool distributed = a.split && *a.split == ax && nranks > 1 && nd > 0 && shape_numel(a.shape) > 0;
  if (!distributed) {
    // The radix sort: its scratch. torch's sort of n-d lines: the indices it makes anyway
    // (measured); a 1-D line torch sorts: as sort_meta.
    m.temp_bytes = radix ? vb : nd <= 1 ? m.temp_bytes : ib;
    return m;
  }
  if (nd == 1) {
    // The ranked local run (values, indices and their scratch), the received values (up to
    // about twice a block), their merge and its scratch, then the rebalance.
    m.comm_bytes = sample_sort_bound(a, nranks);
    m.temp_bytes = 4 * vb + 2 * ib;
    m.note = "distributed sample sort (one exchange of the values), then rebalanced";
    return m;
  }
  // n-d along the split axis: resplit along another axis, sort the lines, resplit back.
  m.comm_bytes = lines_bytes(a, ax, nranks, false);
  m.temp_bytes = 2 * vb + ib;
  return m;
}

DNDarray sort_values(const DNDarray& a, int64_t axis, bool descending) {
  sort_values_meta(meta_of(a), axis, a.comm().size());
  const int64_t ax = normalize_axis(axis, std::max<int64_t>(a.ndim(), 1), "sort");
  const Communicator& comm = a.comm();
  if (!a.split() || *a.split() != ax || comm.size() == 1 || a.ndim() == 0 || a.numel() == 0)
    return DNDarray(local_sort_values(a.larray(), a.ndim() == 0 ? 0 : ax, descending), a.gshape(),
                    a.split(), comm, a.counts());
  if (a.ndim() >= 2) {  // as sort: lines made local along the largest other axis, and back
    const DNDarray lines = resplit(a, line_axis(a.gshape(), ax));
    const DNDarray values(local_sort_values(lines.larray(), ax, descending), lines.gshape(),
                          lines.split(), comm, lines.counts());
    return resplit(values, ax, a.counts());
  }
  at::Tensor x = a.larray().device().is_cpu() ? a.larray() : a.larray().cpu();
  at::Tensor values, unused;
  std::vector<int64_t> counts;
  AT_DISPATCH_ALL_TYPES_AND(at::kBool, x.scalar_type(), "sort", [&] {
    sample_sort<scalar_t>(comm, x.contiguous(), a.chunk().offset, descending, /*with_indices=*/false,
                          values, unused, counts);
  });
  if (!a.larray().device().is_cpu()) values = values.to(a.larray().device());
  return balance(DNDarray(values, a.gshape(), 0, comm, counts));
}

}  // namespace dnd
