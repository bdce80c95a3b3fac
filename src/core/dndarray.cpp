#include "src/core/dndarray.h"
#include "src/core/meta.h"

#include "src/core/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <numeric>

namespace dnd {

DNDarray::DNDarray(at::Tensor local, Shape gshape, Split split, Communicator comm,
                   std::vector<int64_t> counts)
    : local_(std::move(local)),
      gshape_(std::move(gshape)),
      split_(split),
      comm_(std::move(comm)),
      counts_(std::move(counts)) {
  if (!local_.defined()) throw InternalError("DNDarray: undefined local tensor");
  check_supported_dtype(local_.scalar_type(), "DNDarray");
  if (split_) {
    if (*split_ < 0 || *split_ >= ndim())
      throw ValueError(fmt::format("DNDarray: split axis {} is out of bounds for shape {}", *split_,
                                   shape_str(gshape_)));
    if (static_cast<int>(counts_.size()) != comm_.size())
      throw ShapeError(
          fmt::format("DNDarray: {} counts given for {} ranks", counts_.size(), comm_.size()));
    int64_t total = 0;
    for (int64_t c : counts_) {
      if (c < 0) throw ShapeError("DNDarray: negative count in the distribution");
      total += c;
    }
    if (total != gshape_[static_cast<size_t>(*split_)])
      throw ShapeError(fmt::format("DNDarray: counts sum to {} but axis {} of {} has {} entries", total,
                                   *split_, shape_str(gshape_), gshape_[static_cast<size_t>(*split_)]));
    offsets_ = counts_to_offsets(counts_);
  } else if (!counts_.empty()) {
    throw ShapeError("DNDarray: a replicated array has no counts");
  }
  for (int64_t d : gshape_)
    if (d < 0)
      throw ShapeError(fmt::format("DNDarray: negative dimension in shape {}", shape_str(gshape_)));
  const Shape want = lshape();
  if (local_.sizes().vec() != want)
    throw ShapeError(fmt::format(
        "DNDarray: rank {} holds a block of shape {} but global shape {} split={} gives it {}",
        comm_.rank(), shape_str(local_.sizes().vec()), shape_str(gshape_), split_str(split_),
        shape_str(want)));
  if (!local_.is_contiguous()) local_ = local_.contiguous();
}

DNDarray::DNDarray(at::Tensor local, Shape gshape, Split split, Communicator comm)
    : DNDarray(std::move(local), gshape, split, comm,
               split && *split >= 0 && *split < static_cast<int64_t>(gshape.size())
                   ? balanced_counts(gshape[static_cast<size_t>(*split)], comm.size())
                   : std::vector<int64_t>{}) {}

int64_t DNDarray::numel() const noexcept { return shape_numel(gshape_); }

Shape DNDarray::lshape() const {
  return local_shape(gshape_, split_, split_ ? counts_[static_cast<size_t>(comm_.rank())] : 0);
}

std::vector<Shape> DNDarray::lshape_map() const {
  std::vector<Shape> m;
  m.reserve(static_cast<size_t>(comm_.size()));
  for (int r = 0; r < comm_.size(); ++r)
    m.push_back(local_shape(gshape_, split_, split_ ? counts_[static_cast<size_t>(r)] : 0));
  return m;
}

Chunk DNDarray::chunk(int rank) const {
  if (!split_) return Chunk{0, ndim() > 0 ? gshape_[0] : 1};
  return Chunk{offsets_[static_cast<size_t>(rank)], counts_[static_cast<size_t>(rank)]};
}

Dtype DNDarray::dtype() const { return local_.scalar_type(); }

DeviceKind DNDarray::device() const {
  return local_.device().is_cpu() ? DeviceKind::cpu : DeviceKind::gpu;
}

bool DNDarray::is_balanced() const { return !split_ || is_balanced_counts(counts_); }

int64_t DNDarray::lnbytes() const {
  return local_.numel() * static_cast<int64_t>(local_.element_size());
}

int64_t DNDarray::gnbytes() const { return numel() * static_cast<int64_t>(local_.element_size()); }

}  // namespace dnd

namespace dnd {

ArrayMeta meta_of(const DNDarray& a) { return ArrayMeta{a.gshape(), a.dtype(), a.split(), a.device()}; }

}  // namespace dnd
