// Moving data between ranks: changing the split axis, rebalancing, and collecting.
//
// All of these are collective over the array's communicator and move each element at
// most once, in one personalised exchange (no gather-and-scatter). Every operation
// reads the array's actual counts, so unbalanced inputs work.
#pragma once

#include "src/core/dndarray.h"

#include <vector>

namespace dnd {

// The same global array split along `axis` (balanced), or replicated (none).
// none -> axis communicates nothing (every rank keeps its block).
DNDarray resplit(const DNDarray& a, Split axis);
// The same global array split along `axis` with the given counts (one per rank, summing
// to the axis' extent). Throws ShapeError when they do not.
DNDarray resplit(const DNDarray& a, int64_t axis, const std::vector<int64_t>& counts);
// Keeps the split axis and moves rows so rank r holds counts[r] of them.
DNDarray redistribute(const DNDarray& a, const std::vector<int64_t>& counts);
// redistribute to the balanced cut; returns `a` itself when already balanced.
DNDarray balance(const DNDarray& a);

// The full global array on `root` (an undefined tensor on the other ranks). Needs the
// whole array's memory on root: for small arrays and final results.
at::Tensor gather(const DNDarray& a, int root = 0);
// The full global array on every rank.
at::Tensor allgather(const DNDarray& a);

// New storage with the same values (and the same counts).
DNDarray copy(const DNDarray& a);
// Converted dtype (numpy's astype: always a new array unless copy is false and the
// dtype is already right).
DNDarray astype(const DNDarray& a, Dtype dtype, bool copy = true);
// Moved to a device. gpu uses the rank's CUDA device (node-local rank modulo devices)
// and throws TypeError when this libtorch has no CUDA.
DNDarray to_device(const DNDarray& a, DeviceKind device);

}  // namespace dnd
