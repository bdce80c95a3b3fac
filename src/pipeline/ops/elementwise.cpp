// Elementwise ops under numpy's names: binary ones on two arrays or an array and a number
// (numpy broadcasting, torch type promotion), unary ones, clip and where, and the math
// functions of src/core/math.h (one op per function; round, nan_to_num and isclose take
// parameters).
#include "src/core/elementwise.h"
#include "src/core/math.h"
#include "src/core/selection.h"
#include "src/pipeline/extents.h"
#include "src/pipeline/ops/common.h"

#include <functional>

namespace dnd::pipeline::ops {
namespace {

using Binary = DNDarray (*)(const Operand&, const Operand&);
using TorchBinary = std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>;

// The operand a probe stands for: an array's dtype (0-d stays 0-d) or the number.
struct Probe {
  at::Tensor t;
  bool is_scalar = false;
  c10::Scalar s;
};
Probe probe(const InputMeta& in) {
  Probe p;
  if (!in.is_scalar) {
    p.t = dtype_probe(in.array);
    return p;
  }
  p.is_scalar = true;
  p.s = literal_scalar(in.literal);
  const bool integral = p.s.isIntegral(false);
  // A number takes part in promotion as a wrapped 0-d tensor, as in torch.
  p.t = at::scalar_tensor(p.s, at::dtype(integral ? at::kLong : at::kDouble));
  p.t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return p;
}

// The result of aligning the operands: core's rule (elementwise_meta).
InferResult align(const InferContext& c, const char* op, Dtype dt) {
  std::vector<const ArrayMeta*> operands;
  for (const InputMeta& in : c.inputs) operands.push_back(in.is_scalar ? nullptr : &in.array);
  return elementwise_meta(op, operands, dt, c.nranks).op;
}

using RunBinary = std::function<DNDarray(const Operand&, const Operand&)>;

// temp_bytes: what the kernel needs besides the result, per result element.
OpDef binary(const char* name, const char* summary, RunBinary fn, TorchBinary torch_fn,
             const char* category = "elementwise", int temp_bytes = 0) {
  OpDef d;
  d.name = name;
  d.summary = summary;
  d.category = category;
  d.min_inputs = d.max_inputs = 2;
  d.scalar_inputs = true;
  d.infer = [name, torch_fn, temp_bytes](const InferContext& c) {
    if (c.inputs[0].is_scalar && c.inputs[1].is_scalar)
      throw ValueError(fmt::format("{}: at least one input must be an array", name));
    const Probe a = probe(c.inputs[0]), b = probe(c.inputs[1]);
    const Dtype dt = torch_fn(a.t, b.t).scalar_type();  // torch's own promotion rules
    // The kernel's data check, known here when the exponent is a number.
    if (std::string(name) == "power" && b.is_scalar && b.s.isIntegral(false) && b.s.toLong() < 0 &&
        at::isIntegralType(dt, /*includeBool=*/true))
      throw ValueError(
          "power: integers to negative integer powers are not allowed (as in numpy); "
          "make the base a float array");
    InferResult r = align(c, name, dt);
    const ArrayMeta& out = r.outputs[0];
    r.temp_bytes +=
        max_block_bytes(out, c.nranks) / static_cast<int64_t>(c10::elementSize(out.dtype)) * temp_bytes;
    return r;
  };
  d.run = [fn](RunContext& c) { return one(fn(c.inputs[0], c.inputs[1])); };
  return d;
}

#define DND_BINARY(NAME, SUMMARY, CORE, TORCH)                                      \
  DND_REGISTER_OP(binary(                                                           \
      NAME, SUMMARY, [](const Operand& a, const Operand& b) { return CORE(a, b); }, \
      [](const at::Tensor& x, const at::Tensor& y) { return TORCH(x, y); }))

DND_BINARY("add", "a + b", add, at::add);
DND_BINARY("subtract", "a - b", subtract, at::sub);
DND_BINARY("multiply", "a * b", multiply, at::mul);
DND_BINARY("divide", "a / b (true division: integers give floats)", divide, at::div);
DND_BINARY("floor_divide", "a // b (rounds toward minus infinity)", floor_divide, at::floor_divide);
DND_BINARY("remainder", "a % b (the sign of b, as numpy)", remainder, at::remainder);
DND_BINARY("power", "a ** b", power, at::pow);
DND_BINARY("equal", "a == b", equal, at::eq);
DND_BINARY("not_equal", "a != b", not_equal, at::ne);
DND_BINARY("less", "a < b", less, at::lt);
DND_BINARY("less_equal", "a <= b", less_equal, at::le);
DND_BINARY("greater", "a > b", greater, at::gt);
DND_BINARY("greater_equal", "a >= b", greater_equal, at::ge);
DND_BINARY("logical_and", "a and b", logical_and, at::logical_and);
DND_BINARY("logical_or", "a or b", logical_or, at::logical_or);
DND_BINARY("logical_xor", "a xor b", logical_xor, at::logical_xor);

using Unary = std::function<DNDarray(const DNDarray&)>;
using TorchUnary = at::Tensor (*)(const at::Tensor&);

OpDef unary(const char* name, const char* summary, Unary fn, TorchUnary torch_fn,
            const char* category = "elementwise", int temp_bytes = 0) {
  OpDef d;
  d.name = name;
  d.summary = summary;
  d.category = category;
  d.infer = [torch_fn, temp_bytes](const InferContext& c) {
    ArrayMeta m = c.array(0);
    m.dtype = torch_fn(dtype_probe(m)).scalar_type();
    const int64_t temp =
        max_block_bytes(m, c.nranks) / static_cast<int64_t>(c10::elementSize(m.dtype)) * temp_bytes;
    return single(m, 0, temp);
  };
  d.run = [fn](RunContext& c) { return one(fn(c.array(0))); };
  return d;
}

#define DND_UNARY(NAME, SUMMARY, CORE, TORCH)                   \
  DND_REGISTER_OP(unary(                                        \
      NAME, SUMMARY, [](const DNDarray& a) { return CORE(a); }, \
      [](const at::Tensor& x) { return TORCH(x); }))

DND_UNARY("abs", "|a|", abs, at::abs);
DND_UNARY("negative", "-a", negative, at::neg);
DND_UNARY("exp", "e ** a", exp, at::exp);
DND_UNARY("log", "natural logarithm", log, at::log);
DND_UNARY("sqrt", "square root", sqrt, at::sqrt);
DND_UNARY("sin", "sine", sin, at::sin);
DND_UNARY("cos", "cosine", cos, at::cos);
DND_UNARY("tanh", "hyperbolic tangent", tanh, at::tanh);
DND_UNARY("logical_not", "not a", logical_not, at::logical_not);

// The functions of src/core/math.h, one op each, grouped by family in `dnd ops`.
[[maybe_unused]] const bool kMathRegistered = [] {
  for (const UnaryFunction& f : unary_functions())
    register_op(unary(
                    f.name, f.summary, [&f](const DNDarray& a) { return apply(f, a); }, f.local,
                    f.family, f.temp_bytes),
                __FILE__, __LINE__);
  for (const BinaryFunction& f : binary_functions())
    register_op(
        binary(
            f.name, f.summary, [&f](const Operand& a, const Operand& b) { return apply(f, a, b); },
            f.local, f.family, f.temp_bytes),
        __FILE__, __LINE__);
  return true;
}();

OpDef round_op() {
  OpDef d;
  d.name = "round";
  d.summary = "round half to even at a number of decimals (numpy.round; integers stay integers)";
  d.category = "rounding";
  d.params = {ParamSpec{"decimals", ParamKind::integer,
                        "digits after the point (negative: tens, hundreds...)", false, "0"}};
  d.infer = [](const InferContext& c) {
    ArrayMeta m = c.array(0);
    const int64_t decimals = c.params.integer("decimals");
    m.dtype = round_local(dtype_probe(m), decimals).scalar_type();
    // Integers to tens and more go through a float64 copy.
    const bool via_double = at::isIntegralType(m.dtype, /*includeBool=*/false) && decimals < 0;
    return single(
        m, 0,
        via_double ? max_block_bytes(m, c.nranks) / static_cast<int64_t>(c10::elementSize(m.dtype)) * 8
                   : 0);
  };
  d.run = [](RunContext& c) { return one(round(c.array(0), c.params.integer("decimals"))); };
  return d;
}
DND_REGISTER_OP(round_op());

// A parameter that may be none (then nullopt).
std::optional<double> optional_number(const Params& p, const char* name) {
  if (p.is_none(name)) return std::nullopt;
  return p.number(name);
}

OpDef nan_to_num_op() {
  OpDef d;
  d.name = "nan_to_num";
  d.summary = "replace NaN, +inf and -inf by numbers (numpy.nan_to_num; integers are copied)";
  d.category = "nan";
  d.params = {ParamSpec{"nan", ParamKind::number, "the value for NaN", false, "0"},
              ParamSpec{"posinf", ParamKind::number, "the value for +inf (none: the dtype's largest)"},
              ParamSpec{"neginf", ParamKind::number, "the value for -inf (none: the dtype's lowest)"}};
  d.infer = [](const InferContext& c) {
    ArrayMeta m = c.array(0);
    m.dtype = nan_to_num_local(dtype_probe(m), c.params.number("nan"),
                               optional_number(c.params, "posinf"), optional_number(c.params, "neginf"))
                  .scalar_type();
    return single(m);
  };
  d.run = [](RunContext& c) {
    return one(nan_to_num(c.array(0), c.params.number("nan"), optional_number(c.params, "posinf"),
                          optional_number(c.params, "neginf")));
  };
  return d;
}
DND_REGISTER_OP(nan_to_num_op());

OpDef isclose_op() {
  OpDef d;
  d.name = "isclose";
  d.summary = "true where |a - b| <= atol + rtol * |b| (numpy.isclose; inputs: [a, b])";
  d.category = "math";
  d.min_inputs = d.max_inputs = 2;
  d.scalar_inputs = true;
  d.params = {ParamSpec{"rtol", ParamKind::number, "relative tolerance", false, "1e-05"},
              ParamSpec{"atol", ParamKind::number, "absolute tolerance", false, "1e-08"},
              ParamSpec{"equal_nan", ParamKind::boolean, "NaNs compare equal", false, "false"}};
  d.infer = [](const InferContext& c) {
    if (c.inputs[0].is_scalar && c.inputs[1].is_scalar)
      throw ValueError("isclose: at least one input must be an array");
    const Probe a = probe(c.inputs[0]), b = probe(c.inputs[1]);
    const double rtol = c.params.number("rtol"), atol = c.params.number("atol");
    const at::Tensor r = isclose_local(a.t, b.t, rtol, atol, c.params.boolean("equal_nan"));
    InferResult out = align(c, "isclose", r.scalar_type());
    // The operands are compared in their common float type: a copy of each array operand
    // of another type (the result is bool: its block bytes are its elements).
    Dtype t = at::result_type(a.t, b.t);
    if (!at::isFloatingType(t) && !at::isComplexType(t)) t = at::kDouble;
    const int64_t elements = max_block_bytes(out.outputs[0], c.nranks);
    for (const InputMeta& in : c.inputs)
      if (!in.is_scalar && in.array.dtype != t)
        out.temp_bytes += elements * static_cast<int64_t>(c10::elementSize(t));
    return out;
  };
  d.run = [](RunContext& c) {
    return one(isclose(c.inputs[0], c.inputs[1], c.params.number("rtol"), c.params.number("atol"),
                       c.params.boolean("equal_nan")));
  };
  return d;
}
DND_REGISTER_OP(isclose_op());

OpDef clip_op() {
  OpDef d;
  d.name = "clip";
  d.summary = "limit values to [min, max]";
  d.category = "elementwise";
  d.params = {ParamSpec{"min", ParamKind::scalar, "lower bound (none: no lower bound)"},
              ParamSpec{"max", ParamKind::scalar, "upper bound (none: no upper bound)"}};
  d.infer = [](const InferContext& c) {
    if (c.params.is_none("min") && c.params.is_none("max"))
      throw ValueError("clip: give min, max or both");
    const Dtype in = c.array(0).dtype;
    if (in == at::kBool || at::isComplexType(in))
      throw TypeError(fmt::format("clip: not defined for {} arrays", dtype_name(in)));
    // torch's promotion, as the kernel does it: an int64 array clipped at 2.5 is float32.
    c10::optional<c10::Scalar> lo, hi;
    if (!c.params.is_none("min")) lo = c.params.scalar("min");
    if (!c.params.is_none("max")) hi = c.params.scalar("max");
    InferResult r;
    r.outputs.push_back(c.array(0));
    r.outputs[0].dtype = at::clamp(dtype_probe(c.array(0)), lo, hi).scalar_type();
    return r;
  };
  d.run = [](RunContext& c) {
    std::optional<c10::Scalar> lo, hi;
    if (!c.params.is_none("min")) lo = c.params.scalar("min");
    if (!c.params.is_none("max")) hi = c.params.scalar("max");
    return one(clip(c.array(0), lo, hi));
  };
  return d;
}
DND_REGISTER_OP(clip_op());

OpDef where_op() {
  OpDef d;
  d.name = "where";
  d.summary =
      "x where cond is true, else y (inputs: [cond, x, y]; x and y may be numbers); with one "
      "input the indices where it is nonzero (= nonzero)";
  d.category = "elementwise";
  d.min_inputs = 1;
  d.max_inputs = 3;
  d.scalar_inputs = true;
  d.infer = [](const InferContext& c) {
    if (c.inputs[0].is_scalar) throw ValueError("where: the condition must be an array");
    if (c.inputs.size() == 1) {  // numpy.where(cond) is numpy.nonzero(cond)
      BoundedMeta b = nonzero_meta(c.array(0), c.nranks);
      report_at_most(std::move(b.at_most));
      return std::move(b.meta);
    }
    if (c.inputs.size() == 2)
      throw ValueError(
          "where takes 1 input (the condition: its nonzero indices) or 3 (cond, x, y), got 2");
    if (c.inputs[0].array.dtype != at::kBool)
      throw TypeError(
          fmt::format("where: the condition must be bool, got {}", dtype_name(c.inputs[0].array.dtype)));
    const Probe x = probe(c.inputs[1]), y = probe(c.inputs[2]);
    const Dtype dt = at::where(at::empty({0}, at::kBool), x.t, y.t).scalar_type();
    return align(c, "where", dt);
  };
  d.run = [](RunContext& c) {
    if (c.inputs.size() == 1) return one(nonzero(c.array(0)));
    return one(where(c.array(0), c.inputs[1], c.inputs[2]));
  };
  return d;
}
DND_REGISTER_OP(where_op());

}  // namespace
}  // namespace dnd::pipeline::ops
