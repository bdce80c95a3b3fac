// Values travelling through allgather_values as int64 words: a value's bytes, bit for
// bit (sort's and unique's samples and splitters).
#pragma once

#include <cstdint>
#include <cstring>

namespace dnd {

template <typename T>
int64_t to_word(T v) {
  static_assert(sizeof(T) <= sizeof(int64_t), "to_word: element wider than 8 bytes");
  int64_t w = 0;
  std::memcpy(&w, &v, sizeof(T));
  return w;
}

template <typename T>
T from_word(int64_t w) {
  T v;
  std::memcpy(&v, &w, sizeof(T));
  return v;
}

}  // namespace dnd
