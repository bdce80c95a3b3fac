// Checked sizes and the limits every array meets: shapes come from files and pipelines
// that torch never checks before it allocates, so products are checked here.
#pragma once

#include "src/core/types.h"

#include <cstdint>

namespace dnd {

// The most axes an array may have (data movement sends views of at most this many;
// torch allows 64). The planner and the file readers check it.
inline constexpr int64_t kMaxAxes = 32;

// The product of the extents times itemsize; throws ShapeError when it does not fit in
// int64 (shape_numel is checked_numel(s, 1)).
int64_t checked_numel(const Shape& s, int64_t itemsize);

}  // namespace dnd
