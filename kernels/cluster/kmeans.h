// k-means on a DNDarray of samples (rows), split along the samples or replicated.
//
// Lloyd iterations: each rank finds, in one pass over its rows, every row's nearest
// centroid and adds the row to that centroid's sum; ONE allreduce of the per-cluster
// sums and counts (and the inertia) gives every rank the new centroids. Nothing of X's
// size is allocated per iteration; labels are written once, by a final pass with the
// final centroids (as scikit-learn does).
//
// Initialisation (reported apart from the iterations in init_seconds):
//   random     k distinct rows, uniformly;
//   kmeans++   each pick samples a row with probability proportional to its squared
//              distance to the nearest pick so far, across all ranks (one pass per pick);
//   kmeans||   (default, Bahmani et al. 2012) `rounds` rounds that each add
//              l = ceil(oversampling * k) rows sampled by squared distance, then the
//              candidates weighted by how many rows are nearest to them are reduced to k
//              by a weighted kmeans++ and Lloyd on one process (identically on every rank);
//   given      centroids passed in KMeansOptions::centroids.
// Weighted sampling draws, for each row, a key from (seed, row's global index) and keeps
// the smallest keys (Efraimidis-Spirakis), so the picks never depend on the rank count:
// with a seed, the initial centroids are the same rows at any number of ranks, and the
// final centroids agree to floating-point tolerance.
//
// Stopping: after max_iter iterations, or when the squared centroid shift
// sum_j ||c_j' - c_j||^2 is at most tol times the mean per-feature variance of X
// (scikit-learn's rule). An empty cluster is re-seeded at the row farthest from its
// centroid (taken out of its old cluster). n_init restarts use seeds seed, seed+1, ...
// and keep the lowest inertia.
#pragma once

#include "src/core/dndarray.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace dnd::cluster {

enum class KMeansInit { random, kmeans_plus_plus, kmeans_parallel };

// "random", "kmeans++" (or "k-means++"), "kmeans||" (or "k-means||"); ValueError listing
// the valid names otherwise.
KMeansInit parse_kmeans_init(std::string_view name);
std::string kmeans_init_name(KMeansInit init);

// Where a fit stands after a Lloyd iteration: enough to continue it with the same result
// (kmeans' `checkpoint_every` in pipelines).
struct KMeansState {
  int64_t run = 0;     // the restart (0 .. n_init - 1)
  int64_t iter = 0;    // Lloyd iterations done in that run
  bool done = false;   // that run has stopped (converged or max_iter)
  at::Tensor centers;  // k x d after `iter` iterations, X's dtype
  at::Tensor best;     // the final centroids of the best earlier run (undefined: none)
  int64_t best_n_iter = 0;
};

struct KMeansOptions {
  int64_t k = 8;
  KMeansInit init = KMeansInit::kmeans_parallel;
  // Initial centroids (k x d, any split; converted to X's dtype). When set, `init` is
  // ignored and one run is made whatever n_init says.
  std::optional<DNDarray> centroids;
  int64_t max_iter = 300;
  double tol = 1e-4;
  int64_t n_init = 1;
  uint64_t seed = 0;
  // kmeans||: rows added per round = ceil(oversampling * k), and the number of rounds.
  double oversampling = 2.0;
  int64_t rounds = 5;
  // Called on every rank after every Lloyd iteration (iter counts from 1 in each run)
  // with the inertia of the assignment made in that iteration and the squared shift of
  // the centroids it caused.
  std::function<void(int iter, double inertia, double shift)> progress;
  // Called on every rank after every Lloyd iteration (after `progress`) with the state; it
  // may save it, and may throw (on every rank alike) to end the fit. The tensors are the
  // fit's own: copy what is kept.
  std::function<void(const KMeansState&)> on_state;
  // Continue from a saved state (the same x and options): the result equals that of the
  // fit it was saved from.
  std::optional<KMeansState> start;
};

struct KMeansResult {
  DNDarray centroids;       // k x d, replicated, X's dtype
  DNDarray labels;          // n, int64, split like X (the same counts), or replicated
  double inertia = 0;       // sum of squared distances of the rows to their centroids
  int64_t n_iter = 0;       // Lloyd iterations of the kept run
  double init_seconds = 0;  // input checks and initialisation, all runs
  double iter_seconds = 0;  // Lloyd iterations, all runs
  double comm_seconds =
      0;  // of which in the per-iteration allreduce (waiting for slower ranks included)
  double final_seconds = 0;  // final labelling passes, all runs
};

// Collective over x's communicator. X: 2-D, float32 or float64, split 0 or replicated
// (split 1 is resplit to 0 first), CPU. Throws on every rank alike, before any
// communication: ValueError (k < 1, k > n, bad options, bad centroids shape), TypeError
// (dtype, device); and after one allreduce: ValueError when X holds NaN or infinity.
KMeansResult kmeans(const DNDarray& x, const KMeansOptions& options = {});

// The initial centroids the first run of kmeans(x, options) starts from (k x d,
// replicated). Collective; same checks as kmeans.
DNDarray kmeans_init(const DNDarray& x, const KMeansOptions& options = {});

// The nearest centroid of every row of x (int64, split like x). Collective only when x
// is split 1 or the centroids are split (they are resplit). Throws ValueError/TypeError
// on mismatched shapes or dtypes.
DNDarray predict(const DNDarray& x, const DNDarray& centroids);

}  // namespace dnd::cluster
