// Scaling ops on tables (rows are observations): standardize, minmax_scale, normalize
// (sklearn's StandardScaler, minmax_scale, normalize). The rules are core's
// (src/core/statistics.h): column statistics are local partial sums and one allreduce.
#include "src/core/math.h"
#include "src/core/reductions.h"
#include "src/core/selection.h"
#include "src/core/statistics.h"
#include "src/core/manipulation.h"
#include "src/pipeline/ops/common.h"

namespace dnd::pipeline::ops {
namespace {

std::vector<std::string> standardize_fields(const Params& p) {
  const bool m = p.boolean("with_mean"), s = p.boolean("with_std");
  std::vector<std::string> f{"X"};
  if (m || s) f.push_back("mean");
  if (s) f.push_back("scale");
  return f;
}

OpDef standardize_op() {
  OpDef d;
  d.name = "standardize";
  d.summary = "z-score per column (sklearn's StandardScaler, ddof 0); constant columns become 0";
  d.category = "scaling";
  d.params = {ParamSpec{"with_mean", ParamKind::boolean, "subtract each column's mean", false, "true"},
              ParamSpec{"with_std", ParamKind::boolean, "divide by each column's standard deviation",
                        false, "true"},
              ParamSpec{"nan_policy",
                        ParamKind::choice,
                        "rows holding NaN: raise an error, or omit them from the statistics (they "
                        "are scaled too and keep their NaN)",
                        false,
                        "raise",
                        {"raise", "omit"}}};
  d.outputs = {"X", "mean", "scale"};
  d.outputs_for = standardize_fields;
  d.infer = [](const InferContext& c) {
    InferResult r = standardize_meta(c.array(0), c.nranks);
    const auto f = standardize_fields(c.params);
    r.outputs.resize(f.size());  // X, mean, scale in that order
    const ArrayMeta& x = c.array(0);
    if (c.params.string("nan_policy") == "omit" && x.shape.size() == 2 && at::isFloatingType(x.dtype)) {
      // The NaN mask and the rows kept (a copy of at most the block), the statistics from
      // them, then the whole table scaled.
      ArrayMeta mask = x;
      mask.dtype = at::kBool;
      r.temp_bytes += max_block_bytes(mask, c.nranks) + 2 * max_block_bytes(x, c.nranks);
      r.comm_bytes += move_bytes(x, c.nranks);
    }
    return r;
  };
  d.run = [](RunContext& c) {
    const DNDarray& x = c.array(0);
    const bool wm = c.params.boolean("with_mean"), ws = c.params.boolean("with_std");
    std::optional<StandardizeResult> s;
    if (c.params.string("nan_policy") == "omit" && x.ndim() == 2 && at::isFloatingType(x.dtype())) {
      auto [keep, nan_rows] = rows_without_nan(x);
      if (nan_rows > 0) {
        StandardizeResult fit = standardize(filter(x, keep, 0), wm, ws);
        DNDarray scaled = wm ? subtract(x, fit.mean) : copy(x);
        if (ws) scaled = divide(scaled, fit.scale);
        s = StandardizeResult{std::move(scaled), std::move(fit.mean), std::move(fit.scale)};
      }
    }
    if (!s) s = standardize(x, wm, ws);
    // raise: a NaN in the data makes its column's statistics NaN (the sums carry it); so
    // do inf and -inf together, which the message names too.
    if (c.params.string("nan_policy") == "raise" && (wm || ws) && at::isFloatingType(x.dtype()) &&
        x.ndim() == 2 && x.gshape()[0] > 0 &&
        (any(isnan(s->mean)).larray().item<bool>() || any(isnan(s->scale)).larray().item<bool>()))
      throw ValueError(
          "standardize: a column's mean or standard deviation is NaN: the column holds NaN (or both "
          "inf and -inf); `nan_policy: omit` leaves the rows holding NaN out of the statistics, or "
          "fill them first (`op: nan_to_num`, or `where` with a column's nanmean)");
    std::vector<DNDarray> out;
    out.push_back(std::move(s->X));
    const auto f = standardize_fields(c.params);
    if (f.size() > 1) out.push_back(std::move(s->mean));
    if (f.size() > 2) out.push_back(std::move(s->scale));
    return out;
  };
  return d;
}
DND_REGISTER_OP(standardize_op());

std::pair<double, double> feature_range(const Params& p) {
  const std::vector<double> r = p.number_list("feature_range");
  if (r.size() != 2)
    throw ValueError(
        fmt::format("minmax_scale: feature_range must be [min, max], got {} values", r.size()));
  return {r[0], r[1]};
}

OpDef minmax_scale_op() {
  OpDef d;
  d.name = "minmax_scale";
  d.summary =
      "scale each column to feature_range (sklearn's minmax_scale); constant columns map to its min";
  d.category = "scaling";
  d.params = {
      ParamSpec{"feature_range", ParamKind::number_list, "[min, max] of the result", false, "[0, 1]"}};
  d.infer = [](const InferContext& c) {
    const auto [lo, hi] = feature_range(c.params);
    return minmax_scale_meta(c.array(0), lo, hi, c.nranks);
  };
  d.run = [](RunContext& c) {
    const auto [lo, hi] = feature_range(c.params);
    return one(minmax_scale(c.array(0), lo, hi));
  };
  return d;
}
DND_REGISTER_OP(minmax_scale_op());

OpDef normalize_op() {
  OpDef d;
  d.name = "normalize";
  d.summary =
      "scale each row (axis 1) or column (axis 0) to unit l1, l2 or max norm (sklearn's normalize)";
  d.category = "scaling";
  d.params = {ParamSpec{"norm", ParamKind::choice, "the norm", false, "l2", {"l1", "l2", "max"}},
              ParamSpec{"axis", ParamKind::integer, "1: each row; 0: each column", false, "1"}};
  d.infer = [](const InferContext& c) {
    return normalize_meta(c.array(0), c.params.string("norm"), c.params.integer("axis"), c.nranks);
  };
  d.run = [](RunContext& c) {
    return one(normalize(c.array(0), c.params.string("norm"), c.params.integer("axis")));
  };
  return d;
}
DND_REGISTER_OP(normalize_op());

}  // namespace
}  // namespace dnd::pipeline::ops
