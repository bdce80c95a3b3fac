// cdist against torch.cdist on one process, for every combination of splits (none, 0,
// 1) of x and y, both methods, both dtypes, unbalanced blocks, and arrays with fewer rows
// than ranks or none at all.
#include "kernels/cluster/cdist.h"

#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "src/core/runtime.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

using namespace dnd;
using namespace dnd::testing;
using dnd::cluster::cdist;
using dnd::cluster::CdistMethod;
using dnd::cluster::CdistOptions;

namespace {

// Scrambled values in [-5, 5), identical on every rank; rows may repeat (distance 0).
at::Tensor points(int64_t n, int64_t d, at::ScalarType dt, int64_t seed) {
  const at::Tensor i = at::arange(n * d, at::kLong);
  return ((i * 7919 + seed * 104729) % 1009).to(at::kDouble).div(100.9).sub(5).reshape({n, d}).to(dt);
}

// torch.cdist in float64 (compute_mode 2: sums of squared differences), cast to `dt`.
at::Tensor reference(const at::Tensor& x, const at::Tensor& y, bool squared, at::ScalarType dt) {
  at::Tensor r = at::cdist(x.to(at::kDouble), y.to(at::kDouble), 2.0, 2);
  if (squared) r = r * r;
  return r.to(dt);
}

DNDarray make(const at::Tensor& t, Split s) { return array(t, s); }

Split expected_split(Split xs, Split ys) {
  if (xs) return Split(0);
  if (ys) return Split(1);
  return kReplicated;
}

// Tolerances: the matmul path loses ~eps * |x|^2 in the squared distance, which the
// square root turns into up to sqrt(eps) * |x| near zero.
std::pair<double, double> tolerances(CdistMethod m, bool squared, at::ScalarType dt) {
  const bool f32 = dt == at::kFloat;
  if (m == CdistMethod::exact) return f32 ? std::make_pair(1e-5, 1e-5) : std::make_pair(1e-12, 1e-12);
  if (squared) return f32 ? std::make_pair(1e-4, 1e-3) : std::make_pair(1e-10, 1e-10);
  return f32 ? std::make_pair(1e-4, 1e-2) : std::make_pair(1e-8, 1e-6);
}

const std::vector<std::tuple<int64_t, int64_t, int64_t>> kSizes{{7, 5, 3},  {1, 1, 1},   {0, 4, 2},
                                                                {5, 0, 2},  {3, 13, 4},  {2, 20, 3},
                                                                {25, 3, 7}, {40, 9, 16}, {6, 6, 0}};

}  // namespace

TEST(Cdist, MatchesTorchForEverySplit) {
  for (const auto& [n, m, d] : kSizes)
    for (at::ScalarType dt : {at::kFloat, at::kDouble}) {
      const at::Tensor x = points(n, d, dt, 1), y = points(m, d, dt, 2);
      for (Split xs : all_splits(2))
        for (Split ys : all_splits(2))
          for (CdistMethod method : {CdistMethod::matmul, CdistMethod::exact})
            for (bool squared : {false, true}) {
              const DNDarray r = cdist(make(x, xs), make(y, ys), CdistOptions{method, squared});
              const std::string ctx =
                  fmt::format("n={} m={} d={} {} x split {} y split {} {} squared={}", n, m, d,
                              dtype_name(dt), split_str(xs), split_str(ys),
                              method == CdistMethod::exact ? "exact" : "matmul", squared);
              EXPECT_EQ(r.split(), expected_split(xs, ys)) << ctx;
              const auto [rtol, atol] = tolerances(method, squared, dt);
              expect_global(r, reference(x, y, squared, dt), rtol, atol, ctx);
            }
    }
}

TEST(Cdist, MixedDtypesGiveFloat64) {
  const at::Tensor x = points(9, 3, at::kFloat, 3), y = points(4, 3, at::kDouble, 4);
  const DNDarray r =
      cdist(make(x, Split(0)), make(y, kReplicated), CdistOptions{CdistMethod::exact, false});
  EXPECT_EQ(r.dtype(), at::kDouble);
  expect_global(r, reference(x, y, false, at::kDouble), 1e-12, 1e-12);
}

TEST(Cdist, UnbalancedBlocks) {
  const at::Tensor x = points(23, 5, at::kFloat, 5), y = points(17, 5, at::kFloat, 6);
  for (CdistMethod method : {CdistMethod::matmul, CdistMethod::exact}) {
    const auto [rtol, atol] = tolerances(method, false, at::kFloat);
    expect_global(cdist(unbalanced(x, 0), unbalanced(y, 0), CdistOptions{method, false}),
                  reference(x, y, false, at::kFloat), rtol, atol, "both unbalanced");
    expect_global(cdist(unbalanced(x, 0), make(y, Split(0)), CdistOptions{method, false}),
                  reference(x, y, false, at::kFloat), rtol, atol, "x unbalanced");
    expect_global(cdist(make(x, kReplicated), unbalanced(y, 0), CdistOptions{method, false}),
                  reference(x, y, false, at::kFloat), rtol, atol, "y unbalanced, x replicated");
  }
}

// More columns than one cache block of the matmul path and more rows than one packed
// chunk of the exact path.
// (With two threads the blocks run in parallel.)
TEST(Cdist, SeveralBlocks) {
  const at::Tensor x = points(300, 5, at::kFloat, 7), y = points(3001, 5, at::kFloat, 8);
  const int before = threads();
  for (int t : {1, 2}) {
    set_threads(t);
    for (CdistMethod method : {CdistMethod::matmul, CdistMethod::exact}) {
      const auto [rtol, atol] = tolerances(method, false, at::kFloat);
      expect_global(cdist(make(x, Split(0)), make(y, Split(0)), CdistOptions{method, false}),
                    reference(x, y, false, at::kFloat), rtol, atol, fmt::format("{} threads", t));
    }
  }
  set_threads(before);
}

TEST(Cdist, BadInputThrowsOnEveryRank) {
  const DNDarray x = array(points(6, 3, at::kFloat, 1), Split(0));
  const DNDarray y = array(points(4, 2, at::kFloat, 2), Split(0));
  EXPECT_THROW(cdist(x, y), ShapeError);
  EXPECT_THROW(cdist(array(at::ones({6}), Split(0)), x), ShapeError);
  EXPECT_THROW(cdist(x, array(at::ones({4, 3}, at::kLong), kReplicated)), TypeError);
  try {
    cdist(x, y);
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("same number of columns"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(6, 3)"), std::string::npos) << e.what();
  }
}
