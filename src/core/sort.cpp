#include "core/sort.h"

#include "core/error.h"

namespace dnd {

std::pair<DNDarray, DNDarray> sort(const DNDarray& a, int64_t axis, bool descending) {
  throw InternalError("sort: work in progress");
}

}  // namespace dnd
