// Pairwise Euclidean distances between the rows of two DNDarrays (torch.cdist, p = 2).
//
//   x split 0,  y replicated  ->  split 0    (no communication)
//   x split 0,  y split 0     ->  split 0    (y's blocks travel around a ring of ranks,
//                                             one block held at a time: y is never gathered)
//   x replicated, y split 0   ->  split 1    (no communication)
//   x replicated, y replicated ->  replicated
// An operand split along axis 1 (the features) is resplit to 0 first.
//
// Two methods: `matmul` computes sqrt(max(||x||^2 - 2 x.y + ||y||^2, 0)) with a matrix
// product per block of rows (fast; cancellation makes small distances between large
// vectors inexact, as in torch's use_mm_for_euclid_dist); `exact` sums squared
// differences (torch's donot_use_mm_for_euclid_dist). Both work through row blocks sized
// to stay in cache and write straight into the result: no temporary of the result's size.
#pragma once

#include "src/core/dndarray.h"

namespace dnd::cluster {

enum class CdistMethod { matmul, exact };

struct CdistOptions {
  CdistMethod method = CdistMethod::matmul;
  // Squared distances (no square root).
  bool squared = false;
};

// Collective over the operands' communicator. x: n x d, y: m x d, float32 or float64
// (the result has the wider of the two), on the cpu. Throws on every rank alike, before
// any communication: ShapeError (not 2-D, feature counts differ), TypeError (dtype,
// device), ValueError (different communicators).
DNDarray cdist(const DNDarray& x, const DNDarray& y, const CdistOptions& options = {});

}  // namespace dnd::cluster
