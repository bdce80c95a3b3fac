#include "src/core/shape_ops.h"

#include "src/core/error.h"
#include "src/core/manipulation.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace dnd {

std::vector<int64_t> transpose_axes(const ArrayMeta& a, const std::vector<int64_t>& axes) {
  const int64_t nd = static_cast<int64_t>(a.shape.size());
  std::vector<int64_t> perm;
  if (axes.empty()) {
    for (int64_t d = nd - 1; d >= 0; --d) perm.push_back(d);
    return perm;
  }
  DND_CHECK_VALUE(static_cast<int64_t>(axes.size()) == nd,
                  "transpose: axes ({}) don't match an array of shape {}", fmt::join(axes, ", "),
                  shape_str(a.shape));
  for (int64_t ax : axes) perm.push_back(normalize_axis(ax, nd, "transpose"));
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  DND_CHECK_VALUE(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
                  "transpose: repeated axis in ({})", fmt::join(axes, ", "));
  return perm;
}

OpMeta transpose_meta(const ArrayMeta& a, const std::vector<int64_t>& axes) {
  const std::vector<int64_t> perm = transpose_axes(a, axes);
  ArrayMeta m = a;
  m.split = kReplicated;
  for (size_t i = 0; i < perm.size(); ++i) {
    m.shape[i] = a.shape[static_cast<size_t>(perm[i])];
    if (a.split && perm[i] == *a.split) m.split = static_cast<int64_t>(i);
  }
  return OpMeta{{m}};
}

DNDarray transpose(const DNDarray& a, const std::vector<int64_t>& axes) {
  const ArrayMeta am = meta_of(a);
  const std::vector<int64_t> perm = transpose_axes(am, axes);
  const ArrayMeta m = transpose_meta(am, axes).outputs[0];
  return DNDarray(a.larray().permute(perm).contiguous(), m.shape, m.split, a.comm(), a.counts());
}

DNDarray swapaxes(const DNDarray& a, int64_t axis1, int64_t axis2) {
  const int64_t i = normalize_axis(axis1, a.ndim(), "swapaxes"),
                j = normalize_axis(axis2, a.ndim(), "swapaxes");
  std::vector<int64_t> perm(static_cast<size_t>(a.ndim()));
  for (int64_t d = 0; d < a.ndim(); ++d) perm[static_cast<size_t>(d)] = d;
  std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]);
  return transpose(a, perm);
}

OpMeta expand_dims_meta(const ArrayMeta& a, int64_t axis) {
  const int64_t ax = normalize_axis(axis, static_cast<int64_t>(a.shape.size()) + 1, "expand_dims");
  ArrayMeta m = a;
  m.shape.insert(m.shape.begin() + ax, 1);
  if (m.split && *m.split >= ax) m.split = *m.split + 1;
  return OpMeta{{m}};
}

DNDarray expand_dims(const DNDarray& a, int64_t axis) {
  const ArrayMeta m = expand_dims_meta(meta_of(a), axis).outputs[0];
  return DNDarray(a.larray().unsqueeze(normalize_axis(axis, a.ndim() + 1, "expand_dims")), m.shape,
                  m.split, a.comm(), a.counts());
}

std::vector<int64_t> squeeze_axes(const ArrayMeta& a, const std::vector<int64_t>& axes) {
  const int64_t nd = static_cast<int64_t>(a.shape.size());
  std::vector<int64_t> drop;
  if (axes.empty()) {
    for (int64_t d = 0; d < nd; ++d)
      if (a.shape[static_cast<size_t>(d)] == 1) drop.push_back(d);
    return drop;
  }
  for (int64_t ax : axes) {
    const int64_t d = normalize_axis(ax, nd, "squeeze");
    DND_CHECK_VALUE(a.shape[static_cast<size_t>(d)] == 1,
                    "squeeze: cannot remove axis {} of shape {}: its extent is not 1", ax,
                    shape_str(a.shape));
    if (std::find(drop.begin(), drop.end(), d) == drop.end()) drop.push_back(d);
  }
  std::sort(drop.begin(), drop.end());
  return drop;
}

OpMeta squeeze_meta(const ArrayMeta& a, const std::vector<int64_t>& axes, int nranks) {
  const std::vector<int64_t> drop = squeeze_axes(a, axes);
  OpMeta r;
  ArrayMeta m = a;
  m.shape.clear();
  m.split = kReplicated;
  for (int64_t d = 0; d < static_cast<int64_t>(a.shape.size()); ++d) {
    if (std::binary_search(drop.begin(), drop.end(), d)) continue;
    if (a.split && *a.split == d) m.split = static_cast<int64_t>(m.shape.size());
    m.shape.push_back(a.shape[static_cast<size_t>(d)]);
  }
  // Removing the split axis leaves nothing to split: its single slab goes to everyone.
  if (a.split && !m.split) r.comm_bytes = allgather_bytes(a, nranks);
  r.outputs.push_back(m);
  return r;
}

DNDarray squeeze(const DNDarray& a, const std::vector<int64_t>& axes) {
  const ArrayMeta am = meta_of(a);
  const std::vector<int64_t> drop = squeeze_axes(am, axes);
  const ArrayMeta m = squeeze_meta(am, axes, a.comm().size()).outputs[0];
  const DNDarray src = a.split() && !m.split ? resplit(a, kReplicated) : a;
  at::Tensor local = src.larray();
  for (auto it = drop.rbegin(); it != drop.rend(); ++it) local = local.squeeze(*it);
  return DNDarray(local, m.shape, m.split, a.comm(), m.split ? src.counts() : std::vector<int64_t>{});
}

namespace {

// A rank's block of an array split along `split` is a set of "runs" in the global
// row-major order: run k (k < outer) covers [k * stride + start, k * stride + start + len),
// and the runs lie one after another in the block's own memory.
struct Runs {
  int64_t outer = 0, stride = 0, start = 0, len = 0;
};

Runs runs_of(const Shape& g, int64_t split, Chunk c) {
  int64_t inner = 1, outer = 1;
  for (size_t d = static_cast<size_t>(split) + 1; d < g.size(); ++d) inner *= g[d];
  for (size_t d = 0; d < static_cast<size_t>(split); ++d) outer *= g[d];
  const int64_t len = c.count * inner;
  return Runs{len > 0 ? outer : 0, g[static_cast<size_t>(split)] * inner, c.offset * inner, len};
}

// A contiguous range shared by two blocks: its offsets in each block's memory.
struct Piece {
  int64_t off_a, off_b, len;
};

// The ranges both blocks hold, in increasing global order, merged where they continue
// each other in both blocks' memory. Linear in the number of runs.
std::vector<Piece> shared_pieces(const Runs& a, const Runs& b) {
  std::vector<Piece> out;
  int64_t i = 0, j = 0;
  while (i < a.outer && j < b.outer) {
    const int64_t alo = i * a.stride + a.start, ahi = alo + a.len;
    const int64_t blo = j * b.stride + b.start, bhi = blo + b.len;
    const int64_t lo = std::max(alo, blo), hi = std::min(ahi, bhi);
    if (hi > lo) {
      const Piece p{i * a.len + (lo - alo), j * b.len + (lo - blo), hi - lo};
      if (!out.empty() && out.back().off_a + out.back().len == p.off_a &&
          out.back().off_b + out.back().len == p.off_b)
        out.back().len += p.len;
      else
        out.push_back(p);
    }
    if (ahi <= bhi) ++i;
    if (bhi <= ahi) ++j;
  }
  return out;
}
// The bytes the busiest rank sends in reshape's exchange (balanced blocks on both sides):
// its old block less what its new block shares with it. The work is linear in the runs;
// past kMaxRuns of them (a split axis deep inside a huge array) meta.h's estimate stands.
int64_t reshape_sent_bytes(const ArrayMeta& a, const Shape& r, int64_t target, int p) {
  constexpr int64_t kMaxRuns = int64_t{1} << 24;
  const int64_t s = *a.split;
  const auto esize = static_cast<int64_t>(c10::elementSize(a.dtype));
  int64_t most = 0, work = 0;
  for (int q = 0; q < p; ++q) {
    const Runs from = runs_of(a.shape, s, balanced_chunk(a.shape[static_cast<size_t>(s)], q, p));
    const Runs to = runs_of(r, target, balanced_chunk(r[static_cast<size_t>(target)], q, p));
    work += from.outer + to.outer;
    if (work > kMaxRuns) return move_bytes(a, p);
    int64_t kept = 0;
    for (const Piece& pc : shared_pieces(from, to)) kept += pc.len;
    most = std::max(most, (from.outer * from.len - kept) * esize);
  }
  return most;
}

}  // namespace

Shape resolve_shape(const ArrayMeta& a, const Shape& shape) {
  Shape out = shape;
  const int64_t n = shape_numel(a.shape);
  int64_t known = 1, unknown = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      DND_CHECK_VALUE(unknown < 0, "reshape: can only specify one unknown dimension");
      unknown = static_cast<int64_t>(i);
    } else {
      DND_CHECK_VALUE(out[i] >= 0, "reshape: negative dimension in shape {}", shape_str(shape));
      known *= out[i];
    }
  }
  if (unknown >= 0 && known > 0 && n % known == 0) out[static_cast<size_t>(unknown)] = n / known;
  DND_CHECK_SHAPE(shape_numel(out) == n && (unknown < 0 || out[static_cast<size_t>(unknown)] >= 0),
                  "reshape: cannot reshape array of size {} (shape {} split={}) into shape {}", n,
                  shape_str(a.shape), split_str(a.split), shape_str(shape));
  return out;
}

OpMeta reshape_meta(const ArrayMeta& a, const Shape& shape, std::optional<Split> new_split, int nranks) {
  ArrayMeta m = a;
  m.shape = resolve_shape(a, shape);
  const int64_t nd = static_cast<int64_t>(m.shape.size());
  m.split = new_split ? *new_split : (a.split && nd > 0 ? Split(0) : kReplicated);
  if (m.split) m.split = normalize_axis(*m.split, nd, "reshape");
  OpMeta r;
  if (a.split && m.split && nranks > 1) r.comm_bytes = reshape_sent_bytes(a, m.shape, *m.split, nranks);
  if (a.split && !m.split) r.comm_bytes = allgather_bytes(a, nranks);
  r.outputs.push_back(m);
  return r;
}

DNDarray reshape(const DNDarray& a, const Shape& shape, std::optional<Split> new_split) {
  const ArrayMeta planned = reshape_meta(meta_of(a), shape, new_split, a.comm().size()).outputs[0];
  const Shape& r = planned.shape;
  const Split target = planned.split;
  const Communicator& comm = a.comm();
  const int p = comm.size(), me = comm.rank();

  if (!target) return DNDarray(allgather(a).reshape(r).contiguous(), r, kReplicated, comm);
  const std::vector<int64_t> tcounts = balanced_counts(r[static_cast<size_t>(*target)], p);
  const Chunk mine = balanced_chunk(r[static_cast<size_t>(*target)], me, p);
  if (!a.split()) {
    at::Tensor local = a.larray()
                           .reshape(r)
                           .narrow(*target, mine.offset, mine.count)
                           .clone(at::MemoryFormat::Contiguous);
    return DNDarray(local, r, target, comm, tcounts);
  }

  // Both blocks are sets of row-major runs: every rank sends each peer the ranges the
  // peer's new block shares with its old one, in one exchange. A pair sharing a single
  // range moves it straight between the blocks; several ranges travel packed, in
  // increasing global order on both sides.
  const int64_t s = *a.split();
  at::Tensor src = a.larray().device().is_cpu() ? a.larray() : a.larray().cpu();
  at::Tensor out = at::empty(local_shape(r, target, mine.count), src.options());
  const at::Tensor src_flat = src.view({-1});
  at::Tensor out_flat = out.view({-1});
  const int64_t esize = static_cast<int64_t>(src.element_size());
  const auto soff = counts_to_offsets(a.counts());
  const auto toff = counts_to_offsets(tcounts);
  const Runs my_src = runs_of(a.gshape(), s, a.chunk());
  const Runs my_dst = runs_of(r, *target, mine);

  std::vector<at::Tensor> sends(static_cast<size_t>(p)), recvs(static_cast<size_t>(p));
  std::vector<std::pair<at::Tensor, std::vector<Piece>>> unpack;
  // Single-copy reads straight from the peers' blocks, when this node allows them.
  {
    std::vector<std::vector<RangeCopy>> wanted(static_cast<size_t>(p));
    for (int q = 0; q < p; ++q) {
      const auto uq = static_cast<size_t>(q);
      for (const Piece& pc :
           shared_pieces(runs_of(a.gshape(), s, Chunk{soff[uq], a.counts()[uq]}), my_dst))
        wanted[uq].push_back(RangeCopy{pc.off_a * esize, pc.off_b * esize, pc.len * esize});
    }
    if (copy_ranges(comm, src_flat.data_ptr(), out_flat.data_ptr(), wanted)) {
      if (!a.larray().device().is_cpu()) out = out.to(a.larray().device());
      return DNDarray(out, r, target, comm, tcounts);
    }
  }
  // What stays on this rank is copied range by range, without buffers.
  {
    const auto* from = static_cast<const char*>(src_flat.data_ptr());
    auto* to = static_cast<char*>(out_flat.data_ptr());
    for (const Piece& pc : shared_pieces(my_src, my_dst))
      std::memcpy(to + pc.off_b * esize, from + pc.off_a * esize, static_cast<size_t>(pc.len * esize));
  }
  for (int q = 0; q < p; ++q) {
    if (q == me) continue;
    const auto uq = static_cast<size_t>(q);
    // What I send to q: my old block against q's new block (off_a: mine, off_b: q's).
    const auto out_pieces = shared_pieces(my_src, runs_of(r, *target, Chunk{toff[uq], tcounts[uq]}));
    if (out_pieces.size() == 1) {
      sends[uq] = src_flat.narrow(0, out_pieces[0].off_a, out_pieces[0].len);
    } else if (out_pieces.size() > 1) {
      int64_t total = 0;
      for (const Piece& pc : out_pieces) total += pc.len;
      at::Tensor buf = at::empty({total}, src.options());
      auto* d = static_cast<char*>(buf.data_ptr());
      const auto* from = static_cast<const char*>(src_flat.data_ptr());
      for (const Piece& pc : out_pieces) {
        std::memcpy(d, from + pc.off_a * esize, static_cast<size_t>(pc.len * esize));
        d += pc.len * esize;
      }
      sends[uq] = buf;
    }
    // What I receive from q: q's old block against my new block (off_b: mine).
    const auto in_pieces =
        shared_pieces(runs_of(a.gshape(), s, Chunk{soff[uq], a.counts()[uq]}), my_dst);
    if (in_pieces.size() == 1) {
      recvs[uq] = out_flat.narrow(0, in_pieces[0].off_b, in_pieces[0].len);
    } else if (in_pieces.size() > 1) {
      int64_t total = 0;
      for (const Piece& pc : in_pieces) total += pc.len;
      recvs[uq] = at::empty({total}, src.options());
      unpack.emplace_back(recvs[uq], in_pieces);
    }
  }
  exchange(comm, sends, recvs);
  for (auto& [buf, pieces] : unpack) {
    const auto* from = static_cast<const char*>(buf.data_ptr());
    auto* to = static_cast<char*>(out_flat.data_ptr());
    for (const Piece& pc : pieces) {
      std::memcpy(to + pc.off_b * esize, from, static_cast<size_t>(pc.len * esize));
      from += pc.len * esize;
    }
  }
  if (!a.larray().device().is_cpu()) out = out.to(a.larray().device());
  return DNDarray(out, r, target, comm, tcounts);
}

DNDarray flatten(const DNDarray& a) { return reshape(a, {a.numel()}); }

}  // namespace dnd
