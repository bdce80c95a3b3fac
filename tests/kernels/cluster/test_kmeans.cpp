// kmeans against a single-process torch Lloyd loop (cdist + argmin + index_add, float64)
// from the same initial centroids; blob recovery for every init; the same result on the
// world communicator as on one process (MPI_COMM_SELF holding all of X); empty clusters,
// k above the rows per rank, bad input.
#include "kernels/cluster/kmeans.h"

#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "src/core/runtime.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

using namespace dnd;
using namespace dnd::testing;
using namespace dnd::cluster;

namespace {

const std::vector<KMeansInit> kInits{KMeansInit::kmeans_parallel, KMeansInit::kmeans_plus_plus,
                                     KMeansInit::random};

// n points around k well-separated centres (identical on every rank); row i belongs to
// blob i % k.
at::Tensor blobs(int64_t n, int64_t d, int64_t k, at::ScalarType dt, uint64_t seed,
                 at::Tensor* centres = nullptr) {
  const at::Tensor c = random_uniform({k, d}, seed, -20, 20, {kReplicated, at::kDouble}).larray();
  const at::Tensor noise = random_normal({n, d}, seed + 1, 0, 0.3, {kReplicated, at::kDouble}).larray();
  if (centres) *centres = c;
  return (c.index_select(0, at::arange(n, at::kLong) % k) + noise).to(dt);
}

at::Tensor uniform_points(int64_t n, int64_t d, at::ScalarType dt, uint64_t seed) {
  return random_uniform({n, d}, seed, 0, 1, {kReplicated, at::kDouble}).larray().to(dt);
}

struct Reference {
  at::Tensor centroids, labels;
  double inertia = 0;
  int64_t n_iter = 0;
};

// Lloyd on one process in float64 with the same rules as kmeans: stop when the squared
// centroid shift is <= tol * mean feature variance; an empty cluster takes the row
// farthest from its centroid (distance descending, then index), skipping rows that are
// the last of their cluster.
Reference reference_lloyd(const at::Tensor& x0, const at::Tensor& c0, int64_t max_iter, double tol) {
  const at::Tensor x = x0.to(at::kDouble);
  at::Tensor c = c0.to(at::kDouble).clone();
  const int64_t k = c.size(0), d = x.size(1);
  const double tol_abs = tol * x.var(0, /*unbiased=*/false).mean().item<double>();
  Reference ref;
  for (int64_t it = 1; it <= max_iter; ++it) {
    const at::Tensor dist = at::cdist(x, c, 2.0, 2).pow(2);
    const auto [dmin, lab] = dist.min(1);
    at::Tensor sums = at::zeros({k, d}, at::kDouble).index_add_(0, lab, x);
    at::Tensor counts = at::bincount(lab, {}, k).to(at::kDouble);
    auto cnt = counts.accessor<double, 1>();
    std::vector<int64_t> order(static_cast<size_t>(x.size(0)));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    auto dm = dmin.accessor<double, 1>();
    auto lb = lab.accessor<int64_t, 1>();
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return dm[a] > dm[b]; });
    size_t next = 0;
    for (int64_t j = 0; j < k; ++j) {
      if (cnt[j] > 0) continue;
      while (cnt[lb[order[next]]] <= 1) ++next;
      const int64_t i = order[next++];
      sums[lb[i]] -= x[i];
      sums[j] = x[i];
      cnt[lb[i]] -= 1;
      cnt[j] = 1;
    }
    const at::Tensor nc = sums / counts.unsqueeze(1);
    const double shift = (nc.to(c0.scalar_type()).to(at::kDouble) - c).pow(2).sum().item<double>();
    c = nc.to(c0.scalar_type()).to(at::kDouble);
    ref.n_iter = it;
    if (shift <= tol_abs) break;
  }
  const auto [dmin, lab] = at::cdist(x, c, 2.0, 2).pow(2).min(1);
  ref.centroids = c.to(c0.scalar_type());
  ref.labels = lab;
  ref.inertia = dmin.sum().item<double>();
  return ref;
}

DNDarray on_self(const at::Tensor& full) {
  return array(full, Split(0), ArrayOptions{}.with_comm(Communicator::self()));
}

void expect_same_labels(const DNDarray& labels, const at::Tensor& expected, const std::string& ctx) {
  EXPECT_EQ(labels.dtype(), at::kLong) << ctx;
  expect_global(labels, expected, 0, 0, ctx);
}

}  // namespace

TEST(KMeans, MatchesTorchLloydFromTheSameCentroids) {
  for (at::ScalarType dt : {at::kDouble, at::kFloat})
    for (const auto& [n, kk] :
         std::vector<std::pair<int64_t, int64_t>>{{101, 4}, {101, 12}, {7, 4}, {4, 4}}) {
      const int64_t k = kk;  // 12: two tiles of centres
      const at::Tensor x = uniform_points(n, 3, dt, 11 + n);
      const at::Tensor c0 = x.narrow(0, 0, k).clone();
      for (double tol : {1e-4, 0.0})
        for (int layout = 0; layout < 4; ++layout) {
          const DNDarray xd = layout == 0   ? array(x, Split(0))
                              : layout == 1 ? array(x, kReplicated)
                              : layout == 2 ? array(x, Split(1))
                                            : unbalanced(x, 0);
          KMeansOptions o;
          o.k = k;
          o.tol = tol;
          o.max_iter = 100;
          o.centroids = array(c0, kReplicated);
          const KMeansResult r = kmeans(xd, o);
          const Reference ref = reference_lloyd(x, c0, o.max_iter, tol);
          const std::string ctx =
              fmt::format("{} n={} k={} tol={} layout={}", dtype_name(dt), n, k, tol, layout);
          const double rt = dt == at::kFloat ? 1e-5 : 1e-12;
          EXPECT_EQ(r.centroids.split(), kReplicated) << ctx;
          expect_global(r.centroids, ref.centroids, rt, rt, ctx);
          expect_same_labels(r.labels, ref.labels, ctx);
          EXPECT_EQ(r.labels.split(), layout == 1 ? kReplicated : Split(0)) << ctx;
          if (layout == 3) {
            EXPECT_EQ(r.labels.counts(), xd.counts()) << ctx;
          }
          EXPECT_NEAR(r.inertia, ref.inertia, rt * std::max(1.0, ref.inertia)) << ctx;
          EXPECT_EQ(r.n_iter, ref.n_iter) << ctx;
        }
    }
}

TEST(KMeans, RecoversBlobsWithEveryInit) {
  at::Tensor centres;
  const int64_t k = 5;
  const at::Tensor x = blobs(600, 4, k, at::kFloat, 3, &centres);
  const at::Tensor truth = at::arange(600, at::kLong) % k;
  for (KMeansInit init : kInits) {
    KMeansOptions o;
    o.k = k;
    o.init = init;
    o.seed = 42;
    o.n_init = init == KMeansInit::random ? 10 : 1;
    const KMeansResult r = kmeans(array(x, Split(0)), o);
    const std::string ctx = kmeans_init_name(init);
    const at::Tensor c = r.centroids.larray().to(at::kDouble);
    // Each blob's mean (the optimum) is a found centroid, and the labels are a relabelling of the blobs.
    const at::Tensor means =
        at::zeros({k, 4}, at::kDouble).index_add_(0, truth, x.to(at::kDouble)) / (600 / k);
    const auto [dmin, nearest] = at::cdist(means, c).min(1);
    EXPECT_LT(dmin.max().item<double>(), 1e-4) << ctx << "\n" << c << "\n" << means;
    EXPECT_LT(std::get<0>(at::cdist(centres, c).min(1)).max().item<double>(), 0.2) << ctx;
    EXPECT_EQ(std::get<0>(at::_unique(nearest)).numel(), k) << ctx;
    expect_same_labels(r.labels, nearest.index_select(0, truth), ctx);
  }
}

TEST(KMeans, SameResultAtAnyRankCount) {
  const at::Tensor x = blobs(203, 3, 6, at::kFloat, 5);
  for (KMeansInit init : kInits)
    for (int64_t k : {6, 9}) {
      KMeansOptions o;
      o.k = k;
      o.init = init;
      o.seed = 7;
      o.max_iter = 50;
      const std::string ctx = fmt::format("{} k={}", kmeans_init_name(init), k);
      // The initial centroids are the same rows of X whatever the rank count.
      const at::Tensor init_one = kmeans_init(on_self(x), o).larray();
      expect_global(kmeans_init(array(x, Split(0)), o), init_one, 0, 0, ctx + " init");
      expect_global(kmeans_init(unbalanced(x, 0), o), init_one, 0, 0, ctx + " init, unbalanced");
      const KMeansResult one = kmeans(on_self(x), o);
      const KMeansResult all = kmeans(array(x, Split(0)), o);
      expect_global(all.centroids, one.centroids.larray(), 1e-6, 1e-6, ctx);
      expect_same_labels(all.labels, one.labels.larray(), ctx);
      EXPECT_EQ(all.n_iter, one.n_iter) << ctx;
      EXPECT_NEAR(all.inertia, one.inertia, 1e-6 * one.inertia) << ctx;
    }
}

// The initial centroid at (1000, 1000) gets no rows: after one iteration it sits on the
// row farthest from its centroid, which left its old cluster.
TEST(KMeans, EmptyClusterTakesTheFarthestRow) {
  const at::Tensor x = blobs(40, 2, 2, at::kDouble, 9);
  const at::Tensor c0 = at::cat({x.narrow(0, 0, 2), at::full({1, 2}, 1000.0, at::kDouble)}, 0);
  for (int64_t max_iter : {1, 30}) {
    KMeansOptions o;
    o.k = 3;
    o.max_iter = max_iter;
    o.centroids = array(c0, kReplicated);
    const KMeansResult r = kmeans(array(x, Split(0)), o);
    const Reference ref = reference_lloyd(x, c0, max_iter, o.tol);
    const std::string ctx = fmt::format("max_iter={}", max_iter);
    expect_global(r.centroids, ref.centroids, 1e-12, 1e-12, ctx);
    expect_same_labels(r.labels, ref.labels, ctx);
    EXPECT_TRUE(at::isfinite(r.centroids.larray()).all().item<bool>()) << ctx;
    if (max_iter == 1) {
      const auto [dmin, lab] = at::cdist(x, c0).min(1);
      const int64_t far = dmin.argmax().item<int64_t>();
      EXPECT_TRUE(at::equal(r.centroids.larray()[2], x[far])) << ctx;
    }
  }
}

// k = n = 3: the farthest row is alone in its cluster and must stay; the next one (a
// tie, broken by index) moves.
TEST(KMeans, ReseedingNeverEmptiesAnotherCluster) {
  const at::Tensor x = at::tensor({0.0, 0.0, 0.0, 1.0, 10.0, 0.0}, at::kDouble).reshape({3, 2});
  const at::Tensor c0 = at::tensor({0.0, 0.5, 0.0, 0.5, 20.0, 0.0}, at::kDouble).reshape({3, 2});
  KMeansOptions o;
  o.k = 3;
  o.max_iter = 1;
  o.centroids = array(c0, kReplicated);
  const KMeansResult r = kmeans(array(x, Split(0)), o);
  const at::Tensor expected = at::tensor({0.0, 1.0, 0.0, 0.0, 10.0, 0.0}, at::kDouble).reshape({3, 2});
  expect_global(r.centroids, expected, 0, 0);
  expect_global(r.centroids, reference_lloyd(x, c0, 1, o.tol).centroids, 0, 0);
  expect_same_labels(r.labels, at::tensor({1, 0, 2}, at::kLong), "");
  EXPECT_EQ(r.inertia, 0.0);
}

TEST(KMeans, MoreClustersThanRowsPerRank) {
  const at::Tensor x = uniform_points(10, 2, at::kDouble, 4);
  for (KMeansInit init : kInits) {
    KMeansOptions o;
    o.k = 6;
    o.init = init;
    o.seed = 3;
    const std::string ctx = kmeans_init_name(init);
    const KMeansResult one = kmeans(on_self(x), o);
    const KMeansResult all = kmeans(unbalanced(x, 0), o);
    expect_global(all.centroids, one.centroids.larray(), 1e-12, 1e-12, ctx);
    expect_same_labels(all.labels, one.labels.larray(), ctx);
    // Against the torch loop from the same start.
    const Reference ref = reference_lloyd(x, kmeans_init(on_self(x), o).larray(), o.max_iter, o.tol);
    expect_global(all.centroids, ref.centroids, 1e-12, 1e-12, ctx);
    EXPECT_NEAR(all.inertia, ref.inertia, 1e-12) << ctx;
  }
  // k = n: every row its own cluster.
  KMeansOptions o;
  o.k = 10;
  const KMeansResult r = kmeans(array(x, Split(0)), o);
  EXPECT_EQ(r.inertia, 0.0);
  EXPECT_EQ(std::get<0>(at::_unique(allgather(r.labels))).numel(), 10);
}

// Fewer distinct rows than k: inits fall back to duplicates instead of failing.
TEST(KMeans, DuplicateRows) {
  const at::Tensor x = at::cat({at::zeros({5, 2}), at::ones({6, 2})}, 0);
  for (KMeansInit init : kInits) {
    KMeansOptions o;
    o.k = 3;
    o.init = init;
    const KMeansResult r = kmeans(array(x, Split(0)), o);
    const std::string ctx = kmeans_init_name(init);
    EXPECT_TRUE(at::isfinite(r.centroids.larray()).all().item<bool>()) << ctx;
    EXPECT_EQ(r.inertia, 0.0) << ctx;
    expect_global(r.centroids, kmeans(on_self(x), o).centroids.larray(), 0, 0, ctx);
  }
}

TEST(KMeans, Predict) {
  at::Tensor centres;
  const at::Tensor x = blobs(50, 3, 4, at::kFloat, 13, &centres);
  const at::Tensor c = centres.to(at::kFloat);
  const at::Tensor expected = std::get<1>(at::cdist(x.to(at::kDouble), centres).min(1));
  for (Split s : all_splits(2)) {
    const DNDarray lab = predict(array(x, s), array(c, kReplicated));
    EXPECT_EQ(lab.split(), s ? Split(0) : kReplicated);
    expect_same_labels(lab, expected, "split " + split_str(s));
  }
  expect_same_labels(predict(unbalanced(x, 0), array(c, Split(0))), expected,
                     "unbalanced, split centroids");
  EXPECT_THROW(predict(array(x, Split(0)), array(at::ones({4, 2}), kReplicated)), ShapeError);
}

TEST(KMeans, ProgressOnEveryIteration) {
  const at::Tensor x = blobs(300, 2, 3, at::kFloat, 17);
  std::vector<int> iters;
  std::vector<double> inertias, shifts;
  KMeansOptions o;
  o.k = 3;
  o.init = KMeansInit::random;
  o.seed = 5;
  o.progress = [&](int it, double inertia, double shift) {
    iters.push_back(it);
    inertias.push_back(inertia);
    shifts.push_back(shift);
  };
  const KMeansResult r = kmeans(array(x, Split(0)), o);
  ASSERT_EQ(static_cast<int64_t>(iters.size()), r.n_iter);
  for (size_t i = 0; i < iters.size(); ++i) EXPECT_EQ(iters[i], static_cast<int>(i) + 1);
  // Lloyd never increases the inertia; the last step's shift met the tolerance.
  for (size_t i = 1; i < inertias.size(); ++i) EXPECT_LE(inertias[i], inertias[i - 1] * (1 + 1e-6));
  const double tol_abs = o.tol * x.to(at::kDouble).var(0, false).mean().item<double>();
  EXPECT_LE(shifts.back(), tol_abs);
  EXPECT_GE(r.init_seconds, 0.0);
  EXPECT_GT(r.iter_seconds, 0.0);
}

TEST(KMeans, NInitKeepsTheLowestInertia) {
  const at::Tensor x = uniform_points(120, 2, at::kDouble, 21);
  KMeansOptions o;
  o.k = 7;
  o.init = KMeansInit::random;
  o.seed = 100;
  o.n_init = 4;
  const KMeansResult best = kmeans(array(x, Split(0)), o);
  double lowest = std::numeric_limits<double>::infinity();
  at::Tensor lowest_c;
  for (int64_t run = 0; run < o.n_init; ++run) {
    KMeansOptions one = o;
    one.n_init = 1;
    one.seed = o.seed + static_cast<uint64_t>(run);
    const KMeansResult r = kmeans(array(x, Split(0)), one);
    if (r.inertia < lowest) lowest = r.inertia, lowest_c = r.centroids.larray();
  }
  EXPECT_EQ(best.inertia, lowest);
  expect_global(best.centroids, lowest_c, 0, 0);
}

TEST(KMeans, BadInputThrowsOnEveryRank) {
  const at::Tensor x = uniform_points(10, 3, at::kFloat, 1);
  const DNDarray xd = array(x, Split(0));
  auto with = [](auto edit) {
    KMeansOptions o;
    o.k = 3;
    edit(o);
    return o;
  };
  try {
    kmeans(xd, with([](KMeansOptions& o) { o.k = 11; }));
    ADD_FAILURE() << "k > n accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("k=11 is larger than the number of samples n=10"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(kmeans(xd, with([](KMeansOptions& o) { o.k = 0; })), ValueError);
  EXPECT_THROW(kmeans(xd, with([](KMeansOptions& o) { o.max_iter = 0; })), ValueError);
  EXPECT_THROW(kmeans(xd, with([](KMeansOptions& o) { o.tol = -1; })), ValueError);
  EXPECT_THROW(kmeans(xd, with([](KMeansOptions& o) { o.n_init = 0; })), ValueError);
  EXPECT_THROW(kmeans(xd, with([](KMeansOptions& o) { o.rounds = 0; })), ValueError);
  EXPECT_THROW(kmeans(xd, with([](KMeansOptions& o) { o.oversampling = 0; })), ValueError);
  EXPECT_THROW(kmeans(xd, with([](KMeansOptions& o) {
                        o.centroids = array(at::zeros({3, 2}), kReplicated);
                      })),
               ShapeError);
  EXPECT_THROW(kmeans(array(at::ones({10}), Split(0)), with([](KMeansOptions&) {})), ShapeError);
  EXPECT_THROW(kmeans(array(at::ones({10, 3}, at::kLong), Split(0)), with([](KMeansOptions&) {})),
               TypeError);
  EXPECT_THROW(kmeans_init(xd, with([](KMeansOptions& o) { o.k = 11; })), ValueError);
  EXPECT_THROW(parse_kmeans_init("kmeans+"), ValueError);
  EXPECT_EQ(parse_kmeans_init("k-means||"), KMeansInit::kmeans_parallel);
  // A NaN or infinity in the last row (held by the last rank alone) fails every rank.
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    at::Tensor y = x.clone();
    y[9][1] = bad;
    try {
      kmeans(array(y, Split(0)), with([](KMeansOptions&) {}));
      ADD_FAILURE() << "non-finite X accepted";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("NaN or infinity"), std::string::npos) << e.what();
    }
  }
}

// The local pass runs in chunks over torch's threads; the chunks do not depend on the
// thread count, so neither does the result (bit for bit).
TEST(KMeans, ThreadCountDoesNotChangeTheResult) {
  const at::Tensor x = uniform_points(150000, 2, at::kFloat, 31);
  KMeansOptions o;
  o.k = 5;
  o.seed = 1;
  o.max_iter = 10;
  const int before = threads();
  set_threads(1);
  const KMeansResult one = kmeans(array(x, Split(0)), o);
  set_threads(2);
  const KMeansResult two = kmeans(array(x, Split(0)), o);
  set_threads(before);
  expect_global(two.centroids, one.centroids.larray(), 0, 0);
  expect_global(two.labels, allgather(one.labels), 0, 0);
  EXPECT_EQ(two.inertia, one.inertia);
  EXPECT_EQ(two.n_iter, one.n_iter);
}
