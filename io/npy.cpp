// .npy (numpy's format, versions 1-3): the header parsed with every size checked
// against the file, data read and written with MPI-IO at byte offsets.
#include "io/io_impl.h"
#include "src/core/limits.h"

#include "src/core/distribution.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

namespace dnd::io::detail {

namespace {

constexpr int64_t kMaxHeader = int64_t{1} << 20;  // numpy's headers are < 100 bytes

struct Descr {
  const char* code;  // little-endian numpy descr without the byte-order mark
  Dtype dtype;
};
constexpr Descr kDescrs[] = {
    {"b1", at::kBool},         {"u1", at::kByte},           {"i1", at::kChar},  {"i2", at::kShort},
    {"i4", at::kInt},          {"i8", at::kLong},           {"f4", at::kFloat}, {"f8", at::kDouble},
    {"c8", at::kComplexFloat}, {"c16", at::kComplexDouble},
};

std::string descr_of(Dtype t) {
  for (const Descr& d : kDescrs)
    if (d.dtype == t) return std::string(c10::elementSize(t) == 1 ? "|" : "<") + d.code;
  throw TypeError(fmt::format("npy: dtype {} is not supported", dtype_name(t)));
}

// A tiny parser for the header's Python dict literal.
struct Parser {
  const std::string& s;
  const std::string& what;
  size_t i = 0;

  [[noreturn]] void fail(const std::string& why) const {
    throw ValueError(fmt::format("{}: corrupted .npy header ({}): {}", what, why, s.substr(0, 200)));
  }
  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
  }
  bool eat(char c) {
    ws();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(fmt::format("expected '{}'", c));
  }
  std::string str() {
    ws();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) fail("expected a string");
    const char q = s[i++];
    const size_t j = s.find(q, i);
    if (j == std::string::npos) fail("unterminated string");
    std::string out = s.substr(i, j - i);
    i = j + 1;
    return out;
  }
  int64_t integer() {
    ws();
    int64_t v = 0;
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      const int d = s[i++] - '0';
      if (v > (std::numeric_limits<int64_t>::max() - d) / 10) fail("absurd extent in the shape");
      v = v * 10 + d;
      ++digits;
    }
    if (digits == 0) fail("expected a non-negative integer");
    if (i < s.size() && s[i] == 'L') ++i;  // Python 2 longs
    return v;
  }
};

}  // namespace

ArrayInfo probe_npy(const std::string& path) {
  const std::string what = path;
  const int fd = open_regular(path);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  fstat(fd, &st);
  if (S_ISDIR(st.st_mode)) throw ValueError(fmt::format("cannot open '{}': it is a directory", path));
  const auto fsize = static_cast<int64_t>(st.st_size);
  auto read_exact = [&](int64_t off, void* buf, int64_t n) {
    if (off + n > fsize || ::pread(fd, buf, static_cast<size_t>(n), off) != n)
      throw ValueError(fmt::format("{}: not a .npy file (too short for its header)", what));
  };
  unsigned char pre[12] = {};
  read_exact(0, pre, std::min<int64_t>(10, fsize));
  if (fsize < 10 || std::memcmp(pre, "\x93NUMPY", 6) != 0)
    throw ValueError(fmt::format("{}: not a .npy file (bad magic)", what));
  const int major = pre[6];
  int64_t hlen = 0, hstart = 0;
  if (major == 1) {
    hlen = pre[8] | (pre[9] << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    read_exact(0, pre, 12);
    hlen = static_cast<int64_t>(pre[8]) | (static_cast<int64_t>(pre[9]) << 8) |
           (static_cast<int64_t>(pre[10]) << 16) | (static_cast<int64_t>(pre[11]) << 24);
    hstart = 12;
  } else {
    throw ValueError(fmt::format("{}: unsupported .npy format version {}.{}", what, major, pre[7]));
  }
  if (hlen > kMaxHeader || hstart + hlen > fsize)
    throw ValueError(fmt::format("{}: corrupted .npy header (claims {} header bytes, the file has {})",
                                 what, hlen, fsize));
  std::string h(static_cast<size_t>(hlen), '\0');
  read_exact(hstart, h.data(), hlen);

  Parser p{h, what};
  std::string descr;
  bool fortran = false, seen_descr = false, seen_fortran = false, seen_shape = false;
  ArrayInfo info;
  info.format = Format::npy;
  info.layout = "npy";
  p.expect('{');
  while (!p.eat('}')) {
    const std::string key = p.str();
    p.expect(':');
    if (key == "descr") {
      p.ws();
      if (p.i < h.size() && h[p.i] == '[')
        throw TypeError(
            fmt::format("{}: structured dtypes are not supported (only plain numeric arrays)", what));
      descr = p.str();
      seen_descr = true;
    } else if (key == "fortran_order") {
      p.ws();
      if (h.compare(p.i, 4, "True") == 0)
        fortran = true, p.i += 4;
      else if (h.compare(p.i, 5, "False") == 0)
        p.i += 5;
      else
        p.fail("fortran_order must be True or False");
      seen_fortran = true;
    } else if (key == "shape") {
      p.expect('(');
      while (!p.eat(')')) {
        info.shape.push_back(p.integer());
        if (!p.eat(',')) {
          p.expect(')');
          break;
        }
      }
      seen_shape = true;
    } else {
      p.fail("unknown key '" + key + "'");
    }
    if (!p.eat(',')) {
      p.expect('}');
      break;
    }
  }
  if (!seen_descr || !seen_fortran || !seen_shape) p.fail("descr, fortran_order and shape are required");
  if (fortran)
    throw ValueError(
        fmt::format("{}: Fortran-order .npy files are not supported; save with "
                    "numpy.save(path, numpy.ascontiguousarray(a))",
                    what));
  info.type = descr;
  const char order = descr.empty() ? '?' : descr[0];
  const std::string code =
      order == '<' || order == '|' || order == '=' || order == '>' ? descr.substr(1) : descr;
  for (const Descr& d : kDescrs)
    if (code == d.code) info.dtype = d.dtype, info.supported = true;
  if (!info.supported)
    throw TypeError(
        fmt::format("{}: numpy dtype '{}' is not supported (dnd holds bool, uint8, int8, int16, int32, "
                    "int64, float32, float64, complex64, complex128)",
                    what, descr));
  if (order == '>' && c10::elementSize(info.dtype) > 1)
    throw TypeError(fmt::format(
        "{}: big-endian dtype '{}' is not supported; convert with a.astype(a.dtype.newbyteorder('<'))",
        what, descr));
  info.data_offset = hstart + hlen;
  if (static_cast<int64_t>(info.shape.size()) > kMaxAxes)
    throw ValueError(fmt::format("{}: the array has {} axes; dnd arrays have at most {}", what,
                                 info.shape.size(), kMaxAxes));
  info.nbytes = checked_nbytes(info.shape, itemsize(info.dtype), what);
  info.storage_bytes = fsize - info.data_offset;
  if (info.nbytes > info.storage_bytes)
    throw ValueError(fmt::format(
        "{}: the file is truncated: shape {} of {} needs {} bytes of data, it holds {}", what,
        shape_str(info.shape), dtype_name(info.dtype), info.nbytes, info.storage_bytes));
  info.type = dtype_name(info.dtype);
  return info;
}

at::Tensor load_npy(const std::string& path, const ArrayInfo& info, const std::vector<Sel>& mine,
                    const Communicator& comm) {
  const std::string what = "load " + path;
  Shape lshape;
  for (const Sel& s : mine) lshape.push_back(s.count);
  at::Tensor local = at::empty(lshape, at::TensorOptions().dtype(info.dtype));
  MPI_File f = MPI_FILE_NULL;
  // Opening is collective but cannot be agreed here (load runs this inside agree):
  // MPI_File_open fails alike on every rank for a file rank 0 could read.
  DND_MPI_CHECK(MPI_File_open(comm.get(), path.c_str(), MPI_MODE_RDONLY, MPI_INFO_NULL, &f));
  struct Closer {
    MPI_File& f;
    ~Closer() { mpi_close(f); }
  } closer{f};
  if (local.numel() == 0) return local;
  read_strided([&](int64_t off, void* buf, int64_t n) { mpi_read_at(f, off, buf, n, what); },
               info.data_offset, info.shape, itemsize(info.dtype), mine,
               static_cast<uint8_t*>(local.data_ptr()));
  return local;
}

void save_npy(const DNDarray& a, const std::string& tmp) {
  const Communicator& comm = a.comm();
  const std::string what = "save " + tmp;
  const Shape& g = a.gshape();
  // Header: the dict, padded with spaces to a multiple of 64 bytes, ending in '\n'.
  std::string shape = "(";
  for (size_t i = 0; i < g.size(); ++i)
    shape += fmt::format("{}{}", g[i], g.size() == 1 ? "," : i + 1 < g.size() ? ", " : "");
  shape += ")";
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                 descr_of(a.dtype()), shape);
  const bool v1 = dict.size() + 11 < 65536;
  const size_t pre = v1 ? 10 : 12;
  const size_t total = (pre + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - pre - dict.size() - 1, ' ');
  dict += '\n';
  std::string header("\x93NUMPY", 6);
  header += static_cast<char>(v1 ? 1 : 2);
  header += '\0';
  const size_t hl = dict.size();
  header += static_cast<char>(hl & 0xff);
  header += static_cast<char>((hl >> 8) & 0xff);
  if (!v1) {
    header += static_cast<char>((hl >> 16) & 0xff);
    header += static_cast<char>((hl >> 24) & 0xff);
  }
  header += dict;

  const Block b = write_block(a, /*rows_only=*/false);
  MPI_File f = mpi_open_write(tmp, comm);
  try {
    agree(comm, [&] {
      const auto base = static_cast<int64_t>(header.size());
      if (comm.rank() == 0) mpi_write_at(f, 0, header.data(), base, what);
      if (!b.t.defined() || b.t.numel() == 0) return;
      const int64_t isize = itemsize(a.dtype());
      if (b.axis < 0) {  // 0-d: rank 0's single element
        mpi_write_at(f, base, b.t.data_ptr(), isize, what);
        return;
      }
      // prod(g[:axis]) runs, each the block's slab of one index of the leading axes.
      const auto ax = static_cast<size_t>(b.axis);
      int64_t outer = 1, inner = isize;
      for (size_t i = 0; i < ax; ++i) outer *= g[i];
      for (size_t i = ax + 1; i < g.size(); ++i) inner *= g[i];
      const int64_t run = b.t.size(b.axis) * inner;
      const auto* src = static_cast<const uint8_t*>(b.t.data_ptr());
      for (int64_t i = 0; i < outer; ++i)
        mpi_write_at(f, base + (i * g[ax] + b.first) * inner, src + i * run, run, what);
    });
  } catch (...) {
    MPI_File_close(&f);  // collective: every rank got the agreed error
    throw;
  }
  const int rc = MPI_File_close(&f);
  agree(comm, [&] {
    if (rc != MPI_SUCCESS) throw ValueError(fmt::format("{}: closing the file failed", what));
  });
}

}  // namespace dnd::io::detail
