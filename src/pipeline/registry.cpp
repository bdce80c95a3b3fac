// The op registry and typed access to a step's parameters.
#include "src/pipeline/registry.h"

#include "src/core/error.h"
#include "src/core/text.h"
#include "src/core/limits.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

namespace dnd::pipeline {

namespace {

std::map<std::string, OpDef>& registry() {
  static std::map<std::string, OpDef> ops;
  return ops;
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool is_none_text(const std::string& s) {
  return s == "none" || s == "None" || s == "null" || s == "~" || s.empty();
}

// A value as a message quotes it: control bytes escaped (a NUL would end the text in a
// terminal), at most 60 characters.
std::string printable(const std::string& v) {
  std::string o;
  for (char c : v.substr(0, 60)) {
    const auto u = static_cast<unsigned char>(c);
    o += u < 0x20 || u == 0x7f ? fmt::format("\\x{:02x}", u) : std::string(1, c);
  }
  return v.size() > 60 ? o + "..." : o;
}

// Conversions shared by validation and access: each throws std::invalid_argument with
// what was expected.
// An integer as written ("7", not "7.0"): what decides whether a number is an int or a
// float (literal inputs, scalar parameters, indices).
int64_t strict_int(const YAML::Node& n) {
  if (!n.IsScalar()) throw std::invalid_argument("an integer");
  const std::string s = trim(n.Scalar());
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  // end must reach the end of the text: a NUL byte inside ("7\0x") is not the end.
  if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE)
    throw std::invalid_argument("an integer");
  return v;
}

// An integer parameter: also an integral float (1e6, 1000000.0: how HPC users write a
// million).
int64_t to_int(const YAML::Node& n) {
  try {
    return strict_int(n);
  } catch (const std::invalid_argument&) {
  }
  const std::string s = trim(n.Scalar());
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(d))
    throw std::invalid_argument("an integer");
  if (d != std::floor(d)) throw std::invalid_argument("an integer");
  if (d < -9.2e18 || d > 9.2e18) throw std::invalid_argument("an integer that fits in int64");
  return static_cast<int64_t>(d);
}

double to_double(const YAML::Node& n) {
  if (!n.IsScalar()) throw std::invalid_argument("a number");
  const std::string s = trim(n.Scalar());
  if (s == "inf" || s == ".inf") return HUGE_VAL;
  if (s == "-inf" || s == "-.inf") return -HUGE_VAL;
  if (s == "nan" || s == ".nan") return std::nan("");
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) throw std::invalid_argument("a number");
  return v;
}

bool to_bool(const YAML::Node& n) {
  if (!n.IsScalar()) throw std::invalid_argument("true or false");
  const std::string s = n.Scalar();
  if (s == "true" || s == "True" || s == "yes") return true;
  if (s == "false" || s == "False" || s == "no") return false;
  throw std::invalid_argument("true or false");
}

std::vector<int64_t> to_int_list(const YAML::Node& n, bool allow_single) {
  if (allow_single && n.IsScalar()) return {to_int(n)};
  if (!n.IsSequence())
    throw std::invalid_argument(allow_single ? "an integer or a list of integers"
                                             : "a list of integers");
  std::vector<int64_t> v;
  for (const auto& x : n) {
    try {
      v.push_back(to_int(x));
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument(fmt::format(
          "{} (element {} is {})",
          allow_single ? "an integer or a list of integers" : "a list of integers", v.size(),
          x.IsScalar() ? "'" + printable(x.Scalar()) + "'" : std::string("a list or mapping")));
    }
  }
  return v;
}

bool node_is_none(const YAML::Node& n) {
  return !n.IsDefined() || n.IsNull() || (n.IsScalar() && is_none_text(n.Scalar()));
}

std::vector<Index> to_index(const YAML::Node& n) {
  if (!n.IsScalar()) throw std::invalid_argument("an index such as \"2:10, ::2, 0\"");
  std::string s = trim(n.Scalar());
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  std::vector<Index> out;
  if (trim(s).empty()) return out;
  size_t i = 0;
  for (;;) {
    const size_t comma = s.find(',', i);
    const std::string item =
        trim(s.substr(i, comma == std::string::npos ? std::string::npos : comma - i));
    if (item == "...") {
      out.emplace_back(Ellipsis{});
    } else if (item.find(':') == std::string::npos) {
      out.emplace_back(strict_int(YAML::Node(item)));
    } else {
      Slice sl;
      std::vector<std::string> parts;
      size_t j = 0;
      for (;;) {
        const size_t c = item.find(':', j);
        parts.push_back(trim(item.substr(j, c == std::string::npos ? std::string::npos : c - j)));
        if (c == std::string::npos) break;
        j = c + 1;
      }
      if (parts.size() > 3) throw std::invalid_argument("an index item of at most start:stop:step");
      auto get = [&](size_t k) -> std::optional<int64_t> {
        if (k >= parts.size() || parts[k].empty()) return std::nullopt;
        return strict_int(YAML::Node(parts[k]));
      };
      sl.start = get(0);
      sl.stop = get(1);
      sl.step = get(2);
      if (sl.step && *sl.step <= 0) throw std::invalid_argument("a positive slice step");
      out.emplace_back(sl);
    }
    if (comma == std::string::npos) break;
    i = comma + 1;
  }
  return out;
}

// A number or bool as written: an integer stays an integer.
c10::Scalar to_literal_scalar(const YAML::Node& n) {
  try {
    return c10::Scalar(strict_int(n));
  } catch (const std::invalid_argument&) {
  }
  try {
    return c10::Scalar(to_double(n));
  } catch (const std::invalid_argument&) {
  }
  try {
    return c10::Scalar(to_bool(n));
  } catch (const std::invalid_argument&) {
  }
  throw std::invalid_argument("numbers or bools, or nested lists of them");
}

// Nested lists of numbers: the shape (rectangular, at most kMaxAxes deep) and the
// elements in row-major order.
void to_literal(const YAML::Node& n, size_t depth, Literal& out) {
  if (n.IsScalar()) {
    if (depth < out.shape.size())
      throw std::invalid_argument(fmt::format(
          "a rectangular nested list (a number where a list of {} was expected)", out.shape[depth]));
    out.values.push_back(to_literal_scalar(n));
    return;
  }
  if (!n.IsSequence()) throw std::invalid_argument("numbers or bools, or nested lists of them");
  if (static_cast<int64_t>(depth) >= kMaxAxes)
    throw std::invalid_argument(fmt::format("nested lists at most {} deep", kMaxAxes));
  const int64_t len = static_cast<int64_t>(n.size());
  if (out.values.empty() && depth == out.shape.size()) {
    out.shape.push_back(len);  // the first list at this depth fixes the extent
  } else if (depth >= out.shape.size() || out.shape[depth] != len) {
    throw std::invalid_argument(
        depth >= out.shape.size()
            ? std::string("a rectangular nested list (a list where a number was expected)")
            : fmt::format("a rectangular nested list (lists of {} and {} values at depth {})",
                          out.shape[depth], len, depth + 1));
  }
  for (const YAML::Node& x : n) to_literal(x, depth + 1, out);
  // An empty list ends the shape here: later lists at this depth must be empty too.
}

Literal literal_of(const YAML::Node& n) {
  Literal l;
  to_literal(n, 0, l);
  return l;
}

// Checks one value against its spec; throws std::invalid_argument("expected ...").
void check_value(const ParamSpec& spec, const YAML::Node& n) {
  switch (spec.kind) {
    case ParamKind::integer:
      to_int(n);
      break;
    case ParamKind::number:
      to_double(n);
      break;
    case ParamKind::boolean:
      to_bool(n);
      break;
    case ParamKind::string:
    case ParamKind::path:
      if (!n.IsScalar()) throw std::invalid_argument("a text value");
      break;
    case ParamKind::choice: {
      if (!n.IsScalar() ||
          std::find(spec.choices.begin(), spec.choices.end(), n.Scalar()) == spec.choices.end()) {
        std::string list;
        for (const auto& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
        throw std::invalid_argument("one of " + list);
      }
      break;
    }
    case ParamKind::shape: {
      const Shape sh = to_int_list(n, true);
      for (int64_t d : sh)
        if (d < 0) throw std::invalid_argument("a shape of non-negative extents");
      if (static_cast<int64_t>(sh.size()) > kMaxAxes)
        throw std::invalid_argument(fmt::format("a shape of at most {} axes", kMaxAxes));
      shape_numel(sh);  // ShapeError when the product does not fit in int64
      break;
    }
    case ParamKind::int_list:
      to_int_list(n, false);
      break;
    case ParamKind::axes:
      if (!node_is_none(n)) to_int_list(n, true);
      break;
    case ParamKind::axis:
    case ParamKind::split:
      if (!node_is_none(n)) to_int(n);
      break;
    case ParamKind::dtype:
      if (!n.IsScalar()) throw std::invalid_argument("a dtype name");
      parse_dtype(n.Scalar());
      break;
    case ParamKind::device:
      if (!n.IsScalar()) throw std::invalid_argument("cpu or gpu");
      parse_device(n.Scalar());
      break;
    case ParamKind::scalar:
      try {
        to_double(n);
      } catch (const std::invalid_argument&) {
        to_bool(n);
      }
      break;
    case ParamKind::index:
      to_index(n);
      break;
    case ParamKind::number_list:
      // One number stands for a list of one (percentile's `q: 50`; an op that cares asks
      // the step whether it was written as a list).
      if (n.IsScalar()) {
        try {
          to_double(n);
        } catch (const std::invalid_argument&) {
          throw std::invalid_argument("a number or a list of numbers");
        }
        break;
      }
      if (!n.IsSequence()) throw std::invalid_argument("a number or a list of numbers");
      for (const auto& x : n) {
        try {
          to_double(x);
        } catch (const std::invalid_argument&) {
          throw std::invalid_argument("a list of numbers");
        }
      }
      break;
    case ParamKind::name_list:
      if (!n.IsSequence()) throw std::invalid_argument("a list of names");
      for (const auto& x : n)
        if (!x.IsScalar() || x.Scalar().empty()) throw std::invalid_argument("a list of names");
      break;
    case ParamKind::mapping:
      if (node_is_none(n)) break;
      if (!n.IsMap()) throw std::invalid_argument("a mapping {name: value, ...}");
      for (const auto& kv : n) {
        const YAML::Node& v = kv.second;
        bool ok = v.IsScalar();
        if (v.IsSequence()) {
          ok = true;
          for (const YAML::Node& x : v) ok = ok && x.IsScalar();
        }
        if (!ok)
          throw std::invalid_argument(
              "a mapping of names to numbers, strings, bools or lists of numbers");
      }
      break;
    case ParamKind::values:
      literal_of(n);
      break;
  }
}

}  // namespace

const char* param_kind_name(ParamKind k) {
  switch (k) {
    case ParamKind::integer:
      return "integer";
    case ParamKind::number:
      return "number";
    case ParamKind::boolean:
      return "bool";
    case ParamKind::string:
      return "string";
    case ParamKind::path:
      return "path";
    case ParamKind::choice:
      return "choice";
    case ParamKind::shape:
      return "shape";
    case ParamKind::int_list:
      return "int list";
    case ParamKind::axes:
      return "axes";
    case ParamKind::axis:
      return "axis";
    case ParamKind::split:
      return "split";
    case ParamKind::dtype:
      return "dtype";
    case ParamKind::device:
      return "device";
    case ParamKind::scalar:
      return "scalar";
    case ParamKind::index:
      return "index";
    case ParamKind::number_list:
      return "numbers";
    case ParamKind::name_list:
      return "names";
    case ParamKind::mapping:
      return "mapping";
    case ParamKind::values:
      return "values";
  }
  return "?";
}

namespace {
std::vector<std::string>* g_registration_errors = nullptr;
}  // namespace

void set_registration_errors(std::vector<std::string>* sink) { g_registration_errors = sink; }

bool register_op(OpDef def, const char* file, int line) {
  auto& ops = registry();
  if (auto it = ops.find(def.name); it != ops.end()) {
    if (g_registration_errors) {
      g_registration_errors->push_back(fmt::format("op '{}' ({}:{}) is already defined ({}:{})",
                                                   def.name, file, line, it->second.file,
                                                   it->second.line));
      return false;
    }
    std::fprintf(stderr, "dnd: internal error: op '%s' registered twice: %s:%d and %s:%d\n",
                 def.name.c_str(), it->second.file, it->second.line, file, line);
    std::abort();
  }
  def.file = file;
  def.line = line;
  const std::string name = def.name;
  ops.emplace(name, std::move(def));
  return true;
}

const OpDef* find_op(const std::string& name) {
  const auto& ops = registry();
  auto it = ops.find(name);
  return it == ops.end() ? nullptr : &it->second;
}

std::vector<const OpDef*> all_ops() {
  std::vector<const OpDef*> v;
  for (const auto& [k, d] : registry()) v.push_back(&d);
  return v;
}

ParamSpec p_split(const std::string& help, const std::string& def) {
  return ParamSpec{"split", ParamKind::split, help, false, def};
}
ParamSpec p_dtype(const std::string& help) { return ParamSpec{"dtype", ParamKind::dtype, help}; }

// ---- Params --------------------------------------------------------------------------------

Params::Params(const Step& step, const std::vector<ParamSpec>& specs, const Document& doc)
    : step_(&step), specs_(&specs), doc_(&doc) {
  std::vector<std::string> names;
  for (const auto& s : specs) names.push_back(s.name);
  for (const auto& [k, v] : step.params) {
    if (k == "checkpoint") continue;  // a step key of every op (checked by the parser)
    auto it = std::find_if(specs.begin(), specs.end(), [&](const ParamSpec& s) { return s.name == k; });
    if (it == specs.end()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      const std::string hint = did_you_mean(k, names);
      throw doc.error(step.param_marks.at(k),
                      fmt::format("op '{}' has no parameter '{}'{}", step.op, k,
                                  !hint.empty()   ? hint
                                  : known.empty() ? std::string(" (it takes none)")
                                                  : " (it takes: " + known + ")"));
    }
    try {
      check_value(*it, v);
    } catch (const std::invalid_argument& e) {
      throw doc.error(step.param_marks.at(k),
                      fmt::format("parameter '{}' of op '{}' must be {}{}", k, step.op, e.what(),
                                  v.IsScalar() ? ", got '" + printable(v.Scalar()) + "'"
                                  : std::string(e.what()).find("(element ") != std::string::npos
                                      ? ""
                                      : ", got a list or mapping"));
    } catch (const dnd::Error& e) {
      throw doc.error(step.param_marks.at(k),
                      fmt::format("parameter '{}' of op '{}': {}", k, step.op, e.what()));
    }
  }
  for (const auto& s : specs)
    if (s.required && !given(s.name))
      throw doc.error(step.op_mark,
                      fmt::format("op '{}' needs parameter '{}' ({})", step.op, s.name, s.help));
}

const ParamSpec& Params::spec(const std::string& name) const {
  for (const auto& s : *specs_)
    if (s.name == name) return s;
  throw InternalError(
      fmt::format("op '{}' reads parameter '{}' that it does not declare", step_->op, name));
}

bool Params::given(const std::string& name) const {
  for (const auto& [k, v] : step_->params)
    if (k == name) return true;
  return false;
}

YAML::Node Params::node(const std::string& name) const {
  const ParamSpec& s = spec(name);
  for (const auto& [k, v] : step_->params)
    if (k == name) return v;
  if (s.default_value.empty()) return YAML::Node();
  return YAML::Load(s.default_value);
}

Mark Params::mark(const std::string& name) const {
  auto it = step_->param_marks.find(name);
  return it == step_->param_marks.end() ? step_->op_mark : it->second;
}

bool Params::is_none(const std::string& name) const { return node_is_none(node(name)); }

namespace {
template <class F>
auto convert(const Params& p, const Document& doc, const Step& st, const std::string& name, F f) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    throw doc.error(p.mark(name),
                    fmt::format("parameter '{}' of op '{}' must be {}", name, st.op, e.what()));
  }
}
}  // namespace

int64_t Params::integer(const std::string& name) const {
  return convert(*this, *doc_, *step_, name, [&] { return to_int(node(name)); });
}
double Params::number(const std::string& name) const {
  return convert(*this, *doc_, *step_, name, [&] { return to_double(node(name)); });
}
bool Params::boolean(const std::string& name) const {
  return convert(*this, *doc_, *step_, name, [&] { return to_bool(node(name)); });
}
std::string Params::string(const std::string& name) const {
  const YAML::Node n = node(name);
  return n.IsScalar() ? n.Scalar() : std::string();
}
Shape Params::shape(const std::string& name) const {
  return convert(*this, *doc_, *step_, name, [&] { return to_int_list(node(name), true); });
}
std::vector<int64_t> Params::int_list(const std::string& name) const {
  if (is_none(name)) return {};
  return convert(*this, *doc_, *step_, name, [&] { return to_int_list(node(name), false); });
}
std::optional<std::vector<int64_t>> Params::axes(const std::string& name) const {
  if (is_none(name)) return std::nullopt;
  return convert(*this, *doc_, *step_, name, [&] { return to_int_list(node(name), true); });
}
std::optional<int64_t> Params::axis(const std::string& name) const {
  if (is_none(name)) return std::nullopt;
  return convert(*this, *doc_, *step_, name, [&] { return to_int(node(name)); });
}
Split Params::split(const std::string& name) const { return axis(name); }
Dtype Params::dtype(const std::string& name, Dtype fallback) const {
  if (is_none(name)) return fallback;
  return parse_dtype(node(name).Scalar());
}
DeviceKind Params::device(const std::string& name, DeviceKind fallback) const {
  if (is_none(name)) return fallback;
  return parse_device(node(name).Scalar());
}
c10::Scalar Params::scalar(const std::string& name) const {
  const YAML::Node n = node(name);
  try {
    const int64_t i = strict_int(n);
    return c10::Scalar(i);
  } catch (const std::invalid_argument&) {
  }
  try {
    return c10::Scalar(to_double(n));
  } catch (const std::invalid_argument&) {
  }
  return convert(*this, *doc_, *step_, name, [&] { return c10::Scalar(to_bool(n)); });
}
std::vector<Index> Params::index(const std::string& name) const {
  return convert(*this, *doc_, *step_, name, [&] { return to_index(node(name)); });
}

std::vector<double> Params::number_list(const std::string& name) const {
  std::vector<double> v;
  if (is_none(name)) return v;
  const YAML::Node n = node(name);
  if (n.IsScalar()) return {convert(*this, *doc_, *step_, name, [&] { return to_double(n); })};
  for (const auto& x : n) v.push_back(convert(*this, *doc_, *step_, name, [&] { return to_double(x); }));
  return v;
}
Literal Params::values(const std::string& name) const {
  return convert(*this, *doc_, *step_, name, [&] { return literal_of(node(name)); });
}
std::vector<std::string> Params::name_list(const std::string& name) const {
  std::vector<std::string> v;
  if (is_none(name)) return v;
  for (const auto& x : node(name)) v.push_back(x.Scalar());
  return v;
}
std::vector<std::pair<std::string, YAML::Node>> Params::mapping(const std::string& name) const {
  std::vector<std::pair<std::string, YAML::Node>> v;
  const YAML::Node n = node(name);
  if (!n.IsDefined() || !n.IsMap()) return v;
  for (auto it = n.begin(); it != n.end(); ++it) v.emplace_back(it->first.Scalar(), it->second);
  return v;
}

c10::Scalar literal_scalar(const YAML::Node& literal) {
  try {
    return c10::Scalar(strict_int(literal));
  } catch (const std::invalid_argument&) {
  }
  try {
    return c10::Scalar(to_double(literal));
  } catch (const std::invalid_argument&) {
  }
  throw ValueError(
      fmt::format("'{}' is not a number", literal.IsScalar() ? literal.Scalar() : std::string("?")));
}

}  // namespace dnd::pipeline
