// Metadata-only planning of matmul, qr and svd (see plan.h). No data, no MPI.
#include "kernels/linalg/plan.h"

#include "src/core/distribution.h"
#include "src/core/error.h"
#include "kernels/linalg/plan_impl.h"
#include "src/core/comm_count.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <numeric>

namespace dnd::linalg {

namespace detail {

namespace {

std::vector<int64_t> counts_or_balanced(const std::vector<int64_t>& counts, const Shape& shape,
                                        Split split, int nranks) {
  if (!split) return {};
  if (!counts.empty()) return counts;
  return balanced_counts(shape[static_cast<size_t>(*split)], nranks);
}

// Bytes of block q when an operand of `numel` elements is cut along an axis by `counts`.
int64_t block_bytes(int64_t numel, const std::vector<int64_t>& counts, int q, int64_t itemsize) {
  const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  return total == 0 ? 0 : numel / total * counts[static_cast<size_t>(q)] * itemsize;
}

}  // namespace

int64_t recut_bytes(const std::vector<int64_t>& from, const std::vector<int64_t>& to, int r,
                    int64_t per_index) {
  const auto fo = counts_to_offsets(from), too = counts_to_offsets(to);
  const auto i = static_cast<size_t>(r);
  const int64_t lo = std::max(fo[i], too[i]), hi = std::min(fo[i] + from[i], too[i] + to[i]);
  return (from[i] - std::max<int64_t>(0, hi - lo)) * per_index;
}

std::vector<int64_t> bcast_bytes(int nranks, int root, int64_t bytes) {
  std::vector<int64_t> out(static_cast<size_t>(nranks), 0);
  for (int r = 0; r < nranks; ++r)
    out[static_cast<size_t>(r)] = binomial_children(nranks, root, r) * bytes;
  return out;
}

std::vector<int64_t> allreduce_bytes(int nranks, int64_t numel, int64_t itemsize) {
  std::vector<int64_t> out(static_cast<size_t>(nranks), 0);
  for (int r = 0; r < nranks; ++r)
    out[static_cast<size_t>(r)] = allreduce_rank_bytes(numel, itemsize, nranks, r);
  return out;
}

MatmulGeom matmul_geometry(const Shape& a, Split sa, const Shape& b, Split sb, bool outer,
                           const char* op) {
  MatmulGeom g;
  auto norm = [&](Split s, const Shape& shape, const char* name) -> Split {
    if (!s) return s;
    if (shape.empty() || *s < -static_cast<int64_t>(shape.size()) ||
        *s >= static_cast<int64_t>(shape.size()))
      throw ValueError(fmt::format("{}: split {} of {} is out of range for its shape {}", op, *s, name,
                                   shape_str(shape)));
    return *s < 0 ? *s + static_cast<int64_t>(shape.size()) : *s;
  };
  if (outer) {
    if (a.size() != 1 || b.size() != 1)
      throw ShapeError(
          fmt::format("{}: needs two 1-D arrays, got shapes {} and {}", op, shape_str(a), shape_str(b)));
    sa = norm(sa, a, "a");
    sb = norm(sb, b, "b");
    g.pa = {a[0], 1};
    g.pb = {1, b[0]};
    g.n = a[0], g.k = 1, g.m = b[0];
    g.ra = sa ? Role::row : Role::none;
    g.rb = sb ? Role::col : Role::none;
    g.axis_a = sa ? 0 : -1;
    g.axis_b = sb ? 1 : -1;
    g.full_shape = g.shape = {g.n, g.m};
  } else {
    if (a.empty() || b.empty())
      throw ShapeError(fmt::format("{}: operands must have at least one axis, got shapes {} and {}", op,
                                   shape_str(a), shape_str(b)));
    sa = norm(sa, a, "a");
    sb = norm(sb, b, "b");
    g.vec_a = a.size() == 1;
    g.vec_b = b.size() == 1;
    g.pa = g.vec_a ? Shape{1, a[0]} : a;
    g.pb = g.vec_b ? Shape{b[0], 1} : b;
    const size_t na = g.pa.size(), nb = g.pb.size();
    g.n = g.pa[na - 2], g.k = g.pa[na - 1], g.m = g.pb[nb - 1];
    if (g.pb[nb - 2] != g.k)
      throw ShapeError(
          fmt::format("{}: shapes {} and {} do not match: a has {} columns but b has {} rows", op,
                      shape_str(a), shape_str(b), g.k, g.pb[nb - 2]));
    const size_t nba = na - 2, nbb = nb - 2, nbc = std::max(nba, nbb);
    g.batch.assign(nbc, 1);
    for (size_t i = 0; i < nbc; ++i) {
      const int64_t ea = i + nba >= nbc ? g.pa[i + nba - nbc] : 1,
                    eb = i + nbb >= nbc ? g.pb[i + nbb - nbc] : 1;
      if (ea != eb && ea != 1 && eb != 1)
        throw ShapeError(fmt::format("{}: batch axes of {} and {} do not broadcast ({} against {})", op,
                                     shape_str(a), shape_str(b), ea, eb));
      g.batch[i] = ea == 1 ? eb : ea;
    }
    auto role = [&](Split s, size_t nd, size_t nbself, bool vec, bool is_a, int64_t& axis,
                    int64_t& baxis) {
      if (!s) return Role::none;
      if (vec) {
        axis = is_a ? 1 : 0;
        return is_a ? Role::col : Role::row;
      }
      axis = *s;
      if (*s == static_cast<int64_t>(nd) - 2) return Role::row;
      if (*s == static_cast<int64_t>(nd) - 1) return Role::col;
      baxis = *s + static_cast<int64_t>(nbc - nbself);
      return Role::batch;
    };
    g.ra = role(sa, na, nba, g.vec_a, true, g.axis_a, g.batch_axis_a);
    g.rb = role(sb, nb, nbb, g.vec_b, false, g.axis_b, g.batch_axis_b);
    g.full_shape = g.batch;
    g.full_shape.push_back(g.n);
    g.full_shape.push_back(g.m);
    g.shape = g.batch;
    if (!g.vec_a) g.shape.push_back(g.n);
    if (!g.vec_b) g.shape.push_back(g.m);
  }
  const int64_t nbc = static_cast<int64_t>(g.batch.size());
  auto check_batch = [&](Role r, const Shape& p, int64_t axis, int64_t baxis, const char* name) {
    if (r == Role::batch && p[static_cast<size_t>(axis)] != g.full_shape[static_cast<size_t>(baxis)])
      throw ValueError(fmt::format(
          "{}: {} is split along its batch axis {} of extent {}, which broadcasts to {}; "
          "split it along another axis",
          op, name, axis, p[static_cast<size_t>(axis)], g.full_shape[static_cast<size_t>(baxis)]));
  };
  check_batch(g.ra, g.pa, g.axis_a, g.batch_axis_a, "a");
  check_batch(g.rb, g.pb, g.axis_b, g.batch_axis_b, "b");
  if (g.ra == Role::batch)
    g.full_split = g.batch_axis_a;
  else if (g.rb == Role::batch)
    g.full_split = g.batch_axis_b;
  else if (g.ra == Role::row)
    g.full_split = nbc;
  else if (g.rb == Role::col)
    g.full_split = nbc + 1;
  else if (g.ra == Role::col)
    g.full_split = !g.vec_a ? nbc : (!g.vec_b ? nbc + 1 : -1);
  else if (g.rb == Role::row)
    g.full_split = !g.vec_b ? nbc + 1 : (!g.vec_a ? nbc : -1);
  if (g.full_split >= 0) g.split = g.full_split - (g.vec_a && g.full_split > nbc ? 1 : 0);
  return g;
}

MatmulDecision decide_matmul(const Shape& a, Split sa, const std::vector<int64_t>& counts_a_in,
                             const Shape& b, Split sb, const std::vector<int64_t>& counts_b_in,
                             int nranks, Dtype da, Dtype db, bool outer) {
  const char* op = outer ? "outer" : "matmul";
  if (da == c10::ScalarType::Bool || db == c10::ScalarType::Bool)
    throw TypeError(fmt::format("{}: bool operands are not supported (convert with astype)", op));
  check_supported_dtype(da, op);
  check_supported_dtype(db, op);
  MatmulDecision d;
  d.g = matmul_geometry(a, sa, b, sb, outer, op);
  const MatmulGeom& g = d.g;
  MatmulPlan& plan = d.plan;
  plan.shape = g.shape;
  plan.split = g.split;
  plan.dtype = c10::promoteTypes(da, db);
  const int64_t s = static_cast<int64_t>(c10::elementSize(plan.dtype));
  const int p = nranks;
  plan.bytes_sent.assign(static_cast<size_t>(p), 0);
  // Counts in terms of the promoted operands' split axes.
  const Split psa = g.ra == Role::none ? kReplicated : Split(g.axis_a);
  const Split psb = g.rb == Role::none ? kReplicated : Split(g.axis_b);
  const std::vector<int64_t> ca = counts_or_balanced(counts_a_in, g.pa, psa, p);
  const std::vector<int64_t> cb = counts_or_balanced(counts_b_in, g.pb, psb, p);
  const int64_t numel_a = shape_numel(g.pa) * s, numel_b = shape_numel(g.pb) * s;  // bytes
  const int64_t numel_c = shape_numel(g.full_shape) * s;
  const size_t nbc = g.batch.size();

  if (g.ra == Role::batch || g.rb == Role::batch) {
    const bool x_is_a = g.ra == Role::batch;
    const int64_t ax = x_is_a ? g.batch_axis_a : g.batch_axis_b;
    const std::vector<int64_t>& cx = x_is_a ? ca : cb;
    const Shape& po = x_is_a ? g.pb : g.pa;
    const Role ro = x_is_a ? g.rb : g.ra;
    const int64_t oaxis = x_is_a ? g.axis_b : g.axis_a;
    const std::vector<int64_t>& co = x_is_a ? cb : ca;
    const int64_t own_ax =
        ax - static_cast<int64_t>(nbc - (po.size() - 2));  // the axis in the other operand
    const int64_t extent = g.full_shape[static_cast<size_t>(ax)];
    plan.algorithm = MatmulAlgorithm::local;
    d.out_counts = cx;
    if (ro != Role::none && !(ro == Role::batch && oaxis == own_ax && co == cx)) {
      if ((own_ax < 0 || po[static_cast<size_t>(own_ax)] != extent) &&
          (ro == Role::row || ro == Role::col)) {
        // The other operand broadcasts along the batch axis: its blocks travel round the ring.
        plan.algorithm = p > 1 ? (x_is_a ? MatmulAlgorithm::ring_b : MatmulAlgorithm::ring_a)
                               : MatmulAlgorithm::local;
        const int64_t onumel = x_is_a ? numel_b : numel_a;
        if (p > 1)
          for (int r = 0; r < p; ++r)
            plan.bytes_sent[static_cast<size_t>(r)] =
                onumel - block_bytes(onumel / s, co, (r + p - 1) % p, s);
        return d;
      }
      if (own_ax < 0 || po[static_cast<size_t>(own_ax)] != extent)
        throw ValueError(
            fmt::format("{}: {} is split along batch axis {} but {} (shape {}, split {}) broadcasts "
                        "along it; make {} replicated "
                        "or split it along the same batch axis or a matrix axis",
                        op, x_is_a ? "a" : "b", x_is_a ? g.axis_a : g.axis_b, x_is_a ? "b" : "a",
                        shape_str(po), oaxis, x_is_a ? "b" : "a"));
      (x_is_a ? d.align_b : d.align_a) = true;
      plan.aligns_b = x_is_a;
      d.align_axis = own_ax;
      d.align_counts = cx;
      const int64_t onumel = x_is_a ? numel_b : numel_a;
      const int64_t ototal = po[static_cast<size_t>(oaxis)];
      for (int r = 0; r < p; ++r) {
        int64_t bytes = 0;
        if (oaxis == own_ax)
          bytes = recut_bytes(co, cx, r, ototal == 0 ? 0 : onumel / ototal);
        else if (ototal > 0 && extent > 0)
          bytes = onumel / (ototal * extent) * co[static_cast<size_t>(r)] *
                  (extent - cx[static_cast<size_t>(r)]);
        plan.bytes_sent[static_cast<size_t>(r)] = bytes;
      }
    }
    return d;
  }

  auto prev = [p](int r) { return (r + p - 1) % p; };
  if (g.ra == Role::none && g.rb == Role::none) {
    plan.algorithm = MatmulAlgorithm::local;
  } else if (g.ra == Role::row) {
    d.out_counts = ca;
    if (g.rb == Role::none) {
      plan.algorithm = MatmulAlgorithm::local;
    } else {
      plan.algorithm = p > 1 ? MatmulAlgorithm::ring_b : MatmulAlgorithm::local;
      if (p > 1)
        for (int r = 0; r < p; ++r)
          plan.bytes_sent[static_cast<size_t>(r)] = numel_b - block_bytes(numel_b / s, cb, prev(r), s);
    }
  } else if (g.rb == Role::col) {
    d.out_counts = cb;
    if (g.ra == Role::none) {
      plan.algorithm = MatmulAlgorithm::local;
    } else {
      plan.algorithm = p > 1 ? MatmulAlgorithm::ring_a : MatmulAlgorithm::local;
      if (p > 1)
        for (int r = 0; r < p; ++r)
          plan.bytes_sent[static_cast<size_t>(r)] = numel_a - block_bytes(numel_a / s, ca, prev(r), s);
    }
  } else {
    // Only the contraction axis is split (a's columns, b's rows, or both).
    std::vector<int64_t> align(static_cast<size_t>(p), 0);
    if (g.ra == Role::col && g.rb == Role::row && ca != cb) {
      d.align_b = plan.aligns_b = true;
      d.align_axis = static_cast<int64_t>(g.pb.size()) - 2;
      d.align_counts = ca;
      for (int r = 0; r < p; ++r)
        align[static_cast<size_t>(r)] = recut_bytes(cb, ca, r, g.k == 0 ? 0 : numel_b / g.k);
    }
    if (g.full_split < 0) {  // dot product of vectors
      plan.algorithm = MatmulAlgorithm::allreduce;
      const auto ar = allreduce_bytes(p, numel_c / s, s);
      for (int r = 0; r < p; ++r)
        plan.bytes_sent[static_cast<size_t>(r)] =
            align[static_cast<size_t>(r)] + ar[static_cast<size_t>(r)];
      return d;
    }
    const int64_t ext = g.full_shape[static_cast<size_t>(g.full_split)];
    d.out_counts = balanced_counts(ext, p);
    d.reduce_axis = g.full_split;
    std::vector<int64_t> rs(static_cast<size_t>(p), 0), alt(static_cast<size_t>(p), 0);
    for (int r = 0; r < p; ++r)
      rs[static_cast<size_t>(r)] =
          p > 1 ? align[static_cast<size_t>(r)] + numel_c - block_bytes(numel_c / s, d.out_counts, r, s)
                : 0;
    MatmulAlgorithm other = MatmulAlgorithm::reduce_scatter;
    const int64_t row = static_cast<int64_t>(nbc), col = row + 1;
    if (g.ra == Role::col && g.rb == Role::none && g.full_split == row) {
      other = MatmulAlgorithm::resplit_a;  // a's columns -> rows, then local
      for (int r = 0; r < p; ++r)
        alt[static_cast<size_t>(r)] =
            block_bytes(numel_a / s, ca, r, s) -
            (g.n == 0 ? 0
                      : block_bytes(numel_a / s, ca, r, s) / g.n * d.out_counts[static_cast<size_t>(r)]);
    } else if (g.ra == Role::none && g.rb == Role::row && g.full_split == col) {
      other = MatmulAlgorithm::resplit_b;  // b's rows -> columns, then local
      for (int r = 0; r < p; ++r)
        alt[static_cast<size_t>(r)] =
            block_bytes(numel_b / s, cb, r, s) -
            (g.m == 0 ? 0
                      : block_bytes(numel_b / s, cb, r, s) / g.m * d.out_counts[static_cast<size_t>(r)]);
    }
    const int64_t max_rs = *std::max_element(rs.begin(), rs.end()),
                  max_alt = *std::max_element(alt.begin(), alt.end());
    if (p == 1) {
      plan.algorithm = MatmulAlgorithm::local;
    } else if (other != MatmulAlgorithm::reduce_scatter && max_alt <= max_rs) {
      plan.algorithm = other;
      plan.bytes_sent = alt;
    } else {
      plan.algorithm = MatmulAlgorithm::reduce_scatter;
      plan.bytes_sent = rs;
    }
    if (plan.algorithm != MatmulAlgorithm::reduce_scatter) d.align_b = plan.aligns_b = false;
    return d;
  }
  return d;
}

}  // namespace detail

using detail::decide_matmul;

std::string algorithm_name(MatmulAlgorithm a) {
  switch (a) {
    case MatmulAlgorithm::local:
      return "local";
    case MatmulAlgorithm::ring_b:
      return "ring_b";
    case MatmulAlgorithm::ring_a:
      return "ring_a";
    case MatmulAlgorithm::reduce_scatter:
      return "reduce_scatter";
    case MatmulAlgorithm::resplit_a:
      return "resplit_a";
    case MatmulAlgorithm::resplit_b:
      return "resplit_b";
    case MatmulAlgorithm::allreduce:
      return "allreduce";
  }
  return "?";
}

namespace {

int64_t max_of(const std::vector<int64_t>& v) {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}

std::string mib(int64_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
}

}  // namespace

int64_t MatmulPlan::max_bytes_sent() const { return max_of(bytes_sent); }
int64_t MatmulPlan::total_bytes_sent() const {
  return std::accumulate(bytes_sent.begin(), bytes_sent.end(), int64_t{0});
}
std::string MatmulPlan::describe() const {
  return fmt::format("{}: {} {} split {}, at most {} sent per rank", algorithm_name(algorithm),
                     dtype_name(dtype), shape_str(shape), split_str(split), mib(max_bytes_sent()));
}

MatmulPlan plan_matmul(const Shape& a, Split sa, const Shape& b, Split sb, int nranks, Dtype da,
                       Dtype db) {
  return decide_matmul(a, sa, {}, b, sb, {}, nranks, da, db, false).plan;
}
MatmulPlan plan_matmul(const Shape& a, Split sa, const std::vector<int64_t>& counts_a, const Shape& b,
                       Split sb, const std::vector<int64_t>& counts_b, int nranks, Dtype da, Dtype db) {
  return decide_matmul(a, sa, counts_a, b, sb, counts_b, nranks, da, db, false).plan;
}
MatmulPlan plan_outer(const Shape& a, Split sa, const Shape& b, Split sb, int nranks, Dtype da,
                      Dtype db) {
  return decide_matmul(a, sa, {}, b, sb, {}, nranks, da, db, true).plan;
}

// ---- QR ---------------------------------------------------------------------------------

std::string algorithm_name(QrAlgorithm a) {
  switch (a) {
    case QrAlgorithm::local:
      return "local";
    case QrAlgorithm::cholesky_qr2:
      return "cholesky_qr2";
    case QrAlgorithm::householder_panels:
      return "householder_panels";
  }
  return "?";
}

int64_t QrPlan::max_bytes_sent() const { return max_of(bytes_sent); }
std::string QrPlan::describe() const {
  return fmt::format("{}{}: Q {} split {}, R {} split {}, at most {} sent per rank",
                     algorithm_name(algorithm), resplits ? " (via split 1)" : "", shape_str(q_shape),
                     split_str(q_split), shape_str(r_shape), split_str(r_split), mib(max_bytes_sent()));
}

namespace {

void check_factor_input(const Shape& a, Split& split, Dtype dtype, const char* op) {
  if (a.size() != 2)
    throw ShapeError(fmt::format("{}: needs a 2-D array, got shape {}", op, shape_str(a)));
  if (dtype != c10::ScalarType::Float && dtype != c10::ScalarType::Double)
    throw TypeError(fmt::format("{}: needs float32 or float64, got {} (convert with astype)", op,
                                dtype_name(dtype)));
  if (split) {
    if (*split < -2 || *split > 1)
      throw ValueError(
          fmt::format("{}: split {} is out of range for shape {}", op, *split, shape_str(a)));
    if (*split < 0) *split += 2;
  }
}

// Householder over column panels of an m x n array split 1 with `counts` columns per rank.
std::vector<int64_t> panel_bytes(int64_t m, int64_t n, const std::vector<int64_t>& counts, int64_t s,
                                 bool form_q) {
  const int p = static_cast<int>(counts.size());
  std::vector<int64_t> out(static_cast<size_t>(p), 0);
  const auto offs = counts_to_offsets(counts);
  for (int q = 0; q < p; ++q) {
    const int64_t o = offs[static_cast<size_t>(q)], c = counts[static_cast<size_t>(q)];
    const int64_t refl = std::min(c, std::max<int64_t>(0, m - o));
    if (refl == 0) continue;
    const auto b = detail::bcast_bytes(p, q, ((m - o) * c + refl) * s);
    for (int r = 0; r < p; ++r)
      out[static_cast<size_t>(r)] += b[static_cast<size_t>(r)] * (form_q ? 2 : 1);
  }
  // R's columns are allgathered.
  const int64_t kk = std::min(m, n);
  for (int r = 0; r < p; ++r)
    out[static_cast<size_t>(r)] += kk * counts[static_cast<size_t>(r)] * s * (p - 1);
  return out;
}

}  // namespace

QrPlan plan_qr(const Shape& a, Split split, int nranks, Dtype dtype, QrMode mode) {
  check_factor_input(a, split, dtype, "qr");
  const int64_t m = a[0], n = a[1], kk = std::min(m, n),
                s = static_cast<int64_t>(c10::elementSize(dtype));
  const int p = nranks;
  QrPlan plan;
  plan.dtype = dtype;
  plan.r_shape = {kk, n};
  plan.r_split = kReplicated;
  if (mode == QrMode::reduced) {
    plan.q_shape = {m, kk};
    plan.q_split = split;
  }
  plan.bytes_sent.assign(static_cast<size_t>(p), 0);
  if (!split || p == 1) {
    plan.algorithm = split && *split == 0 && m >= n ? QrAlgorithm::cholesky_qr2
                     : split                        ? QrAlgorithm::householder_panels
                                                    : QrAlgorithm::local;
    return plan;
  }
  if (*split == 0 && m >= n) {
    plan.algorithm = QrAlgorithm::cholesky_qr2;
    const auto ar = detail::allreduce_bytes(p, n * n, s);
    const auto bc = detail::bcast_bytes(p, 0, (n * n + 1) * s);  // R and a status flag
    for (int r = 0; r < p; ++r)
      plan.bytes_sent[static_cast<size_t>(r)] =
          2 * (ar[static_cast<size_t>(r)] + bc[static_cast<size_t>(r)]);
    return plan;
  }
  plan.algorithm = QrAlgorithm::householder_panels;
  const auto cols = balanced_counts(n, p);
  plan.bytes_sent = panel_bytes(m, n, cols, s, mode == QrMode::reduced);
  if (*split == 0) {  // resplit a to 1 and Q back to 0
    plan.resplits = true;
    const auto rows = balanced_counts(m, p), qcols = balanced_counts(kk, p);
    for (int r = 0; r < p; ++r) {
      const auto i = static_cast<size_t>(r);
      plan.bytes_sent[i] += rows[i] * (n - cols[i]) * s;
      if (mode == QrMode::reduced) plan.bytes_sent[i] += qcols[i] * (m - rows[i]) * s;
    }
  }
  return plan;
}

// ---- SVD --------------------------------------------------------------------------------

std::string method_name(SvdMethod m) {
  switch (m) {
    case SvdMethod::automatic:
      return "auto";
    case SvdMethod::tsqr:
      return "tsqr";
    case SvdMethod::hsvd:
      return "hsvd";
    case SvdMethod::randomized:
      return "randomized";
  }
  return "?";
}

SvdMethod parse_svd_method(const std::string& name) {
  for (SvdMethod m : {SvdMethod::automatic, SvdMethod::tsqr, SvdMethod::hsvd, SvdMethod::randomized})
    if (method_name(m) == name) return m;
  throw ValueError(fmt::format("svd: unknown method '{}' (auto, tsqr, hsvd, randomized)", name));
}

int64_t SvdPlan::max_bytes_sent() const { return max_of(bytes_sent); }
std::string SvdPlan::describe() const {
  return fmt::format("{}: U {} split {}, S {}, V {} split {}, about {} sent per rank",
                     method_name(method), shape_str(u_shape), split_str(u_split), shape_str(s_shape),
                     shape_str(v_shape), split_str(v_split), mib(max_bytes_sent()));
}

SvdPlan plan_svd(const Shape& a, Split split, int nranks, Dtype dtype, const SvdOptions& o) {
  check_factor_input(a, split, dtype, "svd");
  if (o.rank < 0) throw ValueError(fmt::format("svd: rank must be >= 0, got {}", o.rank));
  if (o.rtol && !(*o.rtol > 0 && *o.rtol < 1))
    throw ValueError(fmt::format("svd: rtol must lie in (0, 1), got {}", *o.rtol));
  if (o.oversample < 0 || o.power_iterations < 0)
    throw ValueError(fmt::format("svd: oversample and power_iterations must be >= 0, got {} and {}",
                                 o.oversample, o.power_iterations));
  const int64_t m = a[0], n = a[1], kk = std::min(m, n),
                s = static_cast<int64_t>(c10::elementSize(dtype));
  const int p = nranks;
  SvdPlan plan;
  plan.dtype = dtype;
  plan.method = o.method;
  if (plan.method == SvdMethod::automatic)
    plan.method = o.rtol                            ? SvdMethod::hsvd
                  : (o.rank > 0 && o.rank < kk / 2) ? SvdMethod::randomized
                                                    : SvdMethod::tsqr;
  if (plan.method == SvdMethod::randomized && o.rank == 0)
    throw ValueError("svd: method randomized needs a rank > 0");
  if (plan.method == SvdMethod::hsvd && o.rank == 0 && !o.rtol)
    throw ValueError("svd: method hsvd needs a rank > 0 or an rtol");
  const int64_t r = o.rank > 0 ? std::min(o.rank, kk) : kk;
  plan.s_shape = {r};
  plan.s_split = kReplicated;
  if (o.compute_uv) {
    plan.u_shape = {m, r};
    plan.v_shape = {n, r};
    if (split) {
      // The long factor is split along its rows, the short one replicated; hsvd splits the
      // factor along a's split axis.
      const bool u_long = plan.method == SvdMethod::hsvd ? *split == 0 : m >= n;
      plan.u_split = u_long ? Split(0) : kReplicated;
      plan.v_split = u_long ? kReplicated : Split(0);
    }
  }
  plan.bytes_sent.assign(static_cast<size_t>(p), 0);
  if (!split || p == 1) return plan;
  auto add = [&](const std::vector<int64_t>& v) {
    for (size_t i = 0; i < v.size(); ++i) plan.bytes_sent[i] += v[i];
  };
  if (plan.method == SvdMethod::tsqr) {
    const bool tall = m >= n;
    const Shape at = tall ? a : Shape{n, m};
    const Split st = tall ? split : Split(1 - *split);
    add(plan_qr(at, st, p, dtype, o.compute_uv ? QrMode::reduced : QrMode::r).bytes_sent);
    // Rank 0's small SVD goes to everyone: S (and U_R, V^T in full, before the rank cut),
    // each after its shape (three int64).
    add(detail::bcast_bytes(p, 0, kk * s + 3 * 8));
    if (o.compute_uv) {
      add(plan_matmul({at[0], kk}, st, {kk, r}, kReplicated, p, dtype, dtype).bytes_sent);
      add(detail::bcast_bytes(p, 0, (kk * kk + kk * at[1]) * s + 2 * 3 * 8));
    }
  } else if (plan.method == SvdMethod::hsvd) {
    // Every rank but the root sends its merged vectors once up the tree; the root broadcasts.
    const int64_t dim = *split == 0 ? n : m, keep = std::min(r + o.oversample, std::min(dim, kk));
    for (int q = 1; q < p; ++q) plan.bytes_sent[static_cast<size_t>(q)] += dim * keep * s;
    add(detail::bcast_bytes(p, 0, (dim * r + r) * s));
  } else {
    const int64_t l = std::min(r + o.oversample, kk);
    const Split sy = Split(0);
    add(plan_matmul(a, split, {n, l}, kReplicated, p, dtype, dtype).bytes_sent);
    for (int64_t i = 0; i <= o.power_iterations; ++i) add(plan_qr({m, l}, sy, p, dtype).bytes_sent);
    for (int64_t i = 0; i < o.power_iterations; ++i) {
      add(plan_matmul({n, m}, Split(1 - *split), {m, l}, sy, p, dtype, dtype).bytes_sent);
      add(plan_qr({n, l}, sy, p, dtype).bytes_sent);
      add(plan_matmul(a, split, {n, l}, sy, p, dtype, dtype).bytes_sent);
    }
    add(plan_matmul({l, m}, Split(1), a, split, p, dtype, dtype).bytes_sent);
  }
  return plan;
}

}  // namespace dnd::linalg
