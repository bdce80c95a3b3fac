// median, percentile and quantile (numpy's names, the default linear method; exact at
// any split: src/core/quantile.h).
#include "src/core/quantile.h"
#include "src/pipeline/ops/common.h"

namespace dnd::pipeline::ops {
namespace {

// Whether the step wrote `q` as one number (no leading axis in the result, as numpy).
bool scalar_q(const Params& p) {
  for (const auto& [name, node] : p.step().params)
    if (name == "q") return node.IsScalar();
  return false;
}

std::vector<double> fractions(const char* op, const Params& p, double scale) {
  std::vector<double> q = p.number_list("q");
  for (double& v : q) {
    DND_CHECK_VALUE(v >= 0 && v <= scale, "{}: q must be in [0, {}], got {}", op, scale, v);
    v /= scale;
  }
  return q;
}

OpDef quantile_op(const char* name, const char* summary, double scale) {
  OpDef d;
  d.name = name;
  d.summary = summary;
  d.category = "statistics";
  if (scale > 0)
    d.params.push_back(ParamSpec{"q", ParamKind::number_list,
                                 scale == 1 ? "quantile(s) in [0, 1]: a number or a list"
                                            : "percentile(s) in [0, 100]: a number or a list",
                                 true});
  d.params.push_back(ParamSpec{"axis", ParamKind::axis, "the axis (none: all elements)"});
  d.params.push_back(
      ParamSpec{"keepdims", ParamKind::boolean, "keep the reduced axes with extent 1", false, "false"});
  d.infer = [name, scale](const InferContext& c) {
    const std::vector<double> q =
        scale > 0 ? fractions(name, c.params, scale) : std::vector<double>{0.5};
    return quantile_meta(name, c.array(0), q, scale <= 0 || scalar_q(c.params), c.params.axis("axis"),
                         c.params.boolean("keepdims"), c.nranks);
  };
  d.run = [name, scale](RunContext& c) {
    const std::vector<double> q =
        scale > 0 ? fractions(name, c.params, scale) : std::vector<double>{0.5};
    return one(quantile(c.array(0), q, scale <= 0 || scalar_q(c.params), c.params.axis("axis"),
                        c.params.boolean("keepdims")));
  };
  return d;
}

DND_REGISTER_OP(quantile_op("median",
                            "the median along an axis (numpy.median; NaN in a slice gives NaN)", 0));
DND_REGISTER_OP(quantile_op(
    "percentile", "the q-th percentiles along an axis (numpy.percentile, linear method; exact)", 100));
DND_REGISTER_OP(quantile_op("quantile",
                            "the q-th quantiles along an axis (numpy.quantile, linear method; exact)",
                            1));

}  // namespace
}  // namespace dnd::pipeline::ops
