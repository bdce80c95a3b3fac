// dnd checkpoints DIR: what a checkpoint directory holds (step, key, shape, size, age), and
// with --remove-stale the checkpoints no run would read. No MPI.
#include "src/cli/commands.h"
#include "src/pipeline/checkpoint.h"
#include "src/pipeline/plan.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace dnd::cli {

namespace {

struct CheckpointsArgs {
  std::string dir;
  std::string pipeline;
  std::vector<std::string> sets;
  bool remove_stale = false;
  bool json = false;
};

std::string age_str(double s) {
  if (s < 120) return fmt::format("{:.0f} s", s);
  if (s < 7200) return fmt::format("{:.0f} min", s / 60);
  if (s < 172800) return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} d", s / 86400);
}

int list(const CheckpointsArgs& a, const Global& g) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(a.dir, ec)) throw UsageError(fmt::format("{}: no such directory", a.dir));
  std::vector<pipeline::CheckpointEntry> entries = pipeline::list_checkpoints(a.dir);
  // Stale: with --pipeline, a key that no step of the pipeline has now; without, every
  // checkpoint of a step but its newest, and files that are no readable checkpoint.
  std::set<std::string> current;  // "step key"
  if (!a.pipeline.empty()) {
    try {
      const pipeline::Plan plan =
          pipeline::make_plan(pipeline::load_document(a.pipeline, a.sets), g.nranks > 0 ? g.nranks : 1);
      const std::vector<std::string> keys = pipeline::step_keys(plan);
      for (size_t i = 0; i < keys.size(); ++i) current.insert(plan.steps[i].step->id + " " + keys[i]);
    } catch (const pipeline::PipelineError& e) {
      throw UsageError(e.what(), /*bare=*/true);
    }
  }
  // A step's results and an op's own state (kmeans) are kept apart.
  auto kind = [](const pipeline::CheckpointEntry& e) { return e.step + "\n" + e.op; };
  std::map<std::string, double> newest;  // kind -> smallest age
  for (const auto& e : entries)
    if (e.problem.empty() && (!newest.count(kind(e)) || e.age_seconds < newest[kind(e)]))
      newest[kind(e)] = e.age_seconds;
  std::vector<bool> stale;
  for (const auto& e : entries)
    stale.push_back(!e.problem.empty() || (a.pipeline.empty() ? e.age_seconds > newest[kind(e)]
                                                              : !current.count(e.step + " " + e.key)));
  int removed = 0;
  int64_t freed = 0;
  if (a.remove_stale)
    for (size_t i = 0; i < entries.size(); ++i)
      if (stale[i] && fs::remove(entries[i].file, ec)) {
        ++removed;
        freed += entries[i].bytes;
      }
  if (a.json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (size_t i = 0; i < entries.size(); ++i) {
      const auto& e = entries[i];
      list.push_back({{"file", e.file},
                      {"step", e.step},
                      {"key", e.key},
                      {"op", e.op},
                      {"datasets", e.datasets},
                      {"arrays", e.metas},
                      {"bytes", e.bytes},
                      {"age_seconds", e.age_seconds},
                      {"stale", static_cast<bool>(stale[i])},
                      {"removed", a.remove_stale && stale[i]},
                      {"problem", e.problem}});
    }
    fmt::print(
        "{}\n",
        nlohmann::ordered_json{{"dir", fs::absolute(a.dir, ec).string()}, {"checkpoints", list}}.dump(
            2, ' ', false, nlohmann::json::error_handler_t::replace));
    return kExitOk;
  }
  if (entries.empty()) {
    fmt::print("{}: no checkpoints\n", a.dir);
    return kExitOk;
  }
  fmt::print("{:<16} {:<16} {:<34} {:>10} {:>8}  {}\n", "step", "key", "arrays", "size", "age", "file");
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    const std::string name = fs::path(e.file).filename().string();
    const std::string what = e.problem.empty() ? (e.metas.empty() ? "" : e.metas[0]) : e.problem;
    fmt::print("{:<16} {:<16} {:<34} {:>10} {:>8}  {}{}\n", e.step.empty() ? "?" : e.step, e.key, what,
               human_bytes(static_cast<double>(e.bytes)), age_str(e.age_seconds), name,
               !stale[i]        ? ""
               : a.remove_stale ? "  (stale: removed)"
                                : "  (stale)");
    for (size_t m = 1; m < e.metas.size(); ++m) fmt::print("{:<33} {}\n", "", e.metas[m]);
  }
  if (a.remove_stale)
    fmt::print("removed {} stale checkpoint{} ({})\n", removed, removed == 1 ? "" : "s",
               human_bytes(static_cast<double>(freed)));
  return kExitOk;
}

}  // namespace

Command add_checkpoints(CLI::App& root, const Global& g) {
  auto args = std::make_shared<CheckpointsArgs>();
  CLI::App* app = root.add_subcommand(
      "checkpoints", "List a checkpoint directory (step, key, arrays, size, age); remove stale ones");
  app->add_option("dir", args->dir, "the checkpoint directory (dnd plan shows a pipeline's)")
      ->required();
  app->add_option("--pipeline", args->pipeline,
                  "stale means: no step of this pipeline has the key now (else: older than the "
                  "newest checkpoint of its step)");
  app->add_option("--set", args->sets, "override a param of --pipeline: --set key=value (repeatable)")
      ->take_all();
  app->add_flag("--remove-stale", args->remove_stale, "remove the stale checkpoints");
  app->add_flag("--json", args->json, "machine-readable output");
  Command c{app, [args, &g] { return list(*args, g); }};
  c.needs_mpi = false;
  return c;
}

}  // namespace dnd::cli
