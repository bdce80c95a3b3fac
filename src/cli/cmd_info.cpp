#include "src/cli/commands.h"
#include "src/core/communicator.h"
#include "src/core/runtime.h"

#include <fmt/format.h>

namespace dnd::cli {

Command add_info(CLI::App& root, const Global& g) {
  CLI::App* app =
      root.add_subcommand("info", "Show dnd's build and runtime: torch, MPI, BLAS, threads, ranks");
  return Command{app, [] {
                   if (Communicator::world().rank() == 0) fmt::print("{}", runtime_report());
                   return kExitOk;
                 }};
}

}  // namespace dnd::cli
