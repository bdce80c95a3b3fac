#include "kernels/linalg/qr.h"
#include "kernels/linalg/svd.h"

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

// The same random matrix on every rank (rank 0's, broadcast).
at::Tensor rand_matrix(int64_t m, int64_t n, at::ScalarType dt, uint64_t seed) {
  at::manual_seed(seed);
  at::Tensor t = at::randn({m, n}, at::kDouble);
  broadcast_(Communicator::world(), t, 0);
  return t.to(dt);
}

// U diag(s) V^T with singular values spread over `decades` orders of magnitude.
at::Tensor conditioned(int64_t m, int64_t n, double decades, at::ScalarType dt, uint64_t seed,
                       int64_t rank = -1) {
  const int64_t k = std::min(m, n);
  const at::Tensor U = std::get<0>(at::linalg_qr(rand_matrix(m, k, at::kDouble, seed)));
  const at::Tensor V = std::get<0>(at::linalg_qr(rand_matrix(n, k, at::kDouble, seed + 1)));
  at::Tensor s = at::pow(10.0, at::linspace(0, -decades, k, at::kDouble));
  if (rank >= 0) s.narrow(0, rank, k - rank).zero_();
  return at::mm(U * s, V.t()).to(dt);
}

double eps(at::ScalarType dt) { return dt == at::kFloat ? 1.2e-7 : 2.3e-16; }

std::vector<DNDarray> layouts(const at::Tensor& t) {
  std::vector<DNDarray> out;
  for (Split s : all_splits(2)) {
    out.push_back(array(t, s));
    if (s) out.push_back(unbalanced(t, *s));
  }
  return out;
}

void expect_orthonormal(const at::Tensor& Q, double tol, const std::string& ctx) {
  const at::Tensor I = at::eye(Q.size(1), Q.options());
  EXPECT_LE((at::mm(Q.t(), Q) - I).norm().item<double>(), tol) << ctx << " orthogonality";
}

void check_qr(const at::Tensor& t, const std::string& what) {
  const int64_t m = t.size(0), n = t.size(1), kk = std::min(m, n);
  const double e = eps(t.scalar_type()), anorm = std::max(t.norm().item<double>(), 1.0);
  const auto [tq, tr] = at::linalg_qr(t.to(at::kDouble).to(t.scalar_type()));
  const double torch_err = (at::mm(tq, tr) - t).norm().item<double>();
  for (const DNDarray& a : layouts(t)) {
    const std::string ctx = fmt::format("{} {} split {} counts [{}]", what, dtype_name(a.dtype()),
                                        split_str(a.split()), fmt::join(a.counts(), ","));
    const la::QrPlan plan = la::plan_qr(a);
    const la::QrResult r = la::qr(a);
    ASSERT_TRUE(r.Q.has_value()) << ctx;
    EXPECT_EQ(r.Q->gshape(), plan.q_shape) << ctx;
    EXPECT_EQ(r.Q->split(), plan.q_split) << ctx;
    EXPECT_FALSE(r.R.split()) << ctx;
    EXPECT_EQ(r.R.gshape(), (Shape{kk, n})) << ctx;
    const at::Tensor Q = allgather(*r.Q), R = r.R.larray();
    EXPECT_TRUE(at::equal(R.tril(-1), at::zeros_like(R))) << ctx << " R is not upper triangular";
    const double err = (at::mm(Q, R) - t).norm().item<double>();
    EXPECT_LE(err, std::max(10 * torch_err, 50 * e * anorm))
        << ctx << " reconstruction (torch " << torch_err << ")";
    expect_orthonormal(Q, 100 * e * std::max<int64_t>(kk, 1), ctx);
    // Mode r gives the same R.
    const la::QrResult ro = la::qr(a, la::QrMode::r);
    EXPECT_FALSE(ro.Q.has_value());
    EXPECT_TRUE(at::allclose(ro.R.larray().abs(), R.abs(), 1e-3, 100 * e * anorm)) << ctx << " mode r";
  }
}

}  // namespace

TEST(Qr, ShapesAndSplitsMatchTorchAccuracy) {
  for (at::ScalarType dt : {at::kDouble, at::kFloat})
    for (const auto& [m, n] : std::vector<std::pair<int64_t, int64_t>>{{40, 7},
                                                                       {12, 12},
                                                                       {5, 13},
                                                                       {2, 1},
                                                                       {1, 3},
                                                                       {3, 3},
                                                                       {3, 2},
                                                                       {1, 1},
                                                                       {9, 1},
                                                                       {5, 0},
                                                                       {0, 3},
                                                                       {0, 0},
                                                                       {17, 4}})
      check_qr(rand_matrix(m, n, dt, static_cast<uint64_t>(m * 31 + n)),
               fmt::format("random {}x{}", m, n));
}

TEST(Qr, RankDeficientAndIllConditionedFallBack) {
  for (at::ScalarType dt : {at::kDouble, at::kFloat}) {
    at::Tensor dup = rand_matrix(40, 6, dt, 3);
    dup.select(1, 4).copy_(dup.select(1, 1));  // two equal columns
    check_qr(dup, "duplicate column");
    check_qr(conditioned(48, 6, dt == at::kDouble ? 12 : 6, dt, 5), "ill-conditioned");
    check_qr(at::zeros({8, 3}, dt), "zeros");
    check_qr(conditioned(9, 9, 3, dt, 7, 4), "square rank 4");
    check_qr(conditioned(6, 11, 3, dt, 9, 3), "wide rank 3");
  }
  // The fallback is taken (and said) for a singular Gram matrix.
  at::Tensor dup = rand_matrix(40, 6, at::kDouble, 3);
  dup.select(1, 4).copy_(dup.select(1, 1));
  const la::QrResult r = la::qr(array(dup, 0));
  EXPECT_TRUE(r.fell_back);
  EXPECT_FALSE(la::qr(array(rand_matrix(40, 6, at::kDouble, 4), 0)).fell_back);
}

TEST(Qr, BadInputThrowsOnEveryRank) {
  EXPECT_THROW(la::qr(array(sample({2, 3, 4}, at::kDouble), 0)), ShapeError);
  EXPECT_THROW(la::qr(array(sample({4, 3}, at::kLong), 0)), TypeError);
  try {
    la::qr(array(sample({7}, at::kFloat), 0));
    ADD_FAILURE();
  } catch (const ShapeError& e) {
    EXPECT_EQ(std::string(e.what()), "qr: needs a 2-D array, got shape (7,)");
  }
}

namespace {

void check_svd_exact(const at::Tensor& t, const std::string& what) {
  const int64_t m = t.size(0), n = t.size(1), kk = std::min(m, n);
  const double e = eps(t.scalar_type()), anorm = std::max(t.norm().item<double>(), 1.0);
  const at::Tensor ts = at::linalg_svdvals(t);
  for (const DNDarray& a : layouts(t)) {
    const std::string ctx = fmt::format("{} {} split {} counts [{}]", what, dtype_name(a.dtype()),
                                        split_str(a.split()), fmt::join(a.counts(), ","));
    la::SvdOptions o;
    o.method = la::SvdMethod::tsqr;
    const la::SvdPlan plan = la::plan_svd(a, o);
    const la::SvdResult r = la::svd(a, o);
    EXPECT_EQ(r.method, la::SvdMethod::tsqr);
    EXPECT_EQ(r.U->gshape(), plan.u_shape) << ctx;
    EXPECT_EQ(r.U->split(), plan.u_split) << ctx;
    EXPECT_EQ(r.V->split(), plan.v_split) << ctx;
    EXPECT_EQ(r.S.gshape(), Shape{kk}) << ctx;
    const at::Tensor U = allgather(*r.U), S = r.S.larray(), V = allgather(*r.V);
    EXPECT_TRUE(at::allclose(S, ts, 1e-3, 200 * e * anorm)) << ctx << "\n" << S << "\n" << ts;
    EXPECT_LE((at::mm(U * S, V.t()) - t).norm().item<double>(), 200 * e * anorm)
        << ctx << " reconstruction";
    expect_orthonormal(U, 200 * e * std::max<int64_t>(kk, 1), ctx + " U");
    expect_orthonormal(V, 200 * e * std::max<int64_t>(kk, 1), ctx + " V");
    o.compute_uv = false;
    const la::SvdResult s = la::svd(a, o);
    EXPECT_FALSE(s.U.has_value());
    EXPECT_TRUE(at::allclose(s.S.larray(), ts, 1e-3, 200 * e * anorm)) << ctx << " S only";
  }
}

}  // namespace

TEST(Svd, ExactTsqrAllShapes) {
  for (at::ScalarType dt : {at::kDouble, at::kFloat})
    for (const auto& [m, n] : std::vector<std::pair<int64_t, int64_t>>{
             {40, 7}, {12, 12}, {5, 13}, {2, 1}, {1, 3}, {3, 2}, {1, 1}, {9, 1}})
      check_svd_exact(rand_matrix(m, n, dt, static_cast<uint64_t>(m * 7 + n)),
                      fmt::format("random {}x{}", m, n));
  check_svd_exact(conditioned(30, 6, 8, at::kDouble, 11, 3), "rank-deficient");
}

TEST(Svd, TruncatedMethodsWithinTheirBound) {
  for (at::ScalarType dt : {at::kDouble, at::kFloat}) {
    // Rank 5 plus small noise: a rank-5 truncation is nearly exact.
    const at::Tensor t = (conditioned(60, 20, 1, dt, 21, 5) + 1e-3 * rand_matrix(60, 20, dt, 22)).to(dt);
    const at::Tensor ts = at::linalg_svdvals(t.to(at::kDouble));
    const double best5 = ts.narrow(0, 5, ts.numel() - 5).norm().item<double>();
    const double anorm = t.norm().item<double>(), e = eps(dt);
    for (const DNDarray& a : layouts(t)) {
      const std::string ctx = fmt::format("{} split {} counts [{}]", dtype_name(dt),
                                          split_str(a.split()), fmt::join(a.counts(), ","));
      for (la::SvdMethod method :
           {la::SvdMethod::hsvd, la::SvdMethod::randomized, la::SvdMethod::tsqr}) {
        la::SvdOptions o;
        o.method = method;
        o.rank = 5;
        o.seed = 3;
        const la::SvdResult r = la::svd(a, o);
        const std::string c = ctx + " " + la::method_name(method);
        ASSERT_EQ(r.S.gshape(), Shape{5}) << c;
        const at::Tensor U = allgather(*r.U), S = r.S.larray(), V = allgather(*r.V);
        const double err = (at::mm(U * S, V.t()) - t).to(at::kDouble).norm().item<double>();
        EXPECT_LE(err, r.error_bound * (1 + 1e-3) + 100 * e * anorm) << c;
        EXPECT_LE(err, 1.5 * best5 + 100 * e * anorm) << c;
        EXPECT_TRUE(at::allclose(S.to(at::kDouble), ts.narrow(0, 0, 5), 1e-3, 1e-3)) << c;
        expect_orthonormal(U, 1e3 * e, c + " U");
        expect_orthonormal(V, 1e3 * e, c + " V");
      }
      // hsvd with a relative tolerance: the bound holds and stays under rtol ||a||.
      la::SvdOptions o;
      o.rtol = 1e-2;
      const la::SvdResult r = la::svd(a, o);
      EXPECT_EQ(r.method, la::SvdMethod::hsvd);
      const at::Tensor U = allgather(*r.U), S = r.S.larray(), V = allgather(*r.V);
      const double err = (at::mm(U * S, V.t()) - t).to(at::kDouble).norm().item<double>();
      EXPECT_LE(r.error_bound, 1e-2 * anorm * (1 + 1e-6)) << ctx;
      EXPECT_LE(err, r.error_bound * (1 + 1e-3) + 100 * e * anorm) << ctx;
      EXPECT_GE(S.numel(), 5) << ctx;
    }
  }
}

TEST(Svd, RandomizedIsRankCountIndependentGivenTheSeed) {
  // Omega depends on the seed alone, so S agrees with a one-process run of the same method.
  const at::Tensor t = conditioned(50, 12, 4, at::kDouble, 31);
  la::SvdOptions o;
  o.method = la::SvdMethod::randomized;
  o.rank = 4;
  o.power_iterations = 1;
  const at::Tensor s_dist = la::svd(array(t, 0), o).S.larray();
  const at::Tensor s_repl = la::svd(array(t, kReplicated), o).S.larray();
  EXPECT_TRUE(at::allclose(s_dist, s_repl, 1e-9, 1e-12));
}

TEST(Svd, BadOptionsThrow) {
  const DNDarray a = array(sample({6, 4}, at::kDouble), 0);
  la::SvdOptions o;
  o.method = la::SvdMethod::randomized;
  EXPECT_THROW(la::svd(a, o), ValueError);  // no rank
  o.method = la::SvdMethod::hsvd;
  EXPECT_THROW(la::svd(a, o), ValueError);  // neither rank nor rtol
  o.rtol = 2.0;
  EXPECT_THROW(la::svd(a, o), ValueError);
  EXPECT_THROW(la::parse_svd_method("exact"), ValueError);
  EXPECT_THROW(la::svd(array(sample({6, 4}, at::kInt), 0)), TypeError);
}
