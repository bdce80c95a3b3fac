// What `dnd inspect` shows: a file's arrays and how they would be distributed over N
// ranks, as a table with bars, as JSON, and as an SVG picture. Pure functions of
// metadata: no MPI, no data read.
#pragma once

#include "io/io.h"

#include <string>
#include <utility>
#include <vector>

namespace dnd::io {

// One rank's share of an array (balanced blocks, DESIGN.md's rule).
struct RankBlock {
  int rank = 0;
  int64_t start = 0, stop = 0;  // index range along the split axis (the whole axis 0 when replicated)
  Shape lshape;
  int64_t bytes = 0;
};

// Ranks shown at each end of a long map: with more than 2 * kMapEdge ranks, the map
// holds the first and the last kMapEdge only (like numpy's summarised printing), so that
// `-n 100000000` stays a short listing.
constexpr int kMapEdge = 8;

// The blocks of an array of `shape` split along `split` over `nranks` ranks (replicated:
// every rank holds everything), summarised as above: the last entry is always rank
// nranks - 1 (map_ranks). Throws ValueError for a bad axis or rank count.
std::vector<RankBlock> distribution_map(const Shape& shape, Split split, int64_t itemsize, int nranks);
// The rank count a map was made for.
int map_ranks(const std::vector<RankBlock>& map);

// One array's map: the array, the axis it is split along (normalised; none: replicated)
// and its blocks.
struct DatasetMap {
  ArrayInfo info;
  Split split;
  std::vector<RankBlock> map;
};

// Datasets mapped at most when no dataset is named, so that a file of thousands of
// datasets stays a bounded listing (the others are counted, and --dataset picks one).
constexpr int kMaxMaps = 32;

// The maps `dnd inspect` shows.
struct InspectMaps {
  std::vector<DatasetMap> maps;
  // Datasets among the first kMaxMaps supported ones that `split` does not fit (a 0-d
  // array, too few axes): the dataset and the reason.
  std::vector<std::pair<std::string, std::string>> unmapped;
  int64_t left_out = 0;  // supported datasets after the first kMaxMaps, not considered
  // The map of one named dataset, or of the file's only dataset: JSON's "distribution".
  bool single = false;
  Split split;  // the split asked for
};

// The map of `selected` when given (a bad split or rank count throws ValueError), else
// of every supported dataset of `entries` (the first kMaxMaps; those the split does not
// fit are `unmapped`; ValueError when it fits none of them).
InspectMaps inspect_maps(const std::vector<Entry>& entries, const ArrayInfo* selected, Split split,
                         int nranks);

// The tree of groups and datasets: path, shape, dtype, layout, chunks, compression, bytes.
std::string listing_text(const std::string& path, const std::vector<Entry>& entries);
// For every rank: index range, local shape, bytes, and a bar showing where its block
// lies along the split axis (`width` characters for the whole axis).
std::string map_text(const DatasetMap& m, int width = 48);
// Every map of `maps` as map_text, then the datasets not mapped and how many were left out.
std::string maps_text(const InspectMaps& maps);
// A picture of the map: the array as a rectangle (rows down, the split axis across for a
// later split) or, 1-D, as a bar; split blocks coloured by rank and labelled with their
// index range, local shape and bytes, ticks at the block boundaries, a legend of every
// rank shown; replicated arrays as a stack of hatched copies, one per rank, labelled
// "replicated".
std::string map_svg(const DatasetMap& m);
// Everything as one JSON object: {"file", "format", "entries": [...], "distribution":
// {...} (the named or only dataset's map, else null), "distributions": [every map],
// "unmapped": [{"dataset", "reason"}], "distributions_left_out": N}.
std::string inspect_json(const std::string& path, const std::vector<Entry>& entries,
                         const InspectMaps& maps);

}  // namespace dnd::io
