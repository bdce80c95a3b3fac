// Messages beyond MPI's int counts: one rank sends another more than 2^31 bytes in a
// single redistribution (Heat's resplit fails there with MPI_ERR_TRUNCATE). ~4.3 GB of
// memory in all; labelled `large`.
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>

using namespace dnd;

TEST(Large, RedistributeMovesMoreThan2GiBInOneMessage) {
  const Communicator world = Communicator::world();
  if (world.size() != 2) GTEST_SKIP() << "runs at exactly 2 ranks";
  const int64_t n = (int64_t{1} << 31) + 4099;  // bytes, uint8
  // Everything starts on rank 0 and moves to rank 1.
  const std::vector<int64_t> from{n, 0}, to{0, n};
  at::Tensor local = world.rank() == 0
                         ? at::arange(251, at::kByte).repeat({n / 251 + 1}).narrow(0, 0, n).contiguous()
                         : at::empty({0}, at::kByte);
  DNDarray a(local, {n}, 0, world, from);
  local = at::Tensor();
  DNDarray b = redistribute(a, to);
  a = DNDarray(at::empty({0}, at::kByte), {0}, 0, world, {0, 0});  // free the source block
  EXPECT_EQ(b.counts(), to);
  if (world.rank() == 1) {
    const at::Tensor& t = b.larray();
    ASSERT_EQ(t.numel(), n);
    // Spot checks across the whole range, including the tail past 2^31.
    for (int64_t i : {int64_t{0}, int64_t{250}, int64_t{251}, (int64_t{1} << 30) + 7,
                      (int64_t{1} << 31) - 1, int64_t{1} << 31, n - 1})
      EXPECT_EQ(t[i].item<int64_t>(), i % 251) << "at " << i;
    // Every byte, compared in 256 MiB pieces with the same pattern.
    const int64_t piece = int64_t{1} << 28;
    const at::Tensor pattern = at::arange(251, at::kByte).repeat({piece / 251 + 2});
    for (int64_t off = 0; off < n; off += piece) {
      const int64_t len = std::min(piece, n - off);
      EXPECT_TRUE(at::equal(t.narrow(0, off, len), pattern.narrow(0, off % 251, len)))
          << "piece at " << off;
    }
  }
}
