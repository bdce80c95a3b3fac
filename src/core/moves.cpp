#include "src/core/moves.h"

#include "src/core/distribution.h"
#include "src/core/error.h"

#include <algorithm>

namespace dnd {

namespace {
int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) throw ShapeError("bytes moved do not fit in 64 bits");
  return r;
}
}  // namespace

std::vector<int64_t> place_rank_bytes(const Shape& g, Split source, std::vector<int64_t> scounts,
                                      const Shape& rshape, Split target, std::vector<int64_t> tcounts,
                                      int64_t shift_axis, int64_t shift, int64_t esize, int p) {
  std::vector<int64_t> out(static_cast<size_t>(std::max(p, 1)), 0);
  if (!source || p <= 1) return out;
  if (scounts.empty()) scounts = balanced_counts(g[static_cast<size_t>(*source)], p);
  if (target && tcounts.empty()) tcounts = balanced_counts(rshape[static_cast<size_t>(*target)], p);
  const std::vector<int64_t> soff = counts_to_offsets(scounts);
  const std::vector<int64_t> toff = target ? counts_to_offsets(tcounts) : std::vector<int64_t>{};
  for (int r = 0; r < p; ++r) {
    const auto ur = static_cast<size_t>(r);
    // r's source box, and its intersection with r's own target box (what stays).
    int64_t box = esize, kept = esize;
    for (size_t d = 0; d < g.size(); ++d) {
      int64_t lo = 0, n = g[d];
      if (static_cast<int64_t>(d) == *source) lo = soff[ur], n = scounts[ur];
      box = checked_mul(box, n);
      if (static_cast<int64_t>(d) == shift_axis) lo += shift;
      int64_t tlo = 0, tn = rshape[d];
      if (target && static_cast<int64_t>(d) == *target) tlo = toff[ur], tn = tcounts[ur];
      const int64_t hi = std::min(lo + n, tlo + tn), l = std::max(lo, tlo);
      kept = checked_mul(kept, std::max<int64_t>(0, hi - l));
    }
    // Every element of the box lands in exactly one target block (or, replicated, in all).
    out[ur] = target ? box - kept : checked_mul(box, p - 1);
  }
  return out;
}

int64_t resplit_bytes(const ArrayMeta& m, Split to, int p) {
  if (!m.split || (to && *to == *m.split)) return 0;
  return max_of(place_rank_bytes(m.shape, m.split, {}, m.shape, to, {}, -1, 0,
                                 static_cast<int64_t>(c10::elementSize(m.dtype)), p));
}

}  // namespace dnd
