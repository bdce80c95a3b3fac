// The planner: validation, ordering, inference and memory accounting.
#include "pipeline/plan.h"

#include "core/error.h"
#include "core/limits.h"
#include "core/diagnostics.h"
#include "core/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace dnd::pipeline {

namespace {

std::string json_shape(const Shape& s) {
  std::string o = "[";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + "]";
}

// What dnd can hold: at most kMaxAxes axes, and a byte count that fits in int64
// (checked products, no wrap). Throws ShapeError; called for every inferred result.
void check_array_meta(const ArrayMeta& m) {
  if (static_cast<int64_t>(m.shape.size()) > kMaxAxes)
    throw ShapeError(fmt::format("the result has {} axes; dnd arrays have at most {}", m.shape.size(), kMaxAxes));
  for (int64_t d : m.shape)
    if (d < 0) throw ShapeError(fmt::format("the result's shape {} has a negative extent", shape_str(m.shape)));
  checked_numel(m.shape, static_cast<int64_t>(c10::elementSize(m.dtype)));
}

}  // namespace


Plan make_plan(const Document& doc, int nranks) {
  Plan plan;
  plan.doc = &doc;
  plan.nranks = std::max(1, nranks);
  const size_t n = doc.steps.size();
  // Byte counts are sums of checked sizes; a sum past int64 is an error, not a wrap.
  auto add = [&doc](int64_t a, int64_t b, const Step& st) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
      throw doc.error(st.mark, "the plan's bytes per rank do not fit in a 64-bit integer");
    return r;
  };

  // Ops, parameters and input counts.
  std::vector<const OpDef*> ops(n);
  std::vector<std::unique_ptr<Params>> params(n);
  std::vector<std::vector<std::string>> fields(n);  // named results of each step
  std::vector<std::string> op_names;
  for (const OpDef* d : all_ops()) op_names.push_back(d->name);
  for (size_t i = 0; i < n; ++i) {
    const Step& st = doc.steps[i];
    ops[i] = find_op(st.op);
    if (!ops[i])
      throw doc.error(st.op_mark, fmt::format("unknown op '{}'{}{}", st.op, did_you_mean(st.op, op_names),
                                              did_you_mean(st.op, op_names).empty() ? " (run 'dnd ops' for the list)" : ""));
    const OpDef& op = *ops[i];
    params[i] = std::make_unique<Params>(st, op.params, doc);
    fields[i] = op.outputs_for ? op.outputs_for(*params[i]) : op.outputs;
    const int k = static_cast<int>(st.inputs.size());
    const Mark where = st.inputs_mark.line ? st.inputs_mark : st.op_mark;
    if (k < op.min_inputs || (op.max_inputs >= 0 && k > op.max_inputs)) {
      std::string want = op.min_inputs == op.max_inputs ? std::to_string(op.min_inputs)
                         : op.max_inputs < 0         ? fmt::format("at least {}", op.min_inputs)
                                                     : fmt::format("{} to {}", op.min_inputs, op.max_inputs);
      std::string how = op.max_inputs == 0 ? "" : op.max_inputs == 1 ? " (input: X)" : " (inputs: [A, B, ...])";
      throw doc.error(where, fmt::format("op '{}' takes {} input{}{}, got {}", op.name, want,
                                         want == "1" ? "" : "s", how, k));
    }
    for (const InputRef& in : st.inputs)
      if (in.ref.empty() && !op.scalar_inputs)
        throw doc.error(in.mark, fmt::format("op '{}' takes arrays as inputs, not the number {}", op.name,
                                             in.literal.Scalar()));
  }

  // Ids and the values they name.
  std::map<std::string, size_t> by_id;
  std::map<std::string, std::pair<size_t, size_t>> values;  // name -> (step, output)
  for (size_t i = 0; i < n; ++i) {
    const Step& st = doc.steps[i];
    if (!st.has_id) {
      if (ops[i]->has_result)
        throw doc.error(st.mark, fmt::format("this '{}' step needs an 'id' to name its result", st.op));
      continue;
    }
    if (auto it = by_id.find(st.id); it != by_id.end())
      throw doc.error(st.mark, fmt::format("duplicate step id '{}' (first used at line {})", st.id,
                                           doc.steps[it->second].mark.line));
    by_id[st.id] = i;
    if (!ops[i]->has_result) continue;
    if (ops[i]->outputs.empty()) {
      values[st.id] = {i, 0};
    } else {
      for (size_t f = 0; f < fields[i].size(); ++f) values[st.id + "." + fields[i][f]] = {i, f};
    }
  }
  std::vector<std::string> value_names;
  for (const auto& [k, v] : values) value_names.push_back(k);

  std::vector<std::vector<std::pair<size_t, size_t>>> refs(n);  // per input: producing (step, output)
  for (size_t i = 0; i < n; ++i) {
    for (const InputRef& in : doc.steps[i].inputs) {
      if (in.ref.empty()) {
        refs[i].push_back({SIZE_MAX, 0});
        continue;
      }
      auto it = values.find(in.ref);
      if (it == values.end()) {
        auto s = by_id.find(in.ref);
        if (s != by_id.end() && !ops[s->second]->outputs.empty()) {
          std::string names;
          for (const auto& f : fields[s->second]) names += (names.empty() ? "" : ", ") + in.ref + "." + f;
          throw doc.error(in.mark, fmt::format("step '{}' has several results; name one: {}", in.ref, names));
        }
        const size_t dot = in.ref.rfind('.');
        if (dot != std::string::npos) {
          auto owner = by_id.find(in.ref.substr(0, dot));
          if (owner != by_id.end() && !ops[owner->second]->outputs.empty()) {
            std::string names;
            for (const auto& f : fields[owner->second]) names += (names.empty() ? "" : ", ") + owner->first + "." + f;
            throw doc.error(in.mark, fmt::format("step '{}' ({}) gives no result '{}' with its parameters; it gives: {}",
                                                 owner->first, ops[owner->second]->name, in.ref.substr(dot + 1), names));
          }
        }
        if (s != by_id.end())
          throw doc.error(in.mark, fmt::format("step '{}' ({}) has no result to use", in.ref, ops[s->second]->name));
        throw doc.error(in.mark, fmt::format("undefined input '{}'{}", in.ref, did_you_mean(in.ref, value_names)));
      }
      if (it->second.first == i) throw doc.error(in.mark, fmt::format("step '{}' uses its own result", in.ref));
      refs[i].push_back(it->second);
    }
  }

  // Dependency order, stable in file order; a cycle is named step by step.
  std::vector<int> indeg(n, 0);
  std::vector<std::vector<size_t>> users(n);
  for (size_t i = 0; i < n; ++i) {
    std::set<size_t> deps;
    for (const auto& r : refs[i])
      if (r.first != SIZE_MAX) deps.insert(r.first);
    indeg[i] = static_cast<int>(deps.size());
    for (size_t d : deps) users[d].push_back(i);
  }
  std::vector<size_t> order;
  std::set<size_t> ready;
  for (size_t i = 0; i < n; ++i)
    if (indeg[i] == 0) ready.insert(i);
  while (!ready.empty()) {
    const size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (size_t u : users[i])
      if (--indeg[u] == 0) ready.insert(u);
  }
  if (order.size() != n) {
    // Walk back from a blocked step along blocked inputs until a step repeats.
    size_t cur = 0;
    while (indeg[cur] == 0) ++cur;
    std::vector<size_t> path;
    std::map<size_t, size_t> pos;
    while (!pos.count(cur)) {
      pos[cur] = path.size();
      path.push_back(cur);
      for (const auto& r : refs[cur])
        if (r.first != SIZE_MAX && indeg[r.first] > 0) {
          cur = r.first;
          break;
        }
    }
    std::string cyc;
    for (size_t k = pos[cur]; k < path.size(); ++k) cyc += doc.steps[path[k]].id + " <- ";
    cyc += doc.steps[cur].id;
    throw doc.error(doc.steps[cur].mark, fmt::format("the steps form a cycle: {} (each uses the next)", cyc));
  }

  // Inference in order.
  std::map<std::pair<size_t, size_t>, ArrayMeta> metas;
  std::map<size_t, size_t> position;  // step index -> place in order
  const Dtype ddtype = parse_dtype(doc.default_dtype);
  const DeviceKind ddevice = parse_device(doc.default_device);
  for (size_t pos = 0; pos < order.size(); ++pos) {
    const size_t i = order[pos];
    position[i] = pos;
    const Step& st = doc.steps[i];
    PlannedStep ps;
    ps.step = &st;
    ps.op = ops[i];
    ps.params = std::move(params[i]);
    for (size_t k = 0; k < st.inputs.size(); ++k) {
      InputMeta im;
      if (refs[i][k].first == SIZE_MAX) {
        im.is_scalar = true;
        im.literal = st.inputs[k].literal;
        ps.input_names.emplace_back();
      } else {
        im.array = metas.at(refs[i][k]);
        ps.input_names.push_back(st.inputs[k].ref);
      }
      ps.inputs.push_back(im);
    }
    InferContext ctx{st, *ps.params, ps.inputs, plan.nranks, ddtype, ddevice};
    try {
      ps.info = ops[i]->infer(ctx);
      for (const ArrayMeta& m : ps.info.outputs) check_array_meta(m);
    } catch (const PipelineError&) {
      throw;
    } catch (const std::exception& e) {
      throw doc.error(st.op_mark, fmt::format("step '{}' ({}): {}", st.id, st.op, without_backtrace(e.what())));
    }
    const size_t nout = !ops[i]->has_result ? 0 : ops[i]->outputs.empty() ? 1 : fields[i].size();
    DND_ASSERT(ps.info.outputs.size() == nout,
               fmt::format("op '{}' inferred {} results, declares {}", st.op, ps.info.outputs.size(), nout));
    for (size_t f = 0; f < nout; ++f) {
      metas[{i, f}] = ps.info.outputs[f];
      ps.output_names.push_back(ops[i]->outputs.empty() ? st.id : st.id + "." + fields[i][f]);
      ps.out_bytes = add(ps.out_bytes, max_block_bytes(ps.info.outputs[f], plan.nranks), st);
    }
    plan.comm_bytes = add(plan.comm_bytes, ps.info.comm_bytes, st);
    plan.steps.push_back(std::move(ps));
  }

  // Liveness: a value lives from its step to its last use (its own step if unused).
  std::map<std::string, size_t> last_use;
  std::map<std::string, int64_t> bytes_of;
  for (size_t pos = 0; pos < plan.steps.size(); ++pos) {
    PlannedStep& ps = plan.steps[pos];
    for (size_t f = 0; f < ps.output_names.size(); ++f) {
      last_use[ps.output_names[f]] = pos;
      bytes_of[ps.output_names[f]] = max_block_bytes(ps.info.outputs[f], plan.nranks);
    }
    for (const std::string& in : ps.input_names)
      if (!in.empty()) last_use[in] = std::max(last_use[in], pos);
  }
  std::set<std::string> live;
  int64_t live_bytes = 0;
  for (size_t pos = 0; pos < plan.steps.size(); ++pos) {
    PlannedStep& ps = plan.steps[pos];
    ps.live_bytes = add(add(live_bytes, ps.out_bytes, *ps.step), ps.info.temp_bytes, *ps.step);
    if (ps.live_bytes > plan.peak_bytes) {
      plan.peak_bytes = ps.live_bytes;
      plan.peak_step = ps.step->id;
    }
    for (const std::string& o : ps.output_names) {
      live.insert(o);
      live_bytes = add(live_bytes, bytes_of[o], *ps.step);
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
  return plan;
}

std::string plan_table(const Plan& plan) {
  std::string o = fmt::format("{}{} steps on {} rank{} (bytes per rank: the largest block)\n",
                              plan.doc->name.empty() ? "" : plan.doc->name + ": ", plan.steps.size(), plan.nranks,
                              plan.nranks == 1 ? "" : "s");
  o += fmt::format("{:<3} {:<16} {:<16} {:<34} {:>10} {:>10} {:>10}\n", "#", "id", "op", "result", "per rank",
                   "comm", "live");
  int k = 0;
  for (const PlannedStep& ps : plan.steps) {
    ++k;
    std::vector<std::string> results;
    for (size_t f = 0; f < ps.info.outputs.size(); ++f)
      results.push_back((ps.op->outputs.empty() ? "" : ps.output_names[f].substr(ps.step->id.size() + 1) + ": ") +
                        meta_str(ps.info.outputs[f]));
    if (results.empty()) results.push_back("-");
    o += fmt::format("{:<3} {:<16} {:<16} {:<34} {:>10} {:>10} {:>10}\n", k, ps.step->id, ps.op->name, results[0],
                     human_bytes(ps.out_bytes), human_bytes(ps.info.comm_bytes), human_bytes(ps.live_bytes));
    for (size_t f = 1; f < results.size(); ++f) o += fmt::format("{:<3} {:<16} {:<16} {}\n", "", "", "", results[f]);
    if (!ps.info.note.empty()) o += fmt::format("{:<3} {:<16} note: {}\n", "", "", ps.info.note);
  }
  o += fmt::format("peak memory per rank: {} (at step '{}'); communication per rank: {}\n", human_bytes(plan.peak_bytes),
                   plan.peak_step, human_bytes(plan.comm_bytes));
  return o;
}

std::string plan_json(const Plan& plan) {
  std::string o = "{\n";
  o += fmt::format("  \"file\": {},\n  \"name\": {},\n  \"ranks\": {},\n", json_quote(plan.doc->file),
                   json_quote(plan.doc->name), plan.nranks);
  o += fmt::format("  \"peak_bytes_per_rank\": {},\n  \"peak_step\": {},\n  \"comm_bytes_per_rank\": {},\n",
                   plan.peak_bytes, json_quote(plan.peak_step), plan.comm_bytes);
  o += "  \"steps\": [\n";
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    const PlannedStep& ps = plan.steps[s];
    o += fmt::format("    {{\"id\": {}, \"op\": \"{}\", \"line\": {}, \"inputs\": [", json_quote(ps.step->id),
                     ps.op->name, ps.step->mark.line);
    for (size_t i = 0; i < ps.input_names.size(); ++i)
      o += (i ? ", " : "") + (ps.input_names[i].empty() ? std::string("null") : json_quote(ps.input_names[i]));
    o += "], \"outputs\": [";
    for (size_t f = 0; f < ps.info.outputs.size(); ++f) {
      const ArrayMeta& m = ps.info.outputs[f];
      o += fmt::format("{}{{\"name\": {}, \"shape\": {}, \"dtype\": \"{}\", \"split\": {}, \"bytes_per_rank\": {}}}",
                       f ? ", " : "", json_quote(ps.output_names[f]), json_shape(m.shape), dtype_name(m.dtype),
                       m.split ? std::to_string(*m.split) : "null", max_block_bytes(m, plan.nranks));
    }
    o += fmt::format("], \"comm_bytes_per_rank\": {}, \"live_bytes_per_rank\": {}, \"note\": {}}}{}\n",
                     ps.info.comm_bytes, ps.live_bytes, json_quote(ps.info.note), s + 1 < plan.steps.size() ? "," : "");
  }
  o += "  ]\n}\n";
  return o;
}

}  // namespace dnd::pipeline
