// Helpers shared by the back-ends: selections, the output-file
// protocol, MPI-IO reads and writes, and the strided reader of row-major files.
#include "io/io_impl.h"

#include "src/core/distribution.h"
#include "src/core/manipulation.h"
#include "src/core/p2p.h"
#include "src/core/diagnostics.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

namespace dnd::io::detail {

namespace fs = std::filesystem;

Shape Selection::shape() const {
  Shape s;
  for (const Sel& a : axes) s.push_back(a.count);
  return s;
}

Selection select(const Shape& shape, const std::vector<Slice>& slices, const std::string& what) {
  const auto ndim = static_cast<int64_t>(shape.size());
  if (static_cast<int64_t>(slices.size()) > ndim)
    throw ValueError(fmt::format("{}: {} slices given for an array of shape {} ({} axes)", what,
                                 slices.size(), shape_str(shape), ndim));
  Selection out;
  for (int64_t d = 0; d < ndim; ++d) {
    const int64_t n = shape[static_cast<size_t>(d)];
    if (d >= static_cast<int64_t>(slices.size())) {
      out.axes.push_back(Sel{0, 1, n});
      continue;
    }
    const Slice& s = slices[static_cast<size_t>(d)];
    const int64_t step = s.step.value_or(1);
    if (step == 0) throw ValueError(fmt::format("{}: slice step of axis {} cannot be zero", what, d));
    // numpy's PySlice_AdjustIndices.
    auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
      if (!v) return dflt;
      int64_t x = *v;
      if (x < 0) {
        x += n;
        if (x < 0) x = step < 0 ? -1 : 0;
      } else if (x >= n) {
        x = step < 0 ? n - 1 : n;
      }
      return x;
    };
    const int64_t start = clamp(s.start, step < 0 ? n - 1 : 0);
    const int64_t stop = clamp(s.stop, step < 0 ? -1 : n);
    int64_t count = 0;
    if (step > 0 && stop > start) count = (stop - start + step - 1) / step;
    if (step < 0 && start > stop) count = (start - stop + (-step) - 1) / (-step);
    if (step > 0 || count == 0) {
      out.axes.push_back(Sel{count == 0 ? 0 : start, step > 0 ? step : 1, count});
    } else {
      // Read the same elements forwards (from the last one), flip afterwards.
      out.axes.push_back(Sel{start + step * (count - 1), -step, count});
      out.flips.push_back(d);
    }
  }
  return out;
}

void check_allocation(int64_t bytes, const std::string& what) {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return;
  const double mem = static_cast<double>(pages) * static_cast<double>(page);
  if (static_cast<double>(bytes) > mem)
    throw ValueError(
        fmt::format("{} needs {:.1f} GiB per rank, more than this node's memory ({:.1f} GiB)", what,
                    static_cast<double>(bytes) / (1 << 30), mem / (1 << 30)));
}

int64_t checked_nbytes(const Shape& shape, int64_t isize, const std::string& what) {
  int64_t n = isize;
  for (int64_t d : shape) {
    if (d < 0) throw ValueError(fmt::format("{}: negative extent in shape {}", what, shape_str(shape)));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throw ValueError(
          fmt::format("{}: shape {} is absurdly large (more than 2^63 bytes)", what, shape_str(shape)));
    n *= d;
  }
  return n;
}

int64_t itemsize(Dtype t) { return static_cast<int64_t>(c10::elementSize(t)); }

// ---- MPI-IO ---------------------------------------------------------------------------

namespace {
constexpr int64_t kPiece = kMaxMessageBytes;  // below MPI's int counts

std::string mpi_error_string(int rc) {
  char s[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, s, &len);
  return std::string(s, static_cast<size_t>(len));
}
}  // namespace

void mpi_read_at(MPI_File f, int64_t offset, void* buf, int64_t n, const std::string& what) {
  auto* p = static_cast<uint8_t*>(buf);
  for (int64_t done = 0; done < n;) {
    const int piece = static_cast<int>(std::min(kPiece, n - done));
    MPI_Status st;
    const int rc = MPI_File_read_at(f, offset + done, p + done, piece, MPI_BYTE, &st);
    if (rc != MPI_SUCCESS)
      throw ValueError(fmt::format("{}: read failed: {}", what, mpi_error_string(rc)));
    int got = 0;
    MPI_Get_count(&st, MPI_BYTE, &got);
    if (got <= 0)
      throw ValueError(fmt::format("{}: file is truncated (needed bytes up to {}, got only {})", what,
                                   offset + n, offset + done));
    done += got;
  }
}

void mpi_write_at(MPI_File f, int64_t offset, const void* buf, int64_t n, const std::string& what) {
  const auto* p = static_cast<const uint8_t*>(buf);
  for (int64_t done = 0; done < n;) {
    const int piece = static_cast<int>(std::min(kPiece, n - done));
    MPI_Status st;
    const int rc = MPI_File_write_at(f, offset + done, p + done, piece, MPI_BYTE, &st);
    if (rc != MPI_SUCCESS)
      throw ValueError(fmt::format("{}: write failed: {}", what, mpi_error_string(rc)));
    int put = 0;
    MPI_Get_count(&st, MPI_BYTE, &put);
    if (put <= 0) throw ValueError(fmt::format("{}: write failed (disk full?)", what));
    done += put;
  }
}

int open_regular(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw ValueError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int err = errno;
    ::close(fd);
    if (!S_ISREG(st.st_mode) && st.st_mode != 0)
      throw ValueError(
          fmt::format("cannot open '{}': it is {}, not a regular file", path, file_kind(st.st_mode)));
    throw ValueError(fmt::format("cannot open '{}': {}", path, std::strerror(err)));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

void check_regular(const std::string& path) { ::close(open_regular(path)); }

MPI_File mpi_open_read(const std::string& path, const Communicator& comm) {
  MPI_File f = MPI_FILE_NULL;
  int rc = MPI_SUCCESS;
  rc = MPI_File_open(comm.get(), path.c_str(), MPI_MODE_RDONLY, MPI_INFO_NULL, &f);
  agree(comm, [&] {
    if (rc != MPI_SUCCESS)
      throw ValueError(fmt::format("cannot open '{}': {}", path, mpi_error_string(rc)));
  });
  return f;
}

MPI_File mpi_open_write(const std::string& path, const Communicator& comm) {
  MPI_File f = MPI_FILE_NULL;
  const int rc =
      MPI_File_open(comm.get(), path.c_str(), MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &f);
  agree(comm, [&] {
    if (rc != MPI_SUCCESS)
      throw ValueError(fmt::format("cannot create '{}': {}", path, mpi_error_string(rc)));
  });
  return f;
}

void mpi_close(MPI_File& f) {
  if (f != MPI_FILE_NULL) MPI_File_close(&f);
}

// ---- strided reads --------------------------------------------------------------------

namespace {

constexpr int64_t kWindow = int64_t{8} << 20;  // bytes read at once to cut in memory
constexpr int64_t kSmall = int64_t{64} << 10;  // below this, read the span whole anyway

struct Strided {
  const ReadFn& read;
  const Shape& g;
  int64_t isize;
  const std::vector<Sel>& sel;
  std::vector<int64_t> stride;  // bytes per step along each axis of the file array
  std::vector<uint8_t> window;

  int64_t selected_bytes(size_t k) const {
    int64_t n = isize;
    for (size_t j = k; j < sel.size(); ++j) n *= sel[j].count;
    return n;
  }
  bool inner_full(size_t k) const {  // axes after k are taken whole
    for (size_t j = k + 1; j < sel.size(); ++j)
      if (!sel[j].full(g[j])) return false;
    return true;
  }

  // Reads indices [i0, i0 + n) of the selection along axis k (sub-array at `off`) as one
  // span and cuts the selection out of it in memory.
  void span(size_t k, int64_t off, int64_t i0, int64_t n, uint8_t* out) {
    const Sel& s = sel[k];
    const int64_t rows = (n - 1) * s.step + 1;
    const int64_t bytes = rows * stride[k];
    window.resize(static_cast<size_t>(bytes));
    read(off + (s.start + i0 * s.step) * stride[k], window.data(), bytes);
    std::vector<int64_t> shape{rows};
    for (size_t j = k + 1; j < g.size(); ++j) shape.push_back(g[j]);
    shape.push_back(isize);
    at::Tensor src = at::from_blob(window.data(), shape, at::kByte).slice(0, 0, rows, s.step);
    for (size_t j = k + 1; j < g.size(); ++j) {
      const Sel& t = sel[j];
      const auto dim = static_cast<int64_t>(j - k);
      src = t.count == 0 ? src.narrow(dim, 0, 0)
                         : src.slice(dim, t.start, t.start + (t.count - 1) * t.step + 1, t.step);
    }
    at::from_blob(out, src.sizes(), at::kByte).copy_(src);
  }

  void region(size_t k, int64_t off, uint8_t* out) {
    const Sel& s = sel[k];
    if (s.count == 0) return;
    const int64_t sub = selected_bytes(k + 1);  // output bytes per selected index
    if (inner_full(k) && s.step == 1) {         // one contiguous run, straight into out
      read(off + s.start * stride[k], out, s.count * stride[k]);
      return;
    }
    const int64_t span_bytes = ((s.count - 1) * s.step + 1) * stride[k];
    if (span_bytes <= kSmall || (span_bytes <= kWindow && 4 * selected_bytes(k) >= span_bytes)) {
      span(k, off, 0, s.count, out);
      return;
    }
    if (k + 1 < sel.size()) {
      // Dense inner selections: batch indices into windows; sparse ones: recurse.
      const bool dense_inner = 4 * sub >= stride[k];
      if (dense_inner && s.step * stride[k] <= kWindow) {
        const int64_t per = std::max<int64_t>(1, kWindow / (s.step * stride[k]));
        for (int64_t i = 0; i < s.count; i += per)
          span(k, off, i, std::min(per, s.count - i), out + i * sub);
        return;
      }
      for (int64_t i = 0; i < s.count; ++i)
        region(k + 1, off + (s.start + i * s.step) * stride[k], out + i * sub);
      return;
    }
    // Last axis, sparse: windows of indices, or one element at a time when far apart.
    const int64_t per = std::max<int64_t>(1, kWindow / (s.step * stride[k]));
    for (int64_t i = 0; i < s.count; i += per)
      span(k, off, i, std::min(per, s.count - i), out + i * sub);
  }
};

}  // namespace

void read_strided(const ReadFn& read, int64_t base, const Shape& gshape, int64_t isize,
                  const std::vector<Sel>& sel, uint8_t* out) {
  if (gshape.empty()) {
    read(base, out, isize);
    return;
  }
  Strided s{read, gshape, isize, sel, std::vector<int64_t>(gshape.size()), {}};
  int64_t st = isize;
  for (size_t j = gshape.size(); j-- > 0;) {
    s.stride[j] = st;
    st *= gshape[j];
  }
  for (const Sel& a : sel)
    if (a.count == 0) return;
  s.region(0, base, out);
}

Split read_axis(const Shape& shape, Split split, int p) {
  if (shape.empty()) return kReplicated;
  const int64_t target = split.value_or(0);
  for (int64_t d = 0; d < target; ++d)
    if (shape[static_cast<size_t>(d)] >= p) return d;
  return target;
}

std::vector<Sel> rank_selection(const std::vector<Sel>& sel, Split axis, int rank, int p) {
  std::vector<Sel> mine = sel;
  if (!axis) return mine;
  Sel& a = mine[static_cast<size_t>(*axis)];
  const Chunk c = balanced_chunk(a.count, rank, p);
  a.start += c.offset * a.step;
  a.count = c.count;
  if (a.count == 0) a.start = 0;
  return mine;
}

Block write_block(const DNDarray& a_in, bool rows_only) {
  const int p = a_in.comm().size(), r = a_in.comm().rank();
  DNDarray a = a_in;
  if (a.device() != DeviceKind::cpu) a = to_device(a, DeviceKind::cpu);
  const Shape& g = a.gshape();
  if (g.empty()) return Block{-1, 0, r == 0 ? a.larray().contiguous() : at::Tensor()};
  if (!a.split()) {
    const Chunk c = balanced_chunk(g[0], r, p);
    return Block{0, c.offset, a.larray().narrow(0, c.offset, c.count).contiguous()};
  }
  if (*a.split() > 0) {
    const Split axis = rows_only ? Split(0) : read_axis(g, a.split(), p);
    if (axis != a.split()) a = resplit(a, axis);
  }
  return Block{*a.split(), a.chunk().offset, a.larray().contiguous()};
}

}  // namespace dnd::io::detail
