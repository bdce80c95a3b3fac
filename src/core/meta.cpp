#include "src/core/meta.h"

#include "src/core/comm_count.h"
#include "src/core/limits.h"

#include <fmt/format.h>

namespace dnd {

std::string meta_str(const ArrayMeta& m) {
  return fmt::format("{} {} split={}", shape_str(m.shape), dtype_name(m.dtype), split_str(m.split));
}

int64_t global_bytes(const ArrayMeta& m) {
  return checked_numel(m.shape, static_cast<int64_t>(c10::elementSize(m.dtype)));
}

int64_t max_block_bytes(const ArrayMeta& m, int nranks) {
  if (!m.split || nranks <= 1) return global_bytes(m);
  const int64_t ext = m.shape[static_cast<size_t>(*m.split)];
  if (ext == 0) return 0;
  const int64_t per = (ext + nranks - 1) / nranks;
  return global_bytes(m) / ext * per;
}

int64_t move_bytes(const ArrayMeta& m, int nranks) {
  if (nranks <= 1) return 0;
  return max_block_bytes(m, nranks) * (nranks - 1) / nranks;
}

int64_t allgather_bytes(const ArrayMeta& m, int nranks) {
  if (nranks <= 1 || !m.split) return 0;
  return max_block_bytes(m, nranks) * (nranks - 1);
}

int64_t allreduce_bytes(const ArrayMeta& part, int nranks) {
  if (nranks <= 1) return 0;
  const int64_t esize = static_cast<int64_t>(c10::elementSize(part.dtype));
  return allreduce_max_bytes(checked_numel(part.shape, 1), esize, nranks);
}

}  // namespace dnd
