// How a global axis of n items is cut into one block per rank. Pure functions: no MPI.
//
//   rank r of p holds items [offset(r), offset(r) + count(r)) of the split axis;
//   balanced: count(r) = n / p + (r < n % p ? 1 : 0), so the first n % p ranks hold one more.
//
// Along every other axis each rank holds the whole extent, so a rank's block of an array
// with global shape g split along s has local shape g with g[s] replaced by count(r).
// A global index i along s lives on the rank r with offset(r) <= i < offset(r) + count(r)
// at local index i - offset(r).
#pragma once

#include "src/core/types.h"

#include <cstdint>
#include <vector>

namespace dnd {

struct Chunk {
  int64_t offset = 0;
  int64_t count = 0;
  int64_t end() const noexcept { return offset + count; }
  bool operator==(const Chunk& o) const noexcept { return offset == o.offset && count == o.count; }
};

// The balanced block of rank `rank` when n items are cut over `nranks` ranks.
Chunk balanced_chunk(int64_t n, int rank, int nranks);
// Every rank's count of the balanced cut.
std::vector<int64_t> balanced_counts(int64_t n, int nranks);
// Exclusive prefix sums of counts: the offsets.
std::vector<int64_t> counts_to_offsets(const std::vector<int64_t>& counts);
// Whether counts are the balanced cut of their sum.
bool is_balanced_counts(const std::vector<int64_t>& counts);
// The local shape of a rank holding `count` items of the split axis.
Shape local_shape(const Shape& gshape, Split split, int64_t count);
// The rank owning global index i, given offsets/counts (ranks with count 0 own nothing).
int owner_of(int64_t i, const std::vector<int64_t>& counts);

}  // namespace dnd
