#include "src/core/manipulation.h"

#include "src/core/error.h"
#include "src/core/movement_impl.h"
#include "src/core/runtime.h"

#include <ATen/ATen.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <fmt/format.h>

#include <algorithm>

namespace dnd {

namespace {

// Rank r's extent [lo, lo + n) along `axis` under a distribution (split, offsets, counts):
// the whole axis unless it is the split axis.
Chunk extent(const Shape& g, Split split, const std::vector<int64_t>& offsets,
             const std::vector<int64_t>& counts, int r, int64_t axis) {
  if (split && *split == axis)
    return Chunk{offsets[static_cast<size_t>(r)], counts[static_cast<size_t>(r)]};
  return Chunk{0, g[static_cast<size_t>(axis)]};
}

Chunk intersect(Chunk a, Chunk b) {
  const int64_t lo = std::max(a.offset, b.offset), hi = std::min(a.end(), b.end());
  return Chunk{lo, std::max<int64_t>(0, hi - lo)};
}

// Moves a into a fresh array of the same global shape under a new distribution.
DNDarray move(const DNDarray& a, Split target, const std::vector<int64_t>& tcounts) {
  const int me = a.comm().rank();
  at::Tensor out =
      at::empty(local_shape(a.gshape(), target, target ? tcounts[static_cast<size_t>(me)] : 0),
                a.larray().options());
  detail::place(a, out, a.gshape(), target, tcounts);
  return DNDarray(out, a.gshape(), target, a.comm(), target ? tcounts : std::vector<int64_t>{});
}

}  // namespace

// Every rank sends each peer the part of its block that lies in the peer's target block:
// the intersection of two boxes that differ from the full array only along the source
// split axis, the target split axis and the shift axis.
void detail::place(const DNDarray& a, at::Tensor& out, const Shape& rshape, Split target,
                   const std::vector<int64_t>& tcounts, int64_t shift_axis, int64_t shift) {
  const Communicator& comm = a.comm();
  const int p = comm.size(), me = comm.rank();
  const Shape& g = a.gshape();
  DND_ASSERT(g.size() == rshape.size(), "place: ranks of shapes differ");
  for (size_t d = 0; d < g.size(); ++d)
    DND_ASSERT(static_cast<int64_t>(d) == shift_axis || g[d] == rshape[d],
               "place: extents differ off the shift axis");
  const Split source = a.split();
  const std::vector<int64_t> soffsets = source ? counts_to_offsets(a.counts()) : std::vector<int64_t>{};
  const std::vector<int64_t> toffsets = target ? counts_to_offsets(tcounts) : std::vector<int64_t>{};

  at::Tensor src = a.larray();
  const bool staged = !out.device().is_cpu();
  if (!src.device().is_cpu()) src = src.cpu();
  at::Tensor dst = staged ? at::empty(out.sizes(), out.options().device(at::kCPU)) : out;

  // Axes along which the boxes can differ.
  std::vector<int64_t> axes;
  for (Split ax : {source, target, shift_axis >= 0 ? Split(shift_axis) : kReplicated})
    if (ax && std::find(axes.begin(), axes.end(), *ax) == axes.end()) axes.push_back(*ax);

  // The intersection of rank `rs`'s source box (in R's coordinates) and rank `rt`'s
  // target box, as a view of `t`: of the source block when as_source, else of the target.
  auto view = [&](at::Tensor t, int rs, int rt, bool as_source) {
    for (int64_t ax : axes) {
      Chunk s = extent(g, source, soffsets, a.counts(), rs, ax);
      if (ax == shift_axis) s.offset += shift;
      const Chunk d = extent(rshape, target, toffsets, tcounts, rt, ax);
      const Chunk i = intersect(s, d);
      if (i.count == 0) return at::Tensor();
      t = t.narrow(ax, i.offset - (as_source ? s.offset : d.offset), i.count);
    }
    return t;
  };

  std::vector<at::Tensor> sends(static_cast<size_t>(p)), recvs(static_cast<size_t>(p));
  if (!source) {
    // Every rank already holds everything: keep the own part, send nothing.
    sends[static_cast<size_t>(me)] = view(src, me, me, true);
    recvs[static_cast<size_t>(me)] = view(dst, me, me, false);
  } else {
    for (int q = 0; q < p; ++q) {
      sends[static_cast<size_t>(q)] = view(src, me, q, true);
      recvs[static_cast<size_t>(q)] = view(dst, q, me, false);
    }
  }
  exchange(comm, sends, recvs);
  if (staged) out.copy_(dst);
}

DNDarray resplit(const DNDarray& a, Split axis) {
  if (!axis) return a.split() ? move(a, kReplicated, {}) : a;
  const int64_t ax = normalize_axis(*axis, a.ndim(), "resplit");
  return resplit(a, ax, balanced_counts(a.gshape()[static_cast<size_t>(ax)], a.comm().size()));
}

DNDarray resplit(const DNDarray& a, int64_t axis, const std::vector<int64_t>& counts) {
  const int64_t ax = normalize_axis(axis, a.ndim(), "resplit");
  const int64_t n = a.gshape()[static_cast<size_t>(ax)];
  int64_t total = 0;
  bool negative = false;
  for (int64_t c : counts) {
    total += c;
    negative |= c < 0;
  }
  if (static_cast<int>(counts.size()) != a.comm().size() || total != n || negative)
    throw ShapeError(
        fmt::format("resplit: counts [{}] do not cut axis {} of {} ({} entries) over {} ranks",
                    fmt::join(counts, ", "), ax, shape_str(a.gshape()), n, a.comm().size()));
  if (a.split() && *a.split() == ax && a.counts() == counts) return a;
  return move(a, ax, counts);
}

DNDarray redistribute(const DNDarray& a, const std::vector<int64_t>& counts) {
  if (!a.split())
    throw ValueError(
        fmt::format("redistribute: the array of shape {} is not split", shape_str(a.gshape())));
  return resplit(a, *a.split(), counts);
}

DNDarray balance(const DNDarray& a) {
  if (a.is_balanced()) return a;
  return redistribute(a, balanced_counts(a.gshape()[static_cast<size_t>(*a.split())], a.comm().size()));
}

at::Tensor gather(const DNDarray& a, int root) {
  const Communicator& comm = a.comm();
  if (root < 0 || root >= comm.size())
    throw ValueError(
        fmt::format("gather: root {} is not a rank of a {}-rank communicator", root, comm.size()));
  const bool is_root = comm.rank() == root;
  if (!a.split()) return is_root ? a.larray().clone() : at::Tensor();
  const int64_t s = *a.split();
  at::Tensor src = a.larray().device().is_cpu() ? a.larray() : a.larray().cpu();
  at::Tensor out = is_root ? at::empty(a.gshape(), src.options()) : at::Tensor();
  std::vector<at::Tensor> sends(static_cast<size_t>(comm.size())),
      recvs(static_cast<size_t>(comm.size()));
  sends[static_cast<size_t>(root)] = src;
  if (is_root)
    for (int r = 0; r < comm.size(); ++r) {
      Chunk c = a.chunk(r);
      recvs[static_cast<size_t>(r)] = out.narrow(s, c.offset, c.count);
    }
  exchange(comm, sends, recvs);
  if (is_root && !a.larray().device().is_cpu()) out = out.to(a.larray().device());
  return out;
}

at::Tensor allgather(const DNDarray& a) {
  if (!a.split()) return a.larray();
  return move(a, kReplicated, {}).larray();
}

DNDarray copy(const DNDarray& a) {
  return DNDarray(a.larray().clone(), a.gshape(), a.split(), a.comm(), a.counts());
}

DNDarray astype(const DNDarray& a, Dtype dtype, bool copy_always) {
  check_supported_dtype(dtype, "astype");
  if (!copy_always && a.dtype() == dtype) return a;
  return DNDarray(a.larray().to(dtype, /*non_blocking=*/false, /*copy=*/true), a.gshape(), a.split(),
                  a.comm(), a.counts());
}

DNDarray to_device(const DNDarray& a, DeviceKind device) {
  if (a.device() == device) return a;
  at::Device target(at::kCPU);
  if (device == DeviceKind::gpu) {
    const auto& hooks = at::detail::getCUDAHooks();
    if (!hooks.hasCUDA() || hooks.getNumGPUs() == 0)
      throw TypeError(
          "to_device: device gpu requested, but this libtorch has no CUDA support or no GPU is visible");
    target =
        at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(node_local_rank() % hooks.getNumGPUs()));
  }
  return DNDarray(a.larray().to(target), a.gshape(), a.split(), a.comm(), a.counts());
}

}  // namespace dnd
