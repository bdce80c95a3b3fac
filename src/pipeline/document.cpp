// Parsing a pipeline file into a Document: structure, ids, params and ${...}
// substitution. Every error cites file:line:column of the offending value.
#include "src/pipeline/document.h"

#include "src/core/text.h"
#include "src/core/types.h"
#include "src/pipeline/expr.h"
#include "src/core/diagnostics.h"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <variant>

namespace dnd::pipeline {

namespace {

// Limits on a pipeline file, each an error (exit 2) rather than a hang or exhausted
// memory: the file's size, YAML nesting, values after expanding aliases (a "billion
// laughs"), the length of one value and of all values after ${...} substitution.
constexpr size_t kMaxFileBytes = size_t{16} << 20;
constexpr int kMaxYamlDepth = 64;
constexpr int64_t kMaxExpandedNodes = 100000;
constexpr int64_t kMaxYamlEvents = 1000000;
constexpr int kMaxValueDepth = 64;
constexpr size_t kMaxValueChars = size_t{1} << 20;
constexpr size_t kMaxTotalChars = size_t{64} << 20;

}  // namespace

Mark mark_of(const YAML::Node& n) {
  if (!n.IsDefined()) return {};
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return {};
  return Mark{m.line + 1, m.column + 1};
}

namespace {

std::string format_error(const std::string& file, Mark m, const std::string& msg,
                         const std::string& line) {
  std::string s = m.line > 0 ? fmt::format("{}:{}:{}: error: {}", file, m.line, m.col, msg)
                             : fmt::format("{}: error: {}", file, msg);
  if (m.line > 0 && !line.empty()) {
    // A long line is shown as the 100 characters around the caret.
    constexpr int kShow = 100;
    const int n = static_cast<int>(line.size());
    const int caret = std::min(std::max(m.col, 1), n + 1);  // 1-based
    int b = 1, e = n;                                       // shown: [b, e], 1-based
    if (n > kShow) {
      b = std::max(1, std::min(caret - kShow / 2, n - kShow + 1));
      e = std::min(n, b + kShow - 1);
    }
    const std::string head = b > 1 ? "..." : "", tail = e < n ? "..." : "";
    std::string shown = line.substr(static_cast<size_t>(b - 1), static_cast<size_t>(e - b + 1));
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') c = '?';
    s += "\n    " + head + shown + tail + "\n    " + std::string(head.size(), ' ');
    for (int i = b; i < caret && i <= e; ++i) s += line[static_cast<size_t>(i - 1)] == '\t' ? '\t' : ' ';
    s += "^";
  }
  return s;
}

}  // namespace

PipelineError::PipelineError(const std::string& file, Mark mark, const std::string& msg,
                             const std::string& source_line)
    : Error(format_error(file, mark, msg, source_line)), file_(file), mark_(mark), msg_(msg) {}

PipelineError Document::error(Mark m, const std::string& msg) const {
  const std::string line = m.line > 0 && m.line <= static_cast<int>(lines.size())
                               ? lines[static_cast<size_t>(m.line - 1)]
                               : std::string();
  return PipelineError(file, m, msg, line);
}

// ---- the document ------------------------------------------------------------------------

namespace {

const std::set<std::string> kTopKeys{"version",  "name",  "description", "params",
                                     "defaults", "steps", "plugins",     "timed"};

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
    if (!map.IsMap())
      throw d_.error(mark_of(map), fmt::format("{} must be a mapping (key: value)", what));
    std::vector<std::pair<std::string, YAML::Node>> out;
    std::map<std::string, Mark> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar())
        throw d_.error(mark_of(it->first), fmt::format("{}: keys must be names", what));
      const std::string key = it->first.Scalar();
      if (auto s = seen.find(key); s != seen.end())
        throw d_.error(mark_of(it->first),
                       fmt::format("duplicate key '{}' (first at line {})", key, s->second.line));
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
  // Aliases are expanded here, so the work is bounded: nodes visited, nesting, and the
  // characters of each value and of all values together.
  YAML::Node resolve(const YAML::Node& n, int depth = 0) {
    if (depth == 0) count(n, 0);  // first without building anything: a billion laughs stops fast
    if (++nodes_ > kMaxExpandedNodes)
      throw d_.error(mark_of(n),
                     fmt::format("the pipeline expands to more than {} YAML values (nested aliases?)",
                                 kMaxExpandedNodes));
    if (depth > kMaxValueDepth)
      throw d_.error(mark_of(n), fmt::format("a value nests deeper than {} levels", kMaxValueDepth));
    if (n.IsScalar()) {
      chars_ += n.Scalar().size();
      if (chars_ > kMaxTotalChars)
        throw d_.error(mark_of(n),
                       fmt::format("the pipeline's values expand to more than {} MiB of text",
                                   kMaxTotalChars >> 20));
      const std::string s = protect_expressions(n.Scalar());
      // A fresh node, not `n`: yaml-cpp merges the memory of every node pushed into a
      // new sequence, and `n` would drag the whole document's along, each time (quadratic).
      if (s.find("$<") == std::string::npos) return YAML::Node(n.Scalar());
      std::string out;
      size_t i = 0;
      while (i < s.size()) {
        const size_t b = s.find("$<", i);
        if (b == std::string::npos) {
          out += s.substr(i);
          break;
        }
        const size_t e = s.find('>', b);
        if (e == std::string::npos)
          throw d_.error(mark_of(n), fmt::format("unterminated '${{' in '{}'", clip(s)));
        const std::string expr = s.substr(b + 2, e - b - 2);
        YAML::Node v;
        try {
          v = evaluate_expression(expr, d_.params);
        } catch (const std::invalid_argument& ex) {
          throw d_.error(mark_of(n), fmt::format("in '${{{}}}': {}", clip(expr), ex.what()));
        }
        if (b == 0 && e + 1 == s.size()) {  // the whole value: keep its type
          check_length(n, v.Scalar().size());
          return v;
        }
        check_length(n, out.size() + (b - i) + v.Scalar().size());
        out += s.substr(i, b - i) + v.Scalar();
        i = e + 1;
      }
      check_length(n, out.size());
      return YAML::Node(out);
    }
    if (n.IsSequence()) {
      YAML::Node out(YAML::NodeType::Sequence);
      for (const auto& x : n) out.push_back(resolve(x, depth + 1));
      return out;
    }
    if (n.IsMap()) {
      YAML::Node out(YAML::NodeType::Map);
      for (auto it = n.begin(); it != n.end(); ++it) {
        if (!it->first.IsScalar())
          throw d_.error(mark_of(it->first), "keys must be names, not lists or mappings");
        out[it->first.Scalar()] = resolve(it->second, depth + 1);
      }
      return out;
    }
    return n.IsNull() ? YAML::Node(YAML::NodeType::Null) : n;
  }

  // Counts the values under n, aliases expanded, against the same limits as resolve.
  void count(const YAML::Node& n, int depth) {
    if (++counted_ > kMaxExpandedNodes)
      throw d_.error(mark_of(n),
                     fmt::format("the pipeline expands to more than {} YAML values (nested aliases?)",
                                 kMaxExpandedNodes));
    if (depth > kMaxValueDepth)
      throw d_.error(mark_of(n), fmt::format("a value nests deeper than {} levels", kMaxValueDepth));
    if (n.IsSequence()) {
      for (const auto& x : n) count(x, depth + 1);
    } else if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it) count(it->second, depth + 1);
    }
  }

  static std::string clip(const std::string& s) { return s.size() > 60 ? s.substr(0, 60) + "..." : s; }
  void check_length(const YAML::Node& n, size_t len) {
    chars_ += len;
    if (len > kMaxValueChars)
      throw d_.error(mark_of(n),
                     fmt::format("a value expands to more than {} characters", kMaxValueChars));
    if (chars_ > kMaxTotalChars)
      throw d_.error(mark_of(n), fmt::format("the pipeline's values expand to more than {} MiB of text",
                                             kMaxTotalChars >> 20));
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
        throw PipelineError(
            d_.file, {},
            fmt::format("--set {}: the pipeline has no param '{}'{}{}", k, k, did_you_mean(k, names),
                        names.empty() ? " (it declares no params)" : ""));
    // Params may use the ones before them; an override replaces the value as written.
    for (const auto& [k, v] : declared) {
      if (!valid_id(k))
        throw d_.error(key_mark(k), fmt::format("param name '{}' is not a valid name", k));
      YAML::Node value = v;
      for (const auto& [ok, ov] : overrides)
        if (ok == k) value = ov;
      if (!value.IsScalar())
        throw d_.error(mark_of(v), fmt::format("param '{}' must be a single value", k));
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
            throw std::invalid_argument(
                fmt::format("defaults.sync must be true or false, got '{}'", val));
        }
      } catch (const std::exception& e) {
        throw d_.error(mark_of(v), e.what());
      }
      if (k != "dtype" && k != "device" && k != "sync") {
        throw d_.error(key_mark(k),
                       fmt::format("unknown default '{}'{} (defaults has dtype, device and sync)", k,
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
            throw d_.error(
                mark_of(v),
                "a step id must be a name (letters, digits, '_' and '-', not starting with a digit)");
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
            if (!v.IsScalar())
              throw d_.error(mark_of(v), "'input' takes one name; use 'inputs: [A, B]' for several");
            st.inputs.push_back(input_ref(v));
          } else {
            if (!v.IsSequence()) throw d_.error(mark_of(v), "'inputs' must be a list, such as [A, B]");
            for (const YAML::Node& x : v) st.inputs.push_back(input_ref(x));
          }
        } else {
          st.params.emplace_back(k, resolve(v));
          st.param_marks[k] = km;
          // Any step may keep its results in a checkpoint (checkpoint.h); not an op parameter.
          if (k == "checkpoint" &&
              !(st.params.back().second.IsScalar() && (st.params.back().second.Scalar() == "true" ||
                                                       st.params.back().second.Scalar() == "false")))
            throw d_.error(mark_of(v), "'checkpoint' must be true or false");
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
    const bool number = !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' ||
                                       s[0] == '+' || s[0] == '.' || s == "inf" || s == "nan");
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
  int64_t nodes_ = 0;    // values visited by resolve (aliases expanded)
  int64_t counted_ = 0;  // values counted before resolving
  size_t chars_ = 0;     // characters read and produced by resolve
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) lines.push_back(l);
  return lines;
}

// Counts yaml-cpp's parse events (no nodes are built) and documents.
struct EventLimit : YAML::EventHandler {
  struct TooMany {
    Mark mark;
  };
  int documents = 0;
  Mark second_document;
  int64_t events = 0;
  void count(const YAML::Mark& m) {
    if (++events > kMaxYamlEvents) throw TooMany{Mark{m.line + 1, m.column + 1}};
  }
  void OnDocumentStart(const YAML::Mark& m) override {
    if (++documents == 2) second_document = Mark{m.line + 1, m.column + 1};
    count(m);
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { count(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { count(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override {
    count(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    count(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    count(m);
  }
  void OnMapEnd() override {}
};

// The deepest nesting of flow ([ {) and block (indentation) collections, estimated from
// the text before yaml-cpp recurses into it (its own limit is 2000 levels, reported as
// "bad file"). Returns the 1-based line and column where kMaxYamlDepth is passed.
Mark too_deep(const std::string& text) {
  int line = 1, col = 0, flow = 0;
  bool in_single = false, in_double = false, comment = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    ++col;
    if (c == '\n') {
      ++line;
      col = 0;
      comment = false;
      in_single = in_double = false;  // quoted flow scalars across lines are rare; stay safe
      continue;
    }
    if (comment) continue;
    if (in_double) {
      if (c == '\\')
        ++i, ++col;
      else if (c == '"')
        in_double = false;
      continue;
    }
    if (in_single) {
      if (c == '\'') in_single = false;
      continue;
    }
    if (c == '#' && (i == 0 || std::isspace(static_cast<unsigned char>(text[i - 1]))))
      comment = true;
    else if (c == '"')
      in_double = true;
    else if (c == '\'' && (i == 0 || std::strchr(" \t[{,:", text[i - 1])))
      in_single = true;
    else if (c == '[' || c == '{') {
      if (++flow > kMaxYamlDepth) return Mark{line, col};
    } else if ((c == ']' || c == '}') && flow > 0) {
      --flow;
    }
  }
  return Mark{};
}

}  // namespace

Document parse_document(const std::string& text, const std::string& file,
                        const std::vector<std::string>& sets) {
  Document d;
  d.file = file;
  d.lines = split_lines(text);
  if (text.size() > kMaxFileBytes)
    throw d.error({}, fmt::format("the file is {} (a pipeline file may have at most {})",
                                  human_bytes(static_cast<int64_t>(text.size())),
                                  human_bytes(static_cast<int64_t>(kMaxFileBytes))));
  if (const size_t z = text.find('\0'); z != std::string::npos) {
    const int line =
        static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(z), '\n')) +
        1;
    const size_t bol = text.rfind('\n', z);
    const int col = static_cast<int>(z - (bol == std::string::npos ? 0 : bol + 1)) + 1;
    throw d.error(Mark{line, col}, "the file contains a NUL byte (a pipeline file is text)");
  }
  if (const Mark m = too_deep(text); m.line > 0)
    throw d.error(m, fmt::format("the YAML nests deeper than {} levels", kMaxYamlDepth));
  const std::string protected_text = protect_expressions(text);
  YAML::Node root;
  try {
    // First the events alone, counted: a second document, or more events than any
    // pipeline has (yaml-cpp can loop on some malformed input), stop here.
    std::istringstream in(protected_text);
    YAML::Parser parser(in);
    EventLimit limit;
    while (parser.HandleNextDocument(limit))
      if (limit.documents > 1)
        throw d.error(limit.second_document,
                      "the file holds more than one YAML document ('---'); a pipeline is one document");
    root = YAML::Load(protected_text);
  } catch (const EventLimit::TooMany& e) {
    throw d.error(e.mark, fmt::format("the file has more than {} YAML values", kMaxYamlEvents));
  } catch (const YAML::DeepRecursion& e) {
    throw d.error(Mark{e.mark.line + 1, e.mark.column + 1},
                  fmt::format("the YAML nests deeper than {} levels", e.depth()));
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
      throw d.error(mark_of(v),
                    fmt::format("unsupported pipeline version '{}' (this dnd reads version 1)",
                                v.IsScalar() ? v.Scalar() : std::string("?")));
  }
  for (const char* k : {"name", "description"})
    if (by_key.count(k) && !by_key[k].IsScalar() && !by_key[k].IsNull())
      throw d.error(mark_of(by_key[k]), fmt::format("'{}' must be text", k));
  if (by_key.count("name")) d.name = by_key["name"].IsScalar() ? by_key["name"].Scalar() : "";
  p.params(by_key["params"], sets);
  p.defaults(by_key["defaults"]);
  p.steps(by_key["steps"]);
  if (by_key.count("timed")) {  // dnd bench: the steps a run's time adds up
    const YAML::Node& t = by_key["timed"];
    if (!t.IsSequence())
      throw d.error(mark_of(t), "'timed' must be a list of step ids, such as [fit, project]");
    std::vector<std::string> ids;
    for (const Step& st : d.steps) ids.push_back(st.id);
    for (const YAML::Node& x : t) {  // at most one entry per step: repeats are refused
      if (!x.IsScalar() || x.Scalar().empty())
        throw d.error(mark_of(x), "a timed step must be a step id");
      const std::string& id = x.Scalar();
      if (std::find(ids.begin(), ids.end(), id) == ids.end())
        throw d.error(mark_of(x), fmt::format("'timed' names no step '{}'{}", id.substr(0, 60),
                                              did_you_mean(id, ids)));
      for (const auto& [seen, m] : d.timed)
        if (seen == id) throw d.error(mark_of(x), fmt::format("'timed' names the step '{}' twice", id));
      d.timed.emplace_back(id, mark_of(x));
    }
  }
  if (by_key.count("plugins")) {  // loaded by the planner, before it looks up any op
    const YAML::Node& pl = by_key["plugins"];
    if (!pl.IsSequence())
      throw d.error(mark_of(pl),
                    "'plugins' must be a list of shared libraries, such as [./libmyops.so]");
    for (const YAML::Node& x : pl) {
      if (!x.IsScalar() || x.Scalar().empty())
        throw d.error(mark_of(x), "a plugin must be the path of a shared library");
      d.plugins.emplace_back(x.Scalar(), mark_of(x));
    }
  }
  return d;
}

namespace {

// Reads what `fd` holds, stopping after kMaxFileBytes (parse_document reports the excess).
std::string read_all(int fd, const std::string& path) {
  std::string text;
  char buf[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      throw PipelineError(path, {},
                          fmt::format("cannot read the pipeline file: {}", std::strerror(errno)));
    if (r == 0) break;
    text.append(buf, static_cast<size_t>(r));
    if (text.size() > kMaxFileBytes) break;
  }
  return text;
}

}  // namespace

std::string read_pipeline_text(const std::string& path) {
  if (path == "-") return read_all(0, "<stdin>");
  // Non-blocking, so that a FIFO cannot stall the open; then only a regular file is read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    throw PipelineError(path, {},
                        fmt::format("cannot read the pipeline file: {}", std::strerror(errno)));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw PipelineError(path, {},
                        fmt::format("cannot read the pipeline file: {}", std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    throw PipelineError(path, {},
                        fmt::format("cannot read the pipeline file: it is {}, not a regular file",
                                    file_kind(st.st_mode)));
  if (static_cast<uint64_t>(st.st_size) > kMaxFileBytes)
    throw PipelineError(path, {},
                        fmt::format("the file is {} (a pipeline file may have at most {})",
                                    human_bytes(static_cast<int64_t>(st.st_size)),
                                    human_bytes(static_cast<int64_t>(kMaxFileBytes))));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return read_all(fd, path);
}

std::string pipeline_name(const std::string& path) { return path == "-" ? "<stdin>" : path; }

Document load_document(const std::string& path, const std::vector<std::string>& sets) {
  return parse_document(read_pipeline_text(path), pipeline_name(path), sets);
}

}  // namespace dnd::pipeline
