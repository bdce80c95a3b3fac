#include "src/core/elementwise.h"
#include "src/core/error.h"
#include "src/core/factories.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <functional>

using namespace dnd;
using namespace dnd::testing;

namespace {

using DndBinary = std::function<DNDarray(const Operand&, const Operand&)>;
using TorchBinary = std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>;

struct BinaryCase {
  const char* name;
  DndBinary dnd;
  TorchBinary torch;
  bool nonzero_rhs = false;  // integer division needs a divisor without zeros
};

std::vector<BinaryCase> binary_cases() {
  return {
      {"add", dnd::add, [](auto& x, auto& y) { return at::add(x, y); }},
      {"subtract", dnd::subtract, [](auto& x, auto& y) { return at::sub(x, y); }},
      {"multiply", dnd::multiply, [](auto& x, auto& y) { return at::mul(x, y); }},
      {"divide", dnd::divide, [](auto& x, auto& y) { return at::div(x, y); }, true},
      {"floor_divide", dnd::floor_divide, [](auto& x, auto& y) { return at::div(x, y, "floor"); }, true},
      {"remainder", dnd::remainder, [](auto& x, auto& y) { return at::remainder(x, y); }, true},
      {"power", dnd::power, [](auto& x, auto& y) { return at::pow(x, y); }, true},
      {"equal", dnd::equal, [](auto& x, auto& y) { return at::eq(x, y); }},
      {"not_equal", dnd::not_equal, [](auto& x, auto& y) { return at::ne(x, y); }},
      {"less", dnd::less, [](auto& x, auto& y) { return at::lt(x, y); }},
      {"less_equal", dnd::less_equal, [](auto& x, auto& y) { return at::le(x, y); }},
      {"greater", dnd::greater, [](auto& x, auto& y) { return at::gt(x, y); }},
      {"greater_equal", dnd::greater_equal, [](auto& x, auto& y) { return at::ge(x, y); }},
      {"logical_and", dnd::logical_and, [](auto& x, auto& y) { return at::logical_and(x, y); }},
      {"logical_or", dnd::logical_or, [](auto& x, auto& y) { return at::logical_or(x, y); }},
      {"logical_xor", dnd::logical_xor, [](auto& x, auto& y) { return at::logical_xor(x, y); }},
  };
}

// Right-hand operands for division and powers: small positive values, no zeros.
at::Tensor positive(const Shape& s, at::ScalarType dt) {
  at::Tensor base = sample(s, at::kLong, 3).abs() % 3 + 1;
  return base.to(dt);
}

const std::vector<std::pair<Shape, Shape>> kShapePairs = {
    {{5, 4}, {5, 4}}, {{5, 4}, {4}},       {{5, 1}, {1, 4}}, {{3}, {}},
    {{0, 3}, {3}},    {{2, 1, 3}, {4, 1}}, {{1}, {7}},
};

}  // namespace

TEST(Elementwise, BinaryOpsMatchTorchForEverySplitPairAndBroadcast) {
  for (const auto& c : binary_cases())
    for (const auto& [sa, sb] : kShapePairs)
      for (const auto& [da, db] : std::vector<std::pair<at::ScalarType, at::ScalarType>>{
               {at::kLong, at::kLong}, {at::kFloat, at::kFloat}, {at::kInt, at::kDouble}}) {
        const at::Tensor ta = sample(sa, da, 1);
        const at::Tensor tb = c.nonzero_rhs ? positive(sb, db) : sample(sb, db, 2);
        const at::Tensor expected = c.torch(ta, tb);
        for (Split xa : all_splits(static_cast<int64_t>(sa.size())))
          for (Split xb : all_splits(static_cast<int64_t>(sb.size()))) {
            DNDarray r = c.dnd(array(ta, xa), array(tb, xb));
            expect_global(
                r, expected, 1e-6, 1e-6,
                fmt::format("{} {}{} split={} with {}{} split={}", c.name, dtype_name(da), shape_str(sa),
                            split_str(xa), dtype_name(db), shape_str(sb), split_str(xb)));
          }
      }
}

TEST(Elementwise, ScalarsPromoteLikeTorch) {
  const at::Tensor ti = sample({6, 3}, at::kInt);
  const at::Tensor tf = sample({6, 3}, at::kFloat);
  for (Split s : all_splits(2)) {
    DNDarray i = array(ti, s), f = array(tf, s);
    expect_global(i + 2, ti + 2);      // int32 stays int32
    expect_global(i * 2.5, ti * 2.5);  // int32 * python float -> float32
    expect_global(2 - i, at::sub(at::scalar_tensor(2, at::kLong), ti));
    expect_global(i / 2, at::div(ti, 2));  // true division -> float32
    expect_global(f * 2, tf * 2);
    expect_global(power(f, 2), at::pow(tf, 2));
    expect_global(power(2, f), at::pow(2, tf), 1e-6, 0);
    expect_global(greater(i, 0), ti > 0);
    expect_global(-f, -tf);
    expect_global(f % 1.5, at::remainder(tf, 1.5));
    expect_global(floor_divide(f, -0.75), at::div(tf, -0.75, "floor"));
  }
  EXPECT_THROW(add(Operand(1), Operand(2)), TypeError);
}

TEST(Elementwise, MixedSplitsAlignToTheLargerOperand) {
  const at::Tensor ta = sample({6, 4}, at::kDouble, 1), tb = sample({6, 4}, at::kDouble, 2),
                   tv = sample({4}, at::kDouble, 3);
  DNDarray r = add(array(ta, 0), array(tb, 1));
  EXPECT_EQ(r.split(), Split(0));
  DNDarray r2 =
      add(array(tv, 0), array(tb, 1));  // the vector is split along its only axis, the matrix is larger
  EXPECT_EQ(r2.split(), Split(1));
  expect_global(r2, tv + tb);
  DNDarray r3 = add(array(ta, kReplicated), array(tb, 1));
  EXPECT_EQ(r3.split(), Split(1));
  // A split operand that broadcasts along its split axis: (1, 4) split 0 against (6, 4) split 1.
  const at::Tensor row = sample({1, 4}, at::kDouble, 4);
  DNDarray r4 = multiply(array(row, 0), array(tb, 1));
  EXPECT_EQ(r4.split(), Split(1));
  expect_global(r4, row * tb);
}

TEST(Elementwise, UnbalancedOperandsAreRedistributed) {
  const Communicator world = Communicator::world();
  const int p = world.size();
  const at::Tensor ta = sample({9, 2}, at::kLong, 1), tb = sample({9, 2}, at::kLong, 2);
  std::vector<int64_t> counts(static_cast<size_t>(p), 0);
  counts[static_cast<size_t>(p - 1)] = 9;
  const auto off = counts_to_offsets(counts);
  DNDarray a(
      ta.narrow(0, off[static_cast<size_t>(world.rank())], counts[static_cast<size_t>(world.rank())])
          .contiguous(),
      {9, 2}, 0, world, counts);
  DNDarray big = array(at::cat({tb, tb}, 1), 0);  // (9, 4) balanced is larger: a follows it
  DNDarray r = add(a, array(tb, 0));
  expect_global(r, ta + tb);
  EXPECT_EQ(r.counts(), counts) << "equal sizes: the first operand leads";
  DNDarray r2 = add(array(at::cat({ta, ta}, 1), 0), big);
  expect_global(r2, at::cat({ta, ta}, 1) + at::cat({tb, tb}, 1));
}

TEST(Elementwise, UnaryFunctionsMatchTorch) {
  const at::Tensor tf = sample({5, 3}, at::kDouble).abs() + 0.5;
  const at::Tensor ti = sample({5, 3}, at::kLong);
  for (Split s : all_splits(2)) {
    DNDarray f = array(tf, s), i = array(ti, s);
    expect_global(dnd::exp(f), at::exp(tf), 1e-12, 0);
    expect_global(dnd::log(f), at::log(tf), 1e-12, 0);
    expect_global(dnd::sqrt(f), at::sqrt(tf), 1e-12, 0);
    expect_global(dnd::sin(f), at::sin(tf), 1e-12, 1e-15);
    expect_global(dnd::cos(f), at::cos(tf), 1e-12, 1e-15);
    expect_global(dnd::tanh(f), at::tanh(tf), 1e-12, 0);
    expect_global(dnd::abs(i), at::abs(ti));
    expect_global(negative(i), at::neg(ti));
    expect_global(dnd::exp(i), at::exp(ti), 1e-6, 0);  // integer input gives float32, like torch
    expect_global(logical_not(i), at::logical_not(ti));
    expect_global(clip(i, -2, 3), at::clamp(ti, -2, 3));
    expect_global(clip(f, std::nullopt, 1.0), at::clamp(tf, c10::nullopt, 1.0));
  }
  EXPECT_THROW(clip(zeros({2}), std::nullopt, std::nullopt), ValueError);
  EXPECT_THROW(negative(zeros({2}, {kReplicated, at::kBool})), TypeError);
}

TEST(Elementwise, WhereBroadcastsThreeOperands) {
  const at::Tensor c = sample({4, 5}, at::kBool), x = sample({4, 5}, at::kFloat, 1),
                   y = sample({5}, at::kDouble, 2);
  for (Split sc : all_splits(2))
    for (Split sx : all_splits(2))
      for (Split sy : all_splits(1)) {
        expect_global(where(array(c, sc), array(x, sx), array(y, sy)),
                      at::where(c, x.to(at::kDouble), y));
        expect_global(where(array(c, sc), array(x, sx), 0.0), at::where(c, x, at::zeros_like(x)));
      }
  expect_global(where(array(c, 0), 1, 2),
                at::where(c, at::ones_like(c, at::kLong), at::full_like(c, 2, at::kLong)));
  EXPECT_THROW(where(array(x, 0), 1, 2), TypeError);
}

TEST(Elementwise, MultiplyAddIsFusedAndCorrect) {
  const at::Tensor a = sample({7, 3}, at::kFloat, 1), b = sample({7, 3}, at::kFloat, 2),
                   c = sample({3}, at::kFloat, 3);
  for (Split s : all_splits(2)) {
    expect_global(multiply_add(array(a, s), array(b, s), array(c, 0)), a * b + c, 1e-6, 1e-6);
    expect_global(multiply_add(array(a, s), 2, 1), a * 2 + 1, 1e-6, 1e-6);
  }
  const at::Tensor ib = sample({4}, at::kBool);
  expect_global(multiply_add(array(ib, 0), array(ib, 0), array(ib, 0)), ib * ib + ib);
}

TEST(Elementwise, ShapeErrorsNameTheOperationShapesAndSplits) {
  try {
    add(zeros({3, 4}, {0}), zeros({5}));
    ADD_FAILURE() << "no exception";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "add: operands could not be broadcast together with shapes (3, 4) and (5,)");
  }
  // Every rank holds part of the divisor, so every rank meets the zero.
  EXPECT_THROW(floor_divide(ones({8}, {0, at::kLong}), zeros({8}, {0, at::kLong})), ValueError);
  const Communicator world = Communicator::world();
  const Communicator other = world.dup();
  EXPECT_THROW(add(zeros({3}), zeros({3}, ArrayOptions{}.with_comm(other))), ValueError);
}

TEST(Elementwise, TemporariesLendTheirBufferToTheResult) {
  const at::Tensor ta = sample({9, 4}, at::kFloat, 1), tb = sample({9, 4}, at::kFloat, 2),
                   tc = sample({9, 4}, at::kFloat, 3);
  for (Split s : all_splits(2)) {
    DNDarray a = array(ta, s), b = array(tb, s), c = array(tc, s);
    DNDarray t = a * b;
    const void* buf = t.larray().data_ptr();
    DNDarray r = std::move(t) + c;  // t is a temporary now: its block receives the sum
    if (r.larray().numel() > 0) {
      EXPECT_EQ(r.larray().data_ptr(), buf);
    }
    expect_global(r, ta * tb + tc, 1e-6, 1e-6);
    expect_global(a * b + c, ta * tb + tc, 1e-6, 1e-6);
    expect_global(c - a * b, tc - ta * tb, 1e-6, 1e-6);  // the temporary on the right
    // Named operands are never overwritten.
    DNDarray keep = a * b;
    DNDarray r2 = keep + c;
    if (keep.larray().numel() > 0) EXPECT_NE(r2.larray().data_ptr(), keep.larray().data_ptr());
    expect_global(keep, ta * tb, 1e-6, 1e-6);
    // A temporary of another dtype or of a smaller (broadcast) shape is not reused.
    const at::Tensor ti = sample({9, 4}, at::kInt);
    expect_global(array(ti, s) * 2 + 0.5, ti * 2 + 0.5, 1e-6, 1e-6);
    const at::Tensor row = sample({4}, at::kFloat, 4);
    expect_global(array(row, kReplicated) * 2 + c, row * 2 + tc, 1e-6, 1e-6);
  }
}
