#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "src/core/shape_ops.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

using namespace dnd;
using namespace dnd::testing;

TEST(ShapeOps, TransposeMovesTheSplitWithItsAxis) {
  const at::Tensor t = sample({3, 5, 2}, at::kDouble);
  for (Split s : all_splits(3)) {
    DNDarray a = array(t, s);
    DNDarray r = transpose(a);
    expect_global(r, t.permute({2, 1, 0}).contiguous());
    if (s) {
      EXPECT_EQ(r.split(), Split(2 - *s));
    }
    expect_global(transpose(a, {1, 2, 0}), t.permute({1, 2, 0}).contiguous());
    expect_global(permute(a, {0, -1, 1}), t.permute({0, 2, 1}).contiguous());
    expect_global(swapaxes(a, 0, -1), t.transpose(0, 2).contiguous());
  }
  EXPECT_THROW(transpose(zeros({2, 3}), {0}), ValueError);
  EXPECT_THROW(transpose(zeros({2, 3}), {1, 1}), ValueError);
  expect_global(transpose(unbalanced(t, 1)), t.permute({2, 1, 0}).contiguous());
}

TEST(ShapeOps, ExpandDimsAndSqueeze) {
  const at::Tensor t = sample({4, 1, 3}, at::kLong);
  for (Split s : all_splits(3)) {
    DNDarray a = array(t, s);
    for (int64_t ax : {0, 1, 3, -1, -4}) expect_global(expand_dims(a, ax), t.unsqueeze(ax));
    expect_global(squeeze(a), t.squeeze());
    expect_global(squeeze(a, {1}), t.squeeze(1));
    expect_global(squeeze(a, {-2}), t.squeeze(1));
  }
  EXPECT_THROW(squeeze(zeros({2, 3}), {0}), ValueError);
  EXPECT_THROW(expand_dims(zeros({2}), 3), ValueError);
  // Squeezing away the split axis replicates.
  DNDarray one = array(sample({1, 5}, at::kFloat), 0);
  DNDarray sq = squeeze(one);
  EXPECT_FALSE(sq.split().has_value());
  expect_global(sq, sample({1, 5}, at::kFloat).squeeze(0));
}

TEST(ShapeOps, ReshapeMatchesTorchForEverySplitPair) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{6, 4}, {4, 6}}, {{6, 4}, {24}}, {{24}, {2, 3, 4}}, {{2, 3, 4}, {4, -1}}, {{5, 1}, {1, 5}},
      {{3, 0}, {0, 7}}, {{1}, {}},      {{}, {1, 1}},      {{7, 3}, {3, 7}},     {{2, 2, 3}, {3, 2, 2}},
  };
  for (const auto& [from, to] : cases)
    for (at::ScalarType dt : {at::kInt, at::kFloat, at::kBool}) {
      const at::Tensor t = sample(from, dt);
      const at::Tensor expected = t.reshape(to).contiguous();
      for (Split s : all_splits(static_cast<int64_t>(from.size())))
        for (Split ns : all_splits(static_cast<int64_t>(expected.dim()))) {
          DNDarray r = reshape(array(t, s), to, ns);
          EXPECT_EQ(r.split(), ns);
          EXPECT_TRUE(r.is_balanced());
          expect_global(r, expected, 0, 0,
                        fmt::format("reshape {} split={} -> {} split={}", shape_str(from), split_str(s),
                                    shape_str(to), split_str(ns)));
        }
    }
}

TEST(ShapeOps, ReshapeDefaultsAndUnbalancedInputs) {
  const at::Tensor t = sample({9, 4}, at::kDouble);
  EXPECT_EQ(reshape(array(t, 1), {36}).split(), Split(0));
  EXPECT_FALSE(reshape(array(t, kReplicated), {36}).split().has_value());
  for (int64_t s : {0, 1})
    for (Split ns : all_splits(2))
      expect_global(reshape(unbalanced(t, s), {4, 9}, ns), t.reshape({4, 9}));
  expect_global(flatten(array(t, 1)), t.reshape({-1}));
  try {
    reshape(array(t, 0), {5, 7});
    ADD_FAILURE() << "no exception";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(),
                 "reshape: cannot reshape array of size 36 (shape (9, 4) split=0) into shape (5, 7)");
  }
  EXPECT_THROW(reshape(array(t, 0), {-1, -1}), ValueError);
  EXPECT_THROW(reshape(array(t, 0), {36}, Split(1)), ValueError);
}

TEST(ShapeOps, LargeBlocksMoveCorrectlyOnEveryPath) {
  // Rows of several KiB: on one node these take the single-copy path (long runs);
  // the same test runs with DND_CMA=0 through plain MPI.
  const at::Tensor t = (at::arange(512 * 1536, at::kDouble).reshape({512, 1536}) * 0.37).frac();
  for (Split s : all_splits(2))
    for (Split ns : all_splits(2)) {
      expect_global(reshape(array(t, s), {1536, 512}, ns), t.reshape({1536, 512}), 0, 0, "reshape");
      expect_global(reshape(array(t, s), {256, 3072}, ns), t.reshape({256, 3072}), 0, 0, "reshape");
      if (s && ns) expect_global(resplit(array(t, s), ns), t, 0, 0, "resplit");
    }
}
