#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/joining.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

using namespace dnd;
using namespace dnd::testing;

TEST(Joining, ConcatenateEverySplitCombination) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 4}, {5, 4}}, {{2, 4}, {2, 4}}, {{0, 4}, {7, 4}}, {{1, 4}, {1, 4}}};
  for (const auto& [sa, sb] : cases) {
    const at::Tensor ta = sample(sa, at::kFloat, 1), tb = sample(sb, at::kFloat, 2);
    for (Split xa : all_splits(2))
      for (Split xb : all_splits(2)) {
        DNDarray r = concatenate({array(ta, xa), array(tb, xb)}, 0);
        EXPECT_EQ(r.split(), xa ? xa : xb);
        EXPECT_TRUE(r.is_balanced());
        expect_global(r, at::cat({ta, tb}, 0), 0, 0,
                      fmt::format("axis 0: {} split={} + {} split={}", shape_str(sa), split_str(xa),
                                  shape_str(sb), split_str(xb)));
        // The same along axis 1 (transposed inputs).
        const at::Tensor ua = ta.t().contiguous(), ub = tb.t().contiguous();
        expect_global(concatenate({array(ua, xa), array(ub, xb)}, -1), at::cat({ua, ub}, 1), 0, 0,
                      fmt::format("axis 1: split={} + split={}", split_str(xa), split_str(xb)));
      }
  }
}

TEST(Joining, ThreeOperandsPromoteDtypes) {
  const at::Tensor a = sample({2, 3}, at::kInt, 1), b = sample({4, 3}, at::kDouble, 2),
                   c = sample({1, 3}, at::kLong, 3);
  for (Split s : all_splits(2))
    expect_global(concatenate({array(a, s), array(b, kReplicated), array(c, 0)}),
                  at::cat({a.to(at::kDouble), b, c.to(at::kDouble)}, 0));
}

TEST(Joining, Stack) {
  const at::Tensor a = sample({3, 2}, at::kLong, 1), b = sample({3, 2}, at::kLong, 2);
  for (Split xa : all_splits(2))
    for (Split xb : all_splits(2))
      for (int64_t ax : {0, 1, 2, -1})
        expect_global(stack({array(a, xa), array(b, xb)}, ax), at::stack({a, b}, ax));
}

TEST(Joining, Errors) {
  try {
    concatenate({zeros({2, 3}, {0}), zeros({2, 4})}, 0);
    ADD_FAILURE() << "no exception";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(
        e.what(),
        "concatenate: along axis 0 all other extents must match: (2, 3) split=0, (2, 4) split=None");
  }
  EXPECT_THROW(concatenate({}), ValueError);
  EXPECT_THROW(concatenate({zeros({}), zeros({})}), ValueError);
  EXPECT_THROW(stack({zeros({2}), zeros({3})}), ShapeError);
  EXPECT_THROW(concatenate({zeros({2}), zeros({2})}, 1), ValueError);
}
