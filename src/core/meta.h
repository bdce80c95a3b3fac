// Data-free descriptions of arrays and of what an operation will do to them: the "meta
// functions" (ATen's TORCH_META_FUNC, kernels/linalg/plan.h). Every core op has one beside
// it (transpose_meta in shape_ops.h, reduction_meta in reductions.h, ...). The library
// calls it before computing, so its checks and error texts are the op's own; the pipeline
// planner calls the same function, so `dnd plan` reports what the run will do.
#pragma once

#include "src/core/types.h"

#include <string>
#include <vector>

namespace dnd {

class DNDarray;

// An array without data: what the planner and the meta functions reason about.
struct ArrayMeta {
  Shape shape;
  Dtype dtype = kDefaultDtype;
  Split split;
  DeviceKind device = DeviceKind::cpu;
};

ArrayMeta meta_of(const DNDarray& a);
std::string meta_str(const ArrayMeta& m);  // "(4, 3) float32 split=0"

// What an operation produces and costs, per rank, before it runs.
struct OpMeta {
  std::vector<ArrayMeta> outputs;
  int64_t comm_bytes = 0;  // bytes the busiest rank sends
  int64_t temp_bytes = 0;  // extra memory per rank while the op runs
  std::string note;        // shown by `dnd plan` (e.g. "aligns B: resplit 1 -> 0")
};

// Bytes of the whole array.
int64_t global_bytes(const ArrayMeta& m);
// The largest block any of `nranks` ranks holds (balanced blocks), in bytes.
int64_t max_block_bytes(const ArrayMeta& m, int nranks);
// Bytes the busiest rank sends to move an array between two distributions (every
// element but its own share of the target leaves it).
int64_t move_bytes(const ArrayMeta& m, int nranks);
// Bytes the busiest rank sends to make a split array whole on every rank.
int64_t allgather_bytes(const ArrayMeta& m, int nranks);
// Bytes the busiest rank sends to combine per-rank partial results of `part`'s size
// into one replicated result (a reduce-scatter and an allgather).
int64_t allreduce_bytes(const ArrayMeta& part, int nranks);

}  // namespace dnd
