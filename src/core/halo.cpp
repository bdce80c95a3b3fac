// Row fetches and halos along the split axis: pieces computed from metadata on every rank,
// moved in one exchange().
#include "src/core/halo.h"

#include "src/core/communicator.h"
#include "src/core/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

namespace dnd {

Boundary parse_boundary(const std::string& name) {
  if (name == "none") return Boundary::none;
  if (name == "constant") return Boundary::constant;
  if (name == "reflect") return Boundary::reflect;
  if (name == "wrap") return Boundary::wrap;
  throw ValueError(fmt::format("unknown boundary '{}' (none, constant, reflect or wrap)", name));
}

const char* boundary_name(Boundary b) {
  switch (b) {
    case Boundary::none:
      return "none";
    case Boundary::constant:
      return "constant";
    case Boundary::reflect:
      return "reflect";
    case Boundary::wrap:
      return "wrap";
  }
  return "?";
}

namespace {

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// A run of positions of one wanted range mapped to source rows: position dst + i of range
// `range` holds global row src + i (forward) or src - i (reversed); src < 0: padding.
struct Segment {
  size_t range;
  int64_t dst;
  int64_t len;
  int64_t src;
  bool reversed;
};

void map_range(size_t k, const RowRange& rr, int64_t n, Boundary b, std::vector<Segment>& out) {
  const int64_t lo = rr.lo, hi = rr.hi;
  if (hi <= lo) return;
  auto add = [&](int64_t g0, int64_t g1, int64_t src, bool rev) {
    if (g1 > g0) out.push_back(Segment{k, g0 - lo, g1 - g0, src, rev});
  };
  switch (b) {
    case Boundary::none:
      if (lo < 0 || hi > n)
        throw ValueError(fmt::format(
            "fetch_rows: rows [{}, {}) reach outside an axis of {} rows (boundary none)", lo, hi, n));
      add(lo, hi, lo, false);
      return;
    case Boundary::constant: {
      const int64_t a = std::clamp<int64_t>(lo, 0, n), c = std::clamp<int64_t>(hi, 0, n);
      add(lo, std::min(hi, int64_t{0}), -1, false);
      add(std::max(lo, a), std::min(hi, std::max(a, c)), std::max(lo, a), false);
      add(std::max(lo, n), hi, -1, false);
      return;
    }
    case Boundary::wrap:
    case Boundary::reflect: {
      if (n == 0)
        throw ValueError(
            fmt::format("boundary {} needs rows to repeat, and the axis has none", boundary_name(b)));
      for (int64_t g = lo; g < hi;) {
        const int64_t seg = floor_div(g, n);
        const int64_t e = std::min(hi, (seg + 1) * n);
        if (b == Boundary::wrap || seg % 2 == 0)
          add(g, e, g - seg * n, false);
        else
          add(g, e, (seg + 1) * n - 1 - g, true);
        g = e;
      }
      return;
    }
  }
}

// One piece of a message: `len` rows of range `range` at `dst`, from the sender's local
// rows starting at `src_local` (taken in reverse order when `reversed`).
struct Piece {
  size_t range;
  int64_t dst;
  int64_t len;
  int64_t src_local;  // the lowest local source row
  bool reversed;
};

// For receiver r: per owner q, the pieces q contributes (in r's position order), and the
// padding segments.
struct Pieces {
  std::vector<std::vector<Piece>> from;  // by owner rank
  std::vector<Segment> pads;
};

Pieces pieces_for(const std::vector<RowRange>& ranges, const std::vector<int64_t>& counts,
                  const std::vector<int64_t>& offsets, int64_t n, Boundary b) {
  const int p = static_cast<int>(counts.size());
  Pieces P;
  P.from.resize(static_cast<size_t>(p));
  std::vector<Segment> segs;
  for (size_t k = 0; k < ranges.size(); ++k) map_range(k, ranges[k], n, b, segs);
  for (const Segment& s : segs) {
    if (s.src < 0) {
      P.pads.push_back(s);
      continue;
    }
    // Source rows [a, c) of the segment, split by owner.
    const int64_t a = s.reversed ? s.src - s.len + 1 : s.src;
    const int64_t c = a + s.len;
    int q = static_cast<int>(std::upper_bound(offsets.begin(), offsets.end(), a) - offsets.begin()) - 1;
    for (; q < p && offsets[static_cast<size_t>(q)] < c; ++q) {
      const int64_t qo = offsets[static_cast<size_t>(q)], qe = qo + counts[static_cast<size_t>(q)];
      const int64_t x0 = std::max(a, qo), x1 = std::min(c, qe);
      if (x1 <= x0) continue;
      Piece pc;
      pc.range = s.range;
      pc.len = x1 - x0;
      pc.src_local = x0 - qo;
      pc.reversed = s.reversed;
      pc.dst = s.reversed ? s.dst + (s.src - (x1 - 1)) : s.dst + (x0 - s.src);
      P.from[static_cast<size_t>(q)].push_back(pc);
    }
  }
  // Reversed pieces were found in source order; keep every list in destination order.
  for (auto& v : P.from)
    std::sort(v.begin(), v.end(), [](const Piece& x, const Piece& y) {
      return x.range != y.range ? x.range < y.range : x.dst < y.dst;
    });
  return P;
}

std::vector<int64_t> offsets_of(const std::vector<int64_t>& counts) {
  std::vector<int64_t> o(counts.size(), 0);
  for (size_t i = 1; i < counts.size(); ++i) o[i] = o[i - 1] + counts[i - 1];
  return o;
}

int64_t total(const std::vector<int64_t>& v) {
  int64_t s = 0;
  for (int64_t x : v) s += x;
  return s;
}

}  // namespace

int64_t fetch_rows_sent(const std::vector<int64_t>& counts,
                        const std::vector<std::vector<RowRange>>& wants, Boundary b, int rank) {
  const std::vector<int64_t> offsets = offsets_of(counts);
  const int64_t n = total(counts);
  int64_t rows = 0;
  for (size_t r = 0; r < wants.size(); ++r) {
    if (static_cast<int>(r) == rank) continue;
    const Pieces P = pieces_for(wants[r], counts, offsets, n, b);
    for (const Piece& pc : P.from[static_cast<size_t>(rank)]) rows += pc.len;
  }
  return rows;
}

std::vector<at::Tensor> fetch_rows(const DNDarray& a, const std::vector<std::vector<RowRange>>& wants,
                                   Boundary b, const c10::Scalar& value) {
  if (!a.split()) throw ValueError("fetch_rows: the array is not split (every rank holds every row)");
  const Communicator& comm = a.comm();
  const int p = comm.size(), me = comm.rank();
  DND_ASSERT(static_cast<int>(wants.size()) == p, "fetch_rows needs one list of ranges per rank");
  const int64_t s = *a.split();
  const std::vector<int64_t>& counts = a.counts();
  const std::vector<int64_t> offsets = offsets_of(counts);
  const int64_t n = a.gshape()[static_cast<size_t>(s)];
  const at::Tensor& local = a.larray();

  // This rank's outputs.
  std::vector<at::Tensor> outs;
  for (const RowRange& rr : wants[static_cast<size_t>(me)]) {
    std::vector<int64_t> shape = local.sizes().vec();
    shape[static_cast<size_t>(s)] = rr.size();
    outs.push_back(at::empty(shape, local.options()));
  }
  auto rows_of = [&](const at::Tensor& t, int64_t start, int64_t len) {
    return t.narrow(s, start, len);
  };
  auto source = [&](const Piece& pc) {
    at::Tensor v = rows_of(local, pc.src_local, pc.len);
    return pc.reversed ? v.flip({s}) : v;
  };
  auto direct = [](const std::vector<Piece>& v) { return v.size() == 1 && !v[0].reversed; };

  std::vector<at::Tensor> sends(static_cast<size_t>(p)), recvs(static_cast<size_t>(p));
  // What this rank sends to each other rank.
  for (int r = 0; r < p; ++r) {
    if (r == me) continue;
    const Pieces P = pieces_for(wants[static_cast<size_t>(r)], counts, offsets, n, b);
    const std::vector<Piece>& mine = P.from[static_cast<size_t>(me)];
    if (mine.empty()) continue;
    if (direct(mine)) {
      sends[static_cast<size_t>(r)] = source(mine[0]);
    } else {
      std::vector<at::Tensor> parts;
      for (const Piece& pc : mine) parts.push_back(source(pc));
      sends[static_cast<size_t>(r)] = at::cat(parts, s);
    }
  }
  // What this rank receives, its own rows and its padding.
  const Pieces P = pieces_for(wants[static_cast<size_t>(me)], counts, offsets, n, b);
  std::vector<std::pair<int, int64_t>> staged;  // (owner, rows) received into a buffer
  for (int q = 0; q < p; ++q) {
    const std::vector<Piece>& v = P.from[static_cast<size_t>(q)];
    if (v.empty()) continue;
    if (q == me) {
      for (const Piece& pc : v) rows_of(outs[pc.range], pc.dst, pc.len).copy_(source(pc));
      continue;
    }
    if (direct(v)) {
      recvs[static_cast<size_t>(q)] = rows_of(outs[v[0].range], v[0].dst, v[0].len);
    } else {
      int64_t len = 0;
      for (const Piece& pc : v) len += pc.len;
      std::vector<int64_t> shape = local.sizes().vec();
      shape[static_cast<size_t>(s)] = len;
      recvs[static_cast<size_t>(q)] = at::empty(shape, local.options());
      staged.emplace_back(q, len);
    }
  }
  for (const Segment& pad : P.pads) rows_of(outs[pad.range], pad.dst, pad.len).fill_(value);
  exchange(comm, sends, recvs);
  for (const auto& [q, len] : staged) {
    int64_t at = 0;
    for (const Piece& pc : P.from[static_cast<size_t>(q)]) {
      rows_of(outs[pc.range], pc.dst, pc.len).copy_(rows_of(recvs[static_cast<size_t>(q)], at, pc.len));
      at += pc.len;
    }
  }
  return outs;
}

std::vector<std::vector<RowRange>> halo_ranges(const std::vector<int64_t>& counts, int64_t h,
                                               Boundary b) {
  if (h < 0) throw ValueError(fmt::format("a halo must be 0 or more rows, got {}", h));
  const std::vector<int64_t> offsets = offsets_of(counts);
  const int64_t n = total(counts);
  std::vector<std::vector<RowRange>> w(counts.size());
  for (size_t r = 0; r < counts.size(); ++r) {
    RowRange before{offsets[r] - h, offsets[r]},
        after{offsets[r] + counts[r], offsets[r] + counts[r] + h};
    if (b == Boundary::none) {
      before.lo = std::max<int64_t>(before.lo, 0);
      after.hi = std::min(after.hi, n);
    }
    w[r] = {before, after};
  }
  return w;
}

int64_t halo_rows_sent(const std::vector<int64_t>& counts, int64_t h, Boundary b, int rank) {
  return fetch_rows_sent(counts, halo_ranges(counts, h, b), b, rank);
}

Halo get_halo(const DNDarray& a, int64_t h, Boundary b, const c10::Scalar& value) {
  if (!a.split()) throw ValueError("get_halo: the array is not split (every rank holds every row)");
  std::vector<at::Tensor> t = fetch_rows(a, halo_ranges(a.counts(), h, b), b, value);
  return Halo{t[0], t[1]};
}

at::Tensor with_halo(const DNDarray& a, int64_t h, Boundary b, const c10::Scalar& value, int64_t* before,
                     int64_t* after) {
  const Halo halo = get_halo(a, h, b, value);
  const int64_t s = *a.split();
  if (before) *before = halo.before.size(s);
  if (after) *after = halo.after.size(s);
  return at::cat({halo.before, a.larray(), halo.after}, s);
}

}  // namespace dnd
