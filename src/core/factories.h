// Creating DNDarrays: filled factories, ranges, identity, seeded random numbers, and
// conversion from torch tensors. All are collective over the options' communicator only
// where they say so; filled factories and ranges never communicate (every rank computes
// its own block from the global index).
#pragma once

#include "src/core/dndarray.h"

#include <c10/core/Scalar.h>

#include <cstdint>
#include <optional>

namespace dnd {

// Where and how a new array lives. Brace-initialisable: {split}, {split, dtype}, ...
struct ArrayOptions {
  Split split = kReplicated;
  std::optional<Dtype> dtype;  // the factory's default when unset
  DeviceKind device = DeviceKind::cpu;
  std::optional<Communicator> comm;  // Communicator::world() when unset

  ArrayOptions& with_split(Split s) {
    split = s;
    return *this;
  }
  ArrayOptions& with_dtype(Dtype d) {
    dtype = d;
    return *this;
  }
  ArrayOptions& with_device(DeviceKind d) {
    device = d;
    return *this;
  }
  ArrayOptions& with_comm(Communicator c) {
    comm = std::move(c);
    return *this;
  }
  Communicator communicator() const { return comm ? *comm : Communicator::world(); }
};

// Uninitialised (contents are whatever memory held), zeros, ones, a constant.
DNDarray empty(const Shape& shape, const ArrayOptions& o = {});
DNDarray zeros(const Shape& shape, const ArrayOptions& o = {});
DNDarray ones(const Shape& shape, const ArrayOptions& o = {});
DNDarray full(const Shape& shape, const c10::Scalar& value, const ArrayOptions& o = {});
// Same shape, split, dtype, device and comm as `a` (the counts too: an unbalanced `a`
// gives an equally unbalanced result).
DNDarray empty_like(const DNDarray& a);
DNDarray zeros_like(const DNDarray& a);
DNDarray ones_like(const DNDarray& a);
DNDarray full_like(const DNDarray& a, const c10::Scalar& value);

// 1-D [start, stop) in steps of step, as torch.arange: int64 when start, stop and step
// are integers, else float32, unless o.dtype says otherwise. Split must be none or 0.
DNDarray arange(const c10::Scalar& start, const c10::Scalar& stop, const c10::Scalar& step = 1,
                const ArrayOptions& o = {});
DNDarray arange(const c10::Scalar& stop, const ArrayOptions& o = {});
// The number of values arange(start, stop, step) makes (exact for integers); throws
// ValueError for a zero or non-finite step or bound. No data, no MPI (the planner uses it).
int64_t arange_length(const c10::Scalar& start, const c10::Scalar& stop, const c10::Scalar& step);
// num evenly spaced values from start to stop (inclusive when endpoint), as torch.linspace.
DNDarray linspace(double start, double stop, int64_t num, bool endpoint = true,
                  const ArrayOptions& o = {});
// n x m (m = n when < 0) identity-like matrix.
DNDarray eye(int64_t n, int64_t m = -1, const ArrayOptions& o = {});

// Seeded random arrays. Element i (row-major global index) depends only on (seed, i), so
// the same seed gives the same global array at any rank count and any split.
// uniform: [low, high), float32 by default. normal: N(mean, std^2), float32 by default.
// integers: [low, high), int64 by default.
DNDarray random_uniform(const Shape& shape, uint64_t seed, double low = 0.0, double high = 1.0,
                        const ArrayOptions& o = {});
DNDarray random_normal(const Shape& shape, uint64_t seed, double mean = 0.0, double std = 1.0,
                       const ArrayOptions& o = {});
DNDarray random_integers(const Shape& shape, uint64_t seed, int64_t low, int64_t high,
                         const ArrayOptions& o = {});
// Heap scratch of random_normal beyond its result on a rank holding `local_numel` values
// (a piece's Box-Muller buffers per thread), for the planner; the other generators need none.
int64_t random_normal_scratch_bytes(Dtype dtype, int64_t local_numel);

// From a full tensor that every rank holds (identical everywhere): each rank keeps its
// block of `split`. No communication. dtype/device of the options convert the tensor;
// the options' split is ignored in favour of the argument.
DNDarray array(const at::Tensor& full, Split split, const ArrayOptions& o = {});
// Joins per-rank blocks along `is_split` into one array whose counts are the blocks'
// extents (possibly unbalanced). Collective over the communicator: checks that every
// rank's block has the same ndim, dtype and extents on the other axes, and throws
// ShapeError on every rank when not.
DNDarray array_from_blocks(const at::Tensor& local, int64_t is_split, const ArrayOptions& o = {});

}  // namespace dnd
