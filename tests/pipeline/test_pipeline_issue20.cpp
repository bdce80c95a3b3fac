// The cumulative, sorting and creation ops (cumsum, cumprod, diff, sort, argsort, array,
// zeros_like, ones_like, full_like, empty_like, logspace, meshgrid) end to end through
// the planner and executor, at any rank count, against torch on the whole array: every
// split, tiny and empty shapes (more ranks than rows), NaN and inf, several dtypes.
#include "tests/pipeline/run_pipeline.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

using namespace dnd;
using namespace dnd::testing;
using namespace dnd::pipeline;

namespace {

std::string split_text(Split s) { return s ? std::to_string(*s) : "none"; }

// A tensor as YAML nested lists (nan and inf as YAML writes them).
std::string literal(const at::Tensor& t) {
  if (t.dim() == 0) {
    if (t.scalar_type() == at::kBool) return t.item<bool>() ? "true" : "false";
    if (at::isFloatingType(t.scalar_type())) {
      const double v = t.item<double>();
      if (std::isnan(v)) return ".nan";
      if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
      return fmt::format("{}", v);
    }
    return std::to_string(t.item<int64_t>());
  }
  std::vector<std::string> parts;
  for (int64_t i = 0; i < t.size(0); ++i) parts.push_back(literal(t[i]));
  return fmt::format("[{}]", fmt::join(parts, ", "));
}

at::Tensor values(const Shape& shape, at::ScalarType dt) {
  const int64_t n = shape_numel(shape);
  at::Tensor base = ((at::arange(n, at::kLong) * 7 + 3) % 11 - 5).reshape(shape);  // -5..5, repeats
  if (dt == at::kBool) return base > 0;
  if (dt == at::kByte) return (base + 5).to(dt);
  if (!at::isFloatingType(dt)) return base.to(dt);
  at::Tensor f = base.to(at::kDouble) / 2;
  if (n > 0) {
    const at::Tensor pos = at::arange(n, at::kLong).reshape(shape);
    f = f.masked_fill(pos % 7 == 3, std::numeric_limits<double>::quiet_NaN());
    f = f.masked_fill(pos % 9 == 5, -std::numeric_limits<double>::infinity());
  }
  return f.to(dt);
}

at::ScalarType scan_dtype(at::ScalarType t) { return at::isIntegralType(t, true) ? at::kLong : t; }

at::Tensor torch_diff(const at::Tensor& t, int64_t axis, std::optional<int64_t> pre) {
  at::ScalarType dt = t.scalar_type();
  at::Tensor x = t;
  if (pre) {
    dt = at::result_type(at::empty({0}, at::dtype(dt)), c10::Scalar(*pre));
    Shape one = t.sizes().vec();
    one[static_cast<size_t>(axis)] = 1;
    x = at::cat({at::full(one, *pre, at::dtype(dt)), t.to(dt)}, axis);
  }
  if (x.size(axis) == 0) return x;
  return at::diff(x, 1, axis);
}

TEST(Issue20Ops, CumulativeAndSortingMatchTorch) {
  const std::vector<Shape> shapes{{7, 5}, {3, 2}, {1, 4}, {0, 3}, {5, 0}, {9}, {2}};
  for (const Shape& shape : shapes)
    for (const char* dtn : {"float32", "float64", "int32", "int64", "bool", "uint8"}) {
      const at::ScalarType dt = parse_dtype(dtn);
      const at::Tensor t = values(shape, dt);
      const int64_t nd = static_cast<int64_t>(shape.size());
      for (Split split : all_splits(nd))
        for (int64_t ax = 0; ax < nd; ++ax) {
          const std::string source =
              shape_numel(shape) > 0
                  ? fmt::format("{{id: X, op: array, values: {}, dtype: {}, split: {}}}", literal(t),
                                dtn, split_text(split))
                  : fmt::format("{{id: X, op: zeros, shape: [{}], dtype: {}, split: {}}}",
                                fmt::join(shape, ", "), dtn, split_text(split));
          const std::string ctx = fmt::format("shape ({}) {} split {} axis {}", fmt::join(shape, ", "),
                                              dtn, split_text(split), ax);
          SCOPED_TRACE(ctx);
          Ran r = run_pipeline(fmt::format(R"(steps:
  - {0}
  - {{id: cs, op: cumsum, input: X, axis: {1}}}
  - {{id: cp, op: cumprod, input: X}}
  - {{id: cf, op: cumsum, input: X, dtype: float64}}
  - {{id: df, op: diff, input: X, axis: {1}}}
  - {{id: dp, op: diff, input: X, axis: {1}, prepend: 1}}
  - {{id: so, op: sort, input: X, axis: {1}}}
  - {{id: sd, op: sort, input: X, axis: {1}, descending: true}}
  - {{id: as, op: argsort, input: X, axis: {1}}}
  - {{id: ad, op: argsort, input: X, axis: {1}, descending: true}}
)",
                                           source, ax));
          const double tol = dt == at::kFloat ? 1e-5 : 1e-12;
          EXPECT_EQ(r["cs"].split(), split);
          expect_global(r["cs"], at::cumsum(t, ax, scan_dtype(dt)), tol, tol, "cumsum");
          expect_global(r["cp"], at::cumprod(t.reshape({-1}), 0, scan_dtype(dt)), tol, tol, "cumprod");
          expect_global(r["cf"], at::cumsum(t.reshape({-1}), 0, at::kDouble), 1e-12, 1e-12,
                        "cumsum f64");
          expect_global(r["df"], torch_diff(t, ax, std::nullopt), 0, 0, "diff");
          expect_global(r["dp"], torch_diff(t, ax, 1), 0, 0, "diff prepend");
          auto [sv, si] = at::sort(t, /*stable=*/true, ax, false);
          auto [dv, di] = at::sort(t, /*stable=*/true, ax, true);
          expect_global(r["so"], sv, 0, 0, "sort");
          expect_global(r["sd"], dv, 0, 0, "sort descending");
          expect_global(r["as"], si, 0, 0, "argsort");
          expect_global(r["ad"], di, 0, 0, "argsort descending");
        }
    }
}

TEST(Issue20Ops, CreationMatchesNumpy) {
  for (Split split : all_splits(2)) {
    const std::string sp = split_text(split);
    Ran r = run_pipeline(fmt::format(R"(steps:
  - {{id: A, op: array, values: [[1, 2, 3], [4, 5, 6]], split: {0}}}
  - {{id: F, op: array, values: [[1, 2.5], [.nan, -.inf], [0, 1]], split: {0}, dtype: float64}}
  - {{id: B, op: array, values: [true, false, true]}}
  - {{id: S, op: array, values: 4.5}}
  - {{id: E, op: array, values: [], split: {1}}}
  - {{id: zl, op: zeros_like, input: A}}
  - {{id: ol, op: ones_like, input: F, dtype: int32}}
  - {{id: fl, op: full_like, input: A, value: 2.7}}
  - {{id: fb, op: full_like, input: F, value: 7, dtype: float32}}
  - {{id: el, op: empty_like, input: F}}
)",
                                     sp, split && *split == 1 ? "0" : sp));
    const double nan = std::numeric_limits<double>::quiet_NaN(),
                 inf = std::numeric_limits<double>::infinity();
    expect_global(r["A"], at::arange(1, 7, at::kLong).reshape({2, 3}));
    expect_global(r["F"],
                  at::tensor(std::vector<double>{1, 2.5, nan, -inf, 0, 1}, at::kDouble).reshape({3, 2}));
    expect_global(r["B"], at::tensor(std::vector<int64_t>{1, 0, 1}, at::kLong).to(at::kBool));
    expect_global(r["S"], at::full({}, 4.5, at::kFloat));
    expect_global(r["E"], at::empty({0}, at::kFloat));
    EXPECT_EQ(r["A"].split(), split);
    expect_global(r["zl"], at::zeros({2, 3}, at::kLong));
    expect_global(r["ol"], at::ones({3, 2}, at::kInt));
    expect_global(r["fl"], at::full({2, 3}, 2, at::kLong));  // numpy.full_like keeps the dtype
    expect_global(r["fb"], at::full({3, 2}, 7, at::kFloat));
    EXPECT_EQ(r["el"].gshape(), (Shape{3, 2}));
    EXPECT_EQ(r["el"].split(), split);
    EXPECT_EQ(r["el"].dtype(), at::kDouble);
  }
  // logspace: base ** linspace, endpoint or not; split none and 0; empty and 1 value.
  for (const char* sp : {"none", "0"})
    for (int64_t num : {0, 1, 2, 7}) {
      Ran r = run_pipeline(fmt::format(R"(steps:
  - {{id: L, op: logspace, start: -1, stop: 2, num: {0}, split: {1}}}
  - {{id: M, op: logspace, start: 0, stop: 3, num: {0}, base: 2, endpoint: false, dtype: float64, split: {1}}}
)",
                                       num, sp));
      const at::Tensor l = at::pow(10.0, at::linspace(-1, 2, num, at::kDouble));
      const at::Tensor m = at::pow(
          2.0, num == 0 ? at::empty({0}, at::kDouble) : at::arange(num, at::kDouble) * (3.0 / num));
      expect_global(r["L"], l.to(at::kFloat), 1e-6, 0, fmt::format("logspace num={} split {}", num, sp));
      expect_global(r["M"], m, 1e-14, 0,
                    fmt::format("logspace endpoint false num={} split {}", num, sp));
    }
  // meshgrid: xy and ij, inputs split or not, grids split along each axis.
  for (const char* in_split : {"none", "0"})
    for (const char* out_split : {"none", "0", "1", "2"})
      for (const char* indexing : {"xy", "ij"}) {
        Ran r = run_pipeline(fmt::format(R"(steps:
  - {{id: x, op: arange, stop: 4, split: {0}}}
  - {{id: y, op: linspace, start: 0, stop: 1, num: 3, split: {0}}}
  - {{id: z, op: array, values: [true, false]}}
  - {{id: G, op: meshgrid, inputs: [x, y, z], indexing: {2}, split: {1}}}
  - {{id: H, op: meshgrid, inputs: [x, y], indexing: {2}}}
)",
                                         in_split, out_split, indexing));
        const at::Tensor x = at::arange(4, at::kLong), y = at::linspace(0, 1, 3, at::kFloat),
                         z = at::tensor(std::vector<int64_t>{1, 0}, at::kLong).to(at::kBool);
        // numpy keeps each input's dtype; torch.meshgrid wants one dtype.
        std::vector<at::Tensor> g =
            at::meshgrid({x.to(at::kDouble), y.to(at::kDouble), z.to(at::kDouble)}, indexing);
        std::vector<at::Tensor> h = at::meshgrid({x.to(at::kDouble), y.to(at::kDouble)}, indexing);
        g = {g[0].to(at::kLong), g[1].to(at::kFloat), g[2].to(at::kBool)};
        h = {h[0].to(at::kLong), h[1].to(at::kFloat)};
        const std::string ctx =
            fmt::format("meshgrid {} inputs {} grids {}", indexing, in_split, out_split);
        for (int k = 0; k < 3; ++k)
          expect_global(r[fmt::format("G.{}", k)], g[k].contiguous(), 0, 0, ctx);
        for (int k = 0; k < 2; ++k) {
          expect_global(r[fmt::format("H.{}", k)], h[k].contiguous(), 0, 0, ctx);
          EXPECT_EQ(r[fmt::format("H.{}", k)].split(),
                    std::string(in_split) == "0" ? Split(0) : kReplicated);
        }
      }
}

TEST(Issue20Ops, BadStepsAreRefusedAtPlanTime) {
  const auto refused = [](const std::string& step, const std::string& text) {
    try {
      run_pipeline("steps:\n  - {id: X, op: random.uniform, shape: [4, 3], split: 0}\n  - " + step +
                   "\n");
      ADD_FAILURE() << step << ": accepted";
    } catch (const PipelineError& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  refused("{id: Y, op: array, values: [[1, 2], [3]]}", "rectangular");
  refused("{id: Y, op: array, values: [1, [2]]}", "rectangular");
  refused("{id: Y, op: array, values: [a, b]}", "numbers or bools");
  refused("{id: Y, op: cumsum, input: X, axis: 2}", "axis 2");
  refused("{id: Y, op: diff, input: X, n: -1}", "non-negative");
  refused("{id: C, op: astype, input: X, dtype: complex64}\n  - {id: Y, op: sort, input: C}",
          "no order");
  refused("{id: Y, op: logspace, start: 0, stop: 1, dtype: bool}", "real number type");
  refused("{id: Y, op: meshgrid, inputs: [X]}\n  - {id: Z, op: add, inputs: [Y, 1]}", "several results");
}

}  // namespace
