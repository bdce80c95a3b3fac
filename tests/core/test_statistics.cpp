// Scaling and statistics (src/core/statistics.h) against torch on the whole array in
// this one process (sklearn's, numpy's and scipy's formulas where torch has no such call),
// at every split, with tiny, empty and NaN-holding tables, for every accepted dtype.
#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/shape_ops.h"
#include "src/core/statistics.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace dnd;
using namespace dnd::testing;

namespace {

const double kNan = std::numeric_limits<double>::quiet_NaN();
const std::vector<Shape> kTables{{7, 4}, {3, 2}, {1, 3}, {0, 3}, {5, 1}, {9, 3}};
const std::vector<at::ScalarType> kDtypes{at::kFloat, at::kDouble, at::kInt, at::kLong};

Dtype work_of(at::ScalarType t) { return t == at::kFloat || t == at::kDouble ? t : at::kDouble; }
double tol(at::ScalarType t) { return work_of(t) == at::kFloat ? 1e-5 : 1e-11; }
double eps(Dtype t) {
  return t == at::kFloat ? std::numeric_limits<float>::epsilon()
                         : std::numeric_limits<double>::epsilon();
}

// A table with a constant last column (when it has two or more) and, if asked and
// floating, a NaN in column 0.
at::Tensor table(const Shape& s, at::ScalarType dt, bool nan, int64_t seed = 0) {
  at::Tensor t = sample(s, dt, seed).clone();
  if (s[0] > 0 && s[1] > 1) t.select(1, s[1] - 1).fill_(3);
  if (nan && at::isFloatingType(dt) && s[0] > 0 && s[1] > 0) t[s[0] / 2][0] = kNan;
  return t;
}

template <class F>
void for_tables(F f) {
  for (const Shape& s : kTables)
    for (at::ScalarType dt : kDtypes)
      for (bool nan : {false, true}) {
        if (nan && !at::isFloatingType(dt)) continue;
        const at::Tensor t = table(s, dt, nan);
        for (Split sp : all_splits(2)) {
          const std::string ctx =
              fmt::format("{} {} nan={} split={}", shape_str(s), dtype_name(dt), nan, split_str(sp));
          f(t, array(t, sp), ctx);
        }
        f(t, unbalanced(t, 0),
          fmt::format("{} {} nan={} unbalanced rows", shape_str(s), dtype_name(dt), nan));
      }
}

}  // namespace

TEST(Statistics, StandardizeMatchesSklearnFormula) {
  for_tables([](const at::Tensor& t, const DNDarray& a, const std::string& ctx) {
    const Dtype wt = work_of(t.scalar_type());
    const at::Tensor x = t.to(at::kDouble);
    const double n = static_cast<double>(t.size(0));
    const at::Tensor mean = x.sum(0) / n;
    const at::Tensor var = (x - mean).square().sum(0) / n;
    const at::Tensor scale =
        at::sqrt(var).masked_fill(var <= n * eps(wt) * var + (n * eps(wt) * mean).square(), 1.0);
    for (bool wm : {true, false})
      for (bool ws : {true, false}) {
        StandardizeResult r = standardize(a, wm, ws);
        const at::Tensor sc = ws ? scale : at::ones_like(scale);
        const at::Tensor expect = ((wm ? x - mean : x) / sc).to(wt);
        const std::string c = ctx + fmt::format(" with_mean={} with_std={}", wm, ws);
        expect_global(r.X, expect, tol(t.scalar_type()), tol(t.scalar_type()), c);
        expect_global(r.mean, mean.to(wt), tol(t.scalar_type()), tol(t.scalar_type()), c);
        expect_global(r.scale, sc.to(wt), tol(t.scalar_type()), tol(t.scalar_type()), c);
        EXPECT_EQ(r.X.split(), a.split()) << c;
      }
    // The constant column is exactly 0; a column without NaN has mean 0 and std 1.
    if (t.size(0) > 0 && t.size(1) > 1) {
      const at::Tensor z = allgather(standardize(a).X);
      EXPECT_TRUE(z.select(1, t.size(1) - 1).eq(0).all().item<bool>()) << ctx;
      if (t.size(0) > 1 && t.size(1) > 2) {
        const at::Tensor c1 = z.select(1, 1).to(at::kDouble);
        EXPECT_NEAR(c1.mean().item<double>(), 0.0, 1e-5) << ctx;
        EXPECT_NEAR(c1.square().mean().item<double>(), 1.0, 1e-5) << ctx;
      }
    }
  });
}

// float32 tables take one pass for both statistics around a shift row (col_moments): a
// column far from 0 and one of a tiny spread keep their variance, at every split, with
// the shift row's owner not rank 0 (unbalanced) and a non-finite entry in the shift row.
TEST(Statistics, StandardizeOnePassKeepsAnOffsetColumnsVariance) {
  // The same values on every rank (no random generator).
  at::Tensor t = at::sin(at::arange(257 * 3, at::kDouble).reshape({257, 3}) * 0.731) * 1.7;
  t.select(1, 0).mul_(10).add_(1e4);   // mean 1e4, std ~12 (not constant by sklearn's bound)
  t.select(1, 1).mul_(1e-3).add_(-5);  // tiny spread
  t[0][2] = std::numeric_limits<double>::infinity();  // a non-finite shift entry
  const at::Tensor f = t.to(at::kFloat);
  const at::Tensor x = f.to(at::kDouble);
  const at::Tensor mean = x.mean(0), stdv = (x - mean).square().mean(0).sqrt();
  for (Split sp : all_splits(2)) {
    for (bool uneven : {false, true}) {
      const DNDarray a = uneven && sp == Split(0) ? unbalanced(f, 0) : array(f, sp);
      const StandardizeResult r = standardize(a);
      const std::string ctx = fmt::format("split={} uneven={}", split_str(sp), uneven);
      const at::Tensor got = allgather(r.X).to(at::kDouble), m = allgather(r.mean).to(at::kDouble);
      const at::Tensor sc = allgather(r.scale).to(at::kDouble);
      for (int64_t j = 0; j < 2; ++j) {
        EXPECT_NEAR(m[j].item<double>(), mean[j].item<double>(), 1e-6 * std::abs(mean[j].item<double>()))
            << ctx << " column " << j;
        EXPECT_NEAR(sc[j].item<double>(), stdv[j].item<double>(), 1e-4 * stdv[j].item<double>())
            << ctx << " column " << j;
        EXPECT_TRUE(at::allclose(got.select(1, j), (x.select(1, j) - mean[j]) / stdv[j], 1e-3, 1e-3))
            << ctx << " column " << j;
      }
      EXPECT_FALSE(std::isfinite(m[2].item<double>()))
          << ctx << ": an infinite entry makes the mean inf";
    }
  }
}

TEST(Statistics, MinmaxScaleMatchesSklearnFormula) {
  for_tables([](const at::Tensor& t, const DNDarray& a, const std::string& ctx) {
    const Dtype wt = work_of(t.scalar_type());
    for (auto [lo, hi] : {std::pair<double, double>{0, 1}, {-2, 3}}) {
      at::Tensor expect = at::empty(t.sizes(), at::dtype(wt));
      if (t.size(0) > 0) {
        const at::Tensor x = t.to(at::kDouble);
        const at::Tensor dmin = std::get<0>(x.min(0)), dmax = std::get<0>(x.max(0));
        at::Tensor range = dmax - dmin;
        range.masked_fill_(range < 10 * eps(wt), 1.0);
        const at::Tensor s = (hi - lo) / range;
        expect = (x * s + (lo - dmin * s)).to(wt);
      }
      const DNDarray r = minmax_scale(a, lo, hi);
      expect_global(r, expect, tol(t.scalar_type()), tol(t.scalar_type()), ctx);
      if (t.size(0) > 0 && t.size(1) > 1) {  // the constant column maps to lo
        EXPECT_TRUE(allgather(r).select(1, t.size(1) - 1).eq(lo).all().item<bool>()) << ctx;
      }
    }
  });
  EXPECT_THROW(minmax_scale(array(at::ones({2, 2}), 0), 1, 1), ValueError);
  EXPECT_THROW(minmax_scale(array(at::ones({4}), 0)), ShapeError);
}

TEST(Statistics, NormalizeMatchesSklearnFormula) {
  for_tables([](const at::Tensor& t, const DNDarray& a, const std::string& ctx) {
    const Dtype wt = work_of(t.scalar_type());
    const at::Tensor x = t.to(wt);
    for (const char* norm : {"l1", "l2", "max"})
      for (int64_t ax : {1, 0, -1}) {
        const int64_t axn = ax < 0 ? ax + 2 : ax;
        at::Tensor nr = std::string(norm) == "l1"   ? x.abs().sum(axn, true)
                        : std::string(norm) == "l2" ? x.square().sum(axn, true).sqrt()
                        : x.size(axn) == 0          ? at::zeros_like(x.sum(axn, true))
                                                    : x.abs().amax(axn, true);
        nr.masked_fill_(nr < 10 * eps(wt), 1.0);
        expect_global(normalize(a, norm, ax), x / nr, tol(t.scalar_type()), tol(t.scalar_type()),
                      ctx + " norm=" + norm + " axis=" + std::to_string(ax));
      }
  });
  // A zero row stays zero; a unit row has norm 1.
  const at::Tensor z = allgather(normalize(array(at::tensor({0.0, 0.0, 3.0, 4.0}).reshape({2, 2}), 0)));
  EXPECT_TRUE(at::allclose(z, at::tensor({0.0, 0.0, 0.6, 0.8}).reshape({2, 2})));
  EXPECT_THROW(normalize(array(at::ones({2, 2}), 0), "l3"), ValueError);
}

TEST(Statistics, CovAndCorrcoefMatchTorch) {
  for_tables([](const at::Tensor& t, const DNDarray& a, const std::string& ctx) {
    const Dtype wt = work_of(t.scalar_type());
    const at::Tensor x = t.to(at::kDouble);
    const int64_t n = t.size(0), d = t.size(1);
    for (std::optional<int64_t> ddof :
         {std::optional<int64_t>{}, std::optional<int64_t>{0}, std::optional<int64_t>{2}}) {
      const int64_t dof = ddof ? *ddof : 1;
      // numpy's definition (torch.cov agrees where there are degrees of freedom left)
      const at::Tensor xc = x - x.sum(0) / static_cast<double>(n);
      at::Tensor g = at::mm(xc.t(), xc) * (1.0 / std::max<double>(static_cast<double>(n - dof), 0.0));
      if (n - dof > 0 && d > 0) {
        EXPECT_TRUE(at::allclose(g, at::cov(x.t(), dof), 1e-10, 1e-10, true)) << ctx;
      }
      if (d == 1) g = g.reshape({});
      const std::string c = ctx + " ddof=" + (ddof ? std::to_string(*ddof) : "none");
      expect_global(cov(a, false, ddof), g.to(wt), tol(t.scalar_type()) * 10, tol(t.scalar_type()) * 10,
                    c);
      // rowvar: the transposed table, each row a variable
      expect_global(cov(transpose(a), true, ddof), g.to(wt), tol(t.scalar_type()) * 10,
                    tol(t.scalar_type()) * 10, c + " rowvar");
    }
    expect_global(cov(a, false, std::nullopt, /*bias=*/true),
                  (d == 1 ? at::cov(x.t(), 0).reshape({}) : at::cov(x.t(), 0))
                      .to(wt)
                      .nan_to_num(kNan, kNan, kNan)
                      .masked_fill(at::full({}, n == 0, at::kBool), kNan),
                  tol(t.scalar_type()) * 10, tol(t.scalar_type()) * 10, ctx + " bias");
    if (n > 1 && d > 0) {
      at::Tensor r = at::corrcoef(x.t());
      expect_global(corrcoef(a), r.to(wt), tol(t.scalar_type()) * 10, tol(t.scalar_type()) * 10,
                    ctx + " corrcoef");
    }
    EXPECT_EQ(cov(a).split(), kReplicated);
  });
  // 1-D: one variable, a 0-d result.
  for (Split sp : all_splits(1)) {
    const at::Tensor v = at::tensor({1.0, 2.0, 4.0, 7.0, 0.5});
    expect_global(cov(array(v, sp)), at::cov(v), 1e-12, 1e-12);
    expect_global(corrcoef(array(v, sp)), at::full({}, 1.0, at::kDouble), 1e-12, 1e-12);
  }
  EXPECT_THROW(cov(array(at::ones({2, 2, 2}), 0)), ShapeError);
  EXPECT_THROW(cov(array(at::ones({2, 2}, at::kComplexFloat), 0)), TypeError);
}

TEST(Statistics, AverageMatchesNumpyFormula) {
  for (const Shape& s : std::vector<Shape>{{7, 3}, {3, 2}, {0, 3}, {4}, {1, 5}})
    for (at::ScalarType dt : kDtypes) {
      const at::Tensor t = sample(s, dt);
      const at::Tensor w = (sample(s, at::kLong, 3).abs() + 1).to(at::kDouble);
      const Dtype wt = work_of(dt);
      const int64_t nd = static_cast<int64_t>(s.size());
      for (Split sp : all_splits(nd)) {
        const DNDarray a = array(t, sp);
        const std::string ctx =
            fmt::format("{} {} split={}", shape_str(s), dtype_name(dt), split_str(sp));
        // no weights: the mean, float64 for integers
        expect_global(average(a), t.to(wt).to(at::kDouble).mean().to(wt), tol(dt), tol(dt), ctx);
        for (int64_t ax = -nd; ax < nd; ++ax)
          for (bool keep : {false, true}) {
            expect_global(average(a, ax, nullptr, keep), t.to(at::kDouble).mean(ax, keep).to(wt),
                          tol(dt), tol(dt), ctx);
            if (t.size(ax < 0 ? ax + nd : ax) == 0) continue;  // weights summing to zero
            // weights of a's shape, split like a or not at all
            const DNDarray wa = array(w, sp), wr = array(w, kReplicated);
            const at::Tensor e =
                ((t.to(at::kDouble) * w).sum(ax, keep) / w.sum(ax, keep)).to(at::kDouble);
            expect_global(average(a, ax, &wa, keep), e, 1e-5, 1e-6, ctx);
            expect_global(average(a, ax, &wr, keep), e, 1e-5, 1e-6, ctx);
            // 1-D weights along the axis
            const int64_t len = t.size(ax < 0 ? ax + nd : ax);
            const at::Tensor w1 = at::arange(1, len + 1, at::kDouble);
            std::vector<int64_t> bs(static_cast<size_t>(nd), 1);
            bs[static_cast<size_t>(ax < 0 ? ax + nd : ax)] = len;
            const at::Tensor e1 = (t.to(at::kDouble) * w1.reshape(bs)).sum(ax, keep) / w1.sum();
            for (Split ws : all_splits(1)) {
              const DNDarray wv = array(w1, ws);
              expect_global(average(a, ax, &wv, keep), e1, 1e-5, 1e-6, ctx + " 1-D weights");
            }
          }
      }
    }
  const DNDarray a = array(at::ones({3, 2}), 0);
  const DNDarray zero = array(at::zeros({3}), 0), bad = array(at::ones({4}), 0);
  EXPECT_THROW(average(a, 0, &zero), ValueError);
  EXPECT_THROW(average(a, 0, &bad), ShapeError);
  EXPECT_THROW(average(a, std::nullopt, &zero), ShapeError);
  // NaN propagates
  const at::Tensor tn = at::tensor({1.0, kNan, 3.0, 4.0}).reshape({2, 2});
  expect_global(average(array(tn, 0), 0), at::tensor({2.0, kNan}));
}

TEST(Statistics, PtpMatchesTorch) {
  for (const Shape& s : std::vector<Shape>{{7, 3}, {3, 2}, {1, 4}, {5}, {2, 3, 2}})
    for (at::ScalarType dt : {at::kFloat, at::kDouble, at::kInt, at::kLong, at::kByte, at::kChar}) {
      at::Tensor t = sample(s, dt);
      if (at::isFloatingType(dt)) t.view(-1)[1] = kNan;
      const int64_t nd = static_cast<int64_t>(s.size());
      for (Split sp : all_splits(nd)) {
        const DNDarray a = array(t, sp);
        const std::string ctx =
            fmt::format("{} {} split={}", shape_str(s), dtype_name(dt), split_str(sp));
        expect_global(ptp(a), t.max() - t.min(), 0, 0, ctx);
        for (int64_t ax = -nd; ax < nd; ++ax)
          for (bool keep : {false, true})
            expect_global(ptp(a, std::vector<int64_t>{ax}, keep), t.amax(ax, keep) - t.amin(ax, keep), 0,
                          0, ctx);
        if (nd > 1)
          expect_global(ptp(a, std::vector<int64_t>{0, 1}), t.amax({0, 1}) - t.amin({0, 1}), 0, 0, ctx);
      }
    }
  EXPECT_THROW(ptp(array(at::zeros({0, 3}), 0), std::vector<int64_t>{0}), ValueError);
  EXPECT_THROW(ptp(array(at::ones({3}, at::kBool), 0)), TypeError);
}

namespace {
// scipy.stats.skew / kurtosis, in float64 over dim (all when none).
at::Tensor moment_ref(const at::Tensor& t, std::optional<int64_t> dim, bool kurt, bool fisher,
                      bool bias) {
  const Dtype wt = work_of(t.scalar_type());
  at::Tensor x = t.to(at::kDouble);
  if (!dim) {
    x = x.reshape({-1});
    dim = 0;
  }
  const double n = static_cast<double>(x.size(*dim));
  const at::Tensor mean = x.sum(*dim, true) / n;
  const at::Tensor m2 = (x - mean).pow(2).sum(*dim) / n;
  const at::Tensor mk = (x - mean).pow(kurt ? 4 : 3).sum(*dim) / n;
  const double res = wt == at::kFloat ? 1e-6 : 1e-15;
  const at::Tensor zero = m2 <= (res * mean.squeeze(*dim)).square();
  at::Tensor v;
  if (!kurt) {
    v = mk / m2.pow(1.5);
    if (!bias && n > 2) v = std::sqrt((n - 1) * n) / (n - 2) * v;
  } else {
    v = mk / m2.square();
    if (!bias && n > 3) v = 1.0 / (n - 2) / (n - 3) * ((n * n - 1) * v - 3 * (n - 1) * (n - 1)) + 3;
    if (fisher) v = v - 3;
  }
  return v.masked_fill(zero, kNan).to(wt);
}
}  // namespace

TEST(Statistics, SkewKurtosisMatchScipyFormula) {
  for (const Shape& s : std::vector<Shape>{{7, 3}, {3, 2}, {0, 3}, {9}, {2, 3, 4}, {1, 2}})
    for (at::ScalarType dt : kDtypes)
      for (bool nan : {false, true}) {
        if (nan && !at::isFloatingType(dt)) continue;
        at::Tensor t = (sample(s, dt) * sample(s, dt, 5)).to(dt);  // skewed values
        if (nan && t.numel() > 2) t.view(-1)[2] = kNan;
        const int64_t nd = static_cast<int64_t>(s.size());
        for (Split sp : all_splits(nd)) {
          const DNDarray a = array(t, sp);
          const std::string ctx =
              fmt::format("{} {} nan={} split={}", shape_str(s), dtype_name(dt), nan, split_str(sp));
          std::vector<std::optional<int64_t>> axes{std::nullopt};
          for (int64_t ax = -nd; ax < nd; ++ax) axes.push_back(ax);
          for (auto ax : axes)
            for (bool bias : {true, false}) {
              const double rt = work_of(dt) == at::kFloat ? 1e-4 : 1e-10;
              expect_global(skew(a, ax, bias), moment_ref(t, ax, false, true, bias), rt, rt, ctx);
              for (bool fisher : {true, false})
                expect_global(kurtosis(a, ax, fisher, bias), moment_ref(t, ax, true, fisher, bias), rt,
                              rt, ctx);
            }
        }
      }
  // Known values: scipy.stats.skew([1, 2, 3, 10]) and kurtosis of the same.
  const DNDarray v = array(at::tensor({1.0, 2.0, 3.0, 10.0}), 0);
  EXPECT_NEAR(allgather(skew(v)).item<double>(), 1.0182338, 1e-6);
  EXPECT_NEAR(allgather(kurtosis(v)).item<double>(), -0.7696, 1e-6);
  // A constant column gives NaN (scipy).
  EXPECT_TRUE(std::isnan(allgather(skew(array(at::ones({5}), 0))).item<double>()));
}

TEST(Statistics, BincountMatchesTorchAtEverySplit) {
  const std::vector<at::Tensor> inputs{at::tensor({0, 3, 1, 3, 3, 6, 0}, at::kLong),
                                       at::tensor({2}, at::kLong), at::empty({0}, at::kLong),
                                       at::tensor({1, 1, 0}, at::kInt)};
  for (const at::Tensor& t : inputs)
    for (Split s : all_splits(1)) {
      expect_global(bincount(array(t, s), 8), at::bincount(t.to(at::kLong), {}, 8), 0, 0, split_str(s));
      const at::Tensor w = at::arange(t.numel(), at::kFloat) / 4;
      for (Split ws : all_splits(1)) {  // weights split otherwise are brought to x's blocks
        const DNDarray wd = array(w, ws);
        expect_global(bincount(array(t, s), 8, &wd),
                      at::bincount(t.to(at::kLong), w.to(at::kDouble), 8).to(at::kDouble), 1e-12, 0,
                      split_str(s));
      }
    }
  // The length is fixed when planning: a value of minlength or more, or a negative one, is
  // an error on every rank (numpy would lengthen the result).
  EXPECT_THROW(bincount(array(at::tensor({0, 8}, at::kLong), 0), 8), ValueError);
  EXPECT_THROW(bincount(array(at::tensor({0, -1}, at::kLong), 0), 8), ValueError);
  EXPECT_THROW(bincount(array(at::tensor({0.5}), 0), 8), TypeError);
  EXPECT_THROW(bincount(array(at::zeros({2, 2}, at::kLong), 0), 8), ShapeError);
}

TEST(Statistics, HistogramMatchesNumpyAtEverySplit) {
  const at::Tensor t = sample({9, 4}, at::kFloat, 3);
  const double lo = t.min().item<double>(), hi = t.max().item<double>();
  for (Split s : all_splits(2)) {
    const std::string ctx = split_str(s);
    auto [c, e] = histogram(array(t, s), 6);
    expect_global(c, at::histc(t.to(at::kDouble), 6, lo, hi).to(at::kLong), 0, 0, ctx);
    expect_global(e, at::linspace(lo, hi, 7, at::kDouble).to(at::kFloat), 1e-6, 1e-6, ctx);
    // numpy: np.histogram([1, 2, 1], bins=[0, 1, 2, 3]) -> [0, 2, 1] (the last bin holds 3)
    const at::Tensor small = at::tensor({1.0, 2.0, 1.0, 3.0, -1.0, 4.0}, at::kDouble);
    expect_global(
        histogram(array(small, s ? Split(int64_t{0}) : kReplicated), 0, std::nullopt, {0, 1, 2, 3})
            .first,
        at::tensor({0, 2, 2}, at::kLong), 0, 0, ctx);
    // np.histogram([1, 2, 1]) -> [2, 0, ..., 0, 1], edges 1.0 .. 2.0
    auto [c10, e10] =
        histogram(array(at::tensor({1, 2, 1}, at::kLong), s ? Split(int64_t{0}) : kReplicated), 10);
    at::Tensor want = at::zeros({10}, at::kLong);
    want[0] = 2;
    want[9] = 1;
    expect_global(c10, want, 0, 0, ctx);
    expect_global(e10, at::linspace(1, 2, 11, at::kDouble), 1e-15, 0, ctx);
    // weights and density: np.histogram([1, 2, 1], bins=[0, 1, 2, 3], weights=[1, 2, 3]) -> [0, 4, 2]
    const DNDarray w =
        array(at::tensor({1.0, 2.0, 3.0}, at::kDouble), s ? Split(int64_t{0}) : kReplicated);
    const DNDarray v = array(at::tensor({1.0, 2.0, 1.0}, at::kDouble), kReplicated);
    expect_global(histogram(v, 0, std::nullopt, {0, 1, 2, 3}, &w).first, at::tensor({0.0, 4.0, 2.0}), 0,
                  0, ctx);
    expect_global(histogram(array(at::tensor({1.0, 2.0, 1.0}), s ? Split(int64_t{0}) : kReplicated), 0,
                            std::nullopt, {0, 1, 3}, nullptr, true)
                      .first,
                  at::tensor({0.0, 0.5}), 1e-15, 0, ctx);
    // NaN: an error without a range (numpy: the range is not finite), left out with one.
    at::Tensor nan = t.clone();
    nan[0][0] = NAN;
    EXPECT_THROW(histogram(array(nan, s), 4), ValueError) << ctx;
    expect_global(histogram(array(nan, s), 4, std::make_pair(lo, hi)).first,
                  at::histc(t.to(at::kDouble).reshape({-1}).slice(0, 1), 4, lo, hi).to(at::kLong), 0, 0,
                  ctx);
  }
  EXPECT_THROW(histogram(array(t, 0), 0), ValueError);
  EXPECT_THROW(histogram(array(t, 0), 4, std::nullopt, {1, 0}), ValueError);
  EXPECT_THROW(histogram(array(t, 0), 4, std::make_pair(2.0, 1.0)), ValueError);
}
