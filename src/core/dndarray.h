// DNDarray: a global n-dimensional array cut into one block per rank along at most one
// axis (Heat's data model, see DESIGN.md).
//
// | field       | meaning                                                              |
// |-------------|----------------------------------------------------------------------|
// | gshape      | global shape                                                         |
// | split       | the distributed axis, or none (every rank holds a full copy)         |
// | larray      | this rank's block, a contiguous at::Tensor                           |
// | counts      | every rank's extent along the split axis (the lshape_map's column)   |
// | dtype       | the tensor's dtype                                                   |
// | device      | cpu or gpu, the tensor's device                                      |
// | comm        | the communicator the array lives on                                  |
//
// A DNDarray is a value type: copies share the block's storage (like at::Tensor).
// Construction checks that the block has the shape the counts give this rank; it does
// not communicate, so callers that assemble counts themselves must pass the same counts
// on every rank (array(local, is_split) in factories.h does check across ranks).
#pragma once

#include "src/core/communicator.h"
#include "src/core/distribution.h"
#include "src/core/types.h"

#include <ATen/core/Tensor.h>

#include <iosfwd>
#include <string>
#include <vector>

namespace dnd {

class DNDarray {
 public:
  // A split array with explicit counts along the split axis (one per rank of comm, summing
  // to gshape[split]); for split == none counts must be empty. Throws ShapeError when
  // the local block's shape is not the one the counts give this rank.
  DNDarray(at::Tensor local, Shape gshape, Split split, Communicator comm, std::vector<int64_t> counts);
  // The same with balanced counts (or replicated when split is none).
  DNDarray(at::Tensor local, Shape gshape, Split split, Communicator comm);

  const Shape& gshape() const noexcept { return gshape_; }
  int64_t ndim() const noexcept { return static_cast<int64_t>(gshape_.size()); }
  // Global number of elements.
  int64_t numel() const noexcept;
  Split split() const noexcept { return split_; }
  bool is_distributed() const noexcept { return split_.has_value(); }

  const at::Tensor& larray() const noexcept { return local_; }
  Shape lshape() const;
  // Every rank's local shape (p x ndim), from metadata: no communication.
  std::vector<Shape> lshape_map() const;
  // Every rank's extent along the split axis (empty when not split).
  const std::vector<int64_t>& counts() const noexcept { return counts_; }
  // Rank r's block along the split axis ({0, gshape[split]}-like full chunk when not split).
  Chunk chunk(int rank) const;
  Chunk chunk() const { return chunk(comm_.rank()); }

  Dtype dtype() const;
  DeviceKind device() const;
  const Communicator& comm() const noexcept { return comm_; }

  // Whether the counts are the balanced cut (always true when not split).
  bool is_balanced() const;
  // Bytes of this rank's block and of the whole global array.
  int64_t lnbytes() const;
  int64_t gnbytes() const;

 private:
  at::Tensor local_;
  Shape gshape_;
  Split split_;
  Communicator comm_;
  std::vector<int64_t> counts_;
  std::vector<int64_t> offsets_;
};

}  // namespace dnd
