// Basic indexing of DNDarrays with numpy semantics: a[start:stop:step, i, ...].
//
// An index is a Slice (start, stop, step; each optional, negative values count from the
// end, step may be negative but not 0), an integer (selects one entry and drops the axis),
// or Ellipsis (stands for as many full slices as needed). Fewer indices than axes leave
// the remaining axes whole.
//
// getitem never gathers: along the split axis each rank keeps the part of the selection
// it holds, so the result is split along the same axis (shifted left by the integer
// indices before it) and may be unbalanced; a negative step along the split axis moves
// each rank's part to its mirror rank (one message per rank). An integer index on the
// split axis drops that axis: its owner broadcasts the selected slab and the result is
// replicated. setitem writes a scalar or a broadcastable DNDarray into the selection,
// across rank boundaries, moving only the value's elements to the ranks that own their
// destinations.
#pragma once

#include "src/core/dndarray.h"
#include "src/core/elementwise.h"

#include <optional>
#include <utility>
#include <variant>
#include <vector>

namespace dnd {

struct Slice {
  std::optional<int64_t> start;
  std::optional<int64_t> stop;
  std::optional<int64_t> step;
};

struct Ellipsis {};

using Index = std::variant<int64_t, Slice, Ellipsis>;

// Collective over a's communicator. Throws ValueError (step 0, too many indices, more
// than one Ellipsis) or IndexError-like ValueError naming the axis and its extent for an
// integer index out of range ("getitem: index 7 is out of bounds for axis 0 with size 5").
// Errors come from global metadata, so every rank throws alike. The result is a new
// array (it shares no memory with a); its counts along the split axis are the numbers of
// selected entries each rank held (in reversed rank order for a negative step), so it may
// be unbalanced, with empty ranks.
DNDarray getitem(const DNDarray& a, const std::vector<Index>& indices);

// Collective: writes value (scalar, or a DNDarray broadcastable to the selection's shape)
// into the selection of a, in place. The value is cast to a's dtype (numpy's rules).
// numpy's assignment broadcasting: extra leading value axes must have extent 1. A value
// that runs along the selection's split axis is resplit to the owners of its destinations
// (reversed first for a negative step); one that broadcasts along it is allgathered;
// for an integer on the split axis it goes to the owning rank alone. Throws the errors of
// getitem (naming setitem), ShapeError when the value does not broadcast, and ValueError
// when it lives on another communicator; a is unchanged then.
void setitem(DNDarray& a, const std::vector<Index>& indices, const Operand& value);

// getitem's result shape and split from metadata only (no data, no MPI); throws as
// getitem would.
std::pair<Shape, Split> getitem_meta(const Shape& gshape, Split split,
                                     const std::vector<Index>& indices);

}  // namespace dnd
