#include "src/pipeline/extents.h"

#include <fmt/format.h>

namespace dnd::pipeline {

namespace {
thread_local AtMostCapture* current = nullptr;
thread_local std::vector<uint64_t>* sink = nullptr;
}  // namespace

AtMostCapture::AtMostCapture() : outer_(current) {
  current = this;
  sink = &masks_;
}

AtMostCapture::~AtMostCapture() {
  current = outer_;
  sink = outer_ ? &outer_->masks_ : nullptr;
}

std::vector<uint64_t> AtMostCapture::take(size_t n) {
  std::vector<uint64_t> m = std::move(masks_);
  masks_.clear();
  m.resize(n, 0);
  return m;
}

void report_at_most(std::vector<uint64_t> masks) {
  if (sink) *sink = std::move(masks);
}

std::string meta_str(const ArrayMeta& m, uint64_t at_most) {
  if (at_most == 0) return dnd::meta_str(m);
  std::string s = "(";
  for (size_t d = 0; d < m.shape.size(); ++d)
    s += fmt::format("{}{}{}", d ? ", " : "", d < 64 && (at_most >> d & 1) ? "<=" : "", m.shape[d]);
  s += m.shape.size() == 1 ? ",)" : ")";
  return fmt::format("{} {} split={}", s, dtype_name(m.dtype), split_str(m.split));
}

std::vector<int64_t> at_most_axes(uint64_t at_most, size_t ndim) {
  std::vector<int64_t> axes;
  for (size_t d = 0; d < ndim && d < 64; ++d)
    if (at_most >> d & 1) axes.push_back(static_cast<int64_t>(d));
  return axes;
}

bool fits(const ArrayMeta& actual, const ArrayMeta& planned, uint64_t at_most) {
  if (actual.dtype != planned.dtype || actual.split != planned.split) return false;
  if (actual.shape.size() != planned.shape.size()) return false;
  for (size_t d = 0; d < actual.shape.size(); ++d) {
    const bool bounded = d < 64 && (at_most >> d & 1);
    if (bounded ? actual.shape[d] > planned.shape[d] : actual.shape[d] != planned.shape[d]) return false;
  }
  return true;
}

}  // namespace dnd::pipeline
