#include "src/core/error.h"
#include "src/core/types.h"
#include "src/core/limits.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <utility>

namespace dnd {

void Error::add_context(std::string where) {
  what_ += where.empty() ? "" : "\n  in " + where;
  context_.push_back(std::move(where));
}

void Error::add_prefix(const std::string& where) {
  msg_ = where + ": " + msg_;
  what_ = where + ": " + what_;
}

void throw_internal(const char* cond, const char* file, int line, const char* func,
                    const std::string& details) {
  // The file name from the source root on, not the build machine's absolute path.
  std::string f = file;
  for (const char* root : {"/src/", "/io/", "/kernels/", "/tests/", "/examples/"})
    if (size_t k = f.rfind(root); k != std::string::npos) {
      f = f.substr(k + 1);
      break;
    }
  throw InternalError(fmt::format("{} failed{}{} [{}:{} in {}]", cond, details.empty() ? "" : ": ",
                                  details, f, line, func));
}

std::string message_of(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

std::string shape_str(const Shape& s) {
  if (s.size() == 1) return fmt::format("({},)", s[0]);
  return fmt::format("({})", fmt::join(s, ", "));
}

std::string split_str(Split s) { return s ? std::to_string(*s) : std::string("None"); }

int64_t checked_numel(const Shape& s, int64_t itemsize) {
  int64_t n = itemsize;
  for (int64_t d : s)
    if (__builtin_mul_overflow(n, d, &n))
      throw ShapeError(fmt::format("the shape {} {} more than 2^63 - 1 {}", shape_str(s),
                                   itemsize == 1 ? "has" : "needs",
                                   itemsize == 1 ? "elements" : "bytes"));
  return n;
}

int64_t shape_numel(const Shape& s) { return checked_numel(s, 1); }

namespace {

struct DtypeName {
  Dtype type;
  const char* name;
};

constexpr DtypeName kDtypes[] = {
    {c10::ScalarType::Bool, "bool"},
    {c10::ScalarType::Byte, "uint8"},
    {c10::ScalarType::Char, "int8"},
    {c10::ScalarType::Short, "int16"},
    {c10::ScalarType::Int, "int32"},
    {c10::ScalarType::Long, "int64"},
    {c10::ScalarType::Float, "float32"},
    {c10::ScalarType::Double, "float64"},
    {c10::ScalarType::ComplexFloat, "complex64"},
    {c10::ScalarType::ComplexDouble, "complex128"},
};

constexpr std::pair<const char*, const char*> kAliases[] = {
    {"float", "float32"},  {"double", "float64"}, {"int", "int32"},        {"long", "int64"},
    {"short", "int16"},    {"byte", "uint8"},     {"cfloat", "complex64"}, {"cdouble", "complex128"},
    {"f4", "float32"},     {"f8", "float64"},     {"i4", "int32"},         {"i8", "int64"},
    {"i2", "int16"},       {"i1", "int8"},        {"u1", "uint8"},         {"c8", "complex64"},
    {"c16", "complex128"},
};

std::string valid_names() {
  std::string s;
  for (const auto& d : kDtypes) s += (s.empty() ? "" : ", ") + std::string(d.name);
  return s;
}

}  // namespace

std::string dtype_name(Dtype t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.name;
  return std::string(c10::toString(t));
}

bool is_supported_dtype(Dtype t) {
  return std::any_of(std::begin(kDtypes), std::end(kDtypes),
                     [t](const DtypeName& d) { return d.type == t; });
}

void check_supported_dtype(Dtype t, std::string_view op) {
  if (!is_supported_dtype(t))
    throw TypeError(fmt::format("{}: dtype {} is not supported (supported: {})", op, c10::toString(t),
                                valid_names()));
}

Dtype parse_dtype(std::string_view name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& [alias, canonical] : kAliases)
    if (n == alias) n = canonical;
  for (const auto& d : kDtypes)
    if (n == d.name) return d.type;
  throw TypeError(fmt::format("unknown dtype '{}' (valid: {})", name, valid_names()));
}

std::string device_name(DeviceKind d) { return d == DeviceKind::cpu ? "cpu" : "gpu"; }

DeviceKind parse_device(std::string_view name) {
  if (name == "cpu") return DeviceKind::cpu;
  if (name == "gpu" || name == "cuda") return DeviceKind::gpu;
  throw TypeError(fmt::format("unknown device '{}' (valid: cpu, gpu)", name));
}

int64_t normalize_axis(int64_t axis, int64_t ndim, std::string_view op) {
  const int64_t n = std::max<int64_t>(ndim, 0);
  if (axis < -n || axis >= n || n == 0)
    throw ValueError(
        fmt::format("{}: axis {} is out of bounds for an array of dimension {}", op, axis, ndim));
  return axis < 0 ? axis + n : axis;
}

}  // namespace dnd
