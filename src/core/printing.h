// Printing DNDarrays in Heat's form:
//
//   DNDarray([[0., 1., 2.],
//             [3., 4., 5.]], dtype=float32, device=cpu:0, split=0)
//
// Arrays above the threshold are summarised like numpy ("..." between the first and
// last `edgeitems` entries of every axis); only those entries travel, so printing a
// large split array never gathers it.
#pragma once

#include "src/core/dndarray.h"

#include <iosfwd>
#include <string>

namespace dnd {

struct PrintOptions {
  int64_t threshold = 1000;  // summarise above this many elements
  int64_t edgeitems = 3;     // entries kept at each end of a summarised axis
  int precision = 4;         // digits after the point for floats
  int linewidth = 80;        // wrap rows longer than this
};

// Collective over a's communicator; every rank gets the same string.
std::string to_string(const DNDarray& a, const PrintOptions& opts = {});
// Collective; writes on every rank (callers usually print from rank 0 only).
std::ostream& operator<<(std::ostream& os, const DNDarray& a);

// Formats a full tensor (already local) with numpy-like layout; `prefix` is the text
// before the opening bracket, used for the continuation indent. `summarised_from`, when
// non-empty, is the original shape of a tensor that holds only edge items.
std::string format_tensor(const at::Tensor& t, const std::string& prefix, const PrintOptions& opts,
                          const Shape& summarised_from = {});

// The distribution map: one line per rank with its index range along the split axis,
// its local shape and bytes, and a bar proportional to its share. No communication.
std::string distribution_table(const DNDarray& a);

}  // namespace dnd
