// Exact bytes of data movement, for the meta functions: what each rank sends when an
// array moves between two distributions, computed by the rule the movement itself
// follows (manipulation.cpp's place, shape_ops.cpp's reshape), so that a plan's
// comm_bytes equal what comm_count.h counts during the run. meta.h's move_bytes is the
// older estimate (every element but a 1/p share leaves the busiest rank).
#pragma once

#include "src/core/meta.h"

#include <cstdint>
#include <vector>

namespace dnd {

// Bytes each of p ranks sends when detail::place moves an array of global shape g,
// split `source` with counts `scounts` (empty: balanced), into the distribution (target,
// tcounts; empty: balanced) of an array of shape rshape, shifted by `shift` along
// shift_axis (-1: none). A replicated source sends nothing; a replicated target gets
// every block from every rank.
std::vector<int64_t> place_rank_bytes(const Shape& g, Split source, std::vector<int64_t> scounts,
                                      const Shape& rshape, Split target, std::vector<int64_t> tcounts,
                                      int64_t shift_axis, int64_t shift, int64_t esize, int p);

// The busiest rank's bytes of a resplit of m to `to` (balanced blocks on both sides).
int64_t resplit_bytes(const ArrayMeta& m, Split to, int p);

inline int64_t max_of(const std::vector<int64_t>& v) {
  int64_t m = 0;
  for (int64_t x : v) m = x > m ? x : m;
  return m;
}

}  // namespace dnd
