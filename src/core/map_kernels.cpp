#include "src/core/map_kernels.h"
#include "src/core/reduce_kernels.h"  // use_avx2

#include <cstdint>
#include <limits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

// The loops twice: for any x86-64 (or other) CPU, and for AVX2 with streaming stores
// (chosen at run time).
namespace dnd::kernels {
namespace base {
#include "src/core/map_kernels.inc"
}  // namespace base

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
#include "src/core/map_kernels.inc"

// 8 floats or 4 doubles per vector, with the selects of nan_to_num_one.
struct F {
  using T = float;
  using V = __m256;
  static constexpr int kLanes = 8;
  static V set1(T v) { return _mm256_set1_ps(v); }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static void stream(T* p, V v) { _mm256_stream_ps(p, v); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V eq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static V unord(V a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static V blend(V a, V b, V m) { return _mm256_blendv_ps(a, b, m); }
};
struct D {
  using T = double;
  using V = __m256d;
  static constexpr int kLanes = 4;
  static V set1(T v) { return _mm256_set1_pd(v); }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static void stream(T* p, V v) { _mm256_stream_pd(p, v); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V eq(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
  static V unord(V a) { return _mm256_cmp_pd(a, a, _CMP_UNORD_Q); }
  static V blend(V a, V b, V m) { return _mm256_blendv_pd(a, b, m); }
};

bool aligned32(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 31) == 0; }

template <class S>
void nan_to_num_stream(const typename S::T* in, typename S::T* out, int64_t n, typename S::T nan,
                       typename S::T posinf, typename S::T neginf) {
  using T = typename S::T;
  int64_t i = 0;
  for (; i < n && !aligned32(out + i); ++i) out[i] = nan_to_num_one(in[i], nan, posinf, neginf);
  const auto vinf = S::set1(std::numeric_limits<T>::infinity());
  const auto vninf = S::set1(-std::numeric_limits<T>::infinity());
  const auto vnan = S::set1(nan), vp = S::set1(posinf), vn = S::set1(neginf);
  for (; i + S::kLanes <= n; i += S::kLanes) {
    const auto v = S::load(in + i);
    auto r = S::blend(v, vp, S::eq(v, vinf));
    r = S::blend(r, vn, S::eq(v, vninf));
    S::stream(out + i, S::blend(r, vnan, S::unord(v)));
  }
  _mm_sfence();  // the streamed lines are visible to every later load, on any core
  for (; i < n; ++i) out[i] = nan_to_num_one(in[i], nan, posinf, neginf);
}

// Rows that start 32-byte aligned (C a multiple of the lanes, out aligned): vectors per
// row, streamed; other shapes take the plain loop.
template <class S>
bool center_scale_stream(const typename S::T* x, typename S::T* out, int64_t r0, int64_t r1, int64_t C,
                         const typename S::T* sub, const typename S::T* mul) {
  if (C % S::kLanes != 0 || !aligned32(out)) return false;
  for (int64_t i = r0; i < r1; ++i) {
    const typename S::T* xr = x + i * C;
    typename S::T* orow = out + i * C;
    for (int64_t j = 0; j < C; j += S::kLanes)
      S::stream(orow + j, S::mul(S::sub(S::load(xr + j), S::load(sub + j)), S::load(mul + j)));
  }
  _mm_sfence();
  return true;
}

}  // namespace avx2
#pragma GCC pop_options
#define DND_HAVE_AVX2_MAP_KERNELS 1
#endif

namespace {

template <class T>
void nan_to_num_any(const T* in, T* out, int64_t n, T nan, T posinf, T neginf) {
#ifdef DND_HAVE_AVX2_MAP_KERNELS
  if (use_avx2()) {
    // In place, the lines are read anyway: plain stores.
    if (in != out && n * static_cast<int64_t>(sizeof(T)) >= kStreamBytes) {
      if constexpr (sizeof(T) == 4)
        avx2::nan_to_num_stream<avx2::F>(in, out, n, nan, posinf, neginf);
      else
        avx2::nan_to_num_stream<avx2::D>(in, out, n, nan, posinf, neginf);
    } else {
      avx2::nan_to_num_loop(in, out, n, nan, posinf, neginf);
    }
    return;
  }
#endif
  base::nan_to_num_loop(in, out, n, nan, posinf, neginf);
}

template <class T>
void center_scale_any(const T* x, T* out, int64_t r0, int64_t r1, int64_t C, const T* sub, const T* mul,
                      bool stream) {
#ifdef DND_HAVE_AVX2_MAP_KERNELS
  if (use_avx2()) {
    bool done = false;
    if (stream && x != out) {
      if constexpr (sizeof(T) == 4)
        done = avx2::center_scale_stream<avx2::F>(x, out, r0, r1, C, sub, mul);
      else
        done = avx2::center_scale_stream<avx2::D>(x, out, r0, r1, C, sub, mul);
    }
    if (!done) avx2::center_scale_loop(x, out, r0, r1, C, sub, mul);
    return;
  }
#endif
  base::center_scale_loop(x, out, r0, r1, C, sub, mul);
}
}  // namespace

void nan_to_num(const float* in, float* out, int64_t n, float nan, float posinf, float neginf) {
  nan_to_num_any(in, out, n, nan, posinf, neginf);
}
void nan_to_num(const double* in, double* out, int64_t n, double nan, double posinf, double neginf) {
  nan_to_num_any(in, out, n, nan, posinf, neginf);
}
void center_scale(const float* x, float* out, int64_t r0, int64_t r1, int64_t C, const float* sub,
                  const float* mul, bool stream) {
  center_scale_any(x, out, r0, r1, C, sub, mul, stream);
}
void center_scale(const double* x, double* out, int64_t r0, int64_t r1, int64_t C, const double* sub,
                  const double* mul, bool stream) {
  center_scale_any(x, out, r0, r1, C, sub, mul, stream);
}

}  // namespace dnd::kernels
