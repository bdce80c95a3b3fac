#include "kernels/cluster/nearest_impl.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

// Every entry point is cloned for AVX-512, AVX2 and the portable baseline; the loader
// picks one per process, so all ranks of a job on one kind of CPU run the same code.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DND_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DND_CLONES
#endif
#define DND_INLINE inline __attribute__((always_inline))

namespace dnd::cluster::detail {

namespace {

// kLanes centers in one (GCC vector extension) vector, and the matching integer vector.
template <typename T>
struct Simd;
template <>
struct Simd<float> {
  typedef float V __attribute__((vector_size(kLanes * sizeof(float))));
  typedef int32_t I __attribute__((vector_size(kLanes * sizeof(int32_t))));
  using Int = int32_t;
  // Rows handled together so that independent accumulators hide the FMA latency.
  static constexpr int kRows = 8;
};
template <>
struct Simd<double> {
  typedef double V __attribute__((vector_size(kLanes * sizeof(double))));
  typedef int64_t I __attribute__((vector_size(kLanes * sizeof(int64_t))));
  using Int = int64_t;
  static constexpr int kRows = 4;
};

template <typename V, typename T>
DND_INLINE V loadv(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename V>
DND_INLINE V vmin(V a, V b) {
  return a < b ? a : b;
}

// Every lane holds the minimum over the lanes.
template <typename V>
DND_INLINE V hmin(V v) {
  v = vmin(v, __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3));
  v = vmin(v, __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5));
  v = vmin(v, __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6));
  return v;
}

// acc[p] = squared distances of row p to the kLanes centers of tile t.
template <typename T, int P>
DND_INLINE void tile_dist(const T* x, int64_t d, const PackedCenters<T>& pc, int64_t t,
                          typename Simd<T>::V* acc) {
  using V = typename Simd<T>::V;
  const T* ct = pc.ct.data() + t * d * kLanes;
  const V init = loadv<V>(pc.init.data() + t * kLanes);
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) acc[p] = init;
  for (int64_t f = 0; f < d; ++f) {
    const V c = loadv<V>(ct + f * kLanes);
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) {
      const V diff = x[p * d + f] - c;
      acc[p] += diff * diff;
    }
  }
}

// Nearest center of P rows: label (first on ties) and squared distance.
template <typename T, int P>
DND_INLINE void nearest_rows(const T* x, int64_t d, const PackedCenters<T>& pc, int64_t* lab, T* dist) {
  using V = typename Simd<T>::V;
  using I = typename Simd<T>::I;
  using Int = typename Simd<T>::Int;
  V best[P], acc[P];
  I tile[P];
  tile_dist<T, P>(x, d, pc, 0, best);
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) tile[p] = I{};
  // Lane-wise minimum over tiles; strict < keeps the earlier tile on ties.
  for (int64_t t = 1; t < pc.tiles; ++t) {
    tile_dist<T, P>(x, d, pc, t, acc);
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) {
      const I less = acc[p] < best[p];
      best[p] = less ? acc[p] : best[p];
      tile[p] = less ? I{} + static_cast<Int>(t) : tile[p];
    }
  }
  const I iota = {0, 1, 2, 3, 4, 5, 6, 7};
  const I none = I{} + std::numeric_limits<Int>::max();
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) {
    const V m = hmin(best[p]);
    // Among the lanes holding the minimum, the smallest center index.
    const I cand = best[p] == m ? tile[p] * static_cast<Int>(kLanes) + iota : none;
    lab[p] = static_cast<int64_t>(hmin(cand)[0]);
    dist[p] = m[0];
  }
}

template <typename T>
DND_INLINE void consume(const T* x, int64_t i0, int cnt, int64_t d, const int64_t* lab, const T* dist,
                        const NearestOut<T>& out, double& total) {
  for (int q = 0; q < cnt; ++q) {
    const int64_t i = i0 + q, l = lab[q];
    T dd = dist[q];
    if (out.min_update) dd = std::min(out.dist[i], dd);
    if (out.dist) out.dist[i] = dd;
    if (out.labels) out.labels[i] = l;
    if (out.sums) {
      double* s = out.sums + l * d;
      const T* r = x + i * d;
      for (int64_t f = 0; f < d; ++f) s[f] += static_cast<double>(r[f]);
    }
    if (out.counts) out.counts[l] += 1.0;
    total += static_cast<double>(dd);
  }
}

template <typename T>
DND_INLINE double nearest_impl(const T* x, int64_t n, const PackedCenters<T>& pc,
                               const NearestOut<T>& out) {
  constexpr int P = Simd<T>::kRows;
  const int64_t d = pc.d;
  double total = 0;
  int64_t lab[P];
  T dist[P];
  int64_t i = 0;
  for (; i + P <= n; i += P) {
    nearest_rows<T, P>(x + i * d, d, pc, lab, dist);
    consume(x, i, P, d, lab, dist, out, total);
  }
  for (; i < n; ++i) {
    nearest_rows<T, 1>(x + i * d, d, pc, lab, dist);
    consume(x, i, 1, d, lab, dist, out, total);
  }
  return total;
}

template <typename T>
DND_INLINE void sqdist_impl(const T* x, int64_t n, const PackedCenters<T>& pc, T* out, int64_t ldo,
                            bool root) {
  using V = typename Simd<T>::V;
  constexpr int P = Simd<T>::kRows;
  const int64_t d = pc.d;
  V acc[P];
  T lanes[kLanes];
  auto put = [&](int64_t i0, int cnt, int64_t t) __attribute__((always_inline)) {
    const int64_t j0 = t * kLanes, m = std::min(kLanes, pc.k - j0);
    for (int p = 0; p < cnt; ++p) {
      std::memcpy(lanes, &acc[p], sizeof lanes);
      T* o = out + (i0 + p) * ldo + j0;
      for (int64_t j = 0; j < m; ++j) o[j] = root ? std::sqrt(lanes[j]) : lanes[j];
    }
  };
  int64_t i = 0;
  for (; i + P <= n; i += P)
    for (int64_t t = 0; t < pc.tiles; ++t) {
      tile_dist<T, P>(x + i * d, d, pc, t, acc);
      put(i, P, t);
    }
  for (; i < n; ++i)
    for (int64_t t = 0; t < pc.tiles; ++t) {
      tile_dist<T, 1>(x + i * d, d, pc, t, acc);
      put(i, 1, t);
    }
}

template <typename T>
DND_INLINE void gram_impl(T* g, int64_t n, int64_t m, int64_t ldg, const T* xn, const T* yn, bool root) {
  for (int64_t i = 0; i < n; ++i) {
    T* r = g + i * ldg;
    const T a = xn[i];
    if (root)
      for (int64_t j = 0; j < m; ++j) r[j] = std::sqrt(std::max(a + yn[j] - 2 * r[j], T(0)));
    else
      for (int64_t j = 0; j < m; ++j) r[j] = std::max(a + yn[j] - 2 * r[j], T(0));
  }
}

template <typename T>
DND_INLINE void sqnorms_impl(const T* x, int64_t n, int64_t d, T* out) {
  for (int64_t i = 0; i < n; ++i) {
    T s = 0;
    for (int64_t f = 0; f < d; ++f) s += x[i * d + f] * x[i * d + f];
    out[i] = s;
  }
}

template <typename T>
DND_INLINE void moments_impl(const T* x, int64_t n, int64_t d, double* sum, double* sumsq) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t f = 0; f < d; ++f) {
      const double v = static_cast<double>(x[i * d + f]);
      sum[f] += v;
      sumsq[f] += v * v;
    }
}

// The cloned entry points (target_clones needs plain functions, not templates).
DND_CLONES double nearest_f32(const float* x, int64_t n, const PackedCenters<float>& pc,
                              const NearestOut<float>& o) {
  return nearest_impl(x, n, pc, o);
}
DND_CLONES double nearest_f64(const double* x, int64_t n, const PackedCenters<double>& pc,
                              const NearestOut<double>& o) {
  return nearest_impl(x, n, pc, o);
}
DND_CLONES void sqdist_f32(const float* x, int64_t n, const PackedCenters<float>& pc, float* out,
                           int64_t ldo, bool root) {
  sqdist_impl(x, n, pc, out, ldo, root);
}
DND_CLONES void sqdist_f64(const double* x, int64_t n, const PackedCenters<double>& pc, double* out,
                           int64_t ldo, bool root) {
  sqdist_impl(x, n, pc, out, ldo, root);
}
DND_CLONES void gram_f32(float* g, int64_t n, int64_t m, int64_t ldg, const float* xn, const float* yn,
                         bool root) {
  gram_impl(g, n, m, ldg, xn, yn, root);
}
DND_CLONES void gram_f64(double* g, int64_t n, int64_t m, int64_t ldg, const double* xn,
                         const double* yn, bool root) {
  gram_impl(g, n, m, ldg, xn, yn, root);
}
DND_CLONES void sqnorms_f32(const float* x, int64_t n, int64_t d, float* out) {
  sqnorms_impl(x, n, d, out);
}
DND_CLONES void sqnorms_f64(const double* x, int64_t n, int64_t d, double* out) {
  sqnorms_impl(x, n, d, out);
}
DND_CLONES void moments_f32(const float* x, int64_t n, int64_t d, double* s, double* q) {
  moments_impl(x, n, d, s, q);
}
DND_CLONES void moments_f64(const double* x, int64_t n, int64_t d, double* s, double* q) {
  moments_impl(x, n, d, s, q);
}

double nearest_any(const float* x, int64_t n, const PackedCenters<float>& pc,
                   const NearestOut<float>& o) {
  return nearest_f32(x, n, pc, o);
}
double nearest_any(const double* x, int64_t n, const PackedCenters<double>& pc,
                   const NearestOut<double>& o) {
  return nearest_f64(x, n, pc, o);
}
void sqdist_any(const float* x, int64_t n, const PackedCenters<float>& pc, float* out, int64_t ldo,
                bool root) {
  sqdist_f32(x, n, pc, out, ldo, root);
}
void sqdist_any(const double* x, int64_t n, const PackedCenters<double>& pc, double* out, int64_t ldo,
                bool root) {
  sqdist_f64(x, n, pc, out, ldo, root);
}
void gram_any(float* g, int64_t n, int64_t m, int64_t ldg, const float* xn, const float* yn, bool root) {
  gram_f32(g, n, m, ldg, xn, yn, root);
}
void gram_any(double* g, int64_t n, int64_t m, int64_t ldg, const double* xn, const double* yn,
              bool root) {
  gram_f64(g, n, m, ldg, xn, yn, root);
}
void sqnorms_any(const float* x, int64_t n, int64_t d, float* out) { sqnorms_f32(x, n, d, out); }
void sqnorms_any(const double* x, int64_t n, int64_t d, double* out) { sqnorms_f64(x, n, d, out); }
void moments_any(const float* x, int64_t n, int64_t d, double* s, double* q) {
  moments_f32(x, n, d, s, q);
}
void moments_any(const double* x, int64_t n, int64_t d, double* s, double* q) {
  moments_f64(x, n, d, s, q);
}

}  // namespace

template <typename T>
PackedCenters<T> pack_centers(const T* c, int64_t k, int64_t d) {
  PackedCenters<T> pc;
  pc.k = k;
  pc.d = d;
  pc.tiles = (k + kLanes - 1) / kLanes;
  pc.ct.assign(static_cast<size_t>(pc.tiles * d * kLanes), T(0));
  pc.init.assign(static_cast<size_t>(pc.tiles * kLanes), std::numeric_limits<T>::infinity());
  for (int64_t j = 0; j < k; ++j) {
    const int64_t t = j / kLanes, l = j % kLanes;
    pc.init[static_cast<size_t>(t * kLanes + l)] = T(0);
    for (int64_t f = 0; f < d; ++f) pc.ct[static_cast<size_t>((t * d + f) * kLanes + l)] = c[j * d + f];
  }
  return pc;
}

template <typename T>
double nearest(const T* x, int64_t n, const PackedCenters<T>& pc, const NearestOut<T>& out) {
  return nearest_any(x, n, pc, out);
}
template <typename T>
void sqdist_exact(const T* x, int64_t n, const PackedCenters<T>& pc, T* out, int64_t ldo, bool root) {
  sqdist_any(x, n, pc, out, ldo, root);
}
template <typename T>
void gram_to_dist(T* g, int64_t n, int64_t m, int64_t ldg, const T* xn, const T* yn, bool root) {
  gram_any(g, n, m, ldg, xn, yn, root);
}
template <typename T>
void row_sqnorms(const T* x, int64_t n, int64_t d, T* out) {
  sqnorms_any(x, n, d, out);
}
template <typename T>
void column_moments(const T* x, int64_t n, int64_t d, double* sum, double* sumsq) {
  moments_any(x, n, d, sum, sumsq);
}

#define DND_INSTANTIATE(T)                                                                      \
  template PackedCenters<T> pack_centers<T>(const T*, int64_t, int64_t);                        \
  template double nearest<T>(const T*, int64_t, const PackedCenters<T>&, const NearestOut<T>&); \
  template void sqdist_exact<T>(const T*, int64_t, const PackedCenters<T>&, T*, int64_t, bool); \
  template void gram_to_dist<T>(T*, int64_t, int64_t, int64_t, const T*, const T*, bool);       \
  template void row_sqnorms<T>(const T*, int64_t, int64_t, T*);                                 \
  template void column_moments<T>(const T*, int64_t, int64_t, double*, double*);
DND_INSTANTIATE(float)
DND_INSTANTIATE(double)
#undef DND_INSTANTIATE

}  // namespace dnd::cluster::detail
