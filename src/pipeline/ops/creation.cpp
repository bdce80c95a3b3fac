// Creation ops beside the factories: array (literal values written in the pipeline),
// zeros_like, ones_like, full_like, empty_like (shaped, split and typed like an input),
// logspace (numpy.logspace) and meshgrid (coordinate grids from 1-D arrays, numpy's
// indexing xy or ij). None moves a block between ranks except meshgrid, which gathers its
// inputs (the grid's axes, small beside the grid).
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "src/pipeline/ops/common.h"

#include <cmath>

namespace dnd::pipeline::ops {
namespace {

ParamSpec p_device() {
  return ParamSpec{"device", ParamKind::device, "cpu or gpu (default: defaults.device)"};
}

ArrayOptions options(const RunContext& c, const ArrayMeta& m) {
  ArrayOptions o;
  o.split = m.split;
  o.dtype = m.dtype;
  o.device = m.device;
  o.comm = c.comm;
  return o;
}

// The literal's natural dtype: bool when every value is a bool, int64 when every value
// is an integer (or bool), else the default float.
Dtype literal_dtype(const Literal& l, Dtype fallback) {
  bool all_bool = !l.values.empty(), all_int = !l.values.empty();
  for (const c10::Scalar& v : l.values) {
    all_bool = all_bool && v.isBoolean();
    all_int = all_int && (v.isBoolean() || v.isIntegral(false));
  }
  return all_bool ? at::kBool : all_int ? at::kLong : fallback;
}

at::Tensor literal_tensor(const Literal& l, Dtype dt) {
  at::Tensor t;
  if (literal_dtype(l, at::kDouble) == at::kDouble) {
    std::vector<double> v;
    for (const c10::Scalar& x : l.values) v.push_back(x.toDouble());
    t = at::tensor(v, at::kDouble);
  } else {
    std::vector<int64_t> v;
    for (const c10::Scalar& x : l.values) v.push_back(x.toLong());
    t = at::tensor(v, at::kLong);
  }
  return t.reshape(l.shape).to(dt).contiguous();
}

OpDef array_op() {
  OpDef d;
  d.name = "array";
  d.summary = "an array of values written in the pipeline (numpy.array of nested lists)";
  d.category = "factory";
  d.min_inputs = d.max_inputs = 0;
  d.params = {
      ParamSpec{"values", ParamKind::values, "a number, or nested lists such as [[1, 2], [3, 4]]", true},
      p_split(),
      p_dtype("element type (default: bool when all values are bools, int64 when all are "
              "integers, else defaults.dtype)"),
      p_device()};
  d.infer = [](const InferContext& c) {
    const Literal l = c.params.values("values");
    ArrayMeta m;
    m.shape = l.shape;
    m.split = checked_split(c.params.split("split"), static_cast<int64_t>(l.shape.size()), "array");
    m.dtype = c.params.dtype("dtype", literal_dtype(l, c.default_dtype));
    m.device = c.params.device("device", c.default_device);
    return single(m, 0, global_bytes(m) + global_bytes(ArrayMeta{m.shape, at::kDouble}));
  };
  d.run = [](RunContext& c) {
    const ArrayMeta& m = c.planned[0];
    return one(dnd::array(literal_tensor(c.params.values("values"), m.dtype), m.split, options(c, m)));
  };
  return d;
}
DND_REGISTER_OP(array_op());

enum class Like { zeros, ones, full, empty };

OpDef like_op(const char* name, const char* summary, Like kind) {
  OpDef d;
  d.name = name;
  d.summary = summary;
  d.category = "factory";
  if (kind == Like::full)
    d.params.push_back(ParamSpec{"value", ParamKind::scalar, "the fill value", true});
  d.params.push_back(p_dtype("element type (default: the input's)"));
  d.infer = [](const InferContext& c) {
    ArrayMeta m = c.array(0);
    m.dtype = c.params.dtype("dtype", m.dtype);
    return single(m);
  };
  d.run = [kind](RunContext& c) {
    const DNDarray& a = c.array(0);
    const ArrayMeta& m = c.planned[0];
    const at::TensorOptions o = a.larray().options().dtype(m.dtype);
    const auto sizes = a.larray().sizes();
    at::Tensor local = kind == Like::zeros  ? at::zeros(sizes, o)
                       : kind == Like::ones ? at::ones(sizes, o)
                       : kind == Like::full ? at::full(sizes, c.params.scalar("value"), o)
                                            : at::empty(sizes, o);
    return one(DNDarray(local, a.gshape(), a.split(), a.comm(), a.counts()));
  };
  return d;
}
DND_REGISTER_OP(like_op("zeros_like", "zeros shaped and split like the input (numpy.zeros_like)",
                        Like::zeros));
DND_REGISTER_OP(like_op("ones_like", "ones shaped and split like the input (numpy.ones_like)",
                        Like::ones));
DND_REGISTER_OP(like_op("full_like", "one value, shaped and split like the input (numpy.full_like)",
                        Like::full));
DND_REGISTER_OP(like_op("empty_like", "an uninitialised array shaped and split like the input",
                        Like::empty));

OpDef logspace_op() {
  OpDef d;
  d.name = "logspace";
  d.summary = "num values base**x for x evenly spaced from start to stop (numpy.logspace)";
  d.category = "factory";
  d.min_inputs = d.max_inputs = 0;
  d.params = {
      ParamSpec{"start", ParamKind::number, "the first exponent", true},
      ParamSpec{"stop", ParamKind::number, "the last exponent (or the end, without endpoint)", true},
      ParamSpec{"num", ParamKind::integer, "number of values", false, "50"},
      ParamSpec{"endpoint", ParamKind::boolean, "include base**stop", false, "true"},
      ParamSpec{"base", ParamKind::number, "the base", false, "10.0"},
      p_split(),
      p_dtype("element type (float32, float64 or an integer type, truncated as numpy; "
              "default: defaults.dtype)"),
      p_device()};
  d.infer = [](const InferContext& c) {
    const int64_t num = c.params.integer("num");
    if (num < 0) throw ValueError(fmt::format("logspace: num must be non-negative, got {}", num));
    ArrayMeta m;
    m.shape = Shape{num};
    m.split = checked_split(c.params.split("split"), 1, "logspace");
    m.dtype = c.params.dtype("dtype", c.default_dtype);
    m.device = c.params.device("device", c.default_device);
    if (m.dtype == at::kBool || at::isComplexType(m.dtype))
      throw TypeError(
          fmt::format("logspace: dtype must be a real number type, got {}", dtype_name(m.dtype)));
    // The exponents in float64, raised in place, then converted.
    const ArrayMeta f64{m.shape, at::kDouble, m.split};
    return single(m, 0, m.dtype == at::kDouble ? 0 : max_block_bytes(f64, c.nranks));
  };
  d.run = [](RunContext& c) {
    const ArrayMeta& m = c.planned[0];
    ArrayMeta f = m;
    f.dtype = at::kDouble;
    const DNDarray x = linspace(c.params.number("start"), c.params.number("stop"),
                                c.params.integer("num"), c.params.boolean("endpoint"), options(c, f));
    at::Tensor local = x.larray();
    at::pow_out(local, c10::Scalar(c.params.number("base")), local);
    return one(DNDarray(local.to(m.dtype), m.shape, m.split, c.comm, x.counts()));
  };
  return d;
}
DND_REGISTER_OP(logspace_op());

constexpr int kMaxGrid = 8;

// Output k varies along axis k, except that xy indexing swaps the first two.
int64_t grid_axis(int64_t k, int64_t n, bool xy) {
  if (!xy || n < 2 || k > 1) return k;
  return 1 - k;
}

OpDef meshgrid_op() {
  OpDef d;
  d.name = "meshgrid";
  d.summary = "coordinate grids from 1-D arrays (numpy.meshgrid): one result per input, id.0, id.1, ...";
  d.category = "factory";
  d.min_inputs = 1;
  d.max_inputs = kMaxGrid;
  d.params = {
      ParamSpec{"indexing",
                ParamKind::choice,
                "xy: the first two axes swapped (numpy's default); ij: matrix indexing",
                false,
                "xy",
                {"xy", "ij"}},
      p_split("axis to distribute the grids along (default: 0 when an input is split, else none)")};
  for (int k = 0; k < kMaxGrid; ++k) d.outputs.push_back(std::to_string(k));
  d.outputs_for = [](const Params& p) {
    std::vector<std::string> names;
    for (size_t k = 0; k < p.step().inputs.size(); ++k) names.push_back(std::to_string(k));
    return names;
  };
  d.infer = [](const InferContext& c) {
    const int64_t n = static_cast<int64_t>(c.inputs.size());
    const bool xy = c.params.string("indexing") == "xy";
    Shape shape(static_cast<size_t>(n));
    bool any_split = false;
    int64_t gathered = 0;
    for (int64_t k = 0; k < n; ++k) {
      const ArrayMeta& a = c.array(static_cast<size_t>(k));
      shape[static_cast<size_t>(grid_axis(k, n, xy))] = shape_numel(a.shape);
      any_split = any_split || a.split.has_value();
      gathered += global_bytes(a);
    }
    const Split split = c.params.given("split") ? checked_split(c.params.split("split"), n, "meshgrid")
                                                : (any_split ? Split(0) : kReplicated);
    InferResult r;
    for (int64_t k = 0; k < n; ++k) {
      const ArrayMeta& a = c.array(static_cast<size_t>(k));
      r.outputs.push_back(ArrayMeta{shape, a.dtype, split, a.device});
      r.comm_bytes += allgather_bytes(a, c.nranks);
    }
    r.temp_bytes = gathered;
    return r;
  };
  d.run = [](RunContext& c) {
    const int64_t n = static_cast<int64_t>(c.inputs.size());
    const bool xy = c.params.string("indexing") == "xy";
    const ArrayMeta& m = c.planned[0];
    const Chunk mine =
        m.split ? balanced_chunk(m.shape[static_cast<size_t>(*m.split)], c.comm.rank(), c.comm.size())
                : Chunk{0, 0};
    const Shape lshape = local_shape(m.shape, m.split, mine.count);
    std::vector<DNDarray> out;
    for (int64_t k = 0; k < n; ++k) {
      const DNDarray& a = c.array(static_cast<size_t>(k));
      at::Tensor x = a.split() ? allgather(a) : a.larray();
      x = x.reshape({-1}).to(a.larray().device());
      const int64_t ax = grid_axis(k, n, xy);
      if (m.split && *m.split == ax) x = x.narrow(0, mine.offset, mine.count);
      Shape view(static_cast<size_t>(n), 1);
      view[static_cast<size_t>(ax)] = x.size(0);
      out.emplace_back(x.reshape(view).expand(lshape).contiguous(), m.shape, m.split, c.comm);
    }
    return out;
  };
  return d;
}
DND_REGISTER_OP(meshgrid_op());

}  // namespace
}  // namespace dnd::pipeline::ops
