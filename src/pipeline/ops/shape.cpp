// Shape ops: transpose, reshape, flatten, squeeze, expand_dims, slice, concatenate, stack.
#include "core/indexing.h"
#include "core/joining.h"
#include "core/shape_ops.h"
#include "pipeline/ops/common.h"

#include <algorithm>

namespace dnd::pipeline::ops {
namespace {

InferResult single(ArrayMeta m, int64_t comm = 0) {
  InferResult r;
  r.outputs.push_back(std::move(m));
  r.comm_bytes = comm;
  return r;
}

OpDef transpose_op() {
  OpDef d;
  d.name = "transpose";
  d.summary = "permute the axes (reversed by default); the split axis moves with its data";
  d.category = "shape";
  d.params = {ParamSpec{"axes", ParamKind::int_list, "the new order of the axes (default: reversed)"}};
  d.infer = [](const InferContext& c) {
    const ArrayMeta& a = c.array(0);
    const int64_t nd = static_cast<int64_t>(a.shape.size());
    std::vector<int64_t> axes = c.params.int_list("axes");
    if (axes.empty())
      for (int64_t k = nd - 1; k >= 0; --k) axes.push_back(k);
    if (static_cast<int64_t>(axes.size()) != nd)
      throw ValueError(fmt::format("transpose: axes {} do not match an array of {} dimensions", shape_str(axes), nd));
    std::vector<bool> seen(static_cast<size_t>(nd), false);
    ArrayMeta m = a;
    for (size_t k = 0; k < axes.size(); ++k) {
      const int64_t ax = normalize_axis(axes[k], nd, "transpose");
      if (seen[static_cast<size_t>(ax)]) throw ValueError(fmt::format("transpose: repeated axis {} in axes", axes[k]));
      seen[static_cast<size_t>(ax)] = true;
      m.shape[k] = a.shape[static_cast<size_t>(ax)];
      if (a.split && *a.split == ax) m.split = static_cast<int64_t>(k);
    }
    return single(m);
  };
  d.run = [](RunContext& c) { return one(transpose(c.array(0), c.params.int_list("axes"))); };
  return d;
}
DND_REGISTER_OP(transpose_op());

Shape resolve_shape(const Shape& from, Shape to) {
  int64_t known = 1, unknown = -1;
  for (size_t k = 0; k < to.size(); ++k) {
    if (to[k] == -1) {
      if (unknown >= 0) throw ValueError("reshape: only one extent can be -1");
      unknown = static_cast<int64_t>(k);
    } else {
      known *= to[k];
    }
  }
  const int64_t n = shape_numel(from);
  if (unknown >= 0) {
    if (known == 0 || n % known != 0)
      throw ShapeError(fmt::format("reshape: cannot reshape an array of shape {} into {}", shape_str(from), shape_str(to)));
    to[static_cast<size_t>(unknown)] = n / known;
  }
  if (shape_numel(to) != n)
    throw ShapeError(fmt::format("reshape: cannot reshape an array of shape {} ({} elements) into {}", shape_str(from), n,
                                 shape_str(to)));
  return to;
}

InferResult reshape_meta(const InferContext& c, const Shape& target, Split given) {
  const ArrayMeta& a = c.array(0);
  ArrayMeta m = a;
  m.shape = resolve_shape(a.shape, target);
  const int64_t nd = static_cast<int64_t>(m.shape.size());
  m.split = given ? Split(normalize_axis(*given, nd, "reshape")) : (a.split && nd > 0 ? Split(0) : kReplicated);
  int64_t comm = 0;
  if (a.split && m.split) comm = move_bytes(a, c.nranks);
  if (a.split && !m.split) comm = allgather_bytes(a, c.nranks);
  return single(m, comm);
}

OpDef reshape_op() {
  OpDef d;
  d.name = "reshape";
  d.summary = "a new shape for the same elements in row-major order (one extent may be -1)";
  d.category = "shape";
  d.params = {ParamSpec{"shape", ParamKind::int_list, "the new shape, such as [4096, -1]", true},
              ParamSpec{"split", ParamKind::split, "the result's split (default: 0 if the input is split)"}};
  d.infer = [](const InferContext& c) {
    Split given = c.params.is_none("split") ? kReplicated : c.params.split("split");
    InferResult r = reshape_meta(c, c.params.int_list("shape"), given);
    if (!given && c.params.given("split")) {  // split: none written out: replicate
      if (r.outputs[0].split) r.comm_bytes = allgather_bytes(c.array(0), c.nranks);
      r.outputs[0].split = kReplicated;
    }
    return r;
  };
  d.run = [](RunContext& c) {
    const ArrayMeta& m = c.planned[0];
    return one(reshape(c.array(0), m.shape, std::optional<Split>(m.split)));
  };
  return d;
}
DND_REGISTER_OP(reshape_op());

OpDef flatten_op() {
  OpDef d;
  d.name = "flatten";
  d.summary = "the elements as one axis, in row-major order";
  d.category = "shape";
  d.infer = [](const InferContext& c) { return reshape_meta(c, Shape{-1}, kReplicated); };
  d.run = [](RunContext& c) { return one(flatten(c.array(0))); };
  return d;
}
DND_REGISTER_OP(flatten_op());

OpDef squeeze_op() {
  OpDef d;
  d.name = "squeeze";
  d.summary = "remove axes of extent 1 (all of them by default)";
  d.category = "shape";
  d.params = {ParamSpec{"axis", ParamKind::axes, "axis or axes to remove (each of extent 1)"}};
  d.infer = [](const InferContext& c) {
    const ArrayMeta& a = c.array(0);
    const int64_t nd = static_cast<int64_t>(a.shape.size());
    std::vector<bool> drop(static_cast<size_t>(nd), false);
    if (auto axes = c.params.axes("axis")) {
      for (int64_t ax : *axes) {
        const int64_t d = normalize_axis(ax, nd, "squeeze");
        if (a.shape[static_cast<size_t>(d)] != 1)
          throw ValueError(fmt::format("squeeze: axis {} of {} has extent {}, not 1", ax, shape_str(a.shape),
                                       a.shape[static_cast<size_t>(d)]));
        drop[static_cast<size_t>(d)] = true;
      }
    } else {
      for (int64_t d = 0; d < nd; ++d) drop[static_cast<size_t>(d)] = a.shape[static_cast<size_t>(d)] == 1;
    }
    ArrayMeta m = a;
    m.shape.clear();
    m.split = kReplicated;
    for (int64_t d = 0; d < nd; ++d) {
      if (drop[static_cast<size_t>(d)]) continue;
      if (a.split && *a.split == d) m.split = static_cast<int64_t>(m.shape.size());
      m.shape.push_back(a.shape[static_cast<size_t>(d)]);
    }
    return single(m);
  };
  d.run = [](RunContext& c) {
    const auto axes = c.params.axes("axis");
    return one(squeeze(c.array(0), axes ? *axes : std::vector<int64_t>{}));
  };
  return d;
}
DND_REGISTER_OP(squeeze_op());

OpDef expand_dims_op() {
  OpDef d;
  d.name = "expand_dims";
  d.summary = "insert an axis of extent 1";
  d.category = "shape";
  d.params = {ParamSpec{"axis", ParamKind::integer, "where the new axis goes", true}};
  d.infer = [](const InferContext& c) {
    ArrayMeta m = c.array(0);
    const int64_t ax = normalize_axis(c.params.integer("axis"), static_cast<int64_t>(m.shape.size()) + 1, "expand_dims");
    m.shape.insert(m.shape.begin() + ax, 1);
    if (m.split && *m.split >= ax) m.split = *m.split + 1;
    return single(m);
  };
  d.run = [](RunContext& c) { return one(expand_dims(c.array(0), c.params.integer("axis"))); };
  return d;
}
DND_REGISTER_OP(expand_dims_op());

OpDef slice_op() {
  OpDef d;
  d.name = "slice";
  d.summary = "numpy basic indexing: index: \"10:20, ::2, 0, ...\" (integers drop the axis)";
  d.category = "shape";
  d.params = {ParamSpec{"index", ParamKind::index, "per axis an integer or start:stop:step; '...' fills", true}};
  d.infer = [](const InferContext& c) {
    const ArrayMeta& a = c.array(0);
    const auto [shape, split] = getitem_meta(a.shape, a.split, c.params.index("index"));
    ArrayMeta m = a;
    m.shape = shape;
    m.split = split;
    int64_t comm = 0;
    if (a.split && !split) {  // an integer on the split axis: its owner broadcasts the slab
      m.split = kReplicated;
      comm = global_bytes(m) * (c.nranks > 1 ? 1 : 0);
    }
    return single(m, comm);
  };
  d.run = [](RunContext& c) { return one(getitem(c.array(0), c.params.index("index"))); };
  return d;
}
DND_REGISTER_OP(slice_op());

InferResult join_meta(const InferContext& c, const char* op, bool stack) {
  const ArrayMeta& first = c.array(0);
  const int64_t nd = static_cast<int64_t>(first.shape.size());
  if (!stack && nd == 0) throw ValueError("concatenate: zero-dimensional arrays cannot be concatenated");
  const int64_t ax = normalize_axis(c.params.integer("axis"), stack ? nd + 1 : nd, op);
  ArrayMeta m = first;
  m.split = kReplicated;
  int64_t comm = 0;
  std::string shapes;
  for (const InputMeta& in : c.inputs) shapes += (shapes.empty() ? "" : ", ") + shape_str(in.array.shape);
  if (!stack) m.shape[static_cast<size_t>(ax)] = 0;
  for (const InputMeta& in : c.inputs) {
    const ArrayMeta& a = in.array;
    bool fits = static_cast<int64_t>(a.shape.size()) == nd;
    for (int64_t d = 0; fits && d < nd; ++d)
      fits = (!stack && d == ax) || a.shape[static_cast<size_t>(d)] == first.shape[static_cast<size_t>(d)];
    if (!fits)
      throw ShapeError(stack ? fmt::format("stack: all arrays must have the same shape: {}", shapes)
                             : fmt::format("concatenate: along axis {} all other extents must match: {}", ax, shapes));
    if (!stack) m.shape[static_cast<size_t>(ax)] += a.shape[static_cast<size_t>(ax)];
    m.dtype = c10::promoteTypes(m.dtype, a.dtype);
    if (!m.split && a.split) m.split = a.split;
    comm += move_bytes(a, c.nranks);
  }
  if (stack) {
    m.shape.insert(m.shape.begin() + ax, static_cast<int64_t>(c.inputs.size()));
    if (m.split && *m.split >= ax) m.split = *m.split + 1;
  }
  return single(m, m.split ? comm : 0);
}

OpDef join_op(const char* name, const char* summary, bool stack) {
  OpDef d;
  d.name = name;
  d.summary = summary;
  d.category = "shape";
  d.min_inputs = 1;
  d.max_inputs = -1;
  d.params = {ParamSpec{"axis", ParamKind::integer, stack ? "the new axis" : "the axis to join along", false, "0"}};
  d.infer = [name, stack](const InferContext& c) { return join_meta(c, name, stack); };
  d.run = [stack](RunContext& c) {
    std::vector<DNDarray> arrays;
    for (size_t k = 0; k < c.inputs.size(); ++k) arrays.push_back(c.array(k));
    const int64_t ax = c.params.integer("axis");
    return one(stack ? dnd::stack(arrays, ax) : concatenate(arrays, ax));
  };
  return d;
}
DND_REGISTER_OP(join_op("concatenate", "join arrays along an existing axis (inputs: [A, B, ...])", false));
DND_REGISTER_OP(join_op("stack", "join arrays of one shape along a new axis (inputs: [A, B, ...])", true));

}  // namespace
}  // namespace dnd::pipeline::ops
