#include "src/core/memory.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

using namespace dnd;

TEST(CachingAllocator, ReusesLargeBlocks) {
  memory::set_caching(true);
  const auto before = memory::cache_stats();
  {
    at::Tensor a = at::ones({8 << 20}, at::kFloat);  // 32 MiB
    EXPECT_EQ(a.sum().item<float>(), static_cast<float>(8 << 20));
  }
  const auto mid = memory::cache_stats();
  EXPECT_GE(mid.cached_bytes, int64_t{32} << 20);
  {
    at::Tensor b = at::full({8 << 20}, 2.0f);
    EXPECT_EQ(b.sum().item<float>(), static_cast<float>(2 * (8 << 20)));
  }
  const auto after = memory::cache_stats();
  EXPECT_GT(after.hits, mid.hits) << "the second 32 MiB tensor should reuse the first one's block";
  EXPECT_GE(after.misses, before.misses);
}

TEST(CachingAllocator, SmallBlocksAndDisabledCacheBypassIt) {
  memory::set_caching(true);
  const auto s0 = memory::cache_stats();
  { at::Tensor small = at::ones({100}); }
  EXPECT_EQ(memory::cache_stats().hits + memory::cache_stats().misses, s0.hits + s0.misses);

  memory::set_caching(false);
  const auto s1 = memory::cache_stats();
  { at::Tensor big = at::ones({8 << 20}); }
  const auto s2 = memory::cache_stats();
  EXPECT_EQ(s2.hits + s2.misses, s1.hits + s1.misses);
  memory::set_caching(true);
  memory::release_cached();
  EXPECT_EQ(memory::cache_stats().cached_bytes, 0);
}

TEST(CachingAllocator, ManyLiveBlocksKeepTheirData) {
  memory::set_caching(true);
  std::vector<at::Tensor> ts;
  for (int i = 0; i < 6; ++i)
    ts.push_back(at::full({(1 << 18) + i * 1000}, static_cast<double>(i), at::kDouble));
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(at::all(ts[i] == i).item<bool>());
  ts.erase(ts.begin() + 2);
  ts.push_back(at::full({1 << 18}, 7.0, at::kDouble));
  EXPECT_TRUE(at::all(ts.back() == 7.0).item<bool>());
  EXPECT_TRUE(at::all(ts[2] == 3.0).item<bool>());
}
