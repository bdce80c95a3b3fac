// The reduce op: sum, prod, mean, var, std, min, max, argmin, argmax, any, all, norm over
// some axes (all by default). Reducing the split axis communicates partial results only.
#include "core/reductions.h"
#include "pipeline/ops/common.h"

#include <set>

namespace dnd::pipeline::ops {
namespace {

const std::vector<std::string> kFns{"sum", "prod", "mean", "var", "std", "min", "max", "argmin", "argmax", "any", "all", "norm"};

Dtype result_dtype(const std::string& fn, Dtype t) {
  if (fn == "sum" || fn == "prod") return at::sum(at::empty({0}, at::dtype(t))).scalar_type();
  if (fn == "argmin" || fn == "argmax") return at::kLong;
  if (fn == "any" || fn == "all") return at::kBool;
  if (fn == "min" || fn == "max") return t;
  // mean, var, std, norm: floats keep their type, integers give the default float.
  if (at::isComplexType(t)) return fn == "mean" ? t : c10::toRealValueType(t);
  return at::isFloatingType(t) ? t : kDefaultDtype;
}

OpDef reduce_op() {
  OpDef d;
  d.name = "reduce";
  d.summary = "reduce over axes: sum, prod, mean, var, std, min, max, argmin, argmax, any, all, norm";
  d.category = "reduction";
  d.params = {ParamSpec{"fn", ParamKind::choice, "the reduction", true, "", kFns},
              ParamSpec{"axis", ParamKind::axes, "axis or list of axes (none: all; argmin/argmax take one)"},
              ParamSpec{"keepdims", ParamKind::boolean, "keep reduced axes with extent 1", false, "false"},
              ParamSpec{"ddof", ParamKind::integer, "var/std: delta degrees of freedom", false, "0"},
              ParamSpec{"ord", ParamKind::number, "norm: the order (2: Euclidean)", false, "2"}};
  d.infer = [](const InferContext& c) {
    const ArrayMeta& a = c.array(0);
    const std::string fn = c.params.string("fn");
    const bool keep = c.params.boolean("keepdims");
    const int64_t nd = static_cast<int64_t>(a.shape.size());
    std::set<int64_t> axes;
    const auto given = c.params.axes("axis");
    if ((fn == "argmin" || fn == "argmax") && given && given->size() != 1)
      throw ValueError(fmt::format("{}: axis must be a single axis or none", fn));
    if (given) {
      for (int64_t ax : *given)
        if (!axes.insert(normalize_axis(ax, nd, fn)).second)
          throw ValueError(fmt::format("{}: axis {} given twice", fn, ax));
    } else {
      for (int64_t ax = 0; ax < nd; ++ax) axes.insert(ax);
    }
    const bool flat_arg = (fn == "argmin" || fn == "argmax") && !given;
    ArrayMeta m;
    m.dtype = result_dtype(fn, a.dtype);
    m.device = a.device;
    int64_t removed_before = 0;
    for (int64_t ax = 0; ax < nd; ++ax) {
      if (axes.count(ax)) {
        if (keep && !flat_arg) m.shape.push_back(1);
        if (keep && flat_arg) m.shape.push_back(1);
        if (a.split && ax < *a.split) ++removed_before;
        continue;
      }
      m.shape.push_back(a.shape[static_cast<size_t>(ax)]);
    }
    InferResult r;
    if (a.split && !axes.count(*a.split)) {
      m.split = keep ? *a.split : *a.split - removed_before;
    } else if (a.split && c.nranks > 1) {
      ArrayMeta part = m;  // each rank contributes a partial result of the output's size
      part.split = kReplicated;
      r.comm_bytes = 2 * global_bytes(part);
    }
    if ((fn == "min" || fn == "max" || fn == "argmin" || fn == "argmax") && at::isComplexType(a.dtype))
      throw TypeError(fmt::format("{}: complex arrays have no ordering", fn));  // the kernel's check
    if ((fn == "min" || fn == "max" || fn == "argmin" || fn == "argmax") && shape_numel(a.shape) == 0 && !axes.empty())
      throw ValueError(fmt::format("{}: zero-size array {} has no {}", fn, shape_str(a.shape), fn));
    // Temporaries of the kernels (core/reductions.cpp), per rank, measured by
    // tests/cli/test_memory.py: var/std/norm hold two block-sized arrays in the float
    // dtype (x - mean and its square, |x| and its power); a dtype change copies the block
    // first (an int32 sum is computed on an int64 copy, any/all on a bool copy).
    const int64_t block = max_block_bytes(a, c.nranks) / std::max<int64_t>(1, c10::elementSize(a.dtype));
    const Dtype work = fn == "any" || fn == "all" ? at::kBool
                       : fn == "var" || fn == "std" || fn == "norm" || fn == "mean"
                           ? (at::isFloatingType(a.dtype) || at::isComplexType(a.dtype) ? a.dtype : c.default_dtype)
                       : fn == "sum" || fn == "prod" ? m.dtype
                                                     : a.dtype;
    const int64_t wsize = static_cast<int64_t>(c10::elementSize(work));
    if (work != a.dtype) r.temp_bytes += block * wsize;
    if (fn == "var" || fn == "std" || fn == "norm") r.temp_bytes += 2 * block * wsize;
    r.outputs.push_back(m);
    return r;
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
    const std::optional<int64_t> ax = axes ? std::optional<int64_t>((*axes)[0]) : std::nullopt;
    if (fn == "argmin") return one(argmin(a, ax, keep));
    return one(argmax(a, ax, keep));
  };
  return d;
}
DND_REGISTER_OP(reduce_op());

}  // namespace
}  // namespace dnd::pipeline::ops
