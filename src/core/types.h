// Small vocabulary types shared by the whole core: shapes, split axes, dtypes, devices.
#pragma once

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dnd {

// A global or local shape, row-major, as numpy and torch use it.
using Shape = std::vector<int64_t>;

// The distributed axis of an array, or std::nullopt when every rank holds a full copy.
using Split = std::optional<int64_t>;

inline constexpr Split kReplicated = std::nullopt;

using Dtype = c10::ScalarType;

enum class DeviceKind { cpu, gpu };

// "(3, 4)", "(5,)", "()" as numpy prints shapes.
std::string shape_str(const Shape& s);
// "0" or "None".
std::string split_str(Split s);
int64_t shape_numel(const Shape& s);

// The names of DESIGN.md: bool, uint8, int8, int16, int32, int64, float32, float64,
// complex64, complex128.
std::string dtype_name(Dtype t);
// Parses a dtype name (also numpy/torch aliases: float, double, int, long, cfloat, ...).
// Throws TypeError naming the valid names on an unknown or unsupported name.
Dtype parse_dtype(std::string_view name);
// Whether dnd supports this dtype (the ten of DESIGN.md).
bool is_supported_dtype(Dtype t);
// Throws TypeError naming `op` when t is not supported.
void check_supported_dtype(Dtype t, std::string_view op);
// The default dtype of factories: float32.
inline constexpr Dtype kDefaultDtype = c10::ScalarType::Float;

std::string device_name(DeviceKind d);
DeviceKind parse_device(std::string_view name);

// Wraps a possibly negative axis into [0, ndim); throws ValueError naming `op` otherwise.
int64_t normalize_axis(int64_t axis, int64_t ndim, std::string_view op);

}  // namespace dnd
