// dnd bench's outputs: the terminal table, results.json, results.csv and SVG plots of a
// Study, and reading a results.json back (for --compare, and to merge the launches of
// --launcher). Pure functions of the Study: no MPI.
#pragma once

#include "src/bench/study.h"

#include <string>
#include <utility>
#include <vector>

namespace dnd::bench {

// Per case: a heading (what runs, the unit, the baseline), then one line per mode and
// rank count: ranks, size, median / min / max seconds, speedup, efficiency, the figure,
// the figure over the baseline's, and time / old time with --compare.
std::string format_table(const Study& s);

// {"dnd_bench": 1, "context": {...}, "cases": [...], "rows": [...]}; NaN is null.
std::string to_json(const Study& s);

// One line per row and step ("total" first), the context repeated on every line so that
// files from several studies can be concatenated.
std::string to_csv(const Study& s);

// One SVG per case and mode: time, speedup and efficiency against the number of ranks,
// each with its ideal line. (file name under the output directory, contents)
std::vector<std::pair<std::string, std::string>> svg_plots(const Study& s);

// Reads a results.json written by to_json. Throws dnd::ValueError naming the file and
// what is wrong.
Study read_json(const std::string& path);

// Creates dir and dir/plots (and their parents). Throws dnd::ValueError naming the
// directory and the reason.
void prepare_output_dir(const std::string& dir);

// Writes results.json, results.csv and plots/*.svg under dir (created if missing);
// returns the paths written.
std::vector<std::string> write_outputs(const Study& s, const std::string& dir);

}  // namespace dnd::bench
