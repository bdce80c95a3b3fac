// dnd plan / dnd validate: the planner's view of a pipeline, without MPI and without data.
#include "src/cli/commands.h"
#include "src/pipeline/plan.h"

#include <fmt/format.h>

#include <memory>
#include <string>

namespace dnd::cli {

namespace {

struct PlanArgs {
  std::string file;
  std::vector<std::string> sets;
  bool json = false;
};

pipeline::Plan plan_or_usage(const PlanArgs& a, int nranks, pipeline::Document& doc) {
  try {
    doc = pipeline::load_document(a.file, a.sets);
    return pipeline::make_plan(doc, nranks);
  } catch (const pipeline::PipelineError& e) {
    throw UsageError(e.what(), /*bare=*/true);
  }
}

}  // namespace

Command add_plan(CLI::App& root, const Global& g) {
  auto args = std::make_shared<PlanArgs>();
  CLI::App* app = root.add_subcommand("plan",
                                      "Show a pipeline's steps: shapes, dtypes, splits, bytes per rank, "
                                      "communication, peak memory (-n N ranks)");
  app->add_option("pipeline", args->file, "the pipeline file (YAML)")->required();
  app->add_option("--set", args->sets, "override a param: --set key=value (repeatable)")->take_all();
  app->add_flag("--json", args->json, "machine-readable output");
  Command c{app, [args, &g] {
              pipeline::Document doc;
              const pipeline::Plan plan = plan_or_usage(*args, g.nranks > 0 ? g.nranks : 1, doc);
              fmt::print("{}", args->json ? pipeline::plan_json(plan) : pipeline::plan_table(plan));
              return kExitOk;
            }};
  c.needs_mpi = false;
  return c;
}

Command add_validate(CLI::App& root, const Global& g) {
  auto args = std::make_shared<PlanArgs>();
  CLI::App* app = root.add_subcommand(
      "validate", "Check a pipeline (ops, parameters, inputs, shapes, files) without running it");
  app->add_option("pipeline", args->file, "the pipeline file (YAML)")->required();
  app->add_option("--set", args->sets, "override a param: --set key=value (repeatable)")->take_all();
  Command c{app, [args, &g] {
              pipeline::Document doc;
              const pipeline::Plan plan = plan_or_usage(*args, 1, doc);
              if (!g.quiet) fmt::print("{}: ok ({} steps)\n", args->file, plan.steps.size());
              return kExitOk;
            }};
  c.needs_mpi = false;
  return c;
}

}  // namespace dnd::cli
