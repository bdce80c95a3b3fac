// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11): the value at
// counter c under key k is a pure function of (k, c), so element i of a random array is
// the same whichever rank generates it.
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

}  // namespace dnd::random
