// Pipeline ops end to end through the planner and executor, at any rank count: each op's
// results equal the same torch call on the whole array in this one process, and the
// executor checks every result against the planner's shape, dtype and split.
#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "src/core/math.h"
#include "tests/pipeline/run_pipeline.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <unistd.h>

using namespace dnd;
using namespace dnd::testing;
using namespace dnd::pipeline;

namespace {

std::string split_text(Split s) { return s ? std::to_string(*s) : "none"; }

// Shapes with tiny and empty extents; every split of each.
const std::vector<Shape> kShapes{{7, 5}, {3, 2}, {1, 4}, {0, 3}, {5, 0}, {9}};

std::string shape_text(const Shape& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

TEST(PipelineOps, FactoriesMatchTorch) {
  for (const Shape& shape : kShapes) {
    for (Split split : all_splits(static_cast<int64_t>(shape.size()))) {
      const std::string sp = split_text(split), sh = shape_text(shape);
      Ran r = run_pipeline(fmt::format(R"(steps:
  - {{id: z, op: zeros, shape: {0}, split: {1}}}
  - {{id: o, op: ones, shape: {0}, split: {1}, dtype: int32}}
  - {{id: f, op: full, shape: {0}, split: {1}, value: 2.5}}
  - {{id: fi, op: full, shape: {0}, split: {1}, value: 3}}
  - {{id: u, op: random.uniform, shape: {0}, split: {1}, seed: 3}}
  - {{id: ur, op: random.uniform, shape: {0}, seed: 3}}
)",
                                       sh, sp));
      const std::string ctx = fmt::format("shape {} split {}", sh, sp);
      expect_global(r["z"], at::zeros(shape, at::kFloat), 0, 0, ctx);
      expect_global(r["o"], at::ones(shape, at::kInt), 0, 0, ctx);
      expect_global(r["f"], at::full(shape, 2.5, at::kFloat), 0, 0, ctx);
      expect_global(r["fi"], at::full(shape, 3, at::kLong), 0, 0, ctx);
      // Same values at any split and rank count.
      expect_global(r["u"], r.full("ur"), 0, 0, ctx);
    }
  }
  Ran r = run_pipeline(R"(steps:
  - {id: a, op: arange, stop: 10, split: 0}
  - {id: af, op: arange, start: 1, stop: 2, step: 0.25, split: 0}
  - {id: l, op: linspace, start: 0, stop: 1, num: 5, split: 0}
  - {id: e, op: eye, n: 4, m: 3, split: 1, dtype: float64}
  - {id: ri, op: random.integers, shape: [20], low: 0, high: 5, seed: 1, split: 0}
)");
  expect_global(r["a"], at::arange(10, at::kLong));
  expect_global(r["af"], at::arange(1, 2, 0.25, at::kFloat));
  expect_global(r["l"], at::linspace(0, 1, 5, at::kFloat), 1e-6, 1e-7);
  expect_global(r["e"], at::eye(4, 3, at::kDouble));
  const at::Tensor ri = r.full("ri");
  EXPECT_TRUE(ri.ge(0).all().item<bool>() && ri.lt(5).all().item<bool>());
}

TEST(PipelineOps, ElementwiseMatchesTorch) {
  for (const Shape& shape : kShapes) {
    for (Split split : all_splits(static_cast<int64_t>(shape.size()))) {
      const std::string sp = split_text(split), sh = shape_text(shape);
      Ran r = run_pipeline(fmt::format(R"(steps:
  - {{id: a, op: random.uniform, shape: {0}, split: {1}, seed: 1, low: 0.5, high: 2}}
  - {{id: b, op: random.uniform, shape: {0}, seed: 2, low: 0.5, high: 2}}
  - {{id: s, op: add, inputs: [a, b]}}
  - {{id: d, op: subtract, inputs: [a, 1.5]}}
  - {{id: m, op: multiply, inputs: [2, a]}}
  - {{id: q, op: divide, inputs: [a, b]}}
  - {{id: p, op: power, inputs: [a, 2]}}
  - {{id: e, op: exp, input: a}}
  - {{id: l, op: log, input: a}}
  - {{id: g, op: greater, inputs: [a, b]}}
  - {{id: w, op: where, inputs: [g, a, 0.0]}}
  - {{id: c, op: clip, input: a, min: 1, max: 1.5}}
  - {{id: n, op: negative, input: a}}
)",
                                       sh, sp));
      const std::string ctx = fmt::format("shape {} split {}", sh, sp);
      const at::Tensor a = r.full("a"), b = r.full("b");
      expect_global(r["s"], a + b, 1e-6, 1e-6, ctx);
      expect_global(r["d"], a - 1.5, 1e-6, 1e-6, ctx);
      expect_global(r["m"], a * 2, 1e-6, 1e-6, ctx);
      expect_global(r["q"], a / b, 1e-6, 1e-6, ctx);
      expect_global(r["p"], at::pow(a, 2), 1e-6, 1e-6, ctx);
      expect_global(r["e"], at::exp(a), 1e-6, 1e-6, ctx);
      expect_global(r["l"], at::log(a), 1e-6, 1e-6, ctx);
      expect_global(r["g"], a > b, 0, 0, ctx);
      expect_global(r["w"], at::where(a > b, a, at::zeros_like(a)), 0, 0, ctx);
      expect_global(r["c"], at::clamp(a, 1, 1.5), 0, 0, ctx);
      expect_global(r["n"], -a, 0, 0, ctx);
      if (split) {
        EXPECT_EQ(r["s"].split(), split) << ctx;
      }
    }
  }
}

TEST(PipelineOps, IntegerDivisionAndBroadcastAcrossSplits) {
  // int / int gives float (torch), a (4, 1) column broadcasts against a split (4, 6).
  Ran r = run_pipeline(R"(steps:
  - {id: a, op: arange, stop: 24, split: 0}
  - {id: m, op: reshape, input: a, shape: [4, 6], split: 1}
  - {id: col, op: arange, start: 1, stop: 5}
  - {id: c, op: reshape, input: col, shape: [4, 1]}
  - {id: q, op: divide, inputs: [m, c]}
  - {id: fd, op: floor_divide, inputs: [m, 4]}
  - {id: rm, op: remainder, inputs: [m, -5]}
)");
  const at::Tensor m = at::arange(24, at::kLong).reshape({4, 6});
  const at::Tensor c = at::arange(1, 5, at::kLong).reshape({4, 1});
  expect_global(r["q"], m / c, 1e-6, 0);
  expect_global(r["fd"], at::floor_divide(m, 4));
  expect_global(r["rm"], at::remainder(m, -5));
  EXPECT_EQ(r["q"].split(), Split(1));
}

TEST(PipelineOps, ReduceMatchesTorch) {
  for (const Shape& shape : kShapes) {
    for (Split split : all_splits(static_cast<int64_t>(shape.size()))) {
      const std::string sp = split_text(split), sh = shape_text(shape);
      const bool nonempty = shape_numel(shape) > 0;
      Ran r = run_pipeline(fmt::format(R"(steps:
  - {{id: a, op: random.normal, shape: {0}, split: {1}, seed: 5}}
  - {{id: s, op: reduce, input: a, fn: sum}}
  - {{id: s0, op: reduce, input: a, fn: sum, axis: 0, keepdims: true}}
  - {{id: m, op: reduce, input: a, fn: mean, axis: -1}}
  - {{id: v, op: reduce, input: a, fn: var, axis: 0, ddof: 1}}
  - {{id: n, op: reduce, input: a, fn: norm}}
  - {{id: an, op: reduce, input: a, fn: any}}
)",
                                       sh, sp));
      const std::string ctx = fmt::format("shape {} split {}", sh, sp);
      const at::Tensor a = r.full("a");
      expect_global(r["s"], a.sum(), 1e-5, 1e-5, ctx);
      expect_global(r["s0"], a.sum(0, true), 1e-5, 1e-5, ctx);
      expect_global(r["m"], a.mean(-1), 1e-5, 1e-5, ctx);
      expect_global(r["v"], at::var(a, {0}, /*unbiased=*/true), 1e-4, 1e-5, ctx);
      expect_global(r["n"], at::norm(a), 1e-5, 1e-5, ctx);
      expect_global(r["an"], a.ne(0).any(), 0, 0, ctx);
      if (nonempty) {
        Ran e = run_pipeline(fmt::format(R"(steps:
  - {{id: a, op: random.normal, shape: {0}, split: {1}, seed: 5}}
  - {{id: mx, op: reduce, input: a, fn: max, axis: 0}}
  - {{id: am, op: reduce, input: a, fn: argmin}}
  - {{id: am0, op: reduce, input: a, fn: argmax, axis: 0}}
)",
                                         sh, sp));
        const at::Tensor x = e.full("a");
        if (shape[0] > 0) expect_global(e["mx"], std::get<0>(x.max(0)), 0, 0, ctx);
        expect_global(e["am"], x.argmin(), 0, 0, ctx);
        expect_global(e["am0"], x.argmax(0), 0, 0, ctx);
      }
    }
  }
}

TEST(PipelineOps, ShapeAndDistributionOps) {
  for (Split split : all_splits(3)) {
    const std::string sp = split_text(split);
    Ran r = run_pipeline(fmt::format(R"(steps:
  - {{id: a, op: random.uniform, shape: [5, 3, 4], split: {0}, seed: 9}}
  - {{id: t, op: transpose, input: a}}
  - {{id: t2, op: transpose, input: a, axes: [1, 0, 2]}}
  - {{id: r, op: reshape, input: a, shape: [15, -1]}}
  - {{id: f, op: flatten, input: a}}
  - {{id: s, op: slice, input: a, index: "1:4, ::2, -1"}}
  - {{id: s1, op: slice, input: a, index: "2"}}
  - {{id: c, op: concatenate, inputs: [a, a], axis: 1}}
  - {{id: st, op: stack, inputs: [a, a], axis: 0}}
  - {{id: rs, op: resplit, input: a, axis: 2}}
  - {{id: g, op: gather, input: a}}
  - {{id: x, op: astype, input: a, dtype: float64}}
  - {{id: e, op: expand_dims, input: a, axis: 1}}
  - {{id: q, op: squeeze, input: e, axis: 1}}
  - {{id: b, op: balance, input: s}}
)",
                                     sp));
    const std::string ctx = "split " + sp;
    const at::Tensor a = r.full("a");
    expect_global(r["t"], a.permute({2, 1, 0}), 0, 0, ctx);
    expect_global(r["t2"], a.permute({1, 0, 2}), 0, 0, ctx);
    expect_global(r["r"], a.reshape({15, 4}), 0, 0, ctx);
    expect_global(r["f"], a.reshape({-1}), 0, 0, ctx);
    expect_global(r["s"], a.slice(0, 1, 4).slice(1, 0, 3, 2).select(2, -1), 0, 0, ctx);
    expect_global(r["s1"], a.select(0, 2), 0, 0, ctx);
    expect_global(r["c"], at::cat({a, a}, 1), 0, 0, ctx);
    expect_global(r["st"], at::stack({a, a}, 0), 0, 0, ctx);
    expect_global(r["rs"], a, 0, 0, ctx);
    EXPECT_EQ(r["rs"].split(), Split(2));
    expect_global(r["g"], a, 0, 0, ctx);
    EXPECT_EQ(r["g"].split(), kReplicated);
    expect_global(r["x"], a.to(at::kDouble), 0, 0, ctx);
    expect_global(r["q"], a, 0, 0, ctx);
    expect_global(r["b"], r.full("s"), 0, 0, ctx);
    EXPECT_TRUE(r["b"].is_balanced());
  }
  // split distributes a replicated array; redistribute moves rows to given counts.
  const int p = Communicator::world().size();
  std::string counts = "[";
  for (int k = 0; k < p; ++k)
    counts += fmt::format("{}{}", k ? ", " : "", k == p - 1 ? 10 - (p - 1) : 1);
  counts += "]";
  Ran r = run_pipeline(fmt::format(R"(steps:
  - {{id: a, op: arange, stop: 20}}
  - {{id: m, op: reshape, input: a, shape: [10, 2]}}
  - {{id: s, op: split, input: m, axis: 0}}
  - {{id: rd, op: redistribute, input: s, counts: {}}}
)",
                                   counts));
  expect_global(r["s"], at::arange(20, at::kLong).reshape({10, 2}));
  expect_global(r["rd"], at::arange(20, at::kLong).reshape({10, 2}));
  EXPECT_EQ(r["rd"].lshape()[0], Communicator::world().rank() == p - 1 ? 10 - (p - 1) : 1);
}

TEST(PipelineOps, ParamsAndOverrides) {
  Ran r = run_pipeline(R"(params: {n: 6, scale: 0.5}
steps:
  - {id: a, op: arange, stop: "${n * 2}", split: 0}
  - {id: b, op: multiply, inputs: [a, "${scale}"]}
)",
                       {"n=4"});
  expect_global(r["a"], at::arange(8, at::kLong));
  expect_global(r["b"], at::arange(8, at::kLong) * 0.5, 1e-6, 0);
}

TEST(PipelineOps, StepErrorsNameTheStep) {
  // A runtime error (here: data-dependent, on every rank alike: every rank of up to 64
  // holds an element, since an empty block divides without error) names step and line.
  try {
    run_pipeline(R"(steps:
  - {id: a, op: arange, stop: 64, split: 0}
  - {id: b, op: floor_divide, inputs: [a, 0]}
)");
    FAIL() << "integer division by zero did not raise";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("step 'b' (floor_divide, test.yaml:4)"), std::string::npos)
        << e.what();
  }
}

}  // namespace

namespace {

TEST(PipelineOps, LinalgMatchesTorch) {
  for (Split sa : all_splits(2)) {
    for (Split sb : all_splits(2)) {
      Ran r = run_pipeline(fmt::format(R"(steps:
  - {{id: a, op: random.normal, shape: [9, 5], split: {0}, seed: 1, dtype: float64}}
  - {{id: b, op: random.normal, shape: [5, 3], split: {1}, seed: 2, dtype: float64}}
  - {{id: c, op: matmul, inputs: [a, b]}}
  - {{id: q, op: qr, input: a}}
  - {{id: r, op: qr, input: a, mode: r}}
  - {{id: s, op: svd, input: a}}
  - {{id: s_only, op: svd, input: a, compute_uv: false}}
)",
                                       split_text(sa), split_text(sb)));
      const std::string ctx = fmt::format("splits {} x {}", split_text(sa), split_text(sb));
      const at::Tensor a = r.full("a"), b = r.full("b");
      expect_global(r["c"], at::matmul(a, b), 1e-10, 1e-10, ctx);
      EXPECT_TRUE(at::allclose(at::matmul(r.full("q.Q").t(), r.full("q.Q")), at::eye(5, at::kDouble),
                               1e-10, 1e-10))
          << ctx;
      EXPECT_EQ(r["q.Q"].split(), sa) << ctx;
      EXPECT_TRUE(at::allclose(at::matmul(r.full("q.Q"), r.full("q.R")), a, 1e-10, 1e-10)) << ctx;
      EXPECT_TRUE(at::allclose(at::abs(r.full("r.R")), at::abs(r.full("q.R")), 1e-10, 1e-10)) << ctx;
      const at::Tensor S = std::get<1>(at::linalg_svd(a, false));
      expect_global(r["s.S"], S, 1e-10, 1e-10, ctx);
      expect_global(r["s_only.S"], S, 1e-10, 1e-10, ctx);
      const at::Tensor usv = at::matmul(r.full("s.U") * r.full("s.S"), r.full("s.V").t());
      EXPECT_TRUE(at::allclose(usv, a, 1e-10, 1e-10)) << ctx;
    }
  }
}

}  // namespace

#include "kernels/cluster/kmeans.h"

namespace {

// A directory every rank agrees on (made by rank 0, name broadcast as a value).
std::string shared_tmpdir() {
  const Communicator w = Communicator::world();
  const int64_t stamp =
      allreduce_value(w, static_cast<int64_t>(w.rank() == 0 ? ::getpid() : 0), ReduceOp::max);
  const std::string dir = fmt::format("/tmp/dnd-pipeline-test-{}", stamp);
  if (w.rank() == 0) std::system(fmt::format("rm -rf {0} && mkdir -p {0}", dir).c_str());
  barrier(w);
  return dir;
}

TEST(PipelineOps, LoadAndSaveRoundTrip) {
  const std::string dir = shared_tmpdir();
  for (Split split : all_splits(2)) {
    const std::string sp = split_text(split);
    run_pipeline(fmt::format(R"(steps:
  - {{id: a, op: random.uniform, shape: [7, 5], split: {1}, seed: 4, dtype: float64}}
  - {{id: i, op: arange, stop: 35, split: 0}}
  - {{id: m, op: reshape, input: i, shape: [7, 5], split: {1}}}
  - {{op: save, input: a, path: "{0}/a.h5", dataset: g/a, overwrite: true}}
  - {{op: save, input: m, path: "{0}/m.npy", overwrite: true}}
  - {{op: save, input: a, path: "{0}/a.csv", overwrite: true}}
)",
                             dir, sp));
    Ran r = run_pipeline(fmt::format(R"(steps:
  - {{id: a, op: load, path: "{0}/a.h5", dataset: g/a, split: {1}}}
  - {{id: m, op: load, path: "{0}/m.npy", split: {1}}}
  - {{id: c, op: load, path: "{0}/a.csv", split: {1}, dtype: float64}}
  - {{id: col, op: load, path: "{0}/a.h5", dataset: g/a, slice: "1:6:2, 3", split: 0}}
  - {{id: ref, op: random.uniform, shape: [7, 5], seed: 4, dtype: float64}}
)",
                                     dir, sp));
    const std::string ctx = "split " + sp;
    const at::Tensor ref = r.full("ref");
    expect_global(r["a"], ref, 0, 0, ctx);
    EXPECT_EQ(r["a"].split(), split) << ctx;
    expect_global(r["m"], at::arange(35, at::kLong).reshape({7, 5}), 0, 0, ctx);
    expect_global(r["c"], ref, 1e-12, 1e-12, ctx);
    expect_global(r["col"], ref.slice(0, 1, 6, 2).select(1, 3), 0, 0, ctx);
  }
  // Two saves into one file and loads of it in the same run, planned from the saves (a
  // stale file of that name with another shape exists), then the committed file itself.
  run_pipeline(fmt::format(
      "steps:\n  - {{id: z, op: zeros, shape: [5, 2]}}\n  - {{op: save, input: z, path: \"{}/one.h5\", "
      "dataset: x, overwrite: true}}\n",
      dir));
  for (Split split : all_splits(2)) {
    Ran r = run_pipeline(fmt::format(R"(steps:
  - {{id: a, op: arange, stop: 12, dtype: float64, split: 0}}
  - {{id: m, op: reshape, input: a, shape: [4, 3]}}
  - {{op: save, input: m, path: "{0}/one.h5", dataset: x, overwrite: true}}
  - {{op: save, input: a, path: "{0}/./one.h5", dataset: g/a}}
  - {{id: back, op: load, path: "{0}/one.h5", dataset: x, split: {1}}}
  - {{id: flat, op: load, path: "{0}/one.h5", dataset: /g/a, slice: "2:9:3", split: 0}}
)",
                                     dir, split_text(split)));
    expect_global(r["back"], at::arange(12, at::kDouble).reshape({4, 3}));
    EXPECT_EQ(r["back"].split(), split);
    expect_global(r["flat"], at::arange(12, at::kDouble).slice(0, 2, 9, 3));
    Ran again = run_pipeline(fmt::format(R"(steps:
  - {{id: x, op: load, path: "{0}/one.h5", dataset: x, split: {1}}}
  - {{id: a, op: load, path: "{0}/one.h5", dataset: g/a}}
)",
                                         dir, split_text(split)));
    expect_global(again["x"], at::arange(12, at::kDouble).reshape({4, 3}));
    expect_global(again["a"], at::arange(12, at::kDouble));
  }
  // An existing file is refused at plan time without overwrite, before anything runs.
  EXPECT_THROW(
      run_pipeline(fmt::format(
          "steps:\n  - {{id: a, op: zeros, shape: 3}}\n  - {{op: save, input: a, path: \"{}/m.npy\"}}\n",
          dir)),
      PipelineError);
  // A missing file is found at plan time too.
  EXPECT_THROW(run_pipeline(fmt::format("steps:\n  - {{id: a, op: load, path: \"{}/nope.h5\"}}\n", dir)),
               PipelineError);
  barrier(Communicator::world());
  if (Communicator::world().rank() == 0) std::system(fmt::format("rm -rf {}", dir).c_str());
}

TEST(PipelineOps, KMeansAndCdistMatchTheKernels) {
  Ran r = run_pipeline(R"(steps:
  - {id: b, op: random.blobs, n: 300, d: 3, k: 4, std: 0.5, seed: 2, split: 0}
  - {id: km, op: kmeans, input: b.X, k: 4, seed: 5, max_iter: 30}
  - {id: d, op: cdist, inputs: [b.X, km.centroids]}
  - {id: p, op: predict, inputs: [b.X, km.centroids]}
)");
  cluster::KMeansOptions o;
  o.k = 4;
  o.seed = 5;
  o.max_iter = 30;
  const cluster::KMeansResult direct = cluster::kmeans(r["b.X"], o);
  expect_global(r["km.centroids"], allgather(direct.centroids), 1e-6, 1e-6);
  expect_global(r["km.labels"], allgather(direct.labels));
  expect_global(r["p"], allgather(direct.labels));
  EXPECT_NEAR(r.full("km.inertia").item<double>(), direct.inertia, 1e-6 * direct.inertia);
  EXPECT_EQ(r.full("km.n_iter").item<int64_t>(), direct.n_iter);
  expect_global(r["d"], at::cdist(r.full("b.X"), r.full("km.centroids")), 1e-4, 1e-4);
  // Blobs: row i is centre i % k plus noise.
  const at::Tensor labels = at::remainder(at::arange(300, at::kLong), 4);
  expect_global(r["b.labels"], labels);
  const at::Tensor noise = r.full("b.X") - r.full("b.centers").index_select(0, labels);
  EXPECT_LT(noise.abs().max().item<double>(), 3.0);
}

// nan_policy: raise (the default) refuses rows holding NaN; omit fits on the other rows
// (the same fit as on those rows alone) and labels the NaN rows -1. Every split, and a
// table whose NaN rows fall unevenly across ranks (301 rows, every 7th from row 3).
TEST(PipelineOps, KMeansNanPolicy) {
  for (Split split : {Split(0), Split(1), kReplicated}) {
    const std::string s = split ? std::to_string(*split) : "none";
    const std::string table = fmt::format(R"(steps:
  - {{id: b, op: random.blobs, n: 301, d: 3, k: 4, std: 0.5, seed: 2, split: {}}}
  - {{id: i, op: arange, start: 0, stop: 301, dtype: int64}}
  - {{id: r, op: remainder, inputs: [i, 7]}}
  - {{id: m, op: equal, inputs: [r, 3]}}
  - {{id: m2, op: reshape, input: m, shape: [301, 1]}}
  - {{id: nan, op: full, shape: [301, 3], value: .nan, split: {}}}
  - {{id: X, op: where, inputs: [m2, nan, b.X]}}
)",
                                          s, s);
    SCOPED_TRACE("split " + s);
    EXPECT_THROW(run_pipeline(table + "  - {id: km, op: kmeans, input: X, k: 4, seed: 5}\n"), Error);
    Ran r = run_pipeline(table +
                         "  - {id: km, op: kmeans, input: X, k: 4, seed: 5, max_iter: 30, "
                         "nan_policy: omit}\n");
    const at::Tensor keep = at::remainder(at::arange(301, at::kLong), 7).ne(3);
    const at::Tensor rows = r.full("b.X").index({keep});
    cluster::KMeansOptions o;
    o.k = 4;
    o.seed = 5;
    o.max_iter = 30;
    const cluster::KMeansResult direct = cluster::kmeans(array(rows, Split(0)), o);
    expect_global(r["km.centroids"], allgather(direct.centroids), 1e-5, 1e-5);
    at::Tensor labels = at::full({301}, -1, at::kLong);
    labels.index_put_({keep}, allgather(direct.labels));
    expect_global(r["km.labels"], labels);
    EXPECT_EQ(r["km.labels"].split(), split ? Split(0) : kReplicated);
    EXPECT_NEAR(r.full("km.inertia").item<double>(), direct.inertia, 1e-5 * direct.inertia);
    // Too few rows without NaN for k: a clear error.
    EXPECT_THROW(run_pipeline(table + "  - {id: f, op: full, shape: [301, 3], value: .nan, split: " + s +
                              "}\n  - {id: km, op: kmeans, input: f, k: 2, nan_policy: omit}\n"),
                 Error);
  }
}

}  // namespace

namespace {

TEST(PipelineOps, NumbersAsInputs) {
  Ran r = run_pipeline(R"(steps:
  - {id: a, op: arange, stop: 6, split: 0}
  - {id: i, op: add, inputs: [a, 2]}
  - {id: f, op: multiply, inputs: [a, -1.5e0]}
  - {id: l, op: less, inputs: [a, inf]}
  - {id: n, op: add, inputs: [a, nan]}
)");
  const at::Tensor a = at::arange(6, at::kLong);
  expect_global(r["i"], a + 2);  // an integer stays integer
  expect_global(r["f"], a * -1.5);
  expect_global(r["l"], at::ones({6}, at::kBool));
  EXPECT_TRUE(at::isnan(r.full("n")).all().item<bool>());
}

// The math and NaN ops of issue 20 through the pipeline: NaNs found, replaced and
// skipped by the reductions, at every split, against torch on the whole array.
TEST(PipelineOps, MathAndNanOpsMatchTorch) {
  for (Split split : all_splits(2)) {
    const std::string sp = split_text(split);
    Ran r = run_pipeline(fmt::format(R"(steps:
  - {{id: a, op: random.normal, shape: [9, 4], split: {0}, seed: 3}}
  - {{id: lo, op: less, inputs: [a, -0.5]}}
  - {{id: x, op: where, inputs: [lo, .nan, a]}}
  - {{id: isn, op: isnan, input: x}}
  - {{id: fill, op: nan_to_num, input: x, nan: -7}}
  - {{id: m, op: reduce, input: x, fn: nanmean, axis: 0}}
  - {{id: s, op: reduce, input: x, fn: nanstd, axis: 1, ddof: 1}}
  - {{id: mx, op: reduce, input: x, fn: nanmax}}
  - {{id: c, op: reduce, input: isn, fn: count_nonzero, axis: 0}}
  - {{id: rd, op: round, input: a, decimals: 1}}
  - {{id: cl, op: isclose, inputs: [a, rd], atol: 0.05}}
  - {{id: h, op: hypot, inputs: [a, 1]}}
  - {{id: f, op: fmax, inputs: [x, 0]}}
)",
                                     sp));
    const std::string ctx = "split " + sp;
    const at::Tensor a = r.full("a");
    const at::Tensor x = at::where(a < -0.5, at::full({}, NAN, a.options()), a);
    expect_global(r["x"], x, 0, 0, ctx);
    expect_global(r["isn"], at::isnan(x), 0, 0, ctx);
    expect_global(r["fill"], at::nan_to_num(x, -7), 0, 0, ctx);
    expect_global(r["m"], at::nanmean(x, 0), 1e-6, 1e-6, ctx);
    const at::Tensor valid = at::isnan(x).logical_not(), cnt = valid.sum(1, true);
    const at::Tensor dev =
        at::where(valid, x - at::nansum(x, 1, true) / cnt, at::zeros({}, x.options()));
    expect_global(r["s"], at::sqrt((dev * dev).sum(1) / (cnt.squeeze(1) - 1)), 1e-5, 1e-6, ctx);
    expect_global(r["mx"], at::max(at::nan_to_num(x, -1e30)), 0, 0, ctx);
    expect_global(r["c"], at::isnan(x).sum(0), 0, 0, ctx);
    expect_global(r["rd"], at::round(a, 1), 0, 0, ctx);
    expect_global(r["cl"], at::isclose(a, at::round(a, 1), 1e-5, 0.05), 0, 0, ctx);
    expect_global(r["h"], at::hypot(a, at::ones_like(a)), 1e-6, 1e-6, ctx);
    expect_global(r["f"], at::fmax(x, at::zeros_like(x)), 0, 0, ctx);
  }
}

// Every elementwise and reduce op at every dtype, with array, integer, float and bool
// operands: when the planner accepts a step, the kernel must produce the planned dtype
// (the executor checks each result against the plan) and must not fail. A rule that
// disagrees with its kernel (clip of an int64 array at 2.5 was planned int64, produced
// float32) fails here.
TEST(PipelineOps, PlannedDtypesMatchTheKernels) {
  // ~700 tiny pipelines: at 1-4 ranks (7 oversubscribed ranks add time, not coverage).
  if (Communicator::world().size() > 4) GTEST_SKIP() << "run at 1-4 ranks";
  const std::vector<std::string> dtypes{"bool",  "uint8",   "int8",    "int16",     "int32",
                                        "int64", "float32", "float64", "complex64", "complex128"};
  std::vector<std::string> steps;
  for (const char* b : {"add", "subtract", "multiply", "divide", "floor_divide", "remainder", "power",
                        "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
                        "logical_and", "logical_or", "logical_xor"})
    for (const char* other : {"X", "Y", "2", "2.5", "-1"})
      steps.push_back(fmt::format("{{id: R, op: {}, inputs: [X, {}]}}", b, other));
  for (const char* u : {"abs", "negative", "exp", "log", "sqrt", "sin", "cos", "tanh", "logical_not"})
    steps.push_back(fmt::format("{{id: R, op: {}, input: X}}", u));
  for (const UnaryFunction& f : unary_functions())
    steps.push_back(fmt::format("{{id: R, op: {}, input: X}}", f.name));
  for (const BinaryFunction& f : binary_functions())
    for (const char* other : {"X", "Y", "2", "2.5"})
      steps.push_back(fmt::format("{{id: R, op: {}, inputs: [X, {}]}}", f.name, other));
  for (const char* p : {"input: X", "input: X, decimals: 2", "input: X, decimals: -1"})
    steps.push_back(fmt::format("{{id: R, op: round, {}}}", p));
  steps.push_back("{id: R, op: nan_to_num, input: X, nan: 1, posinf: 2}");
  for (const char* ax : {"null", "0", "1"}) {
    steps.push_back(fmt::format("{{id: R, op: median, input: X, axis: {}}}", ax));
    steps.push_back(fmt::format("{{id: R, op: percentile, input: X, q: [10, 90], axis: {}}}", ax));
    steps.push_back(
        fmt::format("{{id: R, op: quantile, input: X, q: 0.5, axis: {}, keepdims: true}}", ax));
  }
  steps.push_back("{id: R, op: isclose, inputs: [X, Y], rtol: 0.1}");
  steps.push_back("{id: R, op: isclose, inputs: [X, 2], equal_nan: true}");
  for (const char* fn : {"nansum", "nanmean", "nanvar", "nanstd", "nanmin", "nanmax", "nanargmin",
                         "nanargmax", "count_nonzero"})
    for (const char* ax : {"null", "0", "1"})
      steps.push_back(fmt::format("{{id: R, op: reduce, input: X, fn: {}, axis: {}}}", fn, ax));
  for (const char* c : {"min: 1", "max: 2.5", "min: 1, max: 3", "min: 0.5, max: 4"})
    steps.push_back(fmt::format("{{id: R, op: clip, input: X, {}}}", c));
  for (const char* fn :
       {"sum", "prod", "mean", "var", "std", "min", "max", "argmin", "argmax", "any", "all", "norm"})
    for (const char* ax : {"null", "0", "1"})
      steps.push_back(fmt::format("{{id: R, op: reduce, input: X, fn: {}, axis: {}}}", fn, ax));
  steps.push_back("{id: R, op: where, inputs: [C, X, 2]}");
  steps.push_back("{id: R, op: where, inputs: [C, X, 2.5]}");
  int planned = 0, refused = 0;
  for (const std::string& dt : dtypes) {
    for (const std::string& st : steps) {
      const std::string yaml = fmt::format(R"(steps:
  - {{id: A, op: arange, start: 1, stop: 13, split: 0}}
  - {{id: B, op: reshape, input: A, shape: [4, 3]}}
  - {{id: X, op: astype, input: B, dtype: {0}}}
  - {{id: Y, op: astype, input: B, dtype: float64}}
  - {{id: C, op: greater, inputs: [B, 6]}}
  - {1}
)",
                                           dt, st);
      std::unique_ptr<Document> doc;
      std::unique_ptr<Plan> plan;
      try {
        doc = std::make_unique<Document>(parse_document("version: 1\n" + yaml, "dtypes.yaml"));
        plan = std::make_unique<Plan>(make_plan(*doc, Communicator::world().size()));
      } catch (const PipelineError&) {
        ++refused;  // refused before anything ran: fine
        continue;
      }
      ++planned;
      RunOptions o;
      o.quiet = true;
      o.out = std::fopen("/dev/null", "w");
      try {
        execute(*plan, Communicator::world(), o);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "dtype " << dt << ", step " << st << ": planned, then failed: " << e.what();
      }
      std::fclose(o.out);
    }
  }
  EXPECT_GT(planned, 500);
  EXPECT_GT(refused, 0);
}

}  // namespace
