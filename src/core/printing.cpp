#include "src/core/printing.h"

#include "src/core/text.h"

#include "src/core/error.h"
#include "src/core/manipulation.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ostream>

namespace dnd {

namespace {

// Formats one kind of value with a common width and style, chosen from all the values
// shown (torch's and Heat's rules: integral floats print as "1.", a wide range of
// magnitudes switches to scientific notation).
class Formatter {
 public:
  Formatter(const at::Tensor& values, int precision) : precision_(precision) {
    const at::Tensor v = values.reshape({-1});
    kind_ = v.scalar_type() == at::kBool                 ? Kind::boolean
            : at::isIntegralType(v.scalar_type(), false) ? Kind::integer
                                                         : Kind::floating;
    if (kind_ == Kind::floating && v.numel() > 0) {
      const at::Tensor d = v.to(at::kDouble);
      const at::Tensor finite = d.masked_select(at::isfinite(d));
      if (finite.numel() > 0) {
        const at::Tensor mag = finite.abs();
        const at::Tensor nonzero = mag.masked_select(mag != 0);
        int_mode_ = at::equal(finite, finite.ceil());
        const double mx = nonzero.numel() ? nonzero.max().item<double>() : 0.0;
        const double mn = nonzero.numel() ? nonzero.min().item<double>() : 0.0;
        if (int_mode_) {
          sci_ = mx > 1e8;
        } else {
          sci_ = nonzero.numel() > 0 && (mx / mn > 1000.0 || mx > 1e8 || mn < 1e-4);
        }
      }
    }
    width_ = 0;
    for (int64_t i = 0; i < v.numel(); ++i) width_ = std::max(width_, format_raw(v[i]).size());
  }

  std::string operator()(const at::Tensor& scalar) const {
    std::string s = format_raw(scalar);
    return std::string(width_ > s.size() ? width_ - s.size() : 0, ' ') + s;
  }
  size_t width() const { return width_; }

 private:
  enum class Kind { boolean, integer, floating };

  std::string format_raw(const at::Tensor& scalar) const {
    switch (kind_) {
      case Kind::boolean:
        return scalar.item<bool>() ? "True" : "False";
      case Kind::integer:
        return std::to_string(scalar.item<int64_t>());
      case Kind::floating:
        break;
    }
    const double x = scalar.item<double>();
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    if (sci_) return fmt::format("{:.{}e}", x, precision_);
    if (int_mode_) return fmt::format("{:.0f}.", x);
    return fmt::format("{:.{}f}", x, precision_);
  }

  int precision_;
  Kind kind_;
  bool int_mode_ = false;
  bool sci_ = false;
  size_t width_ = 0;
};

struct Printer {
  const PrintOptions& opts;
  const Shape& from;            // original shape (a summarised tensor holds only edge items)
  std::vector<Formatter> fmts;  // one (real), or two (real, imaginary) for complex

  bool cut(int64_t dim) const {
    return !from.empty() && from[static_cast<size_t>(dim)] > 2 * opts.edgeitems;
  }

  std::string scalar(const at::Tensor& x) const {
    if (fmts.size() == 1) return fmts[0](x);
    const at::Tensor re = at::real(x), im = at::imag(x);
    std::string i = fmts[1](im.abs());
    const bool neg = im.item<double>() < 0 || std::signbit(im.item<double>());
    // Keep the sign next to the imaginary part: "1.+2.j", "1.-2.j".
    auto first = i.find_first_not_of(' ');
    i.insert(first == std::string::npos ? 0 : first, neg ? "-" : "+");
    if (i.size() > 1 && i[0] == ' ') i.erase(0, 1);
    return fmts[0](re) + i + "j";
  }

  // Rendering of t (a view at depth `dim` of the shown tensor) with `indent` columns of
  // continuation indent.
  std::string render(const at::Tensor& t, int64_t dim, size_t indent) const {
    if (t.dim() == 0) return scalar(t);
    const int64_t n = t.size(0);
    const bool summarise = cut(dim);
    const int64_t e = opts.edgeitems;
    std::vector<std::string> items;
    for (int64_t i = 0; i < n; ++i) {
      if (summarise && i == e) items.emplace_back("...");
      items.push_back(render(t[i], dim + 1, indent + 1));
    }
    if (t.dim() == 1) {
      // Wrap long rows: as many items per line as fit in the line width.
      const size_t item_w =
          items.empty() ? 1 : std::max_element(items.begin(), items.end(), [](auto& a, auto& b) {
                                return a.size() < b.size();
                              })->size();
      const size_t per_line = std::max<size_t>(
          1, (static_cast<size_t>(opts.linewidth) - std::min<size_t>(indent + 1, 60)) / (item_w + 2));
      std::string s = "[";
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) s += (i % per_line == 0) ? ",\n" + std::string(indent + 1, ' ') : ", ";
        s += items[i];
      }
      return s + "]";
    }
    const std::string sep =
        "," + std::string(static_cast<size_t>(t.dim() - 1), '\n') + std::string(indent + 1, ' ');
    std::string s = "[";
    for (size_t i = 0; i < items.size(); ++i) s += (i ? sep : "") + items[i];
    return s + "]";
  }
};

std::string device_str(const DNDarray& a) {
  const at::Device d = a.larray().device();
  return fmt::format("{}:{}", d.is_cpu() ? "cpu" : "gpu", d.has_index() ? d.index() : 0);
}

}  // namespace

std::string format_tensor(const at::Tensor& t, const std::string& prefix, const PrintOptions& opts,
                          const Shape& summarised_from) {
  at::Tensor c = t.cpu();
  std::vector<Formatter> fmts;
  if (at::isComplexType(c.scalar_type())) {
    fmts.emplace_back(at::real(c), opts.precision);
    fmts.emplace_back(at::imag(c).abs(), opts.precision);
  } else {
    fmts.emplace_back(c, opts.precision);
  }
  Printer pr{opts, summarised_from, std::move(fmts)};
  return pr.render(c, 0, prefix.size());
}

std::string to_string(const DNDarray& a, const PrintOptions& opts) {
  const std::string prefix = "DNDarray(";
  at::Tensor shown;
  Shape from;
  if (a.numel() <= opts.threshold) {
    shown = allgather(a);
  } else {
    // Keep only the edge items of every axis; along the split axis each rank selects
    // the ones it owns, and only those travel.
    from = a.gshape();
    const int64_t e = opts.edgeitems;
    at::Tensor local = a.larray();
    Shape small = a.gshape();
    std::vector<int64_t> counts;
    for (int64_t d = 0; d < a.ndim(); ++d) {
      const int64_t n = a.gshape()[static_cast<size_t>(d)];
      if (n <= 2 * e) continue;
      small[static_cast<size_t>(d)] = 2 * e;
      std::vector<int64_t> keep;
      for (int64_t i = 0; i < e; ++i) keep.push_back(i);
      for (int64_t i = n - e; i < n; ++i) keep.push_back(i);
      if (a.split() && *a.split() == d) {
        for (int r = 0; r < a.comm().size(); ++r) {
          const Chunk c = a.chunk(r);
          counts.push_back(std::count_if(keep.begin(), keep.end(),
                                         [&](int64_t i) { return i >= c.offset && i < c.end(); }));
        }
        const Chunk c = a.chunk();
        std::vector<int64_t> mine;
        for (int64_t i : keep)
          if (i >= c.offset && i < c.end()) mine.push_back(i - c.offset);
        keep = mine;
      }
      local = local.index_select(d, at::tensor(keep, at::kLong).to(local.device()));
    }
    if (a.split() && counts.empty()) counts = a.counts();  // split axis short enough to keep whole
    shown = allgather(DNDarray(local.contiguous(), small, a.split(), a.comm(),
                               a.split() ? counts : std::vector<int64_t>{}));
  }
  return fmt::format("{}{}, dtype={}, device={}, split={})", prefix,
                     format_tensor(shown, prefix, opts, from), dtype_name(a.dtype()), device_str(a),
                     split_str(a.split()));
}

std::ostream& operator<<(std::ostream& os, const DNDarray& a) { return os << to_string(a); }

std::string distribution_table(const DNDarray& a) {
  const int p = a.comm().size();
  std::string s = fmt::format("{} {} split={} on {} rank{}", shape_str(a.gshape()),
                              dtype_name(a.dtype()), split_str(a.split()), p, p == 1 ? "" : "s");
  if (!a.split()) {
    return s + fmt::format(": replicated, every rank holds all of it ({})\n", human_bytes(a.gnbytes()));
  }
  s += a.is_balanced() ? " (balanced)\n" : " (unbalanced)\n";
  const int64_t ax = *a.split();
  const int64_t n = a.gshape()[static_cast<size_t>(ax)];
  const int64_t esize = static_cast<int64_t>(a.larray().element_size());
  const auto lmap = a.lshape_map();
  std::vector<std::string> ranges, shapes, bytes;
  for (int r = 0; r < p; ++r) {
    const Chunk c = a.chunk(r);
    ranges.push_back(fmt::format("[{}, {})", c.offset, c.end()));
    shapes.push_back(shape_str(lmap[static_cast<size_t>(r)]));
    bytes.push_back(human_bytes(shape_numel(lmap[static_cast<size_t>(r)]) * esize));
  }
  auto widest = [](const std::vector<std::string>& v, size_t at_least) {
    size_t w = at_least;
    for (const auto& x : v) w = std::max(w, x.size());
    return w;
  };
  const std::string range_head = fmt::format("axis {} range", ax);
  const size_t wr = widest(ranges, range_head.size()), ws = widest(shapes, 6), wb = widest(bytes, 5);
  s += fmt::format("{:>4}  {:<{}}  {:<{}}  {:>{}}  share\n", "rank", range_head, wr, "lshape", ws,
                   "bytes", wb);
  constexpr int kBar = 30;
  for (int r = 0; r < p; ++r) {
    const int64_t cnt = a.counts()[static_cast<size_t>(r)];
    const int len = n > 0 ? static_cast<int>((cnt * kBar + n - 1) / n) : 0;
    std::string bar;
    for (int i = 0; i < len; ++i) bar += "\u2588";
    s += fmt::format("{:>4}  {:<{}}  {:<{}}  {:>{}}  {}\n", r, ranges[static_cast<size_t>(r)], wr,
                     shapes[static_cast<size_t>(r)], ws, bytes[static_cast<size_t>(r)], wb, bar);
  }
  return s;
}

}  // namespace dnd
