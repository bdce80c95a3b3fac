// The reduce op: sum, prod, mean, var, std, min, max, argmin, argmax, any, all, norm,
// count_nonzero and numpy's NaN-ignoring nan* reductions over some axes (all by default). Reducing the
// split axis communicates partial results only.
#include "src/core/reductions.h"
#include "src/pipeline/ops/common.h"

namespace dnd::pipeline::ops {
namespace {

const std::vector<std::string> kFns{
    "sum",    "prod",   "mean",   "var",    "std",       "min",       "max",
    "argmin", "argmax", "any",    "all",    "norm",      "nansum",    "nanmean",
    "nanvar", "nanstd", "nanmin", "nanmax", "nanargmin", "nanargmax", "count_nonzero"};

bool uses_ddof(const std::string& fn) {
  return fn == "var" || fn == "std" || fn == "nanvar" || fn == "nanstd";
}

OpDef reduce_op() {
  OpDef d;
  d.name = "reduce";
  d.summary =
      "reduce over axes: sum, prod, mean, var, std, min, max, argmin, argmax, any, all, norm, "
      "count_nonzero and the NaN-ignoring nansum, nanmean, nanvar, nanstd, nanmin, nanmax, nanargmin, "
      "nanargmax";
  d.category = "reduction";
  d.params = {
      ParamSpec{"fn", ParamKind::choice, "the reduction", true, "", kFns},
      ParamSpec{"axis", ParamKind::axes,
                "axis or list of axes (none: all; the arg reductions take one)"},
      ParamSpec{"keepdims", ParamKind::boolean, "keep reduced axes with extent 1", false, "false"},
      ParamSpec{"ddof", ParamKind::integer, "var/std/nanvar/nanstd: delta degrees of freedom", false,
                "0"},
      ParamSpec{"ord", ParamKind::number, "norm: the order (2: Euclidean)", false, "2"}};
  d.infer = [](const InferContext& c) {
    const std::string fn = c.params.string("fn");
    const int64_t ddof = uses_ddof(fn) ? c.params.integer("ddof") : 0;
    return reduction_meta(fn, c.array(0), c.params.axes("axis"), c.params.boolean("keepdims"), c.nranks,
                          ddof)
        .op;
  };
  d.run = [](RunContext& c) {
    const DNDarray& a = c.array(0);
    const std::string fn = c.params.string("fn");
    const bool keep = c.params.boolean("keepdims");
    const Axes axes = c.params.axes("axis");
    if (fn == "sum") return one(sum(a, axes, keep));
    if (fn == "prod") return one(prod(a, axes, keep));
    if (fn == "mean") return one(mean(a, axes, keep));
    if (fn == "var") return one(var(a, axes, c.params.integer("ddof"), keep));
    if (fn == "std") return one(dnd::std(a, axes, c.params.integer("ddof"), keep));
    if (fn == "min") return one(min(a, axes, keep));
    if (fn == "max") return one(max(a, axes, keep));
    if (fn == "any") return one(any(a, axes, keep));
    if (fn == "all") return one(all(a, axes, keep));
    if (fn == "norm") return one(norm(a, c.params.number("ord"), axes, keep));
    if (fn == "nansum") return one(nansum(a, axes, keep));
    if (fn == "nanmean") return one(nanmean(a, axes, keep));
    if (fn == "nanvar") return one(nanvar(a, axes, c.params.integer("ddof"), keep));
    if (fn == "nanstd") return one(nanstd(a, axes, c.params.integer("ddof"), keep));
    if (fn == "nanmin") return one(nanmin(a, axes, keep));
    if (fn == "nanmax") return one(nanmax(a, axes, keep));
    if (fn == "count_nonzero") return one(count_nonzero(a, axes, keep));
    const std::optional<int64_t> ax = axes ? std::optional<int64_t>((*axes)[0]) : std::nullopt;
    if (fn == "argmin") return one(argmin(a, ax, keep));
    if (fn == "nanargmin") return one(nanargmin(a, ax, keep));
    if (fn == "nanargmax") return one(nanargmax(a, ax, keep));
    return one(argmax(a, ax, keep));
  };
  return d;
}
DND_REGISTER_OP(reduce_op());

}  // namespace
}  // namespace dnd::pipeline::ops
