// Private to kernels/cluster: the vectorised distance kernels behind cdist and kmeans.
// Plain C++ on raw pointers (no ATen, no MPI), compiled for the widest vector unit the
// CPU has (target clones).
//
// Centers are packed in tiles of kLanes, transposed, so that one vector holds one
// feature of kLanes centers: the distance of a row to a whole tile is d vector
// subtract / fused multiply-add steps, and the nearest center is a vertical minimum over
// tiles plus one horizontal minimum per row. Each row's result depends only on that row
// and the centers (not on where the row sits in a block or on which rank), so labels and
// distances are the same at any rank count.
#pragma once

#include <cstdint>
#include <vector>

namespace dnd::cluster::detail {

inline constexpr int64_t kLanes = 8;

template <typename T>
struct PackedCenters {
  int64_t k = 0, d = 0, tiles = 0;
  std::vector<T> ct;  // tiles x d x kLanes: ct[(t * d + f) * kLanes + j] = center t*kLanes+j, feature f
  std::vector<T> init;  // tiles x kLanes: 0 for real centers, +inf for padding lanes (never nearest)
};

// c: k x d row-major.
template <typename T>
PackedCenters<T> pack_centers(const T* c, int64_t k, int64_t d);

// What nearest() writes; any pointer may be null.
template <typename T>
struct NearestOut {
  int64_t* labels = nullptr;  // n: index of the nearest center (the first one on ties)
  T* dist = nullptr;          // n: its squared distance (or the running minimum, see min_update)
  bool min_update = false;    // dist[i] = min(dist[i], new distance) instead of overwriting
  double* sums = nullptr;     // k x d: each row added to its nearest center's sum
  double* counts = nullptr;   // k: rows per nearest center
};

// For rows x[0, n) (row-major, d = pc.d columns): the nearest center by the exact squared
// distance sum_f (x_f - c_f)^2, in one pass. Returns the sum of the squared distances.
template <typename T>
double nearest(const T* x, int64_t n, const PackedCenters<T>& pc, const NearestOut<T>& out);

// Exact squared distances of every row to every center: out[i * ldo + j]; square roots
// when `root`.
template <typename T>
void sqdist_exact(const T* x, int64_t n, const PackedCenters<T>& pc, T* out, int64_t ldo, bool root);

// The matmul path's epilogue, in place on g (n x m, row stride ldg) holding x.y:
// g = sqrt(max(xn_i + yn_j - 2 g, 0)) (no root when !root).
template <typename T>
void gram_to_dist(T* g, int64_t n, int64_t m, int64_t ldg, const T* xn, const T* yn, bool root);

// Squared row norms: out[i] = sum_f x[i, f]^2.
template <typename T>
void row_sqnorms(const T* x, int64_t n, int64_t d, T* out);

// Per-column sums and sums of squares, accumulated (+=) in double.
template <typename T>
void column_moments(const T* x, int64_t n, int64_t d, double* sum, double* sumsq);

}  // namespace dnd::cluster::detail
