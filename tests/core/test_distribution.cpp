#include "src/core/distribution.h"

#include <gtest/gtest.h>

using namespace dnd;

TEST(Distribution, BalancedChunksGiveTheFirstRanksOneMore) {
  EXPECT_EQ(balanced_counts(10, 3), (std::vector<int64_t>{4, 3, 3}));
  EXPECT_EQ(balanced_counts(11, 4), (std::vector<int64_t>{3, 3, 3, 2}));
  EXPECT_EQ(balanced_counts(2, 4), (std::vector<int64_t>{1, 1, 0, 0}));
  EXPECT_EQ(balanced_counts(0, 3), (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(balanced_chunk(10, 0, 3), (Chunk{0, 4}));
  EXPECT_EQ(balanced_chunk(10, 1, 3), (Chunk{4, 3}));
  EXPECT_EQ(balanced_chunk(10, 2, 3), (Chunk{7, 3}));
  EXPECT_EQ(balanced_chunk(2, 3, 4), (Chunk{2, 0}));
}

TEST(Distribution, ChunksTileTheAxis) {
  for (int64_t n : {0, 1, 5, 17, 100})
    for (int p = 1; p <= 7; ++p) {
      int64_t next = 0;
      for (int r = 0; r < p; ++r) {
        Chunk c = balanced_chunk(n, r, p);
        EXPECT_EQ(c.offset, next);
        next = c.end();
      }
      EXPECT_EQ(next, n);
    }
}

TEST(Distribution, OffsetsOwnersAndBalance) {
  EXPECT_EQ(counts_to_offsets({4, 0, 3}), (std::vector<int64_t>{0, 4, 4}));
  EXPECT_EQ(owner_of(0, {4, 0, 3}), 0);
  EXPECT_EQ(owner_of(4, {4, 0, 3}), 2);
  EXPECT_EQ(owner_of(6, {4, 0, 3}), 2);
  EXPECT_EQ(owner_of(7, {4, 0, 3}), -1);
  EXPECT_TRUE(is_balanced_counts({4, 3, 3}));
  EXPECT_FALSE(is_balanced_counts({3, 4, 3}));
  EXPECT_FALSE(is_balanced_counts({0, 10}));
}

TEST(Distribution, LocalShape) {
  EXPECT_EQ(local_shape({10, 4}, 0, 3), (Shape{3, 4}));
  EXPECT_EQ(local_shape({10, 4}, 1, 2), (Shape{10, 2}));
  EXPECT_EQ(local_shape({10, 4}, kReplicated, 99), (Shape{10, 4}));
}
