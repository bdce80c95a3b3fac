#include "src/core/factories.h"
#include "src/core/printing.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

using namespace dnd;
using namespace dnd::testing;

TEST(Printing, HeatStyleForSmallArrays) {
  for (Split s : all_splits(2)) {
    DNDarray a = array(at::arange(6, at::kFloat).reshape({2, 3}), s);
    EXPECT_EQ(
        to_string(a),
        fmt::format("DNDarray([[0., 1., 2.],\n          [3., 4., 5.]], dtype=float32, device=cpu:0, "
                    "split={})",
                    split_str(s)));
  }
  EXPECT_EQ(to_string(full({}, int64_t{3})), "DNDarray(3, dtype=int64, device=cpu:0, split=None)");
  EXPECT_EQ(to_string(zeros({0}, {0})), "DNDarray([], dtype=float32, device=cpu:0, split=0)");
  EXPECT_EQ(to_string(zeros({2, 0}, {1})),
            "DNDarray([[],\n          []], dtype=float32, device=cpu:0, split=1)");
}

TEST(Printing, LargeArraysAreSummarisedTheSameAtAnyRankCount) {
  const Communicator self = Communicator::self();
  for (const Shape& shape : std::vector<Shape>{{2000}, {50, 40}, {7, 300}, {12, 10, 11}}) {
    const at::Tensor t = sample(shape, at::kLong);
    // The text of the 1-process array, up to the split it names.
    const std::string body = to_string(array(t, kReplicated, ArrayOptions{}.with_comm(self)));
    EXPECT_NE(body.find("..."), std::string::npos) << body;
    for (Split s : all_splits(static_cast<int64_t>(shape.size()))) {
      std::string expected = body;
      expected.replace(expected.rfind("split=None"), 10, "split=" + split_str(s));
      EXPECT_EQ(to_string(array(t, s)), expected);
    }
  }
  // The summary shows the first and last three of every long axis.
  const std::string s = to_string(arange(2000, ArrayOptions{0}));
  EXPECT_EQ(s,
            "DNDarray([   0,    1,    2, ..., 1997, 1998, 1999], dtype=int64, device=cpu:0, split=0)");
}

TEST(Printing, DistributionTableListsEveryRank) {
  const Communicator world = Communicator::world();
  DNDarray a = zeros({10, 4}, {0});
  const std::string t = distribution_table(a);
  EXPECT_NE(t.find("(10, 4) float32 split=0 on"), std::string::npos) << t;
  for (int r = 0; r < world.size(); ++r) {
    const Chunk c = a.chunk(r);
    EXPECT_NE(t.find(fmt::format("[{}, {})", c.offset, c.end())), std::string::npos) << t;
  }
  EXPECT_NE(distribution_table(zeros({3})).find("replicated"), std::string::npos);
}
