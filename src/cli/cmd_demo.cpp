#include "src/cli/commands.h"
#include "src/core/communicator.h"
#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/printing.h"
#include "src/core/reductions.h"

#include <fmt/format.h>

#include <memory>

namespace dnd::cli {

namespace {

struct DemoOptions {
  std::vector<int64_t> shape{10, 4};
  int64_t split = 0;
  uint64_t seed = 42;
};

int run_demo(const DemoOptions& o, const Global& g) {
  const Communicator world = Communicator::world();
  const bool talk = world.rank() == 0 && !g.quiet;
  for (int64_t d : o.shape)
    if (d < 0) throw UsageError(fmt::format("--shape has a negative dimension: {}", shape_str(o.shape)));
  const auto nd = static_cast<int64_t>(o.shape.size());
  if (o.split < -nd || o.split >= nd)
    throw UsageError(
        fmt::format("--split {} is out of bounds for shape {}", o.split, shape_str(o.shape)));
  const int64_t split = o.split < 0 ? o.split + nd : o.split;

  DNDarray x = random_integers(o.shape, o.seed, 0, 100, ArrayOptions{split});
  const std::string text = to_string(x);  // collective: every rank takes part
  DNDarray col_sums = sum(x, axis(0));
  const std::string sums = to_string(col_sums);
  if (talk) {
    fmt::print("x = random.integers(0, 100, shape={}, seed={}, split={}) on {} rank{}\n\n{}\n\n",
               shape_str(o.shape), o.seed, split, world.size(), world.size() == 1 ? "" : "s", text);
    fmt::print("distribution map:\n{}\n", distribution_table(x));
    fmt::print("sum(x, axis=0) =\n{}\n", sums);
  }
  return kExitOk;
}

}  // namespace

Command add_demo(CLI::App& root, const Global& g) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* app =
      root.add_subcommand("demo", "Make a split random array, print it and its distribution map");
  app->add_option("--shape", o->shape, "global shape, e.g. --shape 10,4")
      ->delimiter(',')
      ->capture_default_str();
  app->add_option("--split", o->split, "the distributed axis")->capture_default_str();
  app->add_option("--seed", o->seed, "random seed (same array at any rank count)")
      ->capture_default_str();
  return Command{app, [o, &g] { return run_demo(*o, g); }};
}

}  // namespace dnd::cli
