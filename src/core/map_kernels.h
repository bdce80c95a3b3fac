// Elementwise passes over contiguous CPU buffers that torch 1.13 runs slowly (a scalar
// loop for nan_to_num; two passes and a temporary for (x - mean) / std), compiled for any
// x86-64 CPU and for AVX2 (chosen at run time, as reduce_kernels.h). Each reads its input
// once and writes its output once; on AVX2 an output of kStreamBytes or more is written
// with streaming stores, which do not read the destination's cache lines first (a plain
// store moves 12 bytes per float for 8 of data), so these passes run at about the memory
// bandwidth of one read and one write.
#pragma once

#include <cstdint>

namespace dnd::kernels {

// Outputs from this size on are written with streaming stores (they would not stay in
// cache anyway).
inline constexpr int64_t kStreamBytes = int64_t{8} << 20;

// out[i] = nan where in[i] is NaN, posinf / neginf where it is +inf / -inf, else in[i];
// i in [0, n). out may equal in (in place).
void nan_to_num(const float* in, float* out, int64_t n, float nan, float posinf, float neginf);
void nan_to_num(const double* in, double* out, int64_t n, double nan, double posinf, double neginf);

// out[i, j] = (x[i, j] - sub[j]) * mul[j] for the rows [r0, r1) of a row-major block of C
// columns (x and out point at row 0). `stream`: streaming stores when the CPU has them
// (the caller decides by the whole output's size; rows may be handed out in pieces).
void center_scale(const float* x, float* out, int64_t r0, int64_t r1, int64_t C, const float* sub,
                  const float* mul, bool stream);
void center_scale(const double* x, double* out, int64_t r0, int64_t r1, int64_t C, const double* sub,
                  const double* mul, bool stream);

}  // namespace dnd::kernels
