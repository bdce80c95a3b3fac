#include "kernels/linalg/pca.h"

#include "src/core/communicator.h"
#include "src/core/elementwise.h"
#include "src/core/error.h"
#include "src/core/manipulation.h"
#include "src/core/reductions.h"
#include "src/core/statistics.h"
#include "kernels/linalg/matmul.h"
#include "kernels/linalg/svd.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace dnd::linalg {

namespace {

int64_t elem_size(Dtype t) { return static_cast<int64_t>(c10::elementSize(t)); }

int64_t components_of(const ArrayMeta& x, const PcaOptions& o) {
  DND_CHECK_SHAPE(x.shape.size() == 2, "pca: expects a 2-D array (rows are observations), got shape {}",
                  shape_str(x.shape));
  const int64_t n = x.shape[0], d = x.shape[1], lim = std::min(n, d);
  DND_CHECK_VALUE(n > 0 && d > 0, "pca: the table {} has no rows or no columns", shape_str(x.shape));
  DND_CHECK_VALUE(o.n_components >= 0 && o.n_components <= lim,
                  "pca: n_components must be between 1 and min(n_samples, n_features) = {}, got {}", lim,
                  o.n_components);
  return o.n_components == 0 ? lim : o.n_components;
}

// auto: the exact SVD for a tall-skinny table (at most 1000 columns and at least 10 rows
// per column, as sklearn's auto picks its exact covariance solver), else svd's auto.
SvdMethod resolve_method(const ArrayMeta& x, const PcaOptions& o) {
  if (o.method != SvdMethod::automatic) return o.method;
  const int64_t n = x.shape[0], d = x.shape[1];
  return d <= 1000 && n >= 10 * d ? SvdMethod::tsqr : SvdMethod::automatic;
}

SvdOptions svd_options(const ArrayMeta& x, const PcaOptions& o, int64_t k) {
  SvdOptions s;
  s.method = resolve_method(x, o);
  s.rank = k;
  s.oversample = o.oversample;
  s.power_iterations = o.power_iterations;
  s.seed = o.seed;
  return s;
}

}  // namespace

OpMeta pca_meta(const ArrayMeta& x, const PcaOptions& o, int nranks) {
  const int64_t k = components_of(x, o);
  const Dtype wt = statistics_dtype(x.dtype, "pca");
  const int64_t n = x.shape[0], d = x.shape[1];
  const SvdPlan sp = plan_svd(x.shape, x.split, nranks, wt, svd_options(x, o, k));
  OpMeta m;
  m.outputs.push_back(ArrayMeta{{k, d}, wt, kReplicated, x.device});
  for (int i = 0; i < 3; ++i) m.outputs.push_back(ArrayMeta{{k}, wt, kReplicated, x.device});
  m.outputs.push_back(ArrayMeta{{d}, wt, x.split == 1 ? Split(0) : kReplicated, x.device});
  m.outputs.push_back(ArrayMeta{{n, k}, wt, x.split ? Split(0) : kReplicated, x.device});
  const ArrayMeta xc{x.shape, wt, x.split, x.device};
  const MatmulPlan mp = plan_matmul(x.shape, x.split, {d, k}, kReplicated, nranks, wt, wt);
  m.comm_bytes = sp.max_bytes_sent() + mp.max_bytes_sent();
  if (x.split == 0 && nranks > 1)
    m.comm_bytes += allreduce_bytes(ArrayMeta{{d}, wt, kReplicated, x.device}, nranks);
  // The centred table (and the converted one), the finite check's bools, and the SVD's
  // working memory in blocks of the table, as measured by tests/cli/test_memory.py (the
  // svd kernels plan only their results): exact ~1.3, randomized ~6, hsvd ~7.
  const int64_t block = max_block_bytes(xc, nranks);
  const double svd_blocks = sp.method == SvdMethod::tsqr         ? 2.0
                            : sp.method == SvdMethod::randomized ? 6.5
                                                                 : 7.5;
  m.temp_bytes = block * (wt != x.dtype ? 2 : 1) + block / elem_size(wt) +
                 static_cast<int64_t>(svd_blocks * static_cast<double>(block));
  m.note = fmt::format("centre, then {}; scores by {}", sp.describe(), algorithm_name(mp.algorithm));
  return m;
}

PcaResult pca(const DNDarray& x, const PcaOptions& o) {
  const OpMeta meta = pca_meta(meta_of(x), o, x.comm().size());
  const int64_t k = meta.outputs[0].shape[0];
  const Dtype wt = meta.outputs[0].dtype;
  const int64_t n = x.gshape()[0];
  const DNDarray xf = astype(x, wt, /*copy=*/false);
  // NaN / inf: LAPACK's answer would be meaningless (sklearn refuses them too).
  const bool finite_here = x.larray().numel() == 0 || at::isfinite(xf.larray()).all().item<bool>();
  const bool finite =
      x.split() ? allreduce_value(x.comm(), static_cast<int64_t>(finite_here), ReduceOp::min) != 0
                : finite_here;
  DND_CHECK_VALUE(finite, "pca: the table holds NaN or inf (drop or fill them first)");
  DNDarray mu = mean(xf, axis(0));
  DNDarray xc = xf - mu;
  // ||X_c||_F^2 (the column kernels accumulate in float64; no block temporary)
  const DNDarray col = norm(xc, 2.0, axis(0));  // split along the columns when xc is
  double ss = col.larray().to(at::kDouble).square().sum().item<double>();
  if (col.split()) ss = allreduce_value(x.comm(), ss, ReduceOp::sum);
  SvdOptions so = svd_options(meta_of(x), o, k);
  so.compute_uv = true;
  SvdResult s = svd(xc, so);
  DND_CHECK_VALUE(s.S.gshape()[0] >= k, "pca: the {} SVD found only {} components of the {} asked",
                  method_name(s.method), s.S.gshape()[0], k);
  // V (d x r) whole on every rank: only the components travel.
  at::Tensor v = s.V->split() ? allgather(*s.V) : s.V->larray();
  v = v.narrow(1, 0, k).to(wt);
  at::Tensor sv = s.S.larray().narrow(0, 0, k).to(wt);
  // svd_flip: the largest |entry| of each component is positive.
  const at::Tensor pos = at::argmax(at::abs(v), 0);
  const at::Tensor sign = at::sign(v.gather(0, pos.unsqueeze(0)).squeeze(0));
  v = (v * at::where(sign == 0, at::ones_like(sign), sign)).contiguous();
  const double dof = static_cast<double>(n - 1);
  const at::Tensor ev = sv.square() / dof;
  const at::Tensor ratio = ev / (ss / dof);
  const DNDarray vk(v, {x.gshape()[1], k}, kReplicated, x.comm());
  DNDarray scores = matmul(xc, vk);
  if (o.whiten) {
    at::Tensor t = scores.larray() / at::sqrt(ev);
    scores = DNDarray(t, scores.gshape(), scores.split(), scores.comm(), scores.counts());
  }
  const Communicator& c = x.comm();
  auto rep = [&](const at::Tensor& t, Shape shape) {
    return DNDarray(t.contiguous(), shape, kReplicated, c);
  };
  return PcaResult{
      rep(v.t(), {k, x.gshape()[1]}), rep(ev, {k}), rep(ratio, {k}), rep(sv, {k}), mu, scores};
}

}  // namespace dnd::linalg
