#include "src/core/indexing.h"

#include "src/core/error.h"
#include "src/core/manipulation.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

namespace dnd {

namespace {

// One axis of a normalised selection: the global indices start + k * step, k in [0, len).
// An integer index is a selection of length 1 whose axis disappears from the result.
struct AxisSel {
  bool drop = false;
  int64_t start = 0;
  int64_t step = 1;
  int64_t len = 0;

  // The same indices in ascending order: lo() + j * stride(), j in [0, len). The j-th
  // ascending entry is the (len - 1 - j)-th selected one when step < 0.
  int64_t stride() const noexcept { return step > 0 ? step : -step; }
  int64_t lo() const noexcept { return step > 0 || len == 0 ? start : start + (len - 1) * step; }
  bool reversed() const noexcept { return !drop && step < 0; }
};

// A whole selection: one AxisSel per axis of the indexed array, and the result's
// global shape and split axis (when the source is split and its axis is sliced).
struct Selection {
  std::vector<AxisSel> axes;
  Shape shape;
  Split split;
  // The source's split axis, when the source is split.
  Split source_split;
};

int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Python's slice.indices(n) followed by len(range(...)).
AxisSel normalize_slice(const Slice& s, int64_t n, int64_t axis, const char* op) {
  AxisSel r;
  r.step = s.step.value_or(1);
  if (r.step == 0) throw ValueError(fmt::format("{}: slice step cannot be zero (axis {})", op, axis));
  const bool neg = r.step < 0;
  auto adjust = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) {
      x += n;
      if (x < 0) x = neg ? -1 : 0;
    } else if (x >= n) {
      x = neg ? n - 1 : n;
    }
    return x;
  };
  r.start = adjust(s.start, neg ? n - 1 : 0);
  const int64_t stop = adjust(s.stop, neg ? -1 : n);
  if (!neg)
    r.len = r.start < stop ? (stop - r.start - 1) / r.step + 1 : 0;
  else
    r.len = stop < r.start ? (r.start - stop - 1) / (-r.step) + 1 : 0;
  return r;
}

// Expands the Ellipsis, checks every index against the global shape and computes the
// result's global shape and split. Depends on metadata only, so every rank throws alike.
Selection normalize(const Shape& g, Split split, const std::vector<Index>& indices, const char* op) {
  const int64_t nd = static_cast<int64_t>(g.size());
  int64_t ellipses = 0, consumed = 0;
  for (const Index& ix : indices) {
    if (std::holds_alternative<Ellipsis>(ix))
      ++ellipses;
    else
      ++consumed;
  }
  if (ellipses > 1)
    throw ValueError(fmt::format("{}: an index can only have a single ellipsis ('...')", op));
  if (consumed > nd)
    throw ValueError(fmt::format("{}: too many indices for an array of shape {}: {} were given", op,
                                 shape_str(g), consumed));
  Selection sel;
  sel.source_split = split;
  sel.axes.reserve(static_cast<size_t>(nd));
  for (const Index& ix : indices) {
    if (std::holds_alternative<Ellipsis>(ix)) {
      for (int64_t k = 0; k < nd - consumed; ++k) {
        const int64_t d = static_cast<int64_t>(sel.axes.size());
        sel.axes.push_back(normalize_slice(Slice{}, g[static_cast<size_t>(d)], d, op));
      }
      continue;
    }
    const int64_t d = static_cast<int64_t>(sel.axes.size());
    const int64_t n = g[static_cast<size_t>(d)];
    if (const int64_t* i = std::get_if<int64_t>(&ix)) {
      if (*i < -n || *i >= n)
        throw ValueError(
            fmt::format("{}: index {} is out of bounds for axis {} with size {}", op, *i, d, n));
      AxisSel s;
      s.drop = true;
      s.start = *i < 0 ? *i + n : *i;
      s.len = 1;
      sel.axes.push_back(s);
    } else {
      sel.axes.push_back(normalize_slice(std::get<Slice>(ix), n, d, op));
    }
  }
  // Fewer indices than axes: the remaining axes stay whole.
  for (int64_t d = static_cast<int64_t>(sel.axes.size()); d < nd; ++d)
    sel.axes.push_back(normalize_slice(Slice{}, g[static_cast<size_t>(d)], d, op));

  for (int64_t d = 0; d < nd; ++d) {
    const AxisSel& s = sel.axes[static_cast<size_t>(d)];
    if (s.drop) continue;
    if (split && *split == d) sel.split = static_cast<int64_t>(sel.shape.size());
    sel.shape.push_back(s.len);
  }
  return sel;
}

// The positions [j0, j1) of the ascending selection along an axis whose entries lie in
// the chunk [c.offset, c.end()) of that axis.
std::pair<int64_t, int64_t> positions_in(const AxisSel& s, Chunk c) {
  if (s.len == 0 || c.count == 0) return {0, 0};
  auto first_at_or_after = [&](int64_t x) {
    return std::clamp<int64_t>(ceil_div(x - s.lo(), s.stride()), 0, s.len);
  };
  const int64_t j0 = first_at_or_after(c.offset), j1 = first_at_or_after(c.end());
  return {j0, std::max(j0, j1)};
}

// Every rank's number of selected entries along the source's split axis (in rank order,
// i.e. in ascending global order of the entries).
std::vector<int64_t> owned_counts(const DNDarray& a, const AxisSel& s) {
  std::vector<int64_t> counts(static_cast<size_t>(a.comm().size()));
  for (int r = 0; r < a.comm().size(); ++r) {
    const auto [j0, j1] = positions_in(s, a.chunk(r));
    counts[static_cast<size_t>(r)] = j1 - j0;
  }
  return counts;
}

// This rank's part of the selection as a view of its block, with every sliced axis in
// ascending order (torch views cannot step backwards). Undefined when the selection
// drops the split axis at an index this rank does not own.
at::Tensor ascending_view(const DNDarray& a, const Selection& sel) {
  at::Tensor t = a.larray();
  const Chunk mine = a.chunk();
  // Last axis first, so that dropping an axis leaves the positions of earlier ones.
  for (int64_t d = a.ndim() - 1; d >= 0; --d) {
    const AxisSel& s = sel.axes[static_cast<size_t>(d)];
    const bool is_split = a.split() && *a.split() == d;
    const int64_t off = is_split ? mine.offset : 0;
    if (s.drop) {
      if (is_split && (s.start < mine.offset || s.start >= mine.end())) return at::Tensor();
      t = t.select(d, s.start - off);
      continue;
    }
    const auto [j0, j1] = is_split ? positions_in(s, mine) : std::pair<int64_t, int64_t>{0, s.len};
    if (j1 == j0) {
      t = t.narrow(d, 0, 0);
      continue;
    }
    const int64_t first = s.lo() + j0 * s.stride() - off;
    t = t.slice(d, first, first + (j1 - j0 - 1) * s.stride() + 1, s.stride());
  }
  return t;
}

// The result axes that a negative step reverses.
std::vector<int64_t> reversed_axes(const Selection& sel) {
  std::vector<int64_t> dims;
  int64_t r = 0;
  for (const AxisSel& s : sel.axes) {
    if (s.drop) continue;
    if (s.reversed() && s.len > 1) dims.push_back(r);
    ++r;
  }
  return dims;
}

// A fresh contiguous copy of a view (never sharing the source's storage).
at::Tensor fresh(const at::Tensor& view, const std::vector<int64_t>& flip_dims) {
  if (!flip_dims.empty()) return view.flip(flip_dims).contiguous();
  return view.clone(at::MemoryFormat::Contiguous);
}

std::string describe(const DNDarray& a) {
  return fmt::format("array of shape {} split={}", shape_str(a.gshape()), split_str(a.split()));
}

}  // namespace

DNDarray getitem(const DNDarray& a, const std::vector<Index>& indices) {
  const Selection sel = normalize(a.gshape(), a.split(), indices, "getitem");
  const Communicator& comm = a.comm();
  const int p = comm.size(), me = comm.rank();
  const at::Tensor view = ascending_view(a, sel);
  const std::vector<int64_t> flips = reversed_axes(sel);

  // Replicated source: everything is local.
  if (!a.split()) return DNDarray(fresh(view, flips), sel.shape, kReplicated, comm);

  const int64_t s = *a.split();
  const AxisSel& ss = sel.axes[static_cast<size_t>(s)];

  // An integer on the split axis: its owner broadcasts the selected slab.
  if (ss.drop) {
    const int owner = owner_of(ss.start, a.counts());
    DND_ASSERT(owner >= 0, "getitem: no owner of an in-range index");
    at::Tensor slab = me == owner ? fresh(view, flips) : at::empty(sel.shape, a.larray().options());
    const bool staged = !slab.device().is_cpu();
    at::Tensor host = staged ? slab.cpu() : slab;
    broadcast_(comm, host, owner);
    if (staged) slab = host.to(a.larray().device());
    return DNDarray(slab, sel.shape, kReplicated, comm);
  }

  // A slice of the split axis: every rank keeps what it selects, counts from metadata.
  const std::vector<int64_t> counts = owned_counts(a, ss);
  const int64_t rs = *sel.split;
  at::Tensor local = fresh(view, flips);
  if (!ss.reversed()) return DNDarray(local, sel.shape, rs, comm, counts);

  // Negative step: the global order reverses, so rank q of the result holds the (locally
  // reversed) part of source rank p - 1 - q. One message to the mirror rank.
  std::vector<int64_t> rcounts(counts.rbegin(), counts.rend());
  const int mirror = p - 1 - me;
  at::Tensor out = at::empty(local_shape(sel.shape, rs, rcounts[static_cast<size_t>(me)]),
                             local.options().device(at::kCPU));
  std::vector<at::Tensor> sends(static_cast<size_t>(p)), recvs(static_cast<size_t>(p));
  sends[static_cast<size_t>(mirror)] = local.device().is_cpu() ? local : local.cpu();
  recvs[static_cast<size_t>(mirror)] = out;
  exchange(comm, sends, recvs);
  if (!local.device().is_cpu()) out = out.to(local.device());
  return DNDarray(out, sel.shape, rs, comm, rcounts);
}

void setitem(DNDarray& a, const std::vector<Index>& indices, const Operand& value) {
  const Selection sel = normalize(a.gshape(), a.split(), indices, "setitem");
  at::Tensor dst = ascending_view(a, sel);  // undefined where this rank owns none of it
  const at::Device device = a.larray().device();

  if (!value.is_array()) {
    if (dst.defined() && dst.numel() > 0) {
      const c10::Scalar& v = value.scalar();
      dst.copy_(at::scalar_tensor(v, at::TensorOptions().dtype(v.type()).device(device)));
    }
    return;
  }

  const DNDarray& val = value.array();
  const int64_t m = static_cast<int64_t>(sel.shape.size()), vn = val.ndim(), lead = vn - m;
  if (val.comm() != a.comm())
    throw ValueError(fmt::format("setitem: the value ({}) lives on a different communicator than the {}",
                                 describe(val), describe(a)));
  // numpy's assignment broadcast: value axes line up with the selection's trailing ones;
  // extra leading value axes must have extent 1.
  bool fits = true;
  for (int64_t j = 0; j < vn; ++j) {
    const int64_t vd = val.gshape()[static_cast<size_t>(j)];
    if (j < lead)
      fits &= vd == 1;
    else
      fits &= vd == 1 || vd == sel.shape[static_cast<size_t>(j - lead)];
  }
  if (!fits)
    throw ShapeError(
        fmt::format("setitem: could not broadcast the value of shape {} split={} into the selection "
                    "of shape {} of the {}",
                    shape_str(val.gshape()), split_str(val.split()), shape_str(sel.shape), describe(a)));

  // The value's axis j stands for selection axis j - lead; the reversed ones are flipped,
  // the selection's split axis globally (before distributing), the others locally.
  const int64_t vr = sel.split ? *sel.split + lead : -1;  // the value axis along the result's split
  std::vector<int64_t> local_flips;
  {
    int64_t r = 0;
    for (const AxisSel& s : sel.axes) {
      if (s.drop) continue;
      const int64_t j = r + lead;
      if (s.reversed() && j >= 0 && j != vr && val.gshape()[static_cast<size_t>(j)] > 1)
        local_flips.push_back(j);
      ++r;
    }
  }

  // Bring the value to the ranks owning its destinations.
  at::Tensor v;
  if (!a.split()) {
    v = allgather(val);  // every rank writes the whole selection
  } else if (!sel.split) {
    // An integer on the split axis: the selection is one slab on its owner.
    const int owner = owner_of(sel.axes[static_cast<size_t>(*a.split())].start, a.counts());
    v = val.split() ? gather(val, owner) : val.larray();
  } else if (vr >= 0 &&
             val.gshape()[static_cast<size_t>(vr)] == sel.shape[static_cast<size_t>(*sel.split)]) {
    // The value runs along the split axis: cut it like the destinations. In ascending
    // order rank r owns positions [j0, j1) of the selection, in rank order; a reversed
    // selection takes the value reversed first.
    const AxisSel& ss = sel.axes[static_cast<size_t>(*a.split())];
    DNDarray w = val;
    if (ss.reversed()) {
      std::vector<Index> flip(static_cast<size_t>(vn), Slice{});
      flip[static_cast<size_t>(vr)] = Slice{std::nullopt, std::nullopt, -1};
      w = getitem(val, flip);
    }
    v = resplit(w, vr, owned_counts(a, ss)).larray();
  } else {
    v = allgather(val);  // broadcast along the split axis: every owner needs all of it
  }
  if (!dst.defined() || dst.numel() == 0) return;

  if (!local_flips.empty()) v = v.flip(local_flips);
  // Drop the extra leading unit axes so that torch broadcasts the rest.
  if (lead > 0) v = v.reshape(at::IntArrayRef(v.sizes()).slice(static_cast<size_t>(lead)));
  if (v.device() != device) v = v.to(device);
  // The value may be (a view of) the target itself: copy_ needs disjoint memory.
  if (v.is_alias_of(a.larray())) v = v.clone();
  dst.copy_(v);
}

std::pair<Shape, Split> getitem_meta(const Shape& gshape, Split split,
                                     const std::vector<Index>& indices) {
  const Selection sel = normalize(gshape, split, indices, "getitem");
  return {sel.shape, sel.split};
}

}  // namespace dnd
