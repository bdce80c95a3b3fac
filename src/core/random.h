// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11): the value at
// counter c under key k is a pure function of (k, c), so element i of a random array is
// the same whichever rank generates it.
//
// Which element takes which words (since dnd 0.1.0): blocks come in groups of 8, group G
// being the counters 8G .. 8G + 7 of stream s under the seed; a group's 32 words are
// numbered word-major, n = 8 * word + lane (lane = counter - 8G). A float32 uniform takes
// one word: element e is word number e % 32 of group e / 32. A float64 uniform or 64-bit
// integer takes two: element e is in group e / 16, i = e % 16, high word number
// 16 (i / 8) + i % 8 and low word that + 8. A pair of normals (elements 2p, 2p + 1) takes
// the whole block p. The fill_* functions compute these in vectorised batches; draw()
// gives any single block.
#pragma once

#include <array>
#include <cstdint>

namespace dnd::random {

using Counter = std::array<uint32_t, 4>;
using Key = std::array<uint32_t, 2>;

// One Philox4x32 block with `rounds` rounds (10 is the standard).
Counter philox4x32(Counter ctr, Key key, int rounds = 10);

// The four 32-bit words for global element `index` of stream `stream` under `seed`.
inline Counter draw(uint64_t seed, uint64_t stream, uint64_t index) {
  Counter c{static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32),
            static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)};
  return philox4x32(c, Key{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
}

// [0, 1) from 24 / 53 random bits.
inline float to_unit_float(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }
inline double to_unit_double(uint32_t hi, uint32_t lo) {
  uint64_t v = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(v & ((uint64_t{1} << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// Element e of [g, g + n) of a stream to out[e - g]: low + span * u, u in [0, 1) from 24
// (float32) or 53 (float64) random bits.
void fill_uniform(uint64_t seed, uint64_t stream, uint64_t g, int64_t n, double low, double span,
                  float* out);
void fill_uniform(uint64_t seed, uint64_t stream, uint64_t g, int64_t n, double low, double span,
                  double* out);
// 64 random bits per element (word 2(e % 2) high, 2(e % 2) + 1 low, of block e / 2).
void fill_bits64(uint64_t seed, uint64_t stream, uint64_t g, int64_t n, uint64_t* out);
// The Box-Muller inputs of pairs [p, p + n): u1 in (0, 1] from words 0-1 of block p, u2 in
// [0, 1) from words 2-3.
void fill_box_muller(uint64_t seed, uint64_t stream, uint64_t first_pair, int64_t npairs, double* u1,
                     double* u2);

}  // namespace dnd::random
