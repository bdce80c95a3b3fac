// op: map, convolve and moving through the planner and executor at any rank count, each
// against the same torch code run on the whole array in this one process; the planner's
// errors for TorchScript that does not compile or breaks the map contract, with positions.
#include "src/core/manipulation.h"
#include "tests/pipeline/run_pipeline.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

using namespace dnd;
using namespace dnd::testing;
using namespace dnd::pipeline;

namespace {

// The planner's error for a pipeline (plan only, no data).
PipelineError plan_error(const std::string& yaml) {
  try {
    const Document d = parse_document("version: 1\n" + yaml, "test.yaml");
    make_plan(d, 3);
  } catch (const PipelineError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for\n" << yaml;
  return PipelineError("test.yaml", {}, "none");
}

std::string split_text(Split s) { return s ? std::to_string(*s) : "none"; }

const std::vector<Shape> kShapes{{7, 5}, {3, 2}, {1, 4}, {0, 3}, {9}};

TEST(Map, ElementwiseAndRowwiseMatchTorch) {
  for (const Shape& shape : kShapes) {
    for (Split split : all_splits(static_cast<int64_t>(shape.size()))) {
      const std::string ctx = fmt::format("shape {} split {}", shape_str(shape), split_text(split));
      Ran r = run_pipeline(fmt::format(R"~(steps:
  - {{id: x, op: random.uniform, shape: [{}], split: {}, seed: 4, low: -1, high: 1}}
  - id: y
    op: map
    input: x
    fn: |
      def f(x: Tensor) -> Tensor:
          return x * 2.0 + 1.0
  - id: ints
    op: map
    input: x
    fn: "def f(x: Tensor) -> Tensor:\n  return (x * 10).int()"
)~",
                                       fmt::join(shape, ", "), split_text(split)));
      const at::Tensor x = r.full("x");
      expect_global(r["y"], x * 2.0 + 1.0, 1e-6, 1e-6, ctx);
      expect_global(r["ints"], (x * 10).to(at::kInt), 0, 0, ctx);
      EXPECT_EQ(r["y"].split(), split);
    }
  }
  // Row-wise: a per-row normalisation, and a feature map that widens the rows.
  for (const Shape& shape : std::vector<Shape>{{7, 3}, {2, 4}, {0, 2}}) {
    Ran r = run_pipeline(fmt::format(R"~(steps:
  - {{id: x, op: random.normal, shape: [{}], split: 0, seed: 2}}
  - id: unit
    op: map
    input: x
    fn: |
      def f(x: Tensor) -> Tensor:
          return x / (x * x).sum(1, keepdim=True).sqrt()
  - id: wide
    op: map
    input: x
    fn: |
      def f(x: Tensor) -> Tensor:
          return torch.cat([x, x * x, x.sum(1, keepdim=True)], 1)
)~",
                                     fmt::join(shape, ", ")));
    const at::Tensor x = r.full("x");
    expect_global(r["unit"], x / x.norm(2, {1}, true), 1e-6, 1e-6);
    expect_global(r["wide"], at::cat({x, x * x, x.sum(1, true)}, 1), 1e-6, 1e-6);
    EXPECT_EQ(r["wide"].gshape(), (Shape{shape[0], 2 * shape[1] + 1}));
  }
  // Split along axis 1: a column-wise function changes axis 0 and keeps axis 1.
  Ran r = run_pipeline(R"~(steps:
  - {id: x, op: random.uniform, shape: [4, 7], split: 1, seed: 9}
  - id: c
    op: map
    input: x
    fn: |
      def f(x: Tensor) -> Tensor:
          return torch.cat([x.amax(0, keepdim=True), x.amin(0, keepdim=True)], 0)
)~");
  const at::Tensor x = r.full("x");
  expect_global(r["c"], at::cat({x.amax(0, true), x.amin(0, true)}, 0));
}

TEST(Map, SeveralInputsArgsAndAlignment) {
  // X split 0, Y split 1 (resplit to 0, said in the plan), mu replicated; scalar args.
  Ran r = run_pipeline(R"~(steps:
  - {id: X, op: random.normal, shape: [9, 4], split: 0, seed: 1}
  - {id: Y, op: random.uniform, shape: [9, 4], split: 1, seed: 2}
  - {id: mu, op: reduce, input: X, fn: mean, axis: 0}
  - id: Z
    op: map
    inputs: [X, Y, mu]
    args: {scale: 0.5, power: 2, clip: true}
    fn: |
      def f(x: Tensor, y: Tensor, mu: Tensor, scale: float, power: int, clip: bool, offset: float = 1.0) -> Tensor:
          z = (x - mu) * y * scale + offset
          if clip:
              z = z.clamp(-1.0, 1.0)
          return z ** power
)~");
  const at::Tensor X = r.full("X"), Y = r.full("Y"), mu = r.full("mu");
  expect_global(r["Z"], (((X - mu) * Y * 0.5 + 1.0).clamp(-1.0, 1.0)).pow(2), 1e-5, 1e-5);
  const PlannedStep& z = r.plan->steps.back();
  EXPECT_NE(z.info.note.find("aligns Y: resplit 1 -> 0"), std::string::npos) << z.info.note;
  // A replicated first input: fn sees the whole array on every rank; split inputs join it.
  Ran q = run_pipeline(R"~(steps:
  - {id: A, op: random.uniform, shape: [5, 3], seed: 3}
  - {id: B, op: random.uniform, shape: [5, 3], split: 0, seed: 4}
  - {id: C, op: map, inputs: [A, B], fn: "def f(a: Tensor, b: Tensor) -> Tensor:\n  return a @ b.t()"}
)~");
  expect_global(q["C"], at::matmul(q.full("A"), q.full("B").t()), 1e-6, 1e-6);
  EXPECT_FALSE(q["C"].split().has_value());
}

TEST(Map, TupleResultsByIndexOrName) {
  Ran r = run_pipeline(R"~(steps:
  - {id: x, op: random.uniform, shape: [8, 3], split: 0, seed: 5}
  - id: t
    op: map
    input: x
    fn: |
      def f(x: Tensor) -> Tuple[Tensor, Tensor]:
          return x + 1.0, x.sum(1)
  - id: named
    op: map
    input: x
    outputs: [lo, hi]
    fn: |
      def helper(x: Tensor) -> Tensor:
          return x.floor()
      def f(x: Tensor) -> Tuple[Tensor, Tensor]:
          return helper(x * 4.0), (x * 4.0).ceil()
  - {id: u, op: add, inputs: [t.0, named.hi]}
)~");
  const at::Tensor x = r.full("x");
  expect_global(r["t.0"], x + 1.0, 1e-6, 1e-6);
  expect_global(r["t.1"], x.sum(1), 1e-6, 1e-6);
  expect_global(r["named.lo"], (x * 4.0).floor());
  expect_global(r["named.hi"], (x * 4.0).ceil());
  expect_global(r["u"], x + 1.0 + (x * 4.0).ceil(), 1e-6, 1e-6);
}

TEST(Map, MapReduceCombinesEveryRank) {
  // Including fewer rows than ranks (empty blocks contribute nothing) and NaN.
  for (int64_t n : {13, 2, 0}) {
    Ran r = run_pipeline(fmt::format(R"~(steps:
  - {{id: x, op: random.normal, shape: [{}, 3], split: 0, seed: 6}}
  - {{id: s, op: map, input: x, reduce: sum, fn: "def f(x: Tensor) -> Tensor:\n  return x.sum(0)"}}
  - {{id: m, op: map, input: x, reduce: mean, fn: "def f(x: Tensor) -> Tensor:\n  return x.mean(0)"}}
  - {{id: mx, op: map, input: x, reduce: max, fn: "def f(x: Tensor) -> Tensor:\n  return x.amax(0)"}}
  - {{id: mn, op: map, input: x, reduce: min, fn: "def f(x: Tensor) -> Tensor:\n  return x.amin(0)"}}
  - {{id: cnt, op: map, input: x, reduce: sum, fn: "def f(x: Tensor) -> Tensor:\n  return (x > 0).sum()"}}
  - {{id: gram, op: map, input: x, reduce: sum, fn: "def f(x: Tensor) -> Tensor:\n  return x.t() @ x"}}
)~",
                                     n));
    const at::Tensor x = r.full("x");
    expect_global(r["s"], x.sum(0), 1e-5, 1e-5);
    expect_global(r["m"], x.mean(0), 1e-5, 1e-5);
    if (n > 0) {
      expect_global(r["mx"], x.amax(0));
      expect_global(r["mn"], x.amin(0));
    } else {  // the identities: nothing to take the max of
      expect_global(r["mx"], at::full({3}, -INFINITY));
    }
    expect_global(r["cnt"], (x > 0).sum());
    expect_global(r["gram"], at::matmul(x.t(), x), 1e-5, 1e-5);
    EXPECT_FALSE(r["s"].split().has_value());
  }
  // NaN on one rank's block reaches every rank's max.
  Ran r = run_pipeline(R"~(steps:
  - {id: x, op: arange, stop: 12, split: 0, dtype: float32}
  - {id: l, op: log, input: x}
  - {id: y, op: subtract, inputs: [l, 2.0]}
  - {id: s, op: sqrt, input: y}
  - {id: mx, op: map, input: s, reduce: max, fn: "def f(x: Tensor) -> Tensor:\n  return x.amax(0, keepdim=True)"}
)~");
  EXPECT_TRUE(std::isnan(r.full("mx").item<float>()));
}

// fn with a stencil of h slices on each side: the sum over the 2h + 1 neighbours (zero on
// the extended block's first and last h slices, which dnd trims).
const char* kStencil = R"~(
    fn: |
      def f(x: Tensor, h: int) -> Tensor:
          n = x.size(0)
          y = torch.zeros_like(x)
          if n > 2 * h:
              for k in range(2 * h + 1):
                  y[h:n - h] += x[k:n - 2 * h + k]
          return y
)~";

// The same on the whole array, padded as numpy.pad does (reflect = numpy's symmetric).
at::Tensor stencil_ref(const at::Tensor& x, int64_t h, const std::string& boundary, double value) {
  const int64_t n = x.size(0);
  std::vector<at::Tensor> rows;
  const int64_t lo = boundary == "none" ? 0 : -h, hi = boundary == "none" ? n : n + h;
  for (int64_t g = lo; g < hi; ++g) {
    int64_t src = g;
    if (g < 0 || g >= n) {
      if (boundary == "constant") {
        rows.push_back(at::full_like(x.narrow(0, 0, 1), value));
        continue;
      }
      if (boundary == "wrap") src = ((g % n) + n) % n;
      if (boundary == "reflect") {
        const int64_t m = 2 * n, r = ((g % m) + m) % m;
        src = r < n ? r : m - 1 - r;
      }
    }
    rows.push_back(x.narrow(0, src, 1));
  }
  const at::Tensor p = at::cat(rows, 0);
  const int64_t m = p.size(0);
  at::Tensor y = at::zeros_like(p);
  for (int64_t k = 0; k < 2 * h + 1; ++k)
    if (m - 2 * h > 0) y.narrow(0, h, m - 2 * h) += p.narrow(0, k, m - 2 * h);
  return boundary == "none" ? y : y.narrow(0, h, n).contiguous();
}

TEST(Map, HalosInEveryBoundaryMode) {
  for (int64_t n : {10, 5, 3}) {
    for (int64_t h : {1, 3}) {
      for (const std::string b : {"none", "constant", "reflect", "wrap"}) {
        const std::string ctx = fmt::format("n {} halo {} boundary {}", n, h, b);
        Ran r = run_pipeline(fmt::format(R"~(steps:
  - {{id: x, op: random.uniform, shape: [{}, 2], split: 0, seed: 7, dtype: float64}}
  - id: y
    op: map
    input: x
    halo: {}
    boundary: {}
    value: 0.5
    args: {{h: {}}})~",
                                         n, h, b, h) +
                             kStencil);
        expect_global(r["y"], stencil_ref(r.full("x"), h, b, 0.5), 1e-12, 1e-12, ctx);
      }
    }
  }
  // The README's 3-point stencil (second difference) along split axis 1, reflect.
  Ran r = run_pipeline(R"~(steps:
  - {id: u, op: random.uniform, shape: [3, 11], split: 1, seed: 8}
  - id: lap
    op: map
    input: u
    halo: 1
    boundary: reflect
    fn: |
      def f(u: Tensor) -> Tensor:
          d = torch.zeros_like(u)
          d[:, 1:-1] = u[:, :-2] - 2.0 * u[:, 1:-1] + u[:, 2:]
          return d
)~");
  const at::Tensor u = r.full("u");
  const at::Tensor p = at::cat({u.narrow(1, 0, 1), u, u.narrow(1, 10, 1)}, 1);
  const at::Tensor want = p.narrow(1, 0, 11) - 2.0 * p.narrow(1, 1, 11) + p.narrow(1, 2, 11);
  expect_global(r["lap"], want, 1e-5, 1e-5);
}

TEST(Map, ConvolveAndMovingOps) {
  Ran r = run_pipeline(R"~(steps:
  - {id: x, op: random.uniform, shape: [10, 2], split: 0, seed: 3, dtype: float64}
  - {id: full, op: convolve, input: x, weights: [1, 2, 3, 4]}
  - {id: same, op: convolve, input: x, weights: [0.25, 0.5, 0.25], mode: same}
  - {id: valid, op: convolve, input: x, weights: [1, -1], mode: valid}
  - {id: cols, op: convolve, input: x, weights: [1, 1], axis: 1}
  - {id: mean3, op: moving, input: x, window: 3}
  - {id: max4, op: moving, input: x, window: 4, fn: max}
)~");
  const at::Tensor x = r.full("x");
  auto conv = [&](const std::vector<double>& v) {  // full, by definition
    at::Tensor out = at::zeros({10 + static_cast<int64_t>(v.size()) - 1, 2}, at::kDouble);
    for (int64_t i = 0; i < out.size(0); ++i)
      for (size_t j = 0; j < v.size(); ++j)
        if (i - static_cast<int64_t>(j) >= 0 && i - static_cast<int64_t>(j) < 10)
          out[i] += x[i - static_cast<int64_t>(j)] * v[j];
    return out;
  };
  expect_global(r["full"], conv({1, 2, 3, 4}), 1e-12, 1e-12);
  expect_global(r["same"], conv({0.25, 0.5, 0.25}).narrow(0, 1, 10), 1e-12, 1e-12);
  expect_global(r["valid"], conv({1, -1}).narrow(0, 1, 9), 1e-12, 1e-12);
  expect_global(r["cols"], at::cat({x.narrow(1, 0, 1), x.sum(1, true), x.narrow(1, 1, 1)}, 1), 1e-12,
                1e-12);
  expect_global(r["mean3"], x.unfold(0, 3, 1).mean(-1), 1e-12, 1e-12);
  expect_global(r["max4"], x.unfold(0, 4, 1).amax(-1));
}

TEST(Map, PlanErrorsArePositionedInsideTheBlock) {
  // Line 1 is "version: 1"; the fn text starts on line 8, indented by 6.
  const std::string head = R"~(steps:
  - {id: x, op: random.uniform, shape: [8, 3], split: 0}
  - id: y
    op: map
    input: x
    fn: |
)~";
  // A syntax error at the end of line 9.
  PipelineError e = plan_error(head + "      def f(x: Tensor) -> Tensor:\n          return x * 2.0 +\n");
  EXPECT_EQ(e.mark().line, 9) << e.what();
  EXPECT_EQ(e.mark().col, 27) << e.what();
  EXPECT_NE(e.message().find("fn does not compile: expected"), std::string::npos) << e.what();
  // An undefined name: its column.
  e = plan_error(
      head +
      "      def f(x: Tensor) -> Tensor:\n          y = x + 1\n          return y * undefined_thing\n");
  EXPECT_EQ(e.mark().line, 10) << e.what();
  EXPECT_EQ(e.mark().col, 22) << e.what();
  EXPECT_NE(e.message().find("undefined value undefined_thing"), std::string::npos) << e.what();
  // An empty subscript (torch 1.13's compiler crashes on it): refused with its position.
  e = plan_error(head + "      def f(x: Tensor) -> Tensor:\n          y = x\n          return y[]\n");
  EXPECT_EQ(e.mark().line, 10) << e.what();
  EXPECT_EQ(e.mark().col, 18) << e.what();
  EXPECT_NE(e.message().find("fn does not compile: an empty subscript []"), std::string::npos)
      << e.what();
  e = plan_error(head + "      def f(x: Tensor) -> Tensor:\n          x[] = x\n          return x\n");
  EXPECT_EQ(e.mark().line, 9) << e.what();
  // An empty list is no subscript.
  EXPECT_NO_THROW(
      make_plan(parse_document("version: 1\n" + head +
                                   "      def f(x: Tensor) -> Tensor:\n          l: List[int] = "
                                   "[]\n          return x\n",
                               "test.yaml"),
                3));
  // A type error.
  e = plan_error(head + "      def f(x: Tensor) -> Tensor:\n          return x.sum(0) + 'a'\n");
  EXPECT_EQ(e.mark().line, 9) << e.what();
  // A one-line fn in quotes: columns count from the opening quote.
  e = plan_error(R"~(steps:
  - {id: x, op: random.uniform, shape: [8, 3], split: 0}
  - {id: y, op: map, input: x, fn: "def f(x: Tensor) -> Tensor: return x +* 2"}
)~");
  EXPECT_EQ(e.mark().line, 4) << e.what();
  // Quoted with \n: every line of the source is on the file's line 4.
  e = plan_error(R"~(steps:
  - {id: x, op: random.uniform, shape: [8, 3], split: 0}
  - {id: y, op: map, input: x, fn: "def f(x: Tensor) -> Tensor:\n  y = x\n  return y + nope"}
)~");
  EXPECT_EQ(e.mark().line, 4) << e.what();
  EXPECT_NE(e.message().find("undefined value nope"), std::string::npos) << e.what();
  // The contract: a reduction over the split axis without reduce.
  e = plan_error(head + "      def f(x: Tensor) -> Tensor:\n          return x.sum(0)\n");
  EXPECT_NE(e.message().find("breaks the map contract"), std::string::npos) << e.what();
  EXPECT_NE(e.message().find("declare reduce"), std::string::npos) << e.what();
  EXPECT_EQ(e.mark().line, 7);
  // A per-rank result whose shape depends on the block cannot be reduced.
  e = plan_error(head +
                 "      def f(x: Tensor) -> Tensor:\n          return x * 2.0\n    reduce: sum\n");
  EXPECT_NE(e.message().find("must have the same shape on every rank"), std::string::npos) << e.what();
  // Signature: not a tensor result, too few parameters, unknown and missing args.
  e = plan_error(head + "      def f(x: Tensor) -> int:\n          return 3\n");
  EXPECT_NE(e.message().find("must return a Tensor or a tuple of Tensors"), std::string::npos)
      << e.what();
  e = plan_error(head + "      def f(x: Tensor, a: float) -> Tensor:\n          return x * a\n");
  EXPECT_NE(e.message().find("parameter 'a' (float) has no default"), std::string::npos) << e.what();
  e = plan_error(head +
                 "      def f(x: Tensor, alpha: float) -> Tensor:\n          return x * alpha\n    "
                 "args: {alpa: 2}\n");
  EXPECT_NE(e.message().find("fn has no parameter 'alpa' for args, did you mean 'alpha'?"),
            std::string::npos)
      << e.what();
  EXPECT_EQ(e.mark().line, 10);
  e = plan_error(
      head + "      def f(x: Tensor, n: int) -> Tensor:\n          return x * n\n    args: {n: 2.5}\n");
  EXPECT_NE(e.message().find("'n' is an int parameter"), std::string::npos) << e.what();
  // Halo and reduce need a split first input; outputs must name every result.
  e = plan_error(R"~(steps:
  - {id: x, op: random.uniform, shape: [8, 3]}
  - {id: y, op: map, input: x, halo: 1, fn: "def f(x: Tensor) -> Tensor:\n  return x"}
)~");
  EXPECT_NE(e.message().find("a halo needs a split first input"), std::string::npos) << e.what();
  e = plan_error(R"~(steps:
  - {id: x, op: random.uniform, shape: [8, 3], split: 0}
  - {id: y, op: map, input: x, outputs: [a], fn: "def f(x: Tensor) -> Tuple[Tensor, Tensor]:\n  return x, x"}
)~");
  EXPECT_NE(e.message().find("outputs names 1 result, but fn returns 2"), std::string::npos) << e.what();
  // A tuple's results must be named with an index.
  e = plan_error(R"~(steps:
  - {id: x, op: random.uniform, shape: [8, 3], split: 0}
  - {id: y, op: map, input: x, fn: "def f(x: Tensor) -> Tuple[Tensor, Tensor]:\n  return x, x"}
  - {id: z, op: negative, input: y}
)~");
  EXPECT_NE(e.message().find("name one: y.0, y.1"), std::string::npos) << e.what();
}

TEST(Map, RunTimeErrorsNameTheSourceLine) {
  // Data-dependent, so the planner's probe of ones passes; every rank's block fails.
  try {
    run_pipeline(R"~(steps:
  - {id: x, op: random.uniform, shape: [8, 2], split: 0, low: -2, high: -1}
  - id: y
    op: map
    input: x
    fn: |
      def f(x: Tensor) -> Tensor:
          assert bool((x >= 0).all()), "negative input"
          return x
)~");
    FAIL() << "no error";
  } catch (const std::exception& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("step 'y' (map, test.yaml:4)"), std::string::npos) << w;
    EXPECT_NE(w.find("fn failed at test.yaml:9 (assert bool((x >= 0).all()), \"negative input\")"),
              std::string::npos)
        << w;
    EXPECT_NE(w.find("negative input"), std::string::npos) << w;
  }
  // A declared out_shape that fn does not keep: a run-time contract error, never a wrong result.
  try {
    run_pipeline(R"~(steps:
  - {id: x, op: random.uniform, shape: [8, 2], split: 0}
  - {id: y, op: map, input: x, out_shape: [8, 3], fn: "def f(x: Tensor) -> Tensor:\n  return x"}
)~");
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("fn broke the map contract on rank"), std::string::npos)
        << e.what();
  }
}

}  // namespace
