// Helpers for distributed tests: compare a DNDarray with a torch tensor computed on the
// whole array in this one process, and enumerate splits, shapes and dtypes.
#pragma once

#include "src/core/dndarray.h"
#include "src/core/manipulation.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace dnd::testing {

// none, 0, 1, ..., ndim-1
inline std::vector<Split> all_splits(int64_t ndim) {
  std::vector<Split> s{kReplicated};
  for (int64_t d = 0; d < ndim; ++d) s.push_back(d);
  return s;
}

// Shapes with axes shorter than 4 ranks, empty axes and 0-d included.
inline std::vector<Shape> test_shapes() {
  return {{}, {1}, {3}, {7}, {0}, {2, 3}, {5, 4}, {1, 6}, {0, 3}, {4, 0}, {3, 2, 5}, {2, 1, 3}};
}

// Deterministic, identical on every rank: values in a small range so sums are exact.
inline at::Tensor sample(const Shape& shape, at::ScalarType dtype, int64_t seed = 0) {
  const int64_t n = shape_numel(shape);
  at::Tensor base = (at::arange(n, at::kLong) * 7 + seed * 13) % 23 - 11;  // -11..11
  if (dtype == at::kBool) return (base.reshape(shape) > 0);
  if (at::isFloatingType(dtype)) return (base.to(at::kDouble) / 4.0).reshape(shape).to(dtype);
  if (at::isComplexType(dtype)) {
    at::Tensor re = base.to(at::kDouble) / 4.0, im = ((base * 3) % 7).to(at::kDouble) / 2.0;
    return at::complex(re, im).reshape(shape).to(dtype);
  }
  if (dtype == at::kByte) return (base + 11).reshape(shape).to(dtype);
  return base.reshape(shape).to(dtype);
}

// An unbalanced split array made from a full tensor (identical on every rank): rank q
// holds a share proportional to q (rank 0 nothing when p > 1), the last rank the rest.
// Its blocks are copies, so writing into it never changes `full`.
inline DNDarray unbalanced(const at::Tensor& full, int64_t axis,
                           const Communicator& comm = Communicator::world()) {
  const int p = comm.size();
  const int64_t n = full.size(axis);
  std::vector<int64_t> counts(static_cast<size_t>(p), 0);
  const int64_t weight = std::max<int64_t>(1, static_cast<int64_t>(p) * (p - 1) / 2);
  int64_t given = 0;
  for (int q = 1; q < p; ++q) {
    counts[static_cast<size_t>(q)] = n * q / weight;
    given += counts[static_cast<size_t>(q)];
  }
  counts[static_cast<size_t>(p - 1)] += n - given;
  const auto offsets = counts_to_offsets(counts);
  const auto r = static_cast<size_t>(comm.rank());
  at::Tensor local = full.narrow(axis, offsets[r], counts[r]).clone(at::MemoryFormat::Contiguous);
  return DNDarray(local, full.sizes().vec(), axis, comm, counts);
}

inline std::string where_str(const DNDarray& a) {
  return fmt::format("gshape={} split={} ranks={}", shape_str(a.gshape()), split_str(a.split()),
                     a.comm().size());
}

// Collective: checks the global array against `expected` (shape, dtype, values) and
// that the local block matches the counts. Exact unless tolerances are given.
inline void expect_global(const DNDarray& a, const at::Tensor& expected, double rtol = 0,
                          double atol = 0, const std::string& context = "") {
  const at::Tensor full = allgather(a);
  SCOPED_TRACE(context + " " + where_str(a));
  ASSERT_EQ(full.sizes().vec(), expected.sizes().vec());
  ASSERT_EQ(full.scalar_type(), expected.scalar_type());
  EXPECT_EQ(a.larray().sizes().vec(), a.lshape());
  if (rtol == 0 && atol == 0) {
    // equal_nan: NaN positions must match too.
    const bool same =
        at::isFloatingType(expected.scalar_type()) || at::isComplexType(expected.scalar_type())
            ? at::allclose(full, expected, 0, 0, /*equal_nan=*/true)
            : at::equal(full, expected);
    EXPECT_TRUE(same) << "got\n" << full << "\nexpected\n" << expected;
  } else {
    EXPECT_TRUE(at::allclose(full, expected, rtol, atol, /*equal_nan=*/true)) << "got\n"
                                                                              << full << "\nexpected\n"
                                                                              << expected;
  }
}

}  // namespace dnd::testing
