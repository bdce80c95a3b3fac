#include "src/core/printing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <limits>

using namespace dnd;

namespace {
std::string fmt_t(const at::Tensor& t, const Shape& from = {}) {
  return format_tensor(t, "DNDarray(", {}, from);
}
}  // namespace

TEST(Format, Integers) {
  EXPECT_EQ(fmt_t(at::tensor({1, -20, 3}, at::kLong)), "[  1, -20,   3]");
  EXPECT_EQ(fmt_t(at::arange(6, at::kInt).reshape({2, 3})), "[[0, 1, 2],\n          [3, 4, 5]]");
  EXPECT_EQ(fmt_t(at::scalar_tensor(7, at::kLong)), "7");
}

TEST(Format, FloatsLikeTorchAndHeat) {
  EXPECT_EQ(fmt_t(at::tensor({0.0, 1.0, 2.0}, at::kFloat)), "[0., 1., 2.]");
  EXPECT_EQ(fmt_t(at::tensor({0.5, -1.25}, at::kDouble)), "[ 0.5000, -1.2500]");
  EXPECT_EQ(fmt_t(at::tensor({1e-5, 1.0}, at::kDouble)), "[1.0000e-05, 1.0000e+00]");
  const double nan = std::numeric_limits<double>::quiet_NaN(),
               inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(fmt_t(at::tensor({nan, inf, 1.5}, at::kDouble)), "[   nan,    inf, 1.5000]");
}

TEST(Format, BoolsAndComplex) {
  EXPECT_EQ(fmt_t(at::tensor({1, 0}, at::kLong).to(at::kBool)), "[ True, False]");
  at::Tensor c = at::complex(at::tensor({1.0, 0.0}), at::tensor({2.0, -1.0}));
  EXPECT_EQ(fmt_t(c), "[1.+2.j, 0.-1.j]");
}

TEST(Format, ThreeDimensionsSeparateBlocksWithBlankLines) {
  EXPECT_EQ(fmt_t(at::arange(8, at::kLong).reshape({2, 2, 2})),
            "[[[0, 1],\n           [2, 3]],\n\n          [[4, 5],\n           [6, 7]]]");
}

TEST(Format, SummarisedAxesShowEllipsis) {
  // A (2, 6) edge-item tensor standing for a (2, 100) array.
  at::Tensor edges =
      at::tensor({0, 1, 2, 97, 98, 99, 100, 101, 102, 197, 198, 199}, at::kLong).reshape({2, 6});
  EXPECT_EQ(fmt_t(edges, {2, 100}),
            "[[  0,   1,   2, ...,  97,  98,  99],\n          [100, 101, 102, ..., 197, 198, 199]]");
}

TEST(Format, LongRowsWrap) {
  const std::string s = fmt_t(at::arange(40, at::kLong));
  EXPECT_NE(s.find(",\n          "), std::string::npos) << s;
  for (size_t start = 0, end; start < s.size(); start = end + 1) {
    end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    EXPECT_LE(end - start + (start == 0 ? 9 : 0), 80u) << s;  // the first line follows "DNDarray("
  }
}
