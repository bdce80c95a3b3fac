// Parsing, validation and planning of pipeline files, in one process and without data:
// every message and position is pinned, as users see them.
#include "src/pipeline/plan.h"

#include <ATen/ATen.h>
#include "src/pipeline/expr.h"
#include "src/core/diagnostics.h"
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

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
DND_REGISTER_OP(failing_op("test.value_error",
                           [] { DND_CHECK_VALUE(false, "k = {} is too large", 3); }));
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
  const std::vector<std::pair<std::string, YAML::Node>> params{{"n", YAML::Node("10")},
                                                               {"x", YAML::Node("0.5")}};
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
  // Integral floats are integers (1e6 is how HPC users write a million).
  const Plan q = plan_of(
      "version: 1\nparams: {n: 10}\nsteps:\n  - {id: a, op: zeros, shape: [${n}, 2.0]}\n", 2, {"n=1e6"});
  EXPECT_EQ(q.steps[0].info.outputs[0].shape, (dnd::Shape{1000000, 2}));
  const Plan r = plan_of("version: 1\nparams: {n: 10}\nsteps:\n  - {id: a, op: zeros, shape: [${n}]}\n",
                         2, {"n=1000000.0"});
  EXPECT_EQ(r.steps[0].info.outputs[0].shape, (dnd::Shape{1000000}));
}

TEST(Document, PlanInfersAndAccountsMemory) {
  const Plan p = plan_of(R"(steps:
  - {id: X, op: random.uniform, shape: [1000, 10], split: 0}
  - {id: Y, op: resplit, input: X, axis: 1}
  - {id: s, op: reduce, input: Y, fn: sum, axis: 0}
  - {op: print, input: s}
)",
                         4);
  ASSERT_EQ(p.steps.size(), 4u);
  EXPECT_EQ(p.steps[0].out_bytes, 250 * 10 * 4);
  EXPECT_EQ(p.steps[1].info.outputs[0].split, dnd::Split(1));
  EXPECT_EQ(p.steps[1].out_bytes, 1000 * 3 * 4);  // ceil(10/4) columns
  // The busiest rank sends its 250 rows but for its own 2 of the 10 columns (3, 3, 2, 2).
  EXPECT_EQ(p.steps[1].info.comm_bytes, 250 * (10 - 2) * 4);
  EXPECT_EQ(p.steps[2].info.outputs[0].shape, (dnd::Shape{10}));
  EXPECT_EQ(p.steps[2].info.outputs[0].split, dnd::Split(0));  // axis 1 became axis 0
  // X is freed after Y is made: the peak is X and Y together.
  EXPECT_EQ(p.peak_bytes, 250 * 10 * 4 + 1000 * 3 * 4);
  EXPECT_EQ(p.peak_step, "Y");
  EXPECT_NE(plan_json(p).find("\"peak_bytes_per_rank\": 22000"), std::string::npos) << plan_json(p);
  EXPECT_NE(plan_table(p).find("resplit"), std::string::npos);
  // random.normal's Box-Muller buffers: a piece's pairs (2500 values: 1251 pairs of two
  // float64 and three float32), beyond its result.
  const Plan n = plan_of("steps:\n  - {id: X, op: random.normal, shape: [1000, 10], split: 0}\n", 4);
  EXPECT_EQ(n.steps[0].info.temp_bytes, 1251 * (16 + 3 * 4));
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
            "p.yaml:4:5: error: parameter 'shape' of op 'zeros' must be an integer or a list of "
            "integers (element 1 is 'x')");
  EXPECT_EQ(error_of("steps:\n  - id: a\n    op: zeros\n    shape: [2, 2.5]\n"),
            "p.yaml:4:5: error: parameter 'shape' of op 'zeros' must be an integer or a list of "
            "integers (element 1 is '2.5')");
  EXPECT_EQ(error_of("steps:\n  - id: a\n    op: zeros\n    shape: 1e30\n"),
            "p.yaml:4:5: error: parameter 'shape' of op 'zeros' must be an integer that fits in int64, "
            "got '1e30'");
  EXPECT_EQ(error_of("steps:\n  - id: a\n    op: zeros\n    shape: 3\n    dtype: float33\n"),
            "p.yaml:5:5: error: parameter 'dtype' of op 'zeros': unknown dtype 'float33' (valid: bool, "
            "uint8, int8, "
            "int16, int32, int64, float32, float64, complex64, complex128)");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: 3}\n  - {id: a, op: ones, shape: 3}\n"),
            "p.yaml:3:5: error: duplicate step id 'a' (first used at line 2)");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: 3}\n  - {id: b, op: exp, input: c}\n"),
            "p.yaml:3:29: error: undefined input 'c', did you mean 'a'?");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: 3}\n  - {id: b, op: exp, input: aa}\n"),
            "p.yaml:3:29: error: undefined input 'aa', did you mean 'a'?");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: exp, input: b}\n  - {id: b, op: exp, input: a}\n"),
            "p.yaml:2:5: error: the steps form a cycle: a <- b <- a (each uses the next)");
  EXPECT_EQ(
      error_of("steps:\n  - {id: a, op: zeros, shape: [2, 3]}\n  - {id: b, op: zeros, shape: [4, 3]}\n"
               "  - {id: c, op: add, inputs: [a, b]}\n"),
      "p.yaml:4:17: error: step 'c' (add): add: operands could not be broadcast together with shapes "
      "(2, 3) and (4, 3)");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: 3}\n  - {id: b, op: exp, inputs: [a, a]}\n"),
            "p.yaml:3:22: error: op 'exp' takes 1 input (input: X), got 2");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: 3}\n  - {id: b, op: exp, input: 2}\n"),
            "p.yaml:3:29: error: op 'exp' takes arrays as inputs, not the number 2");
  EXPECT_EQ(error_of("steps:\n  - {id: a, op: zeros, shape: 3, split: 1}\n"),
            "p.yaml:2:17: error: step 'a' (zeros): zeros: axis 1 is out of bounds for an array of "
            "dimension 1");
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
  EXPECT_EQ(
      error_of("steps:\n  - {id: a, op: zeros, shape: 3}\n  - {id: b, op: reduce, input: a, fn: avg}\n"),
      "p.yaml:3:35: error: parameter 'fn' of op 'reduce' must be one of sum, prod, mean, var, std, min, "
      "max, argmin, argmax, any, all, norm, nansum, nanmean, nanvar, nanstd, nanmin, nanmax, nanargmin, "
      "nanargmax, count_nonzero, got 'avg'");
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
    EXPECT_EQ(w.rfind("internal error (a bug in dnd, please report it): got == planned failed: (got, "
                      "planned) = (3, 2) [",
                      0),
              0u)
        << w;
    EXPECT_NE(w.find("tests/pipeline/test_document.cpp:"), std::string::npos) << w;
    ASSERT_EQ(e.context().size(), 1u);
    EXPECT_EQ(e.context()[0], "planning step 'a' (test.internal_error, p.yaml:3)");
  }
  // torch refusing what a rule asked (bool - bool, a fill value out of range) is the
  // pipeline's mistake too, without torch's backtrace.
  const std::string torch = error_of("version: 1\nsteps:\n  - {id: a, op: test.torch_error}\n");
  EXPECT_EQ(torch.rfind("p.yaml:3:17: error: step 'a' (test.torch_error): shape '[3]' is invalid", 0),
            0u)
      << torch;
  EXPECT_EQ(torch.find("Exception raised from"), std::string::npos) << torch;
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
              "p.yaml:3:9: error: unknown op 'zeross', did you mean 'zeros'?\n        op: zeross\n      "
              "      ^");
  }
}

// ---- hostile input: checked arithmetic, limits, special files (issue 16) ----------------

std::string expr_error(const std::string& e) {
  try {
    evaluate_expression(e, {});
  } catch (const std::invalid_argument& ex) {
    return ex.what();
  }
  return "";
}

TEST(Expressions, CheckedInt64Arithmetic) {
  const std::vector<std::pair<std::string, YAML::Node>> none;
  EXPECT_EQ(expr_error("(-9223372036854775807 - 1) // -1"),
            "integer overflow: -9223372036854775808 // -1 does not fit in int64");
  EXPECT_EQ(evaluate_expression("(-9223372036854775807 - 1) % -1", none).Scalar(), "0");  // as Python
  EXPECT_EQ(evaluate_expression("7 % -1", none).Scalar(), "0");
  EXPECT_EQ(evaluate_expression("-7 // -2", none).Scalar(), "3");
  EXPECT_EQ(expr_error("2 ** 64"), "integer overflow: 2 ** 64 does not fit in int64");
  EXPECT_EQ(expr_error("9223372036854775807 + 1"),
            "integer overflow: 9223372036854775807 + 1 does not fit in int64");
  EXPECT_EQ(expr_error("-9223372036854775807 - 2"),
            "integer overflow: -9223372036854775807 - 2 does not fit in int64");
  EXPECT_EQ(expr_error("4294967296 * 4294967296"),
            "integer overflow: 4294967296 * 4294967296 does not fit in int64");
  EXPECT_EQ(expr_error("-(-9223372036854775807 - 1)"),
            "integer overflow: 0 - -9223372036854775808 does not fit in int64");
  EXPECT_EQ(expr_error("99999999999999999999"),
            "the integer 99999999999999999999 does not fit in int64");
  EXPECT_EQ(expr_error("0 ** -1"), "0 cannot be raised to a negative power");
  EXPECT_EQ(evaluate_expression("2 ** 62", none).Scalar(), "4611686018427387904");
  EXPECT_EQ(evaluate_expression("(-2) ** 63", none).Scalar(), "-9223372036854775808");
  EXPECT_EQ(evaluate_expression("2 ** -1", none).Scalar(), "0.5");
  // By squaring: a huge exponent takes 50 rounds, not 10^15 multiplications.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(evaluate_expression("1 ** 999999999999999", none).Scalar(), "1");
  EXPECT_EQ(evaluate_expression("(-1) ** 999999999999999", none).Scalar(), "-1");
  EXPECT_EQ(evaluate_expression("0 ** 999999999999999", none).Scalar(), "0");
  EXPECT_EQ(expr_error("3 ** 999999999999999"),
            "integer overflow: 3 ** 999999999999999 does not fit in int64");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(evaluate_expression("2.0 ** 2000", none).Scalar(),
            "inf");  // floats overflow to inf, as Python's math
}

TEST(Expressions, NestingAndLengthLimits) {
  const std::vector<std::pair<std::string, YAML::Node>> none;
  EXPECT_EQ(evaluate_expression(std::string(150, '(') + "1" + std::string(150, ')'), none).Scalar(),
            "1");
  EXPECT_EQ(evaluate_expression(std::string(150, '-') + "1", none).Scalar(), "1");
  EXPECT_EQ(expr_error(std::string(20000, '(') + "1" + std::string(20000, ')')).substr(0, 200),
            "the expression is 40001 characters long (at most 4096)");
  EXPECT_EQ(expr_error(std::string(1000, '(') + "1" + std::string(1000, ')')),
            "the expression nests deeper than 200 levels");
  EXPECT_EQ(expr_error(std::string(1000, '-') + "1"), "the expression nests deeper than 200 levels");
  EXPECT_EQ(expr_error(std::string(1000, '+') + "1"), "the expression nests deeper than 200 levels");
  EXPECT_EQ(expr_error("2 ** " + std::string(300, '-') + "1"),
            "the expression nests deeper than 200 levels");
  EXPECT_EQ(expr_error("1 +\x01"), "unexpected byte 0x01");
}

TEST(Document, ExpansionLimits) {
  // A billion laughs: ten levels of ten aliases each.
  std::string laughs =
      "steps:\n  - id: X\n    op: zeros\n    shape: [2]\n    dtype:\n      - &a0 [l, l, l, l, l, l, l, "
      "l, l, l]\n";
  for (int i = 1; i < 10; ++i) {
    laughs += fmt::format("      - &a{} [", i);
    for (int k = 0; k < 10; ++k) laughs += fmt::format("{}*a{}", k ? ", " : "", i - 1);
    laughs += "]\n";
  }
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_NE(error_of(laughs).find(
                "error: the pipeline expands to more than 100000 YAML values (nested aliases?)"),
            std::string::npos)
      << error_of(laughs);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  // 26 params, each doubling the one before: 64 * 2^26 characters.
  std::string dbl = "params:\n  a0: \"" + std::string(64, 'x') + "\"\n";
  for (int i = 1; i <= 26; ++i) dbl += fmt::format("  a{}: \"${{a{}}}${{a{}}}\"\n", i, i - 1, i - 1);
  dbl += "steps:\n  - {id: X, op: zeros, shape: [2]}\n";
  EXPECT_EQ(error_of(dbl), "p.yaml:17:8: error: a value expands to more than 1048576 characters");
  // Many steps each using a 512 KiB param: the total is bounded too.
  std::string many = "params:\n  a0: \"" + std::string(64, 'x') + "\"\n";
  for (int i = 1; i <= 13; ++i) many += fmt::format("  a{}: \"${{a{}}}${{a{}}}\"\n", i, i - 1, i - 1);
  many += "steps:\n";
  for (int i = 0; i < 200; ++i)
    many += fmt::format("  - {{id: X{}, op: zeros, shape: [2], dtype: \"${{a13}}\"}}\n", i);
  EXPECT_NE(error_of(many).find("error: the pipeline's values expand to more than 64 MiB of text"),
            std::string::npos)
      << error_of(many);
  // Deep YAML nesting: our own message, not yaml-cpp's "bad file".
  EXPECT_EQ(error_of("steps:\n  - {id: X, op: zeros, shape: " + std::string(5000, '[') +
                     std::string(5000, ']') + "}\n"),
            "p.yaml:2:94: error: the YAML nests deeper than 64 levels");
}

TEST(Document, RefusesMalformedDocuments) {
  EXPECT_EQ(
      error_of(std::string(
          "steps:\n  - id: X\n    op: random.uniform\n    seed: \"7\\0garbage\"\n    shape: [4]\n")),
      "p.yaml:4:5: error: parameter 'seed' of op 'random.uniform' must be an integer, got "
      "'7\\x00garbage'");
  EXPECT_EQ(error_of(std::string("steps:\n  - {id: X, op: full, shape: [4], value: \"2.5\\0x\"}\n"))
                .substr(0, 79),
            "p.yaml:2:35: error: parameter 'value' of op 'full' must be true or false, got '");
  EXPECT_EQ(error_of("steps:\n  - {id: X, op: zeros, shape: [2]}\n#" + std::string(1, '\0') + "\n"),
            "p.yaml:3:2: error: the file contains a NUL byte (a pipeline file is text)");
  EXPECT_EQ(error_of("steps:\n  - {id: X, op: zeros, shape: [2]}\n---\nsteps: []\n"),
            "p.yaml:3:1: error: the file holds more than one YAML document ('---'); a pipeline is one "
            "document");
  EXPECT_EQ(error_of("name: {}\nsteps:\n  - {id: X, op: zeros, shape: [2]}\n"),
            "p.yaml:1:7: error: 'name' must be text");
  EXPECT_EQ(error_of("name: [a]\nsteps:\n  - {id: X, op: zeros, shape: [2]}\n"),
            "p.yaml:1:7: error: 'name' must be text");
  EXPECT_EQ(error_of("description: {a: 1}\nsteps:\n  - {id: X, op: zeros, shape: [2]}\n"),
            "p.yaml:1:14: error: 'description' must be text");
  EXPECT_EQ(error_of("steps:\n  - {id: X, op: zeros, shape: [2], dtype: {[a]: 1}}\n"),
            "p.yaml:2:44: error: keys must be names, not lists or mappings");
}

TEST(Document, YamlCppLoopsAreBounded) {
  // Found by the fuzzer: yaml-cpp's LoadAll never returns on this text.
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = error_of(
      "version: 1\n  - {id: X, op: zeros, shape: [3]}\nsteps:\n  - id: X\n    op: zeros\n"
      "    shape: [2]\n${n * 2}");
  EXPECT_NE(e.find("p.yaml:"), std::string::npos) << e;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(Document, CheckedShapesAndAxes) {
  EXPECT_EQ(error_of("steps:\n  - {id: X, op: zeros, shape: [4294967296, 4294967296], split: 0}\n"),
            "p.yaml:2:24: error: parameter 'shape' of op 'zeros': the shape (4294967296, 4294967296) "
            "has more than "
            "2^63 - 1 elements");
  EXPECT_EQ(error_of("steps:\n  - {id: X, op: ones, shape: [9223372036854775807, 2]}\n"),
            "p.yaml:2:23: error: parameter 'shape' of op 'ones': the shape (9223372036854775807, 2) has "
            "more than "
            "2^63 - 1 elements");
  EXPECT_EQ(error_of("steps:\n  - {id: X, op: zeros, shape: [4611686018427387904], dtype: float64}\n"),
            "p.yaml:2:17: error: step 'X' (zeros): the shape (4611686018427387904,) needs more than "
            "2^63 - 1 bytes");
  EXPECT_EQ(error_of("steps:\n  - {id: X, op: zeros, shape: [\"${2 ** 64}\"]}\n"),
            "p.yaml:2:32: error: in '${2 ** 64}': integer overflow: 2 ** 64 does not fit in int64");
  std::string s70 = "steps:\n  - {id: X, op: zeros, shape: [1";
  for (int i = 1; i < 70; ++i) s70 += ", 1";
  EXPECT_EQ(error_of(s70 + "]}\n"),
            "p.yaml:2:24: error: parameter 'shape' of op 'zeros' must be a shape of at most 32 axes, "
            "got a list or mapping");
  std::string s32 = "steps:\n  - {id: X, op: zeros, shape: [1";
  for (int i = 1; i < 32; ++i) s32 += ", 1";
  EXPECT_EQ(
      error_of(s32 + "]}\n  - {id: E, op: expand_dims, input: X, axis: 0}\n"),
      "p.yaml:3:17: error: step 'E' (expand_dims): the result has 33 axes; dnd arrays have at most 32");
  // Broadcasting two shapes whose product overflows.
  EXPECT_EQ(error_of("steps:\n  - {id: A, op: zeros, shape: [4294967296, 1], dtype: int8}\n"
                     "  - {id: B, op: zeros, shape: [1, 4294967296], dtype: int8}\n  - {id: C, op: add, "
                     "inputs: [A, B]}\n"),
            "p.yaml:4:17: error: step 'C' (add): the shape (4294967296, 4294967296) has more than 2^63 "
            "- 1 elements");
}

TEST(Document, ParameterRangesAtPlanTime) {
  EXPECT_EQ(error_of("steps:\n  - {id: X, op: random.uniform, shape: [4], low: 10, high: 0.5}\n"),
            "p.yaml:2:17: error: step 'X' (random.uniform): random.uniform: need finite low <= high "
            "(got low=10, high=0.5)");
  EXPECT_EQ(error_of("steps:\n  - {id: X, op: random.normal, shape: [4], std: -1}\n"),
            "p.yaml:2:17: error: step 'X' (random.normal): random.normal: need a finite mean and a "
            "finite std >= 0 "
            "(got mean=0, std=-1)");
  EXPECT_EQ(
      error_of("steps:\n  - {id: B, op: random.blobs, n: 10, std: -1}\n"),
      "p.yaml:2:17: error: step 'B' (random.blobs): random.blobs: std must be finite and >= 0, got -1");
  const std::string x = "steps:\n  - {id: X, op: random.normal, shape: [100, 2], split: 0}\n";
  EXPECT_EQ(error_of(x + "  - {id: k, op: kmeans, input: X, k: 3, tol: -1}\n"),
            "p.yaml:3:17: error: step 'k' (kmeans): kmeans: tol must be finite and >= 0, got -1");
  EXPECT_EQ(error_of(x + "  - {id: k, op: kmeans, input: X, k: 3, oversampling: 0}\n"),
            "p.yaml:3:17: error: step 'k' (kmeans): kmeans: oversampling must be finite and > 0, got 0");
  EXPECT_EQ(error_of(x + "  - {id: k, op: kmeans, input: X, k: 3, rounds: 0}\n"),
            "p.yaml:3:17: error: step 'k' (kmeans): kmeans: rounds must be at least 1, got 0");
  EXPECT_EQ(
      error_of("steps:\n  - {id: a, op: arange, stop: 5}\n  - {id: p, op: power, inputs: [a, -2]}\n"),
      "p.yaml:3:17: error: step 'p' (power): power: integers to negative integer powers are not allowed "
      "(as in "
      "numpy); make the base a float array");
  EXPECT_EQ(
      error_of("steps:\n  - {id: a, op: arange, stop: 5}\n  - {id: p, op: power, inputs: [a, -2.0]}\n"),
      "");
  // clip follows torch's promotion: an int64 array clipped at 2.5 is float32.
  const Plan p = plan_of(
      "steps:\n  - {id: a, op: arange, stop: 5}\n  - {id: c, op: clip, input: a, max: 2.5}\n"
      "  - {id: d, op: clip, input: a, max: 2}\n");
  EXPECT_EQ(p.steps[1].info.outputs[0].dtype, at::kFloat);
  EXPECT_EQ(p.steps[2].info.outputs[0].dtype, at::kLong);
}

TEST(Document, LongLinesAreClippedAroundTheCaret) {
  try {
    plan_of("steps:\n  - {id: X, " + std::string(100000, ' ') + "shape: [2], op: zeroes}\n");
    FAIL() << "no error";
  } catch (const PipelineError& e) {
    const std::string w = e.what();
    const size_t l1 = w.find('\n'), l2 = w.find('\n', l1 + 1);
    const std::string src = w.substr(l1 + 1, l2 - l1 - 1), caret = w.substr(l2 + 1);
    EXPECT_LT(src.size(), 120u) << src;
    EXPECT_EQ(src.substr(4, 3), "...");
    const size_t at = caret.find('^');
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(src.substr(at, 6), "zeroes") << src << "\n" << caret;
  }
}

TEST(Document, SpecialFilesAreRefused) {
  char dir[] = "/tmp/dnd-doc-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string fifo = std::string(dir) + "/p.yaml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto message = [](const std::string& path) {
    try {
      load_document(path);
    } catch (const PipelineError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(
      message(fifo),
      fifo + ": error: cannot read the pipeline file: it is a FIFO (named pipe), not a regular file");
  EXPECT_EQ(message(dir),
            std::string(dir) +
                ": error: cannot read the pipeline file: it is a directory, not a regular file");
  EXPECT_EQ(
      message("/dev/zero"),
      "/dev/zero: error: cannot read the pipeline file: it is a character device, not a regular file");
  unlink(fifo.c_str());
  rmdir(dir);
}

TEST(Messages, TorchBacktracesAreCut) {
  EXPECT_EQ(dnd::without_backtrace(
                "ZeroDivisionError\nException raised from div_floor at x.cpp:1 (most recent call "
                "first):\nframe #0: c10::Error::Error() + 0x1\nframe #1: f()\n"),
            "ZeroDivisionError");
  EXPECT_EQ(dnd::without_backtrace("step 'b' (x): shape mismatch"), "step 'b' (x): shape mismatch");
}

}  // namespace
