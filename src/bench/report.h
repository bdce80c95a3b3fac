// dnd bench's outputs: the terminal table, results.json, results.csv and SVG plots of a
// Study, and reading a results.json back (for --compare, and to merge the launches of
// --launcher). Pure functions of the Study: no MPI.
#pragma once

#include "src/bench/study.h"

#include <string>
#include <utility>
#include <vector>

namespace dnd::bench {

// The machine (and the oversubscription warning), then per case: a heading (what runs,
// the unit, the baseline), then one line per mode and rank count: ranks, size, median /
// min / max seconds, speedup, efficiency, the figure, the figure over the baseline's,
// with --time the whole run's median, and time / old time with --compare; under each
// line, for runs of two or more steps, each step's median / min / max.
std::string format_table(const Study& s);

// {"dnd_bench": 1, "context": {...}, "cases": [...], "rows": [...]}; NaN is null.
std::string to_json(const Study& s);

// One line per row and step ("total" first), the context repeated on every line so that
// files from several studies can be concatenated.
std::string to_csv(const Study& s);

struct PlotOptions {
  bool log = false;  // --log: log-log time and speedup panels (and per-step plots)
};

// One SVG per case and mode: time, speedup and efficiency against the number of ranks,
// each with its ideal line; and for a case whose runs have two or more steps, one more
// (<case>-<mode>-steps.svg): each step's median against the ranks, one line per step.
// Each names the machine, and the oversubscription warning when there is one. (file name
// under the output directory, contents)
std::vector<std::pair<std::string, std::string>> svg_plots(const Study& s, const PlotOptions& o = {});

// Whether a file in plots/ is one that svg_plots writes: by its name (<case>-<mode>.svg,
// <case>-<mode>-steps.svg) and its first bytes `head` (the mark dnd bench puts in it, or
// the panels of an unmarked one from an older dnd).
bool is_bench_plot(const std::string& name, const std::string& head);

// Reads a results.json written by to_json. Throws dnd::ValueError naming the file and
// what is wrong.
Study read_json(const std::string& path);

// Creates dir and dir/plots (and their parents). Throws dnd::ValueError naming the
// directory and the reason.
void prepare_output_dir(const std::string& dir);

// Writes results.json, results.csv and plots/*.svg under dir (created if missing), then
// removes the plots of an earlier study there that this one did not write (is_bench_plot;
// their paths in *removed); returns the paths written.
std::vector<std::string> write_outputs(const Study& s, const std::string& dir, const PlotOptions& o = {},
                                       std::vector<std::string>* removed = nullptr);

}  // namespace dnd::bench
