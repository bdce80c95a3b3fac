// dnd's exceptions. User errors (bad shapes, bad values, bad types) are distinct from
// communication failures and from bugs, so that callers (the CLI, the pipeline runner)
// can tell them apart and choose an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace dnd {

// Base of every exception dnd throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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

// A broken internal invariant: a bug in dnd, never the user's fault.
class InternalError : public Error {
 public:
  using Error::Error;
};

[[noreturn]] void throw_internal(const char* cond, const char* file, int line, const std::string& msg);

}  // namespace dnd

// Checks an internal invariant; a failure is a dnd bug and says so.
#define DND_ASSERT(cond, msg)                                    \
  do {                                                           \
    if (!(cond)) ::dnd::throw_internal(#cond, __FILE__, __LINE__, (msg)); \
  } while (0)
