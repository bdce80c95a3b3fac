// Window ops along an axis, correct across rank boundaries: convolve (numpy.convolve's
// full/same/valid) and moving (mean/sum/min/max over a sliding window). Both call the
// core's meta function at plan time and the core op at run time (core/window.h).
#include "src/core/window.h"
#include "src/pipeline/ops/common.h"

namespace dnd::pipeline::ops {
namespace {

InferResult window_result(const WindowMeta& w, const ArrayMeta& a) {
  InferResult r;
  r.outputs.push_back(ArrayMeta{w.shape, w.dtype, w.split, a.device});
  const int64_t n = a.split ? a.shape[static_cast<size_t>(*a.split)] : 0;
  r.comm_bytes = n > 0 ? w.rows_sent * (global_bytes(a) / n) : 0;
  r.temp_bytes = w.temp_bytes;
  if (w.rows_sent > 0)
    r.note = fmt::format("halo along the split axis: up to {} rows sent per rank", w.rows_sent);
  return r;
}

OpDef convolve_op() {
  OpDef d;
  d.name = "convolve";
  d.summary = "1-D convolution with a kernel along an axis (numpy.convolve: full, same, valid)";
  d.category = "window";
  d.params = {
      ParamSpec{"weights", ParamKind::number_list, "the kernel v, such as [0.25, 0.5, 0.25]", true},
      ParamSpec{
          "mode", ParamKind::choice, "numpy.convolve's mode", false, "full", {"full", "same", "valid"}},
      ParamSpec{"axis", ParamKind::integer, "the axis to convolve along", false, "0"}};
  d.infer = [](const InferContext& c) {
    const ArrayMeta& a = c.array(0);
    const std::vector<double> w = c.params.number_list("weights");
    return window_result(
        convolve_meta(a.shape, a.split, a.dtype, static_cast<int64_t>(w.size()),
                      parse_convolve_mode(c.params.string("mode")), c.params.integer("axis"), c.nranks),
        a);
  };
  d.run = [](RunContext& c) {
    const std::vector<double> w = c.params.number_list("weights");
    const at::Tensor v = at::tensor(w, at::kDouble);
    return one(
        convolve(c.array(0), v, parse_convolve_mode(c.params.string("mode")), c.params.integer("axis")));
  };
  return d;
}
DND_REGISTER_OP(convolve_op());

OpDef moving_op() {
  OpDef d;
  d.name = "moving";
  d.summary =
      "a reduction over every window of consecutive slices along an axis (extent n - window + 1)";
  d.category = "window";
  d.params = {ParamSpec{"window", ParamKind::integer, "the window's length", true},
              ParamSpec{"fn",
                        ParamKind::choice,
                        "the reduction over each window",
                        false,
                        "mean",
                        {"mean", "sum", "min", "max"}},
              ParamSpec{"axis", ParamKind::integer, "the axis to slide along", false, "0"}};
  d.infer = [](const InferContext& c) {
    const ArrayMeta& a = c.array(0);
    return window_result(
        moving_meta(a.shape, a.split, a.dtype, c.params.integer("window"),
                    parse_moving_fn(c.params.string("fn")), c.params.integer("axis"), c.nranks),
        a);
  };
  d.run = [](RunContext& c) {
    return one(moving(c.array(0), c.params.integer("window"), parse_moving_fn(c.params.string("fn")),
                      c.params.integer("axis")));
  };
  return d;
}
DND_REGISTER_OP(moving_op());

}  // namespace
}  // namespace dnd::pipeline::ops
