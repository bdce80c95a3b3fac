// Windows along an axis, correct across rank boundaries: numpy.convolve's 1-D convolution
// (full, same, valid) and moving-window reductions (numpy's sliding_window_view(x, w,
// axis).mean(-1) and friends). Along the split axis each rank fetches the input rows its
// balanced share of the result needs (a halo, in one exchange, see halo.h); along other
// axes there is no communication.
#pragma once

#include "src/core/dndarray.h"

#include <string>
#include <vector>

namespace dnd {

enum class ConvolveMode { full, same, valid };
ConvolveMode parse_convolve_mode(const std::string& name);  // throws ValueError

enum class MovingFn { mean, sum, min, max };
MovingFn parse_moving_fn(const std::string& name);  // throws ValueError

// What a window op gives, without data (plan-time; pure).
struct WindowMeta {
  Shape shape;
  Split split;
  Dtype dtype;
  int64_t rows_sent = 0;   // along the split axis, the busiest rank (balanced input)
  int64_t temp_bytes = 0;  // the busiest rank's extra memory: its extended block, a cast copy
};

// numpy.convolve(a, v, mode) along `axis` for every line of `a`: with n = extent, m =
// len(v), full has n + m - 1 values, same max(n, m), valid max(n, m) - min(n, m) + 1. The
// result keeps a's dtype when floating or complex; integer and bool arrays give the default float
// (float32), as dnd's mean does. Throws ValueError for an empty kernel, a bad axis, or an empty axis (as
// numpy).
WindowMeta convolve_meta(const Shape& shape, Split split, Dtype dtype, int64_t kernel_size,
                         ConvolveMode mode, int64_t axis, int nranks);
// Collective over a.comm(). `v`: the 1-D kernel (any CPU tensor; cast to the result dtype).
DNDarray convolve(const DNDarray& a, const at::Tensor& v, ConvolveMode mode, int64_t axis);

// fn over every window of `window` consecutive slices along `axis`: extent n - window + 1.
// mean gives the default float (float32) for integer and bool arrays; sum follows torch (integers to
// int64).
WindowMeta moving_meta(const Shape& shape, Split split, Dtype dtype, int64_t window, MovingFn fn,
                       int64_t axis, int nranks);
// Collective over a.comm().
DNDarray moving(const DNDarray& a, int64_t window, MovingFn fn, int64_t axis);

}  // namespace dnd
