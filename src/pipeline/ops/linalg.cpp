// Linear-algebra ops on kernels/linalg: matmul, qr, svd. Their shapes, splits and the
// bytes each rank sends come from the kernels' own planning functions, the same rules
// the kernels run by.
#include "kernels/linalg/matmul.h"
#include "kernels/linalg/plan.h"
#include "kernels/linalg/qr.h"
#include "kernels/linalg/svd.h"
#include "src/pipeline/ops/common.h"

namespace dnd::pipeline::ops {
namespace {

OpDef matmul_op() {
  OpDef d;
  d.name = "matmul";
  d.summary = "matrix product a @ b (numpy.matmul: 1-D operands, batched stacks) for any splits";
  d.category = "linalg";
  d.min_inputs = d.max_inputs = 2;
  d.infer = [](const InferContext& c) {
    const ArrayMeta& a = c.array(0);
    const ArrayMeta& b = c.array(1);
    const linalg::MatmulPlan p =
        linalg::plan_matmul(a.shape, a.split, b.shape, b.split, c.nranks, a.dtype, b.dtype);
    InferResult r;
    ArrayMeta m;
    m.shape = p.shape;
    m.split = p.split;
    m.dtype = p.dtype;
    m.device = a.device;
    r.outputs.push_back(m);
    r.comm_bytes = p.max_bytes_sent();
    r.note = p.describe();
    return r;
  };
  d.run = [](RunContext& c) { return one(linalg::matmul(c.array(0), c.array(1))); };
  return d;
}
DND_REGISTER_OP(matmul_op());

linalg::QrMode qr_mode(const Params& p) {
  return p.string("mode") == "r" ? linalg::QrMode::r : linalg::QrMode::reduced;
}

OpDef qr_op() {
  OpDef d;
  d.name = "qr";
  d.summary =
      "QR decomposition: Q split like A, R replicated (TSQR / CholeskyQR2 for tall-skinny split 0)";
  d.category = "linalg";
  d.params = {ParamSpec{
      "mode", ParamKind::choice, "reduced: Q and R; r: R only", false, "reduced", {"reduced", "r"}}};
  d.outputs = {"Q", "R"};
  d.outputs_for = [](const Params& p) {
    return qr_mode(p) == linalg::QrMode::r ? std::vector<std::string>{"R"}
                                           : std::vector<std::string>{"Q", "R"};
  };
  d.infer = [](const InferContext& c) {
    const ArrayMeta& a = c.array(0);
    const linalg::QrMode mode = qr_mode(c.params);
    const linalg::QrPlan p = linalg::plan_qr(a.shape, a.split, c.nranks, a.dtype, mode);
    InferResult r;
    if (mode == linalg::QrMode::reduced)
      r.outputs.push_back(ArrayMeta{p.q_shape, p.dtype, p.q_split, a.device});
    r.outputs.push_back(ArrayMeta{p.r_shape, p.dtype, p.r_split, a.device});
    r.comm_bytes = p.max_bytes_sent();
    r.note = p.describe();
    return r;
  };
  d.run = [](RunContext& c) {
    linalg::QrResult q = linalg::qr(c.array(0), qr_mode(c.params));
    std::vector<DNDarray> out;
    if (q.Q) out.push_back(std::move(*q.Q));
    out.push_back(std::move(q.R));
    return out;
  };
  return d;
}
DND_REGISTER_OP(qr_op());

linalg::SvdOptions svd_options(const Params& p) {
  linalg::SvdOptions o;
  o.method = linalg::parse_svd_method(p.string("method"));
  o.rank = p.integer("rank");
  if (!p.is_none("rtol")) o.rtol = p.number("rtol");
  o.oversample = p.integer("oversample");
  o.power_iterations = p.integer("power_iterations");
  o.seed = static_cast<uint64_t>(p.integer("seed"));
  o.compute_uv = p.boolean("compute_uv");
  return o;
}

OpDef svd_op() {
  OpDef d;
  d.name = "svd";
  d.summary =
      "singular value decomposition A = U diag(S) V^T: exact (tsqr), hierarchical (hsvd) or randomized";
  d.category = "linalg";
  d.params = {
      ParamSpec{"method",
                ParamKind::choice,
                "auto picks by shape and split",
                false,
                "auto",
                {"auto", "tsqr", "hsvd", "randomized"}},
      ParamSpec{"rank", ParamKind::integer, "truncate to this many singular values (0: all)", false,
                "0"},
      ParamSpec{"rtol", ParamKind::number, "hsvd: truncate at this relative tolerance"},
      ParamSpec{"oversample", ParamKind::integer, "randomized: extra columns", false, "10"},
      ParamSpec{"power_iterations", ParamKind::integer, "randomized: power iterations", false, "2"},
      ParamSpec{"seed", ParamKind::integer, "randomized: seed", false, "0"},
      ParamSpec{"compute_uv", ParamKind::boolean, "false: S only", false, "true"}};
  d.outputs = {"U", "S", "V"};
  d.outputs_for = [](const Params& p) {
    return p.boolean("compute_uv") ? std::vector<std::string>{"U", "S", "V"}
                                   : std::vector<std::string>{"S"};
  };
  d.infer = [](const InferContext& c) {
    const ArrayMeta& a = c.array(0);
    const linalg::SvdOptions o = svd_options(c.params);
    const linalg::SvdPlan p = linalg::plan_svd(a.shape, a.split, c.nranks, a.dtype, o);
    InferResult r;
    const Dtype real = c10::toRealValueType(p.dtype);
    if (o.compute_uv) r.outputs.push_back(ArrayMeta{p.u_shape, p.dtype, p.u_split, a.device});
    r.outputs.push_back(ArrayMeta{p.s_shape, real, p.s_split, a.device});
    if (o.compute_uv) r.outputs.push_back(ArrayMeta{p.v_shape, p.dtype, p.v_split, a.device});
    r.comm_bytes = p.max_bytes_sent();
    r.note = p.describe();
    return r;
  };
  d.run = [](RunContext& c) {
    linalg::SvdResult s = linalg::svd(c.array(0), svd_options(c.params));
    std::vector<DNDarray> out;
    if (s.U) out.push_back(std::move(*s.U));
    out.push_back(std::move(s.S));
    if (s.V) out.push_back(std::move(*s.V));
    return out;
  };
  return d;
}
DND_REGISTER_OP(svd_op());

}  // namespace
}  // namespace dnd::pipeline::ops
