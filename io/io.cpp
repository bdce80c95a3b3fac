// Format dispatch, agreed metadata, and the load/save drivers shared by every format.
#include "io/io_impl.h"

#include "src/core/distribution.h"
#include "src/core/manipulation.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace dnd::io {

using namespace detail;

std::string format_name(Format f) {
  switch (f) {
    case Format::hdf5:
      return "hdf5";
    case Format::npy:
      return "npy";
    case Format::csv:
      return "csv";
    default:
      return "auto";
  }
}

Format parse_format(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "hdf5" || s == "h5") return Format::hdf5;
  if (s == "npy") return Format::npy;
  if (s == "csv") return Format::csv;
  if (s == "auto" || s.empty()) return Format::automatic;
  throw ValueError(fmt::format("unknown file format '{}' (valid: hdf5, npy, csv, auto)", name));
}

Format format_of(const std::string& path, Format explicit_format) {
  if (explicit_format != Format::automatic) return explicit_format;
  const auto dot = path.find_last_of('.');
  const auto slash = path.find_last_of('/');
  std::string ext = dot == std::string::npos || (slash != std::string::npos && dot < slash)
                        ? ""
                        : path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == "h5" || ext == "hdf5" || ext == "hdf" || ext == "nc" || ext == "nc4" || ext == "he5")
    return Format::hdf5;
  if (ext == "npy") return Format::npy;
  if (ext == "csv" || ext == "txt") return Format::csv;
  throw ValueError(
      fmt::format("cannot tell the format of '{}' from its extension (.h5 .hdf5 .nc .he5 -> hdf5, "
                  ".npy, .csv); name the format explicitly",
                  path));
}

ArrayInfo probe(const std::string& path, const LoadOptions& o) {
  switch (format_of(path, o.format)) {
    case Format::hdf5:
      return probe_hdf5(path, o.dataset);
    case Format::npy:
      return probe_npy(path);
    default:
      return probe_csv(path, o);
  }
}

ArrayInfo probe(const std::string& path, const std::string& dataset, Format format) {
  LoadOptions o;
  o.dataset = dataset;
  o.format = format;
  return probe(path, o);
}

std::vector<Entry> list(const std::string& path, const LoadOptions& o) {
  const Format f = format_of(path, o.format);
  if (f == Format::hdf5) return list_hdf5(path);
  LoadOptions one = o;
  one.format = f;
  const auto slash = path.find_last_of('/');
  return {Entry{slash == std::string::npos ? path : path.substr(slash + 1), false, probe(path, one)}};
}

std::vector<Entry> list(const std::string& path, Format format) {
  LoadOptions o;
  o.format = format;
  return list(path, o);
}

Shape selection_shape(const Shape& shape, const std::vector<Slice>& slices) {
  return select(shape, slices, "slice").shape();
}

namespace {

// ArrayInfo through a string, for rank 0's probe to reach every rank.
std::string pack(const ArrayInfo& i) {
  std::ostringstream s;
  s << static_cast<int>(i.format) << '\n' << i.dataset << '\n' << i.shape.size();
  for (int64_t d : i.shape) s << ' ' << d;
  s << '\n'
    << static_cast<int>(i.dtype) << '\n'
    << i.data_offset << '\n'
    << i.layout << '\n'
    << i.nbytes << '\n';
  return s.str();
}

ArrayInfo unpack(const std::string& str) {
  std::istringstream s(str);
  ArrayInfo i;
  int f = 0, dt = 0;
  size_t nd = 0;
  s >> f;
  s.ignore();
  std::getline(s, i.dataset);
  s >> nd;
  i.shape.resize(nd);
  for (auto& d : i.shape) s >> d;
  s >> dt >> i.data_offset;
  s.ignore();
  std::getline(s, i.layout);
  s >> i.nbytes;
  i.format = static_cast<Format>(f);
  i.dtype = static_cast<Dtype>(dt);
  i.supported = true;
  return i;
}

}  // namespace

DNDarray load(const std::string& path, const LoadOptions& o, const Communicator& comm) {
  const Format f = format_of(path, o.format);
  if (f == Format::csv) return load_csv(path, o, comm);

  // Rank 0 reads the metadata; every rank gets it or the same error.
  std::string packed;
  agree(comm, [&] {
    if (comm.rank() == 0)
      packed = pack(f == Format::hdf5 ? probe_hdf5(path, o.dataset) : probe_npy(path));
  });
  broadcast_string(comm, packed, 0);
  const ArrayInfo info = unpack(packed);
  const std::string what =
      f == Format::hdf5 ? fmt::format("load {}:{}", path, info.dataset) : "load " + path;

  const Selection sel = select(info.shape, o.slices, what);
  const Shape shape = sel.shape();
  const auto ndim = static_cast<int64_t>(shape.size());
  Split split = o.split;
  if (split) {
    if (ndim == 0)
      throw ValueError(fmt::format("{}: a 0-d array cannot be split (split={})", what, *split));
    split = normalize_axis(*split, ndim, what);
  }
  const int p = comm.size();
  const Split axis = read_axis(shape, split, p);
  const std::vector<Sel> mine = rank_selection(sel.axes, axis, comm.rank(), p);
  // Sizes come from agreed metadata: every rank refuses alike before allocating.
  Shape largest = shape;
  if (axis)
    largest[static_cast<size_t>(*axis)] = balanced_chunk(shape[static_cast<size_t>(*axis)], 0, p).count;
  check_allocation(checked_nbytes(split ? largest : shape, itemsize(info.dtype), what), what);

  at::Tensor local;
  if (shape_numel(shape) == 0) {  // nothing to read (HDF5 may not even have storage)
    Shape lshape;
    for (const Sel& s : mine) lshape.push_back(s.count);
    local = at::empty(lshape, at::TensorOptions().dtype(info.dtype));
  } else if (f == Format::npy) {
    agree(comm, [&] { local = load_npy(path, info, mine, comm); });
  } else {
    local = load_hdf5(path, info, mine, /*collective=*/info.layout == "contiguous", comm);
  }

  DNDarray a(local, shape, axis, comm);
  for (int64_t d : sel.flips) {
    std::vector<Index> idx(static_cast<size_t>(d), Index{Slice{}});
    idx.push_back(Slice{std::nullopt, std::nullopt, -1});
    a = getitem(a, idx);
  }
  if (a.split() != split) return resplit(a, split);
  return balance(a);
}

namespace detail {
void check_save(const DNDarray& a, const std::string& path, const SaveOptions& o) {
  const Format f = format_of(path, o.format);
  check_supported_dtype(a.dtype(), "save");
  const std::string what = "save " + path;
  if (f == Format::csv && (a.ndim() < 1 || a.ndim() > 2))
    throw ValueError(
        fmt::format("{}: CSV holds 1-D or 2-D arrays, not shape {}", what, shape_str(a.gshape())));
  if (f == Format::csv && at::isComplexType(a.dtype()))
    throw TypeError(
        fmt::format("{}: CSV does not hold {} values; use .npy or HDF5", what, dtype_name(a.dtype())));
  if (f == Format::hdf5) {
    if (o.compression < 0 || o.compression > 9)
      throw ValueError(fmt::format("{}: compression is a gzip level 0-9, not {}", what, o.compression));
    if (!o.chunks.empty() && static_cast<int64_t>(o.chunks.size()) != a.ndim())
      throw ValueError(fmt::format("{}: chunks {} do not match the array's {} axes", what,
                                   shape_str(o.chunks), a.ndim()));
    for (int64_t c : o.chunks)
      if (c <= 0)
        throw ValueError(
            fmt::format("{}: chunk extents must be positive, got {}", what, shape_str(o.chunks)));
  }
  if (f != Format::hdf5 && o.mode == SaveMode::append)
    throw ValueError(fmt::format(
        "{}: mode append adds datasets to an HDF5 file; {} files hold one array", what, format_name(f)));
  if (f != Format::hdf5 && !o.attrs.empty())
    throw ValueError(
        fmt::format("{}: attrs are HDF5 attributes; {} files have none", what, format_name(f)));
  for (const Attribute& at : o.attrs)
    if (at.name.empty() || at.name == "dnd_split")
      throw ValueError(fmt::format("{}: '{}' cannot be an attribute name{}", what, at.name,
                                   at.name.empty() ? "" : " (dnd writes it)"));
}
}  // namespace detail

void save(const DNDarray& a, const std::string& path, const SaveOptions& o) {
  Outputs out(a.comm(), o.sync);
  out.save(a, path, o);
  out.commit();
}

}  // namespace dnd::io
