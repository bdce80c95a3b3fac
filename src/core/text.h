// Small text helpers shared by the command line and the pipeline parser.
#pragma once

#include <string>
#include <vector>

namespace dnd {

// ", did you mean 'x'?" for the candidate nearest to `word` (edit distance at most 2
// or a third of its length), else "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// "512 B", "1.5 KiB", "3.0 GiB" (binary units, one decimal).
std::string human_bytes(double bytes);

}  // namespace dnd
