#include "core/indexing.h"

#include "core/error.h"

namespace dnd {

DNDarray getitem(const DNDarray& a, const std::vector<Index>& indices) {
  throw InternalError("getitem: work in progress");
}

void setitem(DNDarray& a, const std::vector<Index>& indices, const Operand& value) {
  throw InternalError("setitem: work in progress");
}

}  // namespace dnd
