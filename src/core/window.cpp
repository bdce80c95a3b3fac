// convolve and moving: the rows a rank's share of the result needs come in one row fetch
// (halo.h); the arithmetic is local torch (conv1d, unfold + reduction).
#include "src/core/window.h"

#include "src/core/distribution.h"
#include "src/core/error.h"
#include "src/core/halo.h"
#include "src/core/meta.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

namespace dnd {

ConvolveMode parse_convolve_mode(const std::string& name) {
  if (name == "full") return ConvolveMode::full;
  if (name == "same") return ConvolveMode::same;
  if (name == "valid") return ConvolveMode::valid;
  throw ValueError(fmt::format("convolve: unknown mode '{}' (full, same or valid)", name));
}

MovingFn parse_moving_fn(const std::string& name) {
  if (name == "mean") return MovingFn::mean;
  if (name == "sum") return MovingFn::sum;
  if (name == "min") return MovingFn::min;
  if (name == "max") return MovingFn::max;
  throw ValueError(fmt::format("moving: unknown fn '{}' (mean, sum, min or max)", name));
}

namespace {

bool is_float_or_complex(Dtype d) { return at::isFloatingType(d) || at::isComplexType(d); }

// The result's extent and its first position in full-convolution coordinates.
std::pair<int64_t, int64_t> convolve_extent(int64_t n, int64_t m, ConvolveMode mode) {
  const int64_t big = std::max(n, m), small = std::min(n, m);
  switch (mode) {
    case ConvolveMode::full:
      return {n + m - 1, 0};
    case ConvolveMode::same:
      return {big, (small - 1) / 2};
    case ConvolveMode::valid:
      return {big - small + 1, small - 1};
  }
  return {0, 0};
}

// Per rank, the input rows its balanced share of an output of `out_n` positions needs:
// output t reads input rows [t + lo_shift, t + hi_shift).
std::vector<std::vector<RowRange>> window_ranges(int64_t out_n, int nranks, int64_t lo_shift,
                                                 int64_t hi_shift) {
  std::vector<std::vector<RowRange>> w(static_cast<size_t>(nranks));
  for (int r = 0; r < nranks; ++r) {
    const Chunk c = balanced_chunk(out_n, r, nranks);
    w[static_cast<size_t>(r)] = {c.count > 0 ? RowRange{c.offset + lo_shift, c.end() - 1 + hi_shift}
                                             : RowRange{0, 0}};
  }
  return w;
}

int64_t busiest(const std::vector<int64_t>& counts, const std::vector<std::vector<RowRange>>& wants,
                Boundary b) {
  int64_t most = 0;
  for (size_t r = 0; r < counts.size(); ++r)
    most = std::max(most, fetch_rows_sent(counts, wants, b, static_cast<int>(r)));
  return most;
}

// The busiest rank's temporaries: along the split axis, its extended block (its share of
// the `out_n` results plus `extra` rows) in the input dtype and, when `cast`, again in the
// result dtype; across it, a cast copy of its block.
int64_t window_temp_bytes(const Shape& shape, Split split, Dtype in, Dtype out, int64_t ax,
                          int64_t out_n, int64_t extra, bool cast, int nranks) {
  const ArrayMeta a{shape, in, split};
  if (split && *split == ax) {
    const int64_t n = shape[static_cast<size_t>(ax)];
    const int64_t rows = (out_n + nranks - 1) / nranks + extra;
    const int64_t row_in = global_bytes(a) / n;
    const int64_t row_out = global_bytes(ArrayMeta{shape, out, split}) / n;
    int64_t bytes = 0;
    if (__builtin_mul_overflow(rows, row_in + (cast ? row_out : 0), &bytes))
      throw ShapeError(
          fmt::format("a window op's extended block of {} rows does not fit in int64 bytes", rows));
    return bytes;
  }
  return cast ? max_block_bytes(ArrayMeta{shape, out, split}, nranks) : 0;
}

Shape with_extent(Shape s, int64_t axis, int64_t n) {
  s[static_cast<size_t>(axis)] = n;
  return s;
}

// Cross-correlation of every line of x along `axis` with w (1-D, x's dtype), as if x had
// `lead` zeros before it and zeros after: out[i] = sum_j w[j] * xpad[i + j] for i < out_len.
// One shifted multiply-add per weight into the zeroed result: no im2col, no padded copy, so the
// memory is the result alone (conv1d's im2col peaked at ~20x the input).
at::Tensor correlate(const at::Tensor& x, const at::Tensor& w, int64_t axis, int64_t lead,
                     int64_t out_len) {
  const int64_t len = x.size(axis), m = w.size(0);
  std::vector<int64_t> out_shape = x.sizes().vec();
  out_shape[static_cast<size_t>(axis)] = std::max<int64_t>(out_len, 0);
  at::Tensor out = at::zeros(out_shape, x.options());
  if (out_len <= 0 || x.numel() == 0) return out;
  const at::Tensor wc = w.cpu();
  for (int64_t j = 0; j < m; ++j) {
    // xpad[i + j] is x[i + j - lead] where 0 <= i + j - lead < len.
    const int64_t i0 = std::max<int64_t>(0, lead - j), i1 = std::min<int64_t>(out_len, lead - j + len);
    if (i1 <= i0) continue;
    out.narrow(axis, i0, i1 - i0).add_(x.narrow(axis, i0 + j - lead, i1 - i0), wc[j].item());
  }
  return out;
}

at::Tensor reduce_windows(const at::Tensor& x, int64_t window, MovingFn fn, int64_t axis, Dtype out) {
  const int64_t k = std::max<int64_t>(x.size(axis) - window + 1, 0);
  std::vector<int64_t> out_shape = x.sizes().vec();
  out_shape[static_cast<size_t>(axis)] = k;
  if (k == 0 || x.numel() == 0) return at::zeros(out_shape, x.options().dtype(out));
  switch (fn) {
    case MovingFn::mean:
      return x.to(out).unfold(axis, window, 1).mean(-1).contiguous();
    case MovingFn::sum:
      return at::sum(x.unfold(axis, window, 1), {-1}, false, out).contiguous();
    case MovingFn::min:
    case MovingFn::max: {
      const bool is_bool = x.scalar_type() == at::kBool;
      at::Tensor u = (is_bool ? x.to(at::kByte) : x).unfold(axis, window, 1);
      at::Tensor r = fn == MovingFn::max ? at::amax(u, {-1}) : at::amin(u, {-1});
      return (is_bool ? r.to(at::kBool) : r).contiguous();
    }
  }
  return {};
}

}  // namespace

WindowMeta convolve_meta(const Shape& shape, Split split, Dtype dtype, int64_t kernel_size,
                         ConvolveMode mode, int64_t axis, int nranks) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  if (nd == 0) throw ValueError("convolve: the array is 0-d; it needs an axis to convolve along");
  const int64_t ax = normalize_axis(axis, nd, "convolve");
  const int64_t n = shape[static_cast<size_t>(ax)];
  if (kernel_size <= 0) throw ValueError("convolve: the kernel (weights) cannot be empty");
  if (n == 0) throw ValueError(fmt::format("convolve: axis {} of the array is empty", ax));
  const auto [out_n, off] = convolve_extent(n, kernel_size, mode);
  WindowMeta m;
  m.shape = with_extent(shape, ax, out_n);
  m.split = split;
  m.dtype = is_float_or_complex(dtype) ? dtype : kDefaultDtype;
  if (split && *split == ax && nranks > 1)
    m.rows_sent =
        busiest(balanced_counts(n, nranks), window_ranges(out_n, nranks, off - kernel_size + 1, off + 1),
                Boundary::constant);
  m.temp_bytes = window_temp_bytes(shape, split, dtype, m.dtype, ax, out_n, kernel_size - 1,
                                   m.dtype != dtype, nranks);
  return m;
}

DNDarray convolve(const DNDarray& a, const at::Tensor& v, ConvolveMode mode, int64_t axis) {
  const int p = a.comm().size();
  const int64_t m = v.numel();
  const WindowMeta meta = convolve_meta(a.gshape(), a.split(), a.dtype(), m, mode, axis, p);
  const int64_t ax = normalize_axis(axis, a.ndim(), "convolve");
  const int64_t n = a.gshape()[static_cast<size_t>(ax)];
  const auto [out_n, off] = convolve_extent(n, m, mode);
  const at::Tensor w = v.reshape({-1}).to(a.larray().options().dtype(meta.dtype)).flip({0}).contiguous();
  if (a.split() && *a.split() == ax) {
    const at::Tensor ext =
        fetch_rows(a, window_ranges(out_n, p, off - m + 1, off + 1), Boundary::constant, 0)[0];
    at::Tensor local = correlate(ext.to(meta.dtype), w, ax, 0, ext.size(ax) - m + 1);
    return DNDarray(local, meta.shape, meta.split, a.comm());
  }
  // Full convolution is the correlation of x with m - 1 zeros on each side; the mode keeps
  // positions [off, off + out_n) of it.
  at::Tensor local = correlate(a.larray().to(meta.dtype), w, ax, m - 1 - off, out_n);
  return DNDarray(local, meta.shape, meta.split, a.comm(), a.counts());
}

WindowMeta moving_meta(const Shape& shape, Split split, Dtype dtype, int64_t window, MovingFn fn,
                       int64_t axis, int nranks) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  if (nd == 0) throw ValueError("moving: the array is 0-d; it needs an axis to slide along");
  const int64_t ax = normalize_axis(axis, nd, "moving");
  const int64_t n = shape[static_cast<size_t>(ax)];
  if (window < 1 || window > n)
    throw ValueError(
        fmt::format("moving: a window of {} does not fit axis {} of extent {} (1 <= window <= {})",
                    window, ax, n, n));
  WindowMeta m;
  m.shape = with_extent(shape, ax, n - window + 1);
  m.split = split;
  switch (fn) {
    case MovingFn::mean:
      m.dtype = is_float_or_complex(dtype) ? dtype : kDefaultDtype;
      break;
    case MovingFn::sum:
      m.dtype = at::isIntegralType(dtype, /*includeBool=*/true) ? at::kLong : dtype;
      break;
    case MovingFn::min:
    case MovingFn::max:
      if (at::isComplexType(dtype))
        throw TypeError("moving: min and max are not defined for complex arrays");
      m.dtype = dtype;
      break;
  }
  if (split && *split == ax && nranks > 1)
    m.rows_sent = busiest(balanced_counts(n, nranks), window_ranges(n - window + 1, nranks, 0, window),
                          Boundary::none);
  const bool cast = (fn == MovingFn::mean && m.dtype != dtype) ||
                    ((fn == MovingFn::min || fn == MovingFn::max) && dtype == at::kBool);
  m.temp_bytes = window_temp_bytes(shape, split, dtype, cast && dtype == at::kBool ? at::kByte : m.dtype,
                                   ax, n - window + 1, window - 1, cast, nranks);
  return m;
}

DNDarray moving(const DNDarray& a, int64_t window, MovingFn fn, int64_t axis) {
  const int p = a.comm().size();
  const WindowMeta meta = moving_meta(a.gshape(), a.split(), a.dtype(), window, fn, axis, p);
  const int64_t ax = normalize_axis(axis, a.ndim(), "moving");
  if (a.split() && *a.split() == ax) {
    const int64_t out_n = meta.shape[static_cast<size_t>(ax)];
    const at::Tensor ext = fetch_rows(a, window_ranges(out_n, p, 0, window), Boundary::none, 0)[0];
    return DNDarray(reduce_windows(ext, window, fn, ax, meta.dtype), meta.shape, meta.split, a.comm());
  }
  return DNDarray(reduce_windows(a.larray(), window, fn, ax, meta.dtype), meta.shape, meta.split,
                  a.comm(), a.counts());
}

}  // namespace dnd
