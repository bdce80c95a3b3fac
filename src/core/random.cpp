#include "src/core/random.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace dnd::random {

namespace {
constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

inline void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// The batched generators twice: for any CPU, and for AVX2 (chosen at run time).
namespace base {
#include "src/core/random_kernels.inc"
}  // namespace base
#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define DND_PHILOX_AVX2 1
namespace avx2 {
#include "src/core/random_kernels.inc"
}  // namespace avx2
#undef DND_PHILOX_AVX2
#pragma GCC pop_options
#define DND_DISPATCH(call)                                                                     \
  do {                                                                                         \
    static const bool kAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); \
    if (kAvx2)                                                                                 \
      avx2::call;                                                                              \
    else                                                                                       \
      base::call;                                                                              \
  } while (0)
#else
#define DND_DISPATCH(call) base::call
#endif
}  // namespace

Counter philox4x32(Counter c, Key k, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    if (r > 0) {
      k[0] += kW0;
      k[1] += kW1;
    }
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kM0, c[0], hi0, lo0);
    mulhilo(kM1, c[2], hi1, lo1);
    c = Counter{hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
  }
  return c;
}

void fill_uniform(uint64_t seed, uint64_t stream, uint64_t g, int64_t n, double low, double span,
                  float* out) {
  DND_DISPATCH(fill_uniform(seed, stream, g, n, low, span, out));
}
void fill_uniform(uint64_t seed, uint64_t stream, uint64_t g, int64_t n, double low, double span,
                  double* out) {
  DND_DISPATCH(fill_uniform(seed, stream, g, n, low, span, out));
}
void fill_bits64(uint64_t seed, uint64_t stream, uint64_t g, int64_t n, uint64_t* out) {
  DND_DISPATCH(fill_bits64(seed, stream, g, n, out));
}
void fill_box_muller(uint64_t seed, uint64_t stream, uint64_t first_pair, int64_t npairs, double* u1,
                     double* u2) {
  DND_DISPATCH(fill_box_muller(seed, stream, first_pair, npairs, u1, u2));
}

}  // namespace dnd::random
