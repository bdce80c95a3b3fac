#include "src/core/factories.h"

#include "src/core/error.h"
#include "src/core/manipulation.h"
#include "src/core/random.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>

#include <cmath>
#include <limits>

namespace dnd {

namespace {

// The normalised split and this rank's counts for a new array of global shape g.
struct Layout {
  Split split;
  std::vector<int64_t> counts;
  Chunk mine;
  Shape lshape;
};

Layout layout_for(const Shape& g, Split split, const Communicator& comm, const char* op) {
  for (int64_t d : g)
    if (d < 0) throw ShapeError(fmt::format("{}: negative dimension in shape {}", op, shape_str(g)));
  Layout l;
  if (split) {
    l.split = normalize_axis(*split, static_cast<int64_t>(g.size()), op);
    l.counts = balanced_counts(g[static_cast<size_t>(*l.split)], comm.size());
    l.mine = balanced_chunk(g[static_cast<size_t>(*l.split)], comm.rank(), comm.size());
    l.lshape = local_shape(g, l.split, l.mine.count);
  } else {
    l.lshape = g;
  }
  return l;
}

at::TensorOptions tensor_options(const ArrayOptions& o, Dtype fallback, const char* op) {
  const Dtype dt = o.dtype.value_or(fallback);
  check_supported_dtype(dt, op);
  return at::TensorOptions().dtype(dt).device(at::kCPU);
}

DNDarray finish(at::Tensor local, const Shape& g, const Layout& l, const ArrayOptions& o) {
  DNDarray a(std::move(local), g, l.split, o.communicator(), l.counts);
  return o.device == DeviceKind::cpu ? a : to_device(a, o.device);
}

// Calls fn(local_begin, global_begin, len) in parallel over pieces of this rank's block,
// each a run of consecutive global row-major indices (a block split along axis s is
// prod(shape[:s]) such runs; pieces are at most kRunPiece elements).
constexpr int64_t kRunPiece = int64_t{1} << 15;
template <class Fn>
void for_each_run(const Shape& g, const Layout& l, int64_t numel, Fn fn) {
  if (numel == 0) return;
  int64_t inner = 1, gs = 1, off = 0, cnt = 1;
  if (l.split) {
    const auto s = static_cast<size_t>(*l.split);
    for (size_t d = s + 1; d < g.size(); ++d) inner *= g[d];
    gs = g[s];
    off = l.mine.offset;
    cnt = l.mine.count;
  }
  const int64_t run = l.split ? cnt * inner : numel;  // consecutive global indices per outer slice
  const int64_t outer = numel / run, per_run = (run + kRunPiece - 1) / kRunPiece;
  // Work items: (outer slice, piece of it); short runs are grouped so an item has ~kRunPiece.
  const int64_t runs_per_item = per_run == 1 ? std::max<int64_t>(1, kRunPiece / run) : 1;
  const int64_t items = per_run == 1 ? (outer + runs_per_item - 1) / runs_per_item : outer * per_run;
  at::parallel_for(0, items, 1, [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it) {
      if (per_run == 1) {
        for (int64_t o = it * runs_per_item; o < std::min(outer, (it + 1) * runs_per_item); ++o) {
          const int64_t gi = l.split ? (o * gs + off) * inner : 0;
          fn(o * run, static_cast<uint64_t>(gi), run);
        }
      } else {
        const int64_t o = it / per_run, first = (it % per_run) * kRunPiece;
        const int64_t gi = (l.split ? (o * gs + off) * inner : 0) + first;
        fn(o * run + first, static_cast<uint64_t>(gi), std::min(kRunPiece, run - first));
      }
    }
  });
}

constexpr uint64_t kStreamUniform = 1, kStreamNormal = 2, kStreamIntegers = 3;

bool is_integral_scalar(const c10::Scalar& s) { return s.isIntegral(/*includeBool=*/true); }

}  // namespace

DNDarray empty(const Shape& shape, const ArrayOptions& o) {
  Layout l = layout_for(shape, o.split, o.communicator(), "empty");
  return finish(at::empty(l.lshape, tensor_options(o, kDefaultDtype, "empty")), shape, l, o);
}

DNDarray zeros(const Shape& shape, const ArrayOptions& o) {
  Layout l = layout_for(shape, o.split, o.communicator(), "zeros");
  return finish(at::zeros(l.lshape, tensor_options(o, kDefaultDtype, "zeros")), shape, l, o);
}

DNDarray ones(const Shape& shape, const ArrayOptions& o) {
  Layout l = layout_for(shape, o.split, o.communicator(), "ones");
  return finish(at::ones(l.lshape, tensor_options(o, kDefaultDtype, "ones")), shape, l, o);
}

DNDarray full(const Shape& shape, const c10::Scalar& value, const ArrayOptions& o) {
  Layout l = layout_for(shape, o.split, o.communicator(), "full");
  // numpy's full infers the dtype from the value; torch's too (bool, int64, float32 default).
  const Dtype fallback = value.isBoolean()         ? at::kBool
                         : value.isIntegral(false) ? at::kLong
                         : value.isComplex()       ? at::kComplexFloat
                                                   : kDefaultDtype;
  return finish(at::full(l.lshape, value, tensor_options(o, fallback, "full")), shape, l, o);
}

static DNDarray like(const DNDarray& a, at::Tensor local) {
  return DNDarray(std::move(local), a.gshape(), a.split(), a.comm(), a.counts());
}

DNDarray empty_like(const DNDarray& a) { return like(a, at::empty_like(a.larray())); }
DNDarray zeros_like(const DNDarray& a) { return like(a, at::zeros_like(a.larray())); }
DNDarray ones_like(const DNDarray& a) { return like(a, at::ones_like(a.larray())); }
DNDarray full_like(const DNDarray& a, const c10::Scalar& value) {
  return like(a, at::full_like(a.larray(), value));
}

int64_t arange_length(const c10::Scalar& start, const c10::Scalar& stop, const c10::Scalar& step) {
  const double st = start.toDouble(), sp = stop.toDouble(), dx = step.toDouble();
  if (dx == 0 || !std::isfinite(dx) || !std::isfinite(st) || !std::isfinite(sp))
    throw ValueError(
        fmt::format("arange: need finite start, stop and a non-zero step (got {}, {}, {})", st, sp, dx));
  if (is_integral_scalar(start) && is_integral_scalar(stop) && is_integral_scalar(step)) {
    const int64_t a = start.toLong(), b = stop.toLong(), d = step.toLong();
    return d > 0 ? (b > a ? (b - a + d - 1) / d : 0) : (a > b ? (a - b + (-d) - 1) / (-d) : 0);
  }
  return std::max<int64_t>(0, static_cast<int64_t>(std::ceil((sp - st) / dx)));
}

namespace {

// Fills the 1-D block `out` piece by piece: piece(first, count) gives the values of local
// elements [first, first + count) in any dtype, and they are cast into `out`. So the only
// temporaries are one piece per thread, whatever the dtype of the formula (float64 or
// int64 behind a float32 or int32 result would triple the block's memory).
template <class F>
void fill_pieces(at::Tensor& out, F piece) {
  constexpr int64_t kPiece = int64_t{1} << 15;
  const int64_t n = out.numel();
  at::parallel_for(0, (n + kPiece - 1) / kPiece, 1, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const int64_t first = p * kPiece, count = std::min(kPiece, n - first);
      out.narrow(0, first, count).copy_(piece(first, count));
    }
  });
}

}  // namespace

DNDarray arange(const c10::Scalar& start, const c10::Scalar& stop, const c10::Scalar& step,
                const ArrayOptions& o) {
  const bool integral =
      is_integral_scalar(start) && is_integral_scalar(stop) && is_integral_scalar(step);
  const double st = start.toDouble(), dx = step.toDouble();
  const int64_t n = arange_length(start, stop, step);
  if (o.split && *o.split != 0 && *o.split != -1)
    throw ValueError(fmt::format("arange: split axis {} is out of bounds for a 1-D array", *o.split));
  const Shape g{n};
  Layout l = layout_for(g, o.split, o.communicator(), "arange");
  const auto opts = tensor_options(o, integral ? at::kLong : kDefaultDtype, "arange");
  const Chunk c = l.split ? l.mine : Chunk{0, n};
  at::Tensor local = at::empty({c.count}, opts);
  if (integral) {
    const int64_t a = start.toLong(), d = step.toLong();
    fill_pieces(local, [&](int64_t first, int64_t count) {
      return at::arange(c.offset + first, c.offset + first + count, at::kLong) * d + a;
    });
  } else {
    fill_pieces(local, [&](int64_t first, int64_t count) {
      return at::arange(c.offset + first, c.offset + first + count, at::kDouble) * dx + st;
    });
  }
  return finish(local, g, l, o);
}

DNDarray arange(const c10::Scalar& stop, const ArrayOptions& o) { return arange(0, stop, 1, o); }

DNDarray linspace(double start, double stop, int64_t num, bool endpoint, const ArrayOptions& o) {
  if (num < 0) throw ValueError(fmt::format("linspace: number of samples {} must be non-negative", num));
  if (o.split && *o.split != 0 && *o.split != -1)
    throw ValueError(fmt::format("linspace: split axis {} is out of bounds for a 1-D array", *o.split));
  const Shape g{num};
  Layout l = layout_for(g, o.split, o.communicator(), "linspace");
  const auto opts = tensor_options(o, kDefaultDtype, "linspace");
  const Chunk c = l.split ? l.mine : Chunk{0, num};
  at::Tensor local = at::empty({c.count}, opts);
  fill_pieces(local, [&](int64_t first, int64_t count) {
    at::Tensor idx = at::arange(c.offset + first, c.offset + first + count, at::kDouble);
    if (endpoint) {
      // torch.linspace's formula: from the start in the first half, from the end in the second.
      const double step = num > 1 ? (stop - start) / static_cast<double>(num - 1) : 0.0;
      // (a single sample is the start, as in torch and numpy)
      return num == 1 ? at::full_like(idx, start)
                      : at::where(idx < static_cast<double>(num / 2), idx * step + start,
                                  stop - (static_cast<double>(num - 1) - idx) * step);
    }
    const double step = num > 0 ? (stop - start) / static_cast<double>(num) : 0.0;
    return idx * step + start;
  });
  return finish(local, g, l, o);
}

DNDarray eye(int64_t n, int64_t m, const ArrayOptions& o) {
  if (m < 0) m = n;
  if (n < 0) throw ValueError(fmt::format("eye: negative size {}", n));
  const Shape g{n, m};
  Layout l = layout_for(g, o.split, o.communicator(), "eye");
  const auto opts = tensor_options(o, kDefaultDtype, "eye");
  const Chunk rows = l.split && *l.split == 0 ? l.mine : Chunk{0, n};
  const Chunk cols = l.split && *l.split == 1 ? l.mine : Chunk{0, m};
  // Local (i, j) is global (i + rows.offset, j + cols.offset): ones where j - i equals
  // rows.offset - cols.offset, written in place (no n x m temporary of another dtype).
  at::Tensor local = at::zeros({rows.count, cols.count}, opts);
  const int64_t diag = rows.offset - cols.offset;
  if (rows.count > 0 && cols.count > 0 && diag > -rows.count && diag < cols.count)
    local.diagonal(diag).fill_(1);
  return finish(local, g, l, o);
}

DNDarray random_uniform(const Shape& shape, uint64_t seed, double low, double high,
                        const ArrayOptions& o) {
  if (!(low <= high) || !std::isfinite(low) || !std::isfinite(high))
    throw ValueError(fmt::format("random.uniform: need finite low <= high (got {}, {})", low, high));
  Layout l = layout_for(shape, o.split, o.communicator(), "random.uniform");
  const Dtype dt = o.dtype.value_or(kDefaultDtype);
  if (dt != at::kFloat && dt != at::kDouble)
    throw TypeError(
        fmt::format("random.uniform: dtype must be float32 or float64, not {}", dtype_name(dt)));
  at::Tensor local = at::empty(l.lshape, at::TensorOptions().dtype(dt));
  const double span = high - low;
  if (dt == at::kFloat) {
    float* p = local.data_ptr<float>();
    for_each_run(shape, l, local.numel(), [&](int64_t k, uint64_t gi, int64_t n) {
      random::fill_uniform(seed, kStreamUniform, gi, n, low, span, p + k);
    });
  } else {
    double* p = local.data_ptr<double>();
    for_each_run(shape, l, local.numel(), [&](int64_t k, uint64_t gi, int64_t n) {
      random::fill_uniform(seed, kStreamUniform, gi, n, low, span, p + k);
    });
  }
  return finish(local, shape, l, o);
}

DNDarray random_normal(const Shape& shape, uint64_t seed, double mean, double std,
                       const ArrayOptions& o) {
  if (!(std >= 0) || !std::isfinite(std) || !std::isfinite(mean))
    throw ValueError(
        fmt::format("random.normal: need a finite mean and std >= 0 (got {}, {})", mean, std));
  Layout l = layout_for(shape, o.split, o.communicator(), "random.normal");
  const Dtype dt = o.dtype.value_or(kDefaultDtype);
  if (dt != at::kFloat && dt != at::kDouble)
    throw TypeError(
        fmt::format("random.normal: dtype must be float32 or float64, not {}", dtype_name(dt)));
  at::Tensor local = at::empty(l.lshape, at::TensorOptions().dtype(dt));
  // Box-Muller on pairs: elements 2p and 2p + 1 are r cos(t) and r sin(t) of pair p, with
  // r = sqrt(-2 log u1), t = 2 pi u2 (u1 in (0, 1]: log never sees 0). The transcendental
  // functions run as vectorised ATen kernels over a piece's pairs at once (log in float64;
  // cos and sin in the result's dtype).
  AT_DISPATCH_FLOATING_TYPES(dt, "random_normal", [&] {
    scalar_t* p = local.data_ptr<scalar_t>();
    for_each_run(shape, l, local.numel(), [&](int64_t k, uint64_t gi, int64_t n) {
      const uint64_t p0 = gi / 2;
      const int64_t np = static_cast<int64_t>((gi + static_cast<uint64_t>(n) - 1) / 2 - p0 + 1);
      at::Tensor u1 = at::empty({np}, at::kDouble), u2 = at::empty({np}, at::kDouble);
      random::fill_box_muller(seed, kStreamNormal, p0, np, u1.data_ptr<double>(), u2.data_ptr<double>());
      at::Tensor r = u1.log_().mul_(-2.0).sqrt_().mul_(std).to(dt);
      at::Tensor t = u2.mul_(2.0 * M_PI).to(dt);
      at::Tensor c = at::cos(t), sn = t.sin_();
      const scalar_t* rp = r.data_ptr<scalar_t>();
      const scalar_t* cp = c.data_ptr<scalar_t>();
      const scalar_t* sp = sn.data_ptr<scalar_t>();
      const auto mu = static_cast<scalar_t>(mean);
      const int64_t lead = static_cast<int64_t>(gi & 1);  // element gi is the odd one of its pair
      int64_t i = 0;
      if (lead) p[k + i++] = mu + rp[0] * sp[0];
      for (; i + 1 < n; i += 2) {
        const int64_t q = (i + lead) / 2;
        p[k + i] = mu + rp[q] * cp[q];
        p[k + i + 1] = mu + rp[q] * sp[q];
      }
      if (i < n) p[k + i] = mu + rp[(i + lead) / 2] * cp[(i + lead) / 2];
    });
  });
  return finish(local, shape, l, o);
}

int64_t random_normal_scratch_bytes(Dtype dtype, int64_t local_numel) {
  // u1, u2 (float64) and r, t, cos (the dtype) of a piece's pairs (a piece is at most
  // kRunPiece values), per thread that has a piece.
  if (local_numel <= 0) return 0;
  const int64_t pieces = (local_numel + kRunPiece - 1) / kRunPiece;
  const int64_t threads = std::min<int64_t>(at::get_num_threads(), pieces);
  const int64_t pairs = std::min(kRunPiece, local_numel) / 2 + 1;
  return threads * pairs * (16 + 3 * static_cast<int64_t>(c10::elementSize(dtype)));
}

DNDarray random_integers(const Shape& shape, uint64_t seed, int64_t low, int64_t high,
                         const ArrayOptions& o) {
  if (high <= low)
    throw ValueError(fmt::format("random.integers: need low < high (got {}, {})", low, high));
  Layout l = layout_for(shape, o.split, o.communicator(), "random.integers");
  const Dtype dt = o.dtype.value_or(at::kLong);
  if (!at::isIntegralType(dt, /*includeBool=*/false))
    throw TypeError(
        fmt::format("random.integers: dtype must be an integer type, not {}", dtype_name(dt)));
  // The range must fit the dtype.
  at::Tensor probe = at::tensor({low, high - 1}, at::kLong);
  if (!at::equal(probe.to(dt).to(at::kLong), probe))
    throw ValueError(
        fmt::format("random.integers: [{}, {}) does not fit dtype {}", low, high, dtype_name(dt)));
  // Written straight in the result's dtype (the range fits it).
  at::Tensor local = at::empty(l.lshape, at::TensorOptions().dtype(dt));
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  AT_DISPATCH_INTEGRAL_TYPES(dt, "random_integers", [&] {
    scalar_t* p = local.data_ptr<scalar_t>();
    for_each_run(shape, l, local.numel(), [&](int64_t k, uint64_t gi, int64_t n) {
      // 64 random bits per element, in place for 64-bit results, else through a buffer.
      uint64_t buf[1024];
      for (int64_t c0 = 0; c0 < n; c0 += 1024) {
        const int64_t m = std::min<int64_t>(1024, n - c0);
        uint64_t* bits = sizeof(scalar_t) == 8 ? reinterpret_cast<uint64_t*>(p + k + c0) : buf;
        random::fill_bits64(seed, kStreamIntegers, gi + static_cast<uint64_t>(c0), m, bits);
        // Lemire's multiply-shift maps x to [0, range) with negligible bias.
        for (int64_t j = 0; j < m; ++j) {
          const auto off =
              static_cast<uint64_t>((static_cast<unsigned __int128>(bits[j]) * range) >> 64);
          p[k + c0 + j] = static_cast<scalar_t>(static_cast<int64_t>(static_cast<uint64_t>(low) + off));
        }
      }
    });
  });
  return finish(local, shape, l, o);
}

DNDarray array(const at::Tensor& full, Split split, const ArrayOptions& o) {
  if (!full.defined()) throw ValueError("array: undefined tensor");
  const Shape g = full.sizes().vec();
  Layout l = layout_for(g, split, o.communicator(), "array");
  const Dtype dt = o.dtype.value_or(full.scalar_type());
  check_supported_dtype(dt, "array");
  at::Tensor local = l.split ? full.narrow(*l.split, l.mine.offset, l.mine.count) : full;
  local = local.to(at::TensorOptions().dtype(dt).device(at::kCPU), /*non_blocking=*/false, /*copy=*/true)
              .contiguous();
  return finish(local, g, l, o);
}

DNDarray array_from_blocks(const at::Tensor& local, int64_t is_split, const ArrayOptions& o) {
  const Communicator comm = o.communicator();
  if (!local.defined()) throw ValueError("array: undefined tensor");
  const int64_t nd = local.dim();
  const auto head = allgather_values(comm, {nd, static_cast<int64_t>(local.scalar_type())});
  for (int r = 0; r < comm.size(); ++r) {
    if (head[2 * static_cast<size_t>(r)] != head[0])
      throw ShapeError(fmt::format("array(is_split={}): rank 0 holds a {}-D block, rank {} a {}-D block",
                                   is_split, head[0], r, head[2 * static_cast<size_t>(r)]));
    if (head[2 * static_cast<size_t>(r) + 1] != head[1])
      throw TypeError(
          fmt::format("array(is_split={}): ranks 0 and {} hold blocks of different dtypes ({} and {})",
                      is_split, r, c10::toString(static_cast<Dtype>(head[1])),
                      c10::toString(static_cast<Dtype>(head[2 * static_cast<size_t>(r) + 1]))));
  }
  const int64_t s = normalize_axis(is_split, nd, "array");
  const auto shapes = allgather_values(comm, local.sizes().vec());
  std::vector<int64_t> counts(static_cast<size_t>(comm.size()));
  Shape g = local.sizes().vec();
  g[static_cast<size_t>(s)] = 0;
  for (int r = 0; r < comm.size(); ++r) {
    for (int64_t d = 0; d < nd; ++d) {
      const int64_t v = shapes[static_cast<size_t>(r * nd + d)], mine = shapes[static_cast<size_t>(d)];
      if (d != s && v != mine)
        throw ShapeError(
            fmt::format("array(is_split={}): blocks differ outside the split axis: rank 0 holds {}, "
                        "rank {} holds {}",
                        s, shape_str(Shape(shapes.begin(), shapes.begin() + nd)), r,
                        shape_str(Shape(shapes.begin() + r * nd, shapes.begin() + (r + 1) * nd))));
    }
    counts[static_cast<size_t>(r)] = shapes[static_cast<size_t>(r * nd + s)];
    g[static_cast<size_t>(s)] += counts[static_cast<size_t>(r)];
  }
  const Dtype dt = o.dtype.value_or(local.scalar_type());
  check_supported_dtype(dt, "array");
  DNDarray a(local.to(at::TensorOptions().dtype(dt).device(at::kCPU)).contiguous(), g, s, comm, counts);
  return o.device == DeviceKind::cpu ? a : to_device(a, o.device);
}

}  // namespace dnd
