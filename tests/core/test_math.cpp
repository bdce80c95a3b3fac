// src/core/math.h and the NaN-ignoring reductions of reductions.h against torch on the
// whole array, at every split, with NaN, infinities, empty and 0-d arrays, and numpy's
// values where numpy and torch differ.
#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/math.h"
#include "src/core/reductions.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <ATen/ScalarOps.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>

using namespace dnd;
using namespace dnd::testing;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Every fifth element NaN, and an inf and a -inf where there is room (floats only).
at::Tensor with_specials(at::Tensor t, bool infinities = true) {
  if (!at::isFloatingType(t.scalar_type()) || t.numel() == 0) return t;
  at::Tensor flat = t.clone().reshape({-1});
  flat.index_put_({at::arange(0, flat.numel(), 5)}, NAN);
  if (infinities && flat.numel() > 2) flat[2] = kInf;
  if (infinities && flat.numel() > 3) flat[3] = -kInf;
  return flat.reshape(t.sizes());
}

const std::vector<at::ScalarType> kDtypes{at::kBool,  at::kByte,   at::kInt,         at::kLong,
                                          at::kFloat, at::kDouble, at::kComplexFloat};

// The torch function a numpy name means, where the two agree (an independent reference
// for the distributed functions; those that differ are checked by value below).
const std::map<std::string, std::function<at::Tensor(const at::Tensor&)>>& torch_unary() {
  static const std::map<std::string, std::function<at::Tensor(const at::Tensor&)>> m{
      {"square", [](auto& x) { return at::square(x); }},
      {"reciprocal", [](auto& x) { return at::reciprocal(x); }},
      {"log1p", [](auto& x) { return at::log1p(x); }},
      {"log2", [](auto& x) { return at::log2(x); }},
      {"log10", [](auto& x) { return at::log10(x); }},
      {"expm1", [](auto& x) { return at::expm1(x); }},
      {"exp2", [](auto& x) { return at::exp2(x); }},
      {"tan", [](auto& x) { return at::tan(x); }},
      {"arcsin", [](auto& x) { return at::asin(x); }},
      {"arccos", [](auto& x) { return at::acos(x); }},
      {"arctan", [](auto& x) { return at::atan(x); }},
      {"sinh", [](auto& x) { return at::sinh(x); }},
      {"cosh", [](auto& x) { return at::cosh(x); }},
      {"arcsinh", [](auto& x) { return at::asinh(x); }},
      {"arccosh", [](auto& x) { return at::acosh(x); }},
      {"arctanh", [](auto& x) { return at::atanh(x); }},
      {"isnan", [](auto& x) { return at::isnan(x); }},
      {"isinf", [](auto& x) { return at::isinf(x); }},
      {"isfinite", [](auto& x) { return at::isfinite(x); }},
  };
  return m;
}

}  // namespace

// Each function at every dtype, shape and split: the same values as the kernel on the
// whole array (and as torch's function of that name), or the same TypeError everywhere.
TEST(Math, UnaryFunctionsAtEverySplitMatchTheWholeArray) {
  for (const UnaryFunction& f : unary_functions())
    for (at::ScalarType dt : kDtypes)
      for (const Shape& shape : test_shapes()) {
        const at::Tensor t = with_specials(sample(shape, dt));
        at::Tensor expected;
        try {
          expected = f.local(t);
        } catch (const std::exception&) {  // dnd's refusal or torch's (log1p of complex)
          for (Split s : all_splits(static_cast<int64_t>(shape.size())))
            EXPECT_THROW(apply(f, array(t, s)), TypeError) << f.name << " " << dtype_name(dt);
          continue;
        }
        const auto ref = torch_unary().find(f.name);
        if (ref != torch_unary().end()) {
          const at::Tensor r = ref->second(t);
          EXPECT_TRUE(r.scalar_type() == expected.scalar_type() && at::allclose(r, expected, 0, 0, true))
              << f.name << " " << dtype_name(dt);
        }
        for (Split s : all_splits(static_cast<int64_t>(shape.size()))) {
          const DNDarray r = apply(f, array(t, s));
          // Vector and scalar paths of torch's kernels differ in the last bit: a block's
          // size decides which elements take which.
          expect_global(r, expected, 1e-6, 1e-30,
                        fmt::format("{} {} split={}", f.name, dtype_name(dt), split_str(s)));
          EXPECT_EQ(r.split(), s) << f.name;
        }
      }
}

TEST(Math, BinaryFunctionsBroadcastAcrossSplits) {
  const std::vector<std::pair<Shape, Shape>> shapes{
      {{5, 4}, {5, 4}}, {{5, 4}, {4}}, {{0, 3}, {3}}, {{3}, {}}};
  for (const BinaryFunction& f : binary_functions())
    for (at::ScalarType dt : {at::kBool, at::kInt, at::kLong, at::kFloat, at::kDouble})
      for (const auto& [sa, sb] : shapes) {
        const at::Tensor ta = with_specials(sample(sa, dt));
        // Non-zero divisors for fmod of integers, small counts for the shifts.
        const at::Tensor tb =
            at::isIntegralType(dt, false) ? sample(sb, dt, 2).abs().remainder(9) + 1 : sample(sb, dt, 2);
        at::Tensor expected;
        try {
          expected = f.local(ta, tb);
        } catch (const std::exception&) {
          EXPECT_THROW(apply(f, array(ta, 0), array(tb, kReplicated)), TypeError) << f.name;
          continue;
        }
        for (Split s : all_splits(static_cast<int64_t>(sa.size())))
          for (Split sbs : {Split(kReplicated), Split(int64_t{0})}) {
            if (sbs && sb.empty()) continue;
            expect_global(apply(f, array(ta, s), array(tb, sbs)), expected, 1e-6, 1e-30,
                          fmt::format("{} {} split={} / {}", f.name, dtype_name(dt), split_str(s),
                                      split_str(sbs)));
          }
        // A number as either operand.
        expect_global(apply(f, array(ta, 0), 3),
                      f.local(ta, at::native::wrapped_scalar_tensor(c10::Scalar(3))), 1e-6, 1e-30,
                      fmt::format("{} {} and 3", f.name, dtype_name(dt)));
      }
}

// Where numpy and torch part ways, numpy's values.
TEST(Math, NumpyValuesWhereTorchDiffers) {
  const at::Tensor f = at::tensor({-2.5, -0.5, 0.5, 1.5, 2.5, NAN, kInf}, at::kDouble);
  const at::Tensor i = at::tensor({-15, -25, 15, 25, 7, 0}, at::kLong);
  for (Split s : all_splits(1)) {
    // sign keeps NaN (torch gives 0)
    expect_global(sign(array(f, s)), at::tensor({-1.0, -1.0, 1.0, 1.0, 1.0, NAN, 1.0}, at::kDouble));
    // round: half to even; integers stay integers, to tens half to even
    expect_global(dnd::round(array(f, s)),
                  at::tensor({-2.0, -0.0, 0.0, 2.0, 2.0, NAN, kInf}, at::kDouble));
    expect_global(dnd::round(array(i, s)), i);
    expect_global(dnd::round(array(i, s), -1), at::tensor({-20, -20, 20, 20, 10, 0}, at::kLong));
    expect_global(dnd::round(array(i, s), -30), at::zeros({6}, at::kLong));
    expect_global(dnd::round(array(at::tensor({1.2345, -2.5678}, at::kDouble), s), 2),
                  at::tensor({1.23, -2.57}, at::kDouble), 1e-12, 0);
    expect_global(dnd::floor(array(i, s)), i);
    expect_global(dnd::ceil(array(f, s)),
                  at::tensor({-2.0, -0.0, 1.0, 2.0, 3.0, NAN, kInf}, at::kDouble));
    expect_global(dnd::trunc(array(f, s)),
                  at::tensor({-2.0, -0.0, 0.0, 1.0, 2.0, NAN, kInf}, at::kDouble));
    // hypot of integers is a float
    expect_global(dnd::hypot(array(at::tensor({3, 5}, at::kLong), s), 4),
                  at::tensor({5.0f, std::sqrt(41.0f)}), 1e-6, 0);
    // shifts by the width or more shift everything out (torch wraps the count)
    const at::Tensor x = at::tensor({3, -8, 1, -1}, at::kLong),
                     n = at::tensor({70, 64, -1, 65}, at::kLong);
    expect_global(left_shift(array(x, s), array(n, s)), at::zeros({4}, at::kLong));
    expect_global(right_shift(array(x, s), array(n, s)), at::tensor({0, -1, 0, -1}, at::kLong));
    expect_global(left_shift(array(x, s), 2), at::tensor({12, -32, 4, -4}, at::kLong));
    expect_global(right_shift(array(x, s), 1), at::tensor({1, -4, 0, -1}, at::kLong));
    // complex parts of a real array
    expect_global(imag(array(i, s)), at::zeros({6}, at::kLong));
    expect_global(real(array(f, s)), f);
    const at::Tensor c = at::complex(at::tensor({1.0, -2.0}), at::tensor({3.0, -4.0}));
    expect_global(real(array(c, s)), at::tensor({1.0, -2.0}));
    expect_global(imag(array(c, s)), at::tensor({3.0, -4.0}));
    expect_global(conj(array(c, s)), at::complex(at::tensor({1.0, -2.0}), at::tensor({-3.0, 4.0})));
    expect_global(angle(array(at::tensor({-1.0, 2.0}), s)), at::tensor({M_PI, 0.0}), 1e-15, 0);
    // maximum propagates NaN, fmax ignores it
    const at::Tensor a = at::tensor({1.0, NAN, NAN}), b = at::tensor({NAN, 2.0, NAN});
    expect_global(maximum(array(a, s), array(b, s)), at::tensor({NAN, NAN, NAN}).to(at::kDouble));
    expect_global(fmax(array(a, s), array(b, s)), at::tensor({1.0, 2.0, NAN}));
    expect_global(fmin(array(a, s), 0.5), at::tensor({0.5, 0.5, 0.5}));
    // fmod has the dividend's sign (remainder the divisor's)
    expect_global(fmod(array(at::tensor({-7, 7}, at::kLong), s), 3), at::tensor({-1, 1}, at::kLong));
    // nan_to_num: the dtype's extremes by default
    const double big = std::numeric_limits<double>::max();
    expect_global(nan_to_num(array(at::tensor({NAN, kInf, -kInf, 1.0}), s)),
                  at::tensor({0.0, big, -big, 1.0}));
    expect_global(nan_to_num(array(at::tensor({NAN, kInf, -kInf, 1.0}), s), -1, 9, -9),
                  at::tensor({-1.0, 9.0, -9.0, 1.0}));
    expect_global(nan_to_num(array(i, s)), i);
    // Many blocks of the hand-written loop, float32 and float64, against torch's.
    for (at::ScalarType dt : {at::kFloat, at::kDouble}) {
      at::Tensor big_t = at::arange(300001, at::kDouble).to(dt);
      big_t.masked_fill_(big_t.remainder(7).eq(3), NAN).masked_fill_(big_t.remainder(11).eq(5), kInf);
      big_t.masked_fill_(big_t.remainder(13).eq(2), -kInf);
      expect_global(nan_to_num(array(big_t, s)), at::nan_to_num(big_t));
      expect_global(nan_to_num(array(big_t, s), 2, 3, -4), at::nan_to_num(big_t, 2, 3, -4));
    }
    // isclose compares integers as floats, NaN only with equal_nan
    expect_global(isclose(array(at::tensor({1, 2}, at::kLong), s), 1.000001),
                  at::tensor({1, 0}).to(at::kBool));
    expect_global(isclose(array(a, s), array(b, s), 1e-5, 1e-8, true),
                  at::tensor({0, 0, 1}).to(at::kBool));
  }
  EXPECT_THROW(bitwise_and(array(f, 0), 1), TypeError);
  const DNDarray yes = array(at::tensor({1}).to(at::kBool), 0);
  EXPECT_THROW(left_shift(yes, yes), TypeError);
  expect_global(left_shift(yes, 1), at::tensor({2}, at::kLong));  // a bool and an int: ints, as numpy
  EXPECT_THROW(dnd::floor(array(at::tensor({1}).to(at::kBool), 0)), TypeError);
  EXPECT_THROW(maximum(array(at::tensor({1.0}).to(at::kComplexFloat), 0), 1), TypeError);
  EXPECT_THROW(dnd::round(array(f, 0), 400), ValueError);
  EXPECT_THROW(isclose(array(f, 0), 1, -1), ValueError);
  // Integer division by zero (raised by the ranks whose block holds one: all, replicated).
  EXPECT_THROW(fmod(array(i, kReplicated), 0), ValueError);
}

namespace {

using Nan = std::function<DNDarray(const DNDarray&, const Axes&, bool)>;
using Ref = std::function<at::Tensor(const at::Tensor&, const std::vector<int64_t>&, bool)>;

std::vector<int64_t> all_of(int64_t nd, const Axes& ax) {
  if (ax) return *ax;
  std::vector<int64_t> d;
  for (int64_t k = 0; k < nd; ++k) d.push_back(k);
  return d;
}

at::Tensor count_valid(const at::Tensor& t, const std::vector<int64_t>& d, bool keep) {
  return at::isnan(t).logical_not().sum(d, keep);
}
at::Tensor nanvar_ref(const at::Tensor& t, const std::vector<int64_t>& d, bool keep, int64_t ddof) {
  const at::Tensor cnt = count_valid(t, d, true);
  const at::Tensor m = at::nansum(t, d, true) / cnt;
  at::Tensor dev = at::where(at::isnan(t), at::zeros({}, t.options()), t - m);
  at::Tensor v = (dev * dev).sum(d, true) / (cnt - ddof).clamp_min(1);
  v = at::where((cnt - ddof).gt(0), v, at::full({}, NAN, v.options()));
  if (keep) return v;
  std::vector<int64_t> dims = d;
  for (int64_t& k : dims) k = k < 0 ? k + t.dim() : k;
  std::sort(dims.rbegin(), dims.rend());
  for (int64_t k : dims) v = v.squeeze(k);
  return v;
}
at::Tensor nanext_ref(const at::Tensor& t, const std::vector<int64_t>& d, bool keep, bool is_max) {
  const at::Tensor filled = t.masked_fill(at::isnan(t), is_max ? -kInf : kInf);
  const at::Tensor r = is_max ? filled.amax(d, keep) : filled.amin(d, keep);
  return at::where(count_valid(t, d, keep).gt(0), r, at::full({}, NAN, r.options()));
}

void check_nan(const char* name, const Nan& fn, const Ref& ref, double tol) {
  const std::vector<Shape> shapes{{}, {1}, {7}, {5, 4}, {1, 6}, {2, 3, 5}, {0, 3}};
  for (const Shape& shape : shapes)
    for (at::ScalarType dt : {at::kFloat, at::kDouble, at::kLong}) {
      const at::Tensor t = with_specials(sample(shape, dt), false);
      const int64_t nd = static_cast<int64_t>(shape.size());
      std::vector<Axes> choices{all_axes()};
      for (int64_t k = 0; k < nd; ++k) choices.push_back(axis(k - nd));
      if (nd >= 2) choices.push_back(std::vector<int64_t>{0, nd - 1});
      for (const Axes& ax : choices) {
        const std::vector<int64_t> d = all_of(nd, ax);
        // Zero-size min/max have no identity (a ValueError on every rank, as min).
        bool empty_slice = false;
        for (int64_t k : d) empty_slice |= shape[static_cast<size_t>(k < 0 ? k + nd : k)] == 0;
        for (Split s : all_splits(nd))
          for (bool keep : {false, true}) {
            const std::string ctx = fmt::format("{} {}{} split={} axes={} keep={}", name, dtype_name(dt),
                                                shape_str(shape), split_str(s), d.size(), keep);
            if (empty_slice && (std::string(name) == "nanmin" || std::string(name) == "nanmax")) {
              EXPECT_THROW(fn(array(t, s), ax, keep), ValueError) << ctx;
              continue;
            }
            at::Tensor expected =
                nd == 0 ? ref(t.reshape({1}), {0}, false).reshape(keep ? t.sizes() : at::IntArrayRef{})
                        : ref(t, d, keep);
            expect_global(fn(array(t, s), ax, keep), expected, tol, tol, ctx);
          }
      }
    }
}

}  // namespace

TEST(NanReductions, MatchTorchAtEverySplitWithNaNs) {
  check_nan(
      "nansum", [](auto& a, auto& ax, bool k) { return nansum(a, ax, k); },
      [](auto& t, auto& d, bool k) {
        return at::isFloatingType(t.scalar_type()) ? at::nansum(t, d, k) : at::sum(t, d, k);
      },
      1e-5);
  check_nan(
      "nanmean", [](auto& a, auto& ax, bool k) { return nanmean(a, ax, k); },
      [](auto& t, auto& d, bool k) {
        return at::isFloatingType(t.scalar_type()) ? at::nanmean(t, d, k)
                                                   : at::mean(t.to(at::kFloat), d, k);
      },
      1e-5);
  for (int64_t ddof : {0, 1}) {
    check_nan(
        "nanvar", [ddof](auto& a, auto& ax, bool k) { return nanvar(a, ax, ddof, k); },
        [ddof](auto& t, auto& d, bool k) {
          return nanvar_ref(at::isFloatingType(t.scalar_type()) ? t : t.to(at::kFloat), d, k, ddof);
        },
        1e-5);
    check_nan(
        "nanstd", [ddof](auto& a, auto& ax, bool k) { return nanstd(a, ax, ddof, k); },
        [ddof](auto& t, auto& d, bool k) {
          return at::sqrt(
              nanvar_ref(at::isFloatingType(t.scalar_type()) ? t : t.to(at::kFloat), d, k, ddof));
        },
        1e-5);
  }
  check_nan(
      "nanmin", [](auto& a, auto& ax, bool k) { return nanmin(a, ax, k); },
      [](auto& t, auto& d, bool k) {
        return at::isFloatingType(t.scalar_type()) ? nanext_ref(t, d, k, false) : t.amin(d, k);
      },
      0);
  check_nan(
      "nanmax", [](auto& a, auto& ax, bool k) { return nanmax(a, ax, k); },
      [](auto& t, auto& d, bool k) {
        return at::isFloatingType(t.scalar_type()) ? nanext_ref(t, d, k, true) : t.amax(d, k);
      },
      0);
  check_nan(
      "count_nonzero", [](auto& a, auto& ax, bool k) { return count_nonzero(a, ax, k); },
      [](auto& t, auto& d, bool k) { return t.ne(0).sum(d, k); }, 0);
}

TEST(NanReductions, AllNaNSlicesAndArgReductions) {
  // Row 1 holds NaNs alone.
  const at::Tensor t =
      at::tensor({1.0, NAN, -3.0, NAN, NAN, NAN, 5.0, NAN, kInf, NAN, 2.0, -kInf}).reshape({4, 3});
  for (Split s : all_splits(2)) {
    const DNDarray a = array(t, s);
    expect_global(nansum(a, axis(1)), at::tensor({-2.0, 0.0, 5.0 + kInf, 2.0 - kInf}));
    expect_global(nanmean(a, axis(1)), at::tensor({-1.0, NAN, kInf, -kInf}));
    expect_global(nanmin(a, axis(1)), at::tensor({-3.0, NAN, 5.0, -kInf}));
    expect_global(nanmax(a, axis(0)), at::tensor({5.0, 2.0, kInf}));
    expect_global(nanvar(a, axis(0), 1), at::tensor({8.0, NAN, NAN}), 1e-12, 0);
    // The first non-NaN extreme (numpy: NaN becomes the worst value first).
    expect_global(nanargmin(a, 0), at::tensor({0, 3, 3}, at::kLong));
    expect_global(nanargmax(a, 0), at::tensor({2, 3, 2}, at::kLong));
    expect_global(nanargmax(a), at::full({}, 8, at::kLong));
    expect_global(nanargmin(a), at::full({}, 11, at::kLong));
    // A slice of NaNs alone: every rank throws.
    EXPECT_THROW(nanargmin(a, 1), ValueError);
    expect_global(count_nonzero(a, axis(0)), at::tensor({4, 4, 4}, at::kLong));
  }
  // Integers: as the plain reductions.
  const at::Tensor i = sample({5, 4}, at::kLong);
  for (Split s : all_splits(2)) {
    expect_global(nanargmax(array(i, s), 1), at::argmax(i, 1));
    expect_global(nansum(array(i, s), axis(0)), at::sum(i, 0));
  }
}
