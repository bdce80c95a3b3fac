// op: map — the user's TorchScript function on every rank's block (Dask's map_blocks and
// map_overlap, Heat's larray escape hatch), compiled once per process by LibTorch's
// TorchScript compiler. The function's result keeps the split axis and the block's extent
// along it, or `reduce` combines the per-rank results in one allreduce. The planner
// compiles the function (errors are positioned inside the YAML block) and infers the
// results by running it on blocks of the meta device (no data), else on a small block.
#include "src/core/communicator.h"
#include "src/core/halo.h"
#include "src/core/manipulation.h"
#include "src/core/text.h"
#include "src/pipeline/ops/common.h"

#include <torch/csrc/jit/frontend/parser.h>
#include <torch/csrc/jit/frontend/tree_views.h>
#include <torch/jit.h>

#include <algorithm>
#include <functional>
#include <cctype>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <cmath>

namespace dnd::pipeline::ops {
namespace {

using torch::jit::CompilationUnit;
using torch::jit::Function;

// ---- where the source lies in the pipeline file ------------------------------------------

// Source line i (1-based) is file line first_line + i - 1 and its column c file column
// col_offset + c, for a block scalar (fn: |). A quoted or plain value is one line of the
// file: its first line maps exactly, later ones (written with \n) to the value's start.
struct SourceMap {
  int first_line = 0;
  int col_offset = 0;
  bool block = false;
  Mark key;  // the fn key, when nothing better is known
  Mark at(int line, int col) const {
    if (first_line <= 0) return key;
    if (block) return Mark{first_line + line - 1, col_offset + std::max(col, 1)};
    return Mark{first_line, col_offset + (line == 1 ? std::max(col, 1) : 1)};
  }
};

SourceMap locate(const Params& p) {
  const Document& doc = p.document();
  SourceMap m;
  m.key = p.mark("fn");
  m.first_line = m.key.line;
  if (m.key.line <= 0 || m.key.line > static_cast<int>(doc.lines.size())) return m;
  const std::string& line = doc.lines[static_cast<size_t>(m.key.line - 1)];
  size_t i = static_cast<size_t>(std::max(0, m.key.col - 1));
  if (line.compare(i, 2, "fn") == 0) i += 2;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i < line.size() && line[i] == ':') ++i;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i < line.size() && (line[i] == '|' || line[i] == '>')) {
    // A block scalar: the text starts on the next line, indented like its first non-blank line.
    m.first_line = m.key.line + 1;
    m.block = true;
    for (size_t l = static_cast<size_t>(m.key.line); l < doc.lines.size(); ++l) {
      const std::string& t = doc.lines[l];
      const size_t nb = t.find_first_not_of(' ');
      if (nb == std::string::npos) continue;
      m.col_offset = static_cast<int>(nb);
      break;
    }
    return m;
  }
  if (i < line.size() && (line[i] == '"' || line[i] == '\'')) ++i;
  m.col_offset = static_cast<int>(i);
  return m;
}

std::vector<std::string> source_lines(const std::string& src) {
  std::vector<std::string> v;
  size_t b = 0;
  while (b <= src.size()) {
    const size_t e = src.find('\n', b);
    v.push_back(src.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return v;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

// The innermost 'File "<string>", line N' of a TorchScript message, or 0.
int message_line(const std::string& what) {
  static const std::regex re("File \"<string>\", line ([0-9]+)");
  int line = 0;
  for (auto it = std::sregex_iterator(what.begin(), what.end(), re); it != std::sregex_iterator(); ++it)
    line = std::stoi((*it)[1]);
  return line;
}

// The compiler's message: its first line, without the trailing ':' before the excerpt.
std::string compile_message(const std::string& what) {
  std::string first;
  for (const std::string& l : source_lines(what)) {
    if (!trim(l).empty()) {
      first = trim(l);
      break;
    }
  }
  if (const size_t h = first.find(" here:"); h != std::string::npos && h + 6 == first.size())
    first.resize(h);
  if (!first.empty() && first.back() == ':') first.pop_back();
  return first;
}

// The column of the compiler's caret ("~~~ <--- HERE"), 1-based, or 0.
int message_col(const std::string& what) {
  for (const std::string& l : source_lines(what)) {
    if (l.find("<--- HERE") == std::string::npos) continue;
    const size_t t = l.find('~');
    if (t != std::string::npos) return static_cast<int>(t) + 1;
  }
  return 0;
}

std::string last_line(const std::string& what) {
  std::string last;
  for (const std::string& l : source_lines(what))
    if (!trim(l).empty()) last = trim(l);
  return last;
}

// ---- compilation --------------------------------------------------------------------------

struct Compiled {
  std::shared_ptr<CompilationUnit> cu;
  Function* fn = nullptr;
  std::vector<std::string> lines;  // the source as written, for messages
  // For each line of the compiled text: the source line (1-based) and column shift.
  std::vector<std::pair<int, int>> origin;
};

// Python allows a one-line function (def f(x: Tensor) -> Tensor: return x + 1); TorchScript's
// parser wants the body on a line of its own. Such lines are split in two.
std::string split_one_line_defs(const std::vector<std::string>& lines,
                                std::vector<std::pair<int, int>>& origin) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    const int no = static_cast<int>(i) + 1;
    const size_t ind = l.find_first_not_of(' ');
    size_t colon = std::string::npos, body = std::string::npos;
    if (ind != std::string::npos && l.compare(ind, 4, "def ") == 0) {
      int depth = 0;
      bool opened = false;
      for (size_t k = ind + 4; k < l.size(); ++k) {
        const char ch = l[k];
        if (ch == '(' || ch == '[') {
          ++depth;
          opened = true;
        } else if (ch == ')' || ch == ']') {
          --depth;
        } else if (ch == ':' && depth == 0 && opened) {
          colon = k;
          break;
        }
      }
      if (colon != std::string::npos) body = l.find_first_not_of(' ', colon + 1);
    }
    if (body != std::string::npos && l[body] != '#') {
      out += l.substr(0, colon + 1) + "\n" + std::string(ind + 4, ' ') + l.substr(body) + "\n";
      origin.emplace_back(no, 0);
      origin.emplace_back(no, static_cast<int>(body) - static_cast<int>(ind + 4));
    } else {
      out += l + "\n";
      origin.emplace_back(no, 0);
    }
  }
  return out;
}

// torch 1.13's TorchScript compiler crashes (a null dereference, the fuzzer found it) on an
// empty subscript such as `u[]`, which its parser accepts: the offset of the first one in
// `text`, found on the parser's tree before compiling. A text that does not parse has none
// here (the compiler reports its error).
std::optional<size_t> empty_subscript(const std::string& text) {
  using namespace torch::jit;
  std::function<std::optional<size_t>(const TreeRef&)> walk =
      [&](const TreeRef& t) -> std::optional<size_t> {
    const TreeList& sub = t->trees();
    if (t->kind() == TK_SUBSCRIPT && sub.size() >= 2 && sub[1]->trees().empty())
      return t->range().start();
    for (const TreeRef& c : sub)
      if (const auto r = walk(c)) return r;
    return std::nullopt;
  };
  try {
    Parser parser(std::make_shared<Source>(text));
    for (int defs = 0; parser.lexer().cur().kind != TK_EOF && defs < 10000; ++defs)
      if (const auto r = walk(parser.parseFunction(/*is_method=*/false))) return r;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// Compiles `src` (one compilation unit per use: the planner probes its own, the run its own).
Compiled compile_fn(const Params& p, const std::string& src) {
  const Document& doc = p.document();
  const SourceMap sm = locate(p);
  Compiled c;
  c.lines = source_lines(src);
  const std::string text = split_one_line_defs(c.lines, c.origin);
  if (const auto off = empty_subscript(text)) {
    const int line = 1 + static_cast<int>(std::count(
                             text.begin(), text.begin() + static_cast<std::ptrdiff_t>(*off), '\n'));
    const size_t bol = text.rfind('\n', *off == 0 ? 0 : *off - 1);
    const int col = static_cast<int>(*off - (bol == std::string::npos || *off == 0 ? 0 : bol + 1)) + 1;
    Mark at = sm.key;
    if (line <= static_cast<int>(c.origin.size())) {
      const auto [src_line, shift] = c.origin[static_cast<size_t>(line - 1)];
      at = sm.at(src_line, col + shift);
    }
    throw doc.error(at, fmt::format("step '{}' (map): fn does not compile: an empty subscript [] "
                                    "(index with x[i], x[a:b] or x[..., i])",
                                    p.step().id));
  }
  try {
    c.cu = torch::jit::compile(text);
  } catch (const std::exception& e) {
    const std::string what = e.what();
    const std::vector<std::string> tl = source_lines(text);
    int line = message_line(what);
    int col = message_col(what);
    // A syntax error found at the end of a line reports the line after it: point at the end
    // of the last non-blank line up to there.
    if (line > 0 && col == 0) {
      int l = std::min(line, static_cast<int>(tl.size()));
      while (l > 1 && trim(tl[static_cast<size_t>(l - 1)]).empty()) --l;
      if (l != line) col = static_cast<int>(tl[static_cast<size_t>(l - 1)].size()) + 1;
      line = l;
    }
    Mark at = sm.key;
    if (line > 0 && line <= static_cast<int>(c.origin.size())) {
      const auto [src_line, shift] = c.origin[static_cast<size_t>(line - 1)];
      at = sm.at(src_line, col + shift);
    }
    throw doc.error(
        at, fmt::format("step '{}' (map): fn does not compile: {}", p.step().id, compile_message(what)));
  }
  const auto fns = c.cu->get_functions();
  if (fns.empty())
    throw doc.error(
        sm.key, fmt::format("step '{}' (map): fn defines no function (def f(x: Tensor) -> Tensor: ...)",
                            p.step().id));
  c.fn = fns.back();  // earlier definitions are helpers
  return c;
}

const Compiled& plan_compiled(const Params& p) {
  static std::map<std::string, Compiled> cache;
  const std::string src = p.string("fn");
  auto it = cache.find(src);
  if (it == cache.end()) it = cache.emplace(src, compile_fn(p, src)).first;
  return it->second;
}

const Compiled& run_compiled(const Params& p) {
  static std::map<std::string, Compiled> cache;
  const std::string src = p.string("fn");
  auto it = cache.find(src);
  if (it == cache.end()) it = cache.emplace(src, compile_fn(p, src)).first;
  return it->second;
}

// ---- the function's signature -------------------------------------------------------------

struct Signature {
  size_t ntensors = 0;                                    // leading Tensor parameters
  std::vector<std::pair<std::string, c10::IValue>> args;  // keyword arguments from `args`
  size_t nresults = 1;
  bool tuple = false;
  std::string text;  // f(Tensor x) -> Tensor
};

c10::IValue arg_value(const c10::TypePtr& t, const YAML::Node& v, const std::string& name) {
  const std::string s = v.Scalar();
  switch (t->kind()) {
    case c10::TypeKind::FloatType: {
      const c10::Scalar x = literal_scalar(v);
      return x.toDouble();
    }
    case c10::TypeKind::IntType: {
      const c10::Scalar x = literal_scalar(v);
      if (!x.isIntegral(false))
        throw ValueError(fmt::format("args: '{}' is an int parameter, got {}", name, s));
      return x.toLong();
    }
    case c10::TypeKind::BoolType:
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      throw ValueError(fmt::format("args: '{}' is a bool parameter, got {}", name, s));
    case c10::TypeKind::StringType:
      return s;
    default:
      throw TypeError(fmt::format(
          "args: parameter '{}' of fn has type {}; args give float, int, bool or str", name, t->str()));
  }
}

Signature signature(const Params& p, size_t ninputs) {
  const Document& doc = p.document();
  const Compiled& c = plan_compiled(p);
  const c10::FunctionSchema& schema = c.fn->getSchema();
  const Mark fn_mark = locate(p).key;
  const std::string id = p.step().id;
  Signature sig;
  {
    std::ostringstream os;
    os << schema;
    sig.text = os.str();
  }
  const auto& params = schema.arguments();
  if (params.size() < ninputs)
    throw doc.error(
        fn_mark, fmt::format("step '{}' (map): {} takes {} parameter{}, but the step has {} input{}", id,
                             sig.text, params.size(), params.size() == 1 ? "" : "s", ninputs,
                             ninputs == 1 ? "" : "s"));
  for (size_t k = 0; k < ninputs; ++k)
    if (params[k].type()->kind() != c10::TypeKind::TensorType)
      throw doc.error(
          fn_mark, fmt::format("step '{}' (map): parameter '{}' of {} receives input {} and must be a "
                               "Tensor, not {}",
                               id, params[k].name(), sig.text, k + 1, params[k].type()->str()));
  sig.ntensors = ninputs;
  const auto given = p.mapping("args");
  for (const auto& [name, v] : given) {
    auto it = std::find_if(params.begin() + static_cast<std::ptrdiff_t>(ninputs), params.end(),
                           [&](const c10::Argument& a) { return a.name() == name; });
    if (it == params.end()) {
      std::vector<std::string> names;
      for (size_t k = ninputs; k < params.size(); ++k) names.push_back(params[k].name());
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      throw doc.error(
          p.mark("args"),
          fmt::format("step '{}' (map): fn has no parameter '{}' for args{}{}", id, name,
                      did_you_mean(name, names),
                      list.empty() ? " (it takes only the inputs)" : " (it takes: " + list + ")"));
    }
    try {
      sig.args.emplace_back(name, arg_value(it->type(), v, name));
    } catch (const dnd::Error& e) {
      throw doc.error(p.mark("args"), fmt::format("step '{}' (map): {}", id, e.what()));
    }
  }
  for (size_t k = ninputs; k < params.size(); ++k) {
    const bool has = std::any_of(given.begin(), given.end(),
                                 [&](const auto& g) { return g.first == params[k].name(); });
    if (!has && !params[k].default_value())
      throw doc.error(
          p.given("args") ? p.mark("args") : fn_mark,
          fmt::format(
              "step '{}' (map): fn's parameter '{}' ({}) has no default; give it in args: {{{}: ...}}",
              id, params[k].name(), params[k].type()->str(), params[k].name()));
  }
  const auto& rets = schema.returns();
  auto bad_return = [&] {
    return doc.error(
        fn_mark,
        fmt::format("step '{}' (map): fn must return a Tensor or a tuple of Tensors; {} does not", id,
                    sig.text));
  };
  if (rets.size() != 1) throw bad_return();
  const c10::TypePtr& rt = rets[0].type();
  if (rt->kind() == c10::TypeKind::TensorType) {
    sig.nresults = 1;
  } else if (rt->kind() == c10::TypeKind::TupleType) {
    const auto elems = rt->containedTypes();
    if (elems.empty()) throw bad_return();
    for (const auto& e : elems)
      if (e->kind() != c10::TypeKind::TensorType) throw bad_return();
    sig.nresults = elems.size();
    sig.tuple = true;
  } else {
    throw bad_return();
  }
  return sig;
}

std::vector<std::string> result_names(const Params& p) {
  const Document& doc = p.document();
  const Signature sig = signature(p, p.step().inputs.size());
  std::vector<std::string> names = p.name_list("outputs");
  if (p.given("outputs")) {
    if (names.size() != sig.nresults)
      throw doc.error(
          p.mark("outputs"),
          fmt::format("step '{}' (map): outputs names {} result{}, but fn returns {}", p.step().id,
                      names.size(), names.size() == 1 ? "" : "s", sig.nresults));
    for (size_t i = 0; i < names.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (names[i] == names[j])
          throw doc.error(p.mark("outputs"), fmt::format("step '{}' (map): result name '{}' given twice",
                                                         p.step().id, names[i]));
    return names;
  }
  if (!sig.tuple) return {};  // one result, named by the step's id
  for (size_t i = 0; i < sig.nresults; ++i) names.push_back(std::to_string(i));
  return names;
}

// ---- running the function -------------------------------------------------------------------

// A run-time failure inside fn, with the pipeline file's line of the failing statement.
std::string runtime_message(const Params& p, const Compiled& c, const std::string& what) {
  const SourceMap sm = locate(p);
  const int compiled_line = message_line(what);
  const std::string last = last_line(what);
  if (compiled_line > 0 && compiled_line <= static_cast<int>(c.origin.size()) && sm.first_line > 0) {
    const int line = c.origin[static_cast<size_t>(compiled_line - 1)].first;
    return fmt::format("fn failed at {}:{} ({}): {}", p.document().file, sm.at(line, 1).line,
                       trim(c.lines[static_cast<size_t>(line - 1)]), last);
  }
  return fmt::format("fn failed: {}", last.empty() ? what : last);
}

std::vector<at::Tensor> call(const Params& p, const Compiled& c, const Signature& sig,
                             std::vector<at::Tensor> blocks, bool translate = true) {
  std::vector<c10::IValue> stack;
  for (auto& t : blocks) stack.emplace_back(std::move(t));
  torch::jit::Kwargs kw;
  for (const auto& [k, v] : sig.args) kw[k] = v;
  c10::IValue r;
  try {
    r = (*c.fn)(std::move(stack), kw);
  } catch (const std::exception& e) {
    if (!translate) throw;
    throw ValueError(runtime_message(p, c, e.what()));
  }
  std::vector<at::Tensor> out;
  if (r.isTuple()) {
    for (const auto& e : r.toTupleRef().elements()) out.push_back(e.toTensor());
  } else {
    out.push_back(r.toTensor());
  }
  return out;
}

// ---- planning ---------------------------------------------------------------------------

enum class Reduce { none, sum, max, min, mean };
Reduce parse_reduce(const std::string& s) {
  if (s == "sum") return Reduce::sum;
  if (s == "max") return Reduce::max;
  if (s == "min") return Reduce::min;
  if (s == "mean") return Reduce::mean;
  return Reduce::none;
}

Dtype reduced_dtype(Dtype d, Reduce r) {
  if (r == Reduce::mean && !at::isFloatingType(d) && !at::isComplexType(d)) return kDefaultDtype;
  if (r == Reduce::sum && d == at::kBool) return at::kLong;
  return d;
}

std::string shape_of(const at::Tensor& t) { return shape_str(t.sizes().vec()); }

// Blocks standing for the inputs with `extent` slices along the split axis (split inputs)
// or whole (replicated ones).
std::vector<at::Tensor> probe_blocks(const std::vector<ArrayMeta>& in, Split s, int64_t extent,
                                     at::Device dev) {
  std::vector<at::Tensor> v;
  for (const ArrayMeta& m : in) {
    Shape sh = m.shape;
    if (s && m.split) sh[static_cast<size_t>(*s)] = extent;
    v.push_back(dev.is_meta() ? at::empty(sh, at::TensorOptions().dtype(m.dtype).device(dev))
                              : at::ones(sh, at::TensorOptions().dtype(m.dtype)));
  }
  return v;
}

int64_t probe_numel(const std::vector<ArrayMeta>& in, Split s, int64_t extent) {
  int64_t n = 0;
  for (const ArrayMeta& m : in) {
    Shape sh = m.shape;
    if (s && m.split) sh[static_cast<size_t>(*s)] = extent;
    n += shape_numel(sh);
  }
  return n;
}

InferResult map_infer(const InferContext& ctx) {
  const Params& p = ctx.params;
  const Document& doc = p.document();
  const std::string id = ctx.step.id;
  const Compiled& c = plan_compiled(p);
  const Signature sig = signature(p, ctx.inputs.size());
  const Mark fn_mark = locate(p).key;
  const Reduce red = parse_reduce(p.string("reduce"));
  const int64_t h = p.integer("halo");
  const Boundary boundary = parse_boundary(p.string("boundary"));
  const ArrayMeta& first = ctx.array(0);
  const Split s = first.split;
  InferResult r;
  std::string note = sig.text;

  if (h < 0) throw doc.error(p.mark("halo"), "halo must be 0 or more slices");
  if (h > 0 && !s)
    throw doc.error(p.mark("halo"),
                    fmt::format("step '{}' (map): a halo needs a split first input; {} is "
                                "not split",
                                id, ctx.step.inputs[0].ref));
  if (h > 0 && red != Reduce::none)
    throw doc.error(p.mark("halo"),
                    fmt::format("step '{}' (map): halo and reduce do not go together (a reduced result "
                                "cannot be trimmed)",
                                id));
  if (red != Reduce::none && !s)
    throw doc.error(p.mark("reduce"),
                    fmt::format("step '{}' (map): reduce combines per-rank results of a split first "
                                "input; {} is not split (fn sees the whole array)",
                                id, ctx.step.inputs[0].ref));
  const int64_t n = s ? first.shape[static_cast<size_t>(*s)] : 0;
  if (h > 0 && n == 0 && (boundary == Boundary::reflect || boundary == Boundary::wrap))
    throw doc.error(p.mark("boundary"),
                    fmt::format("step '{}' (map): boundary {} needs slices to repeat, and the split "
                                "axis of {} is empty",
                                id, boundary_name(boundary), ctx.step.inputs[0].ref));

  // Alignment: every input to the first one's split.
  std::vector<ArrayMeta> in;
  for (size_t k = 0; k < ctx.inputs.size(); ++k) {
    ArrayMeta m = ctx.array(k);
    const std::string& name = ctx.step.inputs[k].ref;
    if (k > 0 && m.split && m.split != s) {
      if (s) {
        if (static_cast<int64_t>(m.shape.size()) <= *s || m.shape[static_cast<size_t>(*s)] != n)
          throw doc.error(
              ctx.step.inputs[k].mark,
              fmt::format(
                  "step '{}' (map): input {} {} cannot be aligned to {}'s split axis {} (extent {}); "
                  "make it replicated (op: resplit, split: none) to pass it whole",
                  id, name, meta_str(m), ctx.step.inputs[0].ref, *s, n));
        note += fmt::format("; aligns {}: resplit {} -> {}", name, *m.split, *s);
      } else {
        note += fmt::format("; aligns {}: resplit {} -> none", name, *m.split);
      }
      r.comm_bytes += s ? move_bytes(m, ctx.nranks) : allgather_bytes(m, ctx.nranks);
      r.temp_bytes += max_block_bytes(ArrayMeta{m.shape, m.dtype, s, m.device}, ctx.nranks);
      m.split = s;
    } else if (k > 0 && m.split && m.shape[static_cast<size_t>(*s)] != n) {
      throw doc.error(
          ctx.step.inputs[k].mark,
          fmt::format("step '{}' (map): input {} {} has {} slices along the split axis, {} has {}", id,
                      name, meta_str(m), m.shape[static_cast<size_t>(*s)], ctx.step.inputs[0].ref, n));
    }
    in.push_back(m);
  }
  if (h > n)
    throw doc.error(p.mark("halo"),
                    fmt::format("step '{}' (map): a halo of {} slices is longer than the split axis of "
                                "{} ({} slices): at most {}",
                                id, h, ctx.step.inputs[0].ref, n, n));
  if (h > 0) {
    const std::vector<int64_t> counts = balanced_counts(n, ctx.nranks);
    int64_t rows = 0;
    for (int q = 0; q < ctx.nranks; ++q) rows = std::max(rows, halo_rows_sent(counts, h, boundary, q));
    for (const ArrayMeta& m : in) {
      if (!m.split) continue;
      const int64_t row_bytes = n ? global_bytes(m) / n : 0;
      r.comm_bytes += rows * row_bytes;
      r.temp_bytes += max_block_bytes(m, ctx.nranks) + 2 * h * row_bytes;
    }
    note += fmt::format("; halo {} ({})", h, boundary_name(boundary));
  }

  // The results: declared, else from probe runs.
  std::vector<ArrayMeta> outs;
  const int64_t block = s ? (n + ctx.nranks - 1) / ctx.nranks : 0;
  if (p.given("out_shape") || p.given("out_dtype")) {
    if (sig.nresults != 1)
      throw doc.error(
          p.mark(p.given("out_shape") ? "out_shape" : "out_dtype"),
          fmt::format("step '{}' (map): out_shape/out_dtype describe one result; fn returns {}", id,
                      sig.nresults));
    if (!p.given("out_shape"))
      throw doc.error(p.mark("out_dtype"),
                      fmt::format("step '{}' (map): out_dtype needs out_shape too", id));
    ArrayMeta m;
    m.shape = p.shape("out_shape");
    m.dtype = p.dtype("out_dtype", first.dtype);
    m.device = first.device;
    if (red != Reduce::none) {
      m.dtype = reduced_dtype(m.dtype, red);
      m.split = kReplicated;
    } else if (s) {
      if (static_cast<int64_t>(m.shape.size()) <= *s || m.shape[static_cast<size_t>(*s)] != n)
        throw doc.error(
            p.mark("out_shape"),
            fmt::format("step '{}' (map): out_shape {} must keep the split axis {} and its extent {} "
                        "(or declare reduce)",
                        id, shape_str(m.shape), *s, n));
      m.split = s;
    }
    outs.push_back(m);
    note += "; result declared";
  } else {
    // Two extents show which result axes follow the block's.
    int64_t e1 = block + 2 * h, e2 = e1 + 1;
    std::vector<at::Tensor> r1, r2;
    std::string meta_error;
    try {
      r1 = call(p, c, sig, probe_blocks(in, s, e1, at::Device(at::kMeta)), false);
      if (s) r2 = call(p, c, sig, probe_blocks(in, s, e2, at::Device(at::kMeta)), false);
    } catch (const std::exception& e) {
      meta_error = e.what();
    }
    if (!meta_error.empty()) {
      const int64_t f1 = s ? 2 + 2 * h : 0, f2 = f1 + 1;
      if (probe_numel(in, s, s ? f2 : 0) > (int64_t{1} << 24))
        throw doc.error(
            fn_mark,
            fmt::format("step '{}' (map): the result of fn cannot be inferred without data ({}); "
                        "declare out_shape and out_dtype",
                        id, last_line(meta_error)));
      try {
        r1 = call(p, c, sig, probe_blocks(in, s, f1, at::Device(at::kCPU)));
        if (s) r2 = call(p, c, sig, probe_blocks(in, s, f2, at::Device(at::kCPU)));
      } catch (const std::exception& e) {
        throw doc.error(fn_mark,
                        fmt::format("step '{}' (map): fn fails on a probe block of ones ({}); declare "
                                    "out_shape and out_dtype if it cannot run on one",
                                    id, e.what()));
      }
      note += "; inferred from a small block";
      e1 = f1;  // the extents the CPU probes used
      e2 = f2;
    }
    for (size_t j = 0; j < r1.size(); ++j) {
      ArrayMeta m;
      m.dtype = r1[j].scalar_type();
      m.device = first.device;
      m.shape = r1[j].sizes().vec();
      if (!is_supported_dtype(m.dtype))
        throw doc.error(
            fn_mark,
            fmt::format("step '{}' (map): result {} of fn has dtype {}, which dnd does not support", id,
                        j, c10::toString(m.dtype)));
      if (s && red != Reduce::none) {
        if (r1[j].sizes() != r2[j].sizes())
          throw doc.error(
              fn_mark,
              fmt::format(
                  "step '{}' (map): with reduce: {}, fn's result {} must have the same shape on every "
                  "rank, but it has shape {} for a block of {} slices and {} for {}",
                  id, p.string("reduce"), j, shape_of(r1[j]), e1, shape_of(r2[j]), e2));
        m.dtype = reduced_dtype(m.dtype, red);
        m.split = kReplicated;
      } else if (s) {
        const size_t ax = static_cast<size_t>(*s);
        const bool keeps = r1[j].dim() == r2[j].dim() && r1[j].dim() > *s && r1[j].size(*s) == e1 &&
                           r2[j].size(*s) == e2 && [&] {
                             for (int64_t d = 0; d < r1[j].dim(); ++d)
                               if (d != *s && r1[j].size(d) != r2[j].size(d)) return false;
                             return true;
                           }();
        if (!keeps)
          throw doc.error(
              fn_mark,
              fmt::format(
                  "step '{}' (map): fn breaks the map contract: for a block of {} slices along the "
                  "split axis {} its result {} has shape {} (and {} for {} slices); it must keep "
                  "axis {} and its extent{}, or the step must declare reduce: sum|max|min|mean",
                  id, e1, *s, j, shape_of(r1[j]), shape_of(r2[j]), e2, *s,
                  h > 0 ? " (the block with its halo)" : ""));
        m.shape[ax] = n;
        m.split = s;
      } else {
        m.split = kReplicated;
      }
      outs.push_back(m);
    }
  }
  if (red != Reduce::none) {
    for (const ArrayMeta& m : outs) r.comm_bytes += global_bytes(m);
    note += fmt::format("; reduce {}: one allreduce", p.string("reduce"));
  }
  r.outputs = outs;
  r.note = note;
  return r;
}

// ---- running ------------------------------------------------------------------------------

at::Tensor identity(const ArrayMeta& m, Reduce red) {
  const auto opts = at::TensorOptions().dtype(m.dtype);
  if (red == Reduce::max || red == Reduce::min) {
    const bool mx = red == Reduce::max;
    if (m.dtype == at::kBool) return at::full(m.shape, !mx, opts);
    if (at::isFloatingType(m.dtype))
      return at::full(
          m.shape,
          mx ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity(), opts);
    return AT_DISPATCH_INTEGRAL_TYPES(m.dtype, "map_identity", [&] {
      return at::full(
          m.shape, mx ? std::numeric_limits<scalar_t>::lowest() : std::numeric_limits<scalar_t>::max(),
          opts);
    });
  }
  return at::zeros(m.shape, opts);
}

std::string check_result(const at::Tensor& t, const ArrayMeta& m, Split s, int64_t extent) {
  Shape want = m.shape;
  if (s) want[static_cast<size_t>(*s)] = extent;
  if (t.sizes().vec() != want || t.scalar_type() != m.dtype)
    return fmt::format("shape {} {}, but the plan (and this rank's block) needs {} {}", shape_of(t),
                       dtype_name(t.scalar_type()), shape_str(want), dtype_name(m.dtype));
  return {};
}

std::vector<DNDarray> map_run(RunContext& ctx) {
  const Params& p = ctx.params;
  const Compiled& c = run_compiled(p);
  const Signature sig = signature(p, ctx.inputs.size());
  const Reduce red = parse_reduce(p.string("reduce"));
  const int64_t h = p.integer("halo");
  const Boundary boundary = parse_boundary(p.string("boundary"));
  const c10::Scalar value = p.number("value");
  const DNDarray& first = ctx.array(0);
  const Split s = first.split();
  const Communicator& comm = ctx.comm;

  std::vector<at::Tensor> blocks;
  int64_t before = 0, after = 0;
  for (size_t k = 0; k < ctx.inputs.size(); ++k) {
    DNDarray a = ctx.array(k);
    if (k > 0 && a.split()) {
      if (!s)
        a = resplit(a, kReplicated);
      else if (a.split() != s)
        a = resplit(a, *s, first.counts());
      else if (a.counts() != first.counts())
        a = redistribute(a, first.counts());
    }
    if (h > 0 && a.split()) {
      blocks.push_back(with_halo(a, h, boundary, value, &before, &after));
    } else {
      blocks.push_back(a.larray());
    }
  }
  const int64_t own = s ? first.larray().size(*s) : 0;
  const int64_t extended = own + before + after;
  const std::vector<ArrayMeta>& planned = ctx.planned;
  auto broke = [&](size_t j, const std::string& what) {
    return ValueError(
        fmt::format("fn broke the map contract on rank {}: its result {} has {}", comm.rank(), j, what));
  };

  std::vector<at::Tensor> res;
  if (!s || own > 0) {
    res = call(p, c, sig, blocks);
    DND_ASSERT(res.size() == planned.size(), "map: fn returned another number of results than planned");
  }
  std::vector<DNDarray> outs;
  for (size_t j = 0; j < planned.size(); ++j) {
    const ArrayMeta& m = planned[j];
    if (!s) {
      if (const std::string e = check_result(res[j], m, kReplicated, 0); !e.empty()) throw broke(j, e);
      outs.emplace_back(res[j].contiguous(), m.shape, kReplicated, comm);
      continue;
    }
    if (red == Reduce::none) {
      at::Tensor local;
      if (own == 0) {
        Shape sh = m.shape;
        sh[static_cast<size_t>(*s)] = 0;
        local = at::empty(sh, at::TensorOptions().dtype(m.dtype));
      } else {
        if (const std::string e = check_result(res[j], m, s, extended); !e.empty()) throw broke(j, e);
        local = res[j].narrow(*s, before, own).contiguous();
      }
      outs.emplace_back(local, m.shape, s, comm, first.counts());
      continue;
    }
    // reduce: every rank's result, combined.
    at::Tensor part;
    if (own == 0) {
      part = identity(m, red);
    } else {
      ArrayMeta raw = m;
      raw.dtype = res[j].scalar_type();
      if (reduced_dtype(raw.dtype, red) != m.dtype || res[j].sizes().vec() != m.shape)
        throw broke(j, fmt::format("shape {} {}, but the plan needs {} {}", shape_of(res[j]),
                                   dtype_name(raw.dtype), shape_str(m.shape), dtype_name(m.dtype)));
      part = res[j].to(m.dtype).contiguous().clone();
    }
    at::Tensor nan_flag;
    if (red == Reduce::mean) part = part * static_cast<double>(own);
    if ((red == Reduce::max || red == Reduce::min) && at::isFloatingType(m.dtype)) {
      nan_flag = at::isnan(part).to(at::kByte);
      allreduce_(comm, nan_flag, ReduceOp::max);
    }
    const bool logical = m.dtype == at::kBool;
    const ReduceOp op = red == Reduce::max   ? (logical ? ReduceOp::lor : ReduceOp::max)
                        : red == Reduce::min ? (logical ? ReduceOp::land : ReduceOp::min)
                                             : ReduceOp::sum;
    allreduce_(comm, part, op);
    if (red == Reduce::mean) part = part / static_cast<double>(first.gshape()[static_cast<size_t>(*s)]);
    if (nan_flag.defined())
      part = at::where(nan_flag.to(at::kBool), at::full({}, NAN, part.options()), part);
    outs.emplace_back(part.contiguous(), m.shape, kReplicated, comm);
  }
  return outs;
}

OpDef map_op() {
  OpDef d;
  d.name = "map";
  d.summary =
      "your TorchScript function on every rank's block (optionally with halos, or reduced over the "
      "ranks)";
  d.category = "custom";
  d.min_inputs = 1;
  d.max_inputs = -1;
  d.params = {
      ParamSpec{"fn", ParamKind::string,
                "TorchScript source defining the function (def f(x: Tensor) -> Tensor: ...); the last "
                "def is applied",
                true},
      ParamSpec{"args", ParamKind::mapping,
                "values for fn's parameters after the input tensors: {alpha: 0.5}"},
      ParamSpec{"reduce",
                ParamKind::choice,
                "combine the per-rank results into one replicated result",
                false,
                "none",
                {"none", "sum", "max", "min", "mean"}},
      ParamSpec{"halo", ParamKind::integer,
                "slices of the neighbouring blocks on each side along the split axis", false, "0"},
      ParamSpec{"boundary",
                ParamKind::choice,
                "what the halo holds beyond the array's ends",
                false,
                "none",
                {"none", "constant", "reflect", "wrap"}},
      ParamSpec{"value", ParamKind::number, "the fill value of boundary: constant", false, "0"},
      ParamSpec{"outputs", ParamKind::name_list, "names of a tuple's results (default id.0, id.1, ...)"},
      ParamSpec{"out_shape", ParamKind::shape, "the result's global shape, instead of inferring it"},
      ParamSpec{"out_dtype", ParamKind::dtype,
                "the result's dtype, with out_shape (default: the first input's)"},
  };
  d.outputs_for = [](const Params& p) { return result_names(p); };
  d.infer = map_infer;
  d.run = map_run;
  return d;
}
DND_REGISTER_OP(map_op());

}  // namespace
}  // namespace dnd::pipeline::ops
