// src/core/quantile.h against torch.quantile (whose "linear" method is numpy's default)
// on the whole array, at every split and axis, with NaN, empty and integer arrays.
#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/quantile.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

using namespace dnd;
using namespace dnd::testing;

namespace {

// torch's quantile of the whole array in float64, in the result's dtype; NaN for an
// empty slice (numpy.median's answer; torch refuses empty input).
at::Tensor reference(const at::Tensor& t, const std::vector<double>& q, bool scalar_q,
                     std::optional<int64_t> axis, bool keepdims) {
  const Dtype out = at::isFloatingType(t.scalar_type()) ? t.scalar_type() : at::kDouble;
  at::Tensor x = t.to(at::kDouble);
  const at::Tensor qs = at::tensor(q, at::kDouble);
  at::Tensor r;
  if (x.numel() == 0 || (axis && x.size(*axis) == 0)) {
    std::vector<int64_t> shape{static_cast<int64_t>(q.size())};
    for (int64_t d = 0; d < x.dim(); ++d) {
      const bool reduced = !axis || d == (*axis < 0 ? *axis + x.dim() : *axis);
      if (!reduced)
        shape.push_back(x.size(d));
      else if (keepdims)
        shape.push_back(1);
    }
    r = at::full(shape, NAN, at::kDouble);
  } else if (axis) {
    r = at::quantile(x, qs, *axis, keepdims);
  } else {
    r = at::quantile(x.reshape({-1}), qs, 0, false);
    if (keepdims) {
      std::vector<int64_t> shape{static_cast<int64_t>(q.size())};
      for (int64_t d = 0; d < x.dim(); ++d) shape.push_back(1);
      r = r.reshape(shape);
    }
  }
  if (scalar_q) r = r[0];
  return r.to(out);
}

}  // namespace

TEST(Quantile, MatchesTorchAtEverySplitAndAxis) {
  const std::vector<Shape> shapes{{1}, {7}, {0}, {5, 4}, {1, 6}, {0, 3}, {3, 0}, {3, 2, 5}};
  const std::vector<std::vector<double>> qs{{0.5}, {0.0, 0.25, 1.0}, {0.1, 0.9}};
  for (const Shape& shape : shapes)
    for (at::ScalarType dt : {at::kFloat, at::kDouble, at::kInt, at::kLong})
      for (bool with_nan : {false, true}) {
        at::Tensor t = sample(shape, dt, 5);
        if (with_nan && at::isFloatingType(dt) && t.numel() > 3) t.reshape({-1})[3] = NAN;
        const int64_t nd = static_cast<int64_t>(shape.size());
        std::vector<std::optional<int64_t>> axes{std::nullopt};
        for (int64_t d = 0; d < nd; ++d) axes.push_back(d == 0 ? d : d - nd);  // negative axes too
        for (Split s : all_splits(nd))
          for (const auto& axis : axes)
            for (const auto& q : qs)
              for (bool keep : {false, true}) {
                const bool scalar_q = q.size() == 1;
                const std::string ctx = fmt::format("{}{} split={} axis={} nq={} keep={} nan={}",
                                                    dtype_name(dt), shape_str(shape), split_str(s),
                                                    axis ? *axis : 99, q.size(), keep, with_nan);
                const DNDarray r = quantile(array(t, s), q, scalar_q, axis, keep);
                expect_global(r, reference(t, q, scalar_q, axis, keep), 1e-6, 1e-6, ctx);
              }
      }
}

TEST(Quantile, PercentileMedianAndErrors) {
  const at::Tensor t = at::tensor({3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0}, at::kDouble);
  for (Split s : all_splits(1)) {
    // numpy: median of an even count averages the two middle values
    expect_global(median(array(t, s)), at::full({}, 3.5, at::kDouble));
    expect_global(percentile(array(t, s), {25, 75}), at::tensor({1.75, 5.25}, at::kDouble), 1e-12, 0);
    expect_global(percentile(array(t, s), {30}, true), at::full({}, 2.1, at::kDouble), 1e-12, 0);
    expect_global(median(array(at::arange(5, at::kLong), s)), at::full({}, 2.0, at::kDouble));
  }
  const at::Tensor m = sample({6, 3}, at::kFloat, 2);
  for (Split s : all_splits(2)) {
    const DNDarray r = median(array(m, s), 0);
    expect_global(r, at::quantile(m.to(at::kDouble), 0.5, 0).to(at::kFloat), 1e-6, 0);
    // Along the split axis the result is split along the other axis; elsewhere it keeps a's.
    EXPECT_EQ(r.split(), s ? Split(int64_t{0}) : kReplicated) << split_str(s);
  }
  EXPECT_THROW(quantile(array(t, 0), {1.5}), ValueError);
  EXPECT_THROW(percentile(array(t, 0), {-1}), ValueError);
  EXPECT_THROW(quantile(array(t, 0), {}), ValueError);
  EXPECT_THROW(median(array(t, 0), 1), ValueError);
  EXPECT_THROW(median(array(t.to(at::kComplexDouble), 0)), TypeError);
}

// The distributed selection (a 1-D split array, or all axes of a split one): values of
// every sign and exponent, infinities, -0.0, long runs of ties, blocks of any size.
TEST(Quantile, SelectionAcrossRanksIsExact) {
  for (at::ScalarType dt : {at::kFloat, at::kDouble}) {
    at::Tensor t = (at::arange(997, at::kDouble) * 37 % 101 - 50).pow(3) / 7.0;
    t.narrow(0, 100, 300).fill_(2.5);  // a long run of ties across blocks
    t[5] = -INFINITY;
    t[17] = INFINITY;
    t[29] = -0.0;
    t[31] = 1e-300;
    t = t.to(dt);
    const std::vector<double> q{0.0, 1e-3, 0.25, 0.5, 0.5, 0.75, 0.999, 1.0};
    const at::Tensor e = reference(t, q, false, std::nullopt, false);
    for (const DNDarray& a : {array(t, Split(0)), unbalanced(t, 0)}) {
      expect_global(quantile(a, q, false), e, 0, 0, fmt::format("{} {}", dtype_name(dt), where_str(a)));
      expect_global(median(a), reference(t, {0.5}, true, std::nullopt, false), 0, 0, "median");
    }
    const at::Tensor t2 = t.narrow(0, 0, 990).reshape({99, 10});
    for (Split s : {Split(0), Split(1)})
      expect_global(quantile(array(t2, s), q, false), reference(t2, q, false, std::nullopt, false), 0, 0,
                    fmt::format("2-d split {}", *s));
  }
}
