// The pca op on kernels/linalg/pca.h: centring, the distributed SVD, scores.
#include "kernels/linalg/pca.h"
#include "src/pipeline/ops/common.h"

namespace dnd::pipeline::ops {
namespace {

linalg::PcaOptions pca_options(const Params& p) {
  linalg::PcaOptions o;
  o.n_components = p.is_none("n_components") ? 0 : p.integer("n_components");
  o.whiten = p.boolean("whiten");
  const std::string m = p.string("method");
  o.method = linalg::parse_svd_method(m == "exact" ? "tsqr" : m);
  o.oversample = p.integer("oversample");
  o.power_iterations = p.integer("power_iterations");
  o.seed = static_cast<uint64_t>(p.integer("seed"));
  return o;
}

OpDef pca_op() {
  OpDef d;
  d.name = "pca";
  d.summary = "principal component analysis (sklearn's PCA up to sign): components, variances, scores";
  d.category = "linalg";
  d.params = {
      ParamSpec{"n_components", ParamKind::integer,
                "components to keep (none: min(n_samples, n_features))"},
      ParamSpec{"whiten", ParamKind::boolean, "scale the scores to unit variance", false, "false"},
      ParamSpec{"method",
                ParamKind::choice,
                "the SVD: exact (= tsqr), hsvd, randomized; auto picks as svd does",
                false,
                "auto",
                {"auto", "exact", "tsqr", "hsvd", "randomized"}},
      ParamSpec{"oversample", ParamKind::integer, "randomized: extra columns", false, "10"},
      ParamSpec{"power_iterations", ParamKind::integer, "randomized: power iterations", false, "2"},
      ParamSpec{"seed", ParamKind::integer, "randomized: seed", false, "0"}};
  d.outputs = {"components", "explained_variance", "explained_variance_ratio", "singular_values", "mean",
               "scores"};
  d.infer = [](const InferContext& c) {
    return linalg::pca_meta(c.array(0), pca_options(c.params), c.nranks);
  };
  d.run = [](RunContext& c) {
    linalg::PcaResult r = linalg::pca(c.array(0), pca_options(c.params));
    std::vector<DNDarray> out;
    out.push_back(std::move(r.components));
    out.push_back(std::move(r.explained_variance));
    out.push_back(std::move(r.explained_variance_ratio));
    out.push_back(std::move(r.singular_values));
    out.push_back(std::move(r.mean));
    out.push_back(std::move(r.scores));
    return out;
  };
  return d;
}
DND_REGISTER_OP(pca_op());

}  // namespace
}  // namespace dnd::pipeline::ops
