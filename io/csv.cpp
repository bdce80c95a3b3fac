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

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
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

// What a CSV's empty fields read as (LoadOptions::missing); checked before any parsing,
// alike on every rank: NaN and fractions fill floating dtypes only.
void check_missing(const LoadOptions& o, const std::string& what) {
  if (!o.missing || at::isFloatingType(o.dtype)) return;
  const double m = *o.missing;
  if (!std::isfinite(m))
    throw ValueError(fmt::format(
        "{}: missing: {} cannot fill {} values ({} is not an integer); give an integer (missing: 0) "
        "or a floating dtype (dtype: float64)",
        what, m, dtype_name(o.dtype), std::isnan(m) ? "NaN" : "infinity"));
  double lo = -9.2e18, hi = 9.2e18;  // int64, rounded inwards to doubles
  switch (o.dtype) {
    case at::kBool:
      lo = 0, hi = 1;
      break;
    case at::kByte:
      lo = 0, hi = 255;
      break;
    case at::kChar:
      lo = -128, hi = 127;
      break;
    case at::kShort:
      lo = -32768, hi = 32767;
      break;
    case at::kInt:
      lo = -2147483648.0, hi = 2147483647.0;
      break;
    default:
      break;
  }
  const bool fits = m == std::floor(m) && m >= lo && m <= hi;
  if (!fits)
    throw ValueError(fmt::format("{}: missing: {} is not a value of {}", what, m, dtype_name(o.dtype)));
}

// The other delimiter a field that did not parse seems to hold ("1;2;3" read with ','),
// as a hint for the message; "" when none.
std::string delimiter_hint(std::string_view field, char delim) {
  for (const char c : {',', ';', '\t', '|'}) {
    if (c == delim || field.find(c) == std::string_view::npos) continue;
    return c == '\t' ? std::string("; the fields look tab-separated: set delimiter: tab")
                     : fmt::format("; the fields look separated by '{}': set delimiter: '{}'", c, c);
  }
  return "";
}

// The hint for a first row that does not parse: a header line (the option that skips
// it: header_lines lines are skipped, so line N of the file needs N).
std::string header_hint(int64_t line) {
  return fmt::format("; if line {} is a header, skip it with header: {}", line, line);
}

struct Parsed {
  int64_t rows = 0, cols = -1;
  int64_t lines = 0;            // physical lines, blank ones included
  int64_t first_row_line = -1;  // local line index of the first row
  int64_t error_line = -1;      // local line index of the first invalid value, and why
  std::string error;
  bool error_in_first_row = false;  // the invalid value is in this text's first row
  bool error_empty = false;         // ... and it is an empty field
  int64_t mismatch_line = -1;       // local line index of the first row with another field count
  int64_t mismatch_cols = 0;
  at::Tensor values;
};

// Parses the rows of `text` straight into the result (its rows are at most the text's
// lines, known before the second row: the peak is the text and the values, no copy).
template <class T>
Parsed parse_lines(std::string_view text, char delim, Dtype dtype,
                   const std::optional<double>& missing) {
  Parsed p;
  using Stored = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;  // no vector<bool>
  const Stored fill = missing ? (std::is_same_v<T, bool> ? static_cast<Stored>(*missing != 0)
                                                         : static_cast<Stored>(*missing))
                              : Stored{};
  std::vector<Stored> first;  // the first row, before the field count is known
  at::Tensor out;
  Stored* dst = nullptr;  // the next row's slot in `out`
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
      Stored stored{};
      if (field.empty() && missing) {
        stored = fill;
      } else if (parse_field(field, v)) {
        stored = static_cast<Stored>(v);
      } else {
        p.error_line = here;
        p.error_in_first_row = p.cols < 0;
        p.error_empty = field.empty();
        p.error = field.empty() ? fmt::format("field {} is empty (missing: {} reads empty fields as {})",
                                              fields + 1, at::isFloatingType(dtype) ? "nan" : "0",
                                              at::isFloatingType(dtype) ? "NaN" : "0")
                                : fmt::format("'{}' is not a valid {} (field {}){}",
                                              std::string(field.substr(0, 40)), dtype_name(dtype),
                                              fields + 1, delimiter_hint(field, delim));
        break;
      }
      if (p.cols < 0)
        first.push_back(stored);
      else if (fields < p.cols)
        *dst++ = stored;  // a row longer than the first is a mismatch below, never written past
      ++fields;
      if (f1 == line.size()) break;
      f0 = f1 + 1;
    }
    if (p.error_line >= 0) continue;
    if (p.cols < 0) {
      p.cols = fields, p.first_row_line = here;
      // This row and at most one per line after it.
      const int64_t max_rows =
          1 +
          std::count(text.begin() + static_cast<std::ptrdiff_t>(std::min(pos, text.size())), text.end(),
                     '\n') +
          1;
      out = at::empty({max_rows, fields}, at::TensorOptions().dtype(dtype));
      dst = static_cast<Stored*>(out.data_ptr());
      std::memcpy(dst, first.data(), first.size() * sizeof(Stored));
      dst += first.size();
      first = {};
    } else if (fields != p.cols) {
      p.mismatch_line = here, p.mismatch_cols = fields;
      continue;  // nothing after it is parsed, and the values are not used
    }
    ++p.rows;
  }
  const int64_t cols = std::max<int64_t>(p.cols, 0);
  if (out.defined() && p.error_line < 0 && p.mismatch_line < 0)
    p.values = out.narrow(0, 0, p.rows);
  else
    p.values = at::empty({p.rows, cols}, at::TensorOptions().dtype(dtype));
  return p;
}

Parsed parse(std::string_view text, char delim, Dtype dtype, const std::optional<double>& missing) {
  switch (dtype) {
    case at::kBool:
      return parse_lines<bool>(text, delim, dtype, missing);
    case at::kByte:
      return parse_lines<uint8_t>(text, delim, dtype, missing);
    case at::kChar:
      return parse_lines<int8_t>(text, delim, dtype, missing);
    case at::kShort:
      return parse_lines<int16_t>(text, delim, dtype, missing);
    case at::kInt:
      return parse_lines<int32_t>(text, delim, dtype, missing);
    case at::kLong:
      return parse_lines<int64_t>(text, delim, dtype, missing);
    case at::kFloat:
      return parse_lines<float>(text, delim, dtype, missing);
    default:
      return parse_lines<double>(text, delim, dtype, missing);
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

namespace {
// What a CSV load checks before reading (io::check_csv_options).
void check_options(const std::string& path, const LoadOptions& o) {
  const std::string what = "load " + path;
  check_csv_dtype(o.dtype, what);
  if (o.header_lines < 0) throw ValueError(fmt::format("{}: header_lines must be >= 0", what));
  check_missing(o, what);
}
}  // namespace

ArrayInfo probe_csv(const std::string& path, const LoadOptions& o) {
  const std::string what = "load " + path;
  check_options(path, o);
  Fd f(path);
  ArrayInfo info;
  info.format = Format::csv;
  info.layout = "csv";
  info.dtype = o.dtype;
  info.supported = true;
  info.type = dtype_name(o.dtype);
  int64_t off = skip_lines(f, o.header_lines), rows = 0, cols = -1;
  info.data_offset = off;
  // The first row is kept (up to kFirstRow bytes) and parsed: a header line or another
  // delimiter fails at plan time. Later lines are only counted.
  constexpr size_t kFirstRow = size_t{1} << 20;
  std::string first;
  bool blank = true, first_whole = true;
  int64_t line_no = o.header_lines + 1, first_line = -1, delims = 0;
  std::vector<char> buf(static_cast<size_t>(kStep));
  auto finish_line = [&] {
    if (!blank) {
      ++rows;
      if (cols < 0) cols = delims + 1, first_line = line_no;
    }
    if (cols < 0) first.clear(), first_whole = true;
    blank = true, delims = 0;
    ++line_no;
  };
  while (true) {
    const ssize_t n = ::pread(f.fd, buf.data(), buf.size(), off);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      const char c = buf[static_cast<size_t>(i)];
      if (c == '\n') {
        finish_line();
        continue;
      }
      if (c != ' ' && c != '\t' && c != '\r') blank = false;
      if (cols >= 0) continue;  // only the first row's fields matter
      delims += c == o.delimiter;
      if (first.size() < kFirstRow)
        first += c;
      else
        first_whole = false;
    }
    off += n;
  }
  finish_line();
  info.shape = {rows, std::max<int64_t>(cols, 0)};
  info.nbytes = checked_nbytes(info.shape, itemsize(o.dtype), path);
  info.storage_bytes = off - info.data_offset;
  if (cols > 0 && first_whole) {
    const Parsed p = parse(first, o.delimiter, o.dtype, o.missing);
    if (p.error_line >= 0)
      throw ValueError(fmt::format("{}: line {}: {}{}", what, first_line, p.error,
                                   p.error_empty ? "" : header_hint(first_line)));
  }
  return info;
}

DNDarray load_csv(const std::string& path, const LoadOptions& o, const Communicator& comm) {
  const std::string what = "load " + path;
  check_options(path, o);
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
      parsed = parse(text, o.delimiter, o.dtype, o.missing);
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
      // The file's first row (no rank before had one, nor this one before the error):
      // perhaps a header.
      const bool first_row = value_error_first && cols < 0;
      agree(comm, [&] {
        if (q == r)
          throw ValueError(fmt::format(
              "{}: line {}: {}{}", what, err, parsed.error,
              first_row && parsed.error_in_first_row && !parsed.error_empty ? header_hint(err) : ""));
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

namespace dnd::io {
void check_csv_options(const std::string& path, const LoadOptions& o) { detail::check_options(path, o); }
}  // namespace dnd::io
