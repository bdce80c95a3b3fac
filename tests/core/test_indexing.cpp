// Tests of basic indexing (getitem / setitem) against torch on the whole array, at any
// rank count: every split, unbalanced inputs, negative indices and steps, integer
// indices that drop the split axis, Ellipsis, empty selections and error messages.
#include "src/core/indexing.h"

#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace dnd;
using namespace dnd::testing;

namespace {

using Indices = std::vector<Index>;
const std::optional<int64_t> none = std::nullopt;

// The reference: Python's range(n)[start:stop:step], written independently of the
// implementation (and checked against a table made by Python below).
std::vector<int64_t> py_indices(int64_t n, const Slice& s) {
  const int64_t step = s.step.value_or(1);
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v < 0 ? *v + n : *v;
    if (step > 0) return std::min(std::max<int64_t>(x, 0), n);
    return std::min(std::max<int64_t>(x, -1), n - 1);
  };
  const int64_t start = clamp(s.start, step > 0 ? 0 : n - 1), stop = clamp(s.stop, step > 0 ? n : -1);
  std::vector<int64_t> out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(i);
  return out;
}

// The full-tensor result of indexing t, with torch ops only (select / index_select).
at::Tensor reference(const at::Tensor& t, const Indices& idx) {
  int64_t consumed = 0;
  for (const Index& i : idx) consumed += std::holds_alternative<Ellipsis>(i) ? 0 : 1;
  std::vector<Index> full;
  for (const Index& i : idx) {
    if (std::holds_alternative<Ellipsis>(i))
      for (int64_t k = 0; k < t.dim() - consumed; ++k) full.push_back(Slice{});
    else
      full.push_back(i);
  }
  while (static_cast<int64_t>(full.size()) < t.dim()) full.push_back(Slice{});
  at::Tensor r = t;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    const Index& i = full[static_cast<size_t>(d)];
    if (const int64_t* k = std::get_if<int64_t>(&i)) {
      r = r.select(d, *k < 0 ? *k + t.size(d) : *k);
    } else {
      const std::vector<int64_t> pos = py_indices(t.size(d), std::get<Slice>(i));
      r = r.index_select(d, at::tensor(pos, at::kLong).reshape({static_cast<int64_t>(pos.size())}));
    }
  }
  return r.contiguous();
}

// t with `value` (broadcast numpy-style, leading unit axes dropped, cast) written into
// the selection: the selection of a tensor of flat positions says where.
at::Tensor reference_set(const at::Tensor& t, const Indices& idx, const at::Tensor& value) {
  const at::Tensor where = reference(at::arange(t.numel(), at::kLong).reshape(t.sizes()), idx);
  at::Tensor v = value;
  while (v.dim() > where.dim()) v = v.squeeze(0);
  at::Tensor out = t.clone().reshape({-1});
  out.index_put_({where.reshape({-1})}, v.expand(where.sizes()).to(t.scalar_type()).reshape({-1}));
  return out.reshape(t.sizes());
}

std::string opt_str(std::optional<int64_t> v) { return v ? std::to_string(*v) : ""; }

// "[1:-1:2, 3, ...]" as Python writes it.
std::string idx_str(const Indices& idx) {
  std::vector<std::string> parts;
  for (const Index& i : idx) {
    if (const int64_t* k = std::get_if<int64_t>(&i))
      parts.push_back(std::to_string(*k));
    else if (std::holds_alternative<Ellipsis>(i))
      parts.push_back("...");
    else {
      const Slice& s = std::get<Slice>(i);
      parts.push_back(opt_str(s.start) + ":" + opt_str(s.stop) +
                      (s.step ? ":" + std::to_string(*s.step) : ""));
    }
  }
  return fmt::format("[{}]", fmt::join(parts, ", "));
}

// The split a getitem result must have: the source's, shifted left by the integers before
// it; none when the source is replicated or an integer selects along its split axis.
Split expected_split(Split s, const Indices& idx, int64_t ndim) {
  if (!s) return kReplicated;
  int64_t consumed = 0;
  for (const Index& i : idx) consumed += std::holds_alternative<Ellipsis>(i) ? 0 : 1;
  int64_t d = 0, ints = 0;
  for (const Index& i : idx) {
    if (std::holds_alternative<Ellipsis>(i)) {
      d += ndim - consumed;
      continue;
    }
    if (d == *s) return std::holds_alternative<int64_t>(i) ? kReplicated : Split(*s - ints);
    if (d < *s && std::holds_alternative<int64_t>(i)) ++ints;
    ++d;
  }
  return *s - ints;
}

// getitem(a, idx) equals the reference on the full tensor t, has the expected split,
// and shares no memory with a.
void check_get(const DNDarray& a, const at::Tensor& t, const Indices& idx,
               const std::string& what = "") {
  const std::string ctx = fmt::format("{}{} of {} split={}", what, idx_str(idx),
                                      shape_str(t.sizes().vec()), split_str(a.split()));
  SCOPED_TRACE(ctx);
  const DNDarray b = getitem(a, idx);
  EXPECT_EQ(b.split(), expected_split(a.split(), idx, a.ndim()));
  EXPECT_TRUE(b.larray().is_contiguous());
  EXPECT_FALSE(b.larray().is_alias_of(a.larray()));
  expect_global(b, reference(t, idx), 0, 0, ctx);
}

}  // namespace

TEST(Getitem, SlicesMatchPython) {
  struct Case {
    int64_t n;
    Slice s;
    std::vector<int64_t> want;  // list(range(n))[start:stop:step], computed by Python
  };
  const std::vector<Case> cases = {
      {0, {-5, 4, 3}, {}},
      {0, {20, 0, -2}, {}},
      {0, {-2, 6, 3}, {}},
      {0, {-5, -2, -3}, {}},
      {0, {4, 9, -1}, {}},
      {0, {{}, -1, -1}, {}},
      {1, {1, -2, -3}, {0}},
      {1, {-2, -2, 2}, {}},
      {1, {1, -2, 1}, {}},
      {1, {0, 1, 5}, {0}},
      {1, {6, -5, -1}, {0}},
      {1, {-20, 9, {}}, {0}},
      {1, {-1, -2, -5}, {0}},
      {1, {{}, -5, -2}, {0}},
      {1, {1, -9, -3}, {0}},
      {1, {{}, 4, 2}, {0}},
      {6, {-9, -1, -3}, {}},
      {6, {20, -9, -2}, {5, 3, 1}},
      {6, {20, 4, 1}, {}},
      {6, {{}, -9, 2}, {}},
      {6, {-1, 2, 5}, {}},
      {6, {-20, 0, 3}, {}},
      {6, {-1, -5, -5}, {5}},
      {6, {-1, -1, 3}, {}},
      {6, {-1, 6, 2}, {5}},
      {6, {4, 2, -5}, {4}},
      {6, {-9, 4, 5}, {0}},
      {6, {{}, 1, 2}, {0}},
      {6, {20, -2, -5}, {5}},
      {6, {9, -9, -3}, {5, 2}},
      {6, {{}, 2, -2}, {5, 3}},
      {6, {-9, 4, 2}, {0, 2}},
      {6, {2, 9, 5}, {2}},
      {6, {1, 9, 2}, {1, 3, 5}},
      {6, {-20, {}, {}}, {0, 1, 2, 3, 4, 5}},
      {6, {20, -20, -2}, {5, 3, 1}},
      {6, {0, {}, -2}, {0}},
      {6, {2, {}, -3}, {2}},
      {6, {-2, {}, -5}, {4}},
      {6, {{}, {}, -2}, {5, 3, 1}},
      {6, {-5, {}, -3}, {1}},
      {6, {2, -9, -2}, {2, 0}},
      {6, {1, -2, 3}, {1}},
      {6, {2, {}, 2}, {2, 4}},
      {6, {{}, 6, 5}, {0, 5}},
      {6, {-5, 4, 2}, {1, 3}},
      {13, {6, 1, 3}, {}},
      {13, {-20, -5, 1}, {0, 1, 2, 3, 4, 5, 6, 7}},
      {13, {9, 4, 1}, {}},
      {13, {-1, {}, -1}, {12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
      {13, {-9, -2, 5}, {4, 9}},
      {13, {-9, -2, 1}, {4, 5, 6, 7, 8, 9, 10}},
      {13, {9, -20, -2}, {9, 7, 5, 3, 1}},
      {13, {{}, 1, -5}, {12, 7, 2}},
      {13, {6, 20, 1}, {6, 7, 8, 9, 10, 11, 12}},
      {13, {6, {}, 2}, {6, 8, 10, 12}},
      {13, {-20, -9, -1}, {}},
      {13, {1, 4, 5}, {1}},
      {13, {6, 1, {}}, {}},
      {13, {6, 20, -1}, {}},
      {13, {1, -9, -5}, {}},
      {13, {4, 0, -1}, {4, 3, 2, 1}},
      {13, {2, 6, {}}, {2, 3, 4, 5}},
      {13, {{}, 9, -3}, {12}},
      {13, {1, {}, -1}, {1, 0}},
      {13, {1, 9, 3}, {1, 4, 7}},
      {13, {-5, {}, 5}, {8}},
      {13, {4, {}, 3}, {4, 7, 10}},
      {13, {0, {}, -1}, {0}},
      {13, {0, -5, 2}, {0, 2, 4, 6}},
      {13, {-9, 2, -2}, {4}},
      {13, {2, -5, 3}, {2, 5}},
      {13, {0, 9, 2}, {0, 2, 4, 6, 8}},
      {13, {-20, 9, 5}, {0, 5}},
      {13, {4, 0, -3}, {4, 1}},
      {13, {6, 0, -5}, {6, 1}},
      {13, {-5, 20, 5}, {8}},
      {13, {-5, 6, -3}, {8}},
      {13, {20, 1, -2}, {12, 10, 8, 6, 4, 2}},
      {13, {-9, -1, 3}, {4, 7, 10}},
  };
  for (const Case& c : cases) {
    const std::string ctx = fmt::format("range({}){}", c.n, idx_str({c.s}));
    EXPECT_EQ(py_indices(c.n, c.s), c.want) << ctx;
    const at::Tensor t = at::arange(c.n, at::kLong) * 10;
    const at::Tensor want =
        at::tensor(c.want, at::kLong).reshape({static_cast<int64_t>(c.want.size())}) * 10;
    for (Split s : all_splits(1)) expect_global(getitem(array(t, s), {c.s}), want, 0, 0, ctx);
    expect_global(getitem(unbalanced(t, 0), {c.s}), want, 0, 0, ctx + " unbalanced");
  }
}

TEST(Getitem, EveryShapeAndSplit) {
  // Shapes with axes shorter than the rank count, empty axes and 0-d.
  for (const Shape& shape : test_shapes()) {
    const at::Tensor t = sample(shape, at::kFloat);
    const int64_t nd = static_cast<int64_t>(shape.size());
    std::vector<Indices> lists = {{}, {Ellipsis{}}};
    if (nd >= 1) {
      lists.push_back({Slice{none, none, -1}});
      lists.push_back({Slice{1, none}});
      lists.push_back({Slice{-2, none, -2}});
      lists.push_back({Ellipsis{}, Slice{none, none, -1}});
      lists.push_back({Ellipsis{}, Slice{1, -1}});
      if (shape[0] > 0) lists.push_back({-1});
      if (shape.back() > 0) lists.push_back({Ellipsis{}, 0});
    }
    for (Split s : all_splits(nd))
      for (const Indices& idx : lists) check_get(array(t, s), t, idx);
  }
}

TEST(Getitem, SlicesOfEveryAxis) {
  const int p = Communicator::world().size();
  const std::vector<Slice> slices = {Slice{},
                                     Slice{1, none},
                                     Slice{none, -1},
                                     Slice{1, -1, 2},
                                     Slice{none, none, -1},
                                     Slice{-2, none, -2},
                                     Slice{5, 1, -1},
                                     Slice{2, 2},
                                     Slice{-100, 100, 3},
                                     Slice{100, -100, -3},
                                     Slice{0, 1},
                                     Slice{-1, none}};
  // 1-D: every slice, balanced and unbalanced (rows shorter and longer than p).
  for (int64_t n : {int64_t{3}, int64_t{7}, 4 * int64_t{p} + 1}) {
    const at::Tensor t = sample({n}, at::kInt);
    for (const Slice& sl : slices) {
      for (Split s : all_splits(1)) check_get(array(t, s), t, {sl});
      check_get(unbalanced(t, 0), t, {sl}, "unbalanced ");
    }
  }
  // 2-D: every pair of slices, every split.
  for (const Shape& shape : {Shape{5, 4}, Shape{2 * int64_t{p} + 1, 3}}) {
    const at::Tensor t = sample(shape, at::kDouble);
    for (Split s : all_splits(2)) {
      const DNDarray a = array(t, s);
      for (const Slice& s0 : slices)
        for (const Slice& s1 : slices) check_get(a, t, {s0, s1});
    }
    for (int64_t axis : {0, 1}) {
      const DNDarray a = unbalanced(t, axis);
      for (const Slice& s0 : slices) check_get(a, t, {s0, Slice{none, none, -2}}, "unbalanced ");
    }
  }
  // 3-D: mixed slices and integers.
  const at::Tensor t = sample({4, 5, 3}, at::kFloat);
  const std::vector<Indices> lists = {{Slice{none, none, -1}, Slice{1, 4}, Slice{none, none, -2}},
                                      {Slice{1, none, 2}, Slice{none, none, -3}},
                                      {Slice{3, 0, -2}, 2, Slice{}},
                                      {1, Slice{-1, 0, -1}, Slice{1, none}},
                                      {Slice{}, Slice{}, Slice{2, 0, -1}}};
  for (Split s : all_splits(3))
    for (const Indices& idx : lists) {
      check_get(array(t, s), t, idx);
      if (s) check_get(unbalanced(t, *s), t, idx, "unbalanced ");
    }
}

TEST(Getitem, IntegerIndices) {
  const at::Tensor t = sample({5, 4, 3}, at::kLong);
  const std::vector<Indices> lists = {{2},
                                      {-1},
                                      {-5},
                                      {Slice{}, 1},
                                      {Slice{}, -4, Slice{none, none, -1}},
                                      {1, 2, 0},
                                      {-1, -1, -1},
                                      {Ellipsis{}, 2},
                                      {Ellipsis{}, -1, Slice{1, none}},
                                      {Slice{1, none, 2}, Ellipsis{}, 1},
                                      {4, Slice{none, none, -1}, Ellipsis{}},
                                      {Slice{none, none, -1}, 3}};
  for (Split s : all_splits(3))
    for (const Indices& idx : lists) {
      check_get(array(t, s), t, idx);
      if (s) check_get(unbalanced(t, *s), t, idx, "unbalanced ");
    }
  // Dropping the split axis replicates the slab of its owner.
  for (int64_t i : {int64_t{0}, int64_t{2}, int64_t{-1}}) {
    const DNDarray b = getitem(array(t, 1), {Slice{}, i});
    EXPECT_FALSE(b.split().has_value());
    EXPECT_EQ(b.gshape(), (Shape{5, 3}));
    EXPECT_TRUE(at::equal(b.larray(), t.select(1, i < 0 ? i + 4 : i))) << "every rank holds the slab";
  }
  // An integer before the split axis shifts it left.
  const DNDarray c = getitem(array(t, 2), {1, Slice{none, none, -1}});
  EXPECT_EQ(c.split(), Split(1));
  expect_global(c, t.select(0, 1).flip(0));
}

TEST(Getitem, EllipsisAndZeroDimensional) {
  const at::Tensor t = sample({3, 4, 2}, at::kFloat);
  const std::vector<Indices> lists = {{Ellipsis{}},
                                      {Ellipsis{}, Slice{none, none, -1}},
                                      {1, Ellipsis{}},
                                      {Ellipsis{}, 0, Slice{}},
                                      {Slice{none, none, -2}, Ellipsis{}, Slice{1, none}},
                                      {0, 1, Ellipsis{}, 1},
                                      {0, Ellipsis{}, 1, 1}};
  for (Split s : all_splits(3))
    for (const Indices& idx : lists) check_get(array(t, s), t, idx);
  const at::Tensor z = sample({}, at::kDouble);
  for (const Indices& idx : {Indices{}, Indices{Ellipsis{}}}) {
    const DNDarray b = getitem(array(z, kReplicated), idx);
    EXPECT_EQ(b.gshape(), Shape{});
    expect_global(b, z);
  }
}

TEST(Getitem, Dtypes) {
  const std::vector<Indices> lists = {{Slice{none, none, -1}, Slice{1, none, 2}},
                                      {Slice{1, -1}, -2},
                                      {3, Slice{none, none, -2}},
                                      {Slice{4, 0, -3}}};
  for (at::ScalarType dt :
       {at::kBool, at::kByte, at::kLong, at::kFloat, at::kDouble, at::kComplexFloat}) {
    const at::Tensor t = sample({6, 5}, dt);
    for (Split s : all_splits(2))
      for (const Indices& idx : lists) {
        const DNDarray b = getitem(array(t, s), idx);
        EXPECT_EQ(b.dtype(), dt);
        check_get(array(t, s), t, idx, dtype_name(dt) + " ");
      }
  }
}

TEST(Getitem, ResultDistribution) {
  const int p = Communicator::world().size();
  const int64_t n = 4 * int64_t{p} + 1;
  const at::Tensor t = sample({n, 2}, at::kFloat);
  const DNDarray a = array(t, 0);
  std::vector<int64_t> first(static_cast<size_t>(p), 0), last(static_cast<size_t>(p), 0);
  first[0] = 1;
  last[static_cast<size_t>(p - 1)] = 1;

  // Only the owner of the selected rows keeps anything; the others are left empty.
  EXPECT_EQ(getitem(a, {Slice{0, 1}}).counts(), first);
  EXPECT_EQ(getitem(a, {Slice{-1, none}}).counts(), last);
  // A reversed selection: the rows of the last rank come first.
  EXPECT_EQ(getitem(a, {Slice{0, 1, -1}}).gshape(), (Shape{0, 2}));
  EXPECT_EQ(getitem(a, {Slice{0, none, -1}}).counts(), last)
      << "row 0 alone, reversed, goes to the last rank";
  EXPECT_EQ(getitem(a, {Slice{-1, -2, -1}}).counts(), first)
      << "the last row alone, reversed, goes to rank 0";
  const std::vector<int64_t> rev(a.counts().rbegin(), a.counts().rend());
  EXPECT_EQ(getitem(a, {Slice{none, none, -1}}).counts(), rev);
  // An empty selection keeps the split, with every count 0.
  const DNDarray e = getitem(a, {Slice{5, 2}});
  EXPECT_EQ(e.gshape(), (Shape{0, 2}));
  EXPECT_EQ(e.split(), Split(0));
  EXPECT_EQ(e.counts(), std::vector<int64_t>(static_cast<size_t>(p), 0));
  // Counts follow the owned rows: every other row.
  std::vector<int64_t> halves;
  for (int r = 0; r < p; ++r) {
    int64_t c = 0;
    for (int64_t i = a.chunk(r).offset; i < a.chunk(r).end(); ++i) c += i % 2 == 0;
    halves.push_back(c);
  }
  EXPECT_EQ(getitem(a, {Slice{none, none, 2}}).counts(), halves);

  // Unbalanced inputs keep their imbalance; reversing twice gives the counts back.
  const DNDarray u = unbalanced(t, 0);
  const DNDarray ur = getitem(u, {Slice{none, none, -1}});
  EXPECT_EQ(ur.counts(), std::vector<int64_t>(u.counts().rbegin(), u.counts().rend()));
  const DNDarray urr = getitem(ur, {Slice{none, none, -1}});
  EXPECT_EQ(urr.counts(), u.counts());
  expect_global(urr, t);
}

TEST(Getitem, SliceOfSlice) {
  const int p = Communicator::world().size();
  const at::Tensor t = sample({3 * int64_t{p} + 4, 3, 2}, at::kComplexFloat);
  for (Split s : all_splits(3)) {
    const DNDarray a = array(t, s);
    const Indices i1 = {Slice{1, none, 2}, Slice{none, none, -1}};
    const Indices i2 = {Slice{none, none, -1}, Slice{1, none}, Slice{none, none, -1}};
    const Indices i3 = {Slice{1, -1, 3}, Ellipsis{}, 1};
    const DNDarray b = getitem(a, i1);
    const at::Tensor tb = reference(t, i1);
    check_get(b, tb, i2, "slice of slice ");
    const DNDarray c = getitem(b, i2);
    check_get(c, reference(tb, i2), i3, "slice of slice of slice ");
  }
}

TEST(Getitem, ResultIsACopy) {
  const at::Tensor t = sample({6, 4}, at::kFloat);
  const std::vector<Indices> lists = {
      {Ellipsis{}}, {Slice{1, 3}}, {2}, {Slice{}, 1}, {Slice{none, none, -1}}};
  for (Split s : all_splits(2))
    for (const Indices& idx : lists) {
      DNDarray a = copy(array(t, s));
      const DNDarray b = getitem(a, idx);
      setitem(a, {Ellipsis{}}, 0);
      expect_global(b, reference(t, idx), 0, 0, idx_str(idx) + " after the source was overwritten");
    }
}

TEST(Setitem, Scalars) {
  const int p = Communicator::world().size();
  const std::vector<Indices> lists = {{Ellipsis{}},
                                      {Slice{1, -1}},
                                      {Slice{none, none, -2}},
                                      {Slice{-2, 0, -1}, Slice{1, none, 2}},
                                      {2},
                                      {-1, Slice{none, none, -1}},
                                      {Slice{}, 1},
                                      {Slice{}, -3},
                                      {Ellipsis{}, Slice{3, 0, -2}},
                                      {Slice{5, 2}},
                                      {1, 2}};
  struct Value {
    at::ScalarType dtype;
    c10::Scalar v;
  };
  const std::vector<Value> values = {
      {at::kFloat, 2.5},       {at::kFloat, int64_t{-3}},
      {at::kLong, int64_t{7}}, {at::kLong, 2.9},
      {at::kBool, true},       {at::kBool, 0.0},
      {at::kInt, false},       {at::kComplexFloat, c10::complex<double>(1.5, -2.0)},
      {at::kComplexFloat, 4.0}};
  for (const Shape& shape : {Shape{7, 5}, Shape{2 * int64_t{p} + 1, 3}}) {
    for (const Value& val : values) {
      const at::Tensor t = sample(shape, val.dtype);
      const at::Tensor vt = at::scalar_tensor(val.v, at::TensorOptions().dtype(val.v.type()));
      for (const Indices& idx : lists)
        for (Split s : all_splits(2)) {
          const std::string ctx = fmt::format("a{} = {} ({})", idx_str(idx),
                                              val.v.toComplexDouble().real(), dtype_name(val.dtype));
          DNDarray a = array(t, s);
          setitem(a, idx, val.v);
          expect_global(a, reference_set(t, idx, vt), 0, 0, ctx);
          if (s) {
            DNDarray u = unbalanced(t, *s);
            setitem(u, idx, val.v);
            expect_global(u, reference_set(t, idx, vt), 0, 0, ctx + " unbalanced");
          }
        }
    }
  }
}

TEST(Setitem, ArraysOfEverySplit) {
  const int p = Communicator::world().size();
  const std::vector<Indices> lists = {{Ellipsis{}},
                                      {Slice{1, -1}},
                                      {Slice{none, none, -1}},
                                      {Slice{-2, 0, -2}, Slice{1, none}},
                                      {Slice{1, none, 2}, Slice{none, none, -1}},
                                      {2},
                                      {-1, Slice{none, none, -2}},
                                      {Slice{none, none, -1}, 1},
                                      {Slice{}, -2},
                                      {Slice{3, 3}},
                                      {0, 0}};
  for (const Shape& shape : {Shape{7, 4}, Shape{3 * int64_t{p} + 2, 3}}) {
    const at::Tensor t = sample(shape, at::kFloat);
    for (const Indices& idx : lists) {
      const Shape sel = reference(t, idx).sizes().vec();
      const int64_t m = static_cast<int64_t>(sel.size());
      const at::Tensor vt = sample(sel, at::kDouble, 5);  // cast to float32 on assignment
      const at::Tensor want = reference_set(t, idx, vt);
      for (Split s : all_splits(2))
        for (Split vs : all_splits(m)) {
          const std::string ctx = fmt::format("a{} = value split={}", idx_str(idx), split_str(vs));
          DNDarray a = array(t, s);
          setitem(a, idx, array(vt, vs));
          expect_global(a, want, 0, 0, ctx);
          if (s && vs) {
            DNDarray u = unbalanced(t, *s);
            setitem(u, idx, unbalanced(vt, *vs));
            expect_global(u, want, 0, 0, ctx + " both unbalanced");
          }
        }
    }
  }
}

TEST(Setitem, BroadcastValues) {
  const int p = Communicator::world().size();
  const at::Tensor t = sample({2 * int64_t{p} + 3, 4, 3}, at::kLong);
  const std::vector<Indices> lists = {{Ellipsis{}},
                                      {Slice{1, none, 2}, Slice{none, none, -1}},
                                      {Slice{none, none, -1}, 2},
                                      {1},
                                      {Slice{-1, 0, -2}, Slice{}, Slice{2, none, -1}}};
  for (const Indices& idx : lists) {
    const Shape sel = reference(t, idx).sizes().vec();
    const int64_t m = static_cast<int64_t>(sel.size());
    std::vector<Shape> vshapes = {Shape{}, Shape{sel.back()}, Shape{1, sel.back()}};
    Shape ones_first = sel, lead = sel;
    ones_first[0] = 1;
    lead.insert(lead.begin(), 1);
    vshapes.push_back(ones_first);
    vshapes.push_back(lead);
    if (m >= 2) vshapes.push_back(Shape(sel.begin() + 1, sel.end()));
    for (const Shape& vshape : vshapes) {
      const at::Tensor vt = sample(vshape, at::kInt, 3);
      const at::Tensor want = reference_set(t, idx, vt);
      for (Split s : all_splits(3))
        for (Split vs : all_splits(static_cast<int64_t>(vshape.size()))) {
          DNDarray a = array(t, s);
          setitem(a, idx, array(vt, vs));
          expect_global(a, want, 0, 0,
                        fmt::format("a{} = value of shape {} split={}", idx_str(idx), shape_str(vshape),
                                    split_str(vs)));
        }
    }
  }
}

TEST(Setitem, Dtypes) {
  const std::vector<Indices> lists = {
      {Slice{none, none, -1}, Slice{1, none, 2}}, {Slice{1, -1}, -2}, {3}};
  const std::vector<at::ScalarType> dtypes = {at::kBool, at::kLong, at::kFloat, at::kComplexFloat};
  for (at::ScalarType dt : dtypes)
    for (at::ScalarType vdt : dtypes) {
      if (at::isComplexType(vdt) && !at::isComplexType(dt)) continue;  // numpy warns: not tested
      const at::Tensor t = sample({6, 5}, dt);
      for (const Indices& idx : lists) {
        const at::Tensor vt = sample(reference(t, idx).sizes().vec(), vdt, 2);
        for (Split s : all_splits(2)) {
          DNDarray a = array(t, s);
          setitem(a, idx, array(vt, 0));
          EXPECT_EQ(a.dtype(), dt);
          expect_global(a, reference_set(t, idx, vt), 0, 0,
                        fmt::format("{} a{} = {} value", dtype_name(dt), idx_str(idx), dtype_name(vdt)));
        }
      }
    }
}

TEST(Setitem, AcrossRankBoundariesAndSelfAssignment) {
  const int p = Communicator::world().size();
  const int64_t n = 3 * int64_t{p} + 1;
  const at::Tensor t = sample({n, 2}, at::kDouble);
  for (Split s : all_splits(2)) {
    // a[1:] = a[:-1] (numpy evaluates the value first): every row moves one rank boundary.
    DNDarray a = array(t, s);
    setitem(a, {Slice{1, none}}, getitem(a, {Slice{none, -1}}));
    expect_global(a, reference_set(t, {Slice{1, none}}, reference(t, {Slice{none, -1}})), 0, 0,
                  "a[1:] = a[:-1]");
    // a[::-1] = a reverses a in place; a[...] = a changes nothing.
    DNDarray b = copy(array(t, s));
    setitem(b, {Slice{none, none, -1}}, b);
    expect_global(b, t.flip(0), 0, 0, "a[::-1] = a");
    setitem(b, {Ellipsis{}}, b);
    expect_global(b, t.flip(0), 0, 0, "a[...] = a");
    // A copy of the array shares the block: numpy's view semantics.
    DNDarray c = copy(array(t, s));
    DNDarray alias = c;
    setitem(c, {0, 0}, 100.0);
    EXPECT_EQ(allgather(alias)[0][0].item<double>(), 100.0);
  }
  // A value that is a view of the target's own block (overlapping memory): numpy reads
  // the value before writing.
  DNDarray r = copy(array(t, kReplicated));
  const DNDarray view(r.larray().narrow(0, 0, n - 1), {n - 1, 2}, kReplicated, r.comm());
  ASSERT_TRUE(view.larray().is_alias_of(r.larray()));
  setitem(r, {Slice{1, none}}, view);
  expect_global(r, reference_set(t, {Slice{1, none}}, reference(t, {Slice{none, -1}})), 0, 0,
                "overlapping value");

  // Rows across every rank boundary from a value living elsewhere.
  const at::Tensor v = sample({n - 2, 2}, at::kDouble, 9);
  DNDarray a = array(t, 0);
  setitem(a, {Slice{n - 2, 0, -1}}, resplit(array(v, 1), 0, [&] {
            std::vector<int64_t> c(static_cast<size_t>(p), 0);
            c[0] = n - 2;  // the whole value on rank 0
            return c;
          }()));
  expect_global(a, reference_set(t, {Slice{n - 2, 0, -1}}, v));
}

TEST(Setitem, EmptySelections) {
  const at::Tensor t = sample({5, 3}, at::kFloat);
  for (Split s : all_splits(2)) {
    DNDarray a = array(t, s);
    setitem(a, {Slice{3, 1}}, 9);
    setitem(a, {Slice{3, 1}}, array(sample({0, 3}, at::kFloat), 0));
    setitem(a, {Slice{}, Slice{2, 2}}, array(sample({1}, at::kFloat), 0));
    setitem(a, {Slice{none, none, -1}, Slice{0, 0}}, array(sample({5, 0}, at::kFloat), 1));
    expect_global(a, t);
  }
}

TEST(Indexing, Errors) {
  const at::Tensor t = sample({5, 4}, at::kFloat);
  auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const ValueError& e) {
      return e.what();
    }
    return "no ValueError";
  };
  // Every rank throws (the metadata is global), so none waits in a collective.
  for (Split s : all_splits(2)) {
    DNDarray a = array(t, s);
    EXPECT_EQ(message([&] { getitem(a, {7}); }),
              "getitem: index 7 is out of bounds for axis 0 with size 5");
    EXPECT_EQ(message([&] { getitem(a, {-6}); }),
              "getitem: index -6 is out of bounds for axis 0 with size 5");
    EXPECT_EQ(message([&] {
                getitem(a, {Slice{}, -5});
              }),
              "getitem: index -5 is out of bounds for axis 1 with size 4");
    EXPECT_EQ(message([&] {
                getitem(a, {Ellipsis{}, 4});
              }),
              "getitem: index 4 is out of bounds for axis 1 with size 4");
    EXPECT_EQ(message([&] {
                setitem(a, {1, 4}, 0);
              }),
              "setitem: index 4 is out of bounds for axis 1 with size 4");
    EXPECT_EQ(message([&] {
                getitem(a, {Slice{none, none, 0}});
              }),
              "getitem: slice step cannot be zero (axis 0)");
    EXPECT_EQ(message([&] {
                getitem(a, {1, 2, 3});
              }),
              "getitem: too many indices for an array of shape (5, 4): 3 were given");
    EXPECT_EQ(message([&] {
                getitem(a, {Ellipsis{}, 1, Ellipsis{}});
              }),
              "getitem: an index can only have a single ellipsis ('...')");
    EXPECT_THROW(setitem(a, {Slice{1, 3}}, array(sample({3, 4}, at::kFloat), 0)), ShapeError);
    EXPECT_THROW(setitem(a, {Slice{1, 3}}, array(sample({2, 1, 4}, at::kFloat), 1)), ShapeError);
    EXPECT_THROW(setitem(a, {0}, array(sample({4, 4}, at::kFloat), kReplicated)), ShapeError);
    const std::string m = message([&] { setitem(a, {Slice{}, 1}, array(sample({4}, at::kFloat), 0)); });
    EXPECT_NE(m.find("setitem: could not broadcast the value of shape (4,) split=0 into the selection "
                     "of shape (5,)"),
              std::string::npos)
        << m;
    expect_global(a, t, 0, 0, "failed calls change nothing");
  }
  EXPECT_EQ(message([&] { getitem(array(sample({}, at::kFloat), kReplicated), {0}); }),
            "getitem: too many indices for an array of shape (): 1 were given");
}
