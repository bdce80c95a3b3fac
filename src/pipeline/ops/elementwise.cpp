// Elementwise ops under numpy's names: binary ones on two arrays or an array and a number
// (numpy broadcasting, torch type promotion), unary ones, clip and where.
#include "src/core/elementwise.h"
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

OpDef binary(const char* name, const char* summary, Binary fn, TorchBinary torch_fn) {
  OpDef d;
  d.name = name;
  d.summary = summary;
  d.category = "elementwise";
  d.min_inputs = d.max_inputs = 2;
  d.scalar_inputs = true;
  d.infer = [name, torch_fn](const InferContext& c) {
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
    return align(c, name, dt);
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

using Unary = DNDarray (*)(const DNDarray&);
using TorchUnary = at::Tensor (*)(const at::Tensor&);

OpDef unary(const char* name, const char* summary, Unary fn, TorchUnary torch_fn) {
  OpDef d;
  d.name = name;
  d.summary = summary;
  d.category = "elementwise";
  d.infer = [torch_fn](const InferContext& c) {
    InferResult r;
    ArrayMeta m = c.array(0);
    m.dtype = torch_fn(dtype_probe(m)).scalar_type();
    r.outputs.push_back(m);
    return r;
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
  d.summary = "x where cond is true, else y (inputs: [cond, x, y]; x and y may be numbers)";
  d.category = "elementwise";
  d.min_inputs = d.max_inputs = 3;
  d.scalar_inputs = true;
  d.infer = [](const InferContext& c) {
    if (c.inputs[0].is_scalar) throw ValueError("where: the condition must be an array");
    if (c.inputs[0].array.dtype != at::kBool)
      throw TypeError(
          fmt::format("where: the condition must be bool, got {}", dtype_name(c.inputs[0].array.dtype)));
    const Probe x = probe(c.inputs[1]), y = probe(c.inputs[2]);
    const Dtype dt = at::where(at::empty({0}, at::kBool), x.t, y.t).scalar_type();
    return align(c, "where", dt);
  };
  d.run = [](RunContext& c) { return one(where(c.array(0), c.inputs[1], c.inputs[2])); };
  return d;
}
DND_REGISTER_OP(where_op());

}  // namespace
}  // namespace dnd::pipeline::ops
