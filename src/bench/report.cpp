#include "src/bench/report.h"

#include "src/core/error.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace dnd::bench {

namespace {

bool finite(double v) { return std::isfinite(v); }

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

std::string csv_num(double v) { return finite(v) ? fmt::format("{:.9g}", v) : ""; }

// Text for a table cell: "-" for a figure that does not exist.
std::string cell(double v, const char* fmtstr) {
  return finite(v) ? fmt::format(fmt::runtime(fmtstr), v) : "-";
}

// "name value<sep>name value": a row's extra figures.
std::string extras_text(const std::vector<Extra>& extras, const char* sep) {
  std::string o;
  for (const Extra& e : extras)
    o += fmt::format("{}{}: {}", o.empty() ? "" : sep, e.name, cell(e.value, "{:.4g}"));
  return o;
}

// ---- SVG ---------------------------------------------------------------------------

// A "nice" tick step for an axis from 0 to v: 1, 2, 2.5 or 5 times a power of ten, at
// most 5 steps.
double nice_step(double v) {
  if (!(v > 0)) return 0.25;
  const double raw = v / 5, p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= raw * (1 - 1e-12)) return m * p;
  return 10 * p;
}

// Three significant digits: the ticks are 1, 2, 2.5 or 5 times a power of ten, times a
// small integer (12.5, 17.5).
std::string tick_label(double v) {
  if (v == 0) return "0";
  return fmt::format("{:.3g}", v);
}

struct Series {
  std::string name, color;
  std::vector<double> y;  // NaN: no point
  bool dashed = false;
  std::vector<double> lo, hi;  // when given: a bar from lo to hi at each point (min / max)
  std::string cls;             // the polyline's class; "" for "ideal" (dashed) or "measured"
};

// A y axis: linear (from 0, or below 0 for negative values) or log10 (positive values
// only), with its ticks.
struct Axis {
  bool log = false;
  double lo = 0, hi = 1;  // linear: values; log: decades
  std::vector<double> ticks;
};

Axis y_axis(const std::vector<Series>& series, bool log) {
  double top = 0, bottom = 0, pos_lo = kNaN, pos_hi = kNaN;
  for (const Series& s : series)
    for (const std::vector<double>* ys : {&s.y, &s.lo, &s.hi})
      for (double v : *ys) {
        if (!finite(v)) continue;
        top = std::max(top, v);
        bottom = std::min(bottom, v);
        if (v > 0) {
          pos_lo = std::isnan(pos_lo) ? v : std::min(pos_lo, v);
          pos_hi = std::isnan(pos_hi) ? v : std::max(pos_hi, v);
        }
      }
  Axis a;
  if (log && !std::isnan(pos_lo)) {
    a.log = true;
    a.lo = std::floor(std::log10(pos_lo) + 1e-9);
    a.hi = std::ceil(std::log10(pos_hi) - 1e-9);
    if (a.hi <= a.lo) a.hi = a.lo + 1;
    // Decades; with few of them, 2 and 5 times each too.
    for (int d = static_cast<int>(a.lo); d <= static_cast<int>(a.hi); ++d)
      for (double m : {1.0, 2.0, 5.0})
        if ((m == 1.0 || a.hi - a.lo <= 2) && d + std::log10(m) <= a.hi + 1e-9)
          a.ticks.push_back(m * std::pow(10.0, d));
    return a;
  }
  const double step = nice_step(top - bottom);
  const int below = static_cast<int>(std::ceil(-bottom / step - 1e-9));
  const int above = std::max(below == 0 ? 1 : 0, static_cast<int>(std::ceil(top / step - 1e-9)));
  a.lo = -step * below;
  a.hi = step * above;
  for (int i = -below; i <= above; ++i) a.ticks.push_back(step * i);
  return a;
}

// One panel: x is the rank count on a log2 axis, padded so that the markers and bars of
// the first and last rank counts stay inside the frame; y linear (from 0) or, with
// `log`, log10 (a log-log plot).
std::string panel(double x0, double y0, double w, double h, const std::string& title,
                  const std::string& ylabel, const std::vector<int>& ranks,
                  const std::vector<Series>& series, bool log = false) {
  const double left = 62, right = 14, top = 28, bottom = 40, pad = 16;
  const double pw = w - left - right, ph = h - top - bottom;
  const Axis ax = y_axis(series, log);
  const double l0 = std::log2(static_cast<double>(ranks.front()));
  const double l1 = std::log2(static_cast<double>(ranks.back()));
  auto px = [&](int r) {
    if (l1 == l0) return x0 + left + pw / 2;
    return x0 + left + pad + (std::log2(static_cast<double>(r)) - l0) / (l1 - l0) * (pw - 2 * pad);
  };
  auto py = [&](double v) {
    if (ax.log) return v > 0 ? y0 + top + ph - (std::log10(v) - ax.lo) / (ax.hi - ax.lo) * ph : kNaN;
    return y0 + top + ph - (v - ax.lo) / (ax.hi - ax.lo) * ph;
  };

  std::string o = fmt::format(
      "<g class=\"panel\" data-y-scale=\"{}\">\n<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" "
      "font-size=\"14\" font-weight=\"bold\">{}</text>\n",
      ax.log ? "log" : "linear", x0 + left + pw / 2, y0 + 18, xml_escape(title));
  o += fmt::format(
      "<rect class=\"frame\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" "
      "stroke=\"#444\"/>\n",
      x0 + left, y0 + top, pw, ph);
  for (double v : ax.ticks) {
    o += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n",
                     x0 + left, py(v), x0 + left + pw, py(v));
    o += fmt::format(
        "<text class=\"tick\" data-value=\"{:.17g}\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" "
        "font-size=\"11\">{}</text>\n",
        v, x0 + left - 5, py(v) + 4, tick_label(v));
  }
  for (int r : ranks)
    o += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"11\">{}</text>\n", px(r),
        y0 + top + ph + 15, r);
  o += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"12\">ranks</text>\n",
      x0 + left + pw / 2, y0 + h - 6);
  o += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"12\" "
      "transform=\"rotate(-90 {:.1f} {:.1f})\">{}</text>\n",
      x0 + 14, y0 + top + ph / 2, x0 + 14, y0 + top + ph / 2,
      xml_escape(ax.log ? ylabel + " (log)" : ylabel));
  for (const Series& s : series) {
    std::string pts;
    for (size_t i = 0; i < ranks.size(); ++i)
      if (finite(s.y[i]) && finite(py(s.y[i])))
        pts += fmt::format("{}{:.1f},{:.1f}", pts.empty() ? "" : " ", px(ranks[i]), py(s.y[i]));
    if (pts.empty()) continue;
    const std::string cls = !s.cls.empty() ? s.cls : s.dashed ? "ideal" : "measured";
    o += fmt::format(
        "<polyline class=\"{}\" data-name=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{}\" "
        "stroke-width=\"2\"{}/>\n",
        cls, xml_escape(s.name), pts, s.color, s.dashed ? " stroke-dasharray=\"6 4\"" : "");
    for (size_t i = 0; i < s.lo.size() && i < ranks.size(); ++i)
      if (finite(s.lo[i]) && finite(s.hi[i]) && finite(py(s.lo[i])) && finite(py(s.hi[i])))
        o += fmt::format(
            "<line class=\"range\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
            "stroke=\"{3}\" stroke-width=\"1.5\"><title>min {4}, max {5}</title></line>\n",
            px(ranks[i]), py(s.lo[i]), py(s.hi[i]), s.color, tick_label(s.lo[i]), tick_label(s.hi[i]));
    if (!s.dashed)
      for (size_t i = 0; i < ranks.size(); ++i)
        if (finite(s.y[i]) && finite(py(s.y[i])))
          o += fmt::format(
              "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"><title>{}{} ranks: {}</title>"
              "</circle>\n",
              px(ranks[i]), py(s.y[i]), s.color, s.cls == "step" ? s.name + ", " : "", ranks[i],
              tick_label(s.y[i]));
  }
  return o + "</g>\n";
}

// "a + b + c" for --time's steps.
std::string timed_text(const Context& c) {
  std::string t;
  for (const std::string& n : c.timed) t += (t.empty() ? "" : " + ") + n;
  return t;
}

// The machine in one line, for the table and the plots.
std::string machine_text(const Context& c) {
  std::string hosts;
  for (size_t i = 0; i < c.hosts.size() && i < 4; ++i) hosts += (i ? ", " : "") + c.hosts[i];
  if (c.hosts.size() > 4) hosts += ", ...";
  return fmt::format("{}: {} core{} ({}); {} thread{} per rank; {} node{}{}",
                     c.host.empty() ? "host" : c.host, c.cores, c.cores == 1 ? "" : "s",
                     c.cpu_model.empty() ? "unknown CPU" : c.cpu_model, c.threads,
                     c.threads == 1 ? "" : "s", c.nodes, c.nodes == 1 ? "" : "s",
                     c.nodes > 1 ? " (" + hosts + ")" : "");
}

// The SVG's start: its size, a white background, the title, a subtitle, the machine and
// the oversubscription warning; returns the height used.
std::string svg_head(double W, double H, const std::string& title, const std::string& subtitle,
                     const Context& c, double* used) {
  std::string o = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\">\n<desc>dnd bench plot</desc>\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H);
  o += fmt::format("<text x=\"12\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
                   xml_escape(title));
  o += fmt::format("<text x=\"12\" y=\"38\" font-size=\"12\">{}</text>\n", xml_escape(subtitle));
  o +=
      fmt::format("<text class=\"machine\" x=\"12\" y=\"55\" font-size=\"12\" fill=\"#444\">{}</text>\n",
                  xml_escape(machine_text(c)));
  double y = 60;
  if (!c.warning.empty()) {  // in two lines, split after its first "; "
    const size_t cut = c.warning.find("; ");
    o += fmt::format(
        "<text class=\"warning\" x=\"12\" y=\"73\" font-size=\"12\" font-weight=\"bold\" "
        "fill=\"#c00000\">{}</text>\n",
        xml_escape(c.warning.substr(0, cut == std::string::npos ? cut : cut + 1)));
    if (cut != std::string::npos)
      o += fmt::format(
          "<text class=\"warning-more\" x=\"12\" y=\"88\" font-size=\"12\" fill=\"#c00000\">{}</text>\n",
          xml_escape(c.warning.substr(cut + 2)));
    y = 93;
  }
  *used = y;
  return o;
}

std::vector<const Row*> rows_of(const Study& s, const std::string& case_name, const std::string& mode) {
  std::vector<const Row*> rows;
  for (const Row& r : s.rows)
    if (r.case_name == case_name && r.mode == mode) rows.push_back(&r);
  return rows;
}

std::string plot(const Study& s, const std::string& case_name, const std::string& mode, bool log) {
  const std::vector<const Row*> rows = rows_of(s, case_name, mode);
  std::vector<int> ranks;
  std::vector<double> t, tmin, tmax, sp, eff, t_ideal, sp_ideal, eff_ideal;
  const Row& f = *rows.front();
  for (const Row* r : rows) {
    const double k = static_cast<double>(r->ranks) / f.ranks;
    ranks.push_back(r->ranks);
    t.push_back(r->t.median);
    tmin.push_back(r->t.min);
    tmax.push_back(r->t.max);
    sp.push_back(r->speedup);
    eff.push_back(r->efficiency);
    t_ideal.push_back(mode == "weak" ? f.t.median : f.t.median / k);
    sp_ideal.push_back(k);
    eff_ideal.push_back(1.0);
  }
  const double W = 960;
  const double extra = s.context.warning.empty() ? 0 : 33;
  const double H = 358 + extra;
  double y0 = 0;
  const std::string timed = timed_text(s.context);
  std::string o = svg_head(
      W, H, fmt::format("{}: {} scaling", case_name, mode),
      fmt::format("{} at {} rank{}{}; {}slowest rank, median of {} runs, bars min to max; ideal: {}",
                  f.shape, f.ranks, f.ranks == 1 ? "" : "s",
                  mode == "weak" ? ", grown with the ranks" : "",
                  timed.empty() ? "" : "time of " + timed + " only; ", f.times.size(),
                  mode == "weak" ? "constant time" : "time / ranks"),
      s.context, &y0);
  // Legend.
  o += "<line x1=\"700\" y1=\"16\" x2=\"730\" y2=\"16\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
       "<text x=\"736\" y=\"20\" font-size=\"12\">measured</text>\n"
       "<line x1=\"810\" y1=\"16\" x2=\"840\" y2=\"16\" stroke=\"#888\" stroke-width=\"2\" "
       "stroke-dasharray=\"6 4\"/>"
       "<text x=\"846\" y=\"20\" font-size=\"12\">ideal</text>\n";
  const double pw = W / 3, ph = H - y0;
  o += panel(
      0, y0, pw, ph, "time", "seconds", ranks,
      {{"ideal", "#888", t_ideal, true, {}, {}, ""}, {"median", "#1f77b4", t, false, tmin, tmax, ""}},
      log);
  o += panel(
      pw, y0, pw, ph, "speedup", mode == "weak" ? "scaled speedup" : "speedup", ranks,
      {{"ideal", "#888", sp_ideal, true, {}, {}, ""}, {"measured", "#1f77b4", sp, false, {}, {}, ""}},
      log);
  o += panel(
      2 * pw, y0, pw, ph, "efficiency", "efficiency", ranks,
      {{"ideal", "#888", eff_ideal, true, {}, {}, ""}, {"measured", "#1f77b4", eff, false, {}, {}, ""}});
  return o + "</svg>\n";
}

// Whether a case's runs have steps worth a plot and table lines of their own (two or
// more: one step is the run).
bool has_steps(const Study& s, const std::string& case_name) {
  for (const Row& r : s.rows)
    if (r.case_name == case_name) return r.steps.size() >= 2;
  return false;
}

// One line per step: its median (slowest rank) against the ranks, with the run's (or
// the timed steps') median.
std::string step_plot(const Study& s, const std::string& case_name, const std::string& mode, bool log) {
  static const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f"};
  const std::vector<const Row*> rows = rows_of(s, case_name, mode);
  const Row& f = *rows.front();
  std::vector<int> ranks;
  for (const Row* r : rows) ranks.push_back(r->ranks);
  std::vector<Series> series;
  const std::vector<std::string>& timed = s.context.timed;
  // The total first (drawn under the steps) and dashed: a timed step equal to it stays seen.
  Series total{timed.empty() ? "whole run" : "timed steps", "#000", {}, true, {}, {}, "total"};
  for (const Row* r : rows) total.y.push_back(r->t.median);
  series.push_back(total);
  for (size_t k = 0; k < f.steps.size(); ++k) {
    Series one;
    one.name = f.steps[k].name;
    one.color = palette[k % 10];
    one.dashed = false;
    one.cls = "step";
    for (const Row* r : rows)
      one.y.push_back(k < r->steps.size() && r->steps[k].name == one.name ? r->steps[k].t.median : kNaN);
    series.push_back(std::move(one));
  }

  const double W = 960, legend_x = 700;
  const double extra = s.context.warning.empty() ? 0 : 33;
  const double H = std::max(358.0 + extra, 100 + extra + 18.0 * static_cast<double>(series.size()));
  double y0 = 0;
  std::string o = svg_head(
      W, H, fmt::format("{}: {} scaling, per step", case_name, mode),
      fmt::format("{} at {} rank{}; each step's median of {} runs (slowest rank){}", f.shape, f.ranks,
                  f.ranks == 1 ? "" : "s", f.times.size(), timed.empty() ? "" : "; * timed (--time)"),
      s.context, &y0);
  o += panel(0, y0, legend_x, H - y0, "time per step", "seconds", ranks, series, log);
  double ly = y0 + 40;
  for (const Series& sr : series) {
    const bool is_timed = std::find(timed.begin(), timed.end(), sr.name) != timed.end();
    std::string name = sr.name.size() > 34 ? sr.name.substr(0, 33) + "..." : sr.name;
    o += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
        "stroke-width=\"2\"{}/>"
        "<text class=\"legend\" x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"12\">{}{}</text>\n",
        legend_x + 10, ly - 4, legend_x + 36, ly - 4, sr.color,
        sr.dashed ? " stroke-dasharray=\"6 4\"" : "", legend_x + 42, ly, is_timed ? "* " : "",
        xml_escape(name));
    ly += 18;
  }
  return o + "</svg>\n";
}

// A plot's file name: the case name with anything but [A-Za-z0-9.-] replaced.
std::string plot_file(const std::string& case_name, const std::string& mode, bool steps) {
  std::string file;
  for (char ch : case_name)
    file += std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' ? ch : '_';
  return fmt::format("plots/{}-{}{}.svg", file, mode, steps ? "-steps" : "");
}

// ---- files ------------------------------------------------------------------------------

void make_dirs(const std::string& dir) {
  std::string cur;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      if (!cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
        throw ValueError(fmt::format("cannot create directory {}: {}", cur, std::strerror(errno)));
    }
    if (i < dir.size()) cur += dir[i];
  }
}

void write_file(const std::string& path, const std::string& text) {
  // Written beside the target and renamed, so a reader never sees half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    f << text;
    if (!f) throw ValueError(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw ValueError(fmt::format("cannot rename {} to {}: {}", tmp, path, std::strerror(errno)));
}

}  // namespace

std::string format_table(const Study& s) {
  const Context& x = s.context;
  std::string o = "machine: " + machine_text(x) + "\n";
  if (!x.warning.empty()) o += x.warning + "\n";
  const bool cmp = !x.compare.empty();
  const bool timed = !x.timed.empty();
  for (const CaseInfo& c : s.cases) {
    std::vector<const Row*> rows;
    for (const Row& r : s.rows)
      if (r.case_name == c.name) rows.push_back(&r);
    if (rows.empty()) continue;
    o += fmt::format("\n{}  ({} at {} rank{})\n", c.name, rows.front()->shape, rows.front()->ranks,
                     rows.front()->ranks == 1 ? "" : "s");
    if (!c.unit.empty()) o += fmt::format("  {}: {}\n", c.unit, c.unit_doc);
    if (!c.solo.name.empty())
      o += fmt::format("  baseline: {}: {} {} ({:.4g} s){}\n", c.solo.name, cell(c.solo.value, "{:.3g}"),
                       c.unit, c.solo.seconds,
                       c.solo.extras.empty() ? "" : "; " + extras_text(c.solo.extras, "; "));
    if (!c.rank_baseline_name.empty())
      o += fmt::format("  baseline at each rank count: {}\n", c.rank_baseline_name);
    const bool steps = has_steps(s, c.name);
    if (timed)
      o += fmt::format("  times of {} only (--time, marked *); run s: the whole run\n", timed_text(x));
    if (steps)
      o += "  under each row its steps' median / min / max s, each the slowest rank's" +
           std::string(std::any_of(rows.front()->steps.begin(), rows.front()->steps.end(),
                                   [](const StepStats& st) { return st.name == "(outside steps)"; })
                           ? "; (outside steps): the run minus its steps"
                           : "") +
           "\n";
    // The figure and baseline columns only for a case with a unit (not for a pipeline).
    const bool fig = !c.unit.empty();
    o += fmt::format("  {:<6} {:>5} {:>10} {:>10} {:>10} {:>10} {:>8} {:>7}{}{}{}\n", "mode", "ranks",
                     c.size_name, "median s", "min s", "max s", "speedup", "effic.",
                     fig ? fmt::format(" {:>10} {:>9}", c.unit, "vs base") : "",
                     timed ? fmt::format(" {:>10}", "run s") : "",
                     cmp ? fmt::format(" {:>9}", "time/old") : "");
    for (const Row* r : rows) {
      o += fmt::format(
          "  {:<6} {:>5} {:>10} {:>10.4g} {:>10.4g} {:>10.4g} {:>8} {:>7}{}{}{}\n", r->mode, r->ranks,
          r->size, r->t.median, r->t.min, r->t.max, cell(r->speedup, "{:.2f}"),
          cell(r->efficiency * 100, "{:.0f}%"),
          fig ? fmt::format(" {:>10} {:>9}", cell(r->value, "{:.3g}"), cell(r->vs_baseline, "{:.2f}x"))
              : "",
          timed ? fmt::format(" {:>10}", cell(r->run.median, "{:.4g}")) : "",
          cmp ? fmt::format(" {:>9}", cell(r->ratio, "{:.2f}x")) : "");
      if (steps)
        for (const StepStats& st : r->steps) {
          const bool mark = std::find(x.timed.begin(), x.timed.end(), st.name) != x.timed.end();
          o += fmt::format("  {:<24} {:>10.4g} {:>10.4g} {:>10.4g}  {}{}\n", "", st.t.median, st.t.min,
                           st.t.max, mark ? "* " : "", st.name);
        }
      if (!r->extras.empty()) o += "         " + extras_text(r->extras, "; ") + "\n";
    }
  }
  return o;
}

namespace {

using nlohmann::ordered_json;

ordered_json jnum(double v) { return std::isfinite(v) ? ordered_json(v) : ordered_json(); }
ordered_json jstr_or_null(const std::string& v) { return v.empty() ? ordered_json() : ordered_json(v); }
ordered_json extras_json(const std::vector<Extra>& extras) {
  ordered_json a = ordered_json::array();
  for (const Extra& e : extras) a.push_back({{"name", e.name}, {"value", jnum(e.value)}});
  return a;
}
ordered_json jstats(const Stats& t) {
  return {{"median_s", jnum(t.median)}, {"min_s", jnum(t.min)}, {"max_s", jnum(t.max)}};
}

}  // namespace

std::string to_json(const Study& s) {
  const Context& c = s.context;
  ordered_json cases = ordered_json::array(), rows = ordered_json::array();
  for (const CaseInfo& k : s.cases)
    cases.push_back(
        {{"name", k.name},
         {"workload", k.workload},
         {"unit", k.unit},
         {"unit_doc", k.unit_doc},
         {"size_name", k.size_name},
         {"rank_baseline", jstr_or_null(k.rank_baseline_name)},
         {"baseline", k.solo.name.empty() ? ordered_json()
                                          : ordered_json{{"name", k.solo.name},
                                                         {"seconds", jnum(k.solo.seconds)},
                                                         {"value", jnum(k.solo.value)},
                                                         {"extras", extras_json(k.solo.extras)}}}});
  for (const Row& r : s.rows) {
    ordered_json times = ordered_json::array(), steps = ordered_json::array();
    for (double t : r.times) times.push_back(jnum(t));
    const ordered_json extras = extras_json(r.extras);
    for (const StepStats& st : r.steps) {
      ordered_json one = {{"name", st.name}};
      one.update(jstats(st.t));
      ordered_json st_times = ordered_json::array();
      for (double t : st.times) st_times.push_back(jnum(t));
      one["times_s"] = st_times;
      steps.push_back(one);
    }
    ordered_json run;  // null unless --time
    if (!r.run_times.empty()) {
      run = jstats(r.run);
      ordered_json run_times = ordered_json::array();
      for (double t : r.run_times) run_times.push_back(jnum(t));
      run["times_s"] = run_times;
    }
    ordered_json row = {{"case", r.case_name}, {"workload", r.workload}, {"mode", r.mode},
                        {"ranks", r.ranks},    {"size", r.size},         {"shape", r.shape}};
    row.update(jstats(r.t));
    row.update(ordered_json{{"times_s", times},
                            {"speedup", jnum(r.speedup)},
                            {"efficiency", jnum(r.efficiency)},
                            {"unit", r.unit},
                            {"value", jnum(r.value)},
                            {"baseline", jstr_or_null(r.baseline_name)},
                            {"baseline_value", jnum(r.baseline_value)},
                            {"vs_baseline", jnum(r.vs_baseline)},
                            {"old_median_s", jnum(r.old_median)},
                            {"ratio", jnum(r.ratio)},
                            {"run", run},
                            {"node_ranks", r.node_ranks},
                            {"node_cores", r.node_cores},
                            {"oversubscribed", r.oversubscribed},
                            {"steps", steps},
                            {"extras", extras}});
    rows.push_back(row);
  }
  const ordered_json j = {{"dnd_bench", 1},
                          {"context",
                           {{"host", c.host},
                            {"date", c.date},
                            {"dnd_version", c.version},
                            {"command", c.command},
                            {"source", c.source},
                            {"hash", c.hash},
                            {"launcher", c.launcher},
                            {"torch", c.torch},
                            {"blas", c.blas},
                            {"world_ranks", c.world_ranks},
                            {"threads_per_rank", c.threads},
                            {"repeat", c.repeat},
                            {"warmup", c.warmup},
                            {"compare", jstr_or_null(c.compare)},
                            {"timed", c.timed.empty() ? ordered_json() : ordered_json(c.timed)},
                            {"cpu_model", c.cpu_model},
                            {"cores", c.cores},
                            {"nodes", c.nodes},
                            {"hosts", c.hosts},
                            {"warning", jstr_or_null(c.warning)}}},
                          {"cases", cases},
                          {"rows", rows}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string to_csv(const Study& s) {
  const Context& c = s.context;
  std::string o =
      "case,workload,mode,ranks,size,shape,step,median_s,min_s,max_s,speedup,efficiency,value,unit,"
      "baseline,baseline_value,vs_baseline,old_median_s,ratio,host,date,dnd_version,threads_per_rank,"
      "world_ranks,hash,extras,cores,cpu_model,nodes,oversubscribed\n";
  const std::string ctx = fmt::format("{},{},{},{},{},{}", csv_field(c.host), csv_field(c.date),
                                      csv_field(c.version), c.threads, c.world_ranks, csv_field(c.hash));
  for (const Row& r : s.rows) {
    const std::string head =
        fmt::format("{},{},{},{},{},{}", csv_field(r.case_name), csv_field(r.workload), r.mode, r.ranks,
                    r.size, csv_field(r.shape));
    const std::string machine = fmt::format("{},{},{},{}", c.cores, csv_field(c.cpu_model), c.nodes,
                                            r.oversubscribed ? "true" : "false");
    o += fmt::format(
        "{},total,{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", head, csv_num(r.t.median),
        csv_num(r.t.min), csv_num(r.t.max), csv_num(r.speedup), csv_num(r.efficiency), csv_num(r.value),
        csv_field(r.unit), csv_field(r.baseline_name), csv_num(r.baseline_value), csv_num(r.vs_baseline),
        csv_num(r.old_median), csv_num(r.ratio), ctx, csv_field(extras_text(r.extras, "; ")), machine);
    // With --time, "total" is the timed steps' and "(whole run)" the run's.
    if (!r.run_times.empty())
      o += fmt::format("{},(whole run),{},{},{},,,,,,,,,,{},,{}\n", head, csv_num(r.run.median),
                       csv_num(r.run.min), csv_num(r.run.max), ctx, machine);
    for (const StepStats& st : r.steps)
      o += fmt::format("{},{},{},{},{},,,,,,,,,,{},,{}\n", head, csv_field(st.name),
                       csv_num(st.t.median), csv_num(st.t.min), csv_num(st.t.max), ctx, machine);
  }
  return o;
}

std::vector<std::pair<std::string, std::string>> svg_plots(const Study& s, const PlotOptions& o) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const CaseInfo& c : s.cases)
    for (const char* mode : {"strong", "weak"}) {
      const bool any = std::any_of(s.rows.begin(), s.rows.end(), [&](const Row& r) {
        return r.case_name == c.name && r.mode == mode;
      });
      if (!any) continue;
      out.emplace_back(plot_file(c.name, mode, false), plot(s, c.name, mode, o.log));
      if (has_steps(s, c.name))
        out.emplace_back(plot_file(c.name, mode, true), step_plot(s, c.name, mode, o.log));
    }
  return out;
}

bool is_bench_plot(const std::string& name, const std::string& head) {
  // The names svg_plots gives: [A-Za-z0-9._-]+ then -strong or -weak, -steps, .svg.
  std::string stem = name;
  if (stem.size() <= 4 || stem.compare(stem.size() - 4, 4, ".svg") != 0) return false;
  stem.resize(stem.size() - 4);
  if (stem.size() > 6 && stem.compare(stem.size() - 6, 6, "-steps") == 0) stem.resize(stem.size() - 6);
  bool mode = false;
  for (const std::string m : {"-strong", "-weak"})
    if (stem.size() > m.size() && stem.compare(stem.size() - m.size(), m.size(), m) == 0) {
      stem.resize(stem.size() - m.size());
      mode = true;
      break;
    }
  if (!mode) return false;
  for (char ch : stem)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '_'))
      return false;
  // And its contents: marked (or, from a dnd before the mark, an SVG of dnd bench's panels).
  if (head.find("<desc>dnd bench plot</desc>") != std::string::npos) return true;
  return head.rfind(
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"",
             0) == 0 &&
         head.find("<g class=\"panel\">") != std::string::npos;
}

namespace {

using nlohmann::json;

double num(const json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return kNaN;
  if (!it->is_number()) throw ValueError(fmt::format("\"{}\" is not a number", key));
  return it->get<double>();
}
std::string str(const json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return {};
  if (!it->is_string()) throw ValueError(fmt::format("\"{}\" is not a string", key));
  return it->get<std::string>();
}
int64_t integer(const json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return 0;
  if (!it->is_number_integer()) throw ValueError(fmt::format("\"{}\" is not an integer", key));
  return it->get<int64_t>();
}
Stats stats(const json& o) { return Stats{num(o, "median_s"), num(o, "min_s"), num(o, "max_s")}; }
const json& array_at(const json& o, const char* key) {
  static const json empty = json::array();
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return empty;
  if (!it->is_array()) throw ValueError(fmt::format("\"{}\" is not a list", key));
  return *it;
}
std::vector<Extra> extras_of(const json& o) {
  std::vector<Extra> v;
  for (const json& e : array_at(o, "extras"))
    if (e.is_object()) v.push_back(Extra{str(e, "name"), num(e, "value")});
  return v;
}

}  // namespace

Study read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ValueError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  const json root = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded())
    throw ValueError(fmt::format("{} is not a results.json of dnd bench: not JSON", path));
  if (!root.is_object() || !root.contains("dnd_bench") || !root.contains("rows") ||
      !root["rows"].is_array())
    throw ValueError(
        fmt::format("{} is not a results.json of dnd bench (no \"dnd_bench\" and \"rows\")", path));
  Study s;
  try {
    if (root.contains("context") && root["context"].is_object()) {
      const json& c = root["context"];
      Context& x = s.context;
      x.host = str(c, "host");
      x.date = str(c, "date");
      x.version = str(c, "dnd_version");
      x.command = str(c, "command");
      x.source = str(c, "source");
      x.hash = str(c, "hash");
      x.launcher = str(c, "launcher");
      x.torch = str(c, "torch");
      x.blas = str(c, "blas");
      x.world_ranks = static_cast<int>(integer(c, "world_ranks"));
      x.threads = static_cast<int>(integer(c, "threads_per_rank"));
      x.repeat = static_cast<int>(integer(c, "repeat"));
      x.warmup = static_cast<int>(integer(c, "warmup"));
      x.compare = str(c, "compare");
      for (const json& t : array_at(c, "timed"))
        if (t.is_string()) x.timed.push_back(t.get<std::string>());
      x.cpu_model = str(c, "cpu_model");
      x.cores = static_cast<int>(integer(c, "cores"));
      x.nodes = static_cast<int>(integer(c, "nodes"));
      for (const json& h : array_at(c, "hosts"))
        if (h.is_string()) x.hosts.push_back(h.get<std::string>());
      x.warning = str(c, "warning");
    }
    for (const json& k : array_at(root, "cases")) {
      if (!k.is_object()) throw ValueError("a case is not an object");
      CaseInfo ci;
      ci.name = str(k, "name");
      ci.workload = str(k, "workload");
      ci.unit = str(k, "unit");
      ci.unit_doc = str(k, "unit_doc");
      ci.size_name = str(k, "size_name");
      ci.rank_baseline_name = str(k, "rank_baseline");
      if (k.contains("baseline") && k["baseline"].is_object()) {
        const json& b = k["baseline"];
        ci.solo = Baseline{str(b, "name"), num(b, "seconds"), num(b, "value"), extras_of(b)};
      }
      s.cases.push_back(ci);
    }
    for (const json& n : root["rows"]) {
      if (!n.is_object()) throw ValueError("a row is not an object");
      Row r;
      r.case_name = str(n, "case");
      r.workload = str(n, "workload");
      r.mode = str(n, "mode");
      r.ranks = static_cast<int>(integer(n, "ranks"));
      r.size = integer(n, "size");
      r.shape = str(n, "shape");
      r.t = stats(n);
      for (const json& t : array_at(n, "times_s"))
        r.times.push_back(t.is_number() ? t.get<double>() : kNaN);
      for (const json& st : array_at(n, "steps"))
        if (st.is_object()) {
          StepStats one{str(st, "name"), stats(st), {}};
          for (const json& t : array_at(st, "times_s"))
            one.times.push_back(t.is_number() ? t.get<double>() : kNaN);
          r.steps.push_back(std::move(one));
        }
      if (n.contains("run") && n["run"].is_object()) {
        r.run = stats(n["run"]);
        for (const json& t : array_at(n["run"], "times_s"))
          r.run_times.push_back(t.is_number() ? t.get<double>() : kNaN);
      }
      r.node_ranks = static_cast<int>(integer(n, "node_ranks"));
      r.node_cores = static_cast<int>(integer(n, "node_cores"));
      if (n.contains("oversubscribed") && n["oversubscribed"].is_boolean())
        r.oversubscribed = n["oversubscribed"].get<bool>();
      r.extras = extras_of(n);
      r.speedup = num(n, "speedup");
      r.efficiency = num(n, "efficiency");
      r.unit = str(n, "unit");
      r.value = num(n, "value");
      r.baseline_name = str(n, "baseline");
      r.baseline_value = num(n, "baseline_value");
      r.vs_baseline = num(n, "vs_baseline");
      r.old_median = num(n, "old_median_s");
      r.ratio = num(n, "ratio");
      if (r.case_name.empty() || r.mode.empty() || r.ranks < 1 || !(r.t.median >= 0))
        throw ValueError("a row lacks its case, mode, ranks or median_s");
      s.rows.push_back(std::move(r));
    }
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("{}: {}", path, e.what()));
  }
  return s;
}

void prepare_output_dir(const std::string& dir) { make_dirs(dir + "/plots"); }

std::vector<std::string> write_outputs(const Study& s, const std::string& dir, const PlotOptions& o,
                                       std::vector<std::string>* removed) {
  make_dirs(dir + "/plots");
  std::vector<std::string> paths;
  write_file(dir + "/results.json", to_json(s));
  paths.push_back(dir + "/results.json");
  write_file(dir + "/results.csv", to_csv(s));
  paths.push_back(dir + "/results.csv");
  std::set<std::string> written;
  for (const auto& [name, svg] : svg_plots(s, o)) {
    write_file(dir + "/" + name, svg);
    paths.push_back(dir + "/" + name);
    written.insert(name.substr(name.find('/') + 1));
  }
  // A reused --out: the plots of an earlier study that this one did not write would pass
  // for its own. Only what dnd bench writes goes (its names and its mark); a user's other
  // files stay.
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> stale;
  int seen = 0;
  for (fs::directory_iterator it(dir + "/plots", ec), end; !ec && it != end && seen < 100000;
       it.increment(ec), ++seen) {
    const std::string name = it->path().filename().string();
    if (written.count(name) || !it->is_regular_file(ec)) continue;
    std::ifstream f(it->path(), std::ios::binary);
    std::string head(8192, '\0');
    f.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<size_t>(std::max<std::streamsize>(0, f.gcount())));
    if (is_bench_plot(name, head)) stale.push_back(it->path());
  }
  for (const fs::path& p : stale)
    if (fs::remove(p, ec) && removed) removed->push_back(p.string());
  return paths;
}

}  // namespace dnd::bench
