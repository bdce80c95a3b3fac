// dnd info [--json]: dnd's build and runtime (torch, MPI, BLAS, threads, ranks), rank 0.
#include "src/cli/commands.h"
#include "src/core/communicator.h"
#include "src/core/runtime.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <memory>

namespace dnd::cli {

Command add_info(CLI::App& root, const Global& g) {
  CLI::App* app =
      root.add_subcommand("info", "Show dnd's build and runtime: torch, MPI, BLAS, threads, ranks");
  auto json = std::make_shared<bool>(false);
  app->add_flag("--json", *json, "machine-readable output (one JSON object)");
  return Command{app, [json] {
                   if (Communicator::world().rank() != 0) return kExitOk;
                   if (!*json) {
                     fmt::print("{}", runtime_report());
                     return kExitOk;
                   }
                   const RuntimeFacts f = runtime_facts();
                   const nlohmann::ordered_json j{{"dnd", f.dnd},
                                                  {"torch", f.torch},
                                                  {"mpi", f.mpi},
                                                  {"blas", f.blas},
                                                  {"ranks", f.ranks},
                                                  {"ranks_on_node", f.node_ranks},
                                                  {"threads_per_rank", f.threads},
                                                  {"allocator", f.allocator},
                                                  {"transfers", f.transfers},
                                                  {"cuda", f.cuda},
                                                  {"gpus", f.gpus}};
                   fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
                   return kExitOk;
                 }};
}

}  // namespace dnd::cli
