// The planner: validation, ordering, inference and memory accounting.
#include "src/pipeline/plan.h"

#include "src/core/error.h"
#include "src/core/text.h"
#include "src/pipeline/fault.h"
#include "src/pipeline/plugins.h"
#include "src/pipeline/extents.h"
#include "src/pipeline/files.h"
#include "src/core/limits.h"
#include "src/core/diagnostics.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace dnd::pipeline {

namespace {

// What dnd can hold: at most kMaxAxes axes, and a byte count that fits in int64
// (checked products, no wrap). Throws ShapeError; called for every inferred result.
void check_array_meta(const ArrayMeta& m) {
  if (static_cast<int64_t>(m.shape.size()) > kMaxAxes)
    throw ShapeError(
        fmt::format("the result has {} axes; dnd arrays have at most {}", m.shape.size(), kMaxAxes));
  for (int64_t d : m.shape)
    if (d < 0)
      throw ShapeError(fmt::format("the result's shape {} has a negative extent", shape_str(m.shape)));
  checked_numel(m.shape, static_cast<int64_t>(c10::elementSize(m.dtype)));
}

// The planner's phases, in order, over one document; each reads what the ones before it
// found. make_plan() runs them:
//   resolve_ops     every step's op, parameters and input count
//   bind_ids        ids and the values they name ("X", "model.centroids")
//   resolve_inputs  each input to the (step, result) producing it
//   plan_files      every file read and written, checked as a whole (files.h)
//   order_steps     dependency order, stable in file order; a cycle is named step by step
//   infer           shapes, dtypes, splits, communication and temporaries, in order
//   liveness        when each value is freed, live bytes per step, the peak
class Planner {
 public:
  Planner(std::shared_ptr<const Document> doc, int nranks) : doc_(*doc), n_(doc->steps.size()) {
    plan_.doc = std::move(doc);
    plan_.nranks = std::max(1, nranks);
  }

  Plan run() {
    load_document_plugins(doc_);  // their ops, before any op is looked up
    resolve_ops();
    bind_ids();
    resolve_inputs();
    files_ = plan_files(doc_, ops_, params_);  // every path read and written, checked as a whole
    order_steps();
    infer();
    liveness();
    return std::move(plan_);
  }

 private:
  using Ref = std::pair<size_t, size_t>;  // (step, output); step SIZE_MAX: a number
  static constexpr size_t kNumber = SIZE_MAX;

  void resolve_ops();
  void bind_ids();
  void resolve_inputs();
  [[noreturn]] void throw_undefined(const InputRef& in) const;
  void order_steps();
  [[noreturn]] void throw_cycle(const std::vector<int>& indeg) const;
  void infer();
  InferResult infer_step(const OpDef& op, const InferContext& ctx) const;
  std::vector<uint64_t> inherited_bounds(const OpDef& op, const PlannedStep& ps,
                                         const std::vector<uint64_t>& in_bounds) const;
  void liveness();
  // Byte counts are sums of checked sizes; a sum past int64 is an error, not a wrap.
  int64_t checked_add(int64_t a, int64_t b, const Step& st) const {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
      throw doc_.error(st.mark, "the plan's bytes per rank do not fit in a 64-bit integer");
    return r;
  }

  const Document& doc_;
  const size_t n_;
  Plan plan_;
  std::vector<const OpDef*> ops_;
  std::vector<std::unique_ptr<Params>> params_;
  std::vector<std::vector<std::string>> fields_;  // named results of each step
  std::map<std::string, size_t> by_id_;
  std::map<std::string, Ref> values_;   // value name -> producer
  std::vector<std::vector<Ref>> refs_;  // per step, per input: its producer
  std::vector<size_t> order_;
  FileTable files_;
};

// numpy's names for what dnd spells otherwise: what `op: NAME` should be. Only names
// whose target op exists are offered.
struct NumpyName {
  const char* name;
  const char* op;
  const char* with;  // the parameter that completes it, or ""
};
constexpr NumpyName kNumpyNames[] = {
    {"sum", "reduce", "fn: sum"},
    {"prod", "reduce", "fn: prod"},
    {"mean", "reduce", "fn: mean"},
    {"var", "reduce", "fn: var"},
    {"std", "reduce", "fn: std"},
    {"min", "reduce", "fn: min"},
    {"max", "reduce", "fn: max"},
    {"amin", "reduce", "fn: min"},
    {"amax", "reduce", "fn: max"},
    {"argmin", "reduce", "fn: argmin"},
    {"argmax", "reduce", "fn: argmax"},
    {"any", "reduce", "fn: any"},
    {"all", "reduce", "fn: all"},
    {"norm", "reduce", "fn: norm"},
    {"linalg.norm", "reduce", "fn: norm"},
    {"nansum", "reduce", "fn: nansum"},
    {"nanmean", "reduce", "fn: nanmean"},
    {"nanvar", "reduce", "fn: nanvar"},
    {"nanstd", "reduce", "fn: nanstd"},
    {"nanmin", "reduce", "fn: nanmin"},
    {"nanmax", "reduce", "fn: nanmax"},
    {"nanargmin", "reduce", "fn: nanargmin"},
    {"nanargmax", "reduce", "fn: nanargmax"},
    {"count_nonzero", "reduce", "fn: count_nonzero"},
    {"dot", "matmul", ""},
    {"@", "matmul", ""},
    {"mm", "matmul", ""},
    {"linalg.qr", "qr", ""},
    {"linalg.svd", "svd", ""},
    {"absolute", "abs", ""},
    {"mod", "remainder", ""},
    {"true_divide", "divide", ""},
    {"pow", "power", ""},
    {"invert", "bitwise_not", ""},
    {"around", "round", ""},
    {"clamp", "clip", ""},
    {"ravel", "flatten", ""},
    {"swapaxes", "transpose", ""},
    {"permute", "transpose", ""},
    {"concat", "concatenate", ""},
    {"cast", "astype", ""},
    {"rand", "random.uniform", ""},
    {"random.rand", "random.uniform", ""},
    {"random.random", "random.uniform", ""},
    {"randn", "random.normal", ""},
    {"random.randn", "random.normal", ""},
    {"randint", "random.integers", ""},
    {"random.randint", "random.integers", ""},
    {"compress", "filter", ""},
    {"extract", "filter", ""},
    {"argwhere", "nonzero", ""},
    {"read", "load", ""},
    {"write", "save", ""},
};

}  // namespace

std::string numpy_name_hint(const std::string& name) {
  for (const NumpyName& n : kNumpyNames) {
    if (name != n.name || !find_op(n.op)) continue;
    if (*n.with) return fmt::format(": {} is `op: {}` with `{}`", name, n.op, n.with);
    return fmt::format(": {} is `op: {}`", name, n.op);
  }
  return "";
}

namespace {

void Planner::resolve_ops() {
  ops_.resize(n_);
  params_.resize(n_);
  fields_.resize(n_);
  std::vector<std::string> op_names;
  for (const OpDef* d : all_ops()) op_names.push_back(d->name);
  for (size_t i = 0; i < n_; ++i) {
    const Step& st = doc_.steps[i];
    ops_[i] = find_op(st.op);
    if (!ops_[i]) {
      std::string hint = numpy_name_hint(st.op);
      if (hint.empty()) hint = did_you_mean(st.op, op_names);
      throw doc_.error(st.op_mark, fmt::format("unknown op '{}'{}", st.op,
                                               hint.empty() ? " (run 'dnd ops' for the list)" : hint));
    }
    const OpDef& op = *ops_[i];
    params_[i] = std::make_unique<Params>(st, op.params, doc_);
    fields_[i] = op.outputs_for ? op.outputs_for(*params_[i]) : op.outputs;
    const int k = static_cast<int>(st.inputs.size());
    const Mark where = st.inputs_mark.line ? st.inputs_mark : st.op_mark;
    if (k < op.min_inputs || (op.max_inputs >= 0 && k > op.max_inputs)) {
      std::string want = op.min_inputs == op.max_inputs ? std::to_string(op.min_inputs)
                         : op.max_inputs < 0            ? fmt::format("at least {}", op.min_inputs)
                                             : fmt::format("{} to {}", op.min_inputs, op.max_inputs);
      std::string how = op.max_inputs == 0   ? ""
                        : op.max_inputs == 1 ? " (input: X)"
                                             : " (inputs: [A, B, ...])";
      throw doc_.error(where, fmt::format("op '{}' takes {} input{}{}, got {}", op.name, want,
                                          want == "1" ? "" : "s", how, k));
    }
    for (const InputRef& in : st.inputs)
      if (in.ref.empty() && !op.scalar_inputs)
        throw doc_.error(in.mark, fmt::format("op '{}' takes arrays as inputs, not the number {}",
                                              op.name, in.literal.Scalar()));
  }
}

void Planner::bind_ids() {
  for (size_t i = 0; i < n_; ++i) {
    const Step& st = doc_.steps[i];
    if (!st.has_id) {
      if (ops_[i]->has_result)
        throw doc_.error(st.mark, fmt::format("this '{}' step needs an 'id' to name its result", st.op));
      continue;
    }
    if (auto it = by_id_.find(st.id); it != by_id_.end())
      throw doc_.error(st.mark, fmt::format("duplicate step id '{}' (first used at line {})", st.id,
                                            doc_.steps[it->second].mark.line));
    by_id_[st.id] = i;
    if (!ops_[i]->has_result) continue;
    if (fields_[i].empty()) {  // one result, named by the id
      values_[st.id] = {i, 0};
    } else {
      for (size_t f = 0; f < fields_[i].size(); ++f) values_[st.id + "." + fields_[i][f]] = {i, f};
    }
  }
}

void Planner::resolve_inputs() {
  refs_.resize(n_);
  for (size_t i = 0; i < n_; ++i) {
    for (const InputRef& in : doc_.steps[i].inputs) {
      if (in.ref.empty()) {
        refs_[i].push_back({kNumber, 0});
        continue;
      }
      auto it = values_.find(in.ref);
      if (it == values_.end()) throw_undefined(in);
      if (it->second.first == i)
        throw doc_.error(in.mark, fmt::format("step '{}' uses its own result", in.ref));
      refs_[i].push_back(it->second);
    }
  }
}

// An input naming no value: say what the name is, and what it could have been.
void Planner::throw_undefined(const InputRef& in) const {
  const auto results_of = [&](const std::string& id, size_t step) {
    std::string names;
    for (const auto& f : fields_[step]) names += (names.empty() ? "" : ", ") + id + "." + f;
    return names;
  };
  auto s = by_id_.find(in.ref);
  if (s != by_id_.end() && !fields_[s->second].empty())
    throw doc_.error(in.mark, fmt::format("step '{}' has several results; name one: {}", in.ref,
                                          results_of(in.ref, s->second)));
  const size_t dot = in.ref.rfind('.');
  if (dot != std::string::npos) {
    auto owner = by_id_.find(in.ref.substr(0, dot));
    if (owner != by_id_.end() && !fields_[owner->second].empty())
      throw doc_.error(
          in.mark, fmt::format("step '{}' ({}) gives no result '{}' with its parameters; it gives: {}",
                               owner->first, ops_[owner->second]->name, in.ref.substr(dot + 1),
                               results_of(owner->first, owner->second)));
  }
  if (s != by_id_.end())
    throw doc_.error(in.mark,
                     fmt::format("step '{}' ({}) has no result to use", in.ref, ops_[s->second]->name));
  std::vector<std::string> value_names;
  for (const auto& [k, v] : values_) value_names.push_back(k);
  throw doc_.error(in.mark,
                   fmt::format("undefined input '{}'{}", in.ref, did_you_mean(in.ref, value_names)));
}

void Planner::order_steps() {
  std::vector<int> indeg(n_, 0);
  std::vector<std::vector<size_t>> users(n_);
  for (size_t i = 0; i < n_; ++i) {
    std::set<size_t> deps;
    for (const Ref& r : refs_[i])
      if (r.first != kNumber) deps.insert(r.first);
    for (const auto& [writer, reader] : files_.after)  // a load of a file an earlier step writes
      if (reader == i) deps.insert(writer);
    indeg[i] = static_cast<int>(deps.size());
    for (size_t d : deps) users[d].push_back(i);
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < n_; ++i)
    if (indeg[i] == 0) ready.insert(i);
  while (!ready.empty()) {
    const size_t i = *ready.begin();
    ready.erase(ready.begin());
    order_.push_back(i);
    for (size_t u : users[i])
      if (--indeg[u] == 0) ready.insert(u);
  }
  if (order_.size() != n_) throw_cycle(indeg);
}

// Walks back from a blocked step along blocked inputs until a step repeats.
void Planner::throw_cycle(const std::vector<int>& indeg) const {
  size_t cur = 0;
  while (indeg[cur] == 0) ++cur;
  std::vector<size_t> path;
  std::map<size_t, size_t> pos;
  while (!pos.count(cur)) {
    pos[cur] = path.size();
    path.push_back(cur);
    for (const Ref& r : refs_[cur])
      if (r.first != kNumber && indeg[r.first] > 0) {
        cur = r.first;
        break;
      }
  }
  std::string cyc;
  for (size_t k = pos[cur]; k < path.size(); ++k) cyc += doc_.steps[path[k]].id + " <- ";
  cyc += doc_.steps[cur].id;
  throw doc_.error(doc_.steps[cur].mark,
                   fmt::format("the steps form a cycle: {} (each uses the next)", cyc));
}

// One op's rule. A user error (dnd's or torch's refusal) becomes a pipeline error at the
// step's op; a dnd bug (a broken invariant: InternalError) stays a bug.
InferResult Planner::infer_step(const OpDef& op, const InferContext& ctx) const {
  const Step& st = ctx.step;
  const std::string where = fmt::format("step '{}' ({}, {}:{})", st.id, st.op, doc_.file, st.mark.line);
  try {
    DND_ASSERT(!fault_injected("internal-plan:" + st.id), "fault injected by DND_TEST_FAULT");
    InferResult r = op.infer(ctx);
    for (const ArrayMeta& m : r.outputs) check_array_meta(m);
    return r;
  } catch (const PipelineError&) {
    throw;
  } catch (InternalError& e) {
    e.add_context("planning " + where);
    throw;
  } catch (const Error& e) {  // ValueError, ShapeError, TypeError: the pipeline's mistake
    throw doc_.error(st.op_mark, fmt::format("step '{}' ({}): {}", st.id, st.op, e.what()));
  } catch (const std::bad_alloc&) {
    InternalError bug("out of memory while planning");
    bug.add_context("planning " + where);
    throw bug;
  } catch (const std::exception& e) {
    // torch refusing what a rule asked of it (the promotion of bool - bool, a fill value
    // out of the dtype's range): the pipeline's mistake, without torch's backtrace. dnd's
    // own bugs are InternalErrors (DND_ASSERT), caught above.
    throw doc_.error(st.op_mark, fmt::format("step '{}' ({}): {}", st.id, st.op, message_of(e)));
  }
}

// Which results of a step inherit a bounded extent from its inputs (extents.h): the rule
// runs again with every bounded input extent halved, and a result axis whose extent moves
// depends on the data. A rule that refuses the halved shapes (a reshape to a fixed shape,
// a mix of bounded and exact inputs) leaves every axis of every result bounded.
std::vector<uint64_t> Planner::inherited_bounds(const OpDef& op, const PlannedStep& ps,
                                                const std::vector<uint64_t>& in_bounds) const {
  const size_t nout = ps.info.outputs.size();
  std::vector<InputMeta> halved = ps.inputs;
  for (size_t k = 0; k < halved.size(); ++k)
    for (size_t d = 0; d < halved[k].array.shape.size() && d < 64; ++d)
      if (in_bounds[k] >> d & 1) halved[k].array.shape[d] /= 2;
  std::vector<uint64_t> moved(nout, ~uint64_t{0});
  try {
    AtMostCapture ignore;
    const InferResult r = op.infer(InferContext{*ps.step, *ps.params, halved, plan_.nranks,
                                                parse_dtype(doc_.default_dtype),
                                                parse_device(doc_.default_device), &ps.files});
    if (r.outputs.size() != nout) return moved;
    for (size_t f = 0; f < nout; ++f) {
      const Shape& a = r.outputs[f].shape;
      const Shape& b = ps.info.outputs[f].shape;
      if (a.size() != b.size()) continue;
      moved[f] = 0;
      for (size_t d = 0; d < a.size() && d < 64; ++d)
        if (a[d] != b[d]) moved[f] |= uint64_t{1} << d;
    }
  } catch (const std::exception&) {
  }
  return moved;
}

void Planner::infer() {
  std::map<Ref, ArrayMeta> metas;
  std::map<Ref, uint64_t> bounds;           // per value: its bounded axes
  std::map<size_t, uint64_t> saved_bounds;  // per writing step: its input's bounded axes
  const Dtype ddtype = parse_dtype(doc_.default_dtype);
  const DeviceKind ddevice = parse_device(doc_.default_device);
  for (const size_t i : order_) {
    const Step& st = doc_.steps[i];
    const OpDef& op = *ops_[i];
    PlannedStep ps;
    ps.step = &st;
    ps.op = &op;
    ps.params = std::move(params_[i]);
    std::vector<uint64_t> in_bounds;
    for (size_t k = 0; k < st.inputs.size(); ++k) {
      InputMeta im;
      if (refs_[i][k].first == kNumber) {
        im.is_scalar = true;
        im.literal = st.inputs[k].literal;
        ps.input_names.emplace_back();
        in_bounds.push_back(0);
      } else {
        im.array = metas.at(refs_[i][k]);
        ps.input_names.push_back(st.inputs[k].ref);
        in_bounds.push_back(bounds[refs_[i][k]]);
      }
      ps.inputs.push_back(im);
    }
    {
      AtMostCapture capture;
      ps.info = infer_step(
          op, InferContext{st, *ps.params, ps.inputs, plan_.nranks, ddtype, ddevice, &files_.uses[i]});
      ps.at_most = capture.take(ps.info.outputs.size());
    }
    if (!ps.inputs.empty() && !ps.inputs[0].is_scalar) {
      record_write(files_, i, ps.inputs[0].array);
      if (in_bounds[0]) saved_bounds[i] = in_bounds[0];
    }
    ps.files = files_.uses[i];
    ps.comm_at_most = ps.info.comm_bytes > 0 &&
                      (comm_bytes_bounded(op.name) || std::any_of(in_bounds.begin(), in_bounds.end(),
                                                                  [](uint64_t b) { return b != 0; }));
    if (std::any_of(in_bounds.begin(), in_bounds.end(), [](uint64_t b) { return b != 0; })) {
      const std::vector<uint64_t> moved = inherited_bounds(op, ps, in_bounds);
      for (size_t f = 0; f < ps.at_most.size(); ++f) ps.at_most[f] |= moved[f];
    }
    for (const auto& [writer, reader] : files_.after)  // a load of what a bounded save writes
      if (reader == i && saved_bounds.count(writer))
        for (uint64_t& b : ps.at_most) b |= saved_bounds[writer];
    const size_t nout = !op.has_result ? 0 : fields_[i].empty() ? 1 : fields_[i].size();
    DND_ASSERT(ps.info.outputs.size() == nout, st.op, ps.info.outputs.size(), nout);
    for (size_t f = 0; f < nout; ++f) {
      const ArrayMeta& m = ps.info.outputs[f];
      // Only real axes, and none of extent 0 (at most 0 is exactly 0).
      for (size_t d = 0; d < 64; ++d)
        if (d >= m.shape.size() || m.shape[d] == 0) ps.at_most[f] &= ~(uint64_t{1} << d);
      metas[{i, f}] = m;
      bounds[{i, f}] = ps.at_most[f];
      ps.output_names.push_back(fields_[i].empty() ? st.id : st.id + "." + fields_[i][f]);
      ps.out_bytes = checked_add(ps.out_bytes, max_block_bytes(m, plan_.nranks), st);
    }
    plan_.comm_bytes = checked_add(plan_.comm_bytes, ps.info.comm_bytes, st);
    plan_.steps.push_back(std::move(ps));
  }
}

// A value lives from its step to its last use (its own step if unused).
void Planner::liveness() {
  std::map<std::string, size_t> last_use;
  std::map<std::string, int64_t> bytes_of;
  for (size_t pos = 0; pos < plan_.steps.size(); ++pos) {
    PlannedStep& ps = plan_.steps[pos];
    for (size_t f = 0; f < ps.output_names.size(); ++f) {
      last_use[ps.output_names[f]] = pos;
      bytes_of[ps.output_names[f]] = max_block_bytes(ps.info.outputs[f], plan_.nranks);
    }
    for (const std::string& in : ps.input_names)
      if (!in.empty()) last_use[in] = std::max(last_use[in], pos);
  }
  std::set<std::string> live;
  int64_t live_bytes = 0;
  for (size_t pos = 0; pos < plan_.steps.size(); ++pos) {
    PlannedStep& ps = plan_.steps[pos];
    ps.live_bytes =
        checked_add(checked_add(live_bytes, ps.out_bytes, *ps.step), ps.info.temp_bytes, *ps.step);
    if (ps.live_bytes > plan_.peak_bytes) {
      plan_.peak_bytes = ps.live_bytes;
      plan_.peak_step = ps.step->id;
    }
    for (const std::string& o : ps.output_names) {
      live.insert(o);
      live_bytes = checked_add(live_bytes, bytes_of[o], *ps.step);
    }
    for (auto it = live.begin(); it != live.end();) {
      if (last_use[*it] == pos) {
        ps.frees.push_back(*it);
        live_bytes -= bytes_of[*it];
        it = live.erase(it);
      } else {
        ++it;
      }
    }
  }
}

}  // namespace

Plan make_plan(std::shared_ptr<const Document> doc, int nranks) {
  return Planner(std::move(doc), nranks).run();
}

Plan make_plan(Document doc, int nranks) {
  return make_plan(std::make_shared<const Document>(std::move(doc)), nranks);
}

std::string plan_table(const Plan& plan) {
  std::string o = fmt::format("{}{} steps on {} rank{} (bytes per rank: the largest block)\n",
                              plan.doc->name.empty() ? "" : plan.doc->name + ": ", plan.steps.size(),
                              plan.nranks, plan.nranks == 1 ? "" : "s");
  o += fmt::format("{:<3} {:<16} {:<16} {:<34} {:>10} {:>10} {:>10}\n", "#", "id", "op", "result",
                   "per rank", "comm", "live");
  int k = 0;
  for (const PlannedStep& ps : plan.steps) {
    ++k;
    std::vector<std::string> results;
    for (size_t f = 0; f < ps.info.outputs.size(); ++f)
      results.push_back((ps.output_names[f] == ps.step->id
                             ? ""
                             : ps.output_names[f].substr(ps.step->id.size() + 1) + ": ") +
                        meta_str(ps.info.outputs[f], ps.at_most[f]));
    if (results.empty()) results.push_back("-");
    o += fmt::format("{:<3} {:<16} {:<16} {:<34} {:>10} {:>10} {:>10}\n", k, ps.step->id, ps.op->name,
                     results[0], human_bytes(ps.out_bytes),
                     (ps.comm_at_most ? "<=" : "") + human_bytes(ps.info.comm_bytes),
                     human_bytes(ps.live_bytes));
    for (size_t f = 1; f < results.size(); ++f)
      o += fmt::format("{:<3} {:<16} {:<16} {}\n", "", "", "", results[f]);
    if (!ps.info.note.empty()) o += fmt::format("{:<3} {:<16} note: {}\n", "", "", ps.info.note);
  }
  o += fmt::format("peak memory per rank: {} (at step '{}'); communication per rank: {}\n",
                   human_bytes(plan.peak_bytes), plan.peak_step, human_bytes(plan.comm_bytes));
  return o;
}

bool comm_bytes_bounded(const std::string& op) {
  // Sorting and selection move what the values send where; kmeans stops when it
  // converges and its kmeans|| rounds find at most their quota; balance cannot know its
  // input's blocks. (qr and svd are planned exactly for CholeskyQR2, the algorithm their
  // note names; the Householder fallback of an ill-conditioned matrix moves more.)
  static const char* const kBounded[] = {"sort",   "argsort", "unique", "filter",   "nonzero",
                                         "where",  "topk",    "median", "quantile", "percentile",
                                         "kmeans", "balance", "take",   "histogram"};
  for (const char* b : kBounded)
    if (op == b) return true;
  return false;
}

std::string plan_json(const Plan& plan) {
  using nlohmann::ordered_json;
  ordered_json steps = ordered_json::array();
  for (const PlannedStep& ps : plan.steps) {
    ordered_json inputs = ordered_json::array(), outputs = ordered_json::array();
    for (const std::string& in : ps.input_names)
      inputs.push_back(in.empty() ? ordered_json() : ordered_json(in));
    for (size_t f = 0; f < ps.info.outputs.size(); ++f) {
      const ArrayMeta& m = ps.info.outputs[f];
      outputs.push_back({{"name", ps.output_names[f]},
                         {"shape", m.shape},
                         {"dtype", dtype_name(m.dtype)},
                         {"split", m.split ? ordered_json(*m.split) : ordered_json()},
                         {"bytes_per_rank", max_block_bytes(m, plan.nranks)}});
      if (ps.at_most[f]) outputs.back()["at_most_axes"] = at_most_axes(ps.at_most[f], m.shape.size());
    }
    steps.push_back({{"id", ps.step->id},
                     {"op", ps.op->name},
                     {"line", ps.step->mark.line},
                     {"inputs", inputs},
                     {"outputs", outputs},
                     {"comm_bytes_per_rank", ps.info.comm_bytes},
                     {"comm_bytes_at_most", ps.comm_at_most},
                     {"temp_bytes_per_rank", ps.info.temp_bytes},
                     {"live_bytes_per_rank", ps.live_bytes},
                     {"note", ps.info.note}});
  }
  const ordered_json j = {{"file", plan.doc->file},
                          {"name", plan.doc->name},
                          {"ranks", plan.nranks},
                          {"peak_bytes_per_rank", plan.peak_bytes},
                          {"peak_step", plan.peak_step},
                          {"comm_bytes_per_rank", plan.comm_bytes},
                          {"steps", steps}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace dnd::pipeline
