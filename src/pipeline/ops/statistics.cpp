// Descriptive statistics: cov, corrcoef, average, ptp, skew, kurtosis (numpy's and
// scipy.stats' semantics; core's rules in src/core/statistics.h).
#include "src/core/factories.h"
#include "src/core/statistics.h"
#include "src/pipeline/ops/common.h"

namespace dnd::pipeline::ops {
namespace {

std::optional<int64_t> ddof_of(const Params& p) {
  return p.is_none("ddof") ? std::nullopt : std::optional<int64_t>(p.integer("ddof"));
}

OpDef cov_op() {
  OpDef d;
  d.name = "cov";
  d.summary = "covariance matrix (numpy.cov; rows are observations unless rowvar), replicated";
  d.category = "statistics";
  d.params = {ParamSpec{"rowvar", ParamKind::boolean, "true: each row is a variable (numpy's default)",
                        false, "false"},
              ParamSpec{"bias", ParamKind::boolean, "divide by N instead of N - 1", false, "false"},
              ParamSpec{"ddof", ParamKind::integer,
                        "divide by N - ddof (overrides bias; none: 1, or 0 with bias)"}};
  d.infer = [](const InferContext& c) {
    return cov_meta(c.array(0), c.params.boolean("rowvar"), ddof_of(c.params), c.nranks);
  };
  d.run = [](RunContext& c) {
    return one(cov(c.array(0), c.params.boolean("rowvar"), ddof_of(c.params), c.params.boolean("bias")));
  };
  return d;
}
DND_REGISTER_OP(cov_op());

OpDef corrcoef_op() {
  OpDef d;
  d.name = "corrcoef";
  d.summary = "Pearson correlation coefficients (numpy.corrcoef; rows are observations unless rowvar)";
  d.category = "statistics";
  d.params = {ParamSpec{"rowvar", ParamKind::boolean, "true: each row is a variable (numpy's default)",
                        false, "false"}};
  d.infer = [](const InferContext& c) {
    return cov_meta(c.array(0), c.params.boolean("rowvar"), std::nullopt, c.nranks);
  };
  d.run = [](RunContext& c) { return one(corrcoef(c.array(0), c.params.boolean("rowvar"))); };
  return d;
}
DND_REGISTER_OP(corrcoef_op());

OpDef average_op() {
  OpDef d;
  d.name = "average";
  d.summary =
      "weighted average along an axis (numpy.average): inputs [a] or [a, weights], or weights: [...]";
  d.category = "statistics";
  d.min_inputs = 1;
  d.max_inputs = 2;
  d.params = {
      ParamSpec{"axis", ParamKind::axis, "the axis (none: all)"},
      ParamSpec{"weights", ParamKind::number_list, "weights as numbers (instead of a second input)"},
      ParamSpec{"keepdims", ParamKind::boolean, "keep the reduced axis with extent 1", false, "false"}};
  d.infer = [](const InferContext& c) {
    if (c.inputs.size() == 2 && c.params.given("weights"))
      throw ValueError("average: weights are given twice (a second input and the weights parameter)");
    std::optional<ArrayMeta> w;
    if (c.inputs.size() == 2) w = c.array(1);
    if (c.params.given("weights"))
      w = ArrayMeta{{static_cast<int64_t>(c.params.number_list("weights").size())},
                    at::kDouble,
                    kReplicated,
                    c.array(0).device};
    return average_meta(c.array(0), w ? &*w : nullptr, c.params.axis("axis"),
                        c.params.boolean("keepdims"), c.nranks);
  };
  d.run = [](RunContext& c) {
    std::optional<DNDarray> w;
    if (c.inputs.size() == 2) w = c.array(1);
    if (c.params.given("weights")) {
      const std::vector<double> v = c.params.number_list("weights");
      w = array(at::tensor(v, at::kDouble), kReplicated, ArrayOptions{}.with_comm(c.comm));
    }
    return one(
        average(c.array(0), c.params.axis("axis"), w ? &*w : nullptr, c.params.boolean("keepdims")));
  };
  return d;
}
DND_REGISTER_OP(average_op());

OpDef bincount_op() {
  OpDef d;
  d.name = "bincount";
  d.summary =
      "how often each value in [0, minlength) occurs (numpy.bincount): inputs [x] or [x, weights]";
  d.category = "statistics";
  d.min_inputs = 1;
  d.max_inputs = 2;
  d.params = {ParamSpec{"minlength", ParamKind::integer,
                        "the number of bins: the result's length (every value must be below it)", true}};
  d.infer = [](const InferContext& c) {
    return bincount_meta(c.array(0), c.inputs.size() == 2 ? &c.array(1) : nullptr,
                         c.params.integer("minlength"), c.nranks);
  };
  d.run = [](RunContext& c) {
    return one(bincount(c.array(0), c.params.integer("minlength"),
                        c.inputs.size() == 2 ? &c.array(1) : nullptr));
  };
  return d;
}
DND_REGISTER_OP(bincount_op());

std::optional<std::pair<double, double>> histogram_range(const Params& p) {
  if (p.is_none("range")) return std::nullopt;
  const std::vector<double> r = p.number_list("range");
  if (r.size() != 2)
    throw ValueError(fmt::format("histogram: range must be [min, max], got {} values", r.size()));
  return std::make_pair(r[0], r[1]);
}

OpDef histogram_op() {
  OpDef d;
  d.name = "histogram";
  d.summary =
      "counts of the values in bins (numpy.histogram): results id.counts, id.edges; inputs [a] or [a, "
      "weights]";
  d.category = "statistics";
  d.min_inputs = 1;
  d.max_inputs = 2;
  d.outputs = {"counts", "edges"};
  d.params = {
      ParamSpec{"bins", ParamKind::integer, "the number of equal bins", false, "10"},
      ParamSpec{"edges", ParamKind::number_list,
                "the bin edges, increasing (instead of bins and range)"},
      ParamSpec{"range", ParamKind::number_list, "[min, max] of the equal bins (none: the data's)"},
      ParamSpec{"density", ParamKind::boolean, "counts / (total * bin width): a density", false,
                "false"}};
  d.infer = [](const InferContext& c) {
    if (c.params.given("edges") && (c.params.given("bins") || c.params.given("range")))
      throw ValueError("histogram: give edges, or bins and range, not both");
    histogram_range(c.params);  // its shape is checked before anything runs
    return histogram_meta(c.array(0), c.params.integer("bins"), c.params.number_list("edges"),
                          c.inputs.size() == 2 ? &c.array(1) : nullptr, c.params.boolean("density"),
                          c.nranks);
  };
  d.run = [](RunContext& c) {
    auto [counts, edges] = histogram(
        c.array(0), c.params.integer("bins"), histogram_range(c.params), c.params.number_list("edges"),
        c.inputs.size() == 2 ? &c.array(1) : nullptr, c.params.boolean("density"));
    return std::vector<DNDarray>{counts, edges};
  };
  return d;
}
DND_REGISTER_OP(histogram_op());

OpDef ptp_op() {
  OpDef d;
  d.name = "ptp";
  d.summary = "peak to peak, max - min over axes (numpy.ptp)";
  d.category = "statistics";
  d.params = {
      ParamSpec{"axis", ParamKind::axes, "axis or list of axes (none: all)"},
      ParamSpec{"keepdims", ParamKind::boolean, "keep reduced axes with extent 1", false, "false"}};
  d.infer = [](const InferContext& c) {
    return ptp_meta(c.array(0), c.params.axes("axis"), c.params.boolean("keepdims"), c.nranks);
  };
  d.run = [](RunContext& c) {
    return one(ptp(c.array(0), c.params.axes("axis"), c.params.boolean("keepdims")));
  };
  return d;
}
DND_REGISTER_OP(ptp_op());

OpDef skew_op() {
  OpDef d;
  d.name = "skew";
  d.summary = "sample skewness along an axis (scipy.stats.skew: biased by default)";
  d.category = "statistics";
  d.params = {
      ParamSpec{"axis", ParamKind::axis, "the axis (none: the flattened array)", false, "0"},
      ParamSpec{"bias", ParamKind::boolean, "false: corrected for statistical bias", false, "true"}};
  d.infer = [](const InferContext& c) {
    return moment_meta("skew", c.array(0), c.params.axis("axis"), c.nranks);
  };
  d.run = [](RunContext& c) {
    return one(skew(c.array(0), c.params.axis("axis"), c.params.boolean("bias")));
  };
  return d;
}
DND_REGISTER_OP(skew_op());

OpDef kurtosis_op() {
  OpDef d;
  d.name = "kurtosis";
  d.summary = "kurtosis along an axis (scipy.stats.kurtosis: Fisher's, biased by default)";
  d.category = "statistics";
  d.params = {
      ParamSpec{"axis", ParamKind::axis, "the axis (none: the flattened array)", false, "0"},
      ParamSpec{"fisher", ParamKind::boolean, "subtract 3 (normal gives 0); false: Pearson's", false,
                "true"},
      ParamSpec{"bias", ParamKind::boolean, "false: corrected for statistical bias", false, "true"}};
  d.infer = [](const InferContext& c) {
    return moment_meta("kurtosis", c.array(0), c.params.axis("axis"), c.nranks);
  };
  d.run = [](RunContext& c) {
    return one(kurtosis(c.array(0), c.params.axis("axis"), c.params.boolean("fisher"),
                        c.params.boolean("bias")));
  };
  return d;
}
DND_REGISTER_OP(kurtosis_op());

}  // namespace
}  // namespace dnd::pipeline::ops
