// dnd inspect FILE [--dataset D] [-n N] [--split A] [--header N] [--delimiter D] [--json]
// [--svg OUT.svg]: a file's arrays and their distribution maps (every dataset's, or the
// named one's). Metadata only, in this one process, without MPI (needs_mpi = false), so
// it runs on a login node outside any job.
#include "src/cli/commands.h"
#include "io/inspect.h"
#include "io/io.h"

#include "src/core/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <utility>

namespace dnd::cli {

namespace {

struct InspectOptions {
  std::string file, dataset, svg, format = "auto", split = "0", delimiter = ",";
  int nranks = 0;
  int64_t header = 0;
  bool json = false;
  CLI::Option* header_opt = nullptr;
  CLI::Option* delimiter_opt = nullptr;
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

// The field delimiter as the pipeline's CSV load takes it: one character, or "tab" / "\t".
char parse_delimiter(const std::string& d) {
  if (d == "\\t" || d == "tab") return '\t';
  if (d.size() != 1)
    throw UsageError(fmt::format("--delimiter takes one character (or 'tab'), not '{}'", d));
  return d[0];
}

// io speaks the pipeline's parameter names ("set header: 1"); inspect's options are
// spelled --header 1, --delimiter ';'.
std::string as_options(std::string msg) {
  for (const auto& [from, to] :
       {std::pair<std::string, std::string>{"header: ", "--header "}, {"delimiter: ", "--delimiter "}}) {
    for (size_t at = msg.find(from); at != std::string::npos; at = msg.find(from, at + to.size()))
      msg.replace(at, from.size(), to);
  }
  return msg;
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
  io::LoadOptions lo;
  try {
    lo.format = io::format_of(o.file, io::parse_format(o.format));
  } catch (const ValueError& e) {
    throw UsageError(e.what());
  }
  const bool csv = lo.format == io::Format::csv;
  if (!csv &&
      ((o.header_opt && o.header_opt->count() > 0) || (o.delimiter_opt && o.delimiter_opt->count() > 0)))
    throw UsageError(fmt::format("--header and --delimiter are for CSV files; '{}' is {}", o.file,
                                 io::format_name(lo.format)));
  if (o.header < 0) throw UsageError(fmt::format("--header takes a line count >= 0, not {}", o.header));
  lo.header_lines = o.header;
  lo.delimiter = parse_delimiter(o.delimiter);
  // Empty fields do not change a CSV's shape: listed as NaN, never an error here.
  if (csv) lo.missing = std::nan("");

  // One rule for the exit code: anything wrong with what was asked for (an option, the
  // file: missing, not a regular file, unreadable, corrupt, a dataset it lacks, a CSV
  // whose first row does not parse) is exit 2, as a pipeline that does not plan; exit 1
  // only when inspect itself fails (the SVG cannot be written).
  std::vector<io::Entry> entries;
  std::optional<io::ArrayInfo> selected;
  try {
    entries = io::list(o.file, lo);
    if (!o.dataset.empty()) {
      io::LoadOptions named = lo;
      named.dataset = o.dataset;
      selected = io::probe(o.file, named);
    }
  } catch (const Error& e) {
    throw UsageError(csv ? as_options(e.what()) : e.what());
  }
  io::InspectMaps maps;
  try {
    maps = io::inspect_maps(entries, selected ? &*selected : nullptr, split, nranks);
  } catch (const ValueError& e) {
    throw UsageError(e.what());
  }
  if (!o.svg.empty()) {
    // One picture per file: with several datasets, which one to draw is named.
    if (!maps.single) {
      const auto datasets =
          std::count_if(entries.begin(), entries.end(), [](const io::Entry& e) { return !e.is_group; });
      if (maps.maps.empty())
        throw UsageError(fmt::format("--svg: '{}' holds no dataset to draw", o.file));
      throw UsageError(fmt::format(
          "--svg draws one array's distribution: name it with --dataset ('{}' holds {} datasets)",
          o.file, datasets));
    }
    std::ofstream f(o.svg);
    f << io::map_svg(maps.maps[0]);
    if (!f) throw Error(fmt::format("cannot write '{}'", o.svg));
  }
  if (o.json) {
    fmt::print("{}", io::inspect_json(o.file, entries, maps));
    return kExitOk;
  }
  if (g.quiet) return kExitOk;
  fmt::print("{}", io::listing_text(o.file, entries));
  fmt::print("{}", io::maps_text(maps));
  if (!o.svg.empty()) fmt::print("wrote {}\n", o.svg);
  return kExitOk;
}

}  // namespace

Command add_inspect(CLI::App& root, const Global& g) {
  CLI::App* app = root.add_subcommand("inspect",
                                      "Show a file's arrays (HDF5, .npy, CSV) and how each would be "
                                      "split over N ranks (metadata only, no MPI)");
  auto o = std::make_shared<InspectOptions>();
  app->add_option("file", o->file, "the file (.h5 .hdf5 .nc .he5, .npy, .csv)")->required();
  app->add_option(
      "-d,--dataset", o->dataset,
      fmt::format("the dataset to map (default: every dataset, the first {})", io::kMaxMaps));
  app->add_option("-n,--nranks", o->nranks,
                  "ranks of the map (default: the job's rank count, or 4 outside a job)")
      ->check(positive_count());
  app->add_option("--split", o->split, "axis to split along, or 'none'")->capture_default_str();
  app->add_option("--format", o->format, "hdf5, npy, csv or auto (from the extension)")
      ->capture_default_str();
  o->header_opt =
      app->add_option("--header", o->header, "CSV: lines to skip at the top (as load's header)")
          ->capture_default_str();
  o->delimiter_opt =
      app->add_option("--delimiter", o->delimiter, "CSV: field delimiter, one character or 'tab'")
          ->capture_default_str();
  app->add_flag("--json", o->json,
                "print everything as one JSON object (\"distributions\": one map per dataset)");
  app->add_option("--svg", o->svg,
                  "also draw the distribution map into this SVG file (one dataset: the file's only "
                  "one or --dataset)");
  app->footer(fmt::format(
      "Without --dataset every dataset is mapped (at most the first {}; the rest are counted).\n"
      "Exit codes: 0 ok; 2 for anything wrong with what was asked: a bad option, a file that is\n"
      "missing, unreadable, not a regular file or corrupt, an unknown dataset, a split that fits\n"
      "no dataset, a CSV whose first row does not parse (a header line or another delimiter:\n"
      "the message names --header / --delimiter); 1 when the SVG cannot be written.",
      io::kMaxMaps));
  return Command{app, [o, &g] { return run_inspect(*o, g); }, /*needs_mpi=*/false};
}

}  // namespace dnd::cli
