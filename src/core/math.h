// numpy's elementwise math beyond the arithmetic of elementwise.h: rounding, signs,
// exponentials and logarithms, trigonometric and hyperbolic functions, complex parts,
// NaN and infinity tests, bitwise operations, and the two-operand maximum, fmax, fmod,
// hypot, arctan2 and isclose. Every function keeps the split and the counts of its
// operand (the two-operand ones align their operands like add); nothing communicates
// unless operands must be aligned.
//
// dtypes: torch's rules, as for exp in elementwise.h (integers give the default float
// where the result is a float: log2 of int32 is float32), with numpy's where they differ
// in what a user sees: floor, ceil, trunc and round keep integers as they are; sign
// keeps NaN; hypot of integers is a float; shifts by the width or more give 0 (-1 for
// a negative number shifted right), as numpy. A dtype a function is not defined for
// throws TypeError; integer fmod by zero throws ValueError (numpy gives 0 and warns).
#pragma once

#include "src/core/elementwise.h"

#include <optional>
#include <string_view>
#include <vector>

namespace dnd {

// A function of one array under its numpy name. `local` is its kernel on one block; it
// is the rule too: the kernel on an empty block of a dtype gives the result's dtype or
// throws for a dtype the function does not take (what `dnd plan` reports).
// `family` groups the functions in `dnd ops`; `temp_bytes` is what the kernel needs
// besides its result, in bytes per result element (a mask, a float64 copy).
struct UnaryFunction {
  const char* name;
  const char* family;
  const char* summary;
  at::Tensor (*local)(const at::Tensor&);
  int temp_bytes = 0;
};
// The same for two operands (arrays or numbers, broadcast as numpy).
struct BinaryFunction {
  const char* name;
  const char* family;
  const char* summary;
  at::Tensor (*local)(const at::Tensor&, const at::Tensor&);
  int temp_bytes = 0;
};
const std::vector<UnaryFunction>& unary_functions();
const std::vector<BinaryFunction>& binary_functions();
// nullptr for a name that is not one of them.
const UnaryFunction* find_unary_function(std::string_view name);
const BinaryFunction* find_binary_function(std::string_view name);
DNDarray apply(const UnaryFunction& f, const DNDarray& a);
DNDarray apply(const BinaryFunction& f, const Operand& a, const Operand& b);

// Rounding. round is half to even at `decimals` digits (negative: tens, hundreds...).
DNDarray floor(const DNDarray& a);
DNDarray ceil(const DNDarray& a);
DNDarray trunc(const DNDarray& a);
DNDarray round(const DNDarray& a, int64_t decimals = 0);
// The kernel of round on one block (and so its rule, like UnaryFunction::local).
at::Tensor round_local(const at::Tensor& x, int64_t decimals);
DNDarray sign(const DNDarray& a);
DNDarray square(const DNDarray& a);
DNDarray reciprocal(const DNDarray& a);
// Exponentials and logarithms.
DNDarray log1p(const DNDarray& a);
DNDarray log2(const DNDarray& a);
DNDarray log10(const DNDarray& a);
DNDarray expm1(const DNDarray& a);
DNDarray exp2(const DNDarray& a);
// Trigonometric and hyperbolic functions (radians).
DNDarray tan(const DNDarray& a);
DNDarray arcsin(const DNDarray& a);
DNDarray arccos(const DNDarray& a);
DNDarray arctan(const DNDarray& a);
DNDarray sinh(const DNDarray& a);
DNDarray cosh(const DNDarray& a);
DNDarray arcsinh(const DNDarray& a);
DNDarray arccosh(const DNDarray& a);
DNDarray arctanh(const DNDarray& a);
DNDarray deg2rad(const DNDarray& a);
DNDarray rad2deg(const DNDarray& a);
// Complex parts: of a real array, real and conj are copies, imag is zeros, angle 0 or pi.
DNDarray real(const DNDarray& a);
DNDarray imag(const DNDarray& a);
DNDarray conj(const DNDarray& a);
DNDarray angle(const DNDarray& a);
// NaN and infinity: bool results (integers are never NaN or infinite).
DNDarray isnan(const DNDarray& a);
DNDarray isinf(const DNDarray& a);
DNDarray isfinite(const DNDarray& a);
// NaN to `nan`, +inf to `posinf`, -inf to `neginf`; the infinities default to the
// dtype's largest and lowest finite values (numpy.nan_to_num). Integers are copied.
DNDarray nan_to_num(const DNDarray& a, double nan = 0.0, std::optional<double> posinf = std::nullopt,
                    std::optional<double> neginf = std::nullopt);
at::Tensor nan_to_num_local(const at::Tensor& x, double nan, std::optional<double> posinf,
                            std::optional<double> neginf);
// Integers and bools only.
DNDarray bitwise_not(const DNDarray& a);
DNDarray bitwise_and(const Operand& a, const Operand& b);
DNDarray bitwise_or(const Operand& a, const Operand& b);
DNDarray bitwise_xor(const Operand& a, const Operand& b);
DNDarray left_shift(const Operand& a, const Operand& b);   // integers only
DNDarray right_shift(const Operand& a, const Operand& b);  // arithmetic for signed types

// maximum / minimum propagate NaN; fmax / fmin ignore it (NaN only where both are).
DNDarray maximum(const Operand& a, const Operand& b);
DNDarray minimum(const Operand& a, const Operand& b);
DNDarray fmax(const Operand& a, const Operand& b);
DNDarray fmin(const Operand& a, const Operand& b);
// The remainder with the sign of the dividend (C's fmod; remainder has the divisor's).
DNDarray fmod(const Operand& a, const Operand& b);
DNDarray hypot(const Operand& a, const Operand& b);
DNDarray arctan2(const Operand& y, const Operand& x);
// |a - b| <= atol + rtol * |b| elementwise (numpy.isclose); NaNs equal when equal_nan.
DNDarray isclose(const Operand& a, const Operand& b, double rtol = 1e-5, double atol = 1e-8,
                 bool equal_nan = false);
at::Tensor isclose_local(const at::Tensor& a, const at::Tensor& b, double rtol, double atol,
                         bool equal_nan);

}  // namespace dnd
