#include "src/core/elementwise.h"

#include "src/core/error.h"
#include "src/core/manipulation.h"

#include <ATen/ATen.h>
#include <ATen/ScalarOps.h>
#include <fmt/format.h>

#include <functional>

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
      r.op.comm_bytes += move_bytes(*a, nranks);
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
    throw ValueError(fmt::format("{} of {}: {}", op, describe(arrays), e.what_without_backtrace()));
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

DNDarray unary(const char* op, const DNDarray& a, at::Tensor (*fn)(const at::Tensor&)) {
  at::Tensor out;
  try {
    out = fn(a.larray());
  } catch (const c10::Error& e) {
    throw ValueError(fmt::format("{} of {} split={}: {}", op, shape_str(a.gshape()),
                                 split_str(a.split()), e.what_without_backtrace()));
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

}  // namespace dnd
