// Halos: slices of neighbouring blocks along the split axis (Heat's get_halo, Dask's
// map_overlap), and the general row fetch they are built on.
//
// A rank holding rows [o, o + n) of a split array with n_total rows may ask for any range
// [lo, hi) of global rows; positions outside [0, n_total) are filled by the boundary rule:
//
// | boundary | row g < 0 or g >= n_total becomes                                       |
// |----------|--------------------------------------------------------------------------|
// | none     | nothing: such positions must not be asked for (ranges are clipped)       |
// | constant | a row of `value`                                                         |
// | reflect  | the mirrored row, edge included: -1 -> 0, -2 -> 1, n -> n-1 (period 2n)  |
// | wrap     | row g mod n_total (periodic)                                              |
//
// The rows come from whichever ranks own them, however far (a block shorter than the halo
// takes rows from several ranks), in one personalised exchange; what each rank sends to
// each other rank is computed from the metadata alone, identically on every rank, so no
// request messages are needed.
#pragma once

#include "src/core/dndarray.h"

#include <c10/core/Scalar.h>

#include <string>
#include <vector>

namespace dnd {

enum class Boundary { none, constant, reflect, wrap };
// "none", "constant", "reflect", "wrap"; throws ValueError otherwise.
Boundary parse_boundary(const std::string& name);
const char* boundary_name(Boundary b);

struct RowRange {
  int64_t lo = 0;
  int64_t hi = 0;  // exclusive; hi <= lo is empty
  int64_t size() const noexcept { return hi > lo ? hi - lo : 0; }
};

// Pure: the number of rows rank `rank` sends to other ranks when every rank r asks for the
// ranges wants[r] of an axis cut into `counts` (for plan-time accounting).
int64_t fetch_rows_sent(const std::vector<int64_t>& counts,
                        const std::vector<std::vector<RowRange>>& wants, Boundary b, int rank);

// Collective over a.comm(). wants[r] are the global row ranges (along the split axis)
// rank r asks for, the same vector on every rank. Returns this rank's ranges as tensors
// shaped like its block with the split extent replaced by each range's size. Throws
// ValueError for a replicated array, a boundary of `none` with a range reaching outside
// the array, or a non-none boundary on an array with no rows.
std::vector<at::Tensor> fetch_rows(const DNDarray& a, const std::vector<std::vector<RowRange>>& wants,
                                   Boundary b, const c10::Scalar& value = 0);

// The ranges that a halo of h rows on each side asks for (boundary none clips them to the
// array), for every rank of the cut `counts`: {before, after} per rank.
std::vector<std::vector<RowRange>> halo_ranges(const std::vector<int64_t>& counts, int64_t h,
                                               Boundary b);

struct Halo {
  at::Tensor before;  // the rows before this rank's block (fewer than h with boundary none at the start)
  at::Tensor after;
};

// Collective over a.comm(): the h slices on each side of this rank's block along the
// split axis, in one exchange. h >= 0.
Halo get_halo(const DNDarray& a, int64_t h, Boundary b = Boundary::none, const c10::Scalar& value = 0);

// Collective over a.comm(): this rank's block extended by its halo (before, block, after
// concatenated along the split axis); `before`/`after` receive the rows added.
at::Tensor with_halo(const DNDarray& a, int64_t h, Boundary b, const c10::Scalar& value, int64_t* before,
                     int64_t* after);

// Rows rank `rank` sends for a halo of h rows (plan-time accounting; pure).
int64_t halo_rows_sent(const std::vector<int64_t>& counts, int64_t h, Boundary b, int rank);

}  // namespace dnd
