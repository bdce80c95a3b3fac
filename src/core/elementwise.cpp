#include "src/core/elementwise.h"
#include "src/core/map_kernels.h"

#include "src/core/math.h"

#include "src/core/error.h"
#include "src/core/manipulation.h"
#include "src/core/moves.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ScalarOps.h>
#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <limits>

namespace dnd {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError(fmt::format("{}: operands could not be broadcast together with shapes {} and {}",
                                   op, shape_str(a), shape_str(b)));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

ElementwiseMeta elementwise_meta(const char* op, const std::vector<const ArrayMeta*>& operands,
                                 Dtype dtype, int nranks) {
  const ArrayMeta* first = nullptr;
  for (const ArrayMeta* a : operands)
    if (a && !first) first = a;
  DND_CHECK_TYPE(first, "{}: at least one operand must be an array", op);
  ElementwiseMeta r;
  Shape shape = first->shape;
  for (const ArrayMeta* a : operands) {
    if (!a) continue;
    DND_CHECK_TYPE(a->device == first->device, "{}: operands live on different devices ({} and {})", op,
                   device_name(first->device), device_name(a->device));
    shape = broadcast_shapes(shape, a->shape, op);
  }
  const int64_t nd = static_cast<int64_t>(shape.size());
  // The result follows the largest operand that is split along a non-broadcast axis.
  for (size_t k = 0; k < operands.size(); ++k) {
    const ArrayMeta* a = operands[k];
    if (!a || !a->split) continue;
    const int64_t ax = *a->split + (nd - static_cast<int64_t>(a->shape.size()));
    if (a->shape[static_cast<size_t>(*a->split)] != shape[static_cast<size_t>(ax)]) continue;
    if (r.leader < 0 ||
        shape_numel(a->shape) > shape_numel(operands[static_cast<size_t>(r.leader)]->shape)) {
      r.leader = static_cast<int>(k);
      r.axis = ax;
    }
  }
  for (size_t k = 0; k < operands.size(); ++k) {
    const ArrayMeta* a = operands[k];
    if (!a || !a->split || static_cast<int>(k) == r.leader) continue;
    const int64_t d = r.axis - (nd - static_cast<int64_t>(a->shape.size()));
    const bool broadcasts =
        r.leader < 0 || d < 0 || a->shape[static_cast<size_t>(d)] != shape[static_cast<size_t>(r.axis)];
    std::string& note = r.op.note;
    if (broadcasts) {  // split along an axis it broadcasts over (or nothing to follow): made whole
      r.op.comm_bytes += allgather_bytes(*a, nranks);
      r.op.temp_bytes += global_bytes(*a);
      note += fmt::format("{}input {} made whole (split {} is broadcast)", note.empty() ? "" : "; ",
                          k + 1, *a->split);
    } else if (*a->split != d) {
      r.op.comm_bytes += resplit_bytes(*a, Split(d), nranks);
      r.op.temp_bytes += max_block_bytes(*a, nranks);
      note += fmt::format("{}aligns input {}: resplit {} -> {}", note.empty() ? "" : "; ", k + 1,
                          *a->split, d);
    }
  }
  r.op.outputs.push_back(
      ArrayMeta{shape, dtype, r.leader >= 0 ? Split(r.axis) : kReplicated, first->device});
  return r;
}

namespace {

std::string describe(const std::vector<const DNDarray*>& arrays) {
  std::string s;
  for (const DNDarray* a : arrays)
    s += fmt::format("{}{} split={}", s.empty() ? "" : " and ", shape_str(a->gshape()),
                     split_str(a->split()));
  return s;
}

// The operands' blocks brought to one distribution: the result's.
struct Aligned {
  Shape gshape;
  Split split;
  std::vector<int64_t> counts;
  std::vector<at::Tensor> locals;  // one per array operand, in order
};

Aligned align(const char* op, const std::vector<const DNDarray*>& arrays) {
  DND_ASSERT(!arrays.empty(), op);
  const Communicator& comm = arrays[0]->comm();
  std::vector<ArrayMeta> metas;
  for (const DNDarray* a : arrays) {
    DND_CHECK_VALUE(a->comm() == comm, "{}: operands live on different communicators", op);
    metas.push_back(meta_of(*a));
  }
  std::vector<const ArrayMeta*> ptrs;
  for (const ArrayMeta& m : metas) ptrs.push_back(&m);
  const ElementwiseMeta em = elementwise_meta(op, ptrs, arrays[0]->dtype(), comm.size());
  Aligned r;
  r.gshape = em.op.outputs[0].shape;
  const int64_t nd = static_cast<int64_t>(r.gshape.size());
  const DNDarray* leader = em.leader >= 0 ? arrays[static_cast<size_t>(em.leader)] : nullptr;
  const int64_t axis = em.axis;
  if (leader) {
    r.split = axis;
    r.counts = leader->counts();
  }
  const Chunk mine = leader ? leader->chunk() : Chunk{};

  for (const DNDarray* a : arrays) {
    const int64_t shift = nd - a->ndim();
    if (!leader) {
      r.locals.push_back(allgather(*a));
      continue;
    }
    const int64_t d = axis - shift;  // the operand's own axis that lines up with the result's split
    const bool broadcasts =
        d < 0 || a->gshape()[static_cast<size_t>(d)] != r.gshape[static_cast<size_t>(axis)];
    if (!a->split()) {
      r.locals.push_back(broadcasts ? a->larray() : a->larray().narrow(d, mine.offset, mine.count));
    } else if (broadcasts) {
      r.locals.push_back(allgather(*a));  // split along an axis it broadcasts over: replicate
    } else {
      r.locals.push_back(resplit(*a, d, r.counts).larray());  // no-op when already aligned
    }
  }
  return r;
}

at::Tensor as_tensor(const Operand& o, size_t& next_array, const Aligned& al, const at::Device& device) {
  if (o.is_array()) return al.locals[next_array++];
  at::Tensor t = at::native::wrapped_scalar_tensor(o.scalar());
  return device.is_cpu() ? t : t.to(device);
}

// torch refusing: a dtype its kernel does not take is a TypeError, anything else (integer
// division by zero) a ValueError.
[[noreturn]] void rethrow_torch(const std::string& what, const c10::Error& e) {
  const std::string msg = e.what_without_backtrace();
  if (msg.find("not implemented for") != std::string::npos ||
      msg.find("not supported for") != std::string::npos)
    throw TypeError(fmt::format("{}: {}", what, msg));
  throw ValueError(fmt::format("{}: {}", what, msg));
}

using NaryFn = std::function<at::Tensor(const std::vector<at::Tensor>&)>;
// The same operation writing into `out` (which may alias an input).
using NaryOutFn = std::function<void(at::Tensor& out, const std::vector<at::Tensor>&)>;

// Aligns the array operands, applies fn to the local blocks (scalars become torch's
// wrapped numbers, so type promotion is torch's), and wraps the result. With out_fn, a
// reusable temporary operand whose block already has the result's shape and dtype
// receives the result in place.
DNDarray nary(const char* op, const std::vector<const Operand*>& operands, const NaryFn& fn,
              const NaryOutFn& out_fn = nullptr) {
  DND_ASSERT(!out_fn || operands.size() == 2, "in-place results are for binary operations");
  std::vector<bool> reusable;
  for (const Operand* o : operands) reusable.push_back(out_fn && o->reusable());
  std::vector<const DNDarray*> arrays;
  for (const Operand* o : operands)
    if (o->is_array()) arrays.push_back(&o->array());
  if (arrays.empty()) throw TypeError(fmt::format("{}: at least one operand must be a DNDarray", op));
  Aligned al = align(op, arrays);
  const at::Device device = arrays[0]->larray().device();
  std::vector<at::Tensor> ts;
  size_t next = 0;
  for (const Operand* o : operands) ts.push_back(as_tensor(*o, next, al, device));
  const Shape want = local_shape(
      al.gshape, al.split, al.split ? al.counts[static_cast<size_t>(arrays[0]->comm().rank())] : 0);
  at::Tensor out;
  try {
    // out_fn is offered by binary ops whose result has the promoted dtype of the operands.
    for (size_t i = 0; out_fn && i < ts.size() && !out.defined(); ++i) {
      at::Tensor t = ts[i];
      // Only the operand's own block (not an aligned copy), already of the result's shape and dtype.
      if (!reusable[i] || !t.is_same(operands[i]->array().larray()) || t.sizes().vec() != want ||
          t.scalar_type() != at::result_type(ts[0], ts[1]))
        continue;
      out_fn(t, ts);
      out = t;
    }
    if (!out.defined()) out = fn(ts);
  } catch (const c10::Error& e) {
    rethrow_torch(fmt::format("{} of {}", op, describe(arrays)), e);
  }
  // A result that broadcast only over scalars may still need the full local shape.
  if (out.sizes().vec() != want) out = out.expand(want).contiguous();
  return DNDarray(out, al.gshape, al.split, arrays[0]->comm(), al.counts);
}

using BinaryFn = at::Tensor (*)(const at::Tensor&, const at::Tensor&);
using BinaryOutFn = void (*)(at::Tensor&, const at::Tensor&, const at::Tensor&);

DNDarray binary(const char* op, const Operand& a, const Operand& b, BinaryFn fn,
                BinaryOutFn out_fn = nullptr) {
  NaryOutFn nout;
  if (out_fn)
    nout = [out_fn](at::Tensor& o, const std::vector<at::Tensor>& t) { out_fn(o, t[0], t[1]); };
  return nary(
      op, {&a, &b}, [fn](const std::vector<at::Tensor>& t) { return fn(t[0], t[1]); }, nout);
}

DNDarray unary(const char* op, const DNDarray& a,
               const std::function<at::Tensor(const at::Tensor&)>& fn) {
  at::Tensor out;
  try {
    out = fn(a.larray());
  } catch (const c10::Error& e) {
    rethrow_torch(fmt::format("{} of {} split={}", op, shape_str(a.gshape()), split_str(a.split())), e);
  }
  return DNDarray(out, a.gshape(), a.split(), a.comm(), a.counts());
}

}  // namespace

bool Operand::reusable() const {
  if (!temporary_ || !is_array()) return false;
  const at::Tensor& t = array().larray();
  return t.use_count() == 1 && t.storage().use_count() == 1 && t.is_contiguous();
}

DNDarray add(const Operand& a, const Operand& b) {
  return binary(
      "add", a, b, [](const at::Tensor& x, const at::Tensor& y) { return at::add(x, y); },
      [](at::Tensor& o, const at::Tensor& x, const at::Tensor& y) { at::add_out(o, x, y); });
}
DNDarray subtract(const Operand& a, const Operand& b) {
  return binary(
      "subtract", a, b, [](const at::Tensor& x, const at::Tensor& y) { return at::sub(x, y); },
      [](at::Tensor& o, const at::Tensor& x, const at::Tensor& y) { at::sub_out(o, x, y); });
}
DNDarray multiply(const Operand& a, const Operand& b) {
  return binary(
      "multiply", a, b, [](const at::Tensor& x, const at::Tensor& y) { return at::mul(x, y); },
      [](at::Tensor& o, const at::Tensor& x, const at::Tensor& y) { at::mul_out(o, x, y); });
}
DNDarray divide(const Operand& a, const Operand& b) {
  return binary("divide", a, b, [](const at::Tensor& x, const at::Tensor& y) { return at::div(x, y); });
}
DNDarray floor_divide(const Operand& a, const Operand& b) {
  return binary("floor_divide", a, b,
                [](const at::Tensor& x, const at::Tensor& y) { return at::div(x, y, "floor"); });
}
DNDarray remainder(const Operand& a, const Operand& b) {
  return binary("remainder", a, b,
                [](const at::Tensor& x, const at::Tensor& y) { return at::remainder(x, y); });
}
DNDarray power(const Operand& a, const Operand& b) {
  return binary("power", a, b, [](const at::Tensor& x, const at::Tensor& y) {
    // numpy: "Integers to negative integer powers are not allowed" (torch gives 0 or 1).
    // Data-dependent for an array exponent: raised by the ranks whose block holds one.
    if (at::isIntegralType(at::result_type(x, y), /*includeBool=*/true) &&
        at::isIntegralType(y.scalar_type(), /*includeBool=*/false) && y.numel() > 0 &&
        (y.dim() == 0 ? y.item<int64_t>() < 0 : at::lt(y, 0).any().item<bool>()))
      throw ValueError(
          "power: integers to negative integer powers are not allowed (as in numpy); "
          "make the base a float array");
    return at::pow(x, y);
  });
}
DNDarray multiply_add(const Operand& a, const Operand& b, const Operand& c) {
  return nary("multiply_add", {&a, &b, &c}, [](const std::vector<at::Tensor>& t) {
    // addcmul promotes its three inputs like a * b + c does; bool has no addcmul kernel.
    for (const at::Tensor& x : t)
      if (x.scalar_type() == at::kBool) return at::add(at::mul(t[0], t[1]), t[2]);
    return at::addcmul(t[2], t[0], t[1]);
  });
}

DNDarray equal(const Operand& a, const Operand& b) {
  return binary("equal", a, b, [](const at::Tensor& x, const at::Tensor& y) { return at::eq(x, y); });
}
DNDarray not_equal(const Operand& a, const Operand& b) {
  return binary("not_equal", a, b,
                [](const at::Tensor& x, const at::Tensor& y) { return at::ne(x, y); });
}
DNDarray less(const Operand& a, const Operand& b) {
  return binary("less", a, b, [](const at::Tensor& x, const at::Tensor& y) { return at::lt(x, y); });
}
DNDarray less_equal(const Operand& a, const Operand& b) {
  return binary("less_equal", a, b,
                [](const at::Tensor& x, const at::Tensor& y) { return at::le(x, y); });
}
DNDarray greater(const Operand& a, const Operand& b) {
  return binary("greater", a, b, [](const at::Tensor& x, const at::Tensor& y) { return at::gt(x, y); });
}
DNDarray greater_equal(const Operand& a, const Operand& b) {
  return binary("greater_equal", a, b,
                [](const at::Tensor& x, const at::Tensor& y) { return at::ge(x, y); });
}
DNDarray logical_and(const Operand& a, const Operand& b) {
  return binary("logical_and", a, b,
                [](const at::Tensor& x, const at::Tensor& y) { return at::logical_and(x, y); });
}
DNDarray logical_or(const Operand& a, const Operand& b) {
  return binary("logical_or", a, b,
                [](const at::Tensor& x, const at::Tensor& y) { return at::logical_or(x, y); });
}
DNDarray logical_xor(const Operand& a, const Operand& b) {
  return binary("logical_xor", a, b,
                [](const at::Tensor& x, const at::Tensor& y) { return at::logical_xor(x, y); });
}
DNDarray logical_not(const DNDarray& a) {
  return unary("logical_not", a, [](const at::Tensor& x) { return at::logical_not(x); });
}

DNDarray abs(const DNDarray& a) {
  return unary("abs", a, [](const at::Tensor& x) { return at::abs(x); });
}
DNDarray negative(const DNDarray& a) {
  if (a.dtype() == at::kBool) throw TypeError("negative: not defined for bool arrays (use logical_not)");
  return unary("negative", a, [](const at::Tensor& x) { return at::neg(x); });
}
DNDarray exp(const DNDarray& a) {
  return unary("exp", a, [](const at::Tensor& x) { return at::exp(x); });
}
DNDarray log(const DNDarray& a) {
  return unary("log", a, [](const at::Tensor& x) { return at::log(x); });
}
DNDarray sqrt(const DNDarray& a) {
  return unary("sqrt", a, [](const at::Tensor& x) { return at::sqrt(x); });
}
DNDarray sin(const DNDarray& a) {
  return unary("sin", a, [](const at::Tensor& x) { return at::sin(x); });
}
DNDarray cos(const DNDarray& a) {
  return unary("cos", a, [](const at::Tensor& x) { return at::cos(x); });
}
DNDarray tanh(const DNDarray& a) {
  return unary("tanh", a, [](const at::Tensor& x) { return at::tanh(x); });
}

DNDarray clip(const DNDarray& a, std::optional<c10::Scalar> min, std::optional<c10::Scalar> max) {
  if (!min && !max) throw ValueError("clip: at least one of min and max must be given");
  if (a.dtype() == at::kBool || at::isComplexType(a.dtype()))
    throw TypeError(fmt::format("clip: not defined for {} arrays", dtype_name(a.dtype())));
  at::Tensor out;
  try {
    out = at::clamp(a.larray(), min ? c10::optional<c10::Scalar>(*min) : c10::nullopt,
                    max ? c10::optional<c10::Scalar>(*max) : c10::nullopt);
  } catch (const c10::Error& e) {
    throw ValueError(fmt::format("clip of {} split={}: {}", shape_str(a.gshape()), split_str(a.split()),
                                 e.what_without_backtrace()));
  }
  return DNDarray(out, a.gshape(), a.split(), a.comm(), a.counts());
}

DNDarray where(const DNDarray& cond, const Operand& x, const Operand& y) {
  if (cond.dtype() != at::kBool)
    throw TypeError(
        fmt::format("where: the condition must be a bool array, not {}", dtype_name(cond.dtype())));
  Operand c(cond);
  return nary("where", {&c, &x, &y}, [](const std::vector<at::Tensor>& t) {
    const Dtype dt = at::result_type(t[1], t[2]);
    return at::where(t[0], t[1].to(dt), t[2].to(dt));
  });
}

// ---- math.h: numpy's other elementwise functions ----------------------------------------

namespace {

[[noreturn]] void refuse(const char* f, const at::Tensor& x, const char* hint = "") {
  throw TypeError(fmt::format("{}: not defined for {} arrays{}", f, dtype_name(x.scalar_type()), hint));
}
void no_bool(const char* f, const at::Tensor& x) {
  if (x.scalar_type() == at::kBool) refuse(f, x);
}
void no_complex(const char* f, const at::Tensor& x) {
  if (at::isComplexType(x.scalar_type())) refuse(f, x);
}
void real_numbers(const char* f, const at::Tensor& x) {
  no_bool(f, x);
  no_complex(f, x);
}
// Integer (and, with bools, bool) operands only; `t` is the promoted type.
void integers(const char* f, Dtype t, bool bools) {
  if (!at::isIntegralType(t, bools))
    throw TypeError(fmt::format("{}: only for integer{} arrays, not {}", f, bools ? " and bool" : "",
                                dtype_name(t)));
}
bool is_integer(const at::Tensor& x) {
  return at::isIntegralType(x.scalar_type(), /*includeBool=*/false);
}

// floor, ceil and trunc: integers are already whole.
template <at::Tensor (*F)(const at::Tensor&)>
at::Tensor rounding(const char* f, const at::Tensor& x) {
  real_numbers(f, x);
  return is_integer(x) ? x.clone() : F(x);
}
at::Tensor floor_k(const at::Tensor& x) { return rounding<at::floor>("floor", x); }
at::Tensor ceil_k(const at::Tensor& x) { return rounding<at::ceil>("ceil", x); }
at::Tensor trunc_k(const at::Tensor& x) { return rounding<at::trunc>("trunc", x); }
at::Tensor sign_k(const at::Tensor& x) {
  no_complex("sign", x);
  at::Tensor s = at::sign(x);
  if (at::isFloatingType(x.scalar_type())) s.masked_fill_(at::isnan(x), NAN);  // torch gives 0
  return s;
}
at::Tensor square_k(const at::Tensor& x) { return at::square(x); }
at::Tensor reciprocal_k(const at::Tensor& x) { return at::reciprocal(x); }
at::Tensor log1p_k(const at::Tensor& x) { return at::log1p(x); }
at::Tensor log2_k(const at::Tensor& x) { return at::log2(x); }
at::Tensor log10_k(const at::Tensor& x) { return at::log10(x); }
at::Tensor expm1_k(const at::Tensor& x) { return at::expm1(x); }
at::Tensor exp2_k(const at::Tensor& x) { return at::exp2(x); }
at::Tensor tan_k(const at::Tensor& x) { return at::tan(x); }
at::Tensor arcsin_k(const at::Tensor& x) { return at::arcsin(x); }
at::Tensor arccos_k(const at::Tensor& x) { return at::arccos(x); }
at::Tensor arctan_k(const at::Tensor& x) { return at::arctan(x); }
at::Tensor sinh_k(const at::Tensor& x) { return at::sinh(x); }
at::Tensor cosh_k(const at::Tensor& x) { return at::cosh(x); }
at::Tensor arcsinh_k(const at::Tensor& x) { return at::arcsinh(x); }
at::Tensor arccosh_k(const at::Tensor& x) { return at::arccosh(x); }
at::Tensor arctanh_k(const at::Tensor& x) { return at::arctanh(x); }
at::Tensor deg2rad_k(const at::Tensor& x) {
  no_complex("deg2rad", x);
  return at::deg2rad(x);
}
at::Tensor rad2deg_k(const at::Tensor& x) {
  no_complex("rad2deg", x);
  return at::rad2deg(x);
}
at::Tensor real_k(const at::Tensor& x) {
  return at::isComplexType(x.scalar_type()) ? at::real(x).contiguous() : x.clone();
}
at::Tensor imag_k(const at::Tensor& x) {
  return at::isComplexType(x.scalar_type()) ? at::imag(x).contiguous() : at::zeros_like(x);
}
at::Tensor conj_k(const at::Tensor& x) {
  return at::isComplexType(x.scalar_type()) ? at::conj_physical(x) : x.clone();
}
at::Tensor angle_k(const at::Tensor& x) { return at::angle(x); }
at::Tensor isnan_k(const at::Tensor& x) { return at::isnan(x); }
at::Tensor isinf_k(const at::Tensor& x) { return at::isinf(x); }
at::Tensor isfinite_k(const at::Tensor& x) { return at::isfinite(x); }
at::Tensor bitwise_not_k(const at::Tensor& x) {
  integers("bitwise_not", x.scalar_type(), true);
  return at::bitwise_not(x);
}

at::Tensor maximum_k(const at::Tensor& x, const at::Tensor& y) {
  if (at::isComplexType(at::result_type(x, y)))
    refuse("maximum", at::isComplexType(x.scalar_type()) ? x : y);
  return at::maximum(x, y);
}
at::Tensor minimum_k(const at::Tensor& x, const at::Tensor& y) {
  if (at::isComplexType(at::result_type(x, y)))
    refuse("minimum", at::isComplexType(x.scalar_type()) ? x : y);
  return at::minimum(x, y);
}
at::Tensor fmax_k(const at::Tensor& x, const at::Tensor& y) { return at::fmax(x, y); }
at::Tensor fmin_k(const at::Tensor& x, const at::Tensor& y) { return at::fmin(x, y); }
at::Tensor fmod_k(const at::Tensor& x, const at::Tensor& y) {
  const Dtype t = at::result_type(x, y);
  if (t == at::kBool || at::isComplexType(t))
    throw TypeError(fmt::format("fmod: not defined for {} arrays", dtype_name(t)));
  return at::fmod(x, y);
}
at::Tensor hypot_k(const at::Tensor& x, const at::Tensor& y) {
  Dtype t = at::result_type(x, y);
  if (at::isComplexType(t)) throw TypeError("hypot: not defined for complex arrays");
  if (!at::isFloatingType(t)) t = kDefaultDtype;  // integers and bools give a float (numpy: float64)
  return at::hypot(x.to(t), y.to(t));
}
at::Tensor arctan2_k(const at::Tensor& y, const at::Tensor& x) {
  if (at::isComplexType(at::result_type(x, y)))
    throw TypeError("arctan2: not defined for complex arrays");
  return at::atan2(y, x);
}
template <int Which>
at::Tensor bitwise_k(const at::Tensor& x, const at::Tensor& y) {
  static constexpr const char* kNames[] = {"bitwise_and", "bitwise_or", "bitwise_xor"};
  integers(kNames[Which], at::result_type(x, y), true);
  if (Which == 0) return at::bitwise_and(x, y);
  if (Which == 1) return at::bitwise_or(x, y);
  return at::bitwise_xor(x, y);
}
// numpy's shifts: a count of the width or more (or a negative one) shifts every bit out.
template <bool Left>
at::Tensor shift_k(const at::Tensor& x, const at::Tensor& s) {
  const Dtype t = at::result_type(x, s);
  integers(Left ? "left_shift" : "right_shift", t, false);
  const at::Tensor xs = x.to(t), ss = s.to(t);
  const int64_t bits = static_cast<int64_t>(c10::elementSize(t)) * 8;
  const at::Tensor out_of_range = t == at::kByte ? ss.ge(bits) : ss.ge(bits).logical_or_(ss.lt(0));
  const at::Tensor count = ss.masked_fill(out_of_range, 0);
  at::Tensor out = Left ? at::bitwise_left_shift(xs, count) : at::bitwise_right_shift(xs, count);
  if (Left || t == at::kByte) return out.masked_fill_(out_of_range, 0);
  // Right: what is left of a negative number is all ones (-1).
  return out.masked_fill_(out_of_range, 0).masked_fill_(out_of_range.logical_and(xs.lt(0)), -1);
}

}  // namespace

at::Tensor round_local(const at::Tensor& x, int64_t decimals) {
  real_numbers("round", x);
  DND_CHECK_VALUE(decimals >= -308 && decimals <= 308, "round: decimals must be in [-308, 308], got {}",
                  decimals);
  if (!is_integer(x)) return decimals == 0 ? at::round(x) : at::round(x, decimals);
  if (decimals >= 0) return x.clone();
  // Integers to tens, hundreds...: half to even through float64 (exact below 2^53).
  if (decimals < -19) return at::zeros_like(x);
  const double scale = std::pow(10.0, static_cast<double>(-decimals));
  at::Tensor d = x.to(at::kDouble);  // one float64 copy, worked on in place
  d.div_(scale).round_().mul_(scale);
  return d.to(x.scalar_type());
}

at::Tensor nan_to_num_local(const at::Tensor& x, double nan, std::optional<double> posinf,
                            std::optional<double> neginf) {
  const at::ScalarType t = x.scalar_type();
  if (x.device().is_cpu() && x.is_contiguous() && (t == at::kFloat || t == at::kDouble)) {
    at::Tensor out = at::empty_like(x);
    AT_DISPATCH_FLOATING_TYPES(t, "nan_to_num", [&] {
      using L = std::numeric_limits<scalar_t>;
      // One read and one write per element (map_kernels.h: AVX2, streaming stores for a
      // large block); torch 1.13's nan_to_num runs a scalar loop at about a third of that.
      const scalar_t* in = x.data_ptr<scalar_t>();
      scalar_t* o = out.data_ptr<scalar_t>();
      const auto v_nan = static_cast<scalar_t>(nan);
      const scalar_t v_pos = posinf ? static_cast<scalar_t>(*posinf) : L::max();
      const scalar_t v_neg = neginf ? static_cast<scalar_t>(*neginf) : L::lowest();
      at::parallel_for(0, x.numel(), int64_t{1} << 16, [&](int64_t b, int64_t e) {
        kernels::nan_to_num(in + b, o + b, e - b, v_nan, v_pos, v_neg);
      });
    });
    return out;
  }
  return at::nan_to_num(x, nan, posinf ? c10::optional<double>(*posinf) : c10::nullopt,
                        neginf ? c10::optional<double>(*neginf) : c10::nullopt);
}

at::Tensor isclose_local(const at::Tensor& a, const at::Tensor& b, double rtol, double atol,
                         bool equal_nan) {
  DND_CHECK_VALUE(rtol >= 0 && atol >= 0, "isclose: rtol and atol must be non-negative, got {} and {}",
                  rtol, atol);
  Dtype t = at::result_type(a, b);
  if (!at::isFloatingType(t) && !at::isComplexType(t)) t = at::kDouble;  // as numpy: compared as floats
  return at::isclose(a.to(t), b.to(t), rtol, atol, equal_nan);
}

const std::vector<UnaryFunction>& unary_functions() {
  static const std::vector<UnaryFunction> kFunctions{
      {"floor", "rounding", "round down to a whole number (integers stay as they are)", floor_k},
      {"ceil", "rounding", "round up to a whole number (integers stay as they are)", ceil_k},
      {"trunc", "rounding", "round toward zero (integers stay as they are)", trunc_k},
      {"sign", "rounding", "-1, 0 or 1 by the sign (NaN stays NaN)", sign_k, 1},
      {"square", "math", "a * a", square_k},
      {"reciprocal", "math", "1 / a (integers give floats)", reciprocal_k},
      {"log1p", "math", "log(1 + a), accurate for small a", log1p_k},
      {"log2", "math", "base-2 logarithm", log2_k},
      {"log10", "math", "base-10 logarithm", log10_k},
      {"expm1", "math", "exp(a) - 1, accurate for small a", expm1_k},
      {"exp2", "math", "2 ** a", exp2_k},
      {"tan", "trigonometric", "tangent", tan_k},
      {"arcsin", "trigonometric", "inverse sine", arcsin_k},
      {"arccos", "trigonometric", "inverse cosine", arccos_k},
      {"arctan", "trigonometric", "inverse tangent", arctan_k},
      {"sinh", "trigonometric", "hyperbolic sine", sinh_k},
      {"cosh", "trigonometric", "hyperbolic cosine", cosh_k},
      {"arcsinh", "trigonometric", "inverse hyperbolic sine", arcsinh_k},
      {"arccosh", "trigonometric", "inverse hyperbolic cosine", arccosh_k},
      {"arctanh", "trigonometric", "inverse hyperbolic tangent", arctanh_k},
      {"deg2rad", "trigonometric", "degrees to radians", deg2rad_k},
      {"rad2deg", "trigonometric", "radians to degrees", rad2deg_k},
      {"real", "complex", "the real part (a copy of a real array)", real_k},
      {"imag", "complex", "the imaginary part (zeros for a real array)", imag_k},
      {"conj", "complex", "the complex conjugate (a copy of a real array)", conj_k},
      {"angle", "complex", "the argument of a complex number in radians (0 or pi for real ones)",
       angle_k},
      {"isnan", "nan", "true where a is NaN", isnan_k},
      {"isinf", "nan", "true where a is +inf or -inf", isinf_k},
      {"isfinite", "nan", "true where a is neither NaN nor infinite", isfinite_k},
      {"bitwise_not", "bitwise", "~a, bit by bit (integers and bools)", bitwise_not_k},
  };
  return kFunctions;
}

const std::vector<BinaryFunction>& binary_functions() {
  static const std::vector<BinaryFunction> kFunctions{
      {"maximum", "math", "the larger of a and b (NaN if either is NaN)", maximum_k},
      {"minimum", "math", "the smaller of a and b (NaN if either is NaN)", minimum_k},
      {"fmax", "nan", "the larger of a and b, ignoring a NaN", fmax_k},
      {"fmin", "nan", "the smaller of a and b, ignoring a NaN", fmin_k},
      {"fmod", "math", "the remainder of a / b with the sign of a (C's fmod)", fmod_k},
      {"hypot", "math", "sqrt(a**2 + b**2) without overflow", hypot_k, 8},
      {"arctan2", "trigonometric", "the angle of the point (x=b, y=a) in radians", arctan2_k},
      {"bitwise_and", "bitwise", "a & b (integers and bools)", bitwise_k<0>},
      {"bitwise_or", "bitwise", "a | b (integers and bools)", bitwise_k<1>},
      {"bitwise_xor", "bitwise", "a ^ b (integers and bools)", bitwise_k<2>},
      {"left_shift", "bitwise", "a << b (integers; by the width or more: 0)", shift_k<true>, 26},
      {"right_shift", "bitwise", "a >> b (integers, arithmetic; by the width or more: 0 or -1)",
       shift_k<false>, 27},
  };
  return kFunctions;
}

const UnaryFunction* find_unary_function(std::string_view name) {
  for (const UnaryFunction& f : unary_functions())
    if (name == f.name) return &f;
  return nullptr;
}
const BinaryFunction* find_binary_function(std::string_view name) {
  for (const BinaryFunction& f : binary_functions())
    if (name == f.name) return &f;
  return nullptr;
}

DNDarray apply(const UnaryFunction& f, const DNDarray& a) { return unary(f.name, a, f.local); }
DNDarray apply(const BinaryFunction& f, const Operand& a, const Operand& b) {
  return binary(f.name, a, b, f.local);
}

namespace {
const UnaryFunction& unary_named(const char* name) {
  const UnaryFunction* f = find_unary_function(name);
  DND_ASSERT(f, name);
  return *f;
}
const BinaryFunction& binary_named(const char* name) {
  const BinaryFunction* f = find_binary_function(name);
  DND_ASSERT(f, name);
  return *f;
}
}  // namespace

#define DND_MATH_UNARY(NAME) \
  DNDarray NAME(const DNDarray& a) { return apply(unary_named(#NAME), a); }
#define DND_MATH_BINARY(NAME) \
  DNDarray NAME(const Operand& a, const Operand& b) { return apply(binary_named(#NAME), a, b); }
DND_MATH_UNARY(floor)
DND_MATH_UNARY(ceil)
DND_MATH_UNARY(trunc)
DND_MATH_UNARY(sign)
DND_MATH_UNARY(square)
DND_MATH_UNARY(reciprocal)
DND_MATH_UNARY(log1p)
DND_MATH_UNARY(log2)
DND_MATH_UNARY(log10)
DND_MATH_UNARY(expm1)
DND_MATH_UNARY(exp2)
DND_MATH_UNARY(tan)
DND_MATH_UNARY(arcsin)
DND_MATH_UNARY(arccos)
DND_MATH_UNARY(arctan)
DND_MATH_UNARY(sinh)
DND_MATH_UNARY(cosh)
DND_MATH_UNARY(arcsinh)
DND_MATH_UNARY(arccosh)
DND_MATH_UNARY(arctanh)
DND_MATH_UNARY(deg2rad)
DND_MATH_UNARY(rad2deg)
DND_MATH_UNARY(real)
DND_MATH_UNARY(imag)
DND_MATH_UNARY(conj)
DND_MATH_UNARY(angle)
DND_MATH_UNARY(isnan)
DND_MATH_UNARY(isinf)
DND_MATH_UNARY(isfinite)
DND_MATH_UNARY(bitwise_not)
DND_MATH_BINARY(maximum)
DND_MATH_BINARY(minimum)
DND_MATH_BINARY(fmax)
DND_MATH_BINARY(fmin)
DND_MATH_BINARY(fmod)
DND_MATH_BINARY(hypot)
DND_MATH_BINARY(arctan2)
DND_MATH_BINARY(bitwise_and)
DND_MATH_BINARY(bitwise_or)
DND_MATH_BINARY(bitwise_xor)
DND_MATH_BINARY(left_shift)
DND_MATH_BINARY(right_shift)
#undef DND_MATH_UNARY
#undef DND_MATH_BINARY

DNDarray round(const DNDarray& a, int64_t decimals) {
  return unary("round", a, [&](const at::Tensor& x) { return round_local(x, decimals); });
}
DNDarray nan_to_num(const DNDarray& a, double nan, std::optional<double> posinf,
                    std::optional<double> neginf) {
  return unary("nan_to_num", a,
               [&](const at::Tensor& x) { return nan_to_num_local(x, nan, posinf, neginf); });
}
DNDarray isclose(const Operand& a, const Operand& b, double rtol, double atol, bool equal_nan) {
  return nary("isclose", {&a, &b}, [&](const std::vector<at::Tensor>& t) {
    return isclose_local(t[0], t[1], rtol, atol, equal_nan);
  });
}

}  // namespace dnd
