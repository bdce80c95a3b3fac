// filter, nonzero, unique, topk and take against torch (numpy's semantics) on the whole
// array, at any rank count: every split of the input and of the mask / indices, balanced
// and unbalanced blocks, tiny, empty and 0-d arrays, NaN, every dtype the op takes; and
// the meta functions' promise (the result fits the planned shape, bounded axes at most).
#include "src/core/selection.h"

#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace dnd;
using namespace dnd::testing;

namespace {

const std::vector<at::ScalarType> kDtypes{at::kBool, at::kByte,  at::kInt,
                                          at::kLong, at::kFloat, at::kDouble};

at::Tensor data(const Shape& shape, at::ScalarType dt, int64_t seed) {
  at::Tensor t = sample(shape, dt, seed);
  if (at::isFloatingType(dt) && t.numel() > 0) {
    const at::Tensor pos = at::arange(t.numel(), at::kLong).reshape(shape);
    t = t.masked_fill((pos * 5 + seed) % 11 == 3, std::numeric_limits<double>::quiet_NaN());
  }
  return t;
}

// The result's meta fits the planned one: bounded axes at most, the rest equal.
void expect_fits(const DNDarray& r, const ArrayMeta& planned, uint64_t at_most,
                 const std::string& where) {
  const ArrayMeta a = meta_of(r);
  EXPECT_EQ(a.dtype, planned.dtype) << where;
  EXPECT_EQ(a.split, planned.split) << where;
  ASSERT_EQ(a.shape.size(), planned.shape.size()) << where;
  for (size_t d = 0; d < a.shape.size(); ++d) {
    if (at_most >> d & 1)
      EXPECT_LE(a.shape[d], planned.shape[d]) << where << " axis " << d;
    else
      EXPECT_EQ(a.shape[d], planned.shape[d]) << where << " axis " << d;
  }
}

std::vector<DNDarray> layouts(const at::Tensor& t) {
  std::vector<DNDarray> v;
  for (Split s : all_splits(t.dim())) {
    v.push_back(array(t, s));
    if (s && t.dim() > 0) v.push_back(unbalanced(t, *s));
  }
  return v;
}

std::vector<Shape> shapes() {
  std::vector<Shape> s;
  for (const Shape& shape : test_shapes())
    if (!shape.empty()) s.push_back(shape);
  s.push_back({11, 3});
  return s;
}

TEST(Selection, FilterMatchesTorchAlongEveryAxis) {
  for (const Shape& shape : shapes())
    for (at::ScalarType dt : {at::kFloat, at::kComplexFloat}) {
      const at::Tensor t = dt == at::kComplexFloat ? sample(shape, dt, 1) : data(shape, dt, 1);
      const int64_t nd = static_cast<int64_t>(shape.size());
      for (int64_t axis = -nd; axis < nd; ++axis) {
        const int64_t ax = axis < 0 ? axis + nd : axis;
        const int64_t n = shape[static_cast<size_t>(ax)];
        for (int pattern = 0; pattern < 3; ++pattern) {
          // Some kept, none kept, all kept.
          const at::Tensor m = pattern == 0   ? (at::arange(n, at::kLong) * 5 % 3).ne(1)
                               : pattern == 1 ? at::zeros({n}, at::kBool)
                                              : at::ones({n}, at::kBool);
          const at::Tensor expected = t.index_select(ax, at::nonzero(m).reshape({-1}));
          for (const DNDarray& x : layouts(t))
            for (const DNDarray& mask : layouts(m))
              for (bool bal : {false, true}) {
                const std::string where = fmt::format("x {} mask {} axis {} pattern {} balance {}",
                                                      where_str(x), where_str(mask), axis, pattern, bal);
                const BoundedMeta b = filter_meta(meta_of(x), meta_of(mask), axis, bal, x.comm().size());
                const DNDarray r = filter(x, mask, axis, bal);
                expect_global(r, expected, 0, 0, where);
                expect_fits(r, b.meta.outputs[0], b.at_most[0], where);
                if (bal && x.split() == Split(ax)) {
                  EXPECT_TRUE(r.is_balanced()) << where;
                }
                if (x.split() && *x.split() != ax) {
                  EXPECT_EQ(r.counts(), x.counts()) << where;
                }
              }
        }
      }
    }
}

TEST(Selection, FilterRefusesBadMasksAlikeOnEveryRank) {
  const DNDarray x = array(sample({5, 3}, at::kFloat), Split(0));
  EXPECT_THROW(filter(x, array(at::ones({5}, at::kLong), kReplicated), 0), TypeError);
  EXPECT_THROW(filter(x, array(at::ones({4}, at::kBool), kReplicated), 0), ValueError);
  EXPECT_THROW(filter(x, array(at::ones({5, 1}, at::kBool), kReplicated), 0), ValueError);
  EXPECT_THROW(filter(x, array(at::ones({3}, at::kBool), kReplicated), 2), ValueError);
  EXPECT_THROW(filter(array(at::ones({}, at::kFloat), kReplicated),
                      array(at::ones({1}, at::kBool), kReplicated), 0),
               ValueError);
}

TEST(Selection, NonzeroMatchesTorchAtEverySplit) {
  std::vector<Shape> all = shapes();
  all.push_back({});
  for (const Shape& shape : all)
    for (at::ScalarType dt : kDtypes) {
      const at::Tensor t = data(shape, dt, 2);
      const at::Tensor expected = at::nonzero(t);
      for (const DNDarray& x : layouts(t)) {
        const std::string where = fmt::format("{} {}", where_str(x), dtype_name(dt));
        const BoundedMeta b = nonzero_meta(meta_of(x), x.comm().size());
        const DNDarray r = nonzero(x);
        expect_global(r, expected, 0, 0, where);
        expect_fits(r, b.meta.outputs[0], b.at_most[0], where);
      }
    }
}

// numpy.unique: sorted distinct values, NaN once and last; counts; the inverse.
struct Expected {
  at::Tensor values, counts, inverse;
};
Expected numpy_unique(const at::Tensor& t) {
  const at::Tensor flat = t.reshape({-1}).to(at::kDouble).contiguous();
  const double* v = flat.data_ptr<double>();
  std::map<double, int64_t> seen;
  int64_t nans = 0;
  for (int64_t i = 0; i < flat.numel(); ++i)
    if (std::isnan(v[i]))
      ++nans;
    else
      ++seen[v[i]];
  std::vector<double> values;
  std::vector<int64_t> counts;
  std::map<double, int64_t> pos;
  for (const auto& [value, count] : seen) {
    pos[value] = static_cast<int64_t>(values.size());
    values.push_back(value);
    counts.push_back(count);
  }
  if (nans) {
    values.push_back(std::numeric_limits<double>::quiet_NaN());
    counts.push_back(nans);
  }
  std::vector<int64_t> inverse;
  for (int64_t i = 0; i < flat.numel(); ++i)
    inverse.push_back(std::isnan(v[i]) ? static_cast<int64_t>(values.size()) - 1 : pos[v[i]]);
  return {at::tensor(values, at::kDouble).to(t.scalar_type()), at::tensor(counts, at::kLong),
          at::tensor(inverse, at::kLong).reshape(t.sizes())};
}

TEST(Selection, UniqueMatchesNumpyAtEverySplit) {
  std::vector<Shape> all = shapes();
  all.push_back({});
  all.push_back({40});
  for (const Shape& shape : all)
    for (at::ScalarType dt : kDtypes) {
      at::Tensor t = data(shape, dt, 3);
      if (shape == Shape{40} && at::isFloatingType(dt))
        t = t.masked_fill(t.lt(0), 1.0);  // a heavy value
      const Expected e = numpy_unique(t);
      for (const DNDarray& x : layouts(t)) {
        const std::string where = fmt::format("{} {}", where_str(x), dtype_name(dt));
        const BoundedMeta b = unique_meta(meta_of(x), x.comm().size());
        const UniqueResult r = unique(x, true);
        expect_global(r.values, e.values, 0, 0, where + " values");
        expect_global(r.counts, e.counts, 0, 0, where + " counts");
        ASSERT_TRUE(r.inverse.has_value());
        expect_global(*r.inverse, e.inverse, 0, 0, where + " inverse");
        expect_fits(r.values, b.meta.outputs[0], b.at_most[0], where);
        expect_fits(r.counts, b.meta.outputs[1], b.at_most[1], where);
        expect_fits(*r.inverse, b.meta.outputs[2], b.at_most[2], where);
        // Without the inverse: another path (a radix sort and a merge of sorted runs).
        const UniqueResult q = unique(x, false);
        EXPECT_FALSE(q.inverse.has_value());
        expect_global(q.values, e.values, 0, 0, where + " values, no inverse");
        expect_global(q.counts, e.counts, 0, 0, where + " counts, no inverse");
      }
    }
  EXPECT_THROW(unique(array(sample({3}, at::kComplexFloat), Split(0)), false), TypeError);
}

// NaN of either sign is one value, after inf; -inf first; at every layout, both paths.
TEST(Selection, UniqueOrdersInfinitiesAndNaNOfEitherSign) {
  const double nan = std::numeric_limits<double>::quiet_NaN(),
               inf = std::numeric_limits<double>::infinity();
  for (at::ScalarType dt : {at::kFloat, at::kDouble}) {
    const at::Tensor t =
        at::tensor({nan, 2.0, -nan, 1.0, inf, -inf, 2.0, -1e30, nan}, at::kDouble).to(dt);
    const at::Tensor values = at::tensor({-inf, -1e30, 1.0, 2.0, inf, nan}, at::kDouble).to(dt);
    const at::Tensor counts = at::tensor({1, 1, 1, 2, 1, 3}, at::kLong);
    for (const DNDarray& x : layouts(t))
      for (bool inverse : {false, true}) {
        const std::string where = fmt::format("{} {} inverse {}", where_str(x), dtype_name(dt), inverse);
        const UniqueResult r = unique(x, inverse);
        expect_global(r.values, values, 0, 0, where);
        expect_global(r.counts, counts, 0, 0, where);
      }
  }
}

// The indices select the values (NaN where NaN), each line's indices distinct.
void expect_topk(const DNDarray& x, const at::Tensor& t, int64_t k, int64_t axis, bool largest,
                 const std::string& where) {
  const OpMeta m = topk_meta(meta_of(x), k, axis, x.comm().size());
  auto [v, i] = topk(x, k, axis, largest);
  const at::Tensor ev = std::get<0>(at::topk(t, k, axis, largest, true));
  expect_global(v, ev, 0, 0, where + " values");
  expect_fits(v, m.outputs[0], 0, where);
  expect_fits(i, m.outputs[1], 0, where);
  const at::Tensor idx = allgather(i);
  const at::Tensor picked = t.gather(axis, idx);
  EXPECT_TRUE(at::allclose(picked.to(at::kDouble), ev.to(at::kDouble), 0, 0, true)) << where;
  if (k > 1) {
    const at::Tensor s = std::get<0>(at::sort(idx, axis));
    const int64_t ax = axis < 0 ? axis + t.dim() : axis;
    EXPECT_TRUE(s.narrow(ax, 1, k - 1).gt(s.narrow(ax, 0, k - 1)).all().item<bool>()) << where;
  }
}

TEST(Selection, TopkMatchesTorchAlongEveryAxis) {
  for (const Shape& shape : shapes())
    for (at::ScalarType dt : {at::kLong, at::kFloat}) {
      const at::Tensor t = data(shape, dt, 4);
      const int64_t nd = static_cast<int64_t>(shape.size());
      for (int64_t axis = -1; axis < nd; ++axis) {
        const int64_t n = shape[static_cast<size_t>(axis < 0 ? axis + nd : axis)];
        for (int64_t k : std::set<int64_t>{0, std::min<int64_t>(1, n), std::min<int64_t>(3, n), n})
          for (bool largest : {true, false})
            for (const DNDarray& x : layouts(t))
              expect_topk(x, t, k, axis, largest,
                          fmt::format("{} {} k={} axis={} largest={}", where_str(x), dtype_name(dt), k,
                                      axis, largest));
      }
    }
  const DNDarray x = array(sample({4, 3}, at::kFloat), Split(0));
  EXPECT_THROW(topk(x, 5, 0), ValueError);
  EXPECT_THROW(topk(x, -1, 0), ValueError);
  EXPECT_THROW(topk(array(sample({4}, at::kBool), Split(0)), 1, 0), TypeError);
}

TEST(Selection, TakeMatchesNumpyForEveryLayout) {
  for (const Shape& shape : shapes())
    for (at::ScalarType dt : {at::kFloat}) {
      const at::Tensor t = data(shape, dt, 5);
      const int64_t nd = static_cast<int64_t>(shape.size());
      for (int64_t a = -1; a < nd; ++a) {
        const std::optional<int64_t> axis = a < 0 ? std::nullopt : std::optional<int64_t>(a);
        const int64_t n = axis ? shape[static_cast<size_t>(a)] : t.numel();
        if (n == 0) continue;
        for (const Shape& ishape : {Shape{}, Shape{5}, Shape{2, 3}, Shape{0}}) {
          // Indices in [-n, n), negative ones counting from the end.
          const at::Tensor idx =
              ((at::arange(shape_numel(ishape), at::kLong) * 7 + 3) % (2 * n) - n).reshape(ishape);
          const at::Tensor wrapped = at::where(idx.lt(0), idx + n, idx);
          const at::Tensor src = axis ? t : t.reshape({-1});
          const int64_t ax = axis ? a : 0;
          std::vector<int64_t> es(src.sizes().begin(), src.sizes().begin() + ax);
          es.insert(es.end(), ishape.begin(), ishape.end());
          es.insert(es.end(), src.sizes().begin() + ax + 1, src.sizes().end());
          const at::Tensor expected = src.index_select(ax, wrapped.reshape({-1})).reshape(es);
          for (const DNDarray& x : layouts(t))
            for (const DNDarray& i : layouts(idx)) {
              const std::string where = fmt::format("x {} indices {} axis {}", where_str(x),
                                                    where_str(i), axis ? std::to_string(*axis) : "none");
              const OpMeta m = take_meta(meta_of(x), meta_of(i), axis, x.comm().size());
              const DNDarray r = take(x, i, axis);
              expect_global(r, expected, 0, 0, where);
              expect_fits(r, m.outputs[0], 0, where);
            }
        }
      }
    }
  const DNDarray x = array(sample({4, 3}, at::kFloat), Split(0));
  EXPECT_THROW(take(x, array(at::tensor({4}, at::kLong), kReplicated), 0), ValueError);
  EXPECT_THROW(take(x, array(at::tensor({-5}, at::kLong), Split(0)), 0), ValueError);
  EXPECT_THROW(take(x, array(at::tensor({1.0}, at::kFloat), kReplicated), 0), TypeError);
}

}  // namespace
