// Helpers shared by the op definitions. The rules themselves are core's meta functions.
#pragma once

#include "src/core/dndarray.h"
#include "src/core/error.h"
#include "src/pipeline/registry.h"

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

// An empty tensor standing for an array of `m`'s dtype: 0-d arrays take part in torch's
// type promotion like numbers, so they stay 0-d.
inline at::Tensor dtype_probe(const ArrayMeta& m) {
  return m.shape.empty() ? at::empty({}, at::dtype(m.dtype)) : at::empty({0}, at::dtype(m.dtype));
}

// A result of one array, and what making it sends and needs besides.
inline InferResult single(ArrayMeta m, int64_t comm_bytes = 0, int64_t temp_bytes = 0) {
  InferResult r;
  r.outputs.push_back(std::move(m));
  r.comm_bytes = comm_bytes;
  r.temp_bytes = temp_bytes;
  return r;
}

inline std::vector<DNDarray> one(DNDarray a) {
  std::vector<DNDarray> v;
  v.push_back(std::move(a));
  return v;
}

}  // namespace dnd::pipeline::ops
