#include "kernels/cluster/kmeans.h"

#include "src/core/communicator.h"
#include "src/core/distribution.h"
#include "src/core/error.h"
#include "src/core/manipulation.h"
#include "src/core/random.h"
#include "kernels/cluster/nearest_impl.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <queue>
#include <unordered_set>
#include <utility>
#include <vector>

namespace dnd::cluster {

using detail::NearestOut;
using detail::pack_centers;
using detail::PackedCenters;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ---- checks (metadata only: every rank decides alike, before any communication) ----

void check_samples(const DNDarray& x, const char* op) {
  if (x.ndim() != 2)
    throw ShapeError(
        fmt::format("{}: X must be 2-D (samples x features), got gshape={}", op, shape_str(x.gshape())));
  if (x.dtype() != at::kFloat && x.dtype() != at::kDouble)
    throw TypeError(fmt::format("{}: X must be float32 or float64, got {}", op, dtype_name(x.dtype())));
  if (x.device() != DeviceKind::cpu) throw TypeError(fmt::format("{}: X must be on the cpu", op));
}

void check_options(const DNDarray& x, const KMeansOptions& o) {
  const int64_t n = x.gshape()[0], d = x.gshape()[1];
  if (o.k < 1) throw ValueError(fmt::format("kmeans: k must be at least 1, got {}", o.k));
  if (o.k > n)
    throw ValueError(fmt::format("kmeans: k={} is larger than the number of samples n={} (X gshape={})",
                                 o.k, n, shape_str(x.gshape())));
  if (o.max_iter < 1)
    throw ValueError(fmt::format("kmeans: max_iter must be at least 1, got {}", o.max_iter));
  if (!(o.tol >= 0) || !std::isfinite(o.tol))
    throw ValueError(fmt::format("kmeans: tol must be finite and >= 0, got {}", o.tol));
  if (o.n_init < 1) throw ValueError(fmt::format("kmeans: n_init must be at least 1, got {}", o.n_init));
  if (!(o.oversampling > 0) || !std::isfinite(o.oversampling))
    throw ValueError(fmt::format("kmeans: oversampling must be finite and > 0, got {}", o.oversampling));
  if (o.rounds < 1) throw ValueError(fmt::format("kmeans: rounds must be at least 1, got {}", o.rounds));
  if (o.centroids) {
    const DNDarray& c = *o.centroids;
    if (c.gshape() != Shape{o.k, d})
      throw ShapeError(
          fmt::format("kmeans: initial centroids must have gshape=({}, {}) (k x features), got {}", o.k,
                      d, shape_str(c.gshape())));
    if (!at::isFloatingType(c.dtype()))
      throw TypeError(fmt::format("kmeans: initial centroids must be floating point, got {}",
                                  dtype_name(c.dtype())));
    if (c.comm().size() != x.comm().size())
      throw ValueError("kmeans: initial centroids live on a different communicator than X");
  }
}

// ---- the local pass, over torch's threads ------------------------------------------------

// detail::nearest over n rows in chunks, in parallel over torch's intra-op threads.
// Sums, counts and the total are accumulated per chunk and combined in chunk order; the
// chunks depend only on n and the output's width, so the result does not depend on the
// number of threads. The partials take at most ~4 MiB (from the caching allocator).
template <typename T>
double nearest_chunked(const T* x, int64_t n, const PackedCenters<T>& pc, const NearestOut<T>& out) {
  const int64_t k = pc.k, d = pc.d;
  const int64_t nsums = out.sums ? k * d : 0, ncounts = out.counts ? k : 0, width = nsums + ncounts + 1;
  const int64_t max_chunks = std::max<int64_t>(1, (int64_t{4} << 20) / 8 / width);
  const int64_t chunks = std::clamp<int64_t>((n + (int64_t{1} << 14) - 1) >> 14, 1, max_chunks);
  const int64_t per = (n + chunks - 1) / chunks;
  at::Tensor part = at::zeros({chunks, width}, at::kDouble);
  double* pp0 = part.data_ptr<double>();
  at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t i0 = std::min(n, c * per), rows = std::min(per, n - i0);
      double* pp = pp0 + c * width;
      NearestOut<T> o = out;
      o.labels = out.labels ? out.labels + i0 : nullptr;
      o.dist = out.dist ? out.dist + i0 : nullptr;
      o.sums = out.sums ? pp : nullptr;
      o.counts = out.counts ? pp + nsums : nullptr;
      pp[width - 1] = detail::nearest(x + i0 * d, rows, pc, o);
    }
  });
  double total = 0;
  for (int64_t c = 0; c < chunks; ++c) {
    const double* pp = pp0 + c * width;
    for (int64_t j = 0; j < nsums; ++j) out.sums[j] += pp[j];
    for (int64_t j = 0; j < ncounts; ++j) out.counts[j] += pp[nsums + j];
    total += pp[width - 1];
  }
  return total;
}

// ---- this rank's rows ------------------------------------------------------------------

struct Rows {
  DNDarray src;        // X split 0 (or replicated)
  at::Tensor x;        // the rows this rank works on (contiguous)
  at::Tensor all;      // every local row (== x when split; the full array when replicated)
  int64_t offset = 0;  // global index of x's first row
  int64_t n = 0, d = 0;

  const Communicator& comm() const { return src.comm(); }
  int64_t nl() const { return x.size(0); }
};

// Collective when X is split 1 (resplit to 0). A replicated X is worked on in balanced
// row blocks, like a split one.
Rows make_rows(const DNDarray& x) {
  Rows r{x.split() == Split(1) ? resplit(x, 0) : x, {}, {}, 0, x.gshape()[0], x.gshape()[1]};
  r.all = r.src.larray().contiguous();
  if (r.src.split()) {
    r.x = r.all;
    r.offset = r.src.chunk().offset;
  } else {
    const Chunk c = balanced_chunk(r.n, r.comm().rank(), r.comm().size());
    r.x = r.all.narrow(0, c.offset, c.count);
    r.offset = c.offset;
  }
  return r;
}

template <typename T>
const T* rows_ptr(const at::Tensor& t) {
  return t.data_ptr<T>();
}

// Collective: the mean per-feature variance of X (scikit-learn's tolerance scale), and
// the NaN / infinity check (a non-finite value makes its column's sums non-finite; the
// sums of finite float values cannot overflow a double).
template <typename T>
double feature_variance(const Rows& r) {
  at::Tensor m = at::zeros({2 * r.d}, at::kDouble);
  double* p = m.data_ptr<double>();
  detail::column_moments(rows_ptr<T>(r.x), r.nl(), r.d, p, p + r.d);
  allreduce_(r.comm(), m, ReduceOp::sum);
  double var = 0;
  for (int64_t f = 0; f < r.d; ++f) {
    if (!std::isfinite(p[f]) || !std::isfinite(p[r.d + f]))
      throw ValueError(fmt::format("kmeans: X holds NaN or infinity (column {}, gshape={})", f,
                                   shape_str(r.src.gshape())));
    const double mean = p[f] / static_cast<double>(r.n);
    var += std::max(p[r.d + f] / static_cast<double>(r.n) - mean * mean, 0.0);
  }
  return r.d > 0 ? var / static_cast<double>(r.d) : 0.0;
}

// Collective: rows of X by global index, on every rank (m x d, X's dtype). The owner
// writes each row into a zero buffer and one allreduce sums them (adding zeros is exact).
template <typename T>
at::Tensor fetch_rows(const Rows& r, const std::vector<int64_t>& gidx) {
  const int64_t m = static_cast<int64_t>(gidx.size()), d = r.d;
  at::Tensor buf = at::zeros({m, d}, at::kDouble);
  double* b = buf.data_ptr<double>();
  const T* x = rows_ptr<T>(r.x);
  for (int64_t i = 0; i < m; ++i) {
    const int64_t li = gidx[static_cast<size_t>(i)] - r.offset;
    if (li < 0 || li >= r.nl()) continue;
    for (int64_t f = 0; f < d; ++f) b[i * d + f] = static_cast<double>(x[li * d + f]);
  }
  allreduce_(r.comm(), buf, ReduceOp::sum);
  return buf.to(c10::CppTypeToScalarType<T>::value);
}

// ---- seeded randomness, identical on every rank ------------------------------------------

// Streams of the counter-based generator, one per purpose (and pick / round).
constexpr uint64_t kStreamUniform = 1;
constexpr uint64_t kStreamLocal = 2;
constexpr uint64_t kStreamPlusPlus = uint64_t{3} << 32;
constexpr uint64_t kStreamParallel = uint64_t{4} << 32;

struct Rng {
  uint64_t seed, stream, counter = 0;
  uint64_t u64() {
    const auto c = random::draw(seed, stream, counter++);
    return (static_cast<uint64_t>(c[0]) << 32) | c[1];
  }
  double uniform() {  // [0, 1)
    const auto c = random::draw(seed, stream, counter++);
    return random::to_unit_double(c[0], c[1]);
  }
  int64_t below(int64_t m) {  // [0, m)
    return static_cast<int64_t>((static_cast<unsigned __int128>(u64()) * static_cast<uint64_t>(m)) >>
                                64);
  }
};

// Efraimidis-Spirakis keys: row i gets key E_i / w_i with E_i ~ Exp(1) drawn from
// (seed, stream, global index i); the l smallest keys are a weighted sample without
// replacement, and the smallest one is a pick with probability w_i / sum(w).
// Keys are non-negative, so their bit patterns order like the values.
using Key = std::pair<int64_t, int64_t>;  // (key bits, global index)

template <typename T>
std::vector<Key> local_smallest_keys(const T* w, int64_t nl, int64_t offset, uint64_t seed,
                                     uint64_t stream, int64_t l) {
  std::priority_queue<Key> heap;                         // the largest kept key on top
  double top = std::numeric_limits<double>::infinity();  // its value once the heap is full
  random::Counter c{};
  int64_t drawn = -1;  // one Philox block gives the uniforms of two consecutive rows
  for (int64_t i = 0; i < nl; ++i) {
    const double wi = static_cast<double>(w[i]);
    if (!(wi > 0)) continue;
    const int64_t g = offset + i;
    if ((g >> 1) != drawn) {
      drawn = g >> 1;
      c = random::draw(seed, stream, static_cast<uint64_t>(drawn));
    }
    const double u =
        1.0 - ((g & 1) ? random::to_unit_double(c[2], c[3]) : random::to_unit_double(c[0], c[1]));
    // -log(u) >= 1 - u, so most rows are rejected without the logarithm; the margin
    // keeps the shortcut from ever rejecting a row the exact comparison would keep.
    if (1.0 - u > top * wi * (1 + 1e-9)) continue;
    double e = -std::log(u);  // u in (0, 1]
    if (!(e > 0)) e = 0.0;
    const double key = e / wi;
    int64_t bits;
    std::memcpy(&bits, &key, sizeof bits);
    const Key kv{bits, g};
    if (static_cast<int64_t>(heap.size()) < l) {
      heap.push(kv);
    } else if (kv < heap.top()) {
      heap.pop();
      heap.push(kv);
    } else {
      continue;
    }
    if (static_cast<int64_t>(heap.size()) == l) std::memcpy(&top, &heap.top().first, sizeof top);
  }
  std::vector<Key> out;
  while (!heap.empty()) {
    out.push_back(heap.top());
    heap.pop();
  }
  return out;
}

// Collective: the global indices of the l smallest keys over all ranks, smallest first.
std::vector<int64_t> smallest_keys(const Communicator& comm, const std::vector<Key>& mine, int64_t l) {
  std::vector<int64_t> flat(static_cast<size_t>(2 * l), -1);
  for (size_t i = 0; i < mine.size(); ++i) {
    flat[2 * i] = mine[i].first;
    flat[2 * i + 1] = mine[i].second;
  }
  const std::vector<int64_t> all = allgather_values(comm, flat);
  std::vector<Key> keys;
  for (size_t i = 0; i + 1 < all.size(); i += 2)
    if (all[i + 1] >= 0) keys.emplace_back(all[i], all[i + 1]);
  std::sort(keys.begin(), keys.end());
  std::vector<int64_t> out;
  for (size_t i = 0; i < keys.size() && static_cast<int64_t>(i) < l; ++i) out.push_back(keys[i].second);
  return out;
}

// ---- initialisation ----------------------------------------------------------------------

template <typename T>
at::Tensor init_random(const Rows& r, int64_t k, uint64_t seed) {
  // Floyd's algorithm: k distinct indices of [0, n) in O(k).
  Rng rng{seed, kStreamUniform};
  std::unordered_set<int64_t> seen;
  std::vector<int64_t> picks;
  for (int64_t j = r.n - k; j < r.n; ++j) {
    const int64_t t = rng.below(j + 1);
    const int64_t pick = seen.count(t) ? j : t;
    seen.insert(pick);
    picks.push_back(pick);
  }
  return fetch_rows<T>(r, picks);
}

template <typename T>
at::Tensor init_plus_plus(const Rows& r, int64_t k, uint64_t seed) {
  const T* x = rows_ptr<T>(r.x);
  Rng rng{seed, kStreamUniform};
  std::vector<at::Tensor> picked{fetch_rows<T>(r, {rng.below(r.n)})};
  // Squared distance of every local row to its nearest pick so far.
  at::Tensor dist = at::empty({r.nl()}, c10::CppTypeToScalarType<T>::value);
  T* dp = dist.data_ptr<T>();
  for (int64_t j = 1; j < k; ++j) {
    const at::Tensor& c = picked.back();
    NearestOut<T> o;
    o.dist = dp;
    o.min_update = j > 1;
    nearest_chunked(x, r.nl(), pack_centers(c.data_ptr<T>(), 1, r.d), o);
    const auto keys =
        local_smallest_keys(dp, r.nl(), r.offset, seed, kStreamPlusPlus + static_cast<uint64_t>(j), 1);
    std::vector<int64_t> g = smallest_keys(r.comm(), keys, 1);
    // Every row coincides with a pick (fewer distinct rows than k): any row will do.
    if (g.empty()) g.push_back(rng.below(r.n));
    picked.push_back(fetch_rows<T>(r, g));
  }
  return at::cat(picked, 0);
}

// Weighted kmeans++ then weighted Lloyd on m candidates (m x d, double), computed alike
// on every rank.
at::Tensor reduce_candidates(const at::Tensor& cand, const std::vector<double>& w, int64_t k,
                             uint64_t seed) {
  const int64_t m = cand.size(0), d = cand.size(1);
  const double* c = cand.data_ptr<double>();
  auto sq = [&](const double* a, const double* b) {
    double s = 0;
    for (int64_t f = 0; f < d; ++f) s += (a[f] - b[f]) * (a[f] - b[f]);
    return s;
  };
  Rng rng{seed, kStreamLocal};
  std::vector<char> chosen(static_cast<size_t>(m), 0);
  std::vector<double> dmin(static_cast<size_t>(m), std::numeric_limits<double>::infinity());
  at::Tensor centers = at::empty({k, d}, at::kDouble);
  double* ctr = centers.data_ptr<double>();
  for (int64_t j = 0; j < k; ++j) {
    std::vector<double> q(static_cast<size_t>(m));
    double total = 0;
    for (int64_t i = 0; i < m; ++i) {
      q[i] = chosen[i] ? 0.0 : w[i] * (j == 0 ? 1.0 : dmin[i]);
      total += q[i];
    }
    int64_t pick = -1;
    if (total > 0) {
      const double target = rng.uniform() * total;
      double acc = 0;
      for (int64_t i = 0; i < m && pick < 0; ++i) {
        acc += q[i];
        if (q[i] > 0 && acc > target) pick = i;
      }
      if (pick < 0)  // rounding at the top end
        for (int64_t i = m - 1; i >= 0 && pick < 0; --i)
          if (q[i] > 0) pick = i;
    }
    if (pick < 0)  // nothing left with weight: the first candidate not yet chosen
      for (int64_t i = 0; i < m && pick < 0; ++i)
        if (!chosen[i]) pick = i;
    chosen[pick] = 1;
    std::memcpy(ctr + j * d, c + pick * d, sizeof(double) * static_cast<size_t>(d));
    for (int64_t i = 0; i < m; ++i) dmin[i] = std::min(dmin[i], sq(c + i * d, ctr + j * d));
  }
  // Weighted Lloyd on the candidates until the assignment settles.
  std::vector<int64_t> lab(static_cast<size_t>(m), -1);
  for (int it = 0; it < 100; ++it) {
    bool changed = false;
    for (int64_t i = 0; i < m; ++i) {
      int64_t best = 0;
      double bd = sq(c + i * d, ctr);
      for (int64_t j = 1; j < k; ++j) {
        const double dj = sq(c + i * d, ctr + j * d);
        if (dj < bd) bd = dj, best = j;
      }
      changed |= lab[i] != best;
      lab[i] = best;
    }
    if (!changed) break;
    std::vector<double> sums(static_cast<size_t>(k * d), 0.0), wsum(static_cast<size_t>(k), 0.0);
    for (int64_t i = 0; i < m; ++i) {
      wsum[lab[i]] += w[i];
      for (int64_t f = 0; f < d; ++f) sums[lab[i] * d + f] += w[i] * c[i * d + f];
    }
    for (int64_t j = 0; j < k; ++j)
      if (wsum[j] > 0)
        for (int64_t f = 0; f < d; ++f) ctr[j * d + f] = sums[j * d + f] / wsum[j];
  }
  return centers;
}

template <typename T>
at::Tensor init_parallel(const Rows& r, const KMeansOptions& o, uint64_t seed) {
  const int64_t k = o.k;
  const T* x = rows_ptr<T>(r.x);
  const int64_t l = static_cast<int64_t>(std::ceil(o.oversampling * static_cast<double>(k)));
  Rng rng{seed, kStreamUniform};
  std::vector<at::Tensor> cand{fetch_rows<T>(r, {rng.below(r.n)})};
  int64_t m = 1;
  at::Tensor dist = at::empty({r.nl()}, c10::CppTypeToScalarType<T>::value);
  T* dp = dist.data_ptr<T>();
  for (int64_t round = 1; round <= o.rounds; ++round) {
    NearestOut<T> out;
    out.dist = dp;
    out.min_update = round > 1;
    const at::Tensor& c = cand.back();
    nearest_chunked(x, r.nl(), pack_centers(c.data_ptr<T>(), c.size(0), r.d), out);
    const auto keys = local_smallest_keys(dp, r.nl(), r.offset, seed,
                                          kStreamParallel + static_cast<uint64_t>(round), l);
    const std::vector<int64_t> g = smallest_keys(r.comm(), keys, l);
    if (g.empty()) break;  // every row is a candidate already
    cand.push_back(fetch_rows<T>(r, g));
    m += static_cast<int64_t>(g.size());
  }
  if (m < k) return init_plus_plus<T>(r, k, seed);  // fewer distinct rows than k
  // Weight of a candidate: the rows nearest to it (exact integers, so the same everywhere).
  const at::Tensor all = at::cat(cand, 0);
  at::Tensor w = at::zeros({m}, at::kDouble);
  NearestOut<T> out;
  out.counts = w.data_ptr<double>();
  nearest_chunked(x, r.nl(), pack_centers(all.data_ptr<T>(), m, r.d), out);
  allreduce_(r.comm(), w, ReduceOp::sum);
  const std::vector<double> wv(w.data_ptr<double>(), w.data_ptr<double>() + m);
  return reduce_candidates(all.to(at::kDouble), wv, k, seed).to(c10::CppTypeToScalarType<T>::value);
}

// Collective: the initial centroids of one run (k x d, X's dtype, identical on every rank).
template <typename T>
at::Tensor initial_centers(const Rows& r, const KMeansOptions& o, uint64_t seed) {
  if (o.centroids) {
    const DNDarray& c = *o.centroids;
    at::Tensor t = (c.split() ? resplit(c, kReplicated).larray() : c.larray())
                       .to(c10::CppTypeToScalarType<T>::value)
                       .contiguous()
                       .clone();
    if (!at::isfinite(t).all().item<bool>())
      throw ValueError("kmeans: initial centroids hold NaN or infinity");
    return t;
  }
  switch (o.init) {
    case KMeansInit::random:
      return init_random<T>(r, o.k, seed);
    case KMeansInit::kmeans_plus_plus:
      return init_plus_plus<T>(r, o.k, seed);
    case KMeansInit::kmeans_parallel:
      return init_parallel<T>(r, o, seed);
  }
  throw InternalError("kmeans: unknown init");
}

// ---- Lloyd -----------------------------------------------------------------------------------

// Collective (called alike on every rank, as the counts are allreduced): moves the row
// farthest from its centroid into each empty cluster, taking it out of its old cluster
// (never emptying that one). sums / counts are the global ones of this iteration.
template <typename T>
void reseed_empty(const Rows& r, const PackedCenters<T>& pc, double* sums, double* counts) {
  const int64_t k = pc.k, d = r.d, nl = r.nl();
  const T* x = rows_ptr<T>(r.x);
  at::Tensor lab = at::empty({nl}, at::kLong);
  at::Tensor dist = at::empty({nl}, c10::CppTypeToScalarType<T>::value);
  NearestOut<T> o;
  o.labels = lab.data_ptr<int64_t>();
  o.dist = dist.data_ptr<T>();
  nearest_chunked(x, nl, pc, o);
  // This rank's k farthest rows (distance descending, then global index), with their
  // rows: the global k farthest always suffice (each skipped candidate is the last row of
  // a distinct cluster, so at most k - e of them are skipped).
  const T* dp = o.dist;
  std::vector<int64_t> idx(static_cast<size_t>(nl));
  for (int64_t i = 0; i < nl; ++i) idx[i] = i;
  const int64_t m = std::min(k, nl);
  std::partial_sort(idx.begin(), idx.begin() + m, idx.end(),
                    [&](int64_t a, int64_t b) { return dp[a] > dp[b] || (dp[a] == dp[b] && a < b); });
  const int64_t rec = 3 + d;
  std::vector<int64_t> flat(static_cast<size_t>(k * rec), -1);
  auto bits = [](double v) {
    int64_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
  };
  for (int64_t c = 0; c < m; ++c) {
    const int64_t i = idx[c];
    int64_t* e = flat.data() + c * rec;
    e[0] = bits(static_cast<double>(dp[i]));
    e[1] = r.offset + i;
    e[2] = o.labels[i];
    for (int64_t f = 0; f < d; ++f) e[3 + f] = bits(static_cast<double>(x[i * d + f]));
  }
  const std::vector<int64_t> all = allgather_values(r.comm(), flat);
  struct Cand {
    double dist;
    int64_t gidx, label;
    const int64_t* row;
  };
  std::vector<Cand> cands;
  for (size_t at = 0; at + rec <= all.size(); at += rec) {
    if (all[at + 1] < 0) continue;
    double dv;
    std::memcpy(&dv, &all[at], sizeof dv);
    cands.push_back({dv, all[at + 1], all[at + 2], &all[at + 3]});
  }
  std::sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) {
    return a.dist > b.dist || (a.dist == b.dist && a.gidx < b.gidx);
  });
  size_t next = 0;
  for (int64_t j = 0; j < k; ++j) {
    if (counts[j] > 0) continue;
    while (next < cands.size() && counts[cands[next].label] <= 1) ++next;
    DND_ASSERT(next < cands.size(), "kmeans: no row left to re-seed an empty cluster");
    const Cand& c = cands[next++];
    for (int64_t f = 0; f < d; ++f) {
      double v;
      std::memcpy(&v, &c.row[f], sizeof v);
      sums[c.label * d + f] -= v;
      sums[j * d + f] = v;
    }
    counts[c.label] -= 1;
    counts[j] = 1;
  }
}

struct Run {
  at::Tensor centers;  // k x d
  at::Tensor labels;   // local labels (int64)
  double inertia = 0;
  int64_t n_iter = 0;
};

// Labels and inertia of the rows for the final centroids (every local row when X is
// replicated).
template <typename T>
void final_assignment(const Rows& r, const at::Tensor& centers, int64_t k, Run& run) {
  run.labels = at::empty({r.all.size(0)}, at::kLong);
  NearestOut<T> out;
  out.labels = run.labels.data_ptr<int64_t>();
  const double mine = nearest_chunked(rows_ptr<T>(r.all), r.all.size(0),
                                      pack_centers(centers.data_ptr<T>(), k, r.d), out);
  run.inertia = r.src.split() ? allreduce_value(r.comm(), mine, ReduceOp::sum) : mine;
  run.centers = centers;
}

// `first_iter` iterations are done already (a saved state; `done`: the run had stopped).
// `state(iter, centers, done)` after each iteration.
template <typename T>
Run lloyd(const Rows& r, at::Tensor centers, const KMeansOptions& o, double tol_abs, KMeansResult& times,
          int64_t first_iter = 0, bool done = false,
          const std::function<void(int64_t, const at::Tensor&, bool)>& state = {}) {
  const int64_t k = o.k, d = r.d;
  const T* x = rows_ptr<T>(r.x);
  // One buffer for the single allreduce per iteration: sums (k x d), counts (k), inertia.
  at::Tensor buf = at::empty({k * d + k + 1}, at::kDouble);
  double* b = buf.data_ptr<double>();
  double* sums = b;
  double* counts = b + k * d;
  at::Tensor next = at::empty_like(centers);
  Run run;
  run.n_iter = first_iter;
  const double t0 = now();
  for (int64_t it = first_iter + 1; !done && it <= o.max_iter; ++it) {
    const PackedCenters<T> pc = pack_centers(centers.data_ptr<T>(), k, d);
    buf.zero_();
    NearestOut<T> out;
    out.sums = sums;
    out.counts = counts;
    b[k * d + k] = nearest_chunked(x, r.nl(), pc, out);
    const double tc = now();
    allreduce_(r.comm(), buf, ReduceOp::sum);
    times.comm_seconds += now() - tc;
    const double inertia = b[k * d + k];
    if (std::any_of(counts, counts + k, [](double c) { return c == 0; }))
      reseed_empty<T>(r, pc, sums, counts);
    const T* c = centers.data_ptr<T>();
    T* nc = next.data_ptr<T>();
    double shift = 0;
    for (int64_t j = 0; j < k; ++j)
      for (int64_t f = 0; f < d; ++f) {
        nc[j * d + f] = static_cast<T>(sums[j * d + f] / counts[j]);
        const double s = static_cast<double>(nc[j * d + f]) - static_cast<double>(c[j * d + f]);
        shift += s * s;
      }
    std::swap(centers, next);
    run.n_iter = it;
    if (o.progress) o.progress(static_cast<int>(it), inertia, shift);
    const bool stop = shift <= tol_abs;
    if (state) state(it, centers, stop || it == o.max_iter);
    if (stop) break;
  }
  const double t1 = now();
  final_assignment<T>(r, centers, k, run);
  times.iter_seconds += t1 - t0;
  times.final_seconds += now() - t1;
  return run;
}

template <typename T>
KMeansResult fit(const DNDarray& x, const KMeansOptions& o) {
  const double t0 = now();
  const Rows r = make_rows(x);
  const double tol_abs = o.tol * feature_variance<T>(r);
  KMeansResult res{x, x};  // placeholders, replaced below
  res.init_seconds = now() - t0;
  const int64_t runs = o.centroids ? 1 : o.n_init;
  Run best;
  int64_t first_run = 0;
  const Dtype dt = x.dtype();
  if (o.start) {  // continue a saved fit: the best earlier run is labelled again (same result)
    const KMeansState& s = *o.start;
    if (s.run < 0 || s.run >= runs || s.iter < 0 || s.iter > o.max_iter || !s.centers.defined() ||
        s.centers.sizes() != at::IntArrayRef({o.k, r.d}) ||
        (s.best.defined() && s.best.sizes() != at::IntArrayRef({o.k, r.d})) ||
        (s.run > 0) != s.best.defined())
      throw ValueError("kmeans: the saved state does not fit this fit");
    first_run = s.run;
    if (s.best.defined()) {
      final_assignment<T>(r, s.best.to(dt).contiguous().clone(), o.k, best);
      best.n_iter = s.best_n_iter;
    }
  }
  for (int64_t run = first_run; run < runs; ++run) {
    const double ti = now();
    const bool resumed = o.start && run == first_run;
    at::Tensor c0 = resumed ? o.start->centers.to(dt).contiguous().clone()
                            : initial_centers<T>(r, o, o.seed + static_cast<uint64_t>(run));
    res.init_seconds += now() - ti;
    std::function<void(int64_t, const at::Tensor&, bool)> state;
    if (o.on_state)
      state = [&](int64_t it, const at::Tensor& c, bool done) {
        KMeansState s;
        s.run = run;
        s.iter = it;
        s.done = done;
        s.centers = c;
        if (run > 0) {
          s.best = best.centers;
          s.best_n_iter = best.n_iter;
        }
        o.on_state(s);
      };
    Run cur =
        lloyd<T>(r, c0, o, tol_abs, res, resumed ? o.start->iter : 0, resumed && o.start->done, state);
    if (run == 0 || cur.inertia < best.inertia) best = std::move(cur);
  }
  res.centroids = DNDarray(best.centers, {o.k, r.d}, kReplicated, r.comm());
  res.labels = r.src.split() ? DNDarray(best.labels, {r.n}, Split(0), r.comm(), r.src.counts())
                             : DNDarray(best.labels, {r.n}, kReplicated, r.comm());
  res.inertia = best.inertia;
  res.n_iter = best.n_iter;
  return res;
}

}  // namespace

KMeansInit parse_kmeans_init(std::string_view name) {
  if (name == "random") return KMeansInit::random;
  if (name == "kmeans++" || name == "k-means++") return KMeansInit::kmeans_plus_plus;
  if (name == "kmeans||" || name == "k-means||") return KMeansInit::kmeans_parallel;
  throw ValueError(fmt::format("kmeans: unknown init '{}' (valid: random, kmeans++, kmeans||)", name));
}

std::string kmeans_init_name(KMeansInit init) {
  switch (init) {
    case KMeansInit::random:
      return "random";
    case KMeansInit::kmeans_plus_plus:
      return "kmeans++";
    case KMeansInit::kmeans_parallel:
      return "kmeans||";
  }
  return "?";
}

KMeansResult kmeans(const DNDarray& x, const KMeansOptions& options) {
  check_samples(x, "kmeans");
  check_options(x, options);
  return x.dtype() == at::kFloat ? fit<float>(x, options) : fit<double>(x, options);
}

DNDarray kmeans_init(const DNDarray& x, const KMeansOptions& options) {
  check_samples(x, "kmeans_init");
  check_options(x, options);
  const Rows r = make_rows(x);
  at::Tensor c;
  if (x.dtype() == at::kFloat) {
    feature_variance<float>(r);
    c = initial_centers<float>(r, options, options.seed);
  } else {
    feature_variance<double>(r);
    c = initial_centers<double>(r, options, options.seed);
  }
  return DNDarray(c, {options.k, r.d}, kReplicated, r.comm());
}

DNDarray predict(const DNDarray& x, const DNDarray& centroids) {
  check_samples(x, "predict");
  const int64_t d = x.gshape()[1];
  if (centroids.ndim() != 2 || centroids.gshape()[1] != d || centroids.gshape()[0] < 1)
    throw ShapeError(
        fmt::format("predict: centroids must be k x {} (k >= 1) for X gshape={}, got gshape={}", d,
                    shape_str(x.gshape()), shape_str(centroids.gshape())));
  if (!at::isFloatingType(centroids.dtype()))
    throw TypeError(
        fmt::format("predict: centroids must be floating point, got {}", dtype_name(centroids.dtype())));
  const Rows r = make_rows(x);
  const at::Tensor c =
      (centroids.split() ? resplit(centroids, kReplicated).larray() : centroids.larray())
          .to(x.dtype())
          .contiguous();
  const int64_t k = c.size(0), n = r.all.size(0);
  at::Tensor lab = at::empty({n}, at::kLong);
  if (x.dtype() == at::kFloat) {
    NearestOut<float> o;
    o.labels = lab.data_ptr<int64_t>();
    nearest_chunked(rows_ptr<float>(r.all), n, pack_centers(c.data_ptr<float>(), k, d), o);
  } else {
    NearestOut<double> o;
    o.labels = lab.data_ptr<int64_t>();
    nearest_chunked(rows_ptr<double>(r.all), n, pack_centers(c.data_ptr<double>(), k, d), o);
  }
  return r.src.split() ? DNDarray(lab, {r.n}, Split(0), r.comm(), r.src.counts())
                       : DNDarray(lab, {r.n}, kReplicated, r.comm());
}

}  // namespace dnd::cluster
