#include "src/core/random.h"

#include <gtest/gtest.h>

using namespace dnd::random;

// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
TEST(Philox, KnownAnswers) {
  EXPECT_EQ(philox4x32({0, 0, 0, 0}, {0, 0}),
            (Counter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox4x32({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}),
            (Counter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(philox4x32({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}),
            (Counter{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(Philox, UnitConversionsStayInRange) {
  EXPECT_EQ(to_unit_float(0), 0.0f);
  EXPECT_LT(to_unit_float(0xffffffffu), 1.0f);
  EXPECT_EQ(to_unit_double(0, 0), 0.0);
  EXPECT_LT(to_unit_double(0xffffffffu, 0xffffffffu), 1.0);
  EXPECT_GT(to_unit_double(0xffffffffu, 0xffffffffu), 0.9999999);
}

TEST(Philox, DrawsDependOnSeedStreamAndIndex) {
  EXPECT_EQ(draw(1, 2, 3), draw(1, 2, 3));
  EXPECT_NE(draw(1, 2, 3), draw(2, 2, 3));
  EXPECT_NE(draw(1, 2, 3), draw(1, 3, 3));
  EXPECT_NE(draw(1, 2, 3), draw(1, 2, 4));
  EXPECT_NE(draw(1, 2, 3), draw(1, 2, 3 + (uint64_t{1} << 32)));
}

// The documented element layout (random.h): the batched fills agree with single draws.
TEST(Philox, FillsFollowTheDocumentedLayout) {
  const uint64_t seed = 0x123456789abcdefull, stream = 5;
  for (uint64_t start : {uint64_t{0}, uint64_t{3}, uint64_t{31}, uint64_t{1} << 33}) {
    float f[100];
    double d[100];
    uint64_t b[100];
    double u1[50], u2[50];
    fill_uniform(seed, stream, start, 100, -1.0, 2.0, f);
    fill_uniform(seed, stream, start, 100, 0.0, 1.0, d);
    fill_bits64(seed, stream, start, 100, b);
    fill_box_muller(seed, stream, start, 50, u1, u2);
    for (uint64_t k = 0; k < 100; ++k) {
      const uint64_t e = start + k;
      const Counter w = draw(seed, stream, 8 * (e / 32) + e % 8);
      EXPECT_EQ(f[k],
                static_cast<float>(-1.0 + 2.0 * static_cast<double>(to_unit_float(w[(e % 32) / 8]))));
      const uint64_t i = e % 16;
      const Counter w2 = draw(seed, stream, 8 * (e / 16) + i % 8);
      const uint32_t hi = w2[2 * (i / 8)], lo = w2[2 * (i / 8) + 1];
      EXPECT_EQ(b[k], (static_cast<uint64_t>(hi) << 32) | lo);
      EXPECT_EQ(d[k], to_unit_double(hi, lo));
      if (k < 50) {
        const Counter w4 = draw(seed, stream, e);
        EXPECT_EQ(u1[k], 1.0 - to_unit_double(w4[0], w4[1]));
        EXPECT_EQ(u2[k], to_unit_double(w4[2], w4[3]));
      }
    }
  }
}
