#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/reductions.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

using namespace dnd;
using namespace dnd::testing;

namespace {

// Every axis selection worth testing for an n-d array: all, each single axis (and its
// negative alias), every pair.
std::vector<Axes> axis_choices(int64_t nd) {
  std::vector<Axes> out{all_axes()};
  for (int64_t d = 0; d < nd; ++d) {
    out.push_back(axis(d));
    out.push_back(axis(d - nd));
  }
  for (int64_t i = 0; i < nd; ++i)
    for (int64_t j = i + 1; j < nd; ++j) out.push_back(std::vector<int64_t>{i, j});
  return out;
}

std::vector<int64_t> dims_of(const Axes& a, int64_t nd) {
  if (a) return *a;
  std::vector<int64_t> all;
  for (int64_t d = 0; d < nd; ++d) all.push_back(d);
  return all;
}

std::string axes_str(const Axes& a) {
  return a ? fmt::format("axis=({})", fmt::join(*a, ",")) : "axis=None";
}

using DndReduce = std::function<DNDarray(const DNDarray&, const Axes&, bool)>;
using TorchReduce = std::function<at::Tensor(const at::Tensor&, const std::vector<int64_t>&, bool)>;

// Torch reference for a multi-axis reduction that torch only offers one axis at a time.
at::Tensor per_axis(const at::Tensor& t, std::vector<int64_t> dims, bool keep,
                    const std::function<at::Tensor(const at::Tensor&, int64_t, bool)>& f) {
  for (auto& d : dims) d = d < 0 ? d + t.dim() : d;
  std::sort(dims.rbegin(), dims.rend());
  at::Tensor r = t;
  if (t.dim() == 0) return f(t.unsqueeze(0), 0, false);
  for (int64_t d : dims) r = f(r, d, keep);
  return r;
}

void check_reduction(const char* name, const DndReduce& dfn, const TorchReduce& tfn,
                     const std::vector<Shape>& shapes, const std::vector<at::ScalarType>& dtypes,
                     double rtol, double atol) {
  for (const Shape& shape : shapes)
    for (at::ScalarType dt : dtypes) {
      const at::Tensor t = sample(shape, dt);
      const int64_t nd = static_cast<int64_t>(shape.size());
      for (Split s : all_splits(nd))
        for (const Axes& ax : axis_choices(nd))
          for (bool keep : {false, true}) {
            const at::Tensor expected = tfn(t, dims_of(ax, nd), keep);
            DNDarray r = dfn(array(t, s), ax, keep);
            expect_global(r, expected, rtol, atol,
                          fmt::format("{} {}{} split={} {} keepdims={}", name, dtype_name(dt),
                                      shape_str(shape), split_str(s), axes_str(ax), keep));
            // The split survives unless its axis was reduced.
            const auto dims = dims_of(ax, nd);
            const bool reduced_split = s && std::any_of(dims.begin(), dims.end(), [&](int64_t d) {
                                         return (d < 0 ? d + nd : d) == *s;
                                       });
            EXPECT_EQ(r.split().has_value(), s.has_value() && !reduced_split)
                << name << " " << axes_str(ax);
          }
    }
}

const std::vector<Shape> kShapes = {{}, {1}, {7}, {0}, {5, 4}, {1, 6}, {0, 3}, {3, 0}, {2, 3, 5}};
const std::vector<Shape> kNonEmpty = {{}, {1}, {7}, {5, 4}, {1, 6}, {2, 3, 5}};

}  // namespace

TEST(Reductions, Sum) {
  check_reduction(
      "sum", [](auto& a, auto& ax, bool k) { return sum(a, ax, k); },
      [](auto& t, auto& d, bool k) { return at::sum(t, d, k); }, kShapes,
      {at::kBool, at::kInt, at::kLong, at::kFloat, at::kDouble, at::kComplexFloat}, 1e-6, 1e-6);
}

TEST(Reductions, Prod) {
  check_reduction(
      "prod", [](auto& a, auto& ax, bool k) { return prod(a, ax, k); },
      [](auto& t, auto& d, bool k) {
        return per_axis(t, d, k,
                        [](const at::Tensor& x, int64_t dim, bool kk) { return at::prod(x, dim, kk); });
      },
      kShapes, {at::kLong, at::kDouble}, 1e-9, 1e-9);
}

TEST(Reductions, MeanVarStd) {
  const auto fl = std::vector<at::ScalarType>{at::kFloat, at::kDouble};
  check_reduction(
      "mean", [](auto& a, auto& ax, bool k) { return mean(a, ax, k); },
      [](auto& t, auto& d, bool k) { return at::mean(t, d, k); }, kShapes, fl, 1e-5, 1e-6);
  for (int64_t ddof : {0, 1}) {
    check_reduction(
        "var", [ddof](auto& a, auto& ax, bool k) { return var(a, ax, ddof, k); },
        [ddof](auto& t, auto& d, bool k) {
          return at::var(t, at::IntArrayRef(d), c10::optional<int64_t>(ddof), k);
        },
        kNonEmpty, fl, 1e-5, 1e-6);
    check_reduction(
        "std", [ddof](auto& a, auto& ax, bool k) { return dnd::std(a, ax, ddof, k); },
        [ddof](auto& t, auto& d, bool k) {
          return at::std(t, at::IntArrayRef(d), c10::optional<int64_t>(ddof), k);
        },
        kNonEmpty, fl, 1e-5, 1e-6);
  }
  // Integer input gives float32 (torch.mean refuses integers; numpy gives float).
  const at::Tensor ti = sample({6, 2}, at::kLong);
  for (Split s : all_splits(2)) {
    expect_global(mean(array(ti, s), axis(0)), at::mean(ti.to(at::kFloat), 0), 1e-6, 1e-6);
    expect_global(var(array(ti, s)),
                  at::var(ti.to(at::kFloat), at::IntArrayRef({0, 1}), c10::optional<int64_t>(0), false),
                  1e-5, 1e-6);
  }
  // Complex var is real.
  const at::Tensor tc = sample({5, 3}, at::kComplexDouble);
  for (Split s : all_splits(2))
    expect_global(var(array(tc, s), axis(0)),
                  at::var(tc, at::IntArrayRef({0}), c10::optional<int64_t>(0), false), 1e-12, 1e-12);
  // Mean of an empty axis is NaN, as numpy.
  EXPECT_TRUE(std::isnan(mean(zeros({0}, {0})).larray().item<float>()));
  EXPECT_THROW(var(zeros({3}), all_axes(), -1), ValueError);
}

TEST(Reductions, VarIsStableForLargeOffsets) {
  // One pass (E[x^2] - E[x]^2) loses everything here; two passes do not.
  const at::Tensor t = (sample({1001}, at::kDouble) + 1e9);
  for (Split s : all_splits(1))
    expect_global(var(array(t, s)), at::var(t, at::IntArrayRef({0}), c10::optional<int64_t>(0), false),
                  1e-9, 0);
}

TEST(Reductions, MinMax) {
  const auto types =
      std::vector<at::ScalarType>{at::kBool, at::kByte, at::kInt, at::kLong, at::kFloat, at::kDouble};
  check_reduction(
      "min", [](auto& a, auto& ax, bool k) { return dnd::min(a, ax, k); },
      [](auto& t, auto& d, bool k) { return t.dim() == 0 ? t.clone() : at::amin(t, d, k); }, kNonEmpty,
      types, 0, 0);
  check_reduction(
      "max", [](auto& a, auto& ax, bool k) { return dnd::max(a, ax, k); },
      [](auto& t, auto& d, bool k) { return t.dim() == 0 ? t.clone() : at::amax(t, d, k); }, kNonEmpty,
      types, 0, 0);
}

TEST(Reductions, MinMaxPropagateNaNAndRejectEmpty) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  at::Tensor t = sample({9, 2}, at::kDouble);
  t[7][1] = nan;
  for (Split s : all_splits(2)) {
    expect_global(dnd::max(array(t, s), axis(0)), at::amax(t, {0}));
    expect_global(dnd::min(array(t, s)), at::amin(t, {0, 1}));
    expect_global(dnd::min(array(t, s), axis(1)), at::amin(t, {1}));
  }
  try {
    dnd::min(zeros({0, 3}, {0}), axis(0));
    ADD_FAILURE() << "no exception";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(),
                 "min: zero-size array (0, 3) split=0 to reduction operation which has no identity");
  }
  // Reducing the non-empty axis of an empty array is fine (an empty result).
  expect_global(dnd::max(zeros({0, 3}, {0}), axis(1)), at::zeros({0}));
  EXPECT_THROW(dnd::max(zeros({2}, {0, at::kComplexFloat})), TypeError);
}

TEST(Reductions, ArgminArgmaxGiveGlobalFirstIndices) {
  for (const Shape& shape : kNonEmpty)
    for (at::ScalarType dt : {at::kBool, at::kInt, at::kFloat, at::kDouble}) {
      const at::Tensor t = sample(shape, dt);
      const int64_t nd = static_cast<int64_t>(shape.size());
      const at::Tensor tw = dt == at::kBool ? t.to(at::kByte) : t;
      for (Split s : all_splits(nd)) {
        for (bool keep : {false, true}) {
          expect_global(argmax(array(t, s), std::nullopt, keep),
                        keep ? at::argmax(tw).reshape(std::vector<int64_t>(static_cast<size_t>(nd), 1))
                             : at::argmax(tw),
                        0, 0, fmt::format("argmax flat {} split={}", shape_str(shape), split_str(s)));
          expect_global(argmin(array(t, s), std::nullopt, keep),
                        keep ? at::argmin(tw).reshape(std::vector<int64_t>(static_cast<size_t>(nd), 1))
                             : at::argmin(tw),
                        0, 0, fmt::format("argmin flat {} split={}", shape_str(shape), split_str(s)));
          for (int64_t d = 0; d < nd; ++d) {
            expect_global(argmax(array(t, s), d, keep), at::argmax(tw, d, keep), 0, 0,
                          fmt::format("argmax axis {} {} split={}", d, shape_str(shape), split_str(s)));
            expect_global(argmin(array(t, s), d - nd, keep), at::argmin(tw, d, keep), 0, 0,
                          fmt::format("argmin axis {} {} split={}", d, shape_str(shape), split_str(s)));
          }
        }
      }
    }
}

TEST(Reductions, ArgmaxTiesAcrossRanksPickTheSmallestFlatIndex) {
  // Column split: the maximum 5 appears at flat index 2 (rank holding column 2) and
  // flat index 4 (column 0): numpy says 2.
  const at::Tensor t = at::tensor({0, 0, 5, 0, 5, 0, 0, 0}, at::kLong).reshape({2, 4});
  for (Split s : all_splits(2)) {
    EXPECT_EQ(allgather(argmax(array(t, s))).item<int64_t>(), 2);
    EXPECT_EQ(allgather(argmin(array(t, s))).item<int64_t>(), 0);
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const at::Tensor f = at::tensor({1.0, 9.0, nan, 3.0, nan, 0.0}, at::kDouble);
  for (Split s : all_splits(1)) {
    EXPECT_EQ(allgather(argmax(array(f, s))).item<int64_t>(), 2);
    EXPECT_EQ(allgather(argmin(array(f, s))).item<int64_t>(), 2);
  }
  EXPECT_THROW(argmax(zeros({0}, {0})), ValueError);
  EXPECT_THROW(argmax(zeros({3}), 1), ValueError);
}

TEST(Reductions, AnyAll) {
  const auto types = std::vector<at::ScalarType>{at::kBool, at::kLong, at::kDouble};
  check_reduction(
      "any", [](auto& a, auto& ax, bool k) { return any(a, ax, k); },
      [](auto& t, auto& d, bool k) {
        return per_axis(t.to(at::kBool), d, k,
                        [](const at::Tensor& x, int64_t dim, bool kk) { return at::any(x, dim, kk); });
      },
      kShapes, types, 0, 0);
  check_reduction(
      "all", [](auto& a, auto& ax, bool k) { return all(a, ax, k); },
      [](auto& t, auto& d, bool k) {
        return per_axis(t.to(at::kBool), d, k,
                        [](const at::Tensor& x, int64_t dim, bool kk) { return at::all(x, dim, kk); });
      },
      kShapes, types, 0, 0);
}

TEST(Reductions, VectorNorms) {
  const auto fl = std::vector<at::ScalarType>{at::kFloat, at::kDouble, at::kComplexDouble};
  for (double ord : {2.0, 1.0, 3.0, 0.0, double(INFINITY), -double(INFINITY)}) {
    const auto& shapes = std::isinf(ord) ? kNonEmpty : kShapes;
    check_reduction(
        "norm", [ord](auto& a, auto& ax, bool k) { return norm(a, ord, ax, k); },
        [ord](auto& t, auto& d, bool k) { return at::linalg_vector_norm(t, ord, d, k); }, shapes, fl,
        1e-5, 1e-6);
  }
  // Integers are converted to float32.
  const at::Tensor ti = sample({4, 3}, at::kLong);
  expect_global(norm(array(ti, 0)), at::linalg_vector_norm(ti.to(at::kFloat), 2), 1e-6, 0);
}

TEST(Reductions, BadAxesAreClearErrors) {
  DNDarray a = zeros({3, 4}, {0});
  try {
    sum(a, std::vector<int64_t>{0, -2});
    ADD_FAILURE() << "no exception";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "sum: duplicate value in axis (0, -2)");
  }
  try {
    mean(a, axis(2));
    ADD_FAILURE() << "no exception";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "mean: axis 2 is out of bounds for an array of dimension 2");
  }
}

TEST(Reductions, LargeSumMatchesTorch) {
  // Enough elements that every rank sums a real block; float64 so the comparison is tight.
  const at::Tensor t = (at::arange(37000, at::kDouble).reshape({1000, 37}) * 0.6180339887).frac();
  for (Split s : all_splits(2)) {
    expect_global(sum(array(t, s)), at::sum(t), 1e-12, 0);
    expect_global(sum(array(t, s), axis(0)), at::sum(t, 0), 1e-12, 0);
  }
}

TEST(Reductions, LargeResultsOverTheSplitAxis) {
  // Results of several MiB take the segmented (reduce-scatter + allgather) allreduce.
  const Communicator world = Communicator::world();
  const int64_t rows = 2 * world.size() + 1, cols = 200003;
  const at::Tensor t =
      (at::arange(rows * cols, at::kDouble).reshape({rows, cols}) * 0.6180339887).frac() - 0.5;
  DNDarray a = array(t, 0);
  expect_global(sum(a, axis(0)), at::sum(t, 0), 1e-12, 1e-12);
  expect_global(dnd::min(a, axis(0)), at::amin(t, {0}));
  expect_global(dnd::max(a, axis(0)), at::amax(t, {0}));
  expect_global(prod(a, axis(0)), at::prod(t, 0), 1e-12, 1e-300);
  expect_global(any(array(t > 0.4, 0), axis(0)), at::any(t > 0.4, 0));
  expect_global(all(array(t > -0.4, 0), axis(0)), at::all(t > -0.4, 0));
  const at::Tensor ti = (t * 100).to(at::kLong);
  expect_global(sum(array(ti, 0), axis(0)), at::sum(ti, 0));
}

// ---- the column kernels (a reduction over leading axes of a block with >= 8 columns) ----

namespace {
// Shapes whose leading-axis reductions take src/core/reduce_kernels: wide enough rows,
// empty axes, a middle axis (outer panels), and a row wider than one column chunk (4096).
const std::vector<Shape> kColumnShapes = {{13, 9}, {0, 11}, {5, 3, 12}, {3, 4100}, {2, 0, 9}};
const std::vector<Shape> kColumnNonEmpty = {{13, 9}, {5, 3, 12}, {3, 4100}, {9, 1, 8}};
}  // namespace

TEST(Reductions, ColumnKernelsMatchTorch) {
  const auto num = std::vector<at::ScalarType>{at::kInt, at::kLong, at::kFloat, at::kDouble};
  const auto fl = std::vector<at::ScalarType>{at::kFloat, at::kDouble};
  check_reduction(
      "sum", [](auto& a, auto& ax, bool k) { return sum(a, ax, k); },
      [](auto& t, auto& d, bool k) { return at::sum(t, d, k); }, kColumnShapes, num, 1e-6, 1e-6);
  check_reduction(
      "mean", [](auto& a, auto& ax, bool k) { return mean(a, ax, k); },
      [](auto& t, auto& d, bool k) { return at::mean(t, d, k); }, kColumnShapes, fl, 1e-5, 1e-6);
  for (int64_t ddof : {0, 1})
    check_reduction(
        "var", [ddof](auto& a, auto& ax, bool k) { return var(a, ax, ddof, k); },
        [ddof](auto& t, auto& d, bool k) {
          return at::var(t, at::IntArrayRef(d), c10::optional<int64_t>(ddof), k);
        },
        kColumnNonEmpty, fl, 1e-5, 1e-6);
  check_reduction(
      "std", [](auto& a, auto& ax, bool k) { return dnd::std(a, ax, 0, k); },
      [](auto& t, auto& d, bool k) {
        return at::std(t, at::IntArrayRef(d), c10::optional<int64_t>(0), k);
      },
      kColumnNonEmpty, fl, 1e-5, 1e-6);
  check_reduction(
      "min", [](auto& a, auto& ax, bool k) { return dnd::min(a, ax, k); },
      [](auto& t, auto& d, bool k) { return at::amin(t, d, k); }, kColumnNonEmpty, num, 0, 0);
  check_reduction(
      "max", [](auto& a, auto& ax, bool k) { return dnd::max(a, ax, k); },
      [](auto& t, auto& d, bool k) { return at::amax(t, d, k); }, kColumnNonEmpty, num, 0, 0);
  check_reduction(
      "norm", [](auto& a, auto& ax, bool k) { return norm(a, 2.0, ax, k); },
      [](auto& t, auto& d, bool k) { return at::linalg_vector_norm(t, 2.0, d, k); }, kColumnShapes, fl,
      1e-5, 1e-6);
}

TEST(Reductions, ColumnKernelsPropagateNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (at::ScalarType dt : {at::kFloat, at::kDouble}) {
    at::Tensor t = sample({11, 3, 10}, dt);
    t[0][0][0] = nan;   // first row (the accumulator's start)
    t[6][1][3] = nan;   // a middle row
    t[10][2][9] = nan;  // the last row (the kernels' remainder loop)
    t[4][2][5] = std::numeric_limits<double>::infinity();
    for (Split s : all_splits(3))
      for (const Axes& ax : {axis(0), Axes(std::vector<int64_t>{0, 1}), axis(1)}) {
        const auto d = dims_of(ax, 3);
        const std::string what =
            fmt::format("{} split={} {}", dtype_name(dt), split_str(s), axes_str(ax));
        expect_global(dnd::max(array(t, s), ax), at::amax(t, d), 0, 0, what);
        expect_global(dnd::min(array(t, s), ax), at::amin(t, d), 0, 0, what);
        expect_global(sum(array(t, s), ax), at::sum(t, d), 1e-6, 1e-6, what);
        expect_global(mean(array(t, s), ax), at::mean(t, d), 1e-6, 1e-6, what);
        expect_global(var(array(t, s), ax), at::var(t, d, c10::optional<int64_t>(0), false), 1e-5, 1e-6,
                      what);
      }
  }
}

TEST(Reductions, ColumnSumsBeatRowByRowFloat32OnAdversarialData) {
  // float32 columns with a large offset (1e4) or heavy cancellation (+-1e7 alternating),
  // plus a small pattern. The reference is the float64 sum of the same float32 values
  // (numpy's float64 sum); the bar is numpy's float32 sum over axis 0, which adds row by
  // row in float32. dnd accumulates in float64, then rounds once per rank's partial.
  const Communicator world = Communicator::world();
  const int64_t rows = 4099, cols = 33;
  const at::Tensor i = at::arange(rows, at::kDouble).unsqueeze(1), j = at::arange(cols, at::kDouble);
  const at::Tensor noise = ((i * 0.6180339887 + j * 0.4142135623).frac() - 0.5) * 3.0;
  const at::Tensor sign = 1.0 - 2.0 * at::remainder(i + j, 2.0);
  const at::Tensor offset = at::where(j.remainder(2.0) == 0, at::full({}, 1e4, at::kDouble), sign * 1e7);
  const at::Tensor x = (offset + noise).to(at::kFloat);
  const at::Tensor ref = x.to(at::kDouble).sum(0);
  at::Tensor naive = at::zeros({cols}, at::kFloat);
  for (int64_t r = 0; r < rows; ++r) naive += x[r];
  const double naive_err = (naive.to(at::kDouble) - ref).abs().sum().item<double>();
  ASSERT_GT(naive_err, 0.0);  // the data is adversarial for row-by-row float32
  for (Split s : all_splits(2)) {
    const at::Tensor got = allgather(sum(array(x, s), axis(0))).to(at::kDouble);
    const double err = (got - ref).abs().sum().item<double>();
    EXPECT_LE(err, naive_err) << "split=" << split_str(s);
    if (!s || *s == 1) {
      // One local fold per column: the float64 sum rounded once (to within float64's own error).
      const at::Tensor ulp = ref.abs() * std::numeric_limits<float>::epsilon();
      const at::Tensor bound = ulp + rows * 1.2e-16 * x.to(at::kDouble).abs().sum(0);
      EXPECT_TRUE(((got - ref).abs() <= bound).all().item<bool>()) << "split=" << split_str(s);
    }
  }
  // mean and var of the offset columns: two passes, float64 accumulation.
  const at::Tensor xo = x.index_select(1, at::arange(0, cols, 2));
  const at::Tensor x64 = xo.to(at::kDouble);
  for (Split s : all_splits(2)) {
    expect_global(mean(array(xo, s), axis(0)), x64.mean(0).to(at::kFloat), 1e-6, 0);
    expect_global(var(array(xo, s), axis(0)), x64.var(0, /*unbiased=*/false).to(at::kFloat), 1e-4, 0);
  }
}

TEST(Reductions, ColumnKernelsWithUnevenAndEmptyBlocks) {
  // unbalanced(): rank 0 holds nothing when p > 1.
  const at::Tensor t = (at::arange(19 * 21, at::kDouble).reshape({19, 21}) * 0.377).frac() - 0.5;
  for (at::ScalarType dt : {at::kFloat, at::kDouble, at::kInt, at::kLong}) {
    const at::Tensor x = dt == at::kInt || dt == at::kLong ? (t * 1000).to(dt) : t.to(dt);
    const DNDarray a = unbalanced(x, 0);
    expect_global(sum(a, axis(0)), at::sum(x, 0), 1e-6, 1e-6, dtype_name(dt));
    expect_global(dnd::min(a, axis(0)), at::amin(x, {0}), 0, 0, dtype_name(dt));
    expect_global(dnd::max(a, axis(0)), at::amax(x, {0}), 0, 0, dtype_name(dt));
    if (at::isFloatingType(dt)) {
      expect_global(mean(a, axis(0)), at::mean(x, 0), 1e-6, 1e-6, dtype_name(dt));
      expect_global(dnd::std(a, axis(0)), at::std(x, 0, /*unbiased=*/false), 1e-5, 1e-6, dtype_name(dt));
    }
  }
}

namespace {
// numpy's argmin / argmax along axis d: the first extreme, the first NaN over everything.
at::Tensor numpy_arg(const at::Tensor& t, int64_t d, bool is_max) {
  at::Tensor m = t.movedim(d, 0).contiguous().to(at::kDouble);
  const int64_t R = m.size(0);
  std::vector<int64_t> rest(m.sizes().begin() + 1, m.sizes().end());
  m = m.reshape({R, -1});
  const int64_t C = m.size(1);
  at::Tensor out = at::zeros({C}, at::kLong);
  for (int64_t j = 0; j < C; ++j) {
    int64_t b = 0;
    for (int64_t r = 1; r < R; ++r) {
      const double v = m[r][j].item<double>(), cur = m[b][j].item<double>();
      if (std::isnan(cur)) break;
      if (std::isnan(v) || (is_max ? v > cur : v < cur)) b = r;
    }
    out[j] = b;
  }
  return out.reshape(rest);
}
}  // namespace

TEST(Reductions, ColumnArgExtremesAreNumpysFirstIndices) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const Shape& shape : std::vector<Shape>{{13, 9}, {5, 3, 12}, {9, 1, 8}})
    for (at::ScalarType dt : {at::kInt, at::kLong, at::kFloat, at::kDouble}) {
      at::Tensor t = sample(shape, dt);  // many ties
      if (at::isFloatingType(dt)) {
        t.view({-1})[7] = nan;
        t.view({-1})[40] = nan;
      }
      const int64_t nd = static_cast<int64_t>(shape.size());
      for (Split s : all_splits(nd))
        for (int64_t d = 0; d < nd; ++d) {
          const std::string what =
              fmt::format("{} {} split={} axis {}", dtype_name(dt), shape_str(shape), split_str(s), d);
          expect_global(argmax(array(t, s), d), numpy_arg(t, d, true), 0, 0, "argmax " + what);
          expect_global(argmin(array(t, s), d), numpy_arg(t, d, false), 0, 0, "argmin " + what);
        }
    }
}
