// dnd-bench-pipeline: what running through a pipeline costs over calling the same
// operations from C++, in one run.
//
//   mpirun -n 2 build/dnd-bench-pipeline [--rows 1000] [--steps 20]
//
// A pipeline of `steps` cheap steps on a (rows x 8) float32 array split along rows
// (a factory, then alternating elementwise ops and reductions, and a resplit) is parsed,
// planned and executed; the same core calls are then made directly. Reported: the
// median time of each (slowest rank), their difference (the pipeline's overhead: parsing,
// validation, planning, bookkeeping, the result checks), and parse+plan alone.
#include "src/bench/timing.h"
#include "src/core/elementwise.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "src/core/reductions.h"
#include "src/core/runtime.h"
#include "src/pipeline/execute.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>

using namespace dnd;

namespace {

// steps: X, then for k = 1.. : an elementwise op on the previous array, every fourth a
// reduction of it; one resplit in the middle.
std::string make_pipeline(int steps, int64_t rows) {
  std::string s = fmt::format(
      "version: 1\nsteps:\n  - {{id: s0, op: random.uniform, shape: [{}, 8], split: 0, seed: 1}}\n",
      rows);
  std::string prev = "s0";
  for (int k = 1; k < steps; ++k) {
    const std::string id = fmt::format("s{}", k);
    if (k == steps / 2) {
      s += fmt::format("  - {{id: {}, op: resplit, input: {}, axis: 1}}\n", id, prev);
      prev = id;
    } else if (k % 4 == 0) {
      s += fmt::format("  - {{id: {}, op: reduce, input: {}, fn: sum, axis: 0}}\n", id, prev);
    } else {
      const char* op = k % 4 == 1 ? "multiply" : k % 4 == 2 ? "add" : "subtract";
      s += fmt::format("  - {{id: {}, op: {}, inputs: [{}, 1.5]}}\n", id, op, prev);
      prev = id;
    }
  }
  return s;
}

void run_direct(int steps, int64_t rows, const Communicator& comm) {
  DNDarray prev = random_uniform({rows, 8}, 1, 0.0, 1.0, ArrayOptions{0}.with_comm(comm));
  for (int k = 1; k < steps; ++k) {
    if (k == steps / 2) {
      prev = resplit(prev, 1);
    } else if (k % 4 == 0) {
      DNDarray r = sum(prev, axis(0));
    } else {
      prev = k % 4 == 1 ? multiply(prev, 1.5) : k % 4 == 2 ? add(prev, 1.5) : subtract(prev, 1.5);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dnd pipeline overhead: a pipeline of cheap steps vs the same calls from C++"};
  int64_t rows = 1000;
  int steps = 20, reps = 20, warmup = 3;
  app.add_option("--rows", rows, "rows of the (rows x 8) float32 array")->capture_default_str();
  app.add_option("--steps", steps, "steps in the pipeline")->capture_default_str();
  app.add_option("--repeat", reps, "timed repeats")->capture_default_str();
  app.add_option("--warmup", warmup, "discarded runs")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  Runtime runtime(&argc, &argv);
  const Communicator world = Communicator::world();
  const std::string text = make_pipeline(steps, rows);

  std::FILE* devnull = std::fopen("/dev/null", "w");
  const bench::Timing parse = bench::measure(world, warmup, reps, [&] {
    pipeline::Document doc = pipeline::parse_document(text, "bench.yaml");
    pipeline::Plan plan = pipeline::make_plan(doc, world.size());
  });
  const bench::Timing piped = bench::measure(world, warmup, reps, [&] {
    pipeline::Document doc = pipeline::parse_document(text, "bench.yaml");
    pipeline::Plan plan = pipeline::make_plan(doc, world.size());
    pipeline::RunOptions o;
    o.quiet = true;
    o.out = devnull;
    pipeline::execute(plan, world, o);
  });
  const bench::Timing direct =
      bench::measure(world, warmup, reps, [&] { run_direct(steps, rows, world); });
  std::fclose(devnull);
  if (world.rank() == 0) {
    fmt::print(
        "dnd pipeline overhead: {} steps on a ({}, 8) float32 array, {} rank(s), median of {} (slowest "
        "rank)\n",
        steps, rows, world.size(), reps);
    fmt::print("  {:<34} {:>10.3f} ms  (min {:.3f}, max {:.3f})\n", "direct C++ calls (baseline)",
               direct.median * 1e3, direct.min * 1e3, direct.max * 1e3);
    fmt::print("  {:<34} {:>10.3f} ms  (min {:.3f}, max {:.3f})\n", "pipeline: parse + plan + execute",
               piped.median * 1e3, piped.min * 1e3, piped.max * 1e3);
    fmt::print("  {:<34} {:>10.3f} ms\n", "  of which parse + plan", parse.median * 1e3);
    fmt::print("  {:<34} {:>10.3f} ms  (target < 50 ms)\n", "pipeline overhead",
               (piped.median - direct.median) * 1e3);
  }
  return 0;
}
