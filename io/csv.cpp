// CSV: every rank parses the lines that start in its share of the file's bytes (a line
// belongs to the rank holding its first byte), then the rows are balanced. Saving
// formats each rank's rows and writes them at offsets known from everyone's sizes.
#include "io/io_impl.h"

#include "src/core/distribution.h"
#include "src/core/manipulation.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

namespace dnd::io::detail {

namespace {

constexpr int64_t kStep = int64_t{64} << 10;

void check_csv_dtype(Dtype t, const std::string& what) {
  check_supported_dtype(t, what);
  if (at::isComplexType(t))
    throw TypeError(
        fmt::format("{}: CSV does not hold {} values; use .npy or HDF5", what, dtype_name(t)));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Parses one field as T; false when it is not a valid value of T.
template <class T>
bool parse_field(std::string_view s, T& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if constexpr (std::is_same_v<T, bool>) {
    if (s == "1" || s == "true" || s == "True" || s == "TRUE") return out = true, true;
    if (s == "0" || s == "false" || s == "False" || s == "FALSE") return out = false, true;
    return false;
  } else if constexpr (std::is_floating_point_v<T>) {
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
  } else {
    int64_t v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return false;
    if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return false;
    out = static_cast<T>(v);
    return true;
  }
}

struct Parsed {
  int64_t rows = 0, cols = -1;
  int64_t lines = 0;            // physical lines, blank ones included
  int64_t first_row_line = -1;  // local line index of the first row
  int64_t error_line = -1;      // local line index of the first invalid value, and why
  std::string error;
  int64_t mismatch_line = -1;  // local line index of the first row with another field count
  int64_t mismatch_cols = 0;
  at::Tensor values;
};

template <class T>
Parsed parse_lines(std::string_view text, char delim, Dtype dtype) {
  Parsed p;
  using Stored = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;  // no vector<bool>
  std::vector<Stored> vals;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = trim(text.substr(pos, nl - pos));
    const int64_t here = p.lines++;
    pos = nl + 1;
    if (line.empty() || p.error_line >= 0 || p.mismatch_line >= 0) continue;
    int64_t fields = 0;
    size_t f0 = 0;
    while (true) {
      const size_t f1 = std::min(line.find(delim, f0), line.size());
      const std::string_view field = trim(line.substr(f0, f1 - f0));
      T v{};
      if (!parse_field(field, v)) {
        p.error_line = here;
        p.error = fmt::format("'{}' is not a valid {} (field {})", std::string(field.substr(0, 40)),
                              dtype_name(dtype), fields + 1);
        break;
      }
      vals.push_back(static_cast<Stored>(v));
      ++fields;
      if (f1 == line.size()) break;
      f0 = f1 + 1;
    }
    if (p.error_line >= 0) continue;
    if (p.cols < 0) p.cols = fields, p.first_row_line = here;
    if (fields != p.cols) {
      p.mismatch_line = here, p.mismatch_cols = fields;
      continue;
    }
    ++p.rows;
  }
  const int64_t cols = std::max<int64_t>(p.cols, 0);
  p.values = at::empty({p.rows, cols}, at::TensorOptions().dtype(dtype));
  if (p.error_line < 0 && p.mismatch_line < 0 && !vals.empty())
    std::memcpy(p.values.data_ptr(), vals.data(), vals.size() * sizeof(Stored));
  return p;
}

Parsed parse(std::string_view text, char delim, Dtype dtype) {
  switch (dtype) {
    case at::kBool:
      return parse_lines<bool>(text, delim, dtype);
    case at::kByte:
      return parse_lines<uint8_t>(text, delim, dtype);
    case at::kChar:
      return parse_lines<int8_t>(text, delim, dtype);
    case at::kShort:
      return parse_lines<int16_t>(text, delim, dtype);
    case at::kInt:
      return parse_lines<int32_t>(text, delim, dtype);
    case at::kLong:
      return parse_lines<int64_t>(text, delim, dtype);
    case at::kFloat:
      return parse_lines<float>(text, delim, dtype);
    default:
      return parse_lines<double>(text, delim, dtype);
  }
}

struct Fd {
  int fd;
  explicit Fd(const std::string& path) : fd(open_regular(path)) {}
  ~Fd() { ::close(fd); }
  int64_t size() const {
    struct stat st {};
    fstat(fd, &st);
    return st.st_size;
  }
};

// The byte where the data start: after `lines` lines (the file's size when it has fewer).
int64_t skip_lines(const Fd& f, int64_t lines) {
  std::vector<char> buf(static_cast<size_t>(kStep));
  int64_t off = 0;
  // A UTF-8 byte order mark (spreadsheets write one) is not part of the first field.
  unsigned char bom[3] = {};
  if (::pread(f.fd, bom, 3, 0) == 3 && bom[0] == 0xEF && bom[1] == 0xBB && bom[2] == 0xBF) off = 3;
  while (lines > 0) {
    const ssize_t n = ::pread(f.fd, buf.data(), buf.size(), off);
    if (n <= 0) return off;
    for (ssize_t i = 0; i < n; ++i)
      if (buf[static_cast<size_t>(i)] == '\n' && --lines == 0) return off + i + 1;
    off += n;
  }
  return off;
}

template <class T>
void format_rows(const at::Tensor& t, char delim, std::string& out) {
  const T* v = t.data_ptr<T>();
  const int64_t rows = t.size(0), cols = t.dim() == 2 ? t.size(1) : 1;
  out.reserve(out.size() + static_cast<size_t>(rows * cols * 12));
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const T x = v[i * cols + j];
      if constexpr (std::is_same_v<T, bool>)
        out += x ? '1' : '0';
      else if constexpr (sizeof(T) == 1)
        fmt::format_to(std::back_inserter(out), "{}", static_cast<int>(x));
      else
        fmt::format_to(std::back_inserter(out), "{}", x);  // floats: shortest exact round trip
      out += j + 1 < cols ? delim : '\n';
    }
  }
}

}  // namespace

ArrayInfo probe_csv(const std::string& path, const LoadOptions& o) {
  check_csv_dtype(o.dtype, "load " + path);
  if (o.header_lines < 0) throw ValueError(fmt::format("load {}: header_lines must be >= 0", path));
  Fd f(path);
  ArrayInfo info;
  info.format = Format::csv;
  info.layout = "csv";
  info.dtype = o.dtype;
  info.supported = true;
  info.type = dtype_name(o.dtype);
  int64_t off = skip_lines(f, o.header_lines), rows = 0, cols = -1;
  info.data_offset = off;
  std::string line;
  std::vector<char> buf(static_cast<size_t>(kStep));
  auto finish_line = [&] {
    const std::string_view l = trim(line);
    if (!l.empty()) {
      ++rows;
      if (cols < 0) {
        cols = 1;
        for (char c : l) cols += c == o.delimiter;
      }
    }
    line.clear();
  };
  while (true) {
    const ssize_t n = ::pread(f.fd, buf.data(), buf.size(), off);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      const char c = buf[static_cast<size_t>(i)];
      if (c == '\n')
        finish_line();
      else if (line.size() < 64 || cols < 0)
        line += c;  // only the first row's fields matter
    }
    off += n;
  }
  finish_line();
  info.shape = {rows, std::max<int64_t>(cols, 0)};
  info.nbytes = checked_nbytes(info.shape, itemsize(o.dtype), path);
  info.storage_bytes = off - info.data_offset;
  return info;
}

DNDarray load_csv(const std::string& path, const LoadOptions& o, const Communicator& comm) {
  const std::string what = "load " + path;
  check_csv_dtype(o.dtype, what);
  if (o.header_lines < 0) throw ValueError(fmt::format("{}: header_lines must be >= 0", what));
  if (o.slices.size() > 2)
    throw ValueError(fmt::format("{}: {} slices given for a 2-D CSV array", what, o.slices.size()));
  Split split = o.split;
  if (split) split = normalize_axis(*split, 2, what);

  // Rank 0 finds the size and where the data start; everyone gets them or the error.
  at::Tensor meta = at::zeros({2}, at::kLong);
  agree(comm, [&] {
    if (comm.rank() != 0) return;
    Fd f(path);
    meta[0] = f.size();
    meta[1] = skip_lines(f, o.header_lines);
  });
  broadcast_(comm, meta, 0);
  const int64_t size = meta[0].item<int64_t>(), data_start = meta[1].item<int64_t>();

  const int p = comm.size(), r = comm.rank();
  const Chunk c = balanced_chunk(size - data_start, r, p);
  const int64_t lo = data_start + c.offset, hi = lo + c.count;
  MPI_File f = mpi_open_read(path, comm);
  Parsed parsed;
  try {
    agree(comm, [&] {
      std::string text;
      if (c.count > 0) {
        // From the byte before lo (is lo a line start?) to hi, then on to the end of the
        // line that crosses hi.
        const int64_t from = lo > data_start ? lo - 1 : lo;
        text.resize(static_cast<size_t>(hi - from));
        mpi_read_at(f, from, text.data(), hi - from, what);
        int64_t end = hi;
        while (end < size && text.back() != '\n') {
          const int64_t n = std::min(kStep, size - end);
          const size_t at = text.size();
          text.resize(at + static_cast<size_t>(n));
          mpi_read_at(f, end, text.data() + at, n, what);
          const size_t nl = text.find('\n', at);
          end += n;
          if (nl != std::string::npos) {
            text.resize(nl + 1);
            break;
          }
        }
        size_t begin = 0;
        if (from < lo) {  // skip the tail of a line that started on the rank before
          const size_t nl = text.find('\n');
          begin = nl == std::string::npos ? text.size() : nl + 1;
        }
        if (static_cast<int64_t>(begin) >= hi - from) begin = text.size();  // no line starts in [lo, hi)
        text.erase(0, begin);
      }
      parsed = parse(text, o.delimiter, o.dtype);
    });
  } catch (...) {
    mpi_close(f);
    throw;
  }
  mpi_close(f);

  // Line numbers for messages: physical lines of the ranks before, plus the header.
  const std::vector<int64_t> lines = allgather_value(comm, parsed.lines);
  int64_t before = o.header_lines + 1;  // 1-based
  for (int q = 0; q < r; ++q) before += lines[static_cast<size_t>(q)];
  auto global = [&](int64_t local_line) { return local_line < 0 ? int64_t{-1} : before + local_line; };
  const std::vector<int64_t> info = allgather_values(
      comm, {parsed.rows, parsed.cols, global(parsed.first_row_line), global(parsed.error_line),
             global(parsed.mismatch_line), parsed.mismatch_cols});
  // The file's first bad line, whichever rank read it (the message must not depend on
  // the rank count): an invalid value, or a row whose field count differs from the
  // first row's.
  int64_t cols = -1, first_line = -1, total = 0;
  std::vector<int64_t> counts;
  for (int q = 0; q < p; ++q) {
    const int64_t* v = &info[static_cast<size_t>(6 * q)];
    const int64_t rows = v[0], qc = v[1], fr = v[2], err = v[3], mm = v[4], mmc = v[5];
    counts.push_back(rows);
    total += rows;
    const bool value_error_first = err >= 0 && (fr < 0 || err <= fr);
    if (!value_error_first && fr >= 0) {
      if (cols < 0)
        cols = qc, first_line = fr;
      else if (qc != cols)
        throw ValueError(
            fmt::format("{}: line {}: {} fields where line {} has {}", what, fr, qc, first_line, cols));
    }
    if (err >= 0) {
      agree(comm, [&] {
        if (q == r) throw ValueError(fmt::format("{}: line {}: {}", what, err, parsed.error));
      });
    }
    if (mm >= 0)
      throw ValueError(
          fmt::format("{}: line {}: {} fields where line {} has {}", what, mm, mmc, first_line, cols));
  }
  cols = std::max<int64_t>(cols, 0);
  at::Tensor local = parsed.values;
  if (local.size(1) != cols) local = at::empty({parsed.rows, cols}, local.options());
  DNDarray a(local, {total, cols}, Split(0), comm, counts);
  if (!o.slices.empty()) {
    std::vector<Index> idx;
    for (const Slice& s : o.slices) idx.push_back(s);
    a = getitem(a, idx);
  }
  if (split == Split(0)) return balance(a);
  return resplit(a, split);
}

void save_csv(const DNDarray& a, const std::string& tmp, const SaveOptions& o) {
  const Communicator& comm = a.comm();
  const std::string what = "save " + tmp;
  check_csv_dtype(a.dtype(), what);
  const Block b = write_block(a, /*rows_only=*/true);
  std::string text;
  if (comm.rank() == 0 && !o.header.empty()) {
    text = o.header;
    if (text.back() != '\n') text += '\n';
  }
  switch (a.dtype()) {
    case at::kBool:
      format_rows<bool>(b.t, o.delimiter, text);
      break;
    case at::kByte:
      format_rows<uint8_t>(b.t, o.delimiter, text);
      break;
    case at::kChar:
      format_rows<int8_t>(b.t, o.delimiter, text);
      break;
    case at::kShort:
      format_rows<int16_t>(b.t, o.delimiter, text);
      break;
    case at::kInt:
      format_rows<int32_t>(b.t, o.delimiter, text);
      break;
    case at::kLong:
      format_rows<int64_t>(b.t, o.delimiter, text);
      break;
    case at::kFloat:
      format_rows<float>(b.t, o.delimiter, text);
      break;
    default:
      format_rows<double>(b.t, o.delimiter, text);
      break;
  }
  const std::vector<int64_t> sizes = allgather_value(comm, static_cast<int64_t>(text.size()));
  int64_t offset = 0;
  for (int q = 0; q < comm.rank(); ++q) offset += sizes[static_cast<size_t>(q)];
  MPI_File f = mpi_open_write(tmp, comm);
  try {
    agree(comm, [&] { mpi_write_at(f, offset, text.data(), static_cast<int64_t>(text.size()), what); });
  } catch (...) {
    MPI_File_close(&f);
    throw;
  }
  const int rc = MPI_File_close(&f);
  agree(comm, [&] {
    if (rc != MPI_SUCCESS) throw ValueError(fmt::format("{}: closing the file failed", what));
  });
}

}  // namespace dnd::io::detail
