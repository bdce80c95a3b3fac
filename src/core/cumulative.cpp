// cumsum, cumprod, diff: local torch scans and differences; along the split axis one
// exclusive scan of the block totals (cumsum, cumprod) or one row fetch (diff).
#include "src/core/cumulative.h"

#include "src/core/communicator.h"
#include "src/core/distribution.h"
#include "src/core/error.h"
#include "src/core/halo.h"
#include "src/core/reductions.h"
#include "src/core/shape_ops.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

namespace dnd {

namespace {

bool is_sum(std::string_view op) {
  DND_ASSERT(op == "cumsum" || op == "cumprod", op);
  return op == "cumsum";
}

// The block total slice of this rank's scanned block along `ax` (the identity when the
// block is empty), combined with those of the ranks before it, applied to the block.
void add_prefix(at::Tensor& local, int64_t ax, bool sum, const Communicator& comm) {
  Shape slice = local.sizes().vec();
  slice.erase(slice.begin() + ax);
  const int64_t count = local.size(ax);
  at::Tensor totals =
      count > 0
          ? local.select(ax, count - 1).to(at::kCPU, /*non_blocking=*/false, /*copy=*/true).contiguous()
          : at::full(slice, sum ? 0 : 1, local.options().device(at::kCPU));
  exscan_(comm, totals, sum ? ReduceOp::sum : ReduceOp::prod);
  if (comm.rank() == 0 || count == 0) return;
  const at::Tensor prefix = totals.to(local.device()).unsqueeze(ax);
  if (sum)
    local.add_(prefix);
  else
    local.mul_(prefix);
}

at::Tensor local_scan(const at::Tensor& x, int64_t ax, bool sum, Dtype out) {
  return (sum ? at::cumsum(x, ax, out) : at::cumprod(x, ax, out)).contiguous();
}

}  // namespace

OpMeta cumulative_meta(std::string_view op, const ArrayMeta& a, std::optional<int64_t> axis,
                       std::optional<Dtype> dtype, int nranks) {
  is_sum(op);
  const int64_t nd = static_cast<int64_t>(a.shape.size());
  if (nd == 0 && axis) normalize_axis(*axis, 1, op);  // a 0-d array scans as one element
  const Dtype out = dtype ? *dtype : reduction_dtype("sum", a.dtype);
  check_supported_dtype(out, op);
  if (out == at::kBool)
    throw TypeError(fmt::format("{}: dtype bool cannot accumulate; use an integer or float dtype", op));
  OpMeta m;
  ArrayMeta r = a;
  r.dtype = out;
  const ArrayMeta cast{a.shape, out, a.split, a.device};
  const int64_t cast_bytes = out != a.dtype ? max_block_bytes(cast, nranks) : 0;
  const int64_t elem = static_cast<int64_t>(c10::elementSize(out));
  if (!axis || nd == 0) {
    r.shape = Shape{shape_numel(a.shape)};
    r.split = a.split ? Split(0) : kReplicated;
    m.temp_bytes = cast_bytes;
    if (a.split && *a.split != 0 && nd > 1) {
      // reshape to 1-D first: a balanced, flattened copy in the input dtype
      const OpMeta rs = reshape_meta(a, Shape{-1}, Split(0), nranks);
      m.comm_bytes = rs.comm_bytes;
      m.temp_bytes += max_block_bytes(rs.outputs[0], nranks) + rs.temp_bytes;
      m.note = fmt::format("flattens split {} to 1-D first (one exchange)", *a.split);
    }
    if (a.split && nranks > 1) m.comm_bytes += elem;
  } else {
    const int64_t ax = normalize_axis(*axis, nd, op);
    m.temp_bytes = cast_bytes;
    if (a.split && *a.split == ax && nranks > 1) {
      const int64_t slice =
          shape_numel(a.shape) / std::max<int64_t>(a.shape[static_cast<size_t>(ax)], 1);
      m.comm_bytes = slice * elem;
      m.temp_bytes += 2 * slice * elem;
      m.note = "exclusive scan of the ranks' block totals";
    }
  }
  m.outputs.push_back(r);
  return m;
}

namespace {

DNDarray cumulative(std::string_view op, const DNDarray& a, std::optional<int64_t> axis,
                    std::optional<Dtype> dtype) {
  const Communicator& comm = a.comm();
  const int p = comm.size();
  const OpMeta meta = cumulative_meta(op, meta_of(a), axis, dtype, p);
  const ArrayMeta& out = meta.outputs[0];
  const bool sum = is_sum(op);
  if (!axis || a.ndim() == 0) {
    // Flattened: a split-0 (or replicated) array's blocks are runs of the row-major order.
    DNDarray flat = a;
    std::vector<int64_t> counts;
    if (a.split() && *a.split() != 0 && a.ndim() > 1) {
      flat = reshape(a, Shape{a.numel()}, Split(0));
      counts = flat.counts();
    } else if (a.split()) {
      const int64_t row = a.ndim() > 0 && a.gshape()[0] > 0 ? a.numel() / a.gshape()[0] : 0;
      for (int64_t c : a.counts()) counts.push_back(c * row);
    }
    at::Tensor local = local_scan(flat.larray().reshape({-1}), 0, sum, out.dtype);
    if (out.split) add_prefix(local, 0, sum, comm);
    return DNDarray(local, out.shape, out.split, comm, counts);
  }
  const int64_t ax = normalize_axis(*axis, a.ndim(), op);
  at::Tensor local = local_scan(a.larray(), ax, sum, out.dtype);
  if (a.split() && *a.split() == ax && p > 1) add_prefix(local, ax, sum, comm);
  return DNDarray(local, out.shape, out.split, comm, a.counts());
}

// The result dtype of a diff with prepend / append numbers (weak scalars, as elementwise).
Dtype diff_dtype(Dtype t, const std::optional<c10::Scalar>& prepend,
                 const std::optional<c10::Scalar>& append) {
  Dtype d = t;
  for (const auto* s : {&prepend, &append})
    if (*s) d = at::result_type(at::empty({0}, at::dtype(d)), **s);
  return d;
}

struct DiffPlan {
  int64_t ax = 0;
  int64_t extent = 0;  // input extent along ax
  int64_t pre = 0, app = 0;
  int64_t out_n = 0;
  Dtype out = at::kFloat;
  bool copy = false;  // a concatenated / cast copy is made before differencing
};

DiffPlan plan_diff(const ArrayMeta& a, int64_t n, int64_t axis,
                   const std::optional<c10::Scalar>& prepend, const std::optional<c10::Scalar>& append) {
  const int64_t nd = static_cast<int64_t>(a.shape.size());
  if (nd == 0) throw ValueError("diff: needs an array of at least one dimension, got a 0-d array");
  if (n < 0) throw ValueError(fmt::format("diff: order n must be non-negative, got {}", n));
  DiffPlan d;
  d.ax = normalize_axis(axis, nd, "diff");
  d.extent = a.shape[static_cast<size_t>(d.ax)];
  d.pre = prepend ? 1 : 0;
  d.app = append ? 1 : 0;
  d.out = diff_dtype(a.dtype, prepend, append);
  d.out_n = n == 0 ? d.extent : std::max<int64_t>(d.extent + d.pre + d.app - n, 0);
  d.copy = d.pre || d.app || d.out != a.dtype;
  return d;
}

// x_{k} = x_{k-1}[1:] - x_{k-1}[:-1] along ax, n times (not_equal for bool).
at::Tensor difference(at::Tensor x, int64_t n, int64_t ax) {
  for (int64_t k = 0; k < n; ++k) {
    const int64_t len = x.size(ax);
    if (len == 0) break;
    const at::Tensor hi = x.narrow(ax, 1, len - 1), lo = x.narrow(ax, 0, len - 1);
    x = x.scalar_type() == at::kBool ? at::ne(hi, lo) : at::sub(hi, lo);
  }
  return x.contiguous();
}

}  // namespace

DNDarray cumsum(const DNDarray& a, std::optional<int64_t> axis, std::optional<Dtype> dtype) {
  return cumulative("cumsum", a, axis, dtype);
}
DNDarray cumprod(const DNDarray& a, std::optional<int64_t> axis, std::optional<Dtype> dtype) {
  return cumulative("cumprod", a, axis, dtype);
}

OpMeta diff_meta(const ArrayMeta& a, int64_t n, int64_t axis, const std::optional<c10::Scalar>& prepend,
                 const std::optional<c10::Scalar>& append, int nranks) {
  const DiffPlan d = plan_diff(a, n, axis, prepend, append);
  OpMeta m;
  ArrayMeta r = a;
  if (n == 0) {
    m.outputs.push_back(r);
    return m;
  }
  r.dtype = d.out;
  r.shape[static_cast<size_t>(d.ax)] = d.out_n;
  m.outputs.push_back(r);
  const bool along_split = a.split && *a.split == d.ax;
  // The busiest rank's working block: along the split axis its share of the result and
  // the n rows before it, fetched; along another axis its block (with prepend / append).
  const int64_t rows =
      along_split ? (d.out_n == 0 ? 0 : (d.out_n + nranks - 1) / nranks + n) : d.extent + d.pre + d.app;
  int64_t slice_elems = 1;  // elements of one slice along the axis in that block
  for (int64_t k = 0; k < static_cast<int64_t>(a.shape.size()); ++k) {
    if (k == d.ax) continue;
    const int64_t e = a.shape[static_cast<size_t>(k)];
    slice_elems *= a.split && *a.split == k ? (e + nranks - 1) / nranks : e;
  }
  const int64_t ext_in =
      along_split ? rows * slice_elems * static_cast<int64_t>(c10::elementSize(a.dtype)) : 0;
  const int64_t block_out = rows * slice_elems * static_cast<int64_t>(c10::elementSize(d.out));
  // Phases: the copy (the fetched rows and the copy), then each difference (previous and
  // next; the last one is the result). a's own block is no temporary.
  const int64_t x0 = d.copy ? block_out : ext_in;
  int64_t temp = ext_in + (d.copy ? block_out : 0);
  for (int64_t k = 1; k <= n; ++k)
    temp = std::max(temp, (k == 1 ? x0 : block_out) + (k < n ? block_out : 0));
  m.temp_bytes = temp;
  if (along_split && nranks > 1) {
    const int64_t width = slice_elems * static_cast<int64_t>(c10::elementSize(a.dtype));
    const std::vector<int64_t> counts = balanced_counts(d.extent, nranks);
    std::vector<std::vector<RowRange>> wants(static_cast<size_t>(nranks));
    for (int q = 0; q < nranks; ++q) {
      const Chunk c = balanced_chunk(d.out_n, q, nranks);
      if (c.count == 0) continue;
      wants[static_cast<size_t>(q)] = {
          RowRange{std::max<int64_t>(c.offset - d.pre, 0), std::min(c.end() + n - d.pre, d.extent)}};
    }
    int64_t most = 0;
    for (int q = 0; q < nranks; ++q)
      most = std::max(most, fetch_rows_sent(counts, wants, Boundary::none, q));
    m.comm_bytes = most * width;
    if (most > 0) m.note = fmt::format("rows along the split axis: up to {} sent per rank", most);
  }
  return m;
}

DNDarray diff(const DNDarray& a, int64_t n, int64_t axis, const std::optional<c10::Scalar>& prepend,
              const std::optional<c10::Scalar>& append) {
  const Communicator& comm = a.comm();
  const int p = comm.size();
  const OpMeta meta = diff_meta(meta_of(a), n, axis, prepend, append, p);
  if (n == 0) return a;
  const DiffPlan d = plan_diff(meta_of(a), n, axis, prepend, append);
  const ArrayMeta& out = meta.outputs[0];
  // One copy in the result dtype with the prepend / append slices around x.
  const auto extend = [&](at::Tensor x, bool first, bool last) {
    if (!d.copy) return x;
    const int64_t before = first ? d.pre : 0, after = last ? d.app : 0, len = x.size(d.ax);
    Shape s = x.sizes().vec();
    s[static_cast<size_t>(d.ax)] = before + len + after;
    at::Tensor e = at::empty(s, x.options().dtype(d.out));
    if (before) e.narrow(d.ax, 0, 1).fill_(*prepend);
    e.narrow(d.ax, before, len).copy_(x);
    if (after) e.narrow(d.ax, before + len, 1).fill_(*append);
    return e;
  };
  if (!a.split() || *a.split() != d.ax) {
    at::Tensor local = difference(extend(a.larray(), true, true), n, d.ax);
    return DNDarray(local, out.shape, out.split, comm, a.counts());
  }
  // Along the split axis: rank q's balanced share [o, o + c) of the result reads
  // positions [o, o + c + n) of the extended axis (prepend at -1 of the input rows).
  std::vector<std::vector<RowRange>> wants(static_cast<size_t>(p));
  for (int q = 0; q < p; ++q) {
    const Chunk c = balanced_chunk(d.out_n, q, p);
    wants[static_cast<size_t>(q)] = {c.count == 0 ? RowRange{0, 0}
                                                  : RowRange{std::max<int64_t>(c.offset - d.pre, 0),
                                                             std::min(c.end() + n - d.pre, d.extent)}};
  }
  const Chunk mine = balanced_chunk(d.out_n, comm.rank(), p);
  at::Tensor rows = fetch_rows(a, wants, Boundary::none)[0];
  at::Tensor local;
  if (mine.count == 0) {
    Shape s = a.larray().sizes().vec();
    s[static_cast<size_t>(d.ax)] = 0;
    local = at::empty(s, a.larray().options().dtype(d.out));
  } else {
    const bool first = mine.offset - d.pre < 0;
    const bool last = mine.end() + n - d.pre > d.extent;
    local = difference(extend(std::move(rows), first, last), n, d.ax);
  }
  return DNDarray(local, out.shape, out.split, comm);
}

}  // namespace dnd
