#include "src/core/joining.h"

#include "src/core/error.h"
#include "src/core/manipulation.h"
#include "src/core/movement_impl.h"
#include "src/core/moves.h"
#include "src/core/shape_ops.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace dnd {

namespace {

std::string describe(const std::vector<ArrayMeta>& arrays) {
  std::string s;
  for (const ArrayMeta& a : arrays)
    s += fmt::format("{}{} split={}", s.empty() ? "" : ", ", shape_str(a.shape), split_str(a.split));
  return s;
}

std::vector<ArrayMeta> metas_of(const std::vector<DNDarray>& arrays) {
  std::vector<ArrayMeta> m;
  for (const DNDarray& a : arrays) m.push_back(meta_of(a));
  return m;
}

}  // namespace

OpMeta concatenate_meta(const std::vector<ArrayMeta>& arrays, int64_t axis, int nranks) {
  DND_CHECK_VALUE(!arrays.empty(), "concatenate: need at least one array");
  const ArrayMeta& first = arrays[0];
  const int64_t nd = static_cast<int64_t>(first.shape.size());
  DND_CHECK_VALUE(nd > 0, "concatenate: zero-dimensional arrays cannot be concatenated");
  const int64_t ax = normalize_axis(axis, nd, "concatenate");
  ArrayMeta m = first;
  m.shape[static_cast<size_t>(ax)] = 0;
  m.split = kReplicated;
  for (const ArrayMeta& a : arrays) {
    DND_CHECK_TYPE(a.device == first.device, "concatenate: arrays live on different devices");
    bool fits = static_cast<int64_t>(a.shape.size()) == nd;
    for (int64_t d = 0; fits && d < nd; ++d)
      fits = d == ax || a.shape[static_cast<size_t>(d)] == first.shape[static_cast<size_t>(d)];
    DND_CHECK_SHAPE(fits, "concatenate: along axis {} all other extents must match: {}", ax,
                    describe(arrays));
    m.shape[static_cast<size_t>(ax)] += a.shape[static_cast<size_t>(ax)];
    m.dtype = c10::promoteTypes(m.dtype, a.dtype);
    if (!m.split && a.split) m.split = a.split;
  }
  // Each split operand's elements travel to their owners in the result (detail::place).
  std::vector<int64_t> sent(static_cast<size_t>(std::max(nranks, 1)), 0);
  int64_t offset = 0;
  for (const ArrayMeta& a : arrays) {
    if (m.split) {
      const auto per = place_rank_bytes(a.shape, a.split, {}, m.shape, m.split, {}, ax, offset,
                                        static_cast<int64_t>(c10::elementSize(m.dtype)), nranks);
      for (size_t r = 0; r < sent.size(); ++r) sent[r] += per[r];
    }
    offset += a.shape[static_cast<size_t>(ax)];
  }
  return OpMeta{{m}, max_of(sent)};
}

OpMeta stack_meta(const std::vector<ArrayMeta>& arrays, int64_t axis, int nranks) {
  DND_CHECK_VALUE(!arrays.empty(), "stack: need at least one array");
  const int64_t ax = normalize_axis(axis, static_cast<int64_t>(arrays[0].shape.size()) + 1, "stack");
  std::vector<ArrayMeta> expanded;
  for (const ArrayMeta& a : arrays) {
    DND_CHECK_SHAPE(a.shape == arrays[0].shape, "stack: all input arrays must have the same shape: {}",
                    describe(arrays));
    expanded.push_back(expand_dims_meta(a, ax).outputs[0]);
  }
  return concatenate_meta(expanded, ax, nranks);
}

DNDarray concatenate(const std::vector<DNDarray>& arrays, int64_t axis) {
  const ArrayMeta m =
      concatenate_meta(metas_of(arrays), axis, arrays.empty() ? 1 : arrays[0].comm().size()).outputs[0];
  const DNDarray& first = arrays[0];
  const int64_t ax = normalize_axis(axis, first.ndim(), "concatenate");
  for (const DNDarray& a : arrays)
    DND_CHECK_VALUE(a.comm() == first.comm(), "concatenate: arrays live on different communicators");
  const Shape& r = m.shape;
  const Dtype dt = m.dtype;
  const Split split = m.split;
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
  stack_meta(metas_of(arrays), axis, arrays.empty() ? 1 : arrays[0].comm().size());  // checks
  const int64_t ax = normalize_axis(axis, arrays[0].ndim() + 1, "stack");
  std::vector<DNDarray> expanded;
  for (const DNDarray& a : arrays) expanded.push_back(expand_dims(a, ax));
  return concatenate(expanded, ax);
}

}  // namespace dnd
