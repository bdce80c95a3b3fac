// Rendering of file listings and distribution maps for `dnd inspect`.
#include "io/inspect.h"

#include "src/core/distribution.h"
#include "src/core/error.h"
#include "src/core/text.h"
#include "src/core/limits.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace dnd::io {

std::vector<RankBlock> distribution_map(const Shape& shape, Split split, int64_t itemsize, int nranks) {
  if (nranks < 1)
    throw ValueError(fmt::format("inspect: the rank count must be positive, got {}", nranks));
  const auto ndim = static_cast<int64_t>(shape.size());
  if (split && ndim == 0) throw ValueError("inspect: a 0-d array cannot be split");
  if (split) split = normalize_axis(*split, ndim, "inspect");
  std::vector<RankBlock> out;
  for (int r = 0; r < nranks; ++r) {
    if (nranks > 2 * kMapEdge && r == kMapEdge) r = nranks - kMapEdge;
    RankBlock b;
    b.rank = r;
    if (split) {
      const Chunk c = balanced_chunk(shape[static_cast<size_t>(*split)], r, nranks);
      b.start = c.offset, b.stop = c.end();
      b.lshape = local_shape(shape, split, c.count);
    } else {
      b.stop = ndim > 0 ? shape[0] : 1;
      b.lshape = shape;
    }
    b.bytes = checked_numel(b.lshape, itemsize);
    out.push_back(b);
  }
  return out;
}

int map_ranks(const std::vector<RankBlock>& map) { return map.empty() ? 0 : map.back().rank + 1; }

std::string listing_text(const std::string& path, const std::vector<Entry>& entries) {
  std::string s = fmt::format("{}\n", path);
  s += fmt::format("  {:<28} {:<16} {:<20} {:<11} {:<14} {:<16} {:>10}\n", "path", "shape", "dtype",
                   "layout", "chunks", "compression", "bytes");
  // Attributes follow their object, one per line.
  const auto attrs = [&s](const Entry& e) {
    for (const auto& [k, v] : e.attrs) s += fmt::format("      @{} = {}\n", k, v);
  };
  for (const Entry& e : entries) {
    if (e.is_group) {
      s += fmt::format("  {:<28} (group)\n", e.path);
      attrs(e);
      continue;
    }
    const ArrayInfo& i = e.info;
    s += fmt::format("  {:<28} {:<16} {:<20} {:<11} {:<14} {:<16} {:>10}\n", e.path, shape_str(i.shape),
                     i.supported ? dtype_name(i.dtype) : i.type + " (unsupported)", i.layout,
                     i.chunks.empty() ? "-" : shape_str(i.chunks),
                     i.compression.empty() ? "-" : i.compression, human_bytes(i.nbytes));
    attrs(e);
  }
  return s;
}

std::string map_text(const ArrayInfo& info, Split split, const std::vector<RankBlock>& map, int width) {
  const int64_t n = split ? info.shape[static_cast<size_t>(*split)] : 0;
  std::string s =
      fmt::format("distribution of {} {} {} over {} ranks, split={}\n",
                  info.dataset.empty() ? std::string("array") : info.dataset, shape_str(info.shape),
                  dtype_name(info.dtype), map_ranks(map), split_str(split));
  const std::string range_head = split ? fmt::format("axis {} range", *split) : "range";
  s += fmt::format("  {:>4}  {:<20} {:<18} {:>10}  {}\n", "rank", range_head, "local shape", "bytes",
                   "block");
  const char marks[] = "#=*+%@ox";
  int next = 0;  // the rank expected next: a gap is the summarised middle
  for (const RankBlock& b : map) {
    if (b.rank != next) s += fmt::format("  {:>4}  ({} ranks not shown)\n", "...", b.rank - next);
    next = b.rank + 1;
    std::string bar(static_cast<size_t>(width), '.');
    if (!split) {
      bar.assign(static_cast<size_t>(width), marks[b.rank % 8]);
    } else if (n > 0 && b.stop > b.start) {
      auto col = [&](int64_t i) { return static_cast<size_t>(i * width / n); };
      const size_t from = col(b.start), to = std::max(col(b.stop), from + 1);
      for (size_t c = from; c < to && c < bar.size(); ++c) bar[c] = marks[b.rank % 8];
    }
    const std::string range = split ? fmt::format("[{}, {})", b.start, b.stop) : "all";
    s += fmt::format("  {:>4}  {:<20} {:<18} {:>10}  |{}|\n", b.rank, range, shape_str(b.lshape),
                     human_bytes(b.bytes), bar);
  }
  return s;
}

namespace {

std::string xml_escape(const std::string& in) {
  std::string s;
  for (char c : in) {
    switch (c) {
      case '<':
        s += "&lt;";
        break;
      case '>':
        s += "&gt;";
        break;
      case '&':
        s += "&amp;";
        break;
      case '"':
        s += "&quot;";
        break;
      default:
        s += c;
    }
  }
  return s;
}

// matplotlib's tab10, like DistArray's distribution plots.
constexpr const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

}  // namespace

std::string map_svg(const ArrayInfo& info, Split split, const std::vector<RankBlock>& map) {
  // The array as a W x H rectangle: rows down, the rest across. Split 0 cuts it into
  // horizontal bands, a later split into vertical ones, none draws every rank's copy.
  const int W = 640, H = 360, M = 40;
  const int64_t n = split ? info.shape[static_cast<size_t>(*split)] : 0;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n",
      W + 2 * M, H + 2 * M + 20, W + 2 * M, H + 2 * M + 20);
  s += fmt::format(
      "<title>{}</title>\n",
      xml_escape(fmt::format("{} {} {} split={} over {} ranks", info.dataset, shape_str(info.shape),
                             dtype_name(info.dtype), split_str(split), map_ranks(map))));
  s += fmt::format(
      "<text x=\"{}\" y=\"{}\">{}</text>\n", M, M - 14,
      xml_escape(fmt::format("{} {} {}, split={}, {} ranks", info.dataset, shape_str(info.shape),
                             dtype_name(info.dtype), split_str(split), map_ranks(map))));
  const size_t p = static_cast<size_t>(map_ranks(map));
  for (const RankBlock& b : map) {
    double x = M, y = M, w = W, h = H;
    if (!split) {  // replicated: one thin full copy per rank
      h = static_cast<double>(H) / static_cast<double>(p);
      y = M + h * b.rank;
    } else if (n == 0 || b.stop == b.start) {
      continue;
    } else if (*split == 0) {
      y = M + static_cast<double>(H) * static_cast<double>(b.start) / static_cast<double>(n);
      h = static_cast<double>(H) * static_cast<double>(b.stop - b.start) / static_cast<double>(n);
    } else {
      x = M + static_cast<double>(W) * static_cast<double>(b.start) / static_cast<double>(n);
      w = static_cast<double>(W) * static_cast<double>(b.stop - b.start) / static_cast<double>(n);
    }
    s += fmt::format(
        "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\" "
        "stroke=\"white\" "
        "stroke-width=\"1\"><title>rank {}: {} {}</title></rect>\n",
        x, y, w, h, kColors[b.rank % 10], b.rank, shape_str(b.lshape), xml_escape(human_bytes(b.bytes)));
    if (w >= 40 && h >= 14)
      s += fmt::format(
          "<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\" fill=\"white\">rank {}</text>\n",
          x + w / 2, y + h / 2 + 4, b.rank);
  }
  s += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"black\"/>\n", M, M, W,
      H);
  s += fmt::format(
      "<text x=\"{}\" y=\"{}\">{}</text>\n", M, H + M + 18,
      xml_escape(split ? fmt::format("axis {} is cut into {} blocks ({} along it)", *split, p, n)
                       : "replicated: every rank holds the whole array"));
  s += "</svg>\n";
  return s;
}

std::string inspect_json(const std::string& path, const std::vector<Entry>& entries,
                         const ArrayInfo* selected, Split split, const std::vector<RankBlock>& map) {
  using json = nlohmann::ordered_json;
  const auto attrs = [](const Entry& e) {
    json a = json::object();
    for (const auto& [k, v] : e.attrs) a[k] = v;
    return a;
  };
  json list = json::array();
  for (const Entry& e : entries) {
    if (e.is_group) {
      list.push_back({{"path", e.path}, {"kind", "group"}, {"attrs", attrs(e)}});
      continue;
    }
    const ArrayInfo& i = e.info;
    list.push_back({{"path", e.path},
                    {"kind", "dataset"},
                    {"shape", i.shape},
                    {"dtype", i.supported ? dtype_name(i.dtype) : i.type},
                    {"supported", i.supported},
                    {"layout", i.layout},
                    {"chunks", i.chunks.empty() ? json(nullptr) : json(i.chunks)},
                    {"compression", i.compression.empty() ? json(nullptr) : json(i.compression)},
                    {"nbytes", i.nbytes},
                    {"storage_bytes", i.storage_bytes},
                    {"attrs", attrs(e)}});
  }
  json out = {{"file", path},
              {"format", entries.empty() ? "" : format_name(entries.back().info.format)},
              {"entries", std::move(list)},
              {"distribution", nullptr}};
  if (selected) {
    json ranks = json::array();
    for (const RankBlock& b : map)
      ranks.push_back({{"rank", b.rank},
                       {"start", b.start},
                       {"stop", b.stop},
                       {"lshape", b.lshape},
                       {"bytes", b.bytes}});
    out["distribution"] = {{"dataset", selected->dataset},
                           {"shape", selected->shape},
                           {"dtype", dtype_name(selected->dtype)},
                           {"split", split ? json(*split) : json(nullptr)},
                           {"nranks", map_ranks(map)},
                           {"ranks", std::move(ranks)}};
  }
  // Names from a file are not necessarily UTF-8: replace what is not.
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace dnd::io
