// The scaling and statistics ops (issue 20) through the planner and executor at every
// split: results equal torch on the whole array in this one process, and the executor
// checks each against the plan's shape, dtype and split.
#include "tests/pipeline/run_pipeline.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

using namespace dnd;
using namespace dnd::testing;
using namespace dnd::pipeline;

namespace {
std::string split_text(Split s) { return s ? std::to_string(*s) : "none"; }
}  // namespace

TEST(StatisticsOps, ScalingAndStatisticsMatchTorch) {
  for (const Shape& shape : std::vector<Shape>{{9, 4}, {2, 3}, {0, 3}})
    for (Split split : all_splits(2)) {
      const std::string sp = split_text(split);
      Ran r = run_pipeline(fmt::format(R"(defaults: {{dtype: float64}}
steps:
  - {{id: X, op: random.normal, shape: [{0}, {1}], split: {2}, seed: 4}}
  - {{id: Z, op: standardize, input: X}}
  - {{id: C, op: standardize, input: X, with_std: false}}
  - {{id: M, op: minmax_scale, input: X, feature_range: [-1, 1]}}
  - {{id: N, op: normalize, input: X, norm: l1}}
  - {{id: V, op: cov, input: X}}
  - {{id: VT, op: transpose, input: X}}
  - {{id: V2, op: cov, input: VT, rowvar: true, ddof: 0}}
  - {{id: R, op: corrcoef, input: X}}
  - {{id: A, op: average, input: X, axis: 1}}
  - {{id: P, op: ptp, input: X, axis: 1}}
  - {{id: S, op: skew, input: X}}
  - {{id: K, op: kurtosis, input: X, fisher: false}}
)",
                                       shape[0], shape[1], sp));
      const std::string ctx = fmt::format("shape ({}, {}) split {}", shape[0], shape[1], sp);
      const at::Tensor x = r.full("X");
      const double n = static_cast<double>(shape[0]);
      const at::Tensor mean = x.sum(0) / n;
      const at::Tensor sd = (x - mean).square().sum(0).div(n).sqrt();
      expect_global(r["Z.X"], (x - mean) / sd, 1e-10, 1e-10, ctx);
      expect_global(r["Z.mean"], mean, 1e-12, 1e-12, ctx);
      expect_global(r["Z.scale"], sd, 1e-12, 1e-12, ctx);
      expect_global(r["C.X"], x - mean, 1e-12, 1e-12, ctx);
      EXPECT_EQ(r.result.values.count("C.scale"), 0u) << ctx;
      if (shape[0] > 0) {
        const at::Tensor lo = std::get<0>(x.min(0)), hi = std::get<0>(x.max(0));
        expect_global(r["M"], (x - lo) / (hi - lo) * 2 - 1, 1e-10, 1e-10, ctx);
        expect_global(r["P"], x.amax(1) - x.amin(1), 0, 0, ctx);
      }
      expect_global(r["N"], x / x.abs().sum(1, true), 1e-12, 1e-12, ctx);
      if (shape[0] > 1) {
        expect_global(r["V"], at::cov(x.t()), 1e-10, 1e-10, ctx);
        expect_global(r["V2"], at::cov(x.t(), 0), 1e-10, 1e-10, ctx);
        expect_global(r["R"], at::corrcoef(x.t()), 1e-10, 1e-10, ctx);
        const at::Tensor m2 = (x - mean).square().mean(0), m3 = (x - mean).pow(3).mean(0);
        expect_global(r["S"], m3 / m2.pow(1.5), 1e-9, 1e-9, ctx);
        expect_global(r["K"], (x - mean).pow(4).mean(0) / m2.square(), 1e-9, 1e-9, ctx);
      }
      expect_global(r["A"], x.mean(1), 1e-12, 1e-12, ctx);
    }
}

TEST(StatisticsOps, WeightsAndPlanErrors) {
  Ran r = run_pipeline(R"(steps:
  - {id: X, op: random.uniform, shape: [6, 3], split: 0, seed: 2, dtype: float64}
  - {id: W, op: random.uniform, shape: [6], split: 0, seed: 3, low: 1, high: 2, dtype: float64}
  - {id: A, op: average, inputs: [X, W], axis: 0}
  - {id: B, op: average, input: X, axis: 1, weights: [1, 2, 3]}
  - {id: I, op: random.integers, shape: [5, 2], low: 0, high: 9, split: 0}
  - {id: ZI, op: standardize, input: I}
)");
  const at::Tensor x = r.full("X"), w = r.full("W");
  expect_global(r["A"], (x * w.unsqueeze(1)).sum(0) / w.sum(), 1e-12, 1e-12);
  const at::Tensor w3 = at::tensor({1.0, 2.0, 3.0});
  expect_global(r["B"], (x * w3).sum(1) / 6.0, 1e-12, 1e-12);
  EXPECT_EQ(r["ZI.X"].dtype(), at::kDouble);  // integers give float64
  // A result the step does not give is a plan error; so are bad parameters.
  EXPECT_THROW(run_pipeline(R"(steps:
  - {id: X, op: random.normal, shape: [6, 3], split: 0}
  - {id: Z, op: standardize, input: X, with_std: false}
  - {id: Y, op: negative, input: Z.scale}
)"),
               std::exception);
  EXPECT_THROW(run_pipeline(R"(steps:
  - {id: X, op: random.normal, shape: [6, 3], split: 0}
  - {id: M, op: minmax_scale, input: X, feature_range: [1, 0]}
)"),
               PipelineError);
  EXPECT_THROW(run_pipeline(R"(steps:
  - {id: X, op: random.normal, shape: [6], split: 0}
  - {id: Z, op: standardize, input: X}
)"),
               PipelineError);
}

TEST(StatisticsOps, PcaMatchesCentredSvd) {
  for (Split split : all_splits(2)) {
    Ran r = run_pipeline(fmt::format(R"(steps:
  - {{id: X, op: random.normal, shape: [11, 4], split: {0}, seed: 6, dtype: float64}}
  - {{id: P, op: pca, input: X, n_components: 2, method: exact}}
  - {{id: W, op: pca, input: X, whiten: true}}
)",
                                     split_text(split)));
    const std::string ctx = "split " + split_text(split);
    const at::Tensor x = r.full("X");
    const at::Tensor xc = x - x.mean(0);
    auto [u, s, vh] = at::linalg_svd(xc, false);
    const at::Tensor sign = at::sign(vh.gather(1, at::argmax(vh.abs(), 1).unsqueeze(1)));
    const at::Tensor comp = vh * sign, ev = s.square() / 10.0;
    expect_global(r["P.components"], comp.narrow(0, 0, 2), 1e-9, 1e-9, ctx);
    expect_global(r["P.singular_values"], s.narrow(0, 0, 2), 1e-9, 1e-9, ctx);
    expect_global(r["P.explained_variance"], ev.narrow(0, 0, 2), 1e-9, 1e-9, ctx);
    expect_global(r["P.explained_variance_ratio"], ev.narrow(0, 0, 2) / ev.sum(), 1e-9, 1e-9, ctx);
    expect_global(r["P.mean"], x.mean(0), 1e-12, 1e-12, ctx);
    expect_global(r["P.scores"], at::mm(xc, comp.narrow(0, 0, 2).t()), 1e-9, 1e-9, ctx);
    expect_global(r["W.scores"], at::mm(xc, comp.t()) / ev.sqrt(), 1e-9, 1e-9, ctx);
  }
}
