// Sorting ops: sort (the values) and argsort (the global int64 indices) along any axis,
// stable, ascending or descending, with torch's NaN order (last ascending, first
// descending). Along the split axis core's distributed sample sort (core/sort.h).
#include "src/core/sort.h"
#include "src/pipeline/ops/common.h"

namespace dnd::pipeline::ops {
namespace {

OpDef sort_op(const char* name, const char* summary, bool values) {
  OpDef d;
  d.name = name;
  d.summary = summary;
  d.category = "sorting";
  d.params = {ParamSpec{"axis", ParamKind::integer, "the axis to sort along", false, "-1"},
              ParamSpec{"descending", ParamKind::boolean,
                        "largest first (equal values keep their order; NaN first)", false, "false"}};
  d.infer = [values](const InferContext& c) {
    if (values) return sort_values_meta(c.array(0), c.params.integer("axis"), c.nranks);
    OpMeta m = sort_meta(c.array(0), c.params.integer("axis"), c.nranks);
    // The values exist while the op runs.
    m.temp_bytes += max_block_bytes(m.outputs[0], c.nranks);
    m.outputs.erase(m.outputs.begin());
    return m;
  };
  d.run = [values](RunContext& c) {
    const int64_t axis = c.params.integer("axis");
    const bool descending = c.params.boolean("descending");
    if (values) return one(sort_values(c.array(0), axis, descending));  // no indices made
    return one(sort(c.array(0), axis, descending).second);
  };
  return d;
}
DND_REGISTER_OP(sort_op("sort", "sorted values along an axis (stable; numpy.sort, torch.sort)", true));
DND_REGISTER_OP(sort_op("argsort",
                        "global int64 indices that sort along an axis (stable; numpy.argsort)", false));

}  // namespace
}  // namespace dnd::pipeline::ops
