// Elementwise operations with numpy broadcasting and numpy/torch type promotion.
//
// Operands are DNDarrays or scalars (an Operand converts from either). Operands with
// different splits are aligned, not rejected: the result takes the split (and counts) of
// the largest split operand, and the others are brought to it (a replicated operand is
// sliced locally; a split one is resplit or redistributed, which communicates). An
// operand split along an axis it broadcasts over (extent 1) is replicated first.
// Results are new arrays; operands are never modified.
#pragma once

#include "src/core/dndarray.h"
#include "src/core/meta.h"

#include <c10/core/Scalar.h>

#include <optional>
#include <type_traits>
#include <variant>

namespace dnd {

// An operand of an elementwise operation: a DNDarray or a scalar. A temporary array
// (an rvalue, as `a * b` in `a * b + c`) whose storage nobody else shares may lend its
// buffer to the result, as numpy's temporary elision does: `a * b + c` then makes one
// fresh array instead of two.
class Operand {
 public:
  Operand(const DNDarray& a) : v_(a) {}                          // NOLINT(google-explicit-constructor)
  Operand(DNDarray&& a) : v_(std::move(a)), temporary_(true) {}  // NOLINT
  Operand(const c10::Scalar& s) : v_(s) {}                       // NOLINT
  template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
  Operand(T v) : v_(c10::Scalar(v)) {}  // NOLINT
  bool is_array() const noexcept { return std::holds_alternative<DNDarray>(v_); }
  const DNDarray& array() const { return std::get<DNDarray>(v_); }
  const c10::Scalar& scalar() const { return std::get<c10::Scalar>(v_); }
  // Whether the result may be written into this operand's block: a temporary whose
  // block and storage are referenced by this operand alone.
  bool reusable() const;

 private:
  std::variant<DNDarray, c10::Scalar> v_;
  bool temporary_ = false;
};

// Arithmetic. divide is true division (ints give float); floor_divide rounds toward
// -inf; remainder has the sign of the divisor (Python's %, numpy's mod).
DNDarray add(const Operand& a, const Operand& b);
DNDarray subtract(const Operand& a, const Operand& b);
DNDarray multiply(const Operand& a, const Operand& b);
DNDarray divide(const Operand& a, const Operand& b);
DNDarray floor_divide(const Operand& a, const Operand& b);
DNDarray remainder(const Operand& a, const Operand& b);
DNDarray power(const Operand& a, const Operand& b);
// a * b + c in one pass over memory (no temporary): torch.addcmul(c, a, b).
DNDarray multiply_add(const Operand& a, const Operand& b, const Operand& c);

// Comparisons and logic give bool arrays.
DNDarray equal(const Operand& a, const Operand& b);
DNDarray not_equal(const Operand& a, const Operand& b);
DNDarray less(const Operand& a, const Operand& b);
DNDarray less_equal(const Operand& a, const Operand& b);
DNDarray greater(const Operand& a, const Operand& b);
DNDarray greater_equal(const Operand& a, const Operand& b);
DNDarray logical_and(const Operand& a, const Operand& b);
DNDarray logical_or(const Operand& a, const Operand& b);
DNDarray logical_xor(const Operand& a, const Operand& b);
DNDarray logical_not(const DNDarray& a);

// Unary functions. exp/log/sqrt/sin/cos/tanh give float for integer input (torch).
DNDarray abs(const DNDarray& a);
DNDarray negative(const DNDarray& a);
DNDarray exp(const DNDarray& a);
DNDarray log(const DNDarray& a);
DNDarray sqrt(const DNDarray& a);
DNDarray sin(const DNDarray& a);
DNDarray cos(const DNDarray& a);
DNDarray tanh(const DNDarray& a);

// Limits values to [min, max]; either bound may be absent (not both).
DNDarray clip(const DNDarray& a, std::optional<c10::Scalar> min, std::optional<c10::Scalar> max);
// cond ? x : y elementwise, cond a bool array; all three broadcast together.
DNDarray where(const DNDarray& cond, const Operand& x, const Operand& y);

inline DNDarray operator+(const Operand& a, const Operand& b) { return add(a, b); }
inline DNDarray operator-(const Operand& a, const Operand& b) { return subtract(a, b); }
inline DNDarray operator*(const Operand& a, const Operand& b) { return multiply(a, b); }
inline DNDarray operator/(const Operand& a, const Operand& b) { return divide(a, b); }
inline DNDarray operator%(const Operand& a, const Operand& b) { return remainder(a, b); }
inline DNDarray operator-(const DNDarray& a) { return negative(a); }

// numpy's broadcast of two shapes; throws ShapeError naming `op` when they do not fit.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// The rule of the operations above, without data: the shape the operands broadcast to,
// the split (that of the largest operand split along a non-broadcast axis; replicated
// when there is none), and what aligning the others costs (comm_bytes, temp_bytes, and a
// note per aligned operand). `operands` holds nullptr for numbers; `dtype` is the
// result's (torch's promotion of the operands). leader: the index of the operand the
// result follows, -1 when replicated. Throws ShapeError / TypeError naming `op`.
struct ElementwiseMeta {
  OpMeta op;
  int leader = -1;
  int64_t axis = -1;  // the result's split axis when there is a leader
};
ElementwiseMeta elementwise_meta(const char* op, const std::vector<const ArrayMeta*>& operands,
                                 Dtype dtype, int nranks);

}  // namespace dnd
