// pca (kernels/linalg/pca.h) against torch's SVD of the centred table on the whole array
// in this one process (sklearn's definitions; sklearn itself is not a dependency), at
// every split, for the exact, hierarchical and randomized SVDs.
#include "src/core/error.h"
#include "src/core/factories.h"
#include "kernels/linalg/pca.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace dnd;
using namespace dnd::testing;
using namespace dnd::linalg;

namespace {

struct Ref {
  at::Tensor components, ev, ratio, sv, mean, scores;
};

// sklearn.decomposition.PCA: svd of X - mean, svd_flip on the components, whiten.
Ref reference(const at::Tensor& t, int64_t k, bool whiten) {
  const at::Tensor x = t.to(at::kDouble);
  const double n = static_cast<double>(x.size(0));
  Ref r;
  r.mean = x.mean(0);
  const at::Tensor xc = x - r.mean;
  auto [u, s, vh] = at::linalg_svd(xc, /*full_matrices=*/false);
  at::Tensor v = vh.narrow(0, 0, k);
  const at::Tensor sign = at::sign(v.gather(1, at::argmax(v.abs(), 1).unsqueeze(1)));
  r.components = v * sign;
  r.sv = s.narrow(0, 0, k);
  r.ev = r.sv.square() / (n - 1);
  r.ratio = r.ev / (xc.square().sum() / (n - 1));
  r.scores = at::mm(xc, r.components.t());
  if (whiten) r.scores = r.scores / r.ev.sqrt();
  return r;
}

// Components beyond the rank of the centred table (n - 1 rows at most) span its null
// space in no particular way: they are compared by shape only.
void expect_pca(const PcaResult& p, const Ref& r, Dtype dt, double tol, const std::string& ctx) {
  const int64_t k = r.sv.size(0), valid = std::min<int64_t>(k, r.scores.size(0) - 1);
  if (valid < k) {
    const at::Tensor c = allgather(p.components), sc = allgather(p.scores);
    ASSERT_EQ(c.sizes(), r.components.sizes()) << ctx;
    ASSERT_EQ(sc.sizes(), r.scores.sizes()) << ctx;
    EXPECT_TRUE(at::allclose(c.narrow(0, 0, valid), r.components.narrow(0, 0, valid).to(dt), tol, tol))
        << ctx;
    if (!r.scores.isnan().any().item<bool>()) {
      EXPECT_TRUE(at::allclose(sc.narrow(1, 0, valid), r.scores.narrow(1, 0, valid).to(dt), tol, tol))
          << ctx;
    }
    EXPECT_TRUE(at::allclose(allgather(p.singular_values), r.sv.to(dt), tol, tol)) << ctx;
    expect_global(p.mean, r.mean.to(dt), tol, tol, ctx + " mean");
    return;
  }
  expect_global(p.components, r.components.to(dt), tol, tol, ctx + " components");
  expect_global(p.explained_variance, r.ev.to(dt), tol, tol, ctx + " explained_variance");
  expect_global(p.explained_variance_ratio, r.ratio.to(dt), tol, tol, ctx + " ratio");
  expect_global(p.singular_values, r.sv.to(dt), tol, tol, ctx + " singular_values");
  expect_global(p.mean, r.mean.to(dt), tol, tol, ctx + " mean");
  expect_global(p.scores, r.scores.to(dt), tol, tol, ctx + " scores");
}

}  // namespace

TEST(Pca, ExactMatchesCentredSvd) {
  for (const Shape& s : std::vector<Shape>{{9, 4}, {3, 5}, {5, 1}, {2, 3}, {13, 3}})
    for (at::ScalarType dt : {at::kDouble, at::kFloat, at::kInt}) {
      const at::Tensor t = at::randn(s, at::TensorOptions().dtype(at::kDouble)).mul(3).add(1).to(dt);
      // the same values on every rank
      at::Tensor same = t.clone();
      broadcast_(Communicator::world(), same, 0);
      const Dtype wt = dt == at::kFloat ? at::kFloat : at::kDouble;
      const double tol = wt == at::kFloat ? 2e-4 : 1e-9;
      const int64_t lim = std::min(s[0], s[1]);
      for (Split sp : all_splits(2))
        for (int64_t k : {int64_t{0}, int64_t{1}, lim})
          for (bool whiten : {false, true}) {
            PcaOptions o;
            o.n_components = k;
            o.whiten = whiten;
            o.method = SvdMethod::tsqr;
            const std::string ctx = fmt::format("{} {} split={} k={} whiten={}", shape_str(s),
                                                dtype_name(dt), split_str(sp), k, whiten);
            const PcaResult p = pca(array(same, sp), o);
            expect_pca(p, reference(same, k == 0 ? lim : k, whiten), wt, tol, ctx);
            EXPECT_EQ(p.scores.split().has_value(), sp.has_value()) << ctx;
          }
    }
}

TEST(Pca, TruncatedMethodsMatch) {
  // A rank-2 table plus its mean: the truncated SVDs (hsvd truncates at every node of its
  // tree) find the subspace exactly; randomized also on a full-rank table, since
  // 2 + oversample columns span all 6.
  at::Tensor t = at::mm(at::randn({40, 2}, at::kDouble), at::randn({2, 6}, at::kDouble) * 2) + 5;
  at::Tensor full = at::randn({40, 6}, at::kDouble) * at::arange(1, 7, at::kDouble);
  broadcast_(Communicator::world(), full, 0);
  for (Split sp : all_splits(2)) {
    PcaOptions o;
    o.n_components = 2;
    o.method = SvdMethod::randomized;
    expect_pca(pca(array(full, sp), o), reference(full, 2, false), at::kDouble, 1e-7,
               "randomized full rank split=" + split_str(sp));
  }
  broadcast_(Communicator::world(), t, 0);
  for (SvdMethod m : {SvdMethod::hsvd, SvdMethod::randomized, SvdMethod::automatic})
    for (Split sp : all_splits(2)) {
      PcaOptions o;
      o.n_components = 2;
      o.method = m;
      const std::string ctx = fmt::format("{} split={}", method_name(m), split_str(sp));
      expect_pca(pca(array(t, sp), o), reference(t, 2, false), at::kDouble, 1e-7, ctx);
    }
}

TEST(Pca, BadInput) {
  EXPECT_THROW(pca(array(at::zeros({0, 3}), 0)), ValueError);  // no rows (also: more ranks than rows)
  PcaOptions o;
  o.n_components = 4;
  EXPECT_THROW(pca(array(at::ones({5, 3}), 0), o), ValueError);
  at::Tensor t = at::randn({6, 3});
  broadcast_(Communicator::world(), t, 0);
  t[4][1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(pca(array(t, 0)), ValueError);
  EXPECT_THROW(pca(array(at::ones({5}), 0)), ShapeError);
}
