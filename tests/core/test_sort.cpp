#include "src/core/sort.h"

#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

using namespace dnd;
using namespace dnd::testing;

namespace {

const std::vector<at::ScalarType> kDtypes{at::kBool, at::kInt, at::kLong, at::kFloat, at::kDouble};

// Values in a small range (many duplicates) in a scrambled order; floats get NaNs, -0.0
// and infinities sprinkled in when `special`.
at::Tensor dup_data(const Shape& shape, at::ScalarType dtype, int64_t seed = 0, bool special = true) {
  const int64_t n = shape_numel(shape);
  at::Tensor base =
      (at::arange(n, at::kLong) * 7919 + seed * 104729) % 1009 % 13 - 6;  // -6..6, scrambled
  if (dtype == at::kBool) return (base > 0).reshape(shape);
  if (!at::isFloatingType(dtype)) return base.to(dtype).reshape(shape);
  at::Tensor f = base.to(at::kDouble) / 2.0;
  if (special && n > 0) {
    const at::Tensor pos = at::arange(n, at::kLong);
    f = at::where((pos * 5 + seed) % 11 == 0,
                  at::full({}, std::numeric_limits<double>::quiet_NaN(), at::kDouble), f);
    f = at::where((pos * 3 + seed) % 17 == 1, at::full({}, -0.0, at::kDouble), f);
    f = at::where((pos + seed) % 29 == 2,
                  at::full({}, std::numeric_limits<double>::infinity(), at::kDouble), f);
    f = at::where((pos + seed) % 31 == 3,
                  at::full({}, -std::numeric_limits<double>::infinity(), at::kDouble), f);
  }
  return f.to(dtype).reshape(shape);
}

// Checks sort(a, axis, descending) against torch's stable sort of the full tensor t.
void expect_sorted(const DNDarray& a, const at::Tensor& t, int64_t axis, bool descending,
                   const std::string& context) {
  const auto [values, indices] = sort(a, axis, descending);
  const auto [ev, ei] = at::sort(t, /*stable=*/true, axis, descending);
  const std::string where = fmt::format("{} axis={} descending={} dtype={} input {}", context, axis,
                                        descending, dtype_name(a.dtype()), where_str(a));
  SCOPED_TRACE(where);
  EXPECT_EQ(values.split(), a.split());
  EXPECT_EQ(indices.split(), a.split());
  EXPECT_EQ(values.counts(), indices.counts());
  EXPECT_EQ(values.dtype(), a.dtype());
  EXPECT_EQ(indices.dtype(), at::kLong);
  expect_global(values, ev, 0, 0, "values");
  expect_global(indices, ei, 0, 0, "indices");
  // Counts: kept unless a 1-D array is sorted along its split axis (then balanced).
  if (a.split() && a.ndim() == 1)
    EXPECT_TRUE(values.is_balanced());
  else
    EXPECT_EQ(values.counts(), a.counts());
  // sort_values: the same values bit for bit (-0.0 and 0.0, NaNs of either sign, in torch's
  // stable order), split and counts, without the indices.
  const DNDarray only = sort_values(a, axis, descending);
  EXPECT_EQ(only.split(), values.split());
  EXPECT_EQ(only.counts(), values.counts());
  const at::Tensor got = allgather(only);
  ASSERT_EQ(got.sizes(), ev.sizes());
  ASSERT_EQ(got.scalar_type(), ev.scalar_type());
  if (at::isFloatingType(ev.scalar_type())) {
    const at::ScalarType bits = ev.element_size() == 4 ? at::kInt : at::kLong;
    EXPECT_TRUE(at::equal(got.contiguous().view(bits), ev.contiguous().view(bits)))
        << "sort_values differs in its bits:\n"
        << got << "\nexpected\n"
        << ev;
  } else {
    EXPECT_TRUE(at::equal(got, ev)) << "sort_values:\n" << got << "\nexpected\n" << ev;
  }
}

}  // namespace

TEST(Sort, EveryAxisEverySplitEveryDtype) {
  std::vector<Shape> shapes = test_shapes();
  for (Shape extra :
       {Shape{7, 1}, Shape{1, 9}, Shape{40, 3}, Shape{3, 40}, Shape{6, 5, 4}, Shape{2, 0, 5}})
    shapes.push_back(extra);
  for (const Shape& shape : shapes)
    for (at::ScalarType dt : kDtypes) {
      const at::Tensor t = dup_data(shape, dt, static_cast<int64_t>(shape.size()));
      const int64_t nd = static_cast<int64_t>(shape.size());
      for (Split split : all_splits(nd))
        for (int64_t axis = -std::max<int64_t>(nd, 1); axis < std::max<int64_t>(nd, 1); ++axis)
          for (bool desc : {false, true}) expect_sorted(array(t, split), t, axis, desc, "shape sweep");
    }
}

TEST(Sort, DefaultArgumentsSortTheLastAxisAscending) {
  const at::Tensor t = dup_data({5, 6}, at::kFloat);
  for (Split split : all_splits(2)) {
    const DNDarray a = array(t, split);
    const at::Tensor before = a.larray().clone();
    const auto [values, indices] = sort(a);
    const auto [ev, ei] = at::sort(t, /*stable=*/true, -1, false);
    expect_global(values, ev);
    expect_global(indices, ei);
    EXPECT_TRUE(at::allclose(a.larray(), before, 0, 0, /*equal_nan=*/true))
        << "sort leaves its input alone";
  }
}

TEST(Sort, OneDimensionalLengths) {
  for (int64_t n : {0, 1, 2, 3, 4, 5, 7, 100, 1000})
    for (at::ScalarType dt : kDtypes)
      for (Split split : all_splits(1))
        for (bool desc : {false, true}) {
          const at::Tensor t = dup_data({n}, dt, n);
          expect_sorted(array(t, split), t, 0, desc, fmt::format("n={}", n));
        }
}

TEST(Sort, OneDimensionalSpecialOrders) {
  // Already sorted, reverse sorted, all equal, all NaN, alternating, few distinct values.
  for (int64_t n : {1, 2, 3, 8, 101, 1000}) {
    const at::Tensor ramp = at::arange(n, at::kDouble);
    std::vector<std::pair<std::string, at::Tensor>> cases{
        {"sorted", ramp},
        {"reversed", ramp.flip(0)},
        {"all equal", at::full({n}, 3.5, at::kDouble)},
        {"all NaN", at::full({n}, std::numeric_limits<double>::quiet_NaN(), at::kDouble)},
        {"alternating", (at::arange(n, at::kLong) % 2).to(at::kDouble)},
        {"two values, sorted halves", (at::arange(n, at::kLong) >= n / 2).to(at::kDouble)},
        {"sorted with NaN tail",
         at::cat({ramp.narrow(0, 0, n / 2),
                  at::full({n - n / 2}, std::numeric_limits<double>::quiet_NaN(), at::kDouble)})},
    };
    for (const auto& [name, base] : cases)
      for (at::ScalarType dt : {at::kLong, at::kFloat, at::kDouble}) {
        if (dt == at::kLong && name.find("NaN") != std::string::npos) continue;
        const at::Tensor t = base.to(dt);
        for (bool desc : {false, true}) {
          expect_sorted(array(t, 0), t, 0, desc, fmt::format("{} n={}", name, n));
          expect_sorted(unbalanced(t, 0), t, 0, desc, fmt::format("{} n={} unbalanced", name, n));
        }
      }
  }
}

TEST(Sort, BoolAndSmallIntegerLines) {
  for (int64_t n : {0, 1, 5, 64, 333}) {
    const at::Tensor b = (at::arange(n, at::kLong) * 37 % 5 < 2);
    for (at::ScalarType dt : {at::kBool, at::kByte, at::kChar, at::kShort}) {
      const at::Tensor t =
          dt == at::kBool ? b
                          : (at::arange(n, at::kLong) * 37 % 11 - 5 + (dt == at::kByte ? 5 : 0)).to(dt);
      for (Split split : all_splits(1))
        for (bool desc : {false, true})
          expect_sorted(array(t, split), t, 0, desc, fmt::format("n={}", n));
    }
  }
}

TEST(Sort, UnbalancedInputs) {
  for (at::ScalarType dt : kDtypes) {
    const at::Tensor line = dup_data({250}, dt, 3);
    for (bool desc : {false, true}) expect_sorted(unbalanced(line, 0), line, 0, desc, "1-D unbalanced");
    const at::Tensor t = dup_data({9, 6, 4}, dt, 5);
    for (int64_t split : {0, 1, 2})
      for (int64_t axis = 0; axis < 3; ++axis)
        for (bool desc : {false, true})
          expect_sorted(unbalanced(t, split), t, axis, desc, "3-D unbalanced");
  }
}

TEST(Sort, LargeRandomLineFromFactory) {
  // Seeded factories give the same global array at any rank count: values from a small
  // range, so most of them have thousands of duplicates spread over every rank.
  for (Split split : all_splits(1)) {
    const DNDarray ints = random_integers({20000}, 11, -20, 20, {split});
    const DNDarray floats = random_normal({12345}, 12, 0.0, 1.0, {split, at::kDouble});
    for (bool desc : {false, true}) {
      expect_sorted(ints, allgather(ints), 0, desc, "random_integers");
      expect_sorted(floats, allgather(floats), 0, desc, "random_normal");
    }
  }
}

TEST(Sort, DataOnOneRankOnly) {
  const Communicator world = Communicator::world();
  const int p = world.size();
  const at::Tensor t = dup_data({57}, at::kFloat, 9);
  for (int holder : {0, p - 1}) {
    std::vector<int64_t> counts(static_cast<size_t>(p), 0);
    counts[static_cast<size_t>(holder)] = 57;
    const at::Tensor local = world.rank() == holder ? t : t.narrow(0, 0, 0);
    for (bool desc : {false, true})
      expect_sorted(DNDarray(local.contiguous(), {57}, 0, world, counts), t, 0, desc,
                    fmt::format("everything on rank {}", holder));
  }
}

TEST(Sort, SubCommunicator) {
  const Communicator world = Communicator::world();
  const Communicator half = world.split(world.rank() % 2, world.rank());
  const at::Tensor line = dup_data({77}, at::kDouble, 4);
  const at::Tensor grid = dup_data({7, 5}, at::kInt, 4);
  for (bool desc : {false, true}) {
    expect_sorted(array(line, 0, ArrayOptions{}.with_comm(half)), line, 0, desc,
                  "1-D on a sub-communicator");
    expect_sorted(unbalanced(line, 0, half), line, 0, desc, "1-D unbalanced on a sub-communicator");
    for (int64_t axis : {0, 1})
      expect_sorted(array(grid, 0, ArrayOptions{}.with_comm(half)), grid, axis, desc,
                    "2-D on a sub-communicator");
  }
}

TEST(Sort, Errors) {
  const at::Tensor t = sample({3, 4}, at::kFloat);
  for (Split split : all_splits(2)) {
    const DNDarray a = array(t, split);
    EXPECT_THROW(sort(a, 2), ValueError);
    EXPECT_THROW(sort(a, -3), ValueError);
    EXPECT_THROW(sort_values(a, 2), ValueError);
  }
  EXPECT_THROW(sort(array(sample({5}, at::kFloat), 0), 1), ValueError);
  EXPECT_THROW(sort(array(sample({}, at::kFloat), kReplicated), 1), ValueError);
  for (at::ScalarType dt : {at::kComplexFloat, at::kComplexDouble})
    for (Split split : all_splits(1)) {
      EXPECT_THROW(sort(array(sample({6}, dt), split), 0), TypeError);
      EXPECT_THROW(sort_values(array(sample({6}, dt), split), 0), TypeError);
    }
}
