// Clustering ops on kernels/cluster: kmeans (with a live line per Lloyd iteration),
// predict and cdist.
#include "kernels/cluster/cdist.h"
#include "kernels/cluster/kmeans.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "src/core/selection.h"
#include "src/pipeline/checkpoint.h"
#include "src/core/comm_count.h"
#include "src/core/distribution.h"
#include "src/core/moves.h"
#include "src/pipeline/ops/common.h"

#include <chrono>
#include <limits>
#include <cmath>
#include <memory>
#include <optional>

namespace dnd::pipeline::ops {
namespace {

void check_samples(const ArrayMeta& x, const char* op) {
  if (x.shape.size() != 2)
    throw ShapeError(
        fmt::format("{}: the samples must be 2-D (rows x features), got {}", op, shape_str(x.shape)));
  if (x.dtype != at::kFloat && x.dtype != at::kDouble)
    throw TypeError(
        fmt::format("{}: the samples must be float32 or float64, got {}", op, dtype_name(x.dtype)));
}

// The split of a result with one entry per row of x: rows stay where they are (x split 1
// is resplit to rows first).
Split row_split(const ArrayMeta& x) { return x.split ? Split(0) : kReplicated; }

OpDef kmeans_op() {
  OpDef d;
  d.name = "kmeans";
  d.summary =
      "k-means clustering of the rows (Lloyd; kmeans|| init by default); one allreduce per iteration";
  d.category = "cluster";
  d.min_inputs = 1;
  d.max_inputs = 2;
  d.params = {ParamSpec{"k", ParamKind::integer, "number of clusters", true},
              ParamSpec{"init",
                        ParamKind::choice,
                        "initial centroids (a second input gives them instead)",
                        false,
                        "kmeans||",
                        {"kmeans||", "kmeans++", "random"}},
              ParamSpec{"max_iter", ParamKind::integer, "Lloyd iterations at most", false, "300"},
              ParamSpec{"tol", ParamKind::number,
                        "stop when the centroid shift is below tol x mean variance", false, "1e-4"},
              ParamSpec{"n_init", ParamKind::integer,
                        "restarts (seeds seed, seed+1, ...); the lowest inertia is kept", false, "1"},
              ParamSpec{"seed", ParamKind::integer, "seed: same result at any rank count", false, "0"},
              ParamSpec{"oversampling", ParamKind::number, "kmeans||: rows sampled per round, times k",
                        false, "2.0"},
              ParamSpec{"rounds", ParamKind::integer, "kmeans||: sampling rounds", false, "5"},
              ParamSpec{"checkpoint_every", ParamKind::integer,
                        "keep the fit's state every N iterations (dnd run --resume continues it; 0: "
                        "never)",
                        false, "0"},
              ParamSpec{"nan_policy",
                        ParamKind::choice,
                        "rows holding NaN: raise an error, or omit them from the fit (their label "
                        "is -1)",
                        false,
                        "raise",
                        {"raise", "omit"}}};
  d.outputs = {"centroids", "labels", "inertia", "n_iter"};
  d.infer = [](const InferContext& c) {
    const ArrayMeta& x = c.array(0);
    check_samples(x, "kmeans");
    const int64_t k = c.params.integer("k");
    if (k < 1) throw ValueError(fmt::format("kmeans: k must be at least 1, got {}", k));
    if (k > x.shape[0])
      throw ValueError(
          fmt::format("kmeans: k = {} is larger than the number of samples ({})", k, x.shape[0]));
    if (c.params.integer("max_iter") < 1) throw ValueError("kmeans: max_iter must be at least 1");
    if (c.params.integer("n_init") < 1) throw ValueError("kmeans: n_init must be at least 1");
    if (c.params.integer("checkpoint_every") < 0)
      throw ValueError(fmt::format("kmeans: checkpoint_every must be 0 (never) or more, got {}",
                                   c.params.integer("checkpoint_every")));
    // The kernel's own checks, before anything runs.
    const double tol = c.params.number("tol"), over = c.params.number("oversampling");
    if (!(tol >= 0) || !std::isfinite(tol))
      throw ValueError(fmt::format("kmeans: tol must be finite and >= 0, got {}", tol));
    if (!(over > 0) || !std::isfinite(over))
      throw ValueError(fmt::format("kmeans: oversampling must be finite and > 0, got {}", over));
    if (c.params.integer("rounds") < 1)
      throw ValueError(
          fmt::format("kmeans: rounds must be at least 1, got {}", c.params.integer("rounds")));
    if (c.inputs.size() == 2) {
      const ArrayMeta& c0 = c.array(1);
      if (c0.shape != Shape{k, x.shape[1]})
        throw ShapeError(fmt::format("kmeans: initial centroids must be ({}, {}) for k = {}, got {}", k,
                                     x.shape[1], k, shape_str(c0.shape)));
    }
    InferResult r;
    r.outputs.push_back(ArrayMeta{{k, x.shape[1]}, x.dtype, kReplicated, x.device});
    r.outputs.push_back(ArrayMeta{{x.shape[0]}, at::kLong, row_split(x), x.device});
    r.outputs.push_back(ArrayMeta{{}, at::kDouble, kReplicated, x.device});
    r.outputs.push_back(ArrayMeta{{}, at::kLong, kReplicated, x.device});
    // A bound (the planner cannot know how many iterations run, nor how many kmeans||
    // candidates a round finds): the variance's allreduce of 2d doubles; per restart the
    // initial centroids (rows fetched by allreduces of doubles: k for random, one at a
    // time for kmeans++, at most 1 + rounds x ceil(oversampling k) for kmeans|| and their
    // weights) and max_iter iterations of one allreduce of k (d + 1) + 1 doubles. Rank 0
    // owns the largest segment of every allreduce, so the sums are the busiest rank's.
    {
      const int p = c.nranks;
      const int64_t d = x.shape[1];
      auto ar = [&](int64_t numel) { return allreduce_max_bytes(numel, 8, p); };
      const int64_t runs = c.inputs.size() == 2 ? 1 : c.params.integer("n_init");
      int64_t init = 0;
      if (c.inputs.size() == 2) {
        init = c.array(1).split ? allgather_bytes(c.array(1), p) : 0;
      } else {
        const std::string how = c.params.string("init");
        if (how == "random") {
          init = ar(k * d);
        } else if (how == "kmeans++") {
          init = k * ar(d);
        } else {
          // A round finds at most its quota, and never more rows than there are.
          const auto l = static_cast<int64_t>(
              std::min(std::ceil(over * static_cast<double>(k)), static_cast<double>(x.shape[0])));
          const int64_t rounds = c.params.integer("rounds");
          init = ar(d) + static_cast<int64_t>(std::min(static_cast<double>(rounds) * ar(l * d), 1e18)) +
                 ar(static_cast<int64_t>(
                     std::min(1.0 + static_cast<double>(rounds) * static_cast<double>(l),
                              static_cast<double>(x.shape[0]))));
        }
      }
      // In doubles (exact far beyond any real run), so that a huge max_iter or n_init
      // saturates instead of overflowing.
      const double bound =
          static_cast<double>(ar(2 * d)) +
          static_cast<double>(runs) *
              (static_cast<double>(init) + static_cast<double>(c.params.integer("max_iter")) *
                                               static_cast<double>(ar(k * (d + 1) + 1)));
      r.comm_bytes = bound >= 9.2e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(bound);
    }
    if (x.split && *x.split == 1) r.comm_bytes += resplit_bytes(x, 0, c.nranks);
    // omit: isnan of the block, one flag per row, the rows kept (a copy of at most the
    // block). raise needs nothing: the kernel's column sums already see a NaN.
    if (c.params.string("nan_policy") == "omit") {
      ArrayMeta mask = x;
      mask.dtype = at::kBool;
      r.temp_bytes += max_block_bytes(mask, c.nranks) + max_block_bytes(x, c.nranks);
    }
    return r;
  };
  d.run = [](RunContext& c) {
    cluster::KMeansOptions o;
    o.k = c.params.integer("k");
    o.init = cluster::parse_kmeans_init(c.params.string("init"));
    o.max_iter = c.params.integer("max_iter");
    o.tol = c.params.number("tol");
    o.n_init = c.params.integer("n_init");
    o.seed = static_cast<uint64_t>(c.params.integer("seed"));
    o.oversampling = c.params.number("oversampling");
    o.rounds = c.params.integer("rounds");
    if (c.inputs.size() == 2) o.centroids = c.array(1);
    // The live line, after every Lloyd iteration: the restart, the iteration, inertia and
    // shift, rows per second, and at most how long is left (max_iter iterations of every
    // restart to go; a fit that converges ends sooner).
    Progress& progress = c.progress;
    const int64_t max_iter = o.max_iter;
    const int64_t runs = o.centroids ? 1 : o.n_init;
    struct Last {
      double inertia = 0, shift = 0;
      int64_t iters_done = 0;  // over all restarts, this process
      int64_t run = -1;        // the restart of the last line
      std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    };
    auto last = std::make_shared<Last>();
    o.progress = [last](int, double inertia, double shift) {
      last->inertia = inertia;
      last->shift = shift;
      ++last->iters_done;
    };
    const int64_t rows = c.array(0).ndim() > 0 ? c.array(0).gshape()[0] : 0;
    auto report = [last, &progress, max_iter, runs, rows](const cluster::KMeansState& s) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - last->t0).count();
      const double per_iter = last->iters_done > 0 ? secs / static_cast<double>(last->iters_done) : 0;
      const int64_t left_iters = (runs - s.run - 1) * max_iter + (max_iter - s.iter);
      std::string rate;
      if (per_iter > 0)
        rate = fmt::format("  {:.3g} M rows/s  at most {:.0f} s left",
                           static_cast<double>(rows) / per_iter / 1e6,
                           per_iter * static_cast<double>(left_iters));
      const std::string line =
          fmt::format("{}iteration {}/{}  inertia {:.6g}  shift {:.3g}{}",
                      runs > 1 ? fmt::format("restart {}/{}  ", s.run + 1, runs) : "", s.iter, max_iter,
                      last->inertia, last->shift, rate);
      // A restart's first line stays (on a pipe, too), so that a log shows every restart.
      if (runs > 1 && s.run != last->run)
        progress.summary(line);
      else
        progress.update(line);
      last->run = s.run;
    };
    o.on_state = report;
    // The fit's state: kept every checkpoint_every iterations and when a stop is requested
    // between iterations; read back with --resume (checkpoint.h).
    const StepState* st = current_step_state();
    if (st) {
      const int64_t every = c.params.integer("checkpoint_every");
      if (every > 0 && st->resume) {
        std::string note;
        o.start = load_kmeans_state(*st, c.comm, note);
        if (!note.empty()) c.progress.summary(note);
      }
      const std::string id = c.step.id;
      const int64_t iters = o.max_iter;
      const Communicator& comm = c.comm;
      o.on_state = [report, st, every, id, iters, &comm](const cluster::KMeansState& s) {
        report(s);
        const bool stop = stop_requested(comm, fmt::format("{}@{}", id, s.iter));
        if (every > 0 && (s.iter % every == 0 || stop)) save_kmeans_state(*st, comm, s);
        if (stop)
          throw StopRequested(
              fmt::format("stopped on request (SIGUSR1) in step '{}' after iteration {} of "
                          "at most {}{}",
                          id, s.iter, iters, every > 0 ? " (its state is kept)" : ""),
              0);
      };
    }
    // nan_policy: raise, the kernel refuses NaN (from the column sums it makes anyway);
    // omit fits on the rows without NaN, each rank keeping its own (no data moves), and
    // labels the others -1.
    const bool omit = c.params.string("nan_policy") == "omit";
    // omit: a split-1 table as rows first (the kernel would resplit it anyway), so that the
    // mask is split like the rows.
    const DNDarray x =
        omit && c.array(0).split() == Split(1) ? resplit(c.array(0), Split(0)) : c.array(0);
    std::optional<DNDarray> kept, keep;
    if (omit) {
      auto [mask, nan_rows] = rows_without_nan(x);
      const int64_t rows = x.gshape()[0];
      if (nan_rows > 0 && rows - nan_rows < o.k)
        throw ValueError(
            fmt::format("kmeans: k = {} is larger than the number of rows without NaN "
                        "({} of {})",
                        o.k, rows - nan_rows, rows));
      if (nan_rows > 0) {
        kept = filter(x, mask, 0);
        keep = std::move(mask);
      }
    }
    cluster::KMeansResult km = [&] {
      try {
        return cluster::kmeans(kept ? *kept : x, o);
      } catch (const ValueError& e) {
        if (omit || std::string(e.what()).find("holds NaN") == std::string::npos) throw;
        throw ValueError(std::string(e.what()) +
                         "; `nan_policy: omit` fits on the rows without NaN (their label is -1), or "
                         "fill them first (`op: nan_to_num`) or drop them (`op: filter` with a mask)");
      }
    }();
    if (kept) {  // every row's label: -1 where the row holds NaN
      const DNDarray& m = *keep;
      at::Tensor all =
          at::full({m.larray().size(0)}, -1,
                   at::TensorOptions().dtype(at::kLong).device(km.labels.larray().device()));
      all.index_put_({m.larray().to(all.device())}, km.labels.larray());
      km.labels = m.split() ? DNDarray(all, m.gshape(), m.split(), m.comm(), m.counts())
                            : DNDarray(all, m.gshape(), m.split(), m.comm());
    }
    const ArrayOptions scalar = ArrayOptions{}.with_comm(c.comm);
    std::vector<DNDarray> out;
    out.push_back(std::move(km.centroids));
    out.push_back(std::move(km.labels));
    out.push_back(full({}, km.inertia, ArrayOptions(scalar).with_dtype(at::kDouble)));
    out.push_back(full({}, km.n_iter, ArrayOptions(scalar).with_dtype(at::kLong)));
    c.progress.summary(fmt::format("{} iterations{}, inertia {:.6g}; init {:.3f} s, iterations {:.3f} s",
                                   km.n_iter,
                                   runs > 1 ? fmt::format(" (the best of {} restarts)", runs) : "",
                                   km.inertia, km.init_seconds, km.iter_seconds));
    return out;
  };
  return d;
}
DND_REGISTER_OP(kmeans_op());

OpDef predict_op() {
  OpDef d;
  d.name = "predict";
  d.summary = "the nearest centroid of every row (inputs: [X, centroids])";
  d.category = "cluster";
  d.min_inputs = d.max_inputs = 2;
  d.infer = [](const InferContext& c) {
    const ArrayMeta& x = c.array(0);
    const ArrayMeta& cs = c.array(1);
    check_samples(x, "predict");
    if (cs.shape.size() != 2 || cs.shape[1] != x.shape[1])
      throw ShapeError(fmt::format("predict: centroids {} do not match samples {}", shape_str(cs.shape),
                                   shape_str(x.shape)));
    InferResult r;
    r.outputs.push_back(ArrayMeta{{x.shape[0]}, at::kLong, row_split(x), x.device});
    if (cs.split) r.comm_bytes = allgather_bytes(cs, c.nranks);
    return r;
  };
  d.run = [](RunContext& c) { return one(cluster::predict(c.array(0), c.array(1))); };
  return d;
}
DND_REGISTER_OP(predict_op());

OpDef cdist_op() {
  OpDef d;
  d.name = "cdist";
  d.summary = "pairwise Euclidean distances between the rows of x and y (inputs: [x, y])";
  d.category = "cluster";
  d.min_inputs = d.max_inputs = 2;
  d.params = {
      ParamSpec{
          "method", ParamKind::choice, "matmul (fast) or exact", false, "matmul", {"matmul", "exact"}},
      ParamSpec{"squared", ParamKind::boolean, "squared distances", false, "false"}};
  d.infer = [](const InferContext& c) {
    const ArrayMeta& x = c.array(0);
    const ArrayMeta& y = c.array(1);
    check_samples(x, "cdist");
    check_samples(y, "cdist");
    if (x.shape[1] != y.shape[1])
      throw ShapeError(fmt::format("cdist: x {} and y {} have different numbers of features",
                                   shape_str(x.shape), shape_str(y.shape)));
    InferResult r;
    ArrayMeta m{{x.shape[0], y.shape[0]}, c10::promoteTypes(x.dtype, y.dtype), kReplicated, x.device};
    if (x.split) {
      m.split = 0;
      if (y.split && c.nranks > 1) {
        // y's blocks travel round the ring: rank r sends every block but rank r+1's.
        const std::vector<int64_t> counts = balanced_counts(y.shape[0], c.nranks);
        const int64_t row = y.shape[1] * static_cast<int64_t>(c10::elementSize(m.dtype));
        r.comm_bytes = (y.shape[0] - *std::min_element(counts.begin(), counts.end())) * row;
      }
    } else if (y.split) {
      m.split = 1;
    }
    if (x.split && *x.split == 1) r.comm_bytes += resplit_bytes(x, 0, c.nranks);
    if (y.split && *y.split == 1) r.comm_bytes += resplit_bytes(y, 0, c.nranks);
    r.outputs.push_back(m);
    return r;
  };
  d.run = [](RunContext& c) {
    cluster::CdistOptions o;
    o.method = c.params.string("method") == "exact" ? cluster::CdistMethod::exact
                                                    : cluster::CdistMethod::matmul;
    o.squared = c.params.boolean("squared");
    return one(cluster::cdist(c.array(0), c.array(1), o));
  };
  return d;
}
DND_REGISTER_OP(cdist_op());

}  // namespace
}  // namespace dnd::pipeline::ops
