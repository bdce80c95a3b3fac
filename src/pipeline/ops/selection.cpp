// Selection ops: filter (rows where a mask is true), nonzero, unique, topk and take, with
// core's rules (core/selection.h). filter, nonzero and unique report the result axes
// whose extent is only known when they run (extents.h).
#include "src/core/selection.h"
#include "src/pipeline/extents.h"
#include "src/pipeline/ops/common.h"

namespace dnd::pipeline::ops {
namespace {

InferResult bounded(BoundedMeta b) {
  report_at_most(std::move(b.at_most));
  return std::move(b.meta);
}

OpDef filter_op() {
  OpDef d;
  d.name = "filter";
  d.summary =
      "the rows (slices along axis) where a 1-D bool mask is true (inputs: [X, mask]; "
      "numpy's X[mask], compress)";
  d.category = "selection";
  d.min_inputs = d.max_inputs = 2;
  d.params = {ParamSpec{"axis", ParamKind::integer, "the axis the mask runs along", false, "0"},
              ParamSpec{"balance", ParamKind::boolean,
                        "rebalance the kept rows over the ranks (along the split axis, the result "
                        "keeps each rank's own rows otherwise)",
                        false, "false"}};
  d.infer = [](const InferContext& c) {
    return bounded(filter_meta(c.array(0), c.array(1), c.params.integer("axis"),
                               c.params.boolean("balance"), c.nranks));
  };
  d.run = [](RunContext& c) {
    return one(filter(c.array(0), c.array(1), c.params.integer("axis"), c.params.boolean("balance")));
  };
  return d;
}
DND_REGISTER_OP(filter_op());

OpDef nonzero_op() {
  OpDef d;
  d.name = "nonzero";
  d.summary =
      "int64 indices of the nonzero entries, one row each (count, ndim) in row-major order "
      "(numpy.argwhere, torch.nonzero)";
  d.category = "selection";
  d.infer = [](const InferContext& c) { return bounded(nonzero_meta(c.array(0), c.nranks)); };
  d.run = [](RunContext& c) { return one(nonzero(c.array(0))); };
  return d;
}
DND_REGISTER_OP(nonzero_op());

OpDef unique_op() {
  OpDef d;
  d.name = "unique";
  d.summary = "the sorted distinct values of the flattened array (numpy.unique; NaN once)";
  d.category = "selection";
  d.params = {
      ParamSpec{"return_counts", ParamKind::boolean, "also the result `counts` (int64)", false, "false"},
      ParamSpec{"return_inverse", ParamKind::boolean,
                "also the result `inverse`: each entry's position in the values (int64, the "
                "input's shape, as numpy 2)",
                false, "false"}};
  d.outputs = {"values", "counts", "inverse"};
  d.outputs_for = [](const Params& p) {
    std::vector<std::string> names;
    if (!p.boolean("return_counts") && !p.boolean("return_inverse")) return names;  // one: the id
    names.push_back("values");
    if (p.boolean("return_counts")) names.push_back("counts");
    if (p.boolean("return_inverse")) names.push_back("inverse");
    return names;
  };
  d.infer = [](const InferContext& c) {
    BoundedMeta b = unique_meta(c.array(0), c.nranks);
    const bool counts = c.params.boolean("return_counts"), inverse = c.params.boolean("return_inverse");
    // The results the step gives, in outputs_for's order.
    BoundedMeta r;
    r.meta = b.meta;
    r.meta.outputs.clear();
    for (size_t k = 0; k < 3; ++k)
      if (k == 0 || (k == 1 && counts) || (k == 2 && inverse)) {
        r.meta.outputs.push_back(b.meta.outputs[k]);
        r.at_most.push_back(b.at_most[k]);
      }
    return bounded(std::move(r));
  };
  d.run = [](RunContext& c) {
    const bool counts = c.params.boolean("return_counts"), inverse = c.params.boolean("return_inverse");
    UniqueResult u = unique(c.array(0), inverse);
    std::vector<DNDarray> out{std::move(u.values)};
    if (counts) out.push_back(std::move(u.counts));
    if (inverse) out.push_back(std::move(*u.inverse));
    return out;
  };
  return d;
}
DND_REGISTER_OP(unique_op());

OpDef topk_op() {
  OpDef d;
  d.name = "topk";
  d.summary =
      "the k largest (or smallest) entries along an axis, best first, and their global "
      "indices (torch.topk)";
  d.category = "selection";
  d.params = {
      ParamSpec{"k", ParamKind::integer, "how many entries", true},
      ParamSpec{"axis", ParamKind::integer, "the axis to select along", false, "-1"},
      ParamSpec{"largest", ParamKind::boolean, "the largest (false: the smallest)", false, "true"}};
  d.outputs = {"values", "indices"};
  d.infer = [](const InferContext& c) {
    return topk_meta(c.array(0), c.params.integer("k"), c.params.integer("axis"), c.nranks);
  };
  d.run = [](RunContext& c) {
    auto [v, i] =
        topk(c.array(0), c.params.integer("k"), c.params.integer("axis"), c.params.boolean("largest"));
    std::vector<DNDarray> out{std::move(v)};
    out.push_back(std::move(i));
    return out;
  };
  return d;
}
DND_REGISTER_OP(topk_op());

OpDef take_op() {
  OpDef d;
  d.name = "take";
  d.summary = "the entries at integer indices along an axis (inputs: [X, indices]; numpy.take)";
  d.category = "selection";
  d.min_inputs = d.max_inputs = 2;
  d.params = {ParamSpec{"axis", ParamKind::axis,
                        "the axis the indices run along (none: the flattened array, numpy's default)",
                        false, ""}};
  d.infer = [](const InferContext& c) {
    return take_meta(c.array(0), c.array(1), c.params.axis("axis"), c.nranks);
  };
  d.run = [](RunContext& c) { return one(take(c.array(0), c.array(1), c.params.axis("axis"))); };
  return d;
}
DND_REGISTER_OP(take_op());

}  // namespace
}  // namespace dnd::pipeline::ops
