// Cumulative ops along an axis: cumsum, cumprod (numpy's, axis none: the flattened array)
// and diff (numpy.diff with n, axis, prepend/append numbers). Plans and runs are core's
// (core/cumulative.h): along the split axis an exclusive scan of the ranks' block totals,
// or one row fetch for diff.
#include "src/core/cumulative.h"
#include "src/pipeline/ops/common.h"

namespace dnd::pipeline::ops {
namespace {

std::optional<Dtype> given_dtype(const Params& p) {
  if (p.is_none("dtype")) return std::nullopt;
  return p.dtype("dtype", at::kFloat);
}

OpDef scan_op(const char* name, const char* summary) {
  OpDef d;
  d.name = name;
  d.summary = summary;
  d.category = "cumulative";
  d.params = {
      ParamSpec{"axis", ParamKind::axis, "the axis to accumulate along (none: the flattened array)"},
      p_dtype("result and accumulator type (default: int64 for bool and integers, else the "
              "input's)")};
  const std::string op = name;
  d.infer = [op](const InferContext& c) {
    return cumulative_meta(op, c.array(0), c.params.axis("axis"), given_dtype(c.params), c.nranks);
  };
  d.run = [op](RunContext& c) {
    const auto axis = c.params.axis("axis");
    const auto dt = given_dtype(c.params);
    return one(op == "cumsum" ? cumsum(c.array(0), axis, dt) : cumprod(c.array(0), axis, dt));
  };
  return d;
}
DND_REGISTER_OP(scan_op("cumsum", "cumulative sum along an axis (numpy.cumsum; axis none: flattened)"));
DND_REGISTER_OP(scan_op("cumprod",
                        "cumulative product along an axis (numpy.cumprod; axis none: flattened)"));

std::optional<c10::Scalar> given_scalar(const Params& p, const char* name) {
  if (p.is_none(name)) return std::nullopt;
  return p.scalar(name);
}

OpDef diff_op() {
  OpDef d;
  d.name = "diff";
  d.summary = "n-th discrete difference along an axis (numpy.diff: out[i] = a[i+1] - a[i], n times)";
  d.category = "cumulative";
  d.params = {
      ParamSpec{"n", ParamKind::integer, "how many times to difference", false, "1"},
      ParamSpec{"axis", ParamKind::integer, "the axis to difference along", false, "-1"},
      ParamSpec{"prepend", ParamKind::scalar, "a value put before the first slice along the axis"},
      ParamSpec{"append", ParamKind::scalar, "a value put after the last slice along the axis"}};
  d.infer = [](const InferContext& c) {
    return diff_meta(c.array(0), c.params.integer("n"), c.params.integer("axis"),
                     given_scalar(c.params, "prepend"), given_scalar(c.params, "append"), c.nranks);
  };
  d.run = [](RunContext& c) {
    return one(diff(c.array(0), c.params.integer("n"), c.params.integer("axis"),
                    given_scalar(c.params, "prepend"), given_scalar(c.params, "append")));
  };
  return d;
}
DND_REGISTER_OP(diff_op());

}  // namespace
}  // namespace dnd::pipeline::ops
