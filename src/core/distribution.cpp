#include "src/core/distribution.h"

#include "src/core/error.h"

namespace dnd {

Chunk balanced_chunk(int64_t n, int rank, int nranks) {
  DND_ASSERT(nranks > 0 && rank >= 0 && rank < nranks && n >= 0, "bad chunk request");
  const int64_t base = n / nranks, rem = n % nranks;
  const int64_t r = rank;
  return Chunk{r * base + std::min(r, rem), base + (r < rem ? 1 : 0)};
}

std::vector<int64_t> balanced_counts(int64_t n, int nranks) {
  std::vector<int64_t> c(static_cast<size_t>(nranks));
  for (int r = 0; r < nranks; ++r) c[static_cast<size_t>(r)] = balanced_chunk(n, r, nranks).count;
  return c;
}

std::vector<int64_t> counts_to_offsets(const std::vector<int64_t>& counts) {
  std::vector<int64_t> o(counts.size());
  int64_t acc = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    o[i] = acc;
    acc += counts[i];
  }
  return o;
}

bool is_balanced_counts(const std::vector<int64_t>& counts) {
  int64_t n = 0;
  for (int64_t c : counts) n += c;
  return counts == balanced_counts(n, static_cast<int>(counts.size()));
}

Shape local_shape(const Shape& gshape, Split split, int64_t count) {
  Shape l = gshape;
  if (split) l[static_cast<size_t>(*split)] = count;
  return l;
}

int owner_of(int64_t i, const std::vector<int64_t>& counts) {
  int64_t acc = 0;
  for (size_t r = 0; r < counts.size(); ++r) {
    if (i < acc + counts[r]) return static_cast<int>(r);
    acc += counts[r];
  }
  return -1;
}

}  // namespace dnd
