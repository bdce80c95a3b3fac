#include "src/core/elementwise.h"
#include "src/core/error.h"
#include "src/core/types.h"

#include <gtest/gtest.h>

using namespace dnd;

TEST(Types, ShapeAndSplitStrings) {
  EXPECT_EQ(shape_str({}), "()");
  EXPECT_EQ(shape_str({5}), "(5,)");
  EXPECT_EQ(shape_str({3, 4}), "(3, 4)");
  EXPECT_EQ(split_str(kReplicated), "None");
  EXPECT_EQ(split_str(1), "1");
  EXPECT_EQ(shape_numel({}), 1);
  EXPECT_EQ(shape_numel({3, 0}), 0);
}

TEST(Types, DtypeNamesRoundTrip) {
  for (const char* n : {"bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64",
                        "complex64", "complex128"})
    EXPECT_EQ(dtype_name(parse_dtype(n)), n);
  EXPECT_EQ(parse_dtype("float"), c10::ScalarType::Float);
  EXPECT_EQ(parse_dtype("Double"), c10::ScalarType::Double);
  EXPECT_EQ(parse_dtype("i8"), c10::ScalarType::Long);
  EXPECT_TRUE(is_supported_dtype(c10::ScalarType::ComplexFloat));
  EXPECT_FALSE(is_supported_dtype(c10::ScalarType::Half));
}

TEST(Types, UnknownDtypeNamesTheValidOnes) {
  try {
    parse_dtype("float16");
    FAIL() << "no exception";
  } catch (const TypeError& e) {
    EXPECT_STREQ(
        e.what(),
        "unknown dtype 'float16' (valid: bool, uint8, int8, int16, int32, int64, float32, float64, "
        "complex64, complex128)");
  }
  EXPECT_THROW(parse_device("tpu"), TypeError);
  EXPECT_EQ(parse_device("gpu"), DeviceKind::gpu);
}

TEST(Types, NormalizeAxis) {
  EXPECT_EQ(normalize_axis(-1, 3, "op"), 2);
  EXPECT_EQ(normalize_axis(0, 3, "op"), 0);
  try {
    normalize_axis(3, 3, "sum");
    FAIL() << "no exception";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "sum: axis 3 is out of bounds for an array of dimension 3");
  }
  EXPECT_THROW(normalize_axis(-4, 3, "op"), ValueError);
  EXPECT_THROW(normalize_axis(0, 0, "op"), ValueError);
}

TEST(Types, BroadcastShapesFollowNumpy) {
  EXPECT_EQ(broadcast_shapes({3, 1}, {4}, "add"), (Shape{3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {2, 3}, "add"), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes({5, 1, 3}, {2, 1}, "add"), (Shape{5, 2, 3}));
  EXPECT_EQ(broadcast_shapes({0, 3}, {1, 3}, "add"), (Shape{0, 3}));
  try {
    broadcast_shapes({3, 4}, {5}, "add");
    FAIL() << "no exception";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "add: operands could not be broadcast together with shapes (3, 4) and (5,)");
  }
}
