#include "core/joining.h"

#include "core/error.h"
#include "core/manipulation.h"
#include "core/movement_impl.h"
#include "core/shape_ops.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace dnd {

namespace {

std::string describe(const std::vector<DNDarray>& arrays) {
  std::string s;
  for (const DNDarray& a : arrays)
    s += fmt::format("{}{} split={}", s.empty() ? "" : ", ", shape_str(a.gshape()), split_str(a.split()));
  return s;
}

}  // namespace

DNDarray concatenate(const std::vector<DNDarray>& arrays, int64_t axis) {
  if (arrays.empty()) throw ValueError("concatenate: need at least one array");
  const DNDarray& first = arrays[0];
  const int64_t nd = first.ndim();
  if (nd == 0) throw ValueError("concatenate: zero-dimensional arrays cannot be concatenated");
  const int64_t ax = normalize_axis(axis, nd, "concatenate");
  Shape r = first.gshape();
  r[static_cast<size_t>(ax)] = 0;
  Dtype dt = first.dtype();
  Split split;
  for (const DNDarray& a : arrays) {
    if (a.comm() != first.comm()) throw ValueError("concatenate: arrays live on different communicators");
    if (a.device() != first.device()) throw TypeError("concatenate: arrays live on different devices");
    bool fits = a.ndim() == nd;
    for (int64_t d = 0; fits && d < nd; ++d)
      fits = d == ax || a.gshape()[static_cast<size_t>(d)] == first.gshape()[static_cast<size_t>(d)];
    if (!fits)
      throw ShapeError(fmt::format("concatenate: along axis {} all other extents must match: {}", ax, describe(arrays)));
    r[static_cast<size_t>(ax)] += a.gshape()[static_cast<size_t>(ax)];
    dt = c10::promoteTypes(dt, a.dtype());
    if (!split && a.split()) split = a.split();
  }
  const Communicator& comm = first.comm();
  if (!split) {
    std::vector<at::Tensor> parts;
    for (const DNDarray& a : arrays) parts.push_back(a.larray().to(dt));
    return DNDarray(at::cat(parts, ax), r, kReplicated, comm);
  }
  const std::vector<int64_t> counts = balanced_counts(r[static_cast<size_t>(*split)], comm.size());
  at::Tensor out = at::empty(local_shape(r, split, counts[static_cast<size_t>(comm.rank())]),
                             first.larray().options().dtype(dt));
  int64_t offset = 0;
  for (const DNDarray& a : arrays) {
    detail::place(astype(a, dt, /*copy=*/false), out, r, split, counts, ax, offset);
    offset += a.gshape()[static_cast<size_t>(ax)];
  }
  return DNDarray(out, r, split, comm, counts);
}

DNDarray stack(const std::vector<DNDarray>& arrays, int64_t axis) {
  if (arrays.empty()) throw ValueError("stack: need at least one array");
  const int64_t ax = normalize_axis(axis, arrays[0].ndim() + 1, "stack");
  std::vector<DNDarray> expanded;
  for (const DNDarray& a : arrays) {
    if (a.gshape() != arrays[0].gshape())
      throw ShapeError(fmt::format("stack: all input arrays must have the same shape: {}", describe(arrays)));
    expanded.push_back(expand_dims(a, ax));
  }
  return concatenate(expanded, ax);
}

}  // namespace dnd
