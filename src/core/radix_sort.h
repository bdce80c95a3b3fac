// An LSD radix sort of plain values (integers, bool, float, double) in numpy's order:
// numbers ascending, NaN last. One pass reads the histograms of every byte; a byte that is
// the same in every value costs nothing. At 5e7 int64 it is several times std::sort's
// speed, and torch 1.13's sort is slower still (unique's local pass, selection.cpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

namespace dnd {

// The unsigned key whose order is T's (NaN above +inf, whatever its sign bit).
template <typename T>
auto radix_key(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    constexpr U sign = U(1) << (8 * sizeof(T) - 1);
    if (std::isnan(v)) return ~U(0);
    if (v == T(0)) v = T(0);  // -0.0 is 0.0 (as < and == see them: ties keep their order)
    U b;
    std::memcpy(&b, &v, sizeof(T));
    return (b & sign) ? U(~b) : U(b | sign);
  } else if constexpr (std::is_same_v<T, bool>) {
    return static_cast<uint8_t>(v);
  } else {
    using U = std::make_unsigned_t<T>;
    if constexpr (std::is_signed_v<T>)
      return static_cast<U>(static_cast<U>(v) ^ (U(1) << (8 * sizeof(T) - 1)));
    else
      return static_cast<U>(v);
  }
}

namespace radix_detail {

// The LSD passes, one per byte that differs somewhere; idx (when kIndex) moves along.
template <bool kIndex, typename T>
void sort(T* v, int64_t* idx, int64_t n, T* sv, int64_t* si, bool descending) {
  constexpr int kBytes = sizeof(T);
  if (n < 2) return;
  using K = decltype(radix_key(T{}));
  const auto key = [descending](T x) -> K {
    const K k = radix_key(x);
    return descending ? static_cast<K>(~k) : k;
  };
  std::vector<int64_t> hist(static_cast<size_t>(kBytes) * 256, 0);
  for (int64_t i = 0; i < n; ++i) {
    const K k = key(v[i]);
    for (int b = 0; b < kBytes; ++b) ++hist[static_cast<size_t>(b) * 256 + ((k >> (8 * b)) & 0xff)];
  }
  T* from = v;
  T* to = sv;
  int64_t* ifrom = idx;
  int64_t* ito = si;
  for (int b = 0; b < kBytes; ++b) {
    int64_t* h = hist.data() + static_cast<size_t>(b) * 256;
    bool trivial = false;
    for (int d = 0; d < 256; ++d)
      if (h[d] == n) trivial = true;
    if (trivial) continue;  // every value has the same byte here
    int64_t at = 0;
    for (int d = 0; d < 256; ++d) {
      const int64_t c = h[d];
      h[d] = at;
      at += c;
    }
    for (int64_t i = 0; i < n; ++i) {
      const T x = from[i];
      const int64_t dst = h[(key(x) >> (8 * b)) & 0xff]++;
      to[dst] = x;
      if constexpr (kIndex) ito[dst] = ifrom[i];
    }
    std::swap(from, to);
    if constexpr (kIndex) std::swap(ifrom, ito);
  }
  if (from != v) {
    std::memcpy(v, from, static_cast<size_t>(n) * sizeof(T));
    if constexpr (kIndex) std::memcpy(idx, ifrom, static_cast<size_t>(n) * sizeof(int64_t));
  }
}

}  // namespace radix_detail

// Sorts v[0..n) in place, ascending (NaN last) or descending (NaN first), stably (equal
// values, -0.0 and 0.0 among them, keep their order); `scratch` holds n values (its
// contents are lost).
template <typename T>
void radix_sort(T* v, int64_t n, T* scratch, bool descending = false) {
  radix_detail::sort<false>(v, nullptr, n, scratch, nullptr, descending);
}

// A stable sort of v[0..n) carrying idx[0..n) along (LSD radix sort is stable: equal
// values keep their order, as torch's stable sort keeps them), ascending or descending
// (NaN first then, as torch). sv, si: scratch of n values and n indices.
template <typename T>
void radix_sort_with_index(T* v, int64_t* idx, int64_t n, T* sv, int64_t* si, bool descending) {
  radix_detail::sort<true>(v, idx, n, sv, si, descending);
}

}  // namespace dnd
