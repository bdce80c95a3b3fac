// The planner's file table (files.h).
#include "src/pipeline/files.h"

#include "src/core/error.h"
#include "io/io.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>

namespace dnd::pipeline {

namespace {

namespace fs = std::filesystem;

struct Ref {
  size_t step, use;
};

std::string where(const Document& doc, const Step& st) {
  return fmt::format("step '{}' ({}:{})", st.id, doc.file, st.mark.line);
}

// The first existing directory above `target` must be a directory, not a file.
void check_parents(const Document& doc, const Params& p, const std::string& target) {
  for (fs::path d = fs::path(target).parent_path(); !d.empty(); d = d.parent_path()) {
    struct stat st {};
    if (::stat(d.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode))
        throw doc.error(p.mark("path"), fmt::format("save: cannot write {}: '{}' is not a directory",
                                                    target, d.string()));
      return;
    }
    if (d == d.root_path()) return;
  }
}

}  // namespace

FileTable plan_files(const Document& doc, const std::vector<const OpDef*>& ops,
                     const std::vector<std::unique_ptr<Params>>& params) {
  const size_t n = doc.steps.size();
  FileTable t;
  t.uses.resize(n);
  t.readers.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (!ops[i] || !ops[i]->files || !params[i]) continue;
    const Params& p = *params[i];
    try {
      t.uses[i] = ops[i]->files(p);
    } catch (const PipelineError&) {
      throw;
    } catch (const std::exception& e) {
      throw doc.error(p.mark("path"),
                      fmt::format("step '{}' ({}): {}", doc.steps[i].id, doc.steps[i].op, e.what()));
    }
    for (FileUse& u : t.uses[i]) {
      try {
        if (!u.write) {
          u.resolved = io::resolve_path(u.path);
          continue;
        }
        const io::OutputTarget out = io::resolve_output(u.path);
        u.resolved = out.path;
        if (!out.kind.empty() && out.kind != "file")
          throw ValueError(fmt::format("save: {} is a {}, not a regular file; dnd never replaces it",
                                       out.path == fs::absolute(u.path).lexically_normal().string()
                                           ? u.path
                                           : fmt::format("{} (-> {})", u.path, out.path),
                                       out.kind));
      } catch (const ValueError& e) {
        throw doc.error(p.mark("path"), e.what());
      }
      check_parents(doc, p, u.resolved);
    }
  }

  // Writes, grouped by file.
  std::map<std::string, std::vector<Ref>> writes;
  for (size_t i = 0; i < n; ++i)
    for (size_t k = 0; k < t.uses[i].size(); ++k)
      if (t.uses[i][k].write) writes[t.uses[i][k].resolved].push_back({i, k});
  for (const auto& [target, refs] : writes) {
    const FileUse& first = t.uses[refs[0].step][refs[0].use];
    const Step& s0 = doc.steps[refs[0].step];
    bool any_overwrite = false;
    for (size_t a = 0; a < refs.size(); ++a) {
      const FileUse& u = t.uses[refs[a].step][refs[a].use];
      const Params& p = *params[refs[a].step];
      any_overwrite = any_overwrite || u.overwrite;
      if (a == 0) continue;
      if (u.format != first.format)
        throw doc.error(p.mark("path"), fmt::format("save: {} is written as {} here and as {} by {}",
                                                    target, u.format, first.format, where(doc, s0)));
      if (u.format != "hdf5")
        throw doc.error(p.mark("path"),
                        fmt::format("save: {} is also written by {}; a {} file holds one array", target,
                                    where(doc, s0), u.format));
      if (u.append != first.append)
        throw doc.error(
            p.mark(p.given("mode") ? "mode" : "path"),
            fmt::format("save: {} is written in mode {} here and in mode {} by {}; use one mode", target,
                        u.append ? "append" : "write", first.append ? "append" : "write",
                        where(doc, s0)));
      for (size_t b = 0; b < a; ++b) {
        const FileUse& v = t.uses[refs[b].step][refs[b].use];
        const Step& sb = doc.steps[refs[b].step];
        const Mark m = p.mark(p.given("dataset") ? "dataset" : "path");
        if (v.dataset == u.dataset)
          throw doc.error(m, fmt::format("save: dataset {} of {} is also written by {}", u.dataset,
                                         target, where(doc, sb)));
        const auto nested = [](const std::string& outer, const std::string& inner) {
          return inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
                 inner[outer.size()] == '/';
        };
        if (nested(v.dataset, u.dataset) || nested(u.dataset, v.dataset))
          throw doc.error(
              m, fmt::format("save: datasets {} and {} (written by {}) of {} cannot both exist: one "
                             "would be a group holding the other",
                             u.dataset, v.dataset, where(doc, sb), target));
      }
    }
    struct stat st {};
    if (::stat(target.c_str(), &st) != 0) continue;
    const Params& p0 = *params[refs[0].step];
    if (!first.append) {
      if (!any_overwrite)
        throw doc.error(
            p0.mark("path"),
            fmt::format("save: {} exists; add 'overwrite: true' to the step to replace "
                        "it{}",
                        first.path,
                        first.format == "hdf5" ? " (or 'mode: append' to add datasets)" : ""));
      continue;
    }
    std::vector<io::Entry> entries;
    try {
      entries = io::list(target, io::Format::hdf5);
    } catch (const std::exception& e) {
      throw doc.error(p0.mark("path"), fmt::format("save: cannot append to {}: {}", target, e.what()));
    }
    for (const Ref& r : refs) {
      const FileUse& u = t.uses[r.step][r.use];
      const Params& p = *params[r.step];
      for (const io::Entry& e : entries) {
        if (e.path != u.dataset) continue;
        if (e.is_group)
          throw doc.error(p.mark(p.given("dataset") ? "dataset" : "path"),
                          fmt::format("save: {} in {} is a group, not a dataset", u.dataset, target));
        if (!u.overwrite)
          throw doc.error(
              p.mark(p.given("dataset") ? "dataset" : "path"),
              fmt::format("save: {} already holds a dataset {}; add 'overwrite: true' to the step to "
                          "replace that dataset",
                          target, u.dataset));
      }
    }
  }

  // Reads of files the run writes earlier (in file order).
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < t.uses[i].size(); ++k) {
      FileUse& r = t.uses[i][k];
      if (r.write) continue;
      auto it = writes.find(r.resolved);
      if (it == writes.end()) continue;
      std::vector<Ref> before;
      for (const Ref& w : it->second)
        if (w.step < i) before.push_back(w);
      if (before.empty()) continue;  // reads the file as it is now; the run's version appears at the end
      r.from_run = true;
      const FileUse& w0 = t.uses[before[0].step][before[0].use];
      if (r.format != w0.format)
        throw doc.error(params[i]->mark("path"),
                        fmt::format("load: {} is read as {} but written as {} by {}", r.path, r.format,
                                    w0.format, where(doc, doc.steps[before[0].step])));
      std::vector<std::string> held;
      const Ref* match = nullptr;
      for (const Ref& w : before) {
        t.after.emplace_back(w.step, i);
        const FileUse& u = t.uses[w.step][w.use];
        held.push_back(u.dataset);
        if (r.format != "hdf5" || u.dataset == r.dataset) match = &w;
      }
      if (r.format == "hdf5" && r.dataset.empty() && before.size() == 1 && !w0.append)
        match = &before[0];
      if (match) {
        t.readers[match->step].push_back({i, k});
        continue;
      }
      if (!w0.append || r.dataset.empty())
        throw doc.error(params[i]->mark(params[i]->given("dataset") ? "dataset" : "path"),
                        fmt::format("load: {} is written by {}{} and will hold {}{}", r.path,
                                    where(doc, doc.steps[before[0].step]),
                                    before.size() > 1 ? " and later steps" : "", fmt::join(held, ", "),
                                    r.dataset.empty() ? "; name the dataset" : ", not " + r.dataset));
      // mode append: a dataset of the existing file, which the run's copy keeps.
    }
  }
  return t;
}

void record_write(FileTable& files, size_t step, const ArrayMeta& saved) {
  for (const auto& [s, u] : files.readers[step]) files.uses[s][u].planned = saved;
}

}  // namespace dnd::pipeline
