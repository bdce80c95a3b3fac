#include "src/core/dndarray.h"
#include "src/core/error.h"
#include "src/core/factories.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

using namespace dnd;
using namespace dnd::testing;

TEST(DNDarray, MetadataOfABalancedSplitArray) {
  const Communicator world = Communicator::world();
  const int p = world.size(), r = world.rank();
  const int64_t n = 2 * p + 1;  // uneven at every rank count above 1
  DNDarray a = zeros({n, 3}, {0});
  EXPECT_EQ(a.gshape(), (Shape{n, 3}));
  EXPECT_EQ(a.split(), Split(0));
  EXPECT_EQ(a.ndim(), 2);
  EXPECT_EQ(a.numel(), n * 3);
  EXPECT_EQ(a.counts(), balanced_counts(n, p));
  EXPECT_EQ(a.lshape(), (Shape{balanced_chunk(n, r, p).count, 3}));
  EXPECT_EQ(a.larray().sizes().vec(), a.lshape());
  EXPECT_TRUE(a.is_balanced());
  EXPECT_EQ(a.dtype(), at::kFloat);
  EXPECT_EQ(a.device(), DeviceKind::cpu);
  EXPECT_EQ(a.lnbytes(), a.larray().numel() * 4);
  EXPECT_EQ(a.gnbytes(), n * 3 * 4);
  const auto m = a.lshape_map();
  ASSERT_EQ(static_cast<int>(m.size()), p);
  int64_t total = 0;
  for (int q = 0; q < p; ++q) {
    EXPECT_EQ(m[q][1], 3);
    EXPECT_EQ(a.chunk(q).offset, total);
    total += m[q][0];
  }
  EXPECT_EQ(total, n);
}

TEST(DNDarray, ReplicatedArraysHoldEverything) {
  DNDarray a = ones({4, 2});
  EXPECT_FALSE(a.split().has_value());
  EXPECT_TRUE(a.counts().empty());
  EXPECT_EQ(a.lshape(), (Shape{4, 2}));
  for (const Shape& s : a.lshape_map()) EXPECT_EQ(s, (Shape{4, 2}));
  EXPECT_TRUE(a.is_balanced());
}

TEST(DNDarray, ConstructorChecksTheBlockShape) {
  const Communicator world = Communicator::world();
  const int p = world.size();
  // Every rank claims a block of 2 rows, but the counts give rank 0 all 2p+1.
  std::vector<int64_t> counts(static_cast<size_t>(p), 0);
  counts[0] = 2 * p + 1;
  if (world.rank() == 0) {
    EXPECT_NO_THROW(DNDarray(at::zeros({2 * p + 1, 2}), {2 * p + 1, 2}, 0, world, counts));
  } else {
    EXPECT_THROW(DNDarray(at::zeros({2, 2}), {2 * p + 1, 2}, 0, world, counts), ShapeError);
  }
  EXPECT_THROW(
      DNDarray(at::zeros({1}), {1}, 0, world, std::vector<int64_t>(static_cast<size_t>(p) + 1, 0)),
      ShapeError);
  EXPECT_THROW(DNDarray(at::zeros({2}), {2}, 3, world), ValueError);
  EXPECT_THROW(DNDarray(at::zeros({2}, at::kHalf), {2}, kReplicated, world), TypeError);
}

TEST(DNDarray, UnbalancedCountsAreKept) {
  const Communicator world = Communicator::world();
  const int p = world.size();
  std::vector<int64_t> counts(static_cast<size_t>(p));
  for (int q = 0; q < p; ++q) counts[static_cast<size_t>(q)] = q;  // rank 0 holds nothing
  int64_t n = 0;
  for (int64_t c : counts) n += c;
  DNDarray a(at::full({world.rank(), 2}, world.rank(), at::kFloat), {n, 2}, 0, world, counts);
  EXPECT_EQ(a.counts(), counts);
  EXPECT_EQ(a.is_balanced(), p <= 2 ? is_balanced_counts(counts) : false);
  at::Tensor expected = at::empty({n, 2}, at::kFloat);
  int64_t row = 0;
  for (int q = 0; q < p; ++q)
    for (int i = 0; i < q; ++i) expected[row++].fill_(q);
  expect_global(a, expected);
}

TEST(DNDarray, LivesOnSubCommunicators) {
  const Communicator world = Communicator::world();
  // Two halves (or one, at 1 rank): each builds and reduces its own array.
  const Communicator half = world.split(world.rank() % 2, world.rank());
  ASSERT_FALSE(half.is_null());
  EXPECT_EQ(half.size(), (world.size() + 1 - world.rank() % 2) / 2);
  DNDarray a = arange(10, ArrayOptions{0}.with_dtype(at::kLong).with_comm(half));
  EXPECT_EQ(a.comm(), half);
  EXPECT_EQ(a.counts(), balanced_counts(10, half.size()));
  expect_global(a, at::arange(10, at::kLong));
  const Communicator none = world.split(-1, 0);
  EXPECT_TRUE(none.is_null());
  const Communicator copy = world.dup();
  EXPECT_NE(copy, world);
  EXPECT_EQ(copy.size(), world.size());
}
