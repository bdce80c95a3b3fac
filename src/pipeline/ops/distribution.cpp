// Distribution ops: split (distribute a replicated array), resplit, redistribute,
// balance, gather (make whole on every rank), astype.
#include "src/core/manipulation.h"
#include "src/core/moves.h"
#include "src/pipeline/ops/common.h"

namespace dnd::pipeline::ops {
namespace {

OpDef split_op() {
  OpDef d;
  d.name = "split";
  d.summary =
      "distribute a replicated array along an axis (each rank keeps its block; no communication)";
  d.category = "distribution";
  d.params = {ParamSpec{"axis", ParamKind::split, "the axis to split along", false, "0"}};
  d.infer = [](const InferContext& c) {
    ArrayMeta m = c.array(0);
    if (m.split)
      throw ValueError(fmt::format(
          "split: the input is already split along axis {}; use resplit to change the axis", *m.split));
    m.split = checked_split(c.params.split("axis"), static_cast<int64_t>(m.shape.size()), "split");
    return single(m);
  };
  d.run = [](RunContext& c) { return one(resplit(c.array(0), c.planned[0].split)); };
  return d;
}
DND_REGISTER_OP(split_op());

OpDef resplit_op() {
  OpDef d;
  d.name = "resplit";
  d.summary = "change the split axis (none: make whole on every rank)";
  d.category = "distribution";
  d.params = {ParamSpec{"axis", ParamKind::split, "the new split axis (none: replicate)", true}};
  d.infer = [](const InferContext& c) {
    ArrayMeta m = c.array(0);
    const Split to =
        checked_split(c.params.split("axis"), static_cast<int64_t>(m.shape.size()), "resplit");
    InferResult r;
    r.comm_bytes = resplit_bytes(m, to, c.nranks);  // 0 unless split and moving
    m.split = to;
    r.outputs.push_back(m);
    return r;
  };
  d.run = [](RunContext& c) { return one(resplit(c.array(0), c.planned[0].split)); };
  return d;
}
DND_REGISTER_OP(resplit_op());

OpDef redistribute_op() {
  OpDef d;
  d.name = "redistribute";
  d.summary = "move a split array's rows so that rank r holds counts[r] of them";
  d.category = "distribution";
  d.params = {ParamSpec{"counts", ParamKind::int_list,
                        "extent of the split axis on each rank (one per rank)", true}};
  d.infer = [](const InferContext& c) {
    const ArrayMeta& m = c.array(0);
    if (!m.split) throw ValueError("redistribute: the input is not split; use split or resplit first");
    const std::vector<int64_t> counts = c.params.int_list("counts");
    if (static_cast<int>(counts.size()) != c.nranks)
      throw ValueError(
          fmt::format("redistribute: counts has {} entries for {} ranks", counts.size(), c.nranks));
    int64_t sum = 0;
    for (int64_t k : counts) {
      if (k < 0) throw ValueError("redistribute: counts must be non-negative");
      sum += k;
    }
    if (sum != m.shape[static_cast<size_t>(*m.split)])
      throw ValueError(fmt::format("redistribute: counts sum to {}, but axis {} has extent {}", sum,
                                   *m.split, m.shape[static_cast<size_t>(*m.split)]));
    // From balanced blocks (what the plan assumes of its input) to counts.
    const int64_t ax = *m.split;
    return single(m,
                  max_of(place_rank_bytes(m.shape, m.split, {}, m.shape, ax, counts, -1, 0,
                                          static_cast<int64_t>(c10::elementSize(m.dtype)), c.nranks)));
  };
  d.run = [](RunContext& c) { return one(redistribute(c.array(0), c.params.int_list("counts"))); };
  return d;
}
DND_REGISTER_OP(redistribute_op());

OpDef balance_op() {
  OpDef d;
  d.name = "balance";
  d.summary = "restore balanced blocks (n/p rows per rank, the first n%p one more)";
  d.category = "distribution";
  d.infer = [](const InferContext& c) {
    // Balanced inputs move nothing, but the plan cannot know an input's blocks (after
    // redistribute, filter, unique, a load of uneven rows): at most, one rank holds the
    // whole array and sends all of it but its own share (plan.h: a bound).
    const ArrayMeta& m = c.array(0);
    int64_t most = 0;
    const int64_t ext = m.split ? m.shape[static_cast<size_t>(*m.split)] : 0;
    if (c.nranks > 1 && ext > 0) most = global_bytes(m) - global_bytes(m) / ext * (ext / c.nranks);
    return single(m, most);
  };
  d.run = [](RunContext& c) { return one(balance(c.array(0))); };
  return d;
}
DND_REGISTER_OP(balance_op());

OpDef gather_op() {
  OpDef d;
  d.name = "gather";
  d.summary = "make the whole array available on every rank (split none)";
  d.category = "distribution";
  d.infer = [](const InferContext& c) {
    ArrayMeta m = c.array(0);
    const int64_t sent = allgather_bytes(m, c.nranks);
    m.split = kReplicated;
    return single(m, sent);
  };
  d.run = [](RunContext& c) { return one(resplit(c.array(0), kReplicated)); };
  return d;
}
DND_REGISTER_OP(gather_op());

OpDef astype_op() {
  OpDef d;
  d.name = "astype";
  d.summary = "convert to another element type (numpy casting: float to int truncates)";
  d.category = "array";
  d.params = {ParamSpec{"dtype", ParamKind::dtype, "the new element type", true}};
  d.infer = [](const InferContext& c) {
    ArrayMeta m = c.array(0);
    m.dtype = c.params.dtype("dtype", m.dtype);
    return single(m);
  };
  d.run = [](RunContext& c) { return one(astype(c.array(0), c.planned[0].dtype)); };
  return d;
}
DND_REGISTER_OP(astype_op());

}  // namespace
}  // namespace dnd::pipeline::ops
