// Results whose extent along an axis is known only when the step runs: how many rows a
// mask keeps (filter), how many entries are nonzero (nonzero, where), how many values
// are distinct (unique).
//
// Such an op's rule (core's meta function) plans the largest extent the axis can have and
// reports, per result, a mask of the axes whose planned extent is that upper bound (bit
// d: axis d). The planner plans memory and bytes at the bound and finds which later
// results inherit a bound (planner.cpp); `dnd plan` shows such an extent as "<=120". When
// an input's extents differ from the plan, the executor asks the step's rule again with
// the actual shapes and checks the results against that, and against the plan's bound.
//
// The report travels beside the op's InferResult through a per-thread capture, not a
// field of core's OpMeta: changing that struct rebuilds every translation unit.
#pragma once

#include "src/core/meta.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dnd::pipeline {

// Called by an op's infer: its results' bounded axes (one mask per result, in order).
void report_at_most(std::vector<uint64_t> masks);

// Collects what the infer calls made while it lives report (one capture at a time per
// thread; nested captures restore the outer one).
class AtMostCapture {
 public:
  AtMostCapture();
  ~AtMostCapture();
  AtMostCapture(const AtMostCapture&) = delete;
  AtMostCapture& operator=(const AtMostCapture&) = delete;
  // The masks reported, padded with zeros (or cut) to `n` results.
  std::vector<uint64_t> take(size_t n);

 private:
  std::vector<uint64_t> masks_;
  AtMostCapture* outer_;
};

// "(<=120, 3) float32 split=0": meta_str with the bounded extents marked.
std::string meta_str(const ArrayMeta& m, uint64_t at_most);
// The bounded axes of a mask, for JSON ([0, 2]); only axes of an ndim-axis array.
std::vector<int64_t> at_most_axes(uint64_t at_most, size_t ndim);
// Whether `actual` fits `planned`: equal extents except on bounded axes, where it may be
// smaller; same dtype and split.
bool fits(const ArrayMeta& actual, const ArrayMeta& planned, uint64_t at_most);

}  // namespace dnd::pipeline
