// The ${...} evaluator: a recursive-descent parser over int64, double and string values.
#include "src/pipeline/expr.h"

#include "src/core/text.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <variant>

namespace dnd::pipeline {

namespace {

using Value = std::variant<int64_t, double, std::string>;

Value node_value(const YAML::Node& n) {
  if (!n.IsScalar())
    throw std::invalid_argument("a param used in an expression must be a number or a string");
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

[[noreturn]] void overflow(int64_t a, const char* op, int64_t b) {
  throw std::invalid_argument(fmt::format("integer overflow: {} {} {} does not fit in int64", a, op, b));
}

int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) overflow(a, "*", b);
  return r;
}

// Python's a ** b for int64 a and b >= 0, by squaring (at most 63 rounds).
int64_t int_power(int64_t base, int64_t e) {
  const int64_t b0 = base, e0 = e;
  int64_t r = 1;
  while (e > 0) {
    if (e & 1) {
      if (__builtin_mul_overflow(r, base, &r)) overflow(b0, "**", e0);
    }
    e >>= 1;
    if (e > 0 && __builtin_mul_overflow(base, base, &base)) overflow(b0, "**", e0);
  }
  return r;
}

class ExprParser {
 public:
  ExprParser(const std::string& text, const std::vector<std::pair<std::string, YAML::Node>>& params)
      : s_(text), params_(params) {}

  Value parse() {
    Value v = sum();
    skip();
    if (i_ != s_.size())
      throw std::invalid_argument(fmt::format("unexpected '{}'", clip(s_.substr(i_))));
    return v;
  }

 private:
  // One level of nesting (a parenthesis or a unary sign) for as long as it lives.
  struct Nest {
    explicit Nest(int& d) : d_(d) {
      if (++d_ > kMaxExpressionDepth)
        throw std::invalid_argument(
            fmt::format("the expression nests deeper than {} levels", kMaxExpressionDepth));
    }
    ~Nest() { --d_; }
    int& d_;
  };
  static std::string clip(const std::string& s) { return s.size() > 40 ? s.substr(0, 40) + "..." : s; }
  void skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(const char* tok) {
    skip();
    const size_t n = std::strlen(tok);
    if (s_.compare(i_, n, tok) != 0) return false;
    // '*' must not eat the first half of '**', nor '/' of '//'.
    if (n == 1 && (tok[0] == '*' || tok[0] == '/') && i_ + 1 < s_.size() && s_[i_ + 1] == tok[0])
      return false;
    i_ += n;
    return true;
  }
  static double num(const Value& v) {
    if (std::holds_alternative<std::string>(v))
      throw std::invalid_argument(
          fmt::format("'{}' is a string, not a number", clip(std::get<std::string>(v))));
    return std::holds_alternative<int64_t>(v) ? static_cast<double>(std::get<int64_t>(v))
                                              : std::get<double>(v);
  }
  static bool both_int(const Value& a, const Value& b) {
    return std::holds_alternative<int64_t>(a) && std::holds_alternative<int64_t>(b);
  }
  Value sum() {
    Value v = product();
    for (;;) {
      if (eat("+")) {
        const Value r = product();
        if (both_int(v, r)) {
          int64_t out;
          if (__builtin_add_overflow(std::get<int64_t>(v), std::get<int64_t>(r), &out))
            overflow(std::get<int64_t>(v), "+", std::get<int64_t>(r));
          v = out;
        } else {
          v = num(v) + num(r);
        }
      } else if (eat("-")) {
        const Value r = product();
        if (both_int(v, r)) {
          int64_t out;
          if (__builtin_sub_overflow(std::get<int64_t>(v), std::get<int64_t>(r), &out))
            overflow(std::get<int64_t>(v), "-", std::get<int64_t>(r));
          v = out;
        } else {
          v = num(v) - num(r);
        }
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
        v = both_int(v, r) ? Value(checked_mul(std::get<int64_t>(v), std::get<int64_t>(r)))
                           : Value(num(v) * num(r));
      } else if (eat("//")) {
        const Value r = unary();
        if (num(r) == 0) throw std::invalid_argument("division by zero");
        if (both_int(v, r)) {
          const int64_t a = std::get<int64_t>(v), b = std::get<int64_t>(r);
          if (a == std::numeric_limits<int64_t>::min() && b == -1) overflow(a, "//", b);
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
          int64_t m = b == -1 ? 0 : a % b;  // INT64_MIN % -1 traps in C++; Python gives 0
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
      Nest nest(depth_);
      const Value v = unary();
      if (std::holds_alternative<int64_t>(v)) {
        const int64_t x = std::get<int64_t>(v);
        if (x == std::numeric_limits<int64_t>::min()) overflow(0, "-", x);
        return -x;
      }
      return -num(v);
    }
    if (eat("+")) {
      Nest nest(depth_);
      const Value v = unary();
      num(v);
      return v;
    }
    return power();
  }
  Value power() {
    const Value base = atom();
    if (!eat("**")) return base;
    Nest nest(depth_);
    const Value e = unary();  // right-associative
    if (both_int(base, e) && std::get<int64_t>(e) >= 0)
      return int_power(std::get<int64_t>(base), std::get<int64_t>(e));
    if (num(base) == 0 && num(e) < 0)
      throw std::invalid_argument("0 cannot be raised to a negative power");
    return std::pow(num(base), num(e));
  }
  Value atom() {
    skip();
    if (i_ >= s_.size()) throw std::invalid_argument("expression ends too early");
    const char c = s_[i_];
    if (c == '(') {
      Nest nest(depth_);
      ++i_;
      Value v = sum();
      if (!eat(")")) throw std::invalid_argument("missing ')'");
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      size_t j = i_;
      bool is_float = false;
      while (j < s_.size() &&
             (std::isdigit(static_cast<unsigned char>(s_[j])) || s_[j] == '.' || s_[j] == 'e' ||
              s_[j] == 'E' ||
              ((s_[j] == '-' || s_[j] == '+') && (s_[j - 1] == 'e' || s_[j - 1] == 'E')))) {
        if (!std::isdigit(static_cast<unsigned char>(s_[j]))) is_float = true;
        ++j;
      }
      const std::string tok = s_.substr(i_, j - i_);
      i_ = j;
      try {
        size_t pos = 0;
        if (!is_float) {
          const long long v = std::stoll(tok, &pos);
          if (pos == tok.size()) return static_cast<int64_t>(v);
        } else {
          const double v = std::stod(tok, &pos);
          if (pos == tok.size()) return v;
        }
      } catch (const std::out_of_range&) {
        if (!is_float)
          throw std::invalid_argument(fmt::format("the integer {} does not fit in int64", clip(tok)));
      } catch (...) {
      }
      throw std::invalid_argument(fmt::format("bad number '{}'", clip(tok)));
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
      throw std::invalid_argument(
          fmt::format("undefined param '{}'{}", clip(name), did_you_mean(name, names)));
    }
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      throw std::invalid_argument(
          fmt::format("unexpected byte 0x{:02x}", static_cast<unsigned char>(c)));
    throw std::invalid_argument(fmt::format("unexpected '{}'", std::string(1, c)));
  }

  const std::string& s_;
  const std::vector<std::pair<std::string, YAML::Node>>& params_;
  size_t i_ = 0;
  int depth_ = 0;
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

YAML::Node evaluate_expression(const std::string& expr,
                               const std::vector<std::pair<std::string, YAML::Node>>& params) {
  if (expr.size() > kMaxExpressionChars)
    throw std::invalid_argument(fmt::format("the expression is {} characters long (at most {})",
                                            expr.size(), kMaxExpressionChars));
  ExprParser p(expr, params);
  return YAML::Node(value_text(p.parse()));
}

}  // namespace dnd::pipeline
