// The metadata-only planners: no MPI, no data (this test does not start MPI).
#include "kernels/linalg/plan.h"

#include "src/core/error.h"

#include <gtest/gtest.h>

#include <string>

using namespace dnd;
namespace la = dnd::linalg;

namespace {
constexpr auto F32 = c10::ScalarType::Float;
constexpr auto F64 = c10::ScalarType::Double;
const Split N = kReplicated;
constexpr int64_t MiB = 1 << 20;
}  // namespace

TEST(LinalgPlan, MatmulSquareAtTwoRanks) {
  const Shape s{4096, 4096};
  struct Row {
    Split sa, sb, sc;
    la::MatmulAlgorithm algo;
    int64_t bytes;  // per rank
  };
  const std::vector<Row> rows{
      {N, N, N, la::MatmulAlgorithm::local, 0},
      {0, N, 0, la::MatmulAlgorithm::local, 0},
      {N, 1, 1, la::MatmulAlgorithm::local, 0},
      {0, 0, 0, la::MatmulAlgorithm::ring_b, 32 * MiB},  // b's other half
      {0, 1, 0, la::MatmulAlgorithm::ring_b, 32 * MiB},
      {1, 1, 1, la::MatmulAlgorithm::ring_a, 32 * MiB},
      {1, 0, 0, la::MatmulAlgorithm::reduce_scatter, 32 * MiB},  // the other rank's half of c
      {1, N, 0, la::MatmulAlgorithm::resplit_a, 16 * MiB},       // a quarter of a moves
      {N, 0, 1, la::MatmulAlgorithm::resplit_b, 16 * MiB},
  };
  for (const Row& r : rows) {
    const la::MatmulPlan p = la::plan_matmul(s, r.sa, s, r.sb, 2, F32, F32);
    SCOPED_TRACE(split_str(r.sa) + " x " + split_str(r.sb));
    EXPECT_EQ(p.shape, s);
    EXPECT_EQ(p.split, r.sc);
    EXPECT_EQ(p.algorithm, r.algo);
    EXPECT_EQ(p.bytes_sent, std::vector<int64_t>(2, r.bytes));
  }
  // One rank: everything is local.
  for (Split sa : {N, Split(0), Split(1)})
    for (Split sb : {N, Split(0), Split(1)})
      EXPECT_EQ(la::plan_matmul(s, sa, s, sb, 1, F32, F32).max_bytes_sent(), 0);
}

TEST(LinalgPlan, GramMatrixReducesInsteadOfMovingTheTallOperand) {
  // X^T X for X (1e6 x 64) split 0: a = X^T split 1, b = X split 0 -> 64 x 64 split 0.
  const la::MatmulPlan p = la::plan_matmul({64, 1000000}, 1, {1000000, 64}, 0, 4, F64, F64);
  EXPECT_EQ(p.algorithm, la::MatmulAlgorithm::reduce_scatter);
  EXPECT_EQ(p.split, Split(0));
  EXPECT_EQ(p.max_bytes_sent(), 48 * 64 * 8);  // three quarters of c
}

TEST(LinalgPlan, VectorsAndBatches) {
  EXPECT_EQ(la::plan_matmul({5}, 0, {5}, 0, 3, F64, F64).shape, Shape{});
  EXPECT_EQ(la::plan_matmul({5}, 0, {5}, 0, 3, F64, F64).split, N);
  EXPECT_EQ(la::plan_matmul({5}, 0, {5, 4}, N, 3, F64, F64).split, Split(0));
  EXPECT_EQ(la::plan_matmul({6, 5}, N, {5}, 0, 3, F64, F64).split, Split(0));
  EXPECT_EQ(la::plan_matmul({6, 5}, 1, {5}, N, 3, F32, F64).dtype, F64);
  EXPECT_EQ(la::plan_outer({6}, 0, {4}, 0, 3, F64, F64).split, Split(0));
  EXPECT_EQ(la::plan_outer({6}, N, {4}, 0, 3, F64, F64).split, Split(1));
  const la::MatmulPlan b = la::plan_matmul({8, 3, 4}, 0, {4, 2}, N, 4, F32, F32);
  EXPECT_EQ(b.shape, (Shape{8, 3, 2}));
  EXPECT_EQ(b.split, Split(0));
  EXPECT_EQ(b.max_bytes_sent(), 0);
  EXPECT_EQ(la::plan_matmul({2, 8, 3, 4}, 1, {8, 4, 2}, N, 4, F32, F32).split, Split(1));
}

TEST(LinalgPlan, MatmulErrorsNameShapes) {
  try {
    la::plan_matmul({3, 4}, 0, {5, 2}, N, 2, F32, F32);
    ADD_FAILURE();
  } catch (const ShapeError& e) {
    EXPECT_EQ(std::string(e.what()),
              "matmul: shapes (3, 4) and (5, 2) do not match: a has 4 columns but b has 5 rows");
  }
  EXPECT_THROW(la::plan_matmul({}, N, {3}, N, 2, F32, F32), ShapeError);
  EXPECT_THROW(la::plan_matmul({2, 3, 4}, N, {5, 4, 2}, N, 2, F32, F32), ShapeError);
  EXPECT_THROW(la::plan_matmul({3, 4}, 2, {4, 2}, N, 2, F32, F32), ValueError);
  EXPECT_THROW(la::plan_matmul({3, 4}, N, {4, 2}, N, 2, c10::ScalarType::Bool, F32), TypeError);
  EXPECT_THROW(la::plan_outer({3, 4}, N, {4}, N, 2, F32, F32), ShapeError);
}

TEST(LinalgPlan, QrAndSvd) {
  const la::QrPlan q = la::plan_qr({1000000, 64}, 0, 2, F32);
  EXPECT_EQ(q.algorithm, la::QrAlgorithm::cholesky_qr2);
  EXPECT_EQ(q.q_shape, (Shape{1000000, 64}));
  EXPECT_EQ(q.q_split, Split(0));
  EXPECT_EQ(q.r_shape, (Shape{64, 64}));
  EXPECT_EQ(q.r_split, N);
  EXPECT_LT(q.max_bytes_sent(), 100 * 1024);  // two 16 KiB Gram matrices, two R's
  EXPECT_EQ(la::plan_qr({100, 300}, 0, 4, F64).algorithm, la::QrAlgorithm::householder_panels);
  EXPECT_TRUE(la::plan_qr({100, 300}, 0, 4, F64).resplits);
  EXPECT_EQ(la::plan_qr({100, 300}, 0, 4, F64).q_shape, (Shape{100, 100}));
  EXPECT_EQ(la::plan_qr({100, 30}, 1, 4, F64, la::QrMode::r).q_shape, Shape{});
  EXPECT_EQ(la::plan_qr({100, 30}, N, 4, F64).algorithm, la::QrAlgorithm::local);
  EXPECT_THROW(la::plan_qr({4}, 0, 2, F32), ShapeError);
  EXPECT_THROW(la::plan_qr({4, 3}, 0, 2, c10::ScalarType::Int), TypeError);

  la::SvdOptions o;
  EXPECT_EQ(la::plan_svd({1000, 50}, 0, 2, F32, o).method, la::SvdMethod::tsqr);
  o.rank = 5;
  EXPECT_EQ(la::plan_svd({1000, 50}, 0, 2, F32, o).method, la::SvdMethod::randomized);
  o.rtol = 0.1;
  EXPECT_EQ(la::plan_svd({1000, 50}, 0, 2, F32, o).method, la::SvdMethod::hsvd);
  const la::SvdPlan s = la::plan_svd({1000, 50}, 0, 2, F32, {});
  EXPECT_EQ(s.u_shape, (Shape{1000, 50}));
  EXPECT_EQ(s.u_split, Split(0));
  EXPECT_EQ(s.v_split, N);
  const la::SvdPlan w = la::plan_svd({50, 1000}, 1, 2, F32, {});
  EXPECT_EQ(w.u_split, N);
  EXPECT_EQ(w.v_split, Split(0));
  EXPECT_EQ(la::parse_svd_method("auto"), la::SvdMethod::automatic);
  EXPECT_THROW(la::parse_svd_method("full"), ValueError);
}
