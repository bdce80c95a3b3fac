// cumsum, cumprod and diff against torch on the whole array, at any rank count: every
// axis (none too for the scans), every split, balanced and unbalanced blocks, tiny, empty
// and 0-d arrays, NaN and inf, every dtype.
#include "src/core/cumulative.h"

#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

using namespace dnd;
using namespace dnd::testing;

namespace {

const std::vector<at::ScalarType> kDtypes{at::kBool,  at::kByte,   at::kInt,         at::kLong,
                                          at::kFloat, at::kDouble, at::kComplexFloat};

// sample() with NaN and inf sprinkled into floating arrays.
at::Tensor data(const Shape& shape, at::ScalarType dt, int64_t seed) {
  at::Tensor t = sample(shape, dt, seed);
  if (at::isFloatingType(dt) && t.numel() > 0) {
    const at::Tensor pos = at::arange(t.numel(), at::kLong).reshape(shape);
    t = t.masked_fill((pos * 5 + seed) % 13 == 7, std::numeric_limits<double>::quiet_NaN());
    t = t.masked_fill((pos * 3 + seed) % 17 == 4, std::numeric_limits<double>::infinity());
  }
  return t;
}

std::vector<Shape> shapes() {
  std::vector<Shape> s = test_shapes();
  for (Shape extra : {Shape{9, 2}, Shape{2, 9}, Shape{30}}) s.push_back(extra);
  return s;
}

double tol(at::ScalarType dt) { return dt == at::kFloat || dt == at::kComplexFloat ? 1e-5 : 1e-12; }

void expect_scan(const DNDarray& a, const at::Tensor& t, bool sum, std::optional<int64_t> axis,
                 const std::string& ctx) {
  const DNDarray r = sum ? cumsum(a, axis) : cumprod(a, axis);
  at::Tensor flat = t.dim() == 0 || !axis ? t.reshape({-1}) : t;
  const int64_t ax = axis && t.dim() > 0 ? *axis : 0;
  const at::ScalarType out = at::isIntegralType(t.scalar_type(), true) ? at::kLong : t.scalar_type();
  const at::Tensor e = sum ? at::cumsum(flat, ax, out) : at::cumprod(flat, ax, out);
  const std::string where = fmt::format("{} {} axis={} dtype={}", ctx, sum ? "cumsum" : "cumprod",
                                        axis ? std::to_string(*axis) : "none", dtype_name(a.dtype()));
  const OpMeta m =
      cumulative_meta(sum ? "cumsum" : "cumprod", meta_of(a), axis, std::nullopt, a.comm().size());
  EXPECT_EQ(r.gshape(), m.outputs[0].shape) << where;
  EXPECT_EQ(r.split(), m.outputs[0].split) << where;
  EXPECT_EQ(r.dtype(), m.outputs[0].dtype) << where;
  expect_global(r, e, tol(t.scalar_type()), tol(t.scalar_type()), where);
}

TEST(Cumulative, ScansMatchTorchOnEveryAxisAndSplit) {
  for (const Shape& shape : shapes())
    for (at::ScalarType dt : kDtypes) {
      const int64_t nd = static_cast<int64_t>(shape.size());
      const at::Tensor t = data(shape, dt, nd);
      for (Split split : all_splits(nd)) {
        std::vector<DNDarray> inputs{array(t, split)};
        if (split) inputs.push_back(unbalanced(t, *split));
        for (const DNDarray& a : inputs)
          for (bool sum : {true, false}) {
            expect_scan(a, t, sum, std::nullopt, "flattened");
            for (int64_t axis = -std::max<int64_t>(nd, 1); axis < std::max<int64_t>(nd, 1); ++axis)
              expect_scan(a, t, sum, axis, "axis");
          }
      }
    }
}

TEST(Cumulative, ScanDtypesAndErrors) {
  const at::Tensor t = sample({5, 3}, at::kInt);
  for (Split split : all_splits(2)) {
    const DNDarray a = array(t, split);
    expect_global(cumsum(a, 0, at::kDouble), at::cumsum(t, 0, at::kDouble));
    expect_global(cumprod(a, 1, at::kInt), at::cumprod(t, 1, at::kInt));
    EXPECT_THROW(cumsum(a, 2), ValueError);
    EXPECT_THROW(cumsum(a, 0, at::kBool), TypeError);
  }
  // Integers keep integer (int64) results, exactly, even where a block's product wraps.
  const at::Tensor big = at::full({40}, 7, at::kLong);
  expect_global(cumprod(array(big, 0), 0), at::cumprod(big, 0));
  // NaN in an earlier rank's block reaches every later element.
  at::Tensor n = at::ones({11}, at::kFloat);
  n[1] = std::numeric_limits<float>::quiet_NaN();
  expect_global(cumsum(array(n, 0), 0), at::cumsum(n, 0));
}

// torch.diff with prepend / append slices of the promoted dtype.
at::Tensor expected_diff(const at::Tensor& t, int64_t n, int64_t axis,
                         const std::optional<c10::Scalar>& pre, const std::optional<c10::Scalar>& app) {
  if (n == 0) return t;
  at::ScalarType dt = t.scalar_type();
  for (const auto* s : {&pre, &app})
    if (*s) dt = at::result_type(at::empty({0}, at::dtype(dt)), **s);
  Shape one = t.sizes().vec();
  one[static_cast<size_t>(axis < 0 ? axis + t.dim() : axis)] = 1;
  std::vector<at::Tensor> parts;
  if (pre) parts.push_back(at::full(one, *pre, at::dtype(dt)));
  parts.push_back(t.to(dt));
  if (app) parts.push_back(at::full(one, *app, at::dtype(dt)));
  at::Tensor x = at::cat(parts, axis);
  for (int64_t k = 0; k < n && x.size(axis) > 0; ++k) x = at::diff(x, 1, axis);
  return x;
}

TEST(Cumulative, DiffMatchesTorchOnEveryAxisAndSplit) {
  const std::vector<std::pair<std::optional<c10::Scalar>, std::optional<c10::Scalar>>> ends{
      {std::nullopt, std::nullopt},
      {c10::Scalar(int64_t{2}), std::nullopt},
      {std::nullopt, c10::Scalar(0.5)},
      {c10::Scalar(int64_t{-1}), c10::Scalar(int64_t{3})}};
  for (const Shape& shape : shapes()) {
    const int64_t nd = static_cast<int64_t>(shape.size());
    if (nd == 0) continue;
    for (at::ScalarType dt : kDtypes) {
      const at::Tensor t = data(shape, dt, nd + 1);
      for (Split split : all_splits(nd)) {
        std::vector<DNDarray> inputs{array(t, split)};
        if (split) inputs.push_back(unbalanced(t, *split));
        for (const DNDarray& a : inputs)
          for (int64_t axis = -nd; axis < nd; ++axis)
            for (int64_t n : {0, 1, 2, 5})
              for (const auto& [pre, app] : ends) {
                if (dt == at::kBool && (pre || app)) continue;  // torch.diff: bool with an int
                const std::string ctx =
                    fmt::format("diff n={} axis={} dtype={} pre={} app={}", n, axis, dtype_name(dt),
                                pre ? pre->toDouble() : -99, app ? app->toDouble() : -99);
                const DNDarray r = diff(a, n, axis, pre, app);
                const OpMeta m = diff_meta(meta_of(a), n, axis, pre, app, a.comm().size());
                EXPECT_EQ(r.gshape(), m.outputs[0].shape) << ctx;
                EXPECT_EQ(r.dtype(), m.outputs[0].dtype) << ctx;
                EXPECT_EQ(r.split(), a.split()) << ctx;
                expect_global(r, expected_diff(t, n, axis, pre, app), 0, 0, ctx);
              }
      }
    }
  }
  // bool: not_equal, as numpy.
  const at::Tensor b = at::arange(10, at::kLong).remainder(3).eq(0);
  for (Split split : all_splits(1))
    expect_global(diff(array(b, split), 2, 0),
                  at::ne(at::ne(b.narrow(0, 1, 9), b.narrow(0, 0, 9)).narrow(0, 1, 8),
                         at::ne(b.narrow(0, 1, 9), b.narrow(0, 0, 9)).narrow(0, 0, 8)));
}

TEST(Cumulative, DiffErrorsAndPlan) {
  const DNDarray a = array(sample({6, 4}, at::kFloat), 0);
  EXPECT_THROW(diff(a, -1, 0), ValueError);
  EXPECT_THROW(diff(a, 1, 2), ValueError);
  EXPECT_THROW(diff(array(at::ones({}, at::kFloat), kReplicated), 1, 0), ValueError);
  // Along the split axis a rank sends at most a few rows; along the other axis nothing.
  const ArrayMeta m{{1000, 4}, at::kFloat, 0};
  EXPECT_EQ(diff_meta(m, 1, 1, std::nullopt, std::nullopt, 4).comm_bytes, 0);
  const int64_t sent = diff_meta(m, 1, 0, std::nullopt, std::nullopt, 4).comm_bytes;
  EXPECT_GT(sent, 0);
  EXPECT_LE(sent, 4 * 4 * 4);
}

}  // namespace
