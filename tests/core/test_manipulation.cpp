#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

using namespace dnd;
using namespace dnd::testing;

TEST(Resplit, EverySplitToEverySplit) {
  for (const Shape& shape : test_shapes())
    for (at::ScalarType dt : {at::kBool, at::kInt, at::kFloat, at::kComplexDouble}) {
      const at::Tensor t = sample(shape, dt);
      const int64_t nd = static_cast<int64_t>(shape.size());
      for (Split from : all_splits(nd))
        for (Split to : all_splits(nd)) {
          DNDarray b = resplit(array(t, from), to);
          EXPECT_EQ(b.split(), to);
          EXPECT_TRUE(b.is_balanced());
          expect_global(b, t, 0, 0, fmt::format("resplit {} -> {}", split_str(from), split_str(to)));
        }
    }
}

TEST(Resplit, FromUnbalancedInputs) {
  const at::Tensor t = sample({9, 5, 2}, at::kDouble);
  for (int64_t from : {0, 1})
    for (Split to : all_splits(3)) {
      DNDarray a = unbalanced(t, from);
      expect_global(a, t);
      expect_global(resplit(a, to), t, 0, 0, fmt::format("unbalanced {} -> {}", from, split_str(to)));
    }
}

TEST(Resplit, ToExplicitCountsAndBalance) {
  const Communicator world = Communicator::world();
  const int p = world.size();
  const at::Tensor t = sample({7, 3}, at::kLong);
  std::vector<int64_t> counts(static_cast<size_t>(p), 0);
  counts[static_cast<size_t>(p - 1)] = 7;  // everything on the last rank
  for (Split from : all_splits(2)) {
    DNDarray a = resplit(array(t, from), 0, counts);
    EXPECT_EQ(a.counts(), counts);
    expect_global(a, t);
    DNDarray b = balance(a);
    EXPECT_TRUE(b.is_balanced());
    EXPECT_EQ(b.counts(), balanced_counts(7, p));
    expect_global(b, t);
  }
  DNDarray a = array(t, 0);
  EXPECT_TRUE(balance(a).larray().is_same(a.larray())) << "balancing a balanced array moves nothing";
  EXPECT_THROW(resplit(a, 0, std::vector<int64_t>(static_cast<size_t>(p), 2)),
               ShapeError);  // 2p != 7 rows
  EXPECT_THROW(redistribute(array(t, kReplicated), counts), ValueError);
  EXPECT_THROW(resplit(a, 2), ValueError);
}

TEST(Resplit, RedistributeBetweenUnbalancedLayouts) {
  const Communicator world = Communicator::world();
  const int p = world.size();
  const at::Tensor t = sample({11, 2}, at::kFloat);
  DNDarray a = unbalanced(t, 0);
  std::vector<int64_t> counts(static_cast<size_t>(p), 0);
  counts[0] = 11;
  DNDarray b = redistribute(a, counts);
  EXPECT_EQ(b.counts(), counts);
  expect_global(b, t);
  expect_global(redistribute(b, a.counts()), t);
}

TEST(Gather, ToRootAndToAll) {
  const Communicator world = Communicator::world();
  for (const Shape& shape : test_shapes()) {
    const at::Tensor t = sample(shape, at::kDouble);
    for (Split s : all_splits(static_cast<int64_t>(shape.size()))) {
      DNDarray a = array(t, s);
      const int root = world.size() - 1;
      at::Tensor g = gather(a, root);
      if (world.rank() == root) {
        EXPECT_TRUE(at::equal(g, t));
      } else {
        EXPECT_FALSE(g.defined());
      }
      EXPECT_TRUE(at::equal(allgather(a), t));
    }
  }
  EXPECT_THROW(gather(zeros({2}), world.size()), ValueError);
}

TEST(Conversion, AstypeCopyAndDevice) {
  const at::Tensor t = sample({5, 3}, at::kDouble);
  for (Split s : all_splits(2)) {
    DNDarray a = array(t, s);
    expect_global(astype(a, at::kInt), t.to(at::kInt));
    expect_global(astype(a, at::kBool), t.to(at::kBool));
    EXPECT_TRUE(astype(a, at::kDouble, false).larray().is_same(a.larray()));
    EXPECT_FALSE(astype(a, at::kDouble).larray().is_same(a.larray()));
    DNDarray c = copy(a);
    c.larray().fill_(0);
    expect_global(a, t);
    EXPECT_TRUE(to_device(a, DeviceKind::cpu).larray().is_same(a.larray()));
    if (!at::hasCUDA()) {
      EXPECT_THROW(to_device(a, DeviceKind::gpu), TypeError);
    }
  }
  EXPECT_THROW(astype(zeros({2}), at::kHalf), TypeError);
}
