#include "kernels/linalg/matmul.h"

#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace dnd;
using namespace dnd::testing;
namespace la = dnd::linalg;

namespace {

// Balanced, and unbalanced (rank 0 empty when p > 1) when split.
std::vector<DNDarray> layouts(const at::Tensor& t, Split split) {
  std::vector<DNDarray> out{array(t, split)};
  if (split && t.dim() > 0) out.push_back(unbalanced(t, *split));
  return out;
}

double tol(at::ScalarType dt) { return dt == at::kFloat ? 1e-4 : dt == at::kDouble ? 1e-12 : 0; }

// Checks f(a, b) against the same torch call on the whole arrays, and the plan's rules.
template <typename F, typename T>
void check_product(const at::Tensor& ta, const at::Tensor& tb, F f, T torch_f, bool outer,
                   const std::string& what) {
  const at::Tensor expected = torch_f(ta, tb);
  for (Split sa : all_splits(ta.dim()))
    for (Split sb : all_splits(tb.dim()))
      for (const DNDarray& a : layouts(ta, sa))
        for (const DNDarray& b : layouts(tb, sb)) {
          const std::string ctx =
              fmt::format("{} a {} split {} counts [{}] b {} split {} counts [{}]", what,
                          shape_str(a.gshape()), split_str(sa), fmt::join(a.counts(), ","),
                          shape_str(b.gshape()), split_str(sb), fmt::join(b.counts(), ","));
          const la::MatmulPlan plan = outer ? la::plan_outer(a.gshape(), sa, b.gshape(), sb,
                                                             a.comm().size(), a.dtype(), b.dtype())
                                            : la::plan_matmul(a, b);
          const DNDarray c = f(a, b);
          EXPECT_EQ(c.split(), plan.split) << ctx;
          EXPECT_EQ(c.gshape(), plan.shape) << ctx;
          const double t = tol(expected.scalar_type());
          expect_global(c, expected, t, t, ctx);
        }
}

const std::vector<std::array<int64_t, 3>> kNKM{{5, 7, 3}, {2, 3, 1},   {1, 1, 1}, {0, 3, 2}, {4, 0, 3},
                                               {3, 2, 0}, {10, 9, 11}, {3, 1, 4}, {1, 6, 2}};

}  // namespace

TEST(Matmul, EverySplitPairMatchesTorch) {
  for (at::ScalarType dt : {at::kDouble, at::kFloat, at::kLong})
    for (const auto& [n, k, m] : kNKM) {
      const at::Tensor ta = sample({n, k}, dt, 1), tb = sample({k, m}, dt, 2);
      check_product(
          ta, tb, la::matmul, [](const at::Tensor& x, const at::Tensor& y) { return at::matmul(x, y); },
          false, "matmul");
    }
}

TEST(Matmul, LargerThanRanksWithRealRings) {
  // Blocks of several rows/columns per rank, so every ring step moves real data.
  const at::Tensor ta = at::randn({37, 29}, at::kDouble), tb = at::randn({29, 41}, at::kDouble);
  at::Tensor a = ta.clone(), b = tb.clone();
  broadcast_(Communicator::world(), a, 0);
  broadcast_(Communicator::world(), b, 0);
  check_product(
      a, b, la::matmul, [](const at::Tensor& x, const at::Tensor& y) { return at::matmul(x, y); }, false,
      "random");
}

TEST(Matmul, MixedDtypesPromote) {
  const at::Tensor ta = sample({4, 3}, at::kInt, 1), tb = sample({3, 5}, at::kDouble, 2);
  check_product(
      ta, tb, la::matmul,
      [](const at::Tensor& x, const at::Tensor& y) { return at::matmul(x.to(at::kDouble), y); }, false,
      "promote");
}

TEST(Matmul, VectorsAsNumpy) {
  for (int64_t k : {0, 1, 3, 7}) {
    const at::Tensor x = sample({k}, at::kDouble, 3), y = sample({k}, at::kDouble, 4);
    const at::Tensor A = sample({5, k}, at::kDouble, 5), B = sample({k, 6}, at::kDouble, 6);
    auto mm = [](const at::Tensor& p, const at::Tensor& q) { return at::matmul(p, q); };
    check_product(x, y, la::dot, mm, false, "dot");
    check_product(A, x, la::matvec, mm, false, "matvec");
    check_product(x, B, la::matmul, mm, false, "vecmat");
  }
}

TEST(Matmul, DotOfVectorsIsReplicatedScalar) {
  const at::Tensor x = sample({9}, at::kDouble, 3), y = sample({9}, at::kDouble, 4);
  const DNDarray c = la::dot(array(x, 0), array(y, 0));
  EXPECT_EQ(c.gshape(), Shape{});
  EXPECT_FALSE(c.split());
  EXPECT_NEAR(c.larray().item<double>(), at::dot(x, y).item<double>(), 1e-12);
}

TEST(Matmul, Outer) {
  for (int64_t n : {0, 1, 4, 9})
    for (int64_t m : {1, 3, 8}) {
      const at::Tensor x = sample({n}, at::kDouble, 1), y = sample({m}, at::kDouble, 2);
      check_product(
          x, y, la::outer, [](const at::Tensor& p, const at::Tensor& q) { return at::outer(p, q); },
          true, "outer");
    }
}

TEST(Matmul, BatchedStacks) {
  auto mm = [](const at::Tensor& p, const at::Tensor& q) { return at::matmul(p, q); };
  const at::Tensor a3 = sample({5, 3, 4}, at::kDouble, 1), b3 = sample({5, 4, 2}, at::kDouble, 2);
  const at::Tensor b2 = sample({4, 6}, at::kDouble, 3), b1 = sample({1, 4, 2}, at::kDouble, 4);
  const at::Tensor a4 = sample({2, 3, 3, 4}, at::kDouble, 5), b4 = sample({3, 4, 2}, at::kDouble, 6);
  for (Split sa : all_splits(3))
    for (Split sb : all_splits(3)) {
      const DNDarray c = la::matmul(array(a3, sa), array(b3, sb));
      expect_global(c, mm(a3, b3), 1e-12, 1e-12, fmt::format("3-d {} {}", split_str(sa), split_str(sb)));
    }
  for (Split sa : all_splits(3))
    for (Split sb : all_splits(2))
      expect_global(la::matmul(array(a3, sa), array(b2, sb)), mm(a3, b2), 1e-12, 1e-12);
  for (Split sa : all_splits(3))
    for (Split sb : {kReplicated, Split(1), Split(2)})
      expect_global(la::matmul(array(a3, sa), array(b1, sb)), mm(a3, b1), 1e-12, 1e-12);
  for (Split sa : all_splits(4))
    for (Split sb : all_splits(3)) {
      if (sa == Split(0) && sb == Split(0)) continue;  // an error, below
      expect_global(la::matmul(array(a4, sa), array(b4, sb)), mm(a4, b4), 1e-12, 1e-12,
                    fmt::format("4-d {} {}", split_str(sa), split_str(sb)));
    }
  // Split along a batch axis that broadcasts from extent 1, or along a batch axis the other lacks while
  // the other is split along its own batch axis: refused (it would need a whole operand on every rank).
  EXPECT_THROW(la::matmul(array(a3, 0), array(b1, 0)), ValueError);
  EXPECT_THROW(la::matmul(array(a4, 0), array(b4, 0)), ValueError);
  // b batched and split along its batch axis, a a plain matrix split anywhere.
  const at::Tensor a2 = sample({3, 4}, at::kDouble, 7);
  for (Split sa : all_splits(2))
    for (Split sb : all_splits(3))
      expect_global(la::matmul(array(a2, sa), array(b3, sb)), mm(a2, b3), 1e-12, 1e-12);
  // Batch split with unbalanced counts on both sides: b is realigned.
  expect_global(la::matmul(unbalanced(a3, 0), array(b3, 0)), mm(a3, b3), 1e-12, 1e-12);
  // A split batch axis stays the result's split.
  EXPECT_EQ(la::matmul(array(a3, 0), array(b3, kReplicated)).split(), Split(0));
  EXPECT_EQ(la::matmul(array(a4, 1), array(b4, kReplicated)).split(), Split(1));
}

TEST(Matmul, ResultSplitRule) {
  // The table of plan.h, through the kernel.
  const at::Tensor a = sample({6, 5}, at::kDouble, 1), b = sample({5, 4}, at::kDouble, 2);
  const Split N = kReplicated;
  const std::vector<std::array<Split, 3>> table{{N, N, N}, {N, 0, 1}, {N, 1, 1}, {0, N, 0}, {0, 0, 0},
                                                {0, 1, 0}, {1, N, 0}, {1, 0, 0}, {1, 1, 1}};
  for (const auto& [sa, sb, sc] : table) EXPECT_EQ(la::matmul(array(a, sa), array(b, sb)).split(), sc);
  // A vector never holds the split on its dropped axis.
  const at::Tensor x = sample({5}, at::kDouble, 3);
  EXPECT_EQ(la::matmul(array(x, 0), array(b, 0)).split(), Split(0));
  EXPECT_EQ(la::matmul(array(a, N), array(x, 0)).split(), Split(0));
  EXPECT_EQ(la::matmul(array(x, 0), array(x, 0)).split(), N);
}

TEST(Matmul, BadShapesThrowOnEveryRank) {
  const DNDarray a = array(sample({3, 4}, at::kDouble), 0), b = array(sample({5, 2}, at::kDouble), 1);
  try {
    la::matmul(a, b);
    ADD_FAILURE() << "no exception";
  } catch (const ShapeError& e) {
    EXPECT_EQ(std::string(e.what()),
              "matmul: shapes (3, 4) and (5, 2) do not match: a has 4 columns but b has 5 rows");
  }
  EXPECT_THROW(la::matmul(array(at::ones({}, at::kDouble), kReplicated), b), ShapeError);
  EXPECT_THROW(la::matmul(array(at::ones({3, 4}, at::kBool), 0), array(at::ones({4, 2}, at::kBool), 0)),
               TypeError);
  EXPECT_THROW(la::matvec(a, a), ShapeError);
  EXPECT_THROW(la::outer(a, a), ShapeError);
  EXPECT_THROW(la::dot(array(sample({2, 3, 4}, at::kDouble), 0), a), ValueError);
  // A split batch axis against a batch axis of b that broadcasts from extent 1 while b is split along
  // another batch axis: b would have to be gathered.
  EXPECT_THROW(la::matmul(array(sample({2, 4, 3, 4}, at::kDouble), 1),
                          array(sample({2, 1, 4, 2}, at::kDouble), 0)),
               ValueError);
  EXPECT_THROW(
      la::matmul(array(sample({4, 3, 4}, at::kDouble), 0), array(sample({3, 4, 2}, at::kDouble), 0)),
      ShapeError);
}
