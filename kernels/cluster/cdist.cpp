#include "kernels/cluster/cdist.h"

#include "src/core/communicator.h"
#include "src/core/error.h"
#include "src/core/manipulation.h"
#include "kernels/cluster/nearest_impl.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace dnd::cluster {

namespace {

// Row blocks of x whose slice of the result (rows x m) stays within this many bytes: the
// product and its epilogue then run in L2.
constexpr int64_t kBlockBytes = 256 * 1024;
// The exact path packs y in chunks of this many rows (their packed copy stays in L1/L2).
constexpr int64_t kExactChunkBytes = 32 * 1024;

void check(const DNDarray& x, const DNDarray& y) {
  auto where = [&] {
    return fmt::format("x gshape={} split={}, y gshape={} split={}", shape_str(x.gshape()),
                       split_str(x.split()), shape_str(y.gshape()), split_str(y.split()));
  };
  if (x.ndim() != 2 || y.ndim() != 2) throw ShapeError("cdist: x and y must be 2-D (" + where() + ")");
  if (x.gshape()[1] != y.gshape()[1])
    throw ShapeError("cdist: x and y must have the same number of columns (" + where() + ")");
  for (const DNDarray* a : {&x, &y}) {
    if (a->dtype() != at::kFloat && a->dtype() != at::kDouble)
      throw TypeError(fmt::format("cdist: operands must be float32 or float64, got {} ({})",
                                  dtype_name(a->dtype()), where()));
    if (a->device() != DeviceKind::cpu)
      throw TypeError("cdist: operands must be on the cpu (" + where() + ")");
  }
  if (x.comm().size() != y.comm().size())
    throw ValueError("cdist: x and y live on communicators of different sizes (" + where() + ")");
}

// Distances of the rows of x (n x d) to the rows of y (m x d) into out (row stride ldo).
template <typename T>
void block_dist(const at::Tensor& x, const at::Tensor& y, T* out, int64_t ldo, const CdistOptions& o) {
  const int64_t n = x.size(0), m = y.size(0), d = x.size(1);
  if (n == 0 || m == 0) return;
  const T* xp = x.data_ptr<T>();
  const bool root = !o.squared;
  const int64_t rows =
      std::clamp<int64_t>(kBlockBytes / std::max<int64_t>(1, m * static_cast<int64_t>(sizeof(T))), 8,
                          std::max<int64_t>(n, 8));
  if (o.method == CdistMethod::exact) {
    const int64_t chunk = std::max<int64_t>(
        detail::kLanes, kExactChunkBytes / std::max<int64_t>(1, d * static_cast<int64_t>(sizeof(T))) /
                            detail::kLanes * detail::kLanes);
    std::vector<detail::PackedCenters<T>> packs;
    for (int64_t j = 0; j < m; j += chunk)
      packs.push_back(detail::pack_centers(y.data_ptr<T>() + j * d, std::min(chunk, m - j), d));
    const int64_t blocks = (n + rows - 1) / rows;
    at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t i = b * rows, nb = std::min(rows, n - i);
        for (size_t c = 0; c < packs.size(); ++c)
          detail::sqdist_exact(xp + i * d, nb, packs[c], out + i * ldo + static_cast<int64_t>(c) * chunk,
                               ldo, root);
      }
    });
    return;
  }
  const at::Tensor yn = at::empty({m}, x.options());
  detail::row_sqnorms(y.data_ptr<T>(), m, d, yn.data_ptr<T>());
  const at::Tensor yt = y.t();
  const int64_t blocks = (n + rows - 1) / rows;
  // Row blocks are independent: in parallel over torch's threads (each product then runs
  // on one thread).
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<T> xn(static_cast<size_t>(rows));
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t i = b * rows, nb = std::min(rows, n - i);
      at::Tensor g = at::from_blob(out + i * ldo, {nb, m}, {ldo, 1}, x.options());
      at::mm_out(g, x.narrow(0, i, nb), yt);
      detail::row_sqnorms(xp + i * d, nb, d, xn.data());
      detail::gram_to_dist(out + i * ldo, nb, m, ldo, xn.data(), yn.data_ptr<T>(), root);
    }
  });
}

template <typename T>
at::Tensor local_dist(const at::Tensor& x, const at::Tensor& y, const CdistOptions& o) {
  at::Tensor out = at::empty({x.size(0), y.size(0)}, x.options());
  block_dist<T>(x, y, out.data_ptr<T>(), y.size(0), o);
  return out;
}

// x split 0, y split 0: rank r computes the columns of the y block it holds, then passes
// the block on to rank r+1 and receives the next one from rank r-1 (p - 1 steps).
template <typename T>
at::Tensor ring_dist(const at::Tensor& xl, const DNDarray& y, const at::Tensor& yl,
                     const CdistOptions& o) {
  const Communicator& comm = y.comm();
  const int p = comm.size(), r = comm.rank();
  const int64_t m = y.gshape()[0], d = y.gshape()[1];
  const std::vector<int64_t>& counts = y.counts();
  const std::vector<int64_t> offsets = counts_to_offsets(counts);
  at::Tensor out = at::empty({xl.size(0), m}, xl.options());
  at::Tensor cur = yl;
  for (int step = 0; step < p; ++step) {
    const int q = (r - step + p) % p;  // whose block `cur` is
    block_dist<T>(xl, cur, out.data_ptr<T>() + offsets[q], m, o);
    if (step == p - 1) break;
    const int from = (r - 1 + p) % p, to = (r + 1) % p;
    const int nq = (q - 1 + p) % p;  // the block arriving from `from`
    std::vector<at::Tensor> sends(static_cast<size_t>(p)), recvs(static_cast<size_t>(p));
    at::Tensor incoming = at::empty({counts[nq], d}, xl.options());
    sends[to] = cur;
    recvs[from] = incoming;
    exchange(comm, sends, recvs);
    cur = incoming;
  }
  return out;
}

template <typename T>
DNDarray cdist_t(const DNDarray& x0, const DNDarray& y0, const CdistOptions& o) {
  const Dtype dt = c10::CppTypeToScalarType<T>::value;
  // Features-split operands move to row splits; both sides get the result's dtype.
  const DNDarray x = x0.split() == Split(1) ? resplit(x0, 0) : x0;
  const DNDarray y = y0.split() == Split(1) ? resplit(y0, 0) : y0;
  const at::Tensor xl = x.larray().to(dt).contiguous(), yl = y.larray().to(dt).contiguous();
  const Shape g{x.gshape()[0], y.gshape()[0]};
  if (x.split() && y.split())
    return DNDarray(ring_dist<T>(xl, y, yl, o), g, Split(0), x.comm(), x.counts());
  at::Tensor out = local_dist<T>(xl, yl, o);
  if (x.split()) return DNDarray(out, g, Split(0), x.comm(), x.counts());
  if (y.split()) return DNDarray(out, g, Split(1), x.comm(), y.counts());
  return DNDarray(out, g, kReplicated, x.comm());
}

}  // namespace

DNDarray cdist(const DNDarray& x, const DNDarray& y, const CdistOptions& options) {
  check(x, y);
  const bool wide = x.dtype() == at::kDouble || y.dtype() == at::kDouble;
  return wide ? cdist_t<double>(x, y, options) : cdist_t<float>(x, y, options);
}

}  // namespace dnd::cluster
