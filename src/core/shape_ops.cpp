#include "core/shape_ops.h"

#include "core/error.h"
#include "core/manipulation.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

namespace dnd {

DNDarray transpose(const DNDarray& a, const std::vector<int64_t>& axes) {
  const int64_t nd = a.ndim();
  std::vector<int64_t> perm;
  if (axes.empty()) {
    for (int64_t d = nd - 1; d >= 0; --d) perm.push_back(d);
  } else {
    if (static_cast<int64_t>(axes.size()) != nd)
      throw ValueError(fmt::format("transpose: axes ({}) don't match an array of shape {}", fmt::join(axes, ", "),
                                   shape_str(a.gshape())));
    for (int64_t ax : axes) perm.push_back(normalize_axis(ax, nd, "transpose"));
    std::vector<int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      throw ValueError(fmt::format("transpose: repeated axis in ({})", fmt::join(axes, ", ")));
  }
  Shape g;
  Split split;
  for (int64_t i = 0; i < nd; ++i) {
    g.push_back(a.gshape()[static_cast<size_t>(perm[static_cast<size_t>(i)])]);
    if (a.split() && perm[static_cast<size_t>(i)] == *a.split()) split = i;
  }
  return DNDarray(a.larray().permute(perm).contiguous(), g, split, a.comm(), a.counts());
}

DNDarray swapaxes(const DNDarray& a, int64_t axis1, int64_t axis2) {
  const int64_t i = normalize_axis(axis1, a.ndim(), "swapaxes"), j = normalize_axis(axis2, a.ndim(), "swapaxes");
  std::vector<int64_t> perm(static_cast<size_t>(a.ndim()));
  for (int64_t d = 0; d < a.ndim(); ++d) perm[static_cast<size_t>(d)] = d;
  std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]);
  return transpose(a, perm);
}

DNDarray expand_dims(const DNDarray& a, int64_t axis) {
  const int64_t ax = normalize_axis(axis, a.ndim() + 1, "expand_dims");
  Shape g = a.gshape();
  g.insert(g.begin() + ax, 1);
  Split split = a.split();
  if (split && *split >= ax) split = *split + 1;
  return DNDarray(a.larray().unsqueeze(ax), g, split, a.comm(), a.counts());
}

DNDarray squeeze(const DNDarray& a, const std::vector<int64_t>& axes) {
  std::vector<int64_t> drop;
  if (axes.empty()) {
    for (int64_t d = 0; d < a.ndim(); ++d)
      if (a.gshape()[static_cast<size_t>(d)] == 1) drop.push_back(d);
  } else {
    for (int64_t ax : axes) {
      const int64_t d = normalize_axis(ax, a.ndim(), "squeeze");
      if (a.gshape()[static_cast<size_t>(d)] != 1)
        throw ValueError(fmt::format("squeeze: cannot remove axis {} of shape {}: its extent is not 1", ax,
                                     shape_str(a.gshape())));
      if (std::find(drop.begin(), drop.end(), d) == drop.end()) drop.push_back(d);
    }
    std::sort(drop.begin(), drop.end());
  }
  // Removing the split axis leaves nothing to split: its single slab goes to everyone.
  const bool drops_split = a.split() && std::find(drop.begin(), drop.end(), *a.split()) != drop.end();
  const DNDarray src = drops_split ? resplit(a, kReplicated) : a;
  at::Tensor local = src.larray();
  Shape g;
  Split split;
  for (int64_t d = 0; d < a.ndim(); ++d) {
    if (std::find(drop.begin(), drop.end(), d) != drop.end()) continue;
    if (src.split() && *src.split() == d) split = static_cast<int64_t>(g.size());
    g.push_back(a.gshape()[static_cast<size_t>(d)]);
  }
  for (auto it = drop.rbegin(); it != drop.rend(); ++it) local = local.squeeze(*it);
  return DNDarray(local, g, split, a.comm(), split ? src.counts() : std::vector<int64_t>{});
}

namespace {

Shape resolve_shape(const DNDarray& a, const Shape& shape) {
  Shape out = shape;
  int64_t known = 1, unknown = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (unknown >= 0) throw ValueError("reshape: can only specify one unknown dimension");
      unknown = static_cast<int64_t>(i);
    } else if (out[i] < 0) {
      throw ValueError(fmt::format("reshape: negative dimension in shape {}", shape_str(shape)));
    } else {
      known *= out[i];
    }
  }
  if (unknown >= 0 && known > 0 && a.numel() % known == 0) out[static_cast<size_t>(unknown)] = a.numel() / known;
  if (shape_numel(out) != a.numel() || (unknown >= 0 && out[static_cast<size_t>(unknown)] < 0))
    throw ShapeError(fmt::format("reshape: cannot reshape array of size {} (shape {} split={}) into shape {}",
                                 a.numel(), shape_str(a.gshape()), split_str(a.split()), shape_str(shape)));
  return out;
}

// Global row-major index of every element of a rank's block (in the block's own
// row-major order, which is increasing): the block spans [off, off + cnt) of axis
// `split` of global shape g.
at::Tensor global_flat_index(const Shape& g, int64_t split, int64_t off, int64_t cnt) {
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(split) + 1; d < g.size(); ++d) inner *= g[d];
  const int64_t run = cnt * inner, n = shape_numel(local_shape(g, split, cnt));
  at::Tensor k = at::arange(n, at::kLong);
  if (run == 0) return k;
  return at::div(k, run, "floor") * (g[static_cast<size_t>(split)] * inner) + off * inner + at::remainder(k, run);
}

// The rank owning each global flat index under (shape g, split axis, counts).
at::Tensor owners(const at::Tensor& flat, const Shape& g, int64_t split, const std::vector<int64_t>& counts) {
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(split) + 1; d < g.size(); ++d) inner *= g[d];
  at::Tensor idx = at::remainder(at::div(flat, inner, "floor"), g[static_cast<size_t>(split)]);
  std::vector<int64_t> ends(counts.size());
  int64_t acc = 0;
  for (size_t r = 0; r < counts.size(); ++r) ends[r] = acc += counts[r];
  return at::searchsorted(at::tensor(ends, at::kLong), idx, /*out_int32=*/false, /*right=*/true);
}

}  // namespace

DNDarray reshape(const DNDarray& a, const Shape& shape, std::optional<Split> new_split) {
  const Shape r = resolve_shape(a, shape);
  const int64_t nd = static_cast<int64_t>(r.size());
  Split target = new_split ? *new_split : (a.split() && nd > 0 ? Split(0) : kReplicated);
  if (target) target = normalize_axis(*target, nd, "reshape");
  const Communicator& comm = a.comm();
  const int p = comm.size(), me = comm.rank();

  if (!target) return DNDarray(allgather(a).reshape(r).contiguous(), r, kReplicated, comm);
  const std::vector<int64_t> tcounts = balanced_counts(r[static_cast<size_t>(*target)], p);
  const Chunk mine = balanced_chunk(r[static_cast<size_t>(*target)], me, p);
  if (!a.split()) {
    at::Tensor local = a.larray().reshape(r).narrow(*target, mine.offset, mine.count).clone(at::MemoryFormat::Contiguous);
    return DNDarray(local, r, target, comm, tcounts);
  }

  const int64_t s = *a.split();
  at::Tensor src = a.larray().device().is_cpu() ? a.larray() : a.larray().cpu();
  at::Tensor out = at::empty(local_shape(r, target, mine.count), src.options());
  at::Tensor src_flat = src.view({-1}), out_flat = out.view({-1});
  std::vector<at::Tensor> sends(static_cast<size_t>(p)), recvs(static_cast<size_t>(p));

  if (s == 0 && *target == 0) {
    // Both blocks are ranges of the row-major order: exchange contiguous pieces, no packing.
    int64_t sinner = 1, tinner = 1;
    for (size_t d = 1; d < a.gshape().size(); ++d) sinner *= a.gshape()[d];
    for (size_t d = 1; d < r.size(); ++d) tinner *= r[d];
    const auto soff = counts_to_offsets(a.counts());
    const auto toff = counts_to_offsets(tcounts);
    auto range = [](int64_t off, int64_t cnt, int64_t inner) { return Chunk{off * inner, cnt * inner}; };
    const Chunk smine = range(soff[static_cast<size_t>(me)], a.counts()[static_cast<size_t>(me)], sinner);
    const Chunk tmine = range(toff[static_cast<size_t>(me)], tcounts[static_cast<size_t>(me)], tinner);
    for (int q = 0; q < p; ++q) {
      const Chunk tq = range(toff[static_cast<size_t>(q)], tcounts[static_cast<size_t>(q)], tinner);
      const Chunk sq = range(soff[static_cast<size_t>(q)], a.counts()[static_cast<size_t>(q)], sinner);
      const int64_t lo1 = std::max(smine.offset, tq.offset), hi1 = std::min(smine.end(), tq.end());
      if (hi1 > lo1) sends[static_cast<size_t>(q)] = src_flat.narrow(0, lo1 - smine.offset, hi1 - lo1);
      const int64_t lo2 = std::max(sq.offset, tmine.offset), hi2 = std::min(sq.end(), tmine.end());
      if (hi2 > lo2) recvs[static_cast<size_t>(q)] = out_flat.narrow(0, lo2 - tmine.offset, hi2 - lo2);
    }
    exchange(comm, sends, recvs);
  } else {
    // General case. Blocks are boxes, so their row-major order is increasing in the
    // global flat index: a sender groups its elements by destination (keeping that
    // order) and a receiver knows, for each of its positions, which sender fills it and
    // that each sender's elements arrive in increasing order.
    const at::Tensor fsrc = global_flat_index(a.gshape(), s, a.chunk().offset, a.chunk().count);
    const at::Tensor dest = owners(fsrc, r, *target, tcounts);
    const at::Tensor send_order = std::get<1>(at::sort(dest, c10::optional<bool>(true), 0));
    const at::Tensor sendbuf = src_flat.index_select(0, send_order);
    const at::Tensor send_counts = at::bincount(dest, {}, p);

    const at::Tensor fdst = global_flat_index(r, *target, mine.offset, mine.count);
    const at::Tensor from = owners(fdst, a.gshape(), s, a.counts());
    const at::Tensor recv_order = std::get<1>(at::sort(from, c10::optional<bool>(true), 0));
    at::Tensor recvbuf = at::empty({out_flat.numel()}, src.options());
    const at::Tensor recv_counts = at::bincount(from, {}, p);

    int64_t so = 0, ro = 0;
    for (int q = 0; q < p; ++q) {
      const int64_t sc = send_counts.numel() ? send_counts[q].item<int64_t>() : 0;
      const int64_t rc = recv_counts.numel() ? recv_counts[q].item<int64_t>() : 0;
      if (sc > 0) sends[static_cast<size_t>(q)] = sendbuf.narrow(0, so, sc);
      if (rc > 0) recvs[static_cast<size_t>(q)] = recvbuf.narrow(0, ro, rc);
      so += sc;
      ro += rc;
    }
    exchange(comm, sends, recvs);
    out_flat.index_copy_(0, recv_order, recvbuf);
  }
  if (!a.larray().device().is_cpu()) out = out.to(a.larray().device());
  return DNDarray(out, r, target, comm, tcounts);
}

DNDarray flatten(const DNDarray& a) { return reshape(a, {a.numel()}); }

}  // namespace dnd
