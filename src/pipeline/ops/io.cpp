// The load and save ops (io/io.h). Both declare their files (OpDef::files), which the
// planner checks as a whole (src/pipeline/files.h). load reads the file's metadata at
// plan time, or takes it from the step that writes the file earlier in the run, so a
// missing file or dataset, or a slice out of range, fails before anything runs. save
// writes into the run's io::Outputs, committed after the last step.
#include "src/core/shape_ops.h"
#include "src/core/limits.h"
#include "io/io.h"
#include "src/pipeline/files.h"
#include "src/pipeline/ops/common.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace dnd::pipeline::ops {
namespace {

ParamSpec p_format() {
  return ParamSpec{"format",
                   ParamKind::choice,
                   "file format (auto: from the extension .h5/.hdf5/.nc, .npy, .csv)",
                   false,
                   "auto",
                   {"auto", "hdf5", "npy", "csv"}};
}

char delimiter_of(const Params& p) {
  const std::string d = p.string("delimiter");
  if (d == "\\t" || d == "tab") return '\t';
  if (d.size() != 1) throw ValueError(fmt::format("delimiter must be one character, got '{}'", d));
  return d[0];
}

std::string h5_dataset(const std::string& d) {
  if (d.empty()) return d;
  std::string p = d[0] == '/' ? d : "/" + d;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

FileUse file_use(const Params& p, bool write) {
  FileUse u;
  u.write = write;
  u.path = p.string("path");
  u.format = io::format_name(io::format_of(u.path, io::parse_format(p.string("format"))));
  if (u.format == "hdf5")
    u.dataset = h5_dataset(p.is_none("dataset") ? std::string() : p.string("dataset"));
  if (write) {
    u.append = p.string("mode") == "append";
    u.overwrite = p.boolean("overwrite");
  }
  return u;
}

// attrs: {name: value}: true/false, integers, floats, strings (quoted ones stay strings),
// lists of numbers.
std::vector<io::Attribute> attributes(const Params& p) {
  std::vector<io::Attribute> out;
  auto number = [](const YAML::Node& v, bool& is_int, int64_t& i, double& d) {
    if (v.Tag() == "!") return false;  // quoted: a string
    const std::string s = v.Scalar();
    char* end = nullptr;
    errno = 0;
    const long long ll = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && *end == '\0' && errno == 0) {
      is_int = true;
      i = ll;
      return true;
    }
    end = nullptr;
    const double x = std::strtod(s.c_str(), &end);
    if (!s.empty() && *end == '\0') {
      is_int = false;
      d = x;
      return true;
    }
    return false;
  };
  for (const auto& [name, v] : p.mapping("attrs")) {
    bool is_int = false;
    int64_t i = 0;
    double d = 0;
    if (v.IsSequence()) {
      std::vector<int64_t> ints;
      std::vector<double> reals;
      bool all_int = true;
      for (const YAML::Node& x : v) {
        if (!number(x, is_int, i, d))
          throw ValueError(fmt::format("save: attribute '{}': a list holds numbers only, not '{}'", name,
                                       x.Scalar()));
        all_int = all_int && is_int;
        ints.push_back(i);
        reals.push_back(is_int ? static_cast<double>(i) : d);
      }
      if (all_int)
        out.push_back({name, ints});
      else
        out.push_back({name, reals});
      continue;
    }
    const std::string s = v.Scalar();
    if (v.Tag() != "!" && (s == "true" || s == "false"))
      out.push_back({name, s == "true"});
    else if (number(v, is_int, i, d))
      out.push_back(is_int ? io::Attribute{name, i} : io::Attribute{name, d});
    else
      out.push_back({name, s});
  }
  for (const io::Attribute& a : out)
    if (a.name == "dnd_split")
      throw ValueError("save: attribute 'dnd_split' is dnd's own; choose another name");
  return out;
}

// The most characters dnd's CSV save writes per value of type t, delimiter included
// ("-1.2345678901234567e-308,"): the text a load of a CSV planned from a save reads.
int64_t csv_chars(Dtype t) {
  switch (t) {
    case at::kBool:
      return 2;
    case at::kByte:
    case at::kChar:
      return 5;
    case at::kShort:
      return 7;
    case at::kInt:
      return 12;
    case at::kLong:
      return 21;
    case at::kFloat:
      return 16;
    default:
      return 25;
  }
}

// Integers in `slice` select one entry and drop the axis (numpy): the file read keeps it
// (a one-entry slice), then the axis is squeezed away; `dropped` lists those axes.
io::LoadOptions load_options(const Params& p, Dtype default_dtype,
                             std::vector<int64_t>* dropped = nullptr) {
  io::LoadOptions o;
  o.dataset = p.is_none("dataset") ? std::string() : p.string("dataset");
  o.format = io::parse_format(p.string("format"));
  o.header_lines = p.integer("header");
  o.delimiter = delimiter_of(p);
  o.dtype = p.dtype("dtype", default_dtype);
  if (!p.is_none("missing")) o.missing = p.number("missing");
  if (!p.is_none("slice")) {
    for (const Index& ix : p.index("slice")) {
      if (const Slice* s = std::get_if<Slice>(&ix)) {
        o.slices.push_back(*s);
      } else if (const int64_t* i = std::get_if<int64_t>(&ix)) {
        if (dropped) dropped->push_back(static_cast<int64_t>(o.slices.size()));
        o.slices.push_back(Slice{*i, *i == -1 ? std::nullopt : std::optional<int64_t>(*i + 1), 1});
      } else {
        throw ValueError("load: slice takes start:stop:step per axis, not '...'");
      }
    }
  }
  return o;
}

OpDef load_op() {
  OpDef d;
  d.name = "load";
  d.summary = "read an array from HDF5 (parallel), .npy or CSV; each rank reads its own block";
  d.category = "io";
  d.min_inputs = d.max_inputs = 0;
  d.params = {ParamSpec{"path", ParamKind::path, "the file (relative to the working directory)", true},
              ParamSpec{"dataset", ParamKind::string,
                        "HDF5: the dataset's path (default: the file's only dataset)"},
              p_split("axis to distribute along (none: every rank reads all)"),
              ParamSpec{"slice", ParamKind::index,
                        "read only a selection: \"0:1000, 3\" (start:stop:step per axis)"},
              p_format(),
              ParamSpec{"header", ParamKind::integer, "CSV: lines to skip at the top", false, "0"},
              ParamSpec{"delimiter", ParamKind::string,
                        "CSV: field delimiter, one character (tab: a tab)", false, "','"},
              ParamSpec{"missing", ParamKind::number,
                        "CSV: the value of empty fields (nan, or a number; numpy.genfromtxt's "
                        "filling_values); without it an empty field is an error"},
              p_dtype("CSV: element type (default: defaults.dtype); HDF5 and npy keep the file's type")};
  d.files = [](const Params& p) { return std::vector<FileUse>{file_use(p, false)}; };
  d.infer = [](const InferContext& c) {
    const std::string path = c.params.string("path");
    std::vector<int64_t> dropped;
    const io::LoadOptions o = load_options(c.params, c.default_dtype, &dropped);
    const bool csv = io::format_of(path, o.format) == io::Format::csv;
    if (o.missing && !csv)
      throw ValueError(fmt::format("load: missing fills empty CSV fields; {} files have none",
                                   io::format_name(io::format_of(path, o.format))));
    if (csv) io::check_csv_options(path, o);
    io::ArrayInfo info;
    const bool planned = c.files && !c.files->empty() && (*c.files)[0].planned;
    Dtype saved = info.dtype;  // planned: the type the save writes as text
    if (planned) {
      // Written by an earlier step of the run: what that step saves, no file probe.
      const ArrayMeta& w = *(*c.files)[0].planned;
      info.shape = w.shape;
      info.dtype = saved = w.dtype;
      if (csv) {
        // CSV text is read as the load's dtype, and always as rows of columns: a saved 1-D
        // array comes back as one column, an empty one as no lines at all.
        info.dtype = o.dtype;
        if (info.shape.size() == 1) info.shape.push_back(1);
        if (shape_numel(info.shape) == 0) info.shape = {0, 0};
      }
    } else {
      info = io::probe(path, o);  // metadata only; throws for a bad file
    }
    for (size_t k = 0; k < o.slices.size() && k < info.shape.size(); ++k) {
      const Slice& sl = o.slices[k];
      const int64_t n = info.shape[k];
      if (std::find(dropped.begin(), dropped.end(), static_cast<int64_t>(k)) != dropped.end() &&
          (*sl.start < -n || *sl.start >= n))
        throw ValueError(
            fmt::format("load: index {} is out of bounds for axis {} with size {}", *sl.start, k, n));
    }
    if (o.slices.size() > info.shape.size())
      throw ValueError(fmt::format("load: slice has {} entries for a dataset of {} dimensions",
                                   o.slices.size(), info.shape.size()));
    ArrayMeta m;
    const Shape selected = io::selection_shape(info.shape, o.slices);
    for (size_t k = 0; k < selected.size(); ++k)
      if (std::find(dropped.begin(), dropped.end(), static_cast<int64_t>(k)) == dropped.end())
        m.shape.push_back(selected[k]);
    m.dtype = info.dtype;
    m.split = checked_split(c.params.split("split"), static_cast<int64_t>(m.shape.size()), "load");
    m.device = c.default_device;
    InferResult r;
    r.outputs.push_back(m);
    if (m.split && *m.split != 0 && c.nranks > 1) {
      // Rows are read and resplit in memory.
      ArrayMeta rows = m;
      rows.split = 0;
      r.comm_bytes = move_bytes(rows, c.nranks);
      r.temp_bytes = max_block_bytes(rows, c.nranks);
      r.note = fmt::format("reads row blocks, then resplits to axis {}", *m.split);
    }
    if (csv) {
      // Each rank holds its share of the text (its byte range, one read step more for the
      // line crossing its end) while it parses the rows into the values; a selection is
      // cut from the whole rows after, and the rows (cut at bytes) are balanced.
      ArrayMeta rows{info.shape, info.dtype, Split(0), m.device};
      const int64_t text =
          (planned ? checked_numel(info.shape, csv_chars(saved)) : info.storage_bytes) / c.nranks +
          (int64_t{64} << 10);
      const int64_t parsed = o.slices.empty() ? 0 : max_block_bytes(rows, c.nranks);
      r.temp_bytes =
          std::max({r.temp_bytes, text + parsed, c.nranks > 1 ? max_block_bytes(rows, c.nranks) : 0});
    }
    return r;
  };
  d.run = [](RunContext& c) {
    std::vector<int64_t> dropped;
    io::LoadOptions o = load_options(c.params, c.default_dtype, &dropped);
    if (Split s = c.planned[0].split) {  // the result's split axis, counted in the file's axes
      int64_t axis = *s;
      for (int64_t d : dropped)
        if (d <= axis) ++axis;
      o.split = axis;
    }
    std::string path = c.params.string("path");
    o.format = io::format_of(path, o.format);
    if (c.files && !c.files->empty() && (*c.files)[0].from_run && c.outputs)
      path = c.outputs->read_path(path);  // what this run wrote (not committed yet)
    c.progress.update(fmt::format("reading {}", c.params.string("path")));
    DNDarray a = io::load(path, o, c.comm);
    if (!dropped.empty()) a = squeeze(a, dropped);
    return one(std::move(a));
  };
  return d;
}
DND_REGISTER_OP(load_op());

OpDef save_op() {
  OpDef d;
  d.name = "save";
  d.summary =
      "write an array to HDF5, .npy or CSV (into a temporary, committed with the run's other outputs)";
  d.category = "io";
  d.has_result = false;
  d.params = {
      ParamSpec{"path", ParamKind::path, "the file to write", true},
      ParamSpec{"dataset", ParamKind::string, "HDF5: the dataset's path; groups are created", false,
                "data"},
      ParamSpec{"overwrite", ParamKind::boolean,
                "replace an existing file (mode append: an existing dataset of that name)", false,
                "false"},
      ParamSpec{"mode",
                ParamKind::choice,
                "write: the file anew; append (HDF5): add the dataset to the existing file, keeping the "
                "others",
                false,
                "write",
                {"write", "append"}},
      ParamSpec{"attrs", ParamKind::mapping, "HDF5: attributes of the dataset ({units: m, scale: 2.5})"},
      p_format(),
      ParamSpec{"chunks", ParamKind::int_list, "HDF5: chunk shape"},
      ParamSpec{"compression", ParamKind::integer, "HDF5: gzip level 0-9 (0: none)", false, "0"},
      ParamSpec{"delimiter", ParamKind::string, "CSV: field delimiter", false, "','"},
      ParamSpec{"header", ParamKind::string, "CSV: a first line written verbatim"}};
  d.files = [](const Params& p) { return std::vector<FileUse>{file_use(p, true)}; };
  d.infer = [](const InferContext& c) {
    const std::string path = c.params.string("path");
    const io::Format f = io::format_of(path, io::parse_format(c.params.string("format")));
    const ArrayMeta& a = c.array(0);
    const auto nd = static_cast<int64_t>(a.shape.size());
    if (f == io::Format::csv && (nd < 1 || nd > 2))
      throw ValueError(
          fmt::format("save: CSV holds 1-D or 2-D arrays, not {} of shape {}; use .npy or HDF5",
                      nd == 0 ? "a 0-d array" : "an array", shape_str(a.shape)));
    if (f == io::Format::csv && at::isComplexType(a.dtype))
      throw TypeError(
          fmt::format("save: CSV does not hold {} values; use .npy or HDF5", dtype_name(a.dtype)));
    const int64_t level = c.params.integer("compression");
    if (level < 0 || level > 9)
      throw ValueError(fmt::format("save: compression must be 0-9, got {}", level));
    const std::vector<int64_t> chunks = c.params.int_list("chunks");
    if (!chunks.empty() && static_cast<int64_t>(chunks.size()) != nd)
      throw ValueError(
          fmt::format("save: chunks {} do not match the array's {} axes", shape_str(chunks), nd));
    for (int64_t k : chunks)
      if (k <= 0)
        throw ValueError(fmt::format("save: chunk extents must be positive, got {}", shape_str(chunks)));
    if (f != io::Format::hdf5 && c.params.string("mode") == "append")
      throw ValueError(
          fmt::format("save: mode append adds datasets to an HDF5 file; {} files hold one array",
                      io::format_name(f)));
    if (f != io::Format::hdf5 && !c.params.mapping("attrs").empty())
      throw ValueError(
          fmt::format("save: attrs are HDF5 attributes; {} files have none", io::format_name(f)));
    attributes(c.params);
    delimiter_of(c.params);
    InferResult r;
    r.note = fmt::format("writes {}{}", path,
                         f == io::Format::hdf5 ? ":" + h5_dataset(c.params.string("dataset")) : "");
    return r;
  };
  d.run = [](RunContext& c) {
    io::SaveOptions o;
    o.dataset = c.params.string("dataset");
    o.overwrite = c.params.boolean("overwrite");
    o.mode = c.params.string("mode") == "append" ? io::SaveMode::append : io::SaveMode::write;
    o.attrs = attributes(c.params);
    o.format = io::parse_format(c.params.string("format"));
    o.chunks = c.params.int_list("chunks");
    o.compression = static_cast<int>(c.params.integer("compression"));
    o.delimiter = delimiter_of(c.params);
    o.header = c.params.is_none("header") ? std::string() : c.params.string("header");
    const std::string path = c.params.string("path");  // missing parent directories are created
    c.progress.update(fmt::format("writing {}", path));
    if (c.outputs)
      c.outputs->save(c.array(0), path, o);  // committed with the run's other outputs
    else
      io::save(c.array(0), path, o);
    return std::vector<DNDarray>{};
  };
  return d;
}
DND_REGISTER_OP(save_op());

}  // namespace
}  // namespace dnd::pipeline::ops
