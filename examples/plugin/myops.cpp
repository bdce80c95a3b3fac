// An example dnd plugin: one op, `smoothstep`, registered exactly like a built-in op.
//
//   build/dnd ops smoothstep --plugin build/libmyops.so
//   build/dnd run pipe.yaml --plugin build/libmyops.so      (or `plugins: [build/libmyops.so]`)
//
// The op is elementwise, so its infer keeps the input's shape, split and dtype, and its run
// works on the rank's block alone.
#include "src/core/dndarray.h"
#include "src/core/error.h"
#include "src/pipeline/plugin.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

DND_PLUGIN("myops");

namespace {

using namespace dnd;
using namespace dnd::pipeline;

OpDef smoothstep_op() {
  OpDef d;
  d.name = "smoothstep";
  d.summary = "3t^2 - 2t^3 of t = (x - edge0) / (edge1 - edge0) clamped to [0, 1] (plugin example)";
  d.category = "plugin";
  d.params = {ParamSpec{"edge0", ParamKind::number, "where the ramp starts", false, "0"},
              ParamSpec{"edge1", ParamKind::number, "where the ramp ends", false, "1"}};
  d.infer = [](const InferContext& c) {
    const ArrayMeta& a = c.array(0);
    if (!at::isFloatingType(a.dtype))
      throw TypeError(fmt::format("smoothstep: needs a float array, got {}", dtype_name(a.dtype)));
    if (!(c.params.number("edge1") > c.params.number("edge0")))
      throw ValueError("smoothstep: edge1 must be greater than edge0");
    InferResult r;
    r.outputs.push_back(a);  // same shape, split and dtype: no communication
    return r;
  };
  d.run = [](RunContext& c) {
    const DNDarray& a = c.array(0);
    const double e0 = c.params.number("edge0"), e1 = c.params.number("edge1");
    at::Tensor t = ((a.larray() - e0) / (e1 - e0)).clamp(0.0, 1.0);
    at::Tensor y = t * t * (3.0 - 2.0 * t);
    std::vector<DNDarray> out;
    out.emplace_back(y, a.gshape(), a.split(), a.comm(), a.counts());
    return out;
  };
  return d;
}
DND_REGISTER_OP(smoothstep_op());

}  // namespace
