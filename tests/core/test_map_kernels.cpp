// The elementwise kernels of src/core/map_kernels.h against a plain scalar loop, bit for
// bit: sizes on both sides of the streaming threshold, misaligned input and output,
// in place, and column counts that take the vector rows or the plain loop; and
// reduce_kernels.h's shifted moments against a float64 two-pass loop.
#include "src/core/map_kernels.h"
#include "src/core/reduce_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using namespace dnd;

namespace {

template <class T>
std::vector<T> specials(int64_t n) {
  std::vector<T> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    T x = static_cast<T>((i * 7919) % 1009) / T(7) - T(60);
    if (i % 97 == 3) x = std::numeric_limits<T>::quiet_NaN();
    if (i % 89 == 5) x = -std::numeric_limits<T>::quiet_NaN();
    if (i % 83 == 7) x = std::numeric_limits<T>::infinity();
    if (i % 79 == 11) x = -std::numeric_limits<T>::infinity();
    if (i % 71 == 13) x = T(-0.0);
    v[static_cast<size_t>(i)] = x;
  }
  return v;
}

template <class T>
T reference(T v, T nan, T pos, T neg) {
  if (std::isnan(v)) return nan;
  if (v == std::numeric_limits<T>::infinity()) return pos;
  if (v == -std::numeric_limits<T>::infinity()) return neg;
  return v;
}

template <class T>
bool same_bits(const T* a, const T* b, int64_t n) {
  return std::memcmp(a, b, static_cast<size_t>(n) * sizeof(T)) == 0;
}

template <class T>
void check_nan_to_num() {
  const int64_t big = kernels::kStreamBytes / static_cast<int64_t>(sizeof(T)) + 37;
  for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{1000}, big})
    for (int64_t in_off : {0, 1})
      for (int64_t out_off : {0, 1, 3}) {
        SCOPED_TRACE(::testing::Message()
                     << "n=" << n << " in+" << in_off << " out+" << out_off << " sizeof=" << sizeof(T));
        std::vector<T> src = specials<T>(n + in_off), dst(static_cast<size_t>(n + out_off), T(1));
        std::vector<T> want(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i)
          want[static_cast<size_t>(i)] =
              reference<T>(src[static_cast<size_t>(i + in_off)], T(-1), T(9), T(-9));
        kernels::nan_to_num(src.data() + in_off, dst.data() + out_off, n, T(-1), T(9), T(-9));
        EXPECT_TRUE(same_bits(dst.data() + out_off, want.data(), n));
      }
  // In place.
  std::vector<T> v = specials<T>(big), want(v.size());
  for (size_t i = 0; i < v.size(); ++i) want[i] = reference<T>(v[i], T(0), T(5), T(-5));
  kernels::nan_to_num(v.data(), v.data(), big, T(0), T(5), T(-5));
  EXPECT_TRUE(same_bits(v.data(), want.data(), big));
}

template <class T>
void check_center_scale() {
  for (int64_t C : {int64_t{64}, int64_t{8}, int64_t{13}, int64_t{1}})
    for (bool stream : {false, true})
      for (int64_t off : {0, 1}) {
        const int64_t R = (kernels::kStreamBytes / static_cast<int64_t>(sizeof(T)) + C - 1) / C + 3;
        SCOPED_TRACE(::testing::Message()
                     << "C=" << C << " stream=" << stream << " out+" << off << " sizeof=" << sizeof(T));
        std::vector<T> x = specials<T>(R * C), out(static_cast<size_t>(R * C + off), T(0));
        std::vector<T> sub(static_cast<size_t>(C)), mul(static_cast<size_t>(C));
        for (int64_t j = 0; j < C; ++j) {
          sub[static_cast<size_t>(j)] = T(0.25) * static_cast<T>(j) - T(3);
          mul[static_cast<size_t>(j)] = T(1) / (T(1.5) + static_cast<T>(j));
        }
        // In pieces of rows, as parallel_for hands them out.
        T* o = out.data() + off;
        const int64_t cut = R / 3;
        kernels::center_scale(x.data(), o, 0, cut, C, sub.data(), mul.data(), stream);
        kernels::center_scale(x.data(), o, cut, R, C, sub.data(), mul.data(), stream);
        std::vector<T> want(static_cast<size_t>(R * C));
        for (int64_t i = 0; i < R; ++i)
          for (int64_t j = 0; j < C; ++j) {
            const size_t k = static_cast<size_t>(i * C + j);
            want[k] = (x[k] - sub[static_cast<size_t>(j)]) * mul[static_cast<size_t>(j)];
          }
        EXPECT_TRUE(same_bits(o, want.data(), R * C));
      }
}

}  // namespace

TEST(MapKernels, NanToNumEqualsTheScalarLoop) {
  check_nan_to_num<float>();
  check_nan_to_num<double>();
}

TEST(MapKernels, CenterScaleEqualsTheScalarLoop) {
  check_center_scale<float>();
  check_center_scale<double>();
}

TEST(MapKernels, ShiftedMomentsMatchTwoPasses) {
  for (int64_t R : {int64_t{1}, int64_t{2}, int64_t{7}, int64_t{4099}})
    for (int64_t C : {int64_t{1}, int64_t{64}, int64_t{1500}}) {  // 1500: two column tiles
      SCOPED_TRACE(::testing::Message() << "R=" << R << " C=" << C);
      std::vector<float> x(static_cast<size_t>(R * C));
      for (int64_t i = 0; i < R * C; ++i)
        x[static_cast<size_t>(i)] =
            1000.0f + static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
      std::vector<double> shift(static_cast<size_t>(C)), sum(static_cast<size_t>(C)),
          sq(static_cast<size_t>(C));
      for (int64_t j = 0; j < C; ++j) shift[static_cast<size_t>(j)] = x[static_cast<size_t>(j)];
      kernels::col_moments(x.data(), R, C, C, shift.data(), sum.data(), sq.data());
      for (int64_t j = 0; j < C; ++j) {
        double s = 0, q = 0;
        for (int64_t i = 0; i < R; ++i)
          s += static_cast<double>(x[static_cast<size_t>(i * C + j)]) - shift[static_cast<size_t>(j)];
        for (int64_t i = 0; i < R; ++i) {
          const double d =
              static_cast<double>(x[static_cast<size_t>(i * C + j)]) - shift[static_cast<size_t>(j)];
          q += d * d;
        }
        EXPECT_NEAR(sum[static_cast<size_t>(j)], s, 1e-9 * (1 + std::abs(s))) << "column " << j;
        EXPECT_NEAR(sq[static_cast<size_t>(j)], q, 1e-9 * (1 + q)) << "column " << j;
      }
    }
}
