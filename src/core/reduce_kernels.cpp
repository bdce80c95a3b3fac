#include "src/core/reduce_kernels.h"

// The kernels twice: for any x86-64 (or other) CPU, and for AVX2 (chosen at run time).
namespace dnd::kernels {
namespace base {
#include "src/core/reduce_kernels.inc"
}  // namespace base

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
#include "src/core/reduce_kernels.inc"
}  // namespace avx2
#pragma GCC pop_options
#define DND_HAVE_AVX2_KERNELS 1
#endif

bool use_avx2() {
#ifdef DND_HAVE_AVX2_KERNELS
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

#ifdef DND_HAVE_AVX2_KERNELS
#define DND_DISPATCH(call) return use_avx2() ? avx2::call : base::call
#else
#define DND_DISPATCH(call) return base::call
#endif

void col_sum(const float* x, int64_t R, int64_t ld, int64_t n, float* out) {
  DND_DISPATCH(col_sum(x, R, ld, n, out));
}
void col_sum(const double* x, int64_t R, int64_t ld, int64_t n, double* out) {
  DND_DISPATCH(col_sum(x, R, ld, n, out));
}
void col_sum(const int32_t* x, int64_t R, int64_t ld, int64_t n, int64_t* out) {
  DND_DISPATCH(col_sum(x, R, ld, n, out));
}
void col_sum(const int64_t* x, int64_t R, int64_t ld, int64_t n, int64_t* out) {
  DND_DISPATCH(col_sum(x, R, ld, n, out));
}
void col_sumsq(const float* x, int64_t R, int64_t ld, int64_t n, const float* center, float* out) {
  DND_DISPATCH(col_sumsq(x, R, ld, n, center, out));
}
void col_sumsq(const double* x, int64_t R, int64_t ld, int64_t n, const double* center, double* out) {
  DND_DISPATCH(col_sumsq(x, R, ld, n, center, out));
}
void col_moments(const float* x, int64_t R, int64_t ld, int64_t n, const double* shift, double* sum,
                 double* sumsq) {
  DND_DISPATCH(col_moments(x, R, ld, n, shift, sum, sumsq));
}
void col_extreme(const float* x, int64_t R, int64_t ld, int64_t n, bool is_max, float* out) {
  DND_DISPATCH(col_extreme(x, R, ld, n, is_max, out));
}
void col_extreme(const double* x, int64_t R, int64_t ld, int64_t n, bool is_max, double* out) {
  DND_DISPATCH(col_extreme(x, R, ld, n, is_max, out));
}
void col_extreme(const int32_t* x, int64_t R, int64_t ld, int64_t n, bool is_max, int32_t* out) {
  DND_DISPATCH(col_extreme(x, R, ld, n, is_max, out));
}
void col_extreme(const int64_t* x, int64_t R, int64_t ld, int64_t n, bool is_max, int64_t* out) {
  DND_DISPATCH(col_extreme(x, R, ld, n, is_max, out));
}

#define DND_ARG(T)                                                                        \
  void col_arg_extreme(const T* x, int64_t R, int64_t ld, int64_t n, bool is_max, T* val, \
                       int64_t* idx) {                                                    \
    DND_DISPATCH(col_arg_extreme(x, R, ld, n, is_max, val, idx));                         \
  }
DND_ARG(float)
DND_ARG(double)
DND_ARG(int32_t)
DND_ARG(int64_t)
#undef DND_ARG

}  // namespace dnd::kernels
