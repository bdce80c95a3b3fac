// Helpers shared by the op definitions: inference rules that mirror the core's.
#pragma once

#include "core/dndarray.h"
#include "core/error.h"
#include "pipeline/registry.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <string>
#include <vector>

namespace dnd::pipeline::ops {

// A split given as a parameter, checked against the array's rank (none stays none).
inline Split checked_split(Split s, int64_t ndim, const char* op) {
  if (!s) return s;
  return normalize_axis(*s, ndim, op);
}

// Bytes the busiest rank sends to move an array between two distributions (every
// element but its own share of the target leaves it).
inline int64_t move_bytes(const ArrayMeta& m, int nranks) {
  if (nranks <= 1) return 0;
  return max_block_bytes(m, nranks) * (nranks - 1) / nranks;
}
// Bytes the busiest rank sends to make a split array whole on every rank.
inline int64_t allgather_bytes(const ArrayMeta& m, int nranks) {
  if (nranks <= 1 || !m.split) return 0;
  return max_block_bytes(m, nranks) * (nranks - 1);
}

// An empty tensor standing for an array of `m`'s dtype: 0-d arrays take part in torch's
// type promotion like numbers, so they stay 0-d.
inline at::Tensor dtype_probe(const ArrayMeta& m) {
  return m.shape.empty() ? at::empty({}, at::dtype(m.dtype)) : at::empty({0}, at::dtype(m.dtype));
}

inline std::vector<DNDarray> one(DNDarray a) {
  std::vector<DNDarray> v;
  v.push_back(std::move(a));
  return v;
}

}  // namespace dnd::pipeline::ops
