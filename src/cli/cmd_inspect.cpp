// dnd inspect FILE [--dataset D] [-n N] [--split A] [--json] [--svg OUT.svg]: a file's
// arrays and the distribution map of one of them. Metadata only, in this one process,
// without MPI (needs_mpi = false), so it runs on a login node outside any job.
#include "src/cli/commands.h"
#include "io/inspect.h"
#include "io/io.h"

#include "src/core/error.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <memory>

namespace dnd::cli {

namespace {

struct InspectOptions {
  std::string file, dataset, svg, format = "auto", split = "0";
  int nranks = 0;
  bool json = false;
};

// The rank count of the job this runs in (read from the launcher's environment, MPI
// stays untouched), or 4 outside any job.
int default_nranks(const Global& g) {
  if (g.nranks > 0) return g.nranks;
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"})
    if (const char* v = std::getenv(var)) {
      const int n = std::atoi(v);
      if (n > 0) return n;
    }
  return 4;
}

int run_inspect(const InspectOptions& o, const Global& g) {
  Split split;
  if (o.split != "none" && o.split != "None") {
    try {
      size_t used = 0;
      split = std::stoll(o.split, &used);
      if (used != o.split.size()) throw std::invalid_argument(o.split);
    } catch (const std::exception&) {
      throw UsageError(fmt::format("--split takes an axis or 'none', not '{}'", o.split));
    }
  }
  const int nranks = o.nranks > 0 ? o.nranks : default_nranks(g);
  io::Format format;
  try {
    format = io::parse_format(o.format);
  } catch (const ValueError& e) {
    throw UsageError(e.what());
  }

  // A file that cannot be read (missing, not a regular file, corrupt) is a bad argument:
  // exit 2, like a bad pipeline.
  std::vector<io::Entry> entries;
  std::optional<io::ArrayInfo> selected;
  try {
    entries = io::list(o.file, format);
    // The array to map: the named one, else the file's only dataset.
    if (!o.dataset.empty()) selected = io::probe(o.file, o.dataset, format);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  if (!o.dataset.empty()) {
  } else {
    std::vector<const io::Entry*> arrays;
    for (const io::Entry& e : entries)
      if (!e.is_group) arrays.push_back(&e);
    if (arrays.size() == 1 && arrays[0]->info.supported) selected = arrays[0]->info;
  }
  std::vector<io::RankBlock> map;
  if (selected) {
    try {
      map = io::distribution_map(selected->shape, split, c10::elementSize(selected->dtype), nranks);
    } catch (const ValueError& e) {
      throw UsageError(e.what());
    }
    if (split) split = normalize_axis(*split, static_cast<int64_t>(selected->shape.size()), "inspect");
  }
  if (!o.svg.empty()) {
    if (!selected) throw UsageError("--svg draws one array's distribution: name it with --dataset");
    std::ofstream f(o.svg);
    f << io::map_svg(*selected, split, map);
    if (!f) throw Error(fmt::format("cannot write '{}'", o.svg));
  }
  if (o.json) {
    fmt::print("{}", io::inspect_json(o.file, entries, selected ? &*selected : nullptr, split, map));
    return kExitOk;
  }
  if (g.quiet) return kExitOk;
  fmt::print("{}", io::listing_text(o.file, entries));
  if (selected)
    fmt::print("\n{}", io::map_text(*selected, split, map));
  else
    fmt::print("\n(name a dataset with --dataset to see its distribution over {} ranks)\n", nranks);
  if (!o.svg.empty()) fmt::print("wrote {}\n", o.svg);
  return kExitOk;
}

}  // namespace

Command add_inspect(CLI::App& root, const Global& g) {
  CLI::App* app = root.add_subcommand("inspect",
                                      "Show a file's arrays (HDF5, .npy, CSV) and how one would be "
                                      "split over N ranks (metadata only, no MPI)");
  auto o = std::make_shared<InspectOptions>();
  app->add_option("file", o->file, "the file (.h5 .hdf5 .nc .he5, .npy, .csv)")->required();
  app->add_option("-d,--dataset", o->dataset, "the dataset to map (default: the file's only one)");
  app->add_option("-n,--nranks", o->nranks,
                  "ranks of the map (default: the job's rank count, or 4 outside a job)")
      ->check(positive_count());
  app->add_option("--split", o->split, "axis to split along, or 'none'")->capture_default_str();
  app->add_option("--format", o->format, "hdf5, npy, csv or auto (from the extension)")
      ->capture_default_str();
  app->add_flag("--json", o->json, "print everything as one JSON object");
  app->add_option("--svg", o->svg, "also draw the distribution map into this SVG file");
  return Command{app, [o, &g] { return run_inspect(*o, g); }, /*needs_mpi=*/false};
}

}  // namespace dnd::cli
