#include "src/bench/report.h"

#include "src/core/error.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

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

std::string tick_label(double v) {
  if (v == 0) return "0";
  if (std::fabs(v) >= 1000 || std::fabs(v) < 0.01) return fmt::format("{:.2g}", v);
  return fmt::format("{:.3g}", v);
}

struct Series {
  std::string name, color;
  std::vector<double> y;  // NaN: no point
  bool dashed = false;
  std::vector<double> lo, hi;  // when given: a bar from lo to hi at each point (min / max)
};

// One panel: x is the rank count on a log2 axis, y linear from 0.
std::string panel(double x0, double y0, double w, double h, const std::string& title,
                  const std::string& ylabel, const std::vector<int>& ranks,
                  const std::vector<Series>& series) {
  const double left = 62, right = 14, top = 28, bottom = 40;
  const double pw = w - left - right, ph = h - top - bottom;
  double top_value = 0;
  for (const Series& s : series)
    for (const std::vector<double>* ys : {&s.y, &s.hi})
      for (double v : *ys)
        if (finite(v)) top_value = std::max(top_value, v);
  const double step = nice_step(top_value);
  const int nticks = std::max(1, static_cast<int>(std::ceil(top_value / step - 1e-9)));
  const double ymax = step * nticks;
  const double l0 = std::log2(static_cast<double>(ranks.front()));
  const double l1 = std::log2(static_cast<double>(ranks.back()));
  auto px = [&](int r) {
    if (l1 == l0) return x0 + left + pw / 2;
    return x0 + left + (std::log2(static_cast<double>(r)) - l0) / (l1 - l0) * pw;
  };
  auto py = [&](double v) { return y0 + top + ph - v / ymax * ph; };

  std::string o = fmt::format(
      "<g class=\"panel\">\n<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" "
      "font-size=\"14\" font-weight=\"bold\">{}</text>\n",
      x0 + left + pw / 2, y0 + 18, xml_escape(title));
  o += fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" "
      "stroke=\"#444\"/>\n",
      x0 + left, y0 + top, pw, ph);
  for (int i = 0; i <= nticks; ++i) {
    const double v = step * i;
    o += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n",
                     x0 + left, py(v), x0 + left + pw, py(v));
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" font-size=\"11\">{}</text>\n",
                     x0 + left - 5, py(v) + 4, tick_label(v));
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
      x0 + 14, y0 + top + ph / 2, x0 + 14, y0 + top + ph / 2, xml_escape(ylabel));
  for (const Series& s : series) {
    std::string pts;
    for (size_t i = 0; i < ranks.size(); ++i)
      if (finite(s.y[i]))
        pts += fmt::format("{}{:.1f},{:.1f}", pts.empty() ? "" : " ", px(ranks[i]), py(s.y[i]));
    if (pts.empty()) continue;
    o += fmt::format(
        "<polyline class=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n",
        s.dashed ? "ideal" : "measured", pts, s.color, s.dashed ? " stroke-dasharray=\"6 4\"" : "");
    for (size_t i = 0; i < s.lo.size() && i < ranks.size(); ++i)
      if (finite(s.lo[i]) && finite(s.hi[i]))
        o += fmt::format(
            "<line class=\"range\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
            "stroke=\"{3}\" stroke-width=\"1.5\"><title>min {4}, max {5}</title></line>\n",
            px(ranks[i]), py(s.lo[i]), py(s.hi[i]), s.color, tick_label(s.lo[i]), tick_label(s.hi[i]));
    if (!s.dashed)
      for (size_t i = 0; i < ranks.size(); ++i)
        if (finite(s.y[i]))
          o += fmt::format(
              "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"><title>{} ranks: {}</title>"
              "</circle>\n",
              px(ranks[i]), py(s.y[i]), s.color, ranks[i], tick_label(s.y[i]));
  }
  return o + "</g>\n";
}

std::string plot(const Study& s, const std::string& case_name, const std::string& mode) {
  std::vector<const Row*> rows;
  for (const Row& r : s.rows)
    if (r.case_name == case_name && r.mode == mode) rows.push_back(&r);
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
  const double W = 960, H = 340;
  std::string o = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H);
  o += fmt::format(
      "<text x=\"12\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{}: {} scaling</text>\n",
      xml_escape(case_name), mode);
  o += fmt::format(
      "<text x=\"12\" y=\"38\" font-size=\"12\">{} at {} rank{}{}; slowest rank, median of {} "
      "runs, bars min to max; ideal: {}</text>\n",
      xml_escape(f.shape), f.ranks, f.ranks == 1 ? "" : "s",
      mode == "weak" ? ", grown with the ranks" : "", f.times.size(),
      mode == "weak" ? "constant time" : "time / ranks");
  // Legend.
  o += "<line x1=\"700\" y1=\"16\" x2=\"730\" y2=\"16\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
       "<text x=\"736\" y=\"20\" font-size=\"12\">measured</text>\n"
       "<line x1=\"810\" y1=\"16\" x2=\"840\" y2=\"16\" stroke=\"#888\" stroke-width=\"2\" "
       "stroke-dasharray=\"6 4\"/>"
       "<text x=\"846\" y=\"20\" font-size=\"12\">ideal</text>\n";
  const double pw = W / 3, y0 = 44, ph = H - y0;
  o += panel(0, y0, pw, ph, "time", "seconds", ranks,
             {{"ideal", "#888", t_ideal, true, {}, {}}, {"median", "#1f77b4", t, false, tmin, tmax}});
  o += panel(pw, y0, pw, ph, "speedup", mode == "weak" ? "scaled speedup" : "speedup", ranks,
             {{"ideal", "#888", sp_ideal, true, {}, {}}, {"measured", "#1f77b4", sp, false, {}, {}}});
  o += panel(2 * pw, y0, pw, ph, "efficiency", "efficiency", ranks,
             {{"ideal", "#888", eff_ideal, true, {}, {}}, {"measured", "#1f77b4", eff, false, {}, {}}});
  return o + "</svg>\n";
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
  std::string o;
  const bool cmp = !s.context.compare.empty();
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
    // The figure and baseline columns only for a case with a unit (not for a pipeline).
    const bool fig = !c.unit.empty();
    o += fmt::format("  {:<6} {:>5} {:>10} {:>10} {:>10} {:>10} {:>8} {:>7}{}{}\n", "mode", "ranks",
                     c.size_name, "median s", "min s", "max s", "speedup", "effic.",
                     fig ? fmt::format(" {:>10} {:>9}", c.unit, "vs base") : "",
                     cmp ? fmt::format(" {:>9}", "time/old") : "");
    for (const Row* r : rows) {
      o += fmt::format(
          "  {:<6} {:>5} {:>10} {:>10.4g} {:>10.4g} {:>10.4g} {:>8} {:>7}{}{}\n", r->mode, r->ranks,
          r->size, r->t.median, r->t.min, r->t.max, cell(r->speedup, "{:.2f}"),
          cell(r->efficiency * 100, "{:.0f}%"),
          fig ? fmt::format(" {:>10} {:>9}", cell(r->value, "{:.3g}"), cell(r->vs_baseline, "{:.2f}x"))
              : "",
          cmp ? fmt::format(" {:>9}", cell(r->ratio, "{:.2f}x")) : "");
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
      steps.push_back(one);
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
                            {"compare", jstr_or_null(c.compare)}}},
                          {"cases", cases},
                          {"rows", rows}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string to_csv(const Study& s) {
  const Context& c = s.context;
  std::string o =
      "case,workload,mode,ranks,size,shape,step,median_s,min_s,max_s,speedup,efficiency,value,unit,"
      "baseline,baseline_value,vs_baseline,old_median_s,ratio,host,date,dnd_version,threads_per_rank,"
      "world_ranks,hash,extras\n";
  const std::string ctx = fmt::format("{},{},{},{},{},{}", csv_field(c.host), csv_field(c.date),
                                      csv_field(c.version), c.threads, c.world_ranks, csv_field(c.hash));
  for (const Row& r : s.rows) {
    const std::string head =
        fmt::format("{},{},{},{},{},{}", csv_field(r.case_name), csv_field(r.workload), r.mode, r.ranks,
                    r.size, csv_field(r.shape));
    o += fmt::format("{},total,{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", head, csv_num(r.t.median),
                     csv_num(r.t.min), csv_num(r.t.max), csv_num(r.speedup), csv_num(r.efficiency),
                     csv_num(r.value), csv_field(r.unit), csv_field(r.baseline_name),
                     csv_num(r.baseline_value), csv_num(r.vs_baseline), csv_num(r.old_median),
                     csv_num(r.ratio), ctx, csv_field(extras_text(r.extras, "; ")));
    for (const StepStats& st : r.steps)
      o += fmt::format("{},{},{},{},{},,,,,,,,,,{},\n", head, csv_field(st.name), csv_num(st.t.median),
                       csv_num(st.t.min), csv_num(st.t.max), ctx);
  }
  return o;
}

std::vector<std::pair<std::string, std::string>> svg_plots(const Study& s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const CaseInfo& c : s.cases)
    for (const char* mode : {"strong", "weak"}) {
      const bool any = std::any_of(s.rows.begin(), s.rows.end(), [&](const Row& r) {
        return r.case_name == c.name && r.mode == mode;
      });
      if (!any) continue;
      // File names: the case name with anything but [A-Za-z0-9._-] replaced.
      std::string file;
      for (char ch : c.name)
        file += std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' ? ch : '_';
      out.emplace_back(fmt::format("plots/{}-{}.svg", file, mode), plot(s, c.name, mode));
    }
  return out;
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
        if (st.is_object()) r.steps.push_back(StepStats{str(st, "name"), stats(st)});
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

std::vector<std::string> write_outputs(const Study& s, const std::string& dir) {
  make_dirs(dir + "/plots");
  std::vector<std::string> paths;
  write_file(dir + "/results.json", to_json(s));
  paths.push_back(dir + "/results.json");
  write_file(dir + "/results.csv", to_csv(s));
  paths.push_back(dir + "/results.csv");
  for (const auto& [name, svg] : svg_plots(s)) {
    write_file(dir + "/" + name, svg);
    paths.push_back(dir + "/" + name);
  }
  return paths;
}

}  // namespace dnd::bench
