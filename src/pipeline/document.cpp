// Parsing a pipeline file into a Document: structure, ids, params and ${...}
// substitution. Every error cites file:line:column of the offending value.
#include "src/pipeline/document.h"

#include "src/core/text.h"
#include "src/core/types.h"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <variant>

namespace dnd::pipeline {

Mark mark_of(const YAML::Node& n) {
  if (!n.IsDefined()) return {};
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return {};
  return Mark{m.line + 1, m.column + 1};
}

namespace {

std::string format_error(const std::string& file, Mark m, const std::string& msg, const std::string& line) {
  std::string s = m.line > 0 ? fmt::format("{}:{}:{}: error: {}", file, m.line, m.col, msg)
                             : fmt::format("{}: error: {}", file, msg);
  if (m.line > 0 && !line.empty()) {
    s += "\n    " + line + "\n    ";
    for (int i = 1; i < m.col && i <= static_cast<int>(line.size()); ++i) s += line[static_cast<size_t>(i - 1)] == '\t' ? '\t' : ' ';
    s += "^";
  }
  return s;
}

}  // namespace

PipelineError::PipelineError(const std::string& file, Mark mark, const std::string& msg, const std::string& source_line)
    : Error(format_error(file, mark, msg, source_line)), file_(file), mark_(mark), msg_(msg) {}

PipelineError Document::error(Mark m, const std::string& msg) const {
  const std::string line =
      m.line > 0 && m.line <= static_cast<int>(lines.size()) ? lines[static_cast<size_t>(m.line - 1)] : std::string();
  return PipelineError(file, m, msg, line);
}

// ---- ${...} expressions ----------------------------------------------------------------

namespace {

using Value = std::variant<int64_t, double, std::string>;

Value node_value(const YAML::Node& n) {
  if (!n.IsScalar()) throw std::invalid_argument("a param used in an expression must be a number or a string");
  const std::string& s = n.Scalar();
  try {
    size_t pos = 0;
    const long long v = std::stoll(s, &pos);
    if (pos == s.size()) return static_cast<int64_t>(v);
  } catch (...) {
  }
  try {
    size_t pos = 0;
    const double v = std::stod(s, &pos);
    if (pos == s.size()) return v;
  } catch (...) {
  }
  return s;
}

class ExprParser {
 public:
  ExprParser(const std::string& text, const std::vector<std::pair<std::string, YAML::Node>>& params)
      : s_(text), params_(params) {}

  Value parse() {
    Value v = sum();
    skip();
    if (i_ != s_.size()) throw std::invalid_argument(fmt::format("unexpected '{}'", s_.substr(i_)));
    return v;
  }

 private:
  void skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(const char* tok) {
    skip();
    const size_t n = std::strlen(tok);
    if (s_.compare(i_, n, tok) != 0) return false;
    // '*' must not eat the first half of '**', nor '/' of '//'.
    if (n == 1 && (tok[0] == '*' || tok[0] == '/') && i_ + 1 < s_.size() && s_[i_ + 1] == tok[0]) return false;
    i_ += n;
    return true;
  }
  static double num(const Value& v) {
    if (std::holds_alternative<std::string>(v))
      throw std::invalid_argument(fmt::format("'{}' is a string, not a number", std::get<std::string>(v)));
    return std::holds_alternative<int64_t>(v) ? static_cast<double>(std::get<int64_t>(v)) : std::get<double>(v);
  }
  static bool both_int(const Value& a, const Value& b) {
    return std::holds_alternative<int64_t>(a) && std::holds_alternative<int64_t>(b);
  }
  Value sum() {
    Value v = product();
    for (;;) {
      if (eat("+")) {
        const Value r = product();
        v = both_int(v, r) ? Value(std::get<int64_t>(v) + std::get<int64_t>(r)) : Value(num(v) + num(r));
      } else if (eat("-")) {
        const Value r = product();
        v = both_int(v, r) ? Value(std::get<int64_t>(v) - std::get<int64_t>(r)) : Value(num(v) - num(r));
      } else {
        return v;
      }
    }
  }
  Value product() {
    Value v = unary();
    for (;;) {
      if (eat("*")) {
        const Value r = unary();
        v = both_int(v, r) ? Value(std::get<int64_t>(v) * std::get<int64_t>(r)) : Value(num(v) * num(r));
      } else if (eat("//")) {
        const Value r = unary();
        if (num(r) == 0) throw std::invalid_argument("division by zero");
        if (both_int(v, r)) {
          const int64_t a = std::get<int64_t>(v), b = std::get<int64_t>(r);
          int64_t q = a / b;
          if ((a % b != 0) && ((a < 0) != (b < 0))) --q;  // floor, as Python
          v = q;
        } else {
          v = std::floor(num(v) / num(r));
        }
      } else if (eat("/")) {
        const Value r = unary();
        if (num(r) == 0) throw std::invalid_argument("division by zero");
        v = num(v) / num(r);
      } else if (eat("%")) {
        const Value r = unary();
        if (num(r) == 0) throw std::invalid_argument("division by zero");
        if (both_int(v, r)) {
          const int64_t a = std::get<int64_t>(v), b = std::get<int64_t>(r);
          int64_t m = a % b;
          if (m != 0 && ((m < 0) != (b < 0))) m += b;
          v = m;
        } else {
          v = num(v) - num(r) * std::floor(num(v) / num(r));
        }
      } else {
        return v;
      }
    }
  }
  Value unary() {
    if (eat("-")) {
      const Value v = unary();
      return std::holds_alternative<int64_t>(v) ? Value(-std::get<int64_t>(v)) : Value(-num(v));
    }
    if (eat("+")) return unary();
    return power();
  }
  Value power() {
    const Value base = atom();
    if (!eat("**")) return base;
    const Value e = unary();  // right-associative
    if (both_int(base, e) && std::get<int64_t>(e) >= 0) {
      int64_t r = 1;
      for (int64_t k = 0; k < std::get<int64_t>(e); ++k) r *= std::get<int64_t>(base);
      return r;
    }
    return std::pow(num(base), num(e));
  }
  Value atom() {
    skip();
    if (i_ >= s_.size()) throw std::invalid_argument("expression ends too early");
    const char c = s_[i_];
    if (c == '(') {
      ++i_;
      Value v = sum();
      if (!eat(")")) throw std::invalid_argument("missing ')'");
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      size_t j = i_;
      bool is_float = false;
      while (j < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[j])) || s_[j] == '.' || s_[j] == 'e' ||
                               s_[j] == 'E' || ((s_[j] == '-' || s_[j] == '+') && (s_[j - 1] == 'e' || s_[j - 1] == 'E')))) {
        if (!std::isdigit(static_cast<unsigned char>(s_[j]))) is_float = true;
        ++j;
      }
      const std::string tok = s_.substr(i_, j - i_);
      i_ = j;
      try {
        if (!is_float) return static_cast<int64_t>(std::stoll(tok));
        return std::stod(tok);
      } catch (...) {
        throw std::invalid_argument(fmt::format("bad number '{}'", tok));
      }
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i_;
      while (j < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[j])) || s_[j] == '_')) ++j;
      const std::string name = s_.substr(i_, j - i_);
      i_ = j;
      std::vector<std::string> names;
      for (const auto& [k, v] : params_) {
        if (k == name) return node_value(v);
        names.push_back(k);
      }
      throw std::invalid_argument(fmt::format("undefined param '{}'{}", name, did_you_mean(name, names)));
    }
    throw std::invalid_argument(fmt::format("unexpected '{}'", std::string(1, c)));
  }

  const std::string& s_;
  const std::vector<std::pair<std::string, YAML::Node>>& params_;
  size_t i_ = 0;
};

std::string value_text(const Value& v) {
  if (std::holds_alternative<int64_t>(v)) return std::to_string(std::get<int64_t>(v));
  if (std::holds_alternative<double>(v)) {
    const double d = std::get<double>(v);
    std::string s = fmt::format("{}", d);  // shortest round-trip form
    if (std::isfinite(d) && s.find_first_of(".eE") == std::string::npos) s += ".0";
    return s;
  }
  return std::get<std::string>(v);
}

}  // namespace

YAML::Node evaluate_expression(const std::string& expr, const std::vector<std::pair<std::string, YAML::Node>>& params) {
  ExprParser p(expr, params);
  return YAML::Node(value_text(p.parse()));
}

// ---- the document ------------------------------------------------------------------------

namespace {

const std::set<std::string> kTopKeys{"version", "name", "description", "params", "defaults", "steps", "plugins"};

bool valid_id(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

// "${expr}" becomes "$<expr>" (same length, so positions stay right) before YAML reads
// the text: '{' and '}' are flow indicators, and [${n}, ${d}] would not parse.
std::string protect_expressions(std::string text) {
  size_t i = 0;
  while ((i = text.find("${", i)) != std::string::npos) {
    const size_t e = text.find_first_of("}\n", i + 2);
    if (e == std::string::npos || text[e] != '}') {
      i += 2;
      continue;
    }
    text[i + 1] = '<';
    text[e] = '>';
    i = e + 1;
  }
  return text;
}

class Parser {
 public:
  explicit Parser(Document& d) : d_(d) {}

  // Map keys in file order; a repeated key is an error (yaml-cpp keeps both silently).
  std::vector<std::pair<std::string, YAML::Node>> entries(const YAML::Node& map, const char* what) {
    if (!map.IsMap()) throw d_.error(mark_of(map), fmt::format("{} must be a mapping (key: value)", what));
    std::vector<std::pair<std::string, YAML::Node>> out;
    std::map<std::string, Mark> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) throw d_.error(mark_of(it->first), fmt::format("{}: keys must be names", what));
      const std::string key = it->first.Scalar();
      if (auto s = seen.find(key); s != seen.end())
        throw d_.error(mark_of(it->first), fmt::format("duplicate key '{}' (first at line {})", key, s->second.line));
      seen[key] = mark_of(it->first);
      key_marks_[key] = mark_of(it->first);
      out.emplace_back(key, it->second);
    }
    return out;
  }
  Mark key_mark(const std::string& k) const {
    auto it = key_marks_.find(k);
    return it == key_marks_.end() ? Mark{} : it->second;
  }

  // Replaces ${...} in every scalar of `n` (a fresh node; the input is not changed).
  YAML::Node resolve(const YAML::Node& n) {
    if (n.IsScalar()) {
      const std::string s = protect_expressions(n.Scalar());
      if (s.find("$<") == std::string::npos) return n;
      std::string out;
      size_t i = 0;
      while (i < s.size()) {
        const size_t b = s.find("$<", i);
        if (b == std::string::npos) {
          out += s.substr(i);
          break;
        }
        const size_t e = s.find('>', b);
        if (e == std::string::npos) throw d_.error(mark_of(n), fmt::format("unterminated '${{' in '{}'", s));
        const std::string expr = s.substr(b + 2, e - b - 2);
        YAML::Node v;
        try {
          v = evaluate_expression(expr, d_.params);
        } catch (const std::invalid_argument& ex) {
          throw d_.error(mark_of(n), fmt::format("in '${{{}}}': {}", expr, ex.what()));
        }
        if (b == 0 && e + 1 == s.size()) return v;  // the whole value: keep its type
        out += s.substr(i, b - i) + v.Scalar();
        i = e + 1;
      }
      return YAML::Node(out);
    }
    if (n.IsSequence()) {
      YAML::Node out(YAML::NodeType::Sequence);
      for (const auto& x : n) out.push_back(resolve(x));
      return out;
    }
    if (n.IsMap()) {
      YAML::Node out(YAML::NodeType::Map);
      for (auto it = n.begin(); it != n.end(); ++it) out[it->first.Scalar()] = resolve(it->second);
      return out;
    }
    return n;
  }

  void params(const YAML::Node& node, const std::vector<std::string>& sets) {
    std::vector<std::pair<std::string, YAML::Node>> overrides;
    for (const std::string& kv : sets) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        throw PipelineError(d_.file, {}, fmt::format("--set '{}': expected key=value", kv));
      overrides.emplace_back(kv.substr(0, eq), YAML::Node(kv.substr(eq + 1)));
    }
    std::vector<std::pair<std::string, YAML::Node>> declared;
    if (node.IsDefined() && !node.IsNull()) declared = entries(node, "params");
    std::vector<std::string> names;
    for (const auto& [k, v] : declared) names.push_back(k);
    for (const auto& [k, v] : overrides)
      if (std::find(names.begin(), names.end(), k) == names.end())
        throw PipelineError(d_.file, {},
                            fmt::format("--set {}: the pipeline has no param '{}'{}{}", k, k, did_you_mean(k, names),
                                        names.empty() ? " (it declares no params)" : ""));
    // Params may use the ones before them; an override replaces the value as written.
    for (const auto& [k, v] : declared) {
      if (!valid_id(k)) throw d_.error(key_mark(k), fmt::format("param name '{}' is not a valid name", k));
      YAML::Node value = v;
      for (const auto& [ok, ov] : overrides)
        if (ok == k) value = ov;
      if (!value.IsScalar()) throw d_.error(mark_of(v), fmt::format("param '{}' must be a single value", k));
      d_.params.emplace_back(k, resolve(value));
    }
  }

  void defaults(const YAML::Node& node) {
    if (!node.IsDefined() || node.IsNull()) return;
    for (const auto& [k, v] : entries(node, "defaults")) {
      const YAML::Node r = resolve(v);
      const std::string val = r.IsScalar() ? r.Scalar() : std::string();
      try {
        if (k == "dtype") {
          d_.default_dtype = dtype_name(parse_dtype(val));
        } else if (k == "device") {
          d_.default_device = device_name(parse_device(val));
        } else if (k == "sync") {
          if (val == "true" || val == "false")
            d_.default_sync = val == "true";
          else
            throw std::invalid_argument(fmt::format("defaults.sync must be true or false, got '{}'", val));
        }
      } catch (const std::exception& e) {
        throw d_.error(mark_of(v), e.what());
      }
      if (k != "dtype" && k != "device" && k != "sync") {
        throw d_.error(key_mark(k), fmt::format("unknown default '{}'{} (defaults has dtype, device and sync)", k,
                                               did_you_mean(k, {"dtype", "device", "sync"})));
      }
    }
  }

  void steps(const YAML::Node& node) {
    if (!node.IsDefined() || node.IsNull()) throw d_.error({}, "the pipeline has no 'steps'");
    if (!node.IsSequence())
      throw d_.error(mark_of(node), "'steps' must be a list of steps (each item starts with '- ')");
    int index = 0;
    for (const YAML::Node& s : node) {
      Step st;
      st.index = index++;
      st.mark = mark_of(s);
      bool have_op = false;
      for (const auto& [k, v] : entries(s, "a step")) {
        const Mark km = key_mark(k);
        if (k == "id") {
          if (!v.IsScalar() || !valid_id(v.Scalar()))
            throw d_.error(mark_of(v), "a step id must be a name (letters, digits, '_' and '-', not starting with a digit)");
          st.id = v.Scalar();
          st.has_id = true;
        } else if (k == "op") {
          if (!v.IsScalar()) throw d_.error(mark_of(v), "'op' must be an op name");
          st.op = v.Scalar();
          st.op_mark = mark_of(v);
          have_op = true;
        } else if (k == "input" || k == "inputs") {
          if (!st.inputs.empty() || st.inputs_mark.line > 0)
            throw d_.error(km, "give either 'input' (one) or 'inputs' (a list), not both");
          st.inputs_mark = km;
          if (k == "input") {
            if (!v.IsScalar()) throw d_.error(mark_of(v), "'input' takes one name; use 'inputs: [A, B]' for several");
            st.inputs.push_back(input_ref(v));
          } else {
            if (!v.IsSequence()) throw d_.error(mark_of(v), "'inputs' must be a list, such as [A, B]");
            for (const YAML::Node& x : v) st.inputs.push_back(input_ref(x));
          }
        } else {
          st.params.emplace_back(k, resolve(v));
          st.param_marks[k] = km;
        }
      }
      if (!have_op) throw d_.error(st.mark, "this step has no 'op'");
      if (!st.has_id) st.id = fmt::format("{}#{}", st.op, st.index + 1);
      d_.steps.push_back(std::move(st));
    }
    if (d_.steps.empty()) throw d_.error(mark_of(node), "the pipeline has no steps");
  }

  InputRef input_ref(const YAML::Node& v) {
    if (!v.IsScalar()) throw d_.error(mark_of(v), "an input must be a step id or a number");
    const YAML::Node r = resolve(v);
    InputRef in;
    in.mark = mark_of(v);
    const std::string& s = r.Scalar();
    const bool number = !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '+' ||
                                       s[0] == '.' || s == "inf" || s == "nan");
    if (number) {
      in.literal = r;
    } else {
      in.ref = s;
    }
    return in;
  }

 private:
  Document& d_;
  std::map<std::string, Mark> key_marks_;
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) lines.push_back(l);
  return lines;
}

}  // namespace

Document parse_document(const std::string& text, const std::string& file, const std::vector<std::string>& sets) {
  Document d;
  d.file = file;
  d.lines = split_lines(text);
  YAML::Node root;
  try {
    root = YAML::Load(protect_expressions(text));
  } catch (const YAML::Exception& e) {
    throw d.error(Mark{e.mark.line + 1, e.mark.column + 1}, e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) throw d.error({}, "the file is empty");
  Parser p(d);
  const auto top = p.entries(root, "a pipeline");
  std::map<std::string, YAML::Node> by_key;
  for (const auto& [k, v] : top) {
    if (!kTopKeys.count(k))
      throw d.error(p.key_mark(k), fmt::format("unknown key '{}'{}", k,
                                               did_you_mean(k, {kTopKeys.begin(), kTopKeys.end()})));
    by_key[k] = v;
  }
  if (by_key.count("version")) {
    const YAML::Node& v = by_key["version"];
    if (!v.IsScalar() || v.Scalar() != "1")
      throw d.error(mark_of(v), fmt::format("unsupported pipeline version '{}' (this dnd reads version 1)",
                                            v.IsScalar() ? v.Scalar() : std::string("?")));
  }
  if (by_key.count("name")) d.name = by_key["name"].IsScalar() ? by_key["name"].Scalar() : "";
  p.params(by_key["params"], sets);
  p.defaults(by_key["defaults"]);
  p.steps(by_key["steps"]);
  if (by_key.count("plugins")) {  // loaded by the planner, before it looks up any op
    const YAML::Node& pl = by_key["plugins"];
    if (!pl.IsSequence()) throw d.error(mark_of(pl), "'plugins' must be a list of shared libraries, such as [./libmyops.so]");
    for (const YAML::Node& x : pl) {
      if (!x.IsScalar() || x.Scalar().empty()) throw d.error(mark_of(x), "a plugin must be the path of a shared library");
      d.plugins.emplace_back(x.Scalar(), mark_of(x));
    }
  }
  return d;
}

Document load_document(const std::string& path, const std::vector<std::string>& sets) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw PipelineError(path, {}, fmt::format("cannot read the pipeline file: {}", std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_document(ss.str(), path, sets);
}

}  // namespace dnd::pipeline
