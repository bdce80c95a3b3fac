// HDF5: metadata from a serial open (no MPI needed), data through parallel HDF5 with
// the MPI-IO driver. Types follow h5py: bool is an int8 enum {FALSE, TRUE}, complex a
// compound {r, i} of two floats.
#include "io/io_impl.h"
#include "src/core/limits.h"

#include "src/core/distribution.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <hdf5.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <variant>

namespace dnd::io::detail {

namespace {

// Owns an HDF5 id (any kind); the last reference closes it. Closing a file opened with
// the MPI-IO driver is collective: every rank reaches these destructors alike because
// failures are agreed before anyone unwinds.
class Hid {
 public:
  explicit Hid(hid_t id = -1) : id_(id) {}
  Hid(Hid&& o) noexcept : id_(std::exchange(o.id_, -1)) {}
  Hid& operator=(Hid&& o) noexcept {
    std::swap(id_, o.id_);
    return *this;
  }
  Hid(const Hid&) = delete;
  ~Hid() {
    if (id_ >= 0) H5Idec_ref(id_);
  }
  operator hid_t() const { return id_; }  // NOLINT: used like the raw id
  bool ok() const { return id_ >= 0; }
  // Closes now (collective for an MPI-IO file); HDF5's status.
  herr_t close() { return id_ >= 0 ? H5Idec_ref(std::exchange(id_, -1)) : 0; }

 private:
  hid_t id_;
};

void quiet() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

herr_t collect_error(unsigned, const H5E_error2_t* e, void* data) {
  if (e->desc && *e->desc) static_cast<std::vector<std::string>*>(data)->push_back(e->desc);
  return 0;
}

// The innermost message of HDF5's error stack (then cleared).
std::string h5_detail() {
  std::vector<std::string> v;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &v);
  H5Eclear2(H5E_DEFAULT);
  return v.empty() ? std::string("unknown HDF5 error") : v.back();
}

struct TypeInfo {
  bool supported = false;
  Dtype dtype = kDefaultDtype;
  std::string name;
};

TypeInfo classify(hid_t t) {
  const H5T_class_t cls = H5Tget_class(t);
  const size_t size = H5Tget_size(t);
  switch (cls) {
    case H5T_INTEGER: {
      const bool is_signed = H5Tget_sign(t) == H5T_SGN_2;
      const std::string name = fmt::format("{}int{}", is_signed ? "" : "u", 8 * size);
      if (!is_signed)
        return size == 1 ? TypeInfo{true, at::kByte, name} : TypeInfo{false, kDefaultDtype, name};
      switch (size) {
        case 1:
          return {true, at::kChar, name};
        case 2:
          return {true, at::kShort, name};
        case 4:
          return {true, at::kInt, name};
        case 8:
          return {true, at::kLong, name};
        default:
          return {false, kDefaultDtype, name};
      }
    }
    case H5T_FLOAT: {
      const std::string name = fmt::format("float{}", 8 * size);
      if (size == 4) return {true, at::kFloat, name};
      if (size == 8) return {true, at::kDouble, name};
      return {false, kDefaultDtype, name};
    }
    case H5T_ENUM: {
      // h5py's bool: enum of a 1-byte integer with FALSE = 0 and TRUE = 1.
      if (size == 1 && H5Tget_nmembers(t) == 2) {
        bool ok = true;
        for (unsigned i = 0; i < 2; ++i) {
          char* name = H5Tget_member_name(t, i);
          int8_t value = -1;
          H5Tget_member_value(t, i, &value);
          const std::string want = value == 0 ? "FALSE" : value == 1 ? "TRUE" : "";
          ok = ok && name && want == name;
          if (name) H5free_memory(name);
        }
        if (ok) return {true, at::kBool, "bool"};
      }
      return {false, kDefaultDtype, "enum"};
    }
    case H5T_COMPOUND: {
      // h5py's complex: {r, i} of two floats of one size.
      if (H5Tget_nmembers(t) == 2 && (size == 8 || size == 16)) {
        bool ok = true;
        const char* want[2] = {"r", "i"};
        for (unsigned i = 0; i < 2; ++i) {
          char* name = H5Tget_member_name(t, i);
          Hid mt(H5Tget_member_type(t, i));
          ok = ok && name && std::strcmp(name, want[i]) == 0 && H5Tget_class(mt) == H5T_FLOAT &&
               H5Tget_size(mt) == size / 2;
          if (name) H5free_memory(name);
        }
        if (ok)
          return {true, size == 8 ? at::kComplexFloat : at::kComplexDouble,
                  fmt::format("complex{}", 8 * size)};
      }
      return {false, kDefaultDtype, "compound"};
    }
    case H5T_STRING:
      return {false, kDefaultDtype, "string"};
    case H5T_BITFIELD:
      return {false, kDefaultDtype, "bitfield"};
    case H5T_OPAQUE:
      return {false, kDefaultDtype, "opaque"};
    case H5T_REFERENCE:
      return {false, kDefaultDtype, "reference"};
    case H5T_VLEN:
      return {false, kDefaultDtype, "vlen"};
    case H5T_ARRAY:
      return {false, kDefaultDtype, "array"};
    default:
      return {false, kDefaultDtype, "unknown"};
  }
}

// The in-memory HDF5 type of a dnd dtype (a fresh id; also the file type dnd writes).
Hid mem_type(Dtype t) {
  switch (t) {
    case at::kBool: {
      Hid e(H5Tenum_create(H5T_NATIVE_INT8));
      int8_t v = 0;
      H5Tenum_insert(e, "FALSE", &v);
      v = 1;
      H5Tenum_insert(e, "TRUE", &v);
      return e;
    }
    case at::kByte:
      return Hid(H5Tcopy(H5T_NATIVE_UINT8));
    case at::kChar:
      return Hid(H5Tcopy(H5T_NATIVE_INT8));
    case at::kShort:
      return Hid(H5Tcopy(H5T_NATIVE_INT16));
    case at::kInt:
      return Hid(H5Tcopy(H5T_NATIVE_INT32));
    case at::kLong:
      return Hid(H5Tcopy(H5T_NATIVE_INT64));
    case at::kFloat:
      return Hid(H5Tcopy(H5T_NATIVE_FLOAT));
    case at::kDouble:
      return Hid(H5Tcopy(H5T_NATIVE_DOUBLE));
    case at::kComplexFloat:
    case at::kComplexDouble: {
      const bool f = t == at::kComplexFloat;
      const size_t half = f ? 4 : 8;
      Hid c(H5Tcreate(H5T_COMPOUND, 2 * half));
      H5Tinsert(c, "r", 0, f ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE);
      H5Tinsert(c, "i", half, f ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE);
      return c;
    }
    default:
      throw TypeError(fmt::format("HDF5: dtype {} is not supported", dtype_name(t)));
  }
}

std::string filter_name(H5Z_filter_t id, const unsigned* cd, size_t ncd, const char* name) {
  switch (id) {
    case H5Z_FILTER_DEFLATE:
      return ncd > 0 ? fmt::format("gzip({})", cd[0]) : "gzip";
    case H5Z_FILTER_SHUFFLE:
      return "shuffle";
    case H5Z_FILTER_FLETCHER32:
      return "fletcher32";
    case H5Z_FILTER_SZIP:
      return "szip";
    case H5Z_FILTER_NBIT:
      return "nbit";
    case H5Z_FILTER_SCALEOFFSET:
      return "scaleoffset";
    case 32000:
      return "lzf";
    default:
      return name && *name ? fmt::format("{}({})", name, id) : fmt::format("filter {}", id);
  }
}

std::string norm_path(const std::string& name) {
  std::string p = name.empty() || name[0] != '/' ? "/" + name : name;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// Metadata of one dataset. strict: also the checks a load needs (a supported type,
// available filters, data that fit the file).
ArrayInfo dataset_info(hid_t file, const std::string& name, const std::string& path, bool strict) {
  const std::string what = fmt::format("{}:{}", path, name);
  Hid ds(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
  if (!ds.ok()) throw ValueError(fmt::format("{}: cannot open the dataset: {}", what, h5_detail()));
  ArrayInfo info;
  info.format = Format::hdf5;
  info.dataset = name;
  Hid space(H5Dget_space(ds));
  const H5S_class_t cls = H5Sget_simple_extent_type(space);
  if (cls == H5S_NULL)
    throw ValueError(fmt::format("{}: the dataset has a null dataspace (no data)", what));
  if (cls == H5S_NO_CLASS || !space.ok())
    throw ValueError(fmt::format("{}: cannot read the dataspace: {}", what, h5_detail()));
  const int nd = H5Sget_simple_extent_ndims(space);
  if (nd < 0) throw ValueError(fmt::format("{}: corrupted dataspace: {}", what, h5_detail()));
  std::vector<hsize_t> dims(static_cast<size_t>(nd));
  if (nd > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  for (hsize_t d : dims) {
    if (d > static_cast<hsize_t>(std::numeric_limits<int64_t>::max()))
      throw ValueError(fmt::format("{}: absurd dataset extent {}", what, d));
    info.shape.push_back(static_cast<int64_t>(d));
  }
  Hid type(H5Dget_type(ds));
  const TypeInfo ti = classify(type);
  info.supported = ti.supported;
  info.dtype = ti.dtype;
  info.type = ti.name;
  info.nbytes = checked_nbytes(info.shape, static_cast<int64_t>(H5Tget_size(type)), what);

  Hid dcpl(H5Dget_create_plist(ds));
  switch (H5Pget_layout(dcpl)) {
    case H5D_CONTIGUOUS:
      info.layout = "contiguous";
      break;
    case H5D_CHUNKED:
      info.layout = "chunked";
      break;
    case H5D_COMPACT:
      info.layout = "compact";
      break;
    case H5D_VIRTUAL:
      info.layout = "virtual";
      break;
    default:
      info.layout = "unknown";
      break;
  }
  if (info.layout == "chunked") {
    std::vector<hsize_t> c(static_cast<size_t>(std::max(nd, 1)));
    const int cn = H5Pget_chunk(dcpl, nd, c.data());
    for (int i = 0; i < cn && i < nd; ++i)
      info.chunks.push_back(static_cast<int64_t>(c[static_cast<size_t>(i)]));
  }
  std::vector<std::string> missing;
  const int nf = H5Pget_nfilters(dcpl);
  for (int i = 0; i < nf; ++i) {
    unsigned flags = 0, config = 0, cd[8] = {};
    size_t ncd = 8;
    char fname[128] = {};
    const H5Z_filter_t id =
        H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &ncd, cd, sizeof fname, fname, &config);
    const std::string f = filter_name(id, cd, ncd, fname);
    info.compression += (info.compression.empty() ? "" : "+") + f;
    if (H5Zfilter_avail(id) <= 0) missing.push_back(f);
  }
  info.storage_bytes = static_cast<int64_t>(H5Dget_storage_size(ds));
  const haddr_t off = H5Dget_offset(ds);
  H5Eclear2(H5E_DEFAULT);
  if (off != HADDR_UNDEF) info.data_offset = static_cast<int64_t>(off);
  if (!strict) return info;

  if (nd > kMaxAxes)
    throw ValueError(
        fmt::format("{}: the dataset has {} axes; dnd arrays have at most {}", what, nd, kMaxAxes));
  if (!ti.supported)
    throw TypeError(
        fmt::format("{}: element type {} is not supported (dnd holds bool, uint8, int8, int16, int32, "
                    "int64, float32, float64, complex64, complex128)",
                    what, ti.name));
  if (!missing.empty())
    throw ValueError(
        fmt::format("{}: the dataset is compressed with {}, which this HDF5 library cannot decode", what,
                    fmt::join(missing, ", ")));
  if (info.layout == "contiguous" && info.data_offset >= 0) {
    hsize_t fsize = 0;
    H5Fget_filesize(file, &fsize);
    if (info.storage_bytes < info.nbytes || info.data_offset + info.nbytes > static_cast<int64_t>(fsize))
      throw ValueError(
          fmt::format("{}: the file is truncated or corrupted: shape {} needs {} bytes at offset {}, "
                      "the file has {} bytes",
                      what, shape_str(info.shape), info.nbytes, info.data_offset, fsize));
  }
  return info;
}

Hid open_serial(const std::string& path) {
  quiet();
  check_regular(path);  // a FIFO would block HDF5's open; unreadable is said as such
  const htri_t is = H5Fis_hdf5(path.c_str());
  if (is <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw ValueError(fmt::format("'{}' is not an HDF5 file (no HDF5 signature)", path));
  }
  Hid f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f.ok()) throw ValueError(fmt::format("cannot open HDF5 file '{}': {}", path, h5_detail()));
  return f;
}

struct Visit {
  hid_t file;
  std::vector<std::pair<std::string, bool>> objects;  // path, is_group
};

herr_t visit_link(hid_t, const char* name, const H5L_info_t* info, void* data) {
  auto* v = static_cast<Visit*>(data);
  if (info->type != H5L_TYPE_HARD) return 0;  // soft / external links may dangle
  Hid o(H5Oopen(v->file, name, H5P_DEFAULT));
  if (!o.ok()) {
    H5Eclear2(H5E_DEFAULT);
    return 0;
  }
  const H5I_type_t t = H5Iget_type(o);
  if (t == H5I_GROUP || t == H5I_DATASET) v->objects.emplace_back(norm_path(name), t == H5I_GROUP);
  return 0;
}

std::vector<std::pair<std::string, bool>> objects(hid_t file) {
  Visit v{file, {}};
  if (H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, visit_link, &v) < 0) H5Eclear2(H5E_DEFAULT);
  return v.objects;
}

std::vector<std::string> dataset_paths(hid_t file) {
  std::vector<std::string> out;
  for (const auto& [p, g] : objects(file))
    if (!g) out.push_back(p);
  return out;
}

// Selects `sel` (all axes) in a file dataspace, or nothing when it is empty.
void select_hyperslab(hid_t space, const std::vector<Sel>& sel) {
  if (sel.empty()) {
    H5Sselect_all(space);
    return;
  }
  std::vector<hsize_t> start, stride, count, block;
  for (const Sel& s : sel) {
    if (s.count == 0) {
      H5Sselect_none(space);
      return;
    }
    start.push_back(static_cast<hsize_t>(s.start));
    // Unit steps as one block: HDF5 handles those as plain contiguous runs.
    stride.push_back(s.step == 1 ? 1 : static_cast<hsize_t>(s.step));
    count.push_back(s.step == 1 ? 1 : static_cast<hsize_t>(s.count));
    block.push_back(s.step == 1 ? static_cast<hsize_t>(s.count) : 1);
  }
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), stride.data(), count.data(), block.data());
}

// A memory dataspace for a contiguous block of `shape` (nothing selected when empty).
Hid mem_space(const Shape& shape) {
  if (shape.empty()) return Hid(H5Screate(H5S_SCALAR));
  if (shape_numel(shape) == 0) {
    hsize_t one = 1;
    Hid s(H5Screate_simple(1, &one, nullptr));
    H5Sselect_none(s);
    return s;
  }
  std::vector<hsize_t> d(shape.begin(), shape.end());
  return Hid(H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr));
}

Hid mpio_fapl(const Communicator& comm) {
  Hid fapl(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_fapl_mpio(fapl, comm.get(), MPI_INFO_NULL);
  return fapl;
}

// Collective transfers; `blocks`: every rank's part is one contiguous byte range of the
// file, so MPI-IO's two-phase aggregation would only add a copy: each rank then writes
// (reads) its range independently, with no collective call in the transfer at all.
Hid transfer(bool collective, bool blocks = false) {
  Hid dxpl(H5Pcreate(H5P_DATASET_XFER));
  H5Pset_dxpl_mpio(dxpl, collective && !blocks ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT);
  return dxpl;
}

// Whether a selection is one contiguous run of a row-major array.
bool one_run(const std::vector<Sel>& sel, const Shape& g) {
  size_t k = 0;
  while (k < sel.size() && sel[k].count == 1) ++k;  // leading single indices
  if (k < sel.size() && sel[k].step != 1) return false;
  for (size_t j = k + 1; j < sel.size(); ++j)
    if (!sel[j].full(g[j])) return false;
  return true;
}

// Writes one attribute of `obj` (collective for MPI-IO files: every rank the same).
herr_t write_attribute(hid_t obj, const Attribute& at) {
  const char* name = at.name.c_str();
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  H5Eclear2(H5E_DEFAULT);
  auto scalar = [&](hid_t ftype, hid_t mtype, const void* v) -> herr_t {
    Hid space(H5Screate(H5S_SCALAR));
    Hid a(H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT));
    return a.ok() ? H5Awrite(a, mtype, v) : -1;
  };
  auto list = [&](hid_t ftype, hid_t mtype, const void* v, size_t n) -> herr_t {
    hsize_t d = n;
    Hid space(H5Screate_simple(1, &d, nullptr));
    Hid a(H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT));
    return a.ok() ? H5Awrite(a, mtype, v) : -1;
  };
  if (const bool* b = std::get_if<bool>(&at.value)) {
    Hid t = mem_type(at::kBool);
    const int8_t v = *b ? 1 : 0;
    return scalar(t, t, &v);
  }
  if (const int64_t* i = std::get_if<int64_t>(&at.value))
    return scalar(H5T_STD_I64LE, H5T_NATIVE_INT64, i);
  if (const double* x = std::get_if<double>(&at.value))
    return scalar(H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x);
  if (const std::string* str = std::get_if<std::string>(&at.value)) {
    Hid t(H5Tcopy(H5T_C_S1));
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    const char* c = str->c_str();
    return scalar(t, t, &c);
  }
  if (const auto* iv = std::get_if<std::vector<int64_t>>(&at.value))
    return list(H5T_STD_I64LE, H5T_NATIVE_INT64, iv->data(), iv->size());
  const auto& dv = std::get<std::vector<double>>(at.value);
  return list(H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, dv.data(), dv.size());
}

// An attribute's value as text: numbers (lists as [a, b, ...], at most 16 shown),
// strings quoted, other types by their class.
std::string attribute_text(hid_t attr) {
  Hid type(H5Aget_type(attr));
  Hid space(H5Aget_space(attr));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  const int nd = H5Sget_simple_extent_ndims(space);
  const H5T_class_t cls = H5Tget_class(type);
  if (n < 0) return "?";
  if (cls == H5T_STRING) {
    if (n != 1) return fmt::format("{} strings", n);
    std::string out;
    if (H5Tis_variable_str(type) > 0) {
      char* c = nullptr;
      Hid mt(H5Tcopy(H5T_C_S1));
      H5Tset_size(mt, H5T_VARIABLE);
      H5Tset_cset(mt, H5Tget_cset(type));
      if (H5Aread(attr, mt, &c) >= 0 && c) {
        out = c;
        H5free_memory(c);
      }
    } else {
      std::vector<char> buf(H5Tget_size(type) + 1, '\0');
      if (H5Aread(attr, type, buf.data()) >= 0) out = buf.data();
    }
    return "\"" + out + "\"";
  }
  const TypeInfo ti = classify(type);
  std::vector<std::string> items;
  if (cls == H5T_INTEGER || (cls == H5T_ENUM && ti.dtype == at::kBool)) {
    std::vector<int64_t> v(static_cast<size_t>(n));
    if (H5Aread(attr, H5T_NATIVE_INT64, v.data()) < 0) return ti.name;
    for (size_t i = 0; i < v.size() && i < 16; ++i)
      items.push_back(ti.dtype == at::kBool ? (v[i] ? "true" : "false") : std::to_string(v[i]));
  } else if (cls == H5T_FLOAT) {
    std::vector<double> v(static_cast<size_t>(n));
    if (H5Aread(attr, H5T_NATIVE_DOUBLE, v.data()) < 0) return ti.name;
    for (size_t i = 0; i < v.size() && i < 16; ++i) items.push_back(fmt::format("{}", v[i]));
  } else {
    return fmt::format("({})", ti.name);
  }
  H5Eclear2(H5E_DEFAULT);
  if (nd == 0 && items.size() == 1) return items[0];
  return fmt::format("[{}{}]", fmt::join(items, ", "), n > 16 ? ", ..." : "");
}

herr_t collect_attr(hid_t obj, const char* name, const H5A_info_t*, void* data) {
  auto* out = static_cast<std::vector<std::pair<std::string, std::string>>*>(data);
  Hid a(H5Aopen(obj, name, H5P_DEFAULT));
  if (a.ok()) out->emplace_back(name, attribute_text(a));
  H5Eclear2(H5E_DEFAULT);
  return 0;
}

std::vector<std::pair<std::string, std::string>> attributes(hid_t file, const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  Hid o(H5Oopen(file, path.c_str(), H5P_DEFAULT));
  if (!o.ok()) {
    H5Eclear2(H5E_DEFAULT);
    return out;
  }
  hsize_t idx = 0;
  if (H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr, &out) < 0) H5Eclear2(H5E_DEFAULT);
  return out;
}

}  // namespace

ArrayInfo probe_hdf5(const std::string& path, const std::string& dataset) {
  Hid f = open_serial(path);
  std::string name = dataset;
  if (name.empty()) {
    const auto all = dataset_paths(f);
    if (all.size() != 1)
      throw ValueError(all.empty() ? fmt::format("'{}' holds no datasets", path)
                                   : fmt::format("'{}' holds {} datasets ({}); name one", path,
                                                 all.size(), fmt::join(all, ", ")));
    name = all[0];
  }
  name = norm_path(name);
  // Walk the path so that a missing group is reported as such.
  for (size_t pos = 1; pos <= name.size();) {
    const size_t next = std::min(name.find('/', pos), name.size());
    const std::string prefix = name.substr(0, next);
    if (H5Lexists(f, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      const auto all = dataset_paths(f);
      throw ValueError(fmt::format(
          "{}: no dataset '{}' ('{}' does not exist); the file holds: {}", path, name, prefix,
          all.empty() ? std::string("no datasets") : fmt::format("{}", fmt::join(all, ", "))));
    }
    pos = next + 1;
  }
  {
    Hid o(H5Oopen(f, name.c_str(), H5P_DEFAULT));
    if (!o.ok()) throw ValueError(fmt::format("{}:{}: cannot open: {}", path, name, h5_detail()));
    if (H5Iget_type(o) != H5I_DATASET)
      throw ValueError(fmt::format("{}:{} is a group, not a dataset; the file holds: {}", path, name,
                                   fmt::join(dataset_paths(f), ", ")));
  }
  return dataset_info(f, name, path, /*strict=*/true);
}

std::vector<Entry> list_hdf5(const std::string& path) {
  Hid f = open_serial(path);
  std::vector<Entry> out{Entry{"/", true, {}, attributes(f, "/")}};
  for (const auto& [p, group] : objects(f)) {
    Entry e{p, group, {}, attributes(f, p)};
    if (!group) {
      // One odd dataset (a null dataspace, an absurd size) is listed as unsupported,
      // with its reason, and the listing goes on.
      try {
        e.info = dataset_info(f, p, path, /*strict=*/false);
        if (static_cast<int64_t>(e.info.shape.size()) > kMaxAxes) {
          e.info.supported = false;
          e.info.type = fmt::format("{} axes, more than {}", e.info.shape.size(), kMaxAxes);
        }
      } catch (const std::exception& ex) {
        H5Eclear2(H5E_DEFAULT);
        e.info = ArrayInfo{};
        e.info.format = Format::hdf5;
        e.info.dataset = p;
        e.info.layout = "-";
        std::string why = ex.what();
        const std::string prefix = fmt::format("{}:{}: ", path, p);
        if (why.rfind(prefix, 0) == 0) why = why.substr(prefix.size());
        e.info.type = why;
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

at::Tensor load_hdf5(const std::string& path, const ArrayInfo& info, const std::vector<Sel>& mine,
                     bool collective, const Communicator& comm) {
  quiet();
  const std::string what = fmt::format("load {}:{}", path, info.dataset);
  Hid fapl = mpio_fapl(comm);
  Hid file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl));
  agree(comm, [&] {
    if (!file.ok()) throw ValueError(fmt::format("{}: cannot open: {}", what, h5_detail()));
  });
  Hid ds(H5Dopen2(file, info.dataset.c_str(), H5P_DEFAULT));
  agree(comm, [&] {
    if (!ds.ok()) throw ValueError(fmt::format("{}: cannot open the dataset: {}", what, h5_detail()));
  });
  Shape lshape;
  for (const Sel& s : mine) lshape.push_back(s.count);
  at::Tensor local = at::empty(lshape, at::TensorOptions().dtype(info.dtype));
  Hid fspace(H5Dget_space(ds));
  select_hyperslab(fspace, mine);
  Hid mspace = mem_space(lshape);
  Hid mtype = mem_type(info.dtype);
  // The transfer mode must be the same on every rank (a rank with an empty or one-row
  // block may look contiguous when the others are not).
  const bool blocks =
      collective && allreduce_value(comm, int64_t{one_run(mine, info.shape)}, ReduceOp::min) == 1;
  Hid dxpl = transfer(collective, blocks);
  herr_t rc = 0;
  if (collective || local.numel() > 0) rc = H5Dread(ds, mtype, mspace, fspace, dxpl, local.data_ptr());
  agree(comm, [&] {
    if (rc < 0)
      throw ValueError(
          fmt::format("{}: reading the data failed (corrupted file?): {}", what, h5_detail()));
  });
  return local;
}

bool is_hdf5_file(const std::string& path) {
  quiet();
  const htri_t is = H5Fis_hdf5(path.c_str());
  H5Eclear2(H5E_DEFAULT);
  return is > 0;
}

void save_hdf5(const DNDarray& a, const std::string& tmp, const SaveOptions& o, bool create) {
  quiet();
  const Communicator& comm = a.comm();
  const std::string name = norm_path(o.dataset.empty() ? "data" : o.dataset);
  const std::string what = fmt::format("save {}", name);
  const Block b = write_block(a, /*rows_only=*/false);
  const Shape& g = a.gshape();
  const auto nd = static_cast<int>(g.size());

  Hid fapl = mpio_fapl(comm);
  Hid file(create ? H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl)
                  : H5Fopen(tmp.c_str(), H5F_ACC_RDWR, fapl));
  agree(comm, [&] {
    if (!file.ok())
      throw ValueError(
          fmt::format("{}: cannot {} '{}': {}", what, create ? "create" : "open", tmp, h5_detail()));
  });
  if (!create) {
    // Every rank sees the same metadata: the same answer everywhere.
    const htri_t there = H5Lexists(file, name.c_str(), H5P_DEFAULT) > 0 ? 1 : 0;
    H5Eclear2(H5E_DEFAULT);
    herr_t drc = 0;
    if (there && o.overwrite) {
      Hid obj(H5Oopen(file, name.c_str(), H5P_DEFAULT));
      const bool group = obj.ok() && H5Iget_type(obj) == H5I_GROUP;
      obj.close();
      drc = group ? -2 : H5Ldelete(file, name.c_str(), H5P_DEFAULT);
    }
    agree(comm, [&] {
      if (there && !o.overwrite)
        throw ValueError(fmt::format(
            "{}: the file already holds a dataset {}; set overwrite to replace it", what, name));
      if (drc == -2)
        throw ValueError(fmt::format("{}: {} is a group in the file, not a dataset", what, name));
      if (drc < 0) throw ValueError(fmt::format("{}: cannot replace {}: {}", what, name, h5_detail()));
    });
  }

  {  // everything in the file is closed before the file itself
    Hid lcpl(H5Pcreate(H5P_LINK_CREATE));
    H5Pset_create_intermediate_group(lcpl, 1);
    Hid dcpl(H5Pcreate(H5P_DATASET_CREATE));
    // Fill values would be written first and then overwritten: skip them.
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    const bool chunkable = nd > 0 && shape_numel(g) > 0;
    if (chunkable && (!o.chunks.empty() || o.compression > 0)) {
      std::vector<hsize_t> c(g.begin(), g.end());
      if (!o.chunks.empty()) {
        for (int i = 0; i < nd; ++i)
          c[static_cast<size_t>(i)] = static_cast<hsize_t>(std::min(o.chunks[i], g[i]));
      } else {  // about 1 MiB per chunk, cut along the leading axes
        const auto isz = static_cast<hsize_t>(itemsize(a.dtype()));
        for (size_t i = 0; i < c.size(); ++i) {
          hsize_t bytes = isz;
          for (hsize_t x : c) bytes *= x;
          if (bytes <= (1u << 20)) break;
          c[i] = std::max<hsize_t>(1, c[i] * (1u << 20) / bytes);
        }
      }
      H5Pset_chunk(dcpl, nd, c.data());
      if (o.compression > 0) H5Pset_deflate(dcpl, static_cast<unsigned>(o.compression));
    }
    std::vector<hsize_t> dims(g.begin(), g.end());
    Hid fspace(nd == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(nd, dims.data(), nullptr));
    Hid ftype = mem_type(a.dtype());
    Hid ds(H5Dcreate2(file, name.c_str(), ftype, fspace, lcpl, dcpl, H5P_DEFAULT));
    agree(comm, [&] {
      if (!ds.ok())
        throw ValueError(fmt::format("{}: cannot create the dataset: {}", what, h5_detail()));
    });

    // This rank's block in the file.
    Shape lshape;
    if (nd == 0) {
      if (!b.t.defined()) H5Sselect_none(fspace);
    } else {
      lshape = b.t.sizes().vec();
      std::vector<Sel> sel;
      for (int i = 0; i < nd; ++i) sel.push_back(Sel{0, 1, g[i]});
      sel[static_cast<size_t>(b.axis)] = Sel{b.first, 1, lshape[static_cast<size_t>(b.axis)]};
      select_hyperslab(fspace, sel);
    }
    Hid mspace = mem_space(lshape);
    if (nd == 0 && !b.t.defined()) H5Sselect_none(mspace);
    const void* data = b.t.defined() && b.t.numel() > 0 ? b.t.data_ptr() : nullptr;
    const unsigned char dummy = 0;  // HDF5 wants a buffer even for nothing selected
    Hid dxpl = transfer(true, b.axis == 0 && o.chunks.empty() && o.compression == 0);
    // An empty dataset has no storage to write to.
    const herr_t rc =
        shape_numel(g) == 0 ? 0 : H5Dwrite(ds, ftype, mspace, fspace, dxpl, data ? data : &dummy);
    agree(comm, [&] {
      if (rc < 0) throw ValueError(fmt::format("{}: writing the data failed: {}", what, h5_detail()));
    });

    // dnd's metadata rides along as attributes; the file stays plain HDF5.
    Hid aspace(H5Screate(H5S_SCALAR));
    Hid attr(H5Acreate2(ds, "dnd_split", H5T_STD_I64LE, aspace, H5P_DEFAULT, H5P_DEFAULT));
    const int64_t split = a.split().value_or(-1);
    herr_t arc = attr.ok() ? H5Awrite(attr, H5T_NATIVE_INT64, &split) : -1;
    for (const Attribute& at : o.attrs)
      if (arc >= 0) arc = write_attribute(ds, at);
    agree(comm, [&] {
      if (arc < 0) throw ValueError(fmt::format("{}: writing attributes failed: {}", what, h5_detail()));
    });
  }
  const herr_t crc = file.close();
  agree(comm, [&] {
    if (crc < 0) throw ValueError(fmt::format("{}: closing the file failed: {}", what, h5_detail()));
  });
}

}  // namespace dnd::io::detail
