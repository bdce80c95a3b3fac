// A stable 64-bit hash of text (FNV-1a), for identities that must be equal on every rank
// and in every run: a pipeline's source, a benchmark's definition.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace dnd {

inline uint64_t fnv1a64(std::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// fnv1a64 as 16 hex digits.
inline std::string fnv1a64_hex(std::string_view text) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a64(text)));
  return buf;
}

}  // namespace dnd
