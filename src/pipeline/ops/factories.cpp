// Factory ops: zeros, ones, empty, full, arange, linspace, eye, random.uniform,
// random.normal, random.integers. Each makes a new array, split as asked, and moves no
// data between ranks.
#include "src/core/factories.h"
#include "src/pipeline/ops/common.h"

#include <cmath>

namespace dnd::pipeline::ops {
namespace {

ParamSpec p_shape() {
  return ParamSpec{"shape", ParamKind::shape, "global shape, such as [1000, 16]", true};
}
ParamSpec p_seed() {
  return ParamSpec{"seed", ParamKind::integer, "seed (same values at any rank count)", false, "0"};
}

ArrayOptions options(const RunContext& c, Dtype dt, Split split) {
  ArrayOptions o;
  o.split = split;
  o.dtype = dt;
  o.device = c.params.device("device", c.default_device);
  o.comm = c.comm;
  return o;
}

ArrayMeta meta(const InferContext& c, const char* op, Shape shape, Dtype dt) {
  ArrayMeta m;
  m.split = checked_split(c.params.split("split"), static_cast<int64_t>(shape.size()), op);
  m.shape = std::move(shape);
  m.dtype = dt;
  m.device = c.params.device("device", c.default_device);
  return m;
}

ParamSpec p_device() {
  return ParamSpec{"device", ParamKind::device, "cpu or gpu (default: defaults.device)"};
}

// zeros / ones / empty: a shape, a dtype (default: defaults.dtype).
OpDef filled(const char* name, const char* summary,
             DNDarray (*make)(const Shape&, const ArrayOptions&)) {
  OpDef d;
  d.name = name;
  d.summary = summary;
  d.category = "factory";
  d.min_inputs = d.max_inputs = 0;
  d.params = {p_shape(), p_split(), p_dtype(), p_device()};
  d.infer = [name](const InferContext& c) {
    InferResult r;
    r.outputs.push_back(
        meta(c, name, c.params.shape("shape"), c.params.dtype("dtype", c.default_dtype)));
    return r;
  };
  d.run = [make](RunContext& c) {
    const ArrayMeta& m = c.planned[0];
    return one(make(m.shape, options(c, m.dtype, m.split)));
  };
  return d;
}

DND_REGISTER_OP(filled("zeros", "an array of zeros",
                       [](const Shape& s, const ArrayOptions& o) { return zeros(s, o); }));
DND_REGISTER_OP(filled("ones", "an array of ones",
                       [](const Shape& s, const ArrayOptions& o) { return ones(s, o); }));
DND_REGISTER_OP(filled("empty", "an uninitialised array (contents undefined)",
                       [](const Shape& s, const ArrayOptions& o) { return empty(s, o); }));

OpDef full_op() {
  OpDef d;
  d.name = "full";
  d.summary = "an array filled with one value";
  d.category = "factory";
  d.min_inputs = d.max_inputs = 0;
  d.params = {
      p_shape(), ParamSpec{"value", ParamKind::scalar, "the fill value", true}, p_split(),
      p_dtype(
          "element type (default: int64 for an integer value, bool for a bool, else defaults.dtype)"),
      p_device()};
  d.infer = [](const InferContext& c) {
    const c10::Scalar v = c.params.scalar("value");
    const Dtype natural = v.isBoolean() ? at::kBool : v.isIntegral(false) ? at::kLong : c.default_dtype;
    InferResult r;
    r.outputs.push_back(meta(c, "full", c.params.shape("shape"), c.params.dtype("dtype", natural)));
    return r;
  };
  d.run = [](RunContext& c) {
    const ArrayMeta& m = c.planned[0];
    return one(full(m.shape, c.params.scalar("value"), options(c, m.dtype, m.split)));
  };
  return d;
}
DND_REGISTER_OP(full_op());

OpDef arange_op() {
  OpDef d;
  d.name = "arange";
  d.summary = "evenly spaced values in [start, stop) with a step (numpy.arange)";
  d.category = "factory";
  d.min_inputs = d.max_inputs = 0;
  d.params = {
      ParamSpec{"stop", ParamKind::scalar, "end (exclusive)", true},
      ParamSpec{"start", ParamKind::scalar, "first value", false, "0"},
      ParamSpec{"step", ParamKind::scalar, "spacing (not 0)", false, "1"},
      p_split(),
      p_dtype(
          "element type (default: int64 when start, stop and step are integers, else defaults.dtype)"),
      p_device()};
  d.infer = [](const InferContext& c) {
    const c10::Scalar start = c.params.scalar("start"), stop = c.params.scalar("stop"),
                      step = c.params.scalar("step");
    const bool integral = start.isIntegral(false) && stop.isIntegral(false) && step.isIntegral(false);
    InferResult r;
    r.outputs.push_back(meta(c, "arange", Shape{arange_length(start, stop, step)},
                             c.params.dtype("dtype", integral ? at::kLong : c.default_dtype)));
    return r;
  };
  d.run = [](RunContext& c) {
    const ArrayMeta& m = c.planned[0];
    return one(arange(c.params.scalar("start"), c.params.scalar("stop"), c.params.scalar("step"),
                      options(c, m.dtype, m.split)));
  };
  return d;
}
DND_REGISTER_OP(arange_op());

OpDef linspace_op() {
  OpDef d;
  d.name = "linspace";
  d.summary = "num evenly spaced values from start to stop (numpy.linspace)";
  d.category = "factory";
  d.min_inputs = d.max_inputs = 0;
  d.params = {ParamSpec{"start", ParamKind::number, "first value", true},
              ParamSpec{"stop", ParamKind::number, "last value (or the end, without endpoint)", true},
              ParamSpec{"num", ParamKind::integer, "number of values", false, "50"},
              ParamSpec{"endpoint", ParamKind::boolean, "include stop", false, "true"},
              p_split(),
              p_dtype(),
              p_device()};
  d.infer = [](const InferContext& c) {
    const int64_t num = c.params.integer("num");
    if (num < 0) throw ValueError(fmt::format("linspace: num must be non-negative, got {}", num));
    InferResult r;
    r.outputs.push_back(meta(c, "linspace", Shape{num}, c.params.dtype("dtype", c.default_dtype)));
    return r;
  };
  d.run = [](RunContext& c) {
    const ArrayMeta& m = c.planned[0];
    return one(linspace(c.params.number("start"), c.params.number("stop"), c.params.integer("num"),
                        c.params.boolean("endpoint"), options(c, m.dtype, m.split)));
  };
  return d;
}
DND_REGISTER_OP(linspace_op());

OpDef eye_op() {
  OpDef d;
  d.name = "eye";
  d.summary = "an n x m matrix with ones on the diagonal";
  d.category = "factory";
  d.min_inputs = d.max_inputs = 0;
  d.params = {ParamSpec{"n", ParamKind::integer, "rows", true},
              ParamSpec{"m", ParamKind::integer, "columns (default: n)"}, p_split(), p_dtype(),
              p_device()};
  d.infer = [](const InferContext& c) {
    const int64_t n = c.params.integer("n");
    const int64_t m = c.params.is_none("m") ? n : c.params.integer("m");
    if (n < 0 || m < 0)
      throw ValueError(fmt::format("eye: n and m must be non-negative, got {} and {}", n, m));
    InferResult r;
    r.outputs.push_back(meta(c, "eye", Shape{n, m}, c.params.dtype("dtype", c.default_dtype)));
    return r;
  };
  d.run = [](RunContext& c) {
    const ArrayMeta& m = c.planned[0];
    return one(eye(m.shape[0], m.shape[1], options(c, m.dtype, m.split)));
  };
  return d;
}
DND_REGISTER_OP(eye_op());

OpDef random_op(const char* name, const char* summary, const char* a, const char* a_help,
                const char* a_def, const char* b, const char* b_help, const char* b_def, bool integers) {
  OpDef d;
  d.name = name;
  d.summary = summary;
  d.category = "factory";
  d.min_inputs = d.max_inputs = 0;
  const ParamKind k = integers ? ParamKind::integer : ParamKind::number;
  d.params = {p_shape(),
              ParamSpec{a, k, a_help, integers, a_def},
              ParamSpec{b, k, b_help, integers, b_def},
              p_seed(),
              p_split(),
              p_dtype(integers ? "element type (default: int64)"
                               : "float32 or float64 (default: defaults.dtype)"),
              p_device()};
  const std::string a_name = a, b_name = b;
  d.infer = [name, integers, a_name, b_name](const InferContext& c) {
    const Dtype dt = c.params.dtype("dtype", integers ? at::kLong : c.default_dtype);
    if (!integers && dt != at::kFloat && dt != at::kDouble)
      throw TypeError(fmt::format("{}: dtype must be float32 or float64, got {}", name, dtype_name(dt)));
    // The kernels' own checks, before anything runs.
    if (!integers) {
      const double x = c.params.number(a_name), y = c.params.number(b_name);
      if (a_name == "low" && (!(x <= y) || !std::isfinite(x) || !std::isfinite(y)))
        throw ValueError(fmt::format("{}: need finite low <= high (got low={}, high={})", name, x, y));
      if (a_name == "mean" && (!(y >= 0) || !std::isfinite(x) || !std::isfinite(y)))
        throw ValueError(fmt::format(
            "{}: need a finite mean and a finite std >= 0 (got mean={}, std={})", name, x, y));
    }
    if (integers && c.params.integer("low") >= c.params.integer("high"))
      throw ValueError(fmt::format("{}: low ({}) must be below high ({})", name, c.params.integer("low"),
                                   c.params.integer("high")));
    if (integers && (!at::isIntegralType(dt, false)))
      throw TypeError(fmt::format("{}: dtype must be an integer type, got {}", name, dtype_name(dt)));
    InferResult r;
    r.outputs.push_back(meta(c, name, c.params.shape("shape"), dt));
    if (a_name == "mean")
      r.temp_bytes = random_normal_scratch_bytes(
          dt, max_block_bytes(r.outputs[0], c.nranks) / static_cast<int64_t>(c10::elementSize(dt)));
    return r;
  };
  const std::string sa = a, sb = b;
  const std::string n = name;
  d.run = [n, sa, sb](RunContext& c) {
    const ArrayMeta& m = c.planned[0];
    const uint64_t seed = static_cast<uint64_t>(c.params.integer("seed"));
    const ArrayOptions o = options(c, m.dtype, m.split);
    if (n == "random.uniform")
      return one(random_uniform(m.shape, seed, c.params.number(sa), c.params.number(sb), o));
    if (n == "random.normal")
      return one(random_normal(m.shape, seed, c.params.number(sa), c.params.number(sb), o));
    return one(random_integers(m.shape, seed, c.params.integer(sa), c.params.integer(sb), o));
  };
  return d;
}
DND_REGISTER_OP(random_op("random.uniform", "uniform random values in [low, high)", "low", "lower bound",
                          "0.0", "high", "upper bound", "1.0", false));
DND_REGISTER_OP(random_op("random.normal", "normally distributed random values", "mean", "mean", "0.0",
                          "std", "standard deviation", "1.0", false));
DND_REGISTER_OP(random_op("random.integers", "random integers in [low, high)", "low", "lowest value", "",
                          "high", "end (exclusive)", "", true));

}  // namespace
}  // namespace dnd::pipeline::ops
