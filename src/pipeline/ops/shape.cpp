// Shape ops: transpose, reshape, flatten, squeeze, expand_dims, slice, concatenate, stack.
#include "src/core/indexing.h"
#include "src/core/joining.h"
#include "src/core/shape_ops.h"
#include "src/pipeline/ops/common.h"

#include <algorithm>

namespace dnd::pipeline::ops {
namespace {

OpDef transpose_op() {
  OpDef d;
  d.name = "transpose";
  d.summary = "permute the axes (reversed by default); the split axis moves with its data";
  d.category = "shape";
  d.params = {ParamSpec{"axes", ParamKind::int_list, "the new order of the axes (default: reversed)"}};
  d.infer = [](const InferContext& c) { return transpose_meta(c.array(0), c.params.int_list("axes")); };
  d.run = [](RunContext& c) { return one(transpose(c.array(0), c.params.int_list("axes"))); };
  return d;
}
DND_REGISTER_OP(transpose_op());

OpDef reshape_op() {
  OpDef d;
  d.name = "reshape";
  d.summary = "a new shape for the same elements in row-major order (one extent may be -1)";
  d.category = "shape";
  d.params = {
      ParamSpec{"shape", ParamKind::int_list, "the new shape, such as [4096, -1]", true},
      ParamSpec{"split", ParamKind::split, "the result's split (default: 0 if the input is split)"}};
  d.infer = [](const InferContext& c) {
    std::optional<Split>
        want;  // unset: split along 0 if the input is split; none written out: replicate
    if (c.params.given("split"))
      want = c.params.is_none("split") ? kReplicated : c.params.split("split");
    return reshape_meta(c.array(0), c.params.int_list("shape"), want, c.nranks);
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
  d.infer = [](const InferContext& c) {
    return reshape_meta(c.array(0), Shape{-1}, std::nullopt, c.nranks);
  };
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
    const auto axes = c.params.axes("axis");
    return squeeze_meta(c.array(0), axes ? *axes : std::vector<int64_t>{}, c.nranks);
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
  d.infer = [](const InferContext& c) { return expand_dims_meta(c.array(0), c.params.integer("axis")); };
  d.run = [](RunContext& c) { return one(expand_dims(c.array(0), c.params.integer("axis"))); };
  return d;
}
DND_REGISTER_OP(expand_dims_op());

OpDef slice_op() {
  OpDef d;
  d.name = "slice";
  d.summary = "numpy basic indexing: index: \"10:20, ::2, 0, ...\" (integers drop the axis)";
  d.category = "shape";
  d.params = {
      ParamSpec{"index", ParamKind::index, "per axis an integer or start:stop:step; '...' fills", true}};
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

OpDef join_op(const char* name, const char* summary, bool stack) {
  OpDef d;
  d.name = name;
  d.summary = summary;
  d.category = "shape";
  d.min_inputs = 1;
  d.max_inputs = -1;
  d.params = {ParamSpec{"axis", ParamKind::integer, stack ? "the new axis" : "the axis to join along",
                        false, "0"}};
  d.infer = [stack](const InferContext& c) {
    std::vector<ArrayMeta> arrays;
    for (const InputMeta& in : c.inputs) arrays.push_back(in.array);
    const int64_t ax = c.params.integer("axis");
    return stack ? stack_meta(arrays, ax, c.nranks) : concatenate_meta(arrays, ax, c.nranks);
  };
  d.run = [stack](RunContext& c) {
    std::vector<DNDarray> arrays;
    for (size_t k = 0; k < c.inputs.size(); ++k) arrays.push_back(c.array(k));
    const int64_t ax = c.params.integer("axis");
    return one(stack ? dnd::stack(arrays, ax) : concatenate(arrays, ax));
  };
  return d;
}
DND_REGISTER_OP(join_op("concatenate", "join arrays along an existing axis (inputs: [A, B, ...])",
                        false));
DND_REGISTER_OP(join_op("stack", "join arrays of one shape along a new axis (inputs: [A, B, ...])",
                        true));

}  // namespace
}  // namespace dnd::pipeline::ops
