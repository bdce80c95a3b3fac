#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/reductions.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

using namespace dnd;
using namespace dnd::testing;

TEST(Factories, FilledArraysMatchTorchForEverySplit) {
  for (const Shape& shape : test_shapes())
    for (Split s : all_splits(static_cast<int64_t>(shape.size()))) {
      expect_global(zeros(shape, {s}), at::zeros(shape));
      expect_global(ones(shape, {s, at::kInt}), at::ones(shape, at::kInt));
      expect_global(full(shape, 2.5, {s}), at::full(shape, 2.5, at::kFloat));
      expect_global(full(shape, int64_t{7}, {s}), at::full(shape, 7, at::kLong));
      expect_global(full(shape, true, {s}), at::full(shape, true, at::kBool));
      DNDarray e = empty(shape, {s, at::kDouble});
      EXPECT_EQ(e.gshape(), shape);
      EXPECT_EQ(e.dtype(), at::kDouble);
    }
}

TEST(Factories, LikeKeepsShapeSplitDtypeAndCounts) {
  DNDarray a = full({5, 3}, int64_t{4}, {1});
  expect_global(zeros_like(a), at::zeros({5, 3}, at::kLong));
  expect_global(ones_like(a), at::ones({5, 3}, at::kLong));
  expect_global(full_like(a, 9), at::full({5, 3}, 9, at::kLong));
  DNDarray e = empty_like(a);
  EXPECT_EQ(e.split(), a.split());
  EXPECT_EQ(e.counts(), a.counts());
}

TEST(Factories, ArangeMatchesTorch) {
  for (Split s : {kReplicated, Split(0)}) {
    expect_global(arange(10, ArrayOptions{s}), at::arange(10, at::kLong));
    expect_global(arange(3, 17, 4, ArrayOptions{s}), at::arange(3, 17, 4, at::kLong));
    expect_global(arange(10, -3, -3, ArrayOptions{s}), at::arange(10, -3, -3, at::kLong));
    expect_global(arange(0.5, 3.0, 0.25, ArrayOptions{s}), at::arange(0.5, 3.0, 0.25, at::kFloat));
    expect_global(arange(0, 1, 0.1, ArrayOptions{s, at::kDouble}), at::arange(0, 1, 0.1, at::kDouble));
    expect_global(arange(5, 5, 1, ArrayOptions{s}), at::arange(5, 5, 1, at::kLong));
    expect_global(arange(2, ArrayOptions{s}), at::arange(2, at::kLong));
  }
  EXPECT_THROW(arange(0, 10, 0), ValueError);
  EXPECT_THROW(arange(10, ArrayOptions{1}), ValueError);
}

TEST(Factories, LinspaceMatchesTorch) {
  for (Split s : {kReplicated, Split(0)}) {
    expect_global(linspace(0, 1, 11, true, ArrayOptions{s}), at::linspace(0, 1, 11, at::kFloat), 1e-6,
                  1e-7);
    expect_global(linspace(-3, 7, 5, true, {s, at::kDouble}), at::linspace(-3, 7, 5, at::kDouble), 1e-12,
                  1e-12);
    expect_global(linspace(2, 3, 1, true, {s}), at::linspace(2, 3, 1, at::kFloat));
    expect_global(linspace(2, 3, 0, true, {s}), at::linspace(2, 3, 0, at::kFloat));
    expect_global(linspace(0, 1, 4, false, {s, at::kDouble}),
                  at::tensor({0.0, 0.25, 0.5, 0.75}, at::kDouble), 1e-12, 0);
  }
  EXPECT_THROW(linspace(0, 1, -1), ValueError);
}

TEST(Factories, EyeMatchesTorch) {
  for (Split s : all_splits(2)) {
    expect_global(eye(5, -1, {s}), at::eye(5, at::kFloat));
    expect_global(eye(3, 6, {s, at::kLong}), at::eye(3, 6, at::kLong));
    expect_global(eye(6, 2, {s}), at::eye(6, 2, at::kFloat));
    expect_global(eye(0, -1, {s}), at::eye(0, at::kFloat));
  }
}

TEST(Factories, ArrayFromAFullTensor) {
  for (const Shape& shape : test_shapes())
    for (Split s : all_splits(static_cast<int64_t>(shape.size())))
      for (at::ScalarType dt :
           {at::kBool, at::kByte, at::kInt, at::kLong, at::kFloat, at::kDouble, at::kComplexFloat}) {
        at::Tensor t = sample(shape, dt);
        expect_global(array(t, s), t);
      }
  at::Tensor t = sample({4, 3}, at::kLong);
  expect_global(array(t, 1, {kReplicated, at::kDouble}), t.to(at::kDouble));
  // array() copies: changing the source afterwards does not change the array.
  DNDarray a = array(t, kReplicated);
  t.fill_(0);
  EXPECT_NE(a.larray().abs().sum().item<int64_t>(), 0);
}

TEST(Factories, ArrayFromUnevenBlocks) {
  const Communicator world = Communicator::world();
  const int r = world.rank(), p = world.size();
  // Rank r contributes r + 1 rows (split 0) or r + 1 columns (split 1) filled with r.
  at::Tensor rows = at::full({r + 1, 2}, r, at::kLong);
  DNDarray a = array_from_blocks(rows, 0);
  EXPECT_EQ(a.gshape(), (Shape{p * (p + 1) / 2, 2}));
  std::vector<at::Tensor> parts;
  for (int q = 0; q < p; ++q) parts.push_back(at::full({q + 1, 2}, q, at::kLong));
  expect_global(a, at::cat(parts, 0));

  DNDarray b = array_from_blocks(rows.t().contiguous(), -1);
  EXPECT_EQ(b.split(), Split(1));
  expect_global(b, at::cat(parts, 0).t().contiguous());
}

TEST(Factories, ArrayFromBlocksRejectsMismatchOnEveryRank) {
  const Communicator world = Communicator::world();
  if (world.size() < 2) GTEST_SKIP() << "needs 2 ranks";
  const int r = world.rank();
  // Rank 1's block has a different number of columns.
  at::Tensor bad = at::zeros({2, r == 1 ? 4 : 3});
  try {
    array_from_blocks(bad, 0);
    ADD_FAILURE() << "no exception";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(),
                 "array(is_split=0): blocks differ outside the split axis: rank 0 holds (2, 3), rank 1 "
                 "holds (2, 4)");
  }
  at::Tensor bad_dtype = at::zeros({2, 3}, r == 1 ? at::kDouble : at::kFloat);
  EXPECT_THROW(array_from_blocks(bad_dtype, 0), TypeError);
  at::Tensor bad_ndim = r == 1 ? at::zeros({2}) : at::zeros({2, 1});
  EXPECT_THROW(array_from_blocks(bad_ndim, 0), ShapeError);
}

TEST(Factories, RandomArraysAreTheSameAtAnyRankCountAndSplit) {
  const Communicator self = Communicator::self();
  // (70001 and (3, 40000): several generator batches and pieces per rank, blocks that
  // start mid-batch; (5, 0, 3): an empty axis.)
  for (const Shape& shape : std::vector<Shape>{
           {0}, {1}, {13}, {7, 5}, {3, 4, 2}, {70001}, {3, 40000}, {5, 0, 3}, {3, 7, 33}}) {
    const at::Tensor u = random_uniform(shape, 7, -2.0, 3.0, ArrayOptions{}.with_comm(self)).larray();
    const at::Tensor ud =
        random_uniform(shape, 7, 0, 1, ArrayOptions{}.with_comm(self).with_dtype(at::kDouble)).larray();
    const at::Tensor nn = random_normal(shape, 7, 1.0, 2.0, ArrayOptions{}.with_comm(self)).larray();
    const at::Tensor ii = random_integers(shape, 7, -5, 5, ArrayOptions{}.with_comm(self)).larray();
    const at::Tensor i8 =
        random_integers(shape, 7, 0, 100, ArrayOptions{}.with_comm(self).with_dtype(at::kChar)).larray();
    for (Split s : all_splits(static_cast<int64_t>(shape.size()))) {
      expect_global(random_uniform(shape, 7, -2.0, 3.0, {s}), u);
      expect_global(random_uniform(shape, 7, 0, 1, {s, at::kDouble}), ud);
      expect_global(random_normal(shape, 7, 1.0, 2.0, {s}), nn);
      expect_global(random_integers(shape, 7, -5, 5, {s}), ii);
      expect_global(random_integers(shape, 7, 0, 100, {s, at::kChar}), i8);
    }
  }
}

TEST(Factories, RandomValuesHaveTheRightDistribution) {
  DNDarray u = random_uniform({200000}, 1, 2.0, 4.0, {0});
  EXPECT_NEAR(mean(u).larray().item<double>(), 3.0, 0.01);
  EXPECT_GE(min(u).larray().item<double>(), 2.0);
  EXPECT_LT(max(u).larray().item<double>(), 4.0);
  DNDarray n = random_normal({200000}, 1, 5.0, 2.0, {0, at::kDouble});
  EXPECT_NEAR(mean(n).larray().item<double>(), 5.0, 0.02);
  EXPECT_NEAR(dnd::std(n).larray().item<double>(), 2.0, 0.02);
  DNDarray k = random_integers({200000}, 1, -3, 3, {0});
  EXPECT_EQ(min(k).larray().item<int64_t>(), -3);
  EXPECT_EQ(max(k).larray().item<int64_t>(), 2);
  EXPECT_NEAR(mean(k).larray().item<double>(), -0.5, 0.02);
  // Different seeds differ.
  EXPECT_FALSE(at::equal(allgather(random_uniform({100}, 1, 0, 1, {0})),
                         allgather(random_uniform({100}, 2, 0, 1, {0}))));
}

namespace {
// The Kolmogorov-Smirnov statistic sup |F_n(x) - F(x)| of the values against the cdf.
double ks_statistic(at::Tensor values, const std::function<double(double)>& cdf) {
  const at::Tensor v = std::get<0>(values.to(at::kDouble).reshape({-1}).sort());
  const double* p = v.data_ptr<double>();
  const int64_t n = v.numel();
  double d = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double f = cdf(p[i]);
    d = std::max({d, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  return d;
}
double lag1_correlation(const at::Tensor& v) {
  const at::Tensor x = v.to(at::kDouble).reshape({-1});
  const at::Tensor a = x.narrow(0, 0, x.numel() - 1), b = x.narrow(0, 1, x.numel() - 1);
  return at::corrcoef(at::stack({a, b}))[0][1].item<double>();
}
}  // namespace

TEST(Factories, RandomDistributionsPassKolmogorovSmirnov) {
  // P(sqrt(n) D > 2.0) is about 7e-4 for a correct generator; a generator with a wrong
  // scale, shift, shape, too few bits or correlated neighbours fails one of these.
  const int64_t n = 1 << 17;
  const double bound = 2.0 / std::sqrt(static_cast<double>(n));
  const auto phi = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  for (at::ScalarType dt : {at::kFloat, at::kDouble}) {
    const at::Tensor u = allgather(random_uniform({n}, 11, -1.0, 3.0, {0, dt}));
    EXPECT_LT(ks_statistic(u, [](double x) { return std::clamp((x + 1.0) / 4.0, 0.0, 1.0); }), bound)
        << dtype_name(dt);
    EXPECT_NEAR(u.mean().item<double>(), 1.0, 0.02);
    EXPECT_NEAR(u.to(at::kDouble).var(false).item<double>(), 16.0 / 12.0, 0.02);
    EXPECT_LT(std::abs(lag1_correlation(u)), 5.0 / std::sqrt(static_cast<double>(n)));
    // the low bits are random too: the fractional part of 2^12 u is uniform
    const at::Tensor fine = (u.to(at::kDouble) + 1.0) * 1024.0;
    EXPECT_LT(ks_statistic(fine - fine.floor(), [](double x) { return x; }), bound) << dtype_name(dt);

    const at::Tensor z = allgather(random_normal({n}, 12, 2.0, 3.0, {0, dt}));
    EXPECT_LT(ks_statistic(z, [&](double x) { return phi((x - 2.0) / 3.0); }), bound) << dtype_name(dt);
    EXPECT_NEAR(z.to(at::kDouble).mean().item<double>(), 2.0, 0.03);
    EXPECT_NEAR(z.to(at::kDouble).var(false).item<double>(), 9.0, 0.15);
    // r cos t and r sin t of one pair are uncorrelated, and so are neighbouring pairs
    EXPECT_LT(std::abs(lag1_correlation(z)), 5.0 / std::sqrt(static_cast<double>(n)));
    const at::Tensor zz = (z.to(at::kDouble) - 2.0) / 3.0;
    EXPECT_LT(std::abs(lag1_correlation(zz * zz)), 5.0 / std::sqrt(static_cast<double>(n)));
    // tails: P(|z| > 3 sigma) = 0.0027
    EXPECT_NEAR((zz.abs() > 3.0).to(at::kDouble).mean().item<double>(), 0.0027, 0.0006);
  }
  // integers: each of 6 values about n / 6 times (chi-square with 5 dof, < 25 at p ~ 1e-4)
  const at::Tensor k = allgather(random_integers({n}, 13, -3, 3, {0}));
  const at::Tensor counts = at::bincount(k + 3);
  ASSERT_EQ(counts.numel(), 6);
  const double e = static_cast<double>(n) / 6;
  EXPECT_LT(((counts.to(at::kDouble) - e).pow(2) / e).sum().item<double>(), 25.0);
  // a wide range uses the high bits: values spread over all of [0, 2^40)
  const at::Tensor w = allgather(random_integers({n}, 14, 0, int64_t{1} << 40, {0}));
  EXPECT_LT(ks_statistic(w.to(at::kDouble) / std::ldexp(1.0, 40), [](double x) { return x; }), bound);
}

TEST(Factories, BadArgumentsAreClearErrors) {
  EXPECT_THROW(zeros({-1, 2}), ShapeError);
  EXPECT_THROW(zeros({3, 2}, {2}), ValueError);
  EXPECT_THROW(random_uniform({3}, 0, 1.0, 0.0), ValueError);
  EXPECT_THROW(random_uniform({3}, 0, 0, 1, {kReplicated, at::kLong}), TypeError);
  EXPECT_THROW(random_integers({3}, 0, 5, 5), ValueError);
  EXPECT_THROW(random_integers({3}, 0, 0, 300, {kReplicated, at::kChar}), ValueError);
  if (!at::hasCUDA()) {
    EXPECT_THROW(zeros({3}, ArrayOptions{}.with_device(DeviceKind::gpu)), TypeError);
  }
}
