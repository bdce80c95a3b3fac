// Column reductions of a row-major panel: R rows of n values, row i at x + i * ld. Each
// output column folds its R values; the reductions run row by row into a per-column
// accumulator held in cache-sized tiles, so the panel is read once, in memory order.
// (torch's reduction over a leading axis of a contiguous block is several times slower.)
//
// Accuracy: float32 sums accumulate in float64; float64 sums add blocks of 128 rows
// first (two-level summation), so both are at least as accurate as numpy's sum over a
// leading axis (which adds row by row in the input dtype). NaN propagates in min / max.
// Scratch: a few KiB of stack per call; nothing on the heap.
#pragma once

#include <cstdint>

namespace dnd::kernels {

// Whether this CPU runs the AVX2 + FMA builds of the kernels (reduce and map kernels).
bool use_avx2();

// out[j] = sum_i x[i, j] (float32 results are float64 sums rounded once).
void col_sum(const float* x, int64_t R, int64_t ld, int64_t n, float* out);
void col_sum(const double* x, int64_t R, int64_t ld, int64_t n, double* out);
void col_sum(const int32_t* x, int64_t R, int64_t ld, int64_t n, int64_t* out);
void col_sum(const int64_t* x, int64_t R, int64_t ld, int64_t n, int64_t* out);

// out[j] = sum_i (x[i, j] - center[j])^2 (center null: 0), accumulated in float64.
void col_sumsq(const float* x, int64_t R, int64_t ld, int64_t n, const float* center, float* out);
void col_sumsq(const double* x, int64_t R, int64_t ld, int64_t n, const double* center, double* out);

// Shifted moments in one read of x: sum[j] = sum_i (x[i, j] - shift[j]) and
// sumsq[j] = sum_i (x[i, j] - shift[j])^2, in float64. With shift a value near the column's
// mean (a row of the data), (sumsq - sum^2 / R) / R is its variance without the
// cancellation of E[x^2] - E[x]^2 (standardize of float32 tables).
void col_moments(const float* x, int64_t R, int64_t ld, int64_t n, const double* shift, double* sum,
                 double* sumsq);

// out[j] = min_i / max_i x[i, j]; R >= 1. NaN in a column gives NaN (numpy).
void col_extreme(const float* x, int64_t R, int64_t ld, int64_t n, bool is_max, float* out);
void col_extreme(const double* x, int64_t R, int64_t ld, int64_t n, bool is_max, double* out);
void col_extreme(const int32_t* x, int64_t R, int64_t ld, int64_t n, bool is_max, int32_t* out);
void col_extreme(const int64_t* x, int64_t R, int64_t ld, int64_t n, bool is_max, int64_t* out);

// val[j], idx[j] = the extreme of column j and the first row holding it (R >= 1); the
// first NaN wins (numpy's argmin / argmax).
void col_arg_extreme(const float* x, int64_t R, int64_t ld, int64_t n, bool is_max, float* val,
                     int64_t* idx);
void col_arg_extreme(const double* x, int64_t R, int64_t ld, int64_t n, bool is_max, double* val,
                     int64_t* idx);
void col_arg_extreme(const int32_t* x, int64_t R, int64_t ld, int64_t n, bool is_max, int32_t* val,
                     int64_t* idx);
void col_arg_extreme(const int64_t* x, int64_t R, int64_t ld, int64_t n, bool is_max, int64_t* val,
                     int64_t* idx);

}  // namespace dnd::kernels
