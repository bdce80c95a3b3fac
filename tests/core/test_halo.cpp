// Halos, row fetches and the window ops (convolve, moving) at any rank count, against the
// same computation on the whole array in this one process: numpy.pad's boundary rules
// written out index by index, numpy.convolve and sliding-window reductions by definition.
#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/halo.h"
#include "src/core/window.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>

using namespace dnd;
using namespace dnd::testing;

namespace {

// Global row g of an axis of n rows under a boundary rule (numpy.pad: constant, symmetric
// (our reflect) and wrap), -1 for padding.
int64_t source_row(int64_t g, int64_t n, Boundary b) {
  if (g >= 0 && g < n) return g;
  switch (b) {
    case Boundary::none:
      ADD_FAILURE() << "row " << g << " asked for with boundary none";
      return -1;
    case Boundary::constant:
      return -1;
    case Boundary::wrap:
      return ((g % n) + n) % n;
    case Boundary::reflect: {
      const int64_t m = 2 * n, r = ((g % m) + m) % m;
      return r < n ? r : m - 1 - r;
    }
  }
  return -1;
}

// Rows [lo, hi) of `full` along `axis` under the rule, built row by row.
at::Tensor expected_rows(const at::Tensor& full, int64_t axis, int64_t lo, int64_t hi, Boundary b,
                         double value) {
  std::vector<at::Tensor> rows;
  const int64_t n = full.size(axis);
  for (int64_t g = lo; g < hi; ++g) {
    const int64_t src = source_row(g, n, b);
    std::vector<int64_t> row = full.sizes().vec();
    row[static_cast<size_t>(axis)] = 1;
    rows.push_back(src < 0 ? at::full(row, value, full.options()) : full.narrow(axis, src, 1));
  }
  if (rows.empty()) {
    std::vector<int64_t> s = full.sizes().vec();
    s[static_cast<size_t>(axis)] = 0;
    return at::empty(s, full.options());
  }
  return at::cat(rows, axis);
}

const std::vector<Boundary> kBoundaries{Boundary::none, Boundary::constant, Boundary::reflect,
                                        Boundary::wrap};

TEST(Halo, EveryBoundaryAndWidthMatchesThePaddedWholeArray) {
  const Communicator comm = Communicator::world();
  // Rows: fewer than the ranks, some ranks holding fewer rows than the halo, many.
  for (const Shape& shape : std::vector<Shape>{{9, 2}, {2, 3}, {1}, {13}, {3, 4, 2}}) {
    for (int64_t axis = 0; axis < static_cast<int64_t>(shape.size()); ++axis) {
      const at::Tensor full = sample(shape, at::kDouble, axis);
      const DNDarray a = array(full, axis);
      const int64_t n = shape[static_cast<size_t>(axis)];
      for (int64_t h : {0, 1, 2, 3, 5}) {
        for (Boundary b : kBoundaries) {
          SCOPED_TRACE(fmt::format("shape {} axis {} h {} boundary {}", shape_str(shape), axis, h,
                                   boundary_name(b)));
          const Halo halo = get_halo(a, h, b, 7.5);
          const Chunk c = a.chunk();
          const int64_t lo = b == Boundary::none ? std::max<int64_t>(c.offset - h, 0) : c.offset - h;
          const int64_t hi = b == Boundary::none ? std::min(c.end() + h, n) : c.end() + h;
          const at::Tensor want_before = expected_rows(full, axis, lo, c.offset, b, 7.5);
          const at::Tensor want_after = expected_rows(full, axis, c.end(), hi, b, 7.5);
          ASSERT_EQ(halo.before.sizes(), want_before.sizes());
          ASSERT_EQ(halo.after.sizes(), want_after.sizes());
          EXPECT_TRUE(at::equal(halo.before, want_before)) << halo.before << want_before;
          EXPECT_TRUE(at::equal(halo.after, want_after)) << halo.after << want_after;
          int64_t before = -1, after = -1;
          const at::Tensor ext = with_halo(a, h, b, 7.5, &before, &after);
          EXPECT_EQ(before, c.offset - lo);
          EXPECT_EQ(after, hi - c.end());
          EXPECT_TRUE(at::equal(ext, expected_rows(full, axis, lo, hi, b, 7.5)));
        }
      }
    }
  }
}

TEST(Halo, UnbalancedBlocksNaNAndIntegers) {
  const int64_t n = 11;
  at::Tensor full = sample({n, 3}, at::kFloat, 2);
  full.index_put_({4, 1}, NAN);
  const DNDarray a = unbalanced(full, 0);  // rank 0 holds nothing when p > 1
  for (Boundary b : kBoundaries) {
    const Halo halo = get_halo(a, 4, b, -1.0);
    const Chunk c = a.chunk();
    const int64_t lo = b == Boundary::none ? std::max<int64_t>(c.offset - 4, 0) : c.offset - 4;
    const int64_t hi = b == Boundary::none ? std::min<int64_t>(c.end() + 4, n) : c.end() + 4;
    EXPECT_TRUE(at::allclose(halo.before, expected_rows(full, 0, lo, c.offset, b, -1.0), 0, 0, true));
    EXPECT_TRUE(at::allclose(halo.after, expected_rows(full, 0, c.end(), hi, b, -1.0), 0, 0, true));
  }
  const at::Tensor ints = sample({6}, at::kInt);
  const Halo hi = get_halo(array(ints, 0), 2, Boundary::wrap);
  const Chunk c = array(ints, 0).chunk();
  EXPECT_TRUE(at::equal(hi.before, expected_rows(ints, 0, c.offset - 2, c.offset, Boundary::wrap, 0)));
}

TEST(Halo, ErrorsAndPlanAccounting) {
  EXPECT_THROW(get_halo(array(at::ones({4}), kReplicated), 1), ValueError);
  EXPECT_THROW(get_halo(array(at::ones({4}), 0), -1), ValueError);
  EXPECT_THROW(get_halo(array(at::ones({0}), 0), 1, Boundary::wrap), ValueError);
  const Halo e = get_halo(array(at::ones({0}), 0), 2, Boundary::constant, 3.0);
  EXPECT_EQ(e.before.size(0), 2);
  // Pure accounting: 2 ranks of 4 rows, halo 1: each sends one row to the other.
  EXPECT_EQ(halo_rows_sent({4, 4}, 1, Boundary::none, 0), 1);
  EXPECT_EQ(halo_rows_sent({4, 4}, 1, Boundary::wrap, 0), 2);
  EXPECT_EQ(halo_rows_sent({4, 4}, 1, Boundary::reflect, 0), 1);  // its own edge row reflects locally
  // A block shorter than the halo: rank 1's row goes to both neighbours, ranks 0 and 2
  // send theirs two ways too.
  EXPECT_EQ(halo_rows_sent({3, 1, 3}, 2, Boundary::none, 1), 2);
}

// numpy.convolve by its definition: full[i] = sum_j a[i - j] v[j].
at::Tensor convolve_ref(const at::Tensor& a, const std::vector<double>& v, ConvolveMode mode,
                        int64_t axis) {
  at::Tensor x = a.to(at::kDouble).movedim(axis, -1);
  const int64_t n = x.size(-1), m = static_cast<int64_t>(v.size());
  std::vector<int64_t> s = x.sizes().vec();
  s.back() = n + m - 1;
  at::Tensor full = at::zeros(s, at::kDouble);
  for (int64_t i = 0; i < n + m - 1; ++i)
    for (int64_t j = 0; j < m; ++j)
      if (i - j >= 0 && i - j < n)
        full.select(-1, i).add_(x.select(-1, i - j) * v[static_cast<size_t>(j)]);
  const int64_t big = std::max(n, m), small = std::min(n, m);
  at::Tensor out = mode == ConvolveMode::full   ? full
                   : mode == ConvolveMode::same ? full.narrow(-1, (small - 1) / 2, big)
                                                : full.narrow(-1, small - 1, big - small + 1);
  return out.movedim(-1, axis).contiguous();
}

TEST(Window, ConvolveMatchesNumpyInEveryMode) {
  const std::vector<std::vector<double>> kernels{
      {1.0}, {0.25, 0.5, 0.25}, {1, -2, 3, -4, 5, -6, 7}, {0.5, 2}};
  for (const Shape& shape : std::vector<Shape>{{13}, {3}, {1}, {6, 3}, {2, 5}}) {
    for (int64_t axis = 0; axis < static_cast<int64_t>(shape.size()); ++axis) {
      for (Split split : all_splits(static_cast<int64_t>(shape.size()))) {
        at::Tensor full = sample(shape, at::kDouble, 1);
        if (shape_numel(shape) > 4) full.view(-1).index_put_({4}, NAN);
        const DNDarray a = array(full, split);
        for (const auto& v : kernels) {
          for (ConvolveMode mode : {ConvolveMode::full, ConvolveMode::same, ConvolveMode::valid}) {
            const DNDarray r = convolve(a, at::tensor(v, at::kDouble), mode, axis);
            EXPECT_EQ(r.split(), split);
            expect_global(r, convolve_ref(full, v, mode, axis), 1e-12, 1e-12,
                          fmt::format("shape {} axis {} kernel {} mode {}", shape_str(shape), axis,
                                      v.size(), static_cast<int>(mode)));
          }
        }
      }
    }
  }
  // float32 keeps its dtype; integers give float32; complex stays complex.
  const at::Tensor fi = sample({9}, at::kInt);
  expect_global(convolve(array(fi, 0), at::tensor(std::vector<double>{1, 2, 1}), ConvolveMode::same, 0),
                convolve_ref(fi, {1, 2, 1}, ConvolveMode::same, 0).to(at::kFloat), 1e-6, 1e-6);
  const at::Tensor fc = sample({7}, at::kComplexDouble);
  const DNDarray rc =
      convolve(array(fc, 0), at::tensor(std::vector<double>{1, -1}), ConvolveMode::full, 0);
  EXPECT_EQ(rc.dtype(), at::kComplexDouble);
  EXPECT_TRUE(at::allclose(allgather(rc), at::cat({fc, at::zeros({1}, fc.options())}) -
                                              at::cat({at::zeros({1}, fc.options()), fc})));
  EXPECT_THROW(convolve(array(at::ones({0}), 0), at::ones({2}), ConvolveMode::full, 0), ValueError);
  EXPECT_THROW(convolve(array(at::ones({3}), 0), at::ones({0}), ConvolveMode::full, 0), ValueError);
}

at::Tensor moving_ref(const at::Tensor& a, int64_t w, MovingFn fn, int64_t axis) {
  at::Tensor u = a.unfold(axis, w, 1);
  switch (fn) {
    case MovingFn::mean:
      return u.to(at::isFloatingType(a.scalar_type()) ? a.scalar_type() : at::kFloat).mean(-1);
    case MovingFn::sum:
      return u.sum(-1);
    case MovingFn::min:
      return u.amin(-1);
    case MovingFn::max:
      return u.amax(-1);
  }
  return {};
}

TEST(Window, MovingMatchesSlidingWindows) {
  for (const Shape& shape : std::vector<Shape>{{11}, {4}, {7, 3}, {3, 6}}) {
    for (int64_t axis = 0; axis < static_cast<int64_t>(shape.size()); ++axis) {
      for (Split split : all_splits(static_cast<int64_t>(shape.size()))) {
        at::Tensor full = sample(shape, at::kDouble, 3);
        full.view(-1).index_put_({2}, NAN);
        const DNDarray a = array(full, split);
        const int64_t n = shape[static_cast<size_t>(axis)];
        for (int64_t w : {int64_t{1}, int64_t{2}, n}) {
          for (MovingFn fn : {MovingFn::mean, MovingFn::sum, MovingFn::min, MovingFn::max}) {
            const DNDarray r = moving(a, w, fn, axis);
            expect_global(r, moving_ref(full, w, fn, axis), 1e-12, 1e-12,
                          fmt::format("shape {} axis {} split {} window {}", shape_str(shape), axis,
                                      split_str(split), w));
          }
        }
      }
    }
  }
  const at::Tensor ints = sample({10}, at::kInt);
  expect_global(moving(array(ints, 0), 3, MovingFn::sum, 0), moving_ref(ints, 3, MovingFn::sum, 0));
  expect_global(moving(array(ints, 0), 3, MovingFn::max, 0), moving_ref(ints, 3, MovingFn::max, 0));
  expect_global(moving(array(ints, 0), 4, MovingFn::mean, 0), moving_ref(ints, 4, MovingFn::mean, 0),
                1e-6, 1e-6);
  EXPECT_THROW(moving(array(ints, 0), 11, MovingFn::sum, 0), ValueError);
  EXPECT_THROW(moving(array(ints, 0), 0, MovingFn::sum, 0), ValueError);
}

}  // namespace
