// dnd's exceptions. User errors (bad shapes, bad values, bad types) are distinct from
// communication failures and from bugs, so that callers (the CLI, the pipeline runner)
// can tell them apart and choose an exit code.
//
// Context is added on unwind without losing the kind (c10's Error::add_context):
//
//   try { run_step(); } catch (dnd::Error& e) { e.add_context("step 'X' (matmul)"); throw; }
//
// what() is the message followed by each context, innermost first; add_prefix puts a
// context before the message instead (the executor names the failing step that way).
//
// Checks (in the spirit of TORCH_CHECK_VALUE and DLA-Future's DLAF_ASSERT):
//
//   DND_CHECK_VALUE(k <= n, "kmeans: k = {} exceeds the {} rows", k, n);   // ValueError
//   DND_CHECK_SHAPE(a == b, "matmul: {} and {} do not fit", sa, sb);       // ShapeError
//   DND_CHECK_TYPE(is_float, "qr: needs a float array, got {}", name);     // TypeError
//   DND_ASSERT(got == planned, got, planned);   // a dnd bug: prints the values involved
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace dnd {

// Base of every exception dnd throws on purpose.
class Error : public std::exception {
 public:
  explicit Error(std::string msg) : msg_(std::move(msg)), what_(msg_) {}
  const char* what() const noexcept override { return what_.c_str(); }
  // The message as first thrown, without context.
  const std::string& message() const noexcept { return msg_; }
  const std::vector<std::string>& context() const noexcept { return context_; }
  // Appends where the error passed through (a step, a file); what() shows it on a line
  // of its own ("  in ...").
  void add_context(std::string where);
  // Puts where it happened before the message: "step 'X' (op, file:line): message".
  void add_prefix(const std::string& where);

 private:
  std::string msg_;
  std::vector<std::string> context_;
  std::string what_;
};

// An argument has a valid type but an unusable value (an axis out of range, k > n, ...).
class ValueError : public Error {
 public:
  using Error::Error;
};

// Shapes that do not fit together (broadcasting, lshape checks across ranks, ...).
class ShapeError : public ValueError {
 public:
  using ValueError::ValueError;
};

// A dtype or device that the operation does not accept.
class TypeError : public Error {
 public:
  using Error::Error;
};

// An MPI call failed. Carries the call and the place it was made from.
class CommError : public Error {
 public:
  using Error::Error;
};

// A broken internal invariant: a bug in dnd, never the user's fault. The dnd executable
// reports it as "internal error (a bug in dnd)" and exits 1, whatever phase it came from.
class InternalError : public Error {
 public:
  static constexpr const char* kPrefix = "internal error (a bug in dnd, please report it): ";
  explicit InternalError(const std::string& msg)
      : Error(msg.rfind(kPrefix, 0) == 0 ? msg : std::string(kPrefix) + msg) {}
};

[[noreturn]] void throw_internal(const char* cond, const char* file, int line, const char* func,
                                 const std::string& details);

// The text of a caught exception without torch's C++ backtrace (c10::Error's what()
// carries one; users never see it).
std::string message_of(const std::exception& e);

namespace detail {

inline std::string assert_values() { return {}; }
// "names = (v1, v2)" from the macro's stringified arguments; a lone message (a string)
// is printed as it is.
template <typename... T>
std::string assert_values(const char* names, const T&... values) {
  if constexpr (sizeof...(T) == 1 && (std::is_convertible_v<T, std::string> && ...)) {
    return std::string(values...);
  } else {
    std::vector<std::string> v{fmt::format("{}", values)...};
    if (v.empty()) return {};
    if (v.size() == 1) return fmt::format("{} = {}", names, v[0]);
    return fmt::format("({}) = ({})", names, fmt::join(v, ", "));
  }
}

}  // namespace detail
}  // namespace dnd

// User errors with formatted messages: thrown alike on every rank when the condition
// depends on global metadata.
#define DND_CHECK_KIND(kind, cond, ...)                         \
  do {                                                          \
    if (!(cond)) throw ::dnd::kind(::fmt::format(__VA_ARGS__)); \
  } while (0)
#define DND_CHECK_VALUE(cond, ...) DND_CHECK_KIND(ValueError, cond, __VA_ARGS__)
#define DND_CHECK_SHAPE(cond, ...) DND_CHECK_KIND(ShapeError, cond, __VA_ARGS__)
#define DND_CHECK_TYPE(cond, ...) DND_CHECK_KIND(TypeError, cond, __VA_ARGS__)

// Checks an internal invariant; a failure is a dnd bug and says so, with the condition,
// the place, and the values given after it (or one message string).
#define DND_ASSERT(cond, ...)                                                                       \
  do {                                                                                              \
    if (!(cond))                                                                                    \
      ::dnd::throw_internal(#cond, __FILE__, __LINE__, __func__,                                    \
                            ::dnd::detail::assert_values(#__VA_ARGS__ __VA_OPT__(, ) __VA_ARGS__)); \
  } while (0)
