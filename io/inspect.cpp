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

namespace {

DatasetMap map_of(const ArrayInfo& info, Split split, int nranks) {
  DatasetMap m;
  m.info = info;
  m.map = distribution_map(info.shape, split, c10::elementSize(info.dtype), nranks);
  m.split =
      split ? Split(normalize_axis(*split, static_cast<int64_t>(info.shape.size()), "inspect")) : split;
  return m;
}

}  // namespace

InspectMaps inspect_maps(const std::vector<Entry>& entries, const ArrayInfo* selected, Split split,
                         int nranks) {
  InspectMaps out;
  out.split = split;
  if (selected) {
    out.maps.push_back(map_of(*selected, split, nranks));
    out.single = true;
    return out;
  }
  int64_t datasets = 0, considered = 0;
  for (const Entry& e : entries) {
    if (e.is_group) continue;
    ++datasets;
    if (!e.info.supported) continue;
    if (considered == kMaxMaps) {
      ++out.left_out;
      continue;
    }
    ++considered;
    try {
      out.maps.push_back(map_of(e.info, split, nranks));
    } catch (const ValueError& err) {
      if (nranks < 1) throw;  // the same for every dataset
      std::string why = err.what();
      if (why.rfind("inspect: ", 0) == 0) why.erase(0, 9);
      out.unmapped.emplace_back(e.path, why);
    }
  }
  if (out.maps.empty() && !out.unmapped.empty())
    throw ValueError(fmt::format("--split {} fits none of the datasets ({}: {})", split_str(split),
                                 out.unmapped[0].first, out.unmapped[0].second));
  out.single = datasets == 1 && out.maps.size() == 1;
  return out;
}

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

std::string map_text(const DatasetMap& m, int width) {
  const ArrayInfo& info = m.info;
  const Split split = m.split;
  const std::vector<RankBlock>& map = m.map;
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

std::string maps_text(const InspectMaps& maps) {
  std::string s;
  for (const DatasetMap& m : maps.maps) s += "\n" + map_text(m);
  if (!maps.unmapped.empty()) s += "\n";
  for (const auto& [dataset, why] : maps.unmapped)
    s += fmt::format("{}: not mapped: {} (split={})\n", dataset, why, split_str(maps.split));
  if (maps.left_out > 0)
    s += fmt::format("\n({} more dataset{} not mapped: the first {} are; name one with --dataset)\n",
                     maps.left_out, maps.left_out == 1 ? "" : "s", kMaxMaps);
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

namespace {

struct Svg {
  std::string s;
  void text(double x, double y, const std::string& t, const std::string& attrs = "") {
    s += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\"{}{}>{}</text>\n", x, y, attrs.empty() ? "" : " ",
                     attrs, xml_escape(t));
  }
  void line(double x1, double y1, double x2, double y2) {
    s += fmt::format(
        "<line class=\"tick\" x1=\"{:.2f}\" y1=\"{:.2f}\" x2=\"{:.2f}\" y2=\"{:.2f}\" "
        "stroke=\"black\"/>\n",
        x1, y1, x2, y2);
  }
};

std::string range_str(const RankBlock& b, Split split) {
  return split ? fmt::format("[{}, {})", b.start, b.stop) : "all";
}

}  // namespace

std::string map_svg(const DatasetMap& m) {
  const ArrayInfo& info = m.info;
  const Split split = m.split;
  const std::vector<RankBlock>& map = m.map;
  const auto ndim = static_cast<int64_t>(info.shape.size());
  const int p = map_ranks(map);
  const std::string name = info.dataset.empty() ? std::string("array") : info.dataset;
  // The array: rows (axis 0) down and the split axis (else axis 1) across, in a W x H
  // box; a 1-D (or 0-d) array is one bar, its only axis across.
  const bool bar = ndim <= 1;
  const int64_t across_axis = bar ? 0 : (split && *split > 0 ? *split : 1);
  const bool split_across = split && (bar || *split > 0);
  const double L = 70, T = 64, W = 560, H = bar ? 56 : 320;
  // Replicated: one copy per rank shown, stacked back to front (rank 0 in front), each
  // offset up and right by `d`.
  const size_t copies = split ? 1 : map.size();
  const double d = copies > 1 ? std::min(12.0, 96.0 / static_cast<double>(copies - 1)) : 0;
  const double depth = d * static_cast<double>(copies > 0 ? copies - 1 : 0);
  const double fw = W - depth, fx = L, fy = T + depth;  // the front copy (the array when split)
  const double LX = L + W + 40;                         // the legend
  const double row_h = 18;
  const size_t legend_lines = map.size() + 2 + (map.size() >= 2 * kMapEdge ? 1 : 0);
  const double width = LX + 380;
  const double height = std::max(fy + H + 70, T + row_h * static_cast<double>(legend_lines) + 30);

  Svg g;
  g.s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"dnd-map {}{}\" width=\"{:.0f}\" "
      "height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\" font-family=\"sans-serif\" font-size=\"12\">\n",
      split ? "split" : "replicated", bar ? " bar" : "", width, height, width, height);
  const std::string title = fmt::format("{} {} {}, split={}, {} ranks", name, shape_str(info.shape),
                                        dtype_name(info.dtype), split_str(split), p);
  g.s += fmt::format("<title>{}</title>\n", xml_escape(title));
  g.text(L, 22, title, "font-size=\"14\" font-weight=\"bold\"");
  if (!split) {
    // Hatching in each rank's colour on white (the copies behind do not show through):
    // the copies are the same data, not parts of it.
    g.s += "<defs>\n";
    for (size_t c = 0; c < 10; ++c)
      g.s += fmt::format(
          "<pattern id=\"hatch{}\" patternUnits=\"userSpaceOnUse\" width=\"8\" height=\"8\" "
          "patternTransform=\"rotate(45)\"><path d=\"M0,0 H8 V8 H0 Z\" fill=\"white\"/><path d=\"M2,0 "
          "V8\" stroke=\"{}\" stroke-width=\"3\"/></pattern>\n",
          c, kColors[c]);
    g.s += "</defs>\n";
  }

  // Where block b lies: its extent along the split axis, across or down.
  const int64_t n = split ? info.shape[static_cast<size_t>(*split)] : 0;
  const auto pos = [&](int64_t i, bool across) {
    return across ? fx + fw * static_cast<double>(i) / static_cast<double>(n)
                  : fy + H * static_cast<double>(i) / static_cast<double>(n);
  };
  const double lh = 14;  // a label line
  if (split) {
    int next = 0;  // a gap in the ranks is the summarised middle: said where it lies
    int64_t prev_stop = 0;
    for (const RankBlock& b : map) {
      if (b.rank != next && n > 0 && b.start > prev_stop) {
        const double a = pos(prev_stop, split_across), z = pos(b.start, split_across);
        if (z - a >= (split_across ? 120 : 14))
          g.text(split_across ? (a + z) / 2 : fx + fw / 2,
                 split_across ? fy + H / 2 + 4 : (a + z) / 2 + 4,
                 fmt::format("ranks {}-{} not shown", next, b.rank - 1),
                 "text-anchor=\"middle\" fill=\"gray\"");
      }
      next = b.rank + 1;
      prev_stop = b.stop;
      if (n == 0 || b.stop == b.start) continue;
      double x = fx, y = fy, w = fw, h = H;
      if (split_across)
        x = pos(b.start, true), w = pos(b.stop, true) - x;
      else
        y = pos(b.start, false), h = pos(b.stop, false) - y;
      g.s += fmt::format(
          "<rect class=\"block\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
          "fill=\"{}\" stroke=\"white\" stroke-width=\"1\"><title>rank {}: {} {} {}</title></rect>\n",
          x, y, w, h, kColors[b.rank % 10], b.rank, range_str(b, split), shape_str(b.lshape),
          xml_escape(human_bytes(b.bytes)));
      // As many of the label's lines as fit the block.
      const std::string lines[] = {fmt::format("rank {}", b.rank), range_str(b, split),
                                   shape_str(b.lshape), human_bytes(b.bytes)};
      const int fit = w < 44 ? 0 : std::min(4, static_cast<int>((h - 4) / lh));
      for (int k = 0; k < fit; ++k)
        g.text(x + w / 2, y + h / 2 - lh * (fit - 1) / 2.0 + lh * k + 4, lines[k],
               "text-anchor=\"middle\" fill=\"white\"");
    }
  } else {
    for (size_t k = copies; k-- > 0;) {
      const RankBlock& b = map[k];
      const double x = fx + d * static_cast<double>(k), y = fy - d * static_cast<double>(k);
      g.s += fmt::format(
          "<rect class=\"copy\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
          "fill=\"url(#hatch{})\" stroke=\"{}\" stroke-width=\"1.5\"><title>rank {}: a full copy, {} "
          "{}</title></rect>\n",
          x, y, fw, H, b.rank % 10, kColors[b.rank % 10], b.rank, shape_str(b.lshape),
          xml_escape(human_bytes(b.bytes)));
    }
    const std::string label =
        fmt::format("replicated: each of the {} ranks holds all of it ({} each)", p,
                    map.empty() ? std::string("0 B") : human_bytes(map[0].bytes));
    g.text(fx + fw / 2, fy + H / 2 + 4, label,
           "text-anchor=\"middle\" font-weight=\"bold\" stroke=\"white\" stroke-width=\"3\" "
           "paint-order=\"stroke\"");
  }
  g.s += fmt::format(
      "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"none\" "
      "stroke=\"black\"/>\n",
      fx, fy, fw, H);

  // Ticks: the block boundaries along the split axis (a label where there is room), the
  // ends of the other drawn axis.
  const double tick = 5;
  const auto across_tick = [&](double x, const std::string& label) {
    g.line(x, fy + H, x, fy + H + tick);
    g.text(x, fy + H + tick + 13, label, "text-anchor=\"middle\"");
  };
  const auto down_tick = [&](double y, const std::string& label) {
    g.line(fx - tick, y, fx, y);
    g.text(fx - tick - 3, y + 4, label, "text-anchor=\"end\"");
  };
  const int64_t across_n = ndim == 0 ? 1 : info.shape[static_cast<size_t>(across_axis)];
  if (split && n > 0) {
    const double end = pos(n, split_across), room = split_across ? 36 : 14;
    double last = -1e9;
    for (const RankBlock& b : map) {
      const double at = pos(b.start, split_across);
      if (b.stop == b.start || at - last < room || (last > -1e9 && end - at < room)) continue;
      split_across ? across_tick(at, std::to_string(b.start)) : down_tick(at, std::to_string(b.start));
      last = at;
    }
    split_across ? across_tick(end, std::to_string(n)) : down_tick(end, std::to_string(n));
  } else {
    across_tick(fx, "0");
    across_tick(fx + fw, std::to_string(across_n));
  }
  if (!bar && !(split && !split_across)) {
    down_tick(fy, "0");
    down_tick(fy + H, std::to_string(info.shape[0]));
  }
  if (split && !split_across && !bar) {
    across_tick(fx, "0");
    across_tick(fx + fw, std::to_string(across_n));
  }
  g.text(fx + fw / 2, fy + H + tick + 30,
         ndim == 0 ? std::string("a 0-d array: one value")
                   : fmt::format("axis {} ({}) across", across_axis, across_n),
         "text-anchor=\"middle\"");
  if (!bar)
    g.text(18, fy + H / 2, fmt::format("axis 0 ({}) down", info.shape[0]),
           fmt::format("text-anchor=\"middle\" transform=\"rotate(-90 18 {:.2f})\"", fy + H / 2));
  std::string caption = split ? fmt::format("axis {} is cut into {} blocks ({} along it)", *split, p, n)
                              : std::string("replicated: every rank holds the whole array");
  if (ndim > 2) caption += fmt::format("; axes other than 0 and {} are not drawn", across_axis);
  g.text(L, fy + H + tick + 50, caption);

  // The legend: every rank shown, with its range, local shape and bytes.
  double y = T + 4;
  g.text(LX, y,
         fmt::format("{:<6} {:<16} {:<14} {}", "rank",
                     split ? fmt::format("axis {} range", *split) : "range", "local shape", "bytes"),
         "font-family=\"monospace\" font-weight=\"bold\" xml:space=\"preserve\"");
  int next = 0;
  for (const RankBlock& b : map) {
    y += row_h;
    if (b.rank != next) {
      g.text(LX + 14, y, fmt::format("... {} ranks not shown", b.rank - next),
             "font-family=\"monospace\"");
      y += row_h;
    }
    next = b.rank + 1;
    g.s += fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"5\" fill=\"{}\"/>\n", LX + 4, y - 4,
                       kColors[b.rank % 10]);
    g.text(LX + 14, y,
           fmt::format("{:<5} {:<16} {:<14} {}", b.rank, range_str(b, split), shape_str(b.lshape),
                       human_bytes(b.bytes)),
           "class=\"legend\" font-family=\"monospace\" xml:space=\"preserve\"");
  }
  g.s += "</svg>\n";
  return g.s;
}

namespace {

nlohmann::ordered_json distribution_json(const DatasetMap& m) {
  using json = nlohmann::ordered_json;
  json ranks = json::array();
  for (const RankBlock& b : m.map)
    ranks.push_back({{"rank", b.rank},
                     {"start", b.start},
                     {"stop", b.stop},
                     {"lshape", b.lshape},
                     {"bytes", b.bytes}});
  return {{"dataset", m.info.dataset},         {"shape", m.info.shape},
          {"dtype", dtype_name(m.info.dtype)}, {"split", m.split ? json(*m.split) : json(nullptr)},
          {"nranks", map_ranks(m.map)},        {"ranks", std::move(ranks)}};
}

}  // namespace

std::string inspect_json(const std::string& path, const std::vector<Entry>& entries,
                         const InspectMaps& maps) {
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
  json all = json::array();
  for (const DatasetMap& m : maps.maps) all.push_back(distribution_json(m));
  json unmapped = json::array();
  for (const auto& [dataset, why] : maps.unmapped)
    unmapped.push_back({{"dataset", dataset}, {"reason", why}});
  json out = {{"file", path},
              {"format", entries.empty() ? "" : format_name(entries.back().info.format)},
              {"entries", std::move(list)},
              {"distribution", maps.single ? all[0] : json(nullptr)},
              {"distributions", std::move(all)},
              {"unmapped", std::move(unmapped)},
              {"distributions_left_out", maps.left_out}};
  // Names from a file are not necessarily UTF-8: replace what is not.
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace dnd::io
