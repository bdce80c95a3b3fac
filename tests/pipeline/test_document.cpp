// Parsing, validation and planning of pipeline files, in one process and without data:
// every message and position is pinned, as users see them.
#include "src/pipeline/plan.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

using namespace dnd::pipeline;

namespace {

Plan plan_of(const std::string& text, int nranks = 1, const std::vector<std::string>& sets = {}) {
  return make_plan(parse_document(text, "p.yaml", sets), nranks);  // the plan keeps its document
}

// Ops of this test alone whose rules fail in each way a rule can: a user's mistake, a
// broken invariant (a dnd bug), and torch rejecting what the rule should have checked.
OpDef failing_op(const char* name, std::function<void()> fail) {
  OpDef d;
  d.name = name;
  d.summary = "test only";
  d.min_inputs = d.max_inputs = 0;
  d.infer = [fail](const InferContext&) -> InferResult {
    fail();
    return {};
  };
  d.run = [](RunContext&) { return std::vector<dnd::DNDarray>{}; };
  return d;
}
DND_REGISTER_OP(failing_op("test.value_error", [] { DND_CHECK_VALUE(false, "k = {} is too large", 3); }));
DND_REGISTER_OP(failing_op("test.internal_error", [] {
  const int planned = 2, got = 3;
  DND_ASSERT(got == planned, got, planned);
}));
DND_REGISTER_OP(failing_op("test.torch_error", [] { at::empty({2}).view({3}); }));

// The first line of the error for `text`, "" if it is valid.
std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    plan_of(text, 2, sets);
  } catch (const PipelineError& e) {
    const std::string w = e.what();
    return w.substr(0, w.find('\n'));
  }
  return "";
}

TEST(Document, Expressions) {
  const std::vector<std::pair<std::string, YAML::Node>> params{{"n", YAML::Node("10")}, {"x", YAML::Node("0.5")}};
  EXPECT_EQ(evaluate_expression("n * 2 + 1", params).Scalar(), "21");
  EXPECT_EQ(evaluate_expression("n / 4", params).Scalar(), "2.5");
  EXPECT_EQ(evaluate_expression("n // 4", params).Scalar(), "2");
  EXPECT_EQ(evaluate_expression("-7 // 2", params).Scalar(), "-4");
  EXPECT_EQ(evaluate_expression("-7 % 3", params).Scalar(), "2");
  EXPECT_EQ(evaluate_expression("2 ** 3 ** 2", params).Scalar(), "512");
  EXPECT_EQ(evaluate_expression("(n - 2) * x", params).Scalar(), "4.0");
  EXPECT_THROW(evaluate_expression("n +", params), std::invalid_argument);
  EXPECT_THROW(evaluate_expression("m * 2", params), std::invalid_argument);
  EXPECT_THROW(evaluate_expression("n / 0", params), std::invalid_argument);
}

TEST(Document, ParamsAndSets) {
  const Plan p = plan_of(R"(version: 1
params: {n: 10, rows: "${n * 3}"}
steps:
  - {id: a, op: zeros, shape: ["${rows}", "${n}"], split: 0}
  - id: b
    op: ones
    shape: [${n}, 2]
)",
                         4, {"n=4"});
  EXPECT_EQ(p.steps[0].info.outputs[0].shape, (dnd::Shape{12, 4}));
  EXPECT_EQ(p.steps[1].info.outputs[0].shape, (dnd::Shape{4, 2}));
}

TEST(Document, PlanInfersAndAccountsMemory) {
  const Plan p = plan_of(R"(steps:
  - {id: X, op: random.normal, shape: [1000, 10], split: 0}
  - {id: Y, op: resplit, input: X, axis: 1}
  - {id: s, op: reduce, input: Y, fn: sum, axis: 0}
  - {op: print, input: s}
)",
                         4);
  ASSERT_EQ(p.steps.size(), 4u);
  EXPECT_EQ(p.steps[0].out_bytes, 250 * 10 * 4);
  EXPECT_EQ(p.steps[1].info.outputs[0].split, dnd::Split(1));
  EXPECT_EQ(p.steps[1].out_bytes, 1000 * 3 * 4);                       // ceil(10/4) columns
  EXPECT_EQ(p.steps[1].info.comm_bytes, 250 * 10 * 4 * 3 / 4);          // all but its own share
  EXPECT_EQ(p.steps[2].info.outputs[0].shape, (dnd::Shape{10}));
  EXPECT_EQ(p.steps[2].info.outputs[0].split, dnd::Split(0));          // axis 1 became axis 0
  // X is freed after Y is made: the peak is X and Y together.
  EXPECT_EQ(p.peak_bytes, 250 * 10 * 4 + 1000 * 3 * 4);
  EXPECT_EQ(p.peak_step, "Y");
  EXPECT_NE(plan_json(p).find("\"peak_bytes_per_rank\": 22000"), std::string::npos) << plan_json(p);
  EXPECT_NE(plan_table(p).find("resplit"), std::string::npos);
}

TEST(Document, OrderFollowsDependencies) {
  const Plan p = plan_of(R"(steps:
  - {id: b, op: negative, input: a}
  - {id: a, op: zeros, shape: 3}
)");
  EXPECT_EQ(p.steps[0].step->id, "a");
  EXPECT_EQ(p.steps[1].step->id, "b");
}

TEST(Document, Errors) {
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: [2, 3]\n"),
            "p.yaml:3:1: error: end of map flow not found");
  EXPECT_EQ(error_of("steps:\n  - id: a\n    op: zeross\n    shape: 3\n"),
            "p.yaml:3:9: error: unknown op 'zeross', did you mean 'zeros'?");
  EXPECT_EQ(error_of("steps:\n  - id: a\n    op: zeros\n    shap: 3\n"),
            "p.yaml:4:5: error: op 'zeros' has no parameter 'shap', did you mean 'shape'?");
  EXPECT_EQ(error_of("steps:\n  - id: a\n    op: zeros\n"),
            "p.yaml:3:9: error: op 'zeros' needs parameter 'shape' (global shape, such as [1000, 16])");
  EXPECT_EQ(error_of("steps:\n  - id: a\n    op: zeros\n    shape: [2, x]\n"),
            "p.yaml:4:5: error: parameter 'shape' of op 'zeros' must be an integer or a list of integers, got a list or mapping");
  EXPECT_EQ(error_of("steps:\n  - id: a\n    op: zeros\n    shape: 3\n    dtype: float33\n"),
            "p.yaml:5:5: error: parameter 'dtype' of op 'zeros': unknown dtype 'float33' (valid: bool, uint8, int8, "
            "int16, int32, int64, float32, float64, complex64, complex128)");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: 3}\n  - {id: a, op: ones, shape: 3}\n"),
            "p.yaml:3:5: error: duplicate step id 'a' (first used at line 2)");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: 3}\n  - {id: b, op: exp, input: c}\n"),
            "p.yaml:3:29: error: undefined input 'c', did you mean 'a'?");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: 3}\n  - {id: b, op: exp, input: aa}\n"),
            "p.yaml:3:29: error: undefined input 'aa', did you mean 'a'?");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: exp, input: b}\n  - {id: b, op: exp, input: a}\n"),
            "p.yaml:2:5: error: the steps form a cycle: a <- b <- a (each uses the next)");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: [2, 3]}\n  - {id: b, op: zeros, shape: [4, 3]}\n"
                     "  - {id: c, op: add, inputs: [a, b]}\n"),
            "p.yaml:4:17: error: step 'c' (add): add: operands could not be broadcast together with shapes (2, 3) and (4, 3)");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: 3}\n  - {id: b, op: exp, inputs: [a, a]}\n"),
            "p.yaml:3:22: error: op 'exp' takes 1 input (input: X), got 2");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: 3}\n  - {id: b, op: exp, input: 2}\n"),
            "p.yaml:3:29: error: op 'exp' takes arrays as inputs, not the number 2");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: 3, split: 1}\n"),
            "p.yaml:2:17: error: step 'a' (zeros): zeros: axis 1 is out of bounds for an array of dimension 1");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: \"${n}\"}\n"),
            "p.yaml:2:31: error: in '${n}': undefined param 'n'");
  EXPECT_EQ(error_of("params: {n: 2}\nsteps:\n  - {id: a, op: zeros, shape: 3}\n", {"m=3"}),
            "p.yaml: error: --set m: the pipeline has no param 'm', did you mean 'n'?");
  EXPECT_EQ(error_of("step:\n  - {id: a, op: zeros, shape: 3}\n"),
            "p.yaml:1:1: error: unknown key 'step', did you mean 'steps'?");
  EXPECT_EQ(error_of("version: 2\nsteps:\n  - {id: a, op: zeros, shape: 3}\n"),
            "p.yaml:1:10: error: unsupported pipeline version '2' (this dnd reads version 1)");
  EXPECT_EQ(error_of("steps:\n  - {op: zeros, shape: 3}\n"),
            "p.yaml:2:5: error: this 'zeros' step needs an 'id' to name its result");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: 3, shape: 4}\n"),
            "p.yaml:2:34: error: duplicate key 'shape' (first at line 2)");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: reduce, input: a, fn: sum}\n"),
            "p.yaml:2:32: error: step 'a' uses its own result");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: 3}\n  - {id: b, op: reduce, input: a, fn: avg}\n"),
            "p.yaml:3:35: error: parameter 'fn' of op 'reduce' must be one of sum, prod, mean, var, std, min, max, "
            "argmin, argmax, any, all, norm, got 'avg'");
  EXPECT_EQ(error_of(""), "p.yaml: error: the file is empty");
}

// A user's mistake in an op's rule is the pipeline's error (exit 2, with its position); a
// bug stays an InternalError (exit 1) with its context, whatever the phase.
TEST(Document, ErrorsKeepTheirKind) {
  EXPECT_EQ(error_of("version: 1\nsteps:\n  - {id: a, op: test.value_error}\n"),
            "p.yaml:3:17: error: step 'a' (test.value_error): k = 3 is too large");
  try {
    plan_of("version: 1\nsteps:\n  - {id: a, op: test.internal_error}\n");
    ADD_FAILURE() << "no error";
  } catch (const PipelineError& e) {
    ADD_FAILURE() << "a bug reported as the user's mistake: " << e.what();
  } catch (const dnd::InternalError& e) {
    const std::string w = e.what();
    EXPECT_EQ(w.rfind("internal error (a bug in dnd, please report it): got == planned failed: (got, planned) = (3, 2) [",
                      0),
              0u)
        << w;
    EXPECT_NE(w.find("tests/pipeline/test_document.cpp:"), std::string::npos) << w;
    ASSERT_EQ(e.context().size(), 1u);
    EXPECT_EQ(e.context()[0], "planning step 'a' (test.internal_error, p.yaml:3)");
  }
  try {
    plan_of("version: 1\nsteps:\n  - {id: a, op: test.torch_error}\n");
    ADD_FAILURE() << "no error";
  } catch (const dnd::InternalError& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("internal error (a bug in dnd"), std::string::npos) << w;
    EXPECT_EQ(w.find("Exception raised from"), std::string::npos) << "torch's backtrace reached the message: " << w;
  }
}

TEST(Document, ErrorContextIsAddedOnUnwind) {
  try {
    try {
      DND_CHECK_SHAPE(1 == 2, "{} and {} do not fit", "(2,)", "(3,)");
    } catch (dnd::Error& e) {
      e.add_context("step 'x'");
      throw;
    }
  } catch (const dnd::ShapeError& e) {  // still a ShapeError
    EXPECT_STREQ(e.what(), "(2,) and (3,) do not fit\n  in step 'x'");
    EXPECT_EQ(e.message(), "(2,) and (3,) do not fit");
    return;
  }
  ADD_FAILURE() << "the kind was lost";
}

TEST(Document, ErrorShowsTheLineAndACaret) {
  try {
    plan_of("steps:\n  - id: a\n    op: zeross\n    shape: 3\n");
    FAIL();
  } catch (const PipelineError& e) {
    EXPECT_EQ(std::string(e.what()),
              "p.yaml:3:9: error: unknown op 'zeross', did you mean 'zeros'?\n        op: zeross\n            ^");
  }
}

}  // namespace
