// dnd plan / dnd validate: the planner's view of a pipeline, without MPI and without data.
#include "src/cli/commands.h"
#include "src/pipeline/checkpoint.h"
#include "src/pipeline/plan.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace dnd::cli {

namespace {

struct PlanArgs {
  std::string file;
  std::vector<std::string> sets;
  bool json = false;
  pipeline::CheckpointOptions ck;
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

int print_plan(const std::string& file, const std::vector<std::string>& sets, int nranks, bool json,
               const pipeline::CheckpointOptions* ck) {
  pipeline::Document doc;
  const pipeline::Plan plan = plan_or_usage(PlanArgs{file, sets, json, {}}, nranks, doc);
  pipeline::CheckpointPlan cp;
  try {
    cp = pipeline::plan_checkpoints(plan, ck ? *ck : pipeline::CheckpointOptions{}, file);
  } catch (const pipeline::PipelineError& e) {
    throw UsageError(e.what(), /*bare=*/true);
  }
  if (json) {
    std::string j = pipeline::plan_json(plan);
    const size_t end = j.rfind('}');  // "checkpoints" as the object's last member
    j = j.substr(0, end);
    while (!j.empty() && (j.back() == '\n' || j.back() == ' ')) j.pop_back();
    fmt::print("{},\n  \"checkpoints\": {}\n}}\n", j, pipeline::checkpoint_json(plan, cp));
  } else {
    fmt::print("{}{}", pipeline::plan_table(plan), pipeline::checkpoint_table(plan, cp));
  }
  return kExitOk;
}

void add_checkpoint_options(CLI::App* app, pipeline::CheckpointOptions& o) {
  app->add_option("--checkpoint-dir", o.dir,
                  "where checkpoints are kept (default: PIPELINE.checkpoints beside the first output)");
  app->add_option("--checkpoint", o.steps,
                  "store these steps' results in checkpoints (as `checkpoint: true` does): ID,ID")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app->add_flag("--resume", o.resume,
                "read the valid checkpoints the remaining steps need, skip the steps no longer "
                "needed, run the rest");
}

Command add_plan(CLI::App& root, const Global& g) {
  auto args = std::make_shared<PlanArgs>();
  CLI::App* app = root.add_subcommand("plan",
                                      "Show a pipeline's steps: shapes, dtypes, splits, bytes per rank, "
                                      "communication, peak memory (-n N ranks)");
  app->add_option("pipeline", args->file, "the pipeline file (YAML; - reads standard input)")
      ->required();
  app->add_option("--set", args->sets, "override a param: --set key=value (repeatable)")->take_all();
  app->add_flag("--json", args->json, "machine-readable output");
  add_checkpoint_options(app, args->ck);
  Command c{app, [args, &g] {
              return print_plan(args->file, args->sets, g.nranks > 0 ? g.nranks : 1, args->json,
                                &args->ck);
            }};
  c.needs_mpi = false;
  return c;
}

Command add_validate(CLI::App& root, const Global& g) {
  auto args = std::make_shared<PlanArgs>();
  CLI::App* app = root.add_subcommand(
      "validate", "Check a pipeline (ops, parameters, inputs, shapes, files) without running it");
  app->add_option("pipeline", args->file, "the pipeline file (YAML; - reads standard input)")
      ->required();
  app->add_option("--set", args->sets, "override a param: --set key=value (repeatable)")->take_all();
  app->add_flag(
      "--json", args->json,
      "print {\"file\", \"valid\", \"steps\"} (or \"valid\": false and \"error\") for scripts");
  Command c{app, [args, &g] {
              pipeline::Document doc;
              const std::string name = pipeline::pipeline_name(args->file);
              const int nranks = g.nranks > 0 ? g.nranks : 1;
              if (args->json) {
                nlohmann::ordered_json j = {{"file", name}};
                int rc = kExitOk;
                try {
                  const pipeline::Plan plan = plan_or_usage(*args, nranks, doc);
                  j["valid"] = true;
                  j["steps"] = plan.steps.size();
                } catch (const UsageError& e) {
                  j["valid"] = false;
                  j["error"] = e.what();
                  fmt::print(stderr, "{}\n", e.what());
                  rc = kExitUsage;
                }
                fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
                return rc;
              }
              const pipeline::Plan plan = plan_or_usage(*args, nranks, doc);
              if (!g.quiet) fmt::print("{}: ok ({} steps)\n", name, plan.steps.size());
              return kExitOk;
            }};
  c.needs_mpi = false;
  return c;
}

}  // namespace dnd::cli
