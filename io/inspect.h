// What `dnd inspect` shows: a file's arrays and how one of them would be distributed
// over N ranks, as a table with bars, as JSON, and as an SVG picture. Pure functions of
// metadata: no MPI, no data read.
#pragma once

#include "io/io.h"

#include <string>
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

// The tree of groups and datasets: path, shape, dtype, layout, chunks, compression, bytes.
std::string listing_text(const std::string& path, const std::vector<Entry>& entries);
// For every rank: index range, local shape, bytes, and a bar showing where its block
// lies along the split axis (`width` characters for the whole axis).
std::string map_text(const ArrayInfo& info, Split split, const std::vector<RankBlock>& map,
                     int width = 48);
// A picture of the map: the array as a rectangle (split axis across, or down for split
// 0), blocks coloured by rank and labelled.
std::string map_svg(const ArrayInfo& info, Split split, const std::vector<RankBlock>& map);
// Everything as one JSON object: {"file", "format", "entries": [...], "distribution": {...}}
// (distribution null when `selected` is null).
std::string inspect_json(const std::string& path, const std::vector<Entry>& entries,
                         const ArrayInfo* selected, Split split, const std::vector<RankBlock>& map);

}  // namespace dnd::io
