// The load and save ops (io/io.h). load reads the file's metadata at plan time, so a
// missing file or dataset, or a slice out of range, fails before anything runs; save
// refuses an existing target at plan time unless `overwrite: true`.
#include "src/core/shape_ops.h"
#include "io/io.h"
#include "src/pipeline/ops/common.h"

#include <sys/stat.h>

#include <algorithm>

namespace dnd::pipeline::ops {
namespace {

ParamSpec p_format() {
  return ParamSpec{"format", ParamKind::choice, "file format (auto: from the extension .h5/.hdf5/.nc, .npy, .csv)",
                   false, "auto", {"auto", "hdf5", "npy", "csv"}};
}

char delimiter_of(const Params& p) {
  const std::string d = p.string("delimiter");
  if (d == "\\t" || d == "tab") return '\t';
  if (d.size() != 1) throw ValueError(fmt::format("delimiter must be one character, got '{}'", d));
  return d[0];
}

// Integers in `slice` select one entry and drop the axis (numpy): the file read keeps it
// (a one-entry slice), then the axis is squeezed away; `dropped` lists those axes.
io::LoadOptions load_options(const Params& p, Dtype default_dtype, std::vector<int64_t>* dropped = nullptr) {
  io::LoadOptions o;
  o.dataset = p.is_none("dataset") ? std::string() : p.string("dataset");
  o.format = io::parse_format(p.string("format"));
  o.header_lines = p.integer("header");
  o.delimiter = delimiter_of(p);
  o.dtype = p.dtype("dtype", default_dtype);
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
              ParamSpec{"dataset", ParamKind::string, "HDF5: the dataset's path (default: the file's only dataset)"},
              p_split("axis to distribute along (none: every rank reads all)"),
              ParamSpec{"slice", ParamKind::index, "read only a selection: \"0:1000, 3\" (start:stop:step per axis)"},
              p_format(),
              ParamSpec{"header", ParamKind::integer, "CSV: lines to skip at the top", false, "0"},
              ParamSpec{"delimiter", ParamKind::string, "CSV: field delimiter", false, "','"},
              p_dtype("CSV: element type (default: defaults.dtype); HDF5 and npy keep the file's type")};
  d.infer = [](const InferContext& c) {
    const std::string path = c.params.string("path");
    std::vector<int64_t> dropped;
    const io::LoadOptions o = load_options(c.params, c.default_dtype, &dropped);
    const io::ArrayInfo info = io::probe(path, o);  // metadata only; throws for a bad file
    for (size_t k = 0; k < o.slices.size() && k < info.shape.size(); ++k) {
      const Slice& sl = o.slices[k];
      const int64_t n = info.shape[k];
      if (std::find(dropped.begin(), dropped.end(), static_cast<int64_t>(k)) != dropped.end() &&
          (*sl.start < -n || *sl.start >= n))
        throw ValueError(fmt::format("load: index {} is out of bounds for axis {} with size {}", *sl.start, k, n));
    }
    if (o.slices.size() > info.shape.size())
      throw ValueError(fmt::format("load: slice has {} entries for a dataset of {} dimensions", o.slices.size(),
                                   info.shape.size()));
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
    c.progress.update(fmt::format("reading {}", c.params.string("path")));
    DNDarray a = io::load(c.params.string("path"), o, c.comm);
    if (!dropped.empty()) a = squeeze(a, dropped);
    return one(std::move(a));
  };
  return d;
}
DND_REGISTER_OP(load_op());

OpDef save_op() {
  OpDef d;
  d.name = "save";
  d.summary = "write an array to HDF5, .npy or CSV (to a temporary file, renamed when every rank is done)";
  d.category = "io";
  d.has_result = false;
  d.params = {ParamSpec{"path", ParamKind::path, "the file to write", true},
              ParamSpec{"dataset", ParamKind::string, "HDF5: the dataset's path; groups are created", false, "data"},
              ParamSpec{"overwrite", ParamKind::boolean, "replace an existing file", false, "false"},
              p_format(),
              ParamSpec{"chunks", ParamKind::int_list, "HDF5: chunk shape"},
              ParamSpec{"compression", ParamKind::integer, "HDF5: gzip level 0-9 (0: none)", false, "0"},
              ParamSpec{"delimiter", ParamKind::string, "CSV: field delimiter", false, "','"},
              ParamSpec{"header", ParamKind::string, "CSV: a first line written verbatim"}};
  d.infer = [](const InferContext& c) {
    const std::string path = c.params.string("path");
    io::format_of(path, io::parse_format(c.params.string("format")));  // a clear error for an unknown extension
    struct stat st {};
    if (!c.params.boolean("overwrite") && ::stat(path.c_str(), &st) == 0)
      throw ValueError(fmt::format("save: {} exists; add 'overwrite: true' to the step to replace it", path));
    const int64_t level = c.params.integer("compression");
    if (level < 0 || level > 9) throw ValueError(fmt::format("save: compression must be 0-9, got {}", level));
    delimiter_of(c.params);
    return InferResult{};
  };
  d.run = [](RunContext& c) {
    io::SaveOptions o;
    o.dataset = c.params.string("dataset");
    o.overwrite = c.params.boolean("overwrite");
    o.format = io::parse_format(c.params.string("format"));
    o.chunks = c.params.int_list("chunks");
    o.compression = static_cast<int>(c.params.integer("compression"));
    o.delimiter = delimiter_of(c.params);
    o.header = c.params.is_none("header") ? std::string() : c.params.string("header");
    const std::string path = c.params.string("path");  // missing parent directories are created
    c.progress.update(fmt::format("writing {}", path));
    io::save(c.array(0), path, o);
    return std::vector<DNDarray>{};
  };
  return d;
}
DND_REGISTER_OP(save_op());

}  // namespace
}  // namespace dnd::pipeline::ops
