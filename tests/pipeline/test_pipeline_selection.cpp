// The selection ops (filter, nonzero, where with one input, unique, topk, take) through the
// planner and executor at any rank count, against torch on the whole array, and the plan's
// run-time extents: a result whose extent is in the data is planned at its bound ("<="),
// later steps inherit the bound, the executor re-infers them from the actual shapes, and a
// shape mismatch that only the data reveals is a clear error on every rank.
#include "src/pipeline/extents.h"
#include "tests/pipeline/run_pipeline.h"

#include "src/core/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

using namespace dnd;
using namespace dnd::testing;
using namespace dnd::pipeline;

namespace {

const PlannedStep& step_of(const Plan& plan, const std::string& id) {
  for (const PlannedStep& ps : plan.steps)
    if (ps.step->id == id) return ps;
  throw std::runtime_error("no step " + id);
}

std::string split_text(Split s) { return s ? std::to_string(*s) : "none"; }

// X: 13 x 4 arange-like floats with NaN in column 2; the mask keeps rows whose column 0
// is above a threshold (none, some, all).
std::string table(Split split, double threshold) {
  return fmt::format(R"(steps:
  - {{id: A, op: arange, start: 0, stop: 52, dtype: float32}}
  - {{id: B, op: reshape, input: A, shape: [13, 4], split: {}}}
  - {{id: N, op: full, shape: [13, 4], value: .nan, split: {}}}
  - {{id: C, op: arange, start: 0, stop: 4, dtype: int64}}
  - {{id: K, op: equal, inputs: [C, 2]}}
  - {{id: W, op: where, inputs: [K, N, B]}}
  - {{id: X, op: remainder, inputs: [W, 7]}}
  - {{id: c0, op: slice, input: X, index: ":, 0"}}
  - {{id: m, op: greater, inputs: [c0, {}]}}
)",
                     split_text(split), split_text(split), threshold);
}

at::Tensor torch_table() {
  at::Tensor b = at::arange(52, at::kFloat).reshape({13, 4});
  b.select(1, 2).fill_(std::numeric_limits<float>::quiet_NaN());
  return at::remainder(b, 7);
}

TEST(Selection, FilterFeedsLaterStepsAtTheirRunTimeExtents) {
  const at::Tensor x = torch_table();
  for (Split split : {kReplicated, Split(0), Split(1)})
    for (double threshold : {-1.0, 3.0, 100.0}) {
      const at::Tensor m = x.select(1, 0).gt(threshold);
      const at::Tensor kept = x.index_select(0, at::nonzero(m).reshape({-1}));
      const std::string yaml = table(split, threshold) + R"(  - {id: F, op: filter, inputs: [X, m]}
  - {id: Fb, op: filter, inputs: [X, m], balance: true}
  - {id: S, op: reduce, input: F, fn: nansum, axis: 0}
  - {id: D, op: multiply, inputs: [F, 2]}
  - {id: T, op: transpose, input: D}
  - {id: Z, op: nonzero, input: m}
  - {id: Wh, op: where, input: m}
  - {id: U, op: unique, input: F, return_counts: true}
  - {id: Q, op: topk, input: X, k: 3, axis: 0}
  - {id: I, op: take, inputs: [X, Z], axis: 0}
)";
      const std::string where = fmt::format("split {} threshold {}", split_text(split), threshold);
      const Ran r = run_pipeline(yaml);
      expect_global(r["F"], kept, 0, 0, where + " F");
      expect_global(r["Fb"], kept, 0, 0, where + " Fb");
      if (split == Split(0)) EXPECT_TRUE(r["Fb"].is_balanced()) << where;
      expect_global(r["S"], at::nansum(kept, 0), 1e-6, 1e-6, where + " S");
      expect_global(r["T"], (kept * 2).t().contiguous(), 0, 0, where + " T");
      expect_global(r["Z"], at::nonzero(m), 0, 0, where + " Z");
      expect_global(r["Wh"], at::nonzero(m), 0, 0, where + " Wh");
      expect_global(r["I"], x.index_select(0, at::nonzero(m).reshape({-1})).unsqueeze(1), 0, 0,
                    where + " I");
      const at::Tensor q = std::get<0>(at::topk(x, 3, 0, true, true));
      expect_global(r["Q.values"], q, 0, 0, where + " Q");
      // The plan: F's rows and what depends on them are bounds; S is exact.
      const Plan& plan = *r.plan;
      EXPECT_EQ(step_of(plan, "F").at_most, std::vector<uint64_t>{1}) << where;
      EXPECT_EQ(step_of(plan, "D").at_most, std::vector<uint64_t>{1}) << where;
      EXPECT_EQ(step_of(plan, "T").at_most, std::vector<uint64_t>{2}) << where;
      EXPECT_EQ(step_of(plan, "S").at_most, std::vector<uint64_t>{0}) << where;
      EXPECT_EQ(step_of(plan, "I").at_most, std::vector<uint64_t>{1}) << where;
      EXPECT_EQ(step_of(plan, "U").at_most, (std::vector<uint64_t>{1, 1})) << where;
      EXPECT_EQ(step_of(plan, "Q").at_most, (std::vector<uint64_t>{0, 0})) << where;
      EXPECT_NE(plan_table(plan).find("(<=13, 4) float32"), std::string::npos) << plan_table(plan);
      EXPECT_NE(plan_json(plan).find("\"at_most_axes\""), std::string::npos);
      // Unique of the kept values (NaN once).
      const at::Tensor flat = kept.reshape({-1});
      const at::Tensor nums = flat.masked_select(flat.isnan().logical_not());
      at::Tensor u = std::get<0>(at::_unique2(nums, true, false, false));
      if (flat.isnan().any().item<bool>()) u = at::cat({u, at::full({1}, NAN, at::kFloat)});
      expect_global(r["U.values"], u, 0, 0, where + " U");
      EXPECT_EQ(allgather(r["U.counts"]).sum().item<int64_t>(), flat.numel()) << where;
    }
}

TEST(Selection, UniqueWithoutExtraResultsIsNamedByItsId) {
  const Ran r = run_pipeline(R"(steps:
  - {id: A, op: array, values: [3, 1, 3, 2, 1, 3], split: 0}
  - {id: U, op: unique, input: A}
)");
  expect_global(r["U"], at::tensor({1, 2, 3}, at::kLong), 0, 0, "unique");
}

TEST(Selection, AMismatchOnlyTheDataRevealsIsAnErrorNamingTheStep) {
  // Planned at the bound (13 rows each) the sum is fine; at run time 7 rows meet 13.
  const std::string yaml = table(Split(0), 3.0) + R"(  - {id: F, op: filter, inputs: [X, m]}
  - {id: G, op: add, inputs: [F, X]}
)";
  try {
    run_pipeline(yaml);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("step 'G'"), std::string::npos) << e.what();
  }
}

TEST(Selection, BadInputIsAPlanError) {
  EXPECT_THROW(run_pipeline(table(Split(0), 3.0) + "  - {id: F, op: filter, inputs: [X, c0]}\n"),
               PipelineError);
  EXPECT_THROW(run_pipeline(table(Split(0), 3.0) + "  - {id: F, op: filter, inputs: [X, m], axis: 1}\n"),
               PipelineError);
  EXPECT_THROW(run_pipeline(table(Split(0), 3.0) + "  - {id: F, op: topk, input: X, k: 14, axis: 0}\n"),
               PipelineError);
  EXPECT_THROW(run_pipeline(table(Split(0), 3.0) + "  - {id: F, op: take, inputs: [X, c0]}\n"),
               PipelineError);
  EXPECT_THROW(run_pipeline(table(Split(0), 3.0) + "  - {id: F, op: where, inputs: [m, X]}\n"),
               PipelineError);
}

}  // namespace

namespace {

TEST(Selection, StandardizeNanPolicy) {
  const at::Tensor x = torch_table();  // column 2 is NaN everywhere: put NaN in a few rows only
  for (Split split : {kReplicated, Split(0), Split(1)}) {
    const std::string steps = fmt::format(R"(steps:
  - {{id: A, op: arange, start: 0, stop: 52, dtype: float64}}
  - {{id: B, op: reshape, input: A, shape: [13, 4], split: {}}}
  - {{id: Q, op: remainder, inputs: [B, 5]}}
  - {{id: m, op: equal, inputs: [Q, 3]}}
  - {{id: X, op: where, inputs: [m, nan, B]}}
)",
                                          split_text(split));
    const std::string where = "split " + split_text(split);
    try {
      run_pipeline(steps + "  - {id: Z, op: standardize, input: X}\n");
      ADD_FAILURE() << "NaN did not raise " << where;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("nan_policy: omit"), std::string::npos) << e.what();
    }
    const Ran r = run_pipeline(steps + "  - {id: Z, op: standardize, input: X, nan_policy: omit}\n");
    at::Tensor b = at::arange(52, at::kDouble).reshape({13, 4});
    b = at::where(at::remainder(b, 5).eq(3), at::full({}, NAN, at::kDouble), b);
    const at::Tensor ok = b.isnan().any(1).logical_not();
    const at::Tensor kept = b.index_select(0, at::nonzero(ok).reshape({-1}));
    const at::Tensor mean = kept.mean(0), sd = (kept - mean).square().mean(0).sqrt();
    expect_global(r["Z.X"], (b - mean) / sd, 1e-12, 1e-12, where);
    expect_global(r["Z.mean"], mean, 1e-12, 1e-12, where);
    expect_global(r["Z.scale"], sd, 1e-12, 1e-12, where);
  }
}

}  // namespace
