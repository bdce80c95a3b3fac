// Step keys, checkpoint files, --resume and the stop signal (checkpoint.h).
#include "src/pipeline/checkpoint.h"

#include "dnd/version.h"
#include "io/io.h"
#include "src/core/collectives.h"
#include "src/core/communicator.h"
#include "src/core/diagnostics.h"
#include "src/core/dndarray.h"
#include "src/core/error.h"
#include "src/core/hash.h"
#include "src/core/text.h"
#include "src/pipeline/extents.h"
#include "src/pipeline/fault.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>
#include <thread>

namespace dnd::pipeline {

namespace fs = std::filesystem;

namespace {

constexpr int kFormatVersion = 1;
// Step and op parameters that do not change a step's results.
const std::set<std::string> kKeyless = {"checkpoint", "checkpoint_every"};

std::string dataset_of(const PlannedStep& ps, size_t f) {
  const std::string& name = ps.output_names[f];
  return name == ps.step->id ? std::string("/result") : "/" + name.substr(ps.step->id.size() + 1);
}

std::string unquote(const std::string& s) {
  return s.size() >= 2 && s.front() == '"' && s.back() == '"' ? s.substr(1, s.size() - 2) : s;
}

bool is_true(const YAML::Node& n) { return n.IsScalar() && n.Scalar() == "true"; }

// The identity of a file a load reads.
std::string file_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing:" + path;
  return fmt::format("file:{}:{}:{}.{:09d}", path, static_cast<long long>(st.st_size),
                     static_cast<long long>(st.st_mtim.tv_sec), static_cast<long>(st.st_mtim.tv_nsec));
}

uint64_t mix64(uint64_t z) {  // splitmix64's finalizer
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Sum over elements of mix(bits + position * golden): elements of 16 bytes count as two
// words at positions 2i and 2i + 1.
template <int kSize>
uint64_t hash_words(const unsigned char* p, int64_t n, uint64_t first) {
  constexpr uint64_t g = 0x9e3779b97f4a7c15ull;
  uint64_t sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint64_t v = 0;
    std::memcpy(&v, p + kSize * i, kSize);
    sum += mix64(v + (first + static_cast<uint64_t>(i)) * g);
  }
  return sum;
}

uint64_t hash_run(const unsigned char* p, int64_t n, int64_t isz, uint64_t first) {
  switch (isz) {
    case 1:
      return hash_words<1>(p, n, first);
    case 2:
      return hash_words<2>(p, n, first);
    case 4:
      return hash_words<4>(p, n, first);
    case 8:
      return hash_words<8>(p, n, first);
    default:  // 16: complex128
      return hash_words<8>(p, 2 * n, 2 * first);
  }
}

}  // namespace

const char* source_name(StepSource s) {
  switch (s) {
    case StepSource::checkpoint:
      return "checkpoint";
    case StepSource::skipped:
      return "skipped";
    default:
      return "run";
  }
}

bool CheckpointPlan::any_write() const {
  return std::any_of(steps.begin(), steps.end(), [](const StepCheckpoint& s) { return s.write; });
}

std::vector<std::string> step_keys(const Plan& plan) {
  const Document& doc = *plan.doc;
  std::map<std::string, std::string> value_key;  // value name -> producer key + field
  std::vector<std::string> keys;
  for (size_t pos = 0; pos < plan.steps.size(); ++pos) {
    const PlannedStep& ps = plan.steps[pos];
    std::string text =
        fmt::format("dnd-step v{} dnd {}\nop {}\ndefaults {} {}\n", kFormatVersion, DND_VERSION_STRING,
                    ps.op->name, doc.default_dtype, doc.default_device);
    std::vector<std::pair<std::string, std::string>> params;
    for (const auto& [k, v] : ps.step->params)
      if (!kKeyless.count(k)) params.emplace_back(k, YAML::Dump(v));
    std::sort(params.begin(), params.end());
    for (const auto& [k, v] : params) text += fmt::format("param {} {}\n", k, v);
    for (size_t i = 0; i < ps.input_names.size(); ++i) {
      if (ps.input_names[i].empty())
        text += fmt::format("input number {}\n", ps.inputs[i].literal.Scalar());
      else
        text += fmt::format("input {}\n", value_key.at(ps.input_names[i]));
    }
    for (const FileUse& u : ps.files) {
      if (u.write) continue;
      std::string id = file_identity(u.resolved);
      if (u.from_run)  // what an earlier step of this run writes: that step's key
        for (size_t w = 0; w < pos; ++w)
          for (const FileUse& wu : plan.steps[w].files)
            if (wu.write && wu.resolved == u.resolved && (wu.dataset == u.dataset || u.dataset.empty()))
              id = "run:" + keys[w] + ":" + wu.dataset;
      text += fmt::format("reads {} {}\n", id, u.dataset);
    }
    keys.push_back(fnv1a64_hex(text));
    for (size_t f = 0; f < ps.output_names.size(); ++f)
      value_key[ps.output_names[f]] = keys.back() + "#" + std::to_string(f);
  }
  return keys;
}

std::string default_checkpoint_dir(const Plan& plan, const std::string& pipeline_path) {
  std::string stem = "stdin", dir;
  std::error_code ec;
  if (pipeline_path != "-") {
    stem = fs::path(pipeline_path).stem().string();
    dir = fs::absolute(fs::path(pipeline_path), ec).parent_path().string();
  }
  bool outputs = false;
  for (const PlannedStep& ps : plan.steps)
    for (const FileUse& u : ps.files)
      if (u.write && !u.resolved.empty() && !outputs) {
        dir = fs::path(u.resolved).parent_path().string();
        outputs = true;
      }
  if (dir.empty()) dir = fs::current_path(ec).string();
  return (fs::path(dir) / (stem + ".checkpoints")).lexically_normal().string();
}

std::vector<StepSource> resume_sources(const Plan& plan, const std::vector<bool>& found) {
  const size_t n = plan.steps.size();
  std::map<std::string, size_t> producer;
  std::vector<bool> used(n, false);
  for (size_t pos = 0; pos < n; ++pos)
    for (const std::string& o : plan.steps[pos].output_names) producer[o] = pos;
  for (size_t pos = 0; pos < n; ++pos)
    for (const std::string& in : plan.steps[pos].input_names)
      if (!in.empty()) used[producer.at(in)] = true;
  std::vector<StepSource> src(n, StepSource::skipped);
  std::vector<bool> needed(n, false);  // a running step uses its results
  for (size_t k = n; k-- > 0;) {
    const PlannedStep& ps = plan.steps[k];
    const bool sink = ps.output_names.empty() || !used[k];
    if (!sink && !needed[k]) continue;  // skipped
    if (!ps.output_names.empty() && found[k]) {
      src[k] = StepSource::checkpoint;
      continue;
    }
    src[k] = StepSource::run;
    for (const std::string& in : ps.input_names)
      if (!in.empty()) needed[producer.at(in)] = true;
  }
  return src;
}

namespace {

// Whether `file` is a checkpoint of step `ps` with `key`: "" when usable, else the reason.
std::string check_file(const PlannedStep& ps, const std::string& key, const std::string& file) {
  std::vector<io::Entry> entries;
  try {
    entries = io::list(file, io::Format::hdf5);
  } catch (const std::exception& e) {
    return fmt::format("cannot be read ({})", without_backtrace(e.what()));
  }
  for (size_t f = 0; f < ps.output_names.size(); ++f) {
    const std::string ds = dataset_of(ps, f);
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const io::Entry& e) { return e.path == ds && !e.is_group; });
    if (it == entries.end()) return fmt::format("has no dataset {}", ds);
    std::map<std::string, std::string> attrs(it->attrs.begin(), it->attrs.end());
    if (unquote(attrs["dnd_checkpoint_key"]) != key) return fmt::format("{} has another key", ds);
    if (attrs["dnd_checksum"].empty()) return fmt::format("{} has no checksum", ds);
    const ArrayMeta& m = ps.info.outputs[f];
    ArrayMeta held = m;  // a bounded extent (extents.h) may be smaller than planned
    held.shape = it->info.shape;
    if (!it->info.supported || it->info.dtype != m.dtype || !fits(held, m, ps.at_most[f]))
      return fmt::format("{} holds {} {}, the plan says {}", ds, shape_str(it->info.shape),
                         it->info.type, meta_str(m, ps.at_most[f]));
  }
  return "";
}

}  // namespace

CheckpointPlan plan_checkpoints(const Plan& plan, const CheckpointOptions& o,
                                const std::string& pipeline_path) {
  const Document& doc = *plan.doc;
  CheckpointPlan cp;
  cp.resume = o.resume;
  cp.dir_given = !o.dir.empty();
  std::error_code ec;
  cp.dir = cp.dir_given ? fs::absolute(fs::path(o.dir), ec).lexically_normal().string()
                        : default_checkpoint_dir(plan, pipeline_path);
  const std::vector<std::string> keys = step_keys(plan);
  std::map<std::string, size_t> pos_of;
  std::vector<std::string> ids;
  for (size_t pos = 0; pos < plan.steps.size(); ++pos) {
    const PlannedStep& ps = plan.steps[pos];
    StepCheckpoint s;
    s.key = keys[pos];
    if (!ps.output_names.empty())
      s.file = (fs::path(cp.dir) / (ps.step->id + "." + s.key + ".h5")).string();
    for (const auto& [k, v] : ps.step->params)
      if (k == "checkpoint") s.write = is_true(v);
    if (s.write && ps.output_names.empty())
      throw doc.error(
          ps.step->param_marks.at("checkpoint"),
          fmt::format("step '{}' ({}) has no results to checkpoint", ps.step->id, ps.op->name));
    pos_of[ps.step->id] = pos;
    if (!ps.output_names.empty()) ids.push_back(ps.step->id);
    cp.steps.push_back(std::move(s));
  }
  for (const std::string& id : o.steps) {
    auto it = pos_of.find(id);
    if (it == pos_of.end())
      throw PipelineError("--checkpoint " + id, {},
                          fmt::format("the pipeline has no step '{}'{}", id, did_you_mean(id, ids)));
    if (plan.steps[it->second].output_names.empty())
      throw PipelineError("--checkpoint " + id, {},
                          fmt::format("step '{}' ({}) has no results to checkpoint", id,
                                      plan.steps[it->second].op->name));
    cp.steps[it->second].write = true;
  }
  for (size_t pos = 0; pos < plan.steps.size(); ++pos)
    for (const ArrayMeta& m : plan.steps[pos].info.outputs)
      if (cp.steps[pos].write && m.dtype != at::kBool && m.dtype != at::kByte && m.dtype != at::kChar &&
          m.dtype != at::kShort && m.dtype != at::kInt && m.dtype != at::kLong &&
          m.dtype != at::kFloat && m.dtype != at::kDouble && m.dtype != at::kComplexFloat &&
          m.dtype != at::kComplexDouble)
        throw doc.error(plan.steps[pos].step->mark,
                        fmt::format("step '{}': checkpoints are HDF5 files, which dnd cannot "
                                    "write {} to",
                                    plan.steps[pos].step->id, dtype_name(m.dtype)));
  std::vector<bool> found(plan.steps.size(), false);
  if (o.resume) {
    for (size_t pos = 0; pos < plan.steps.size(); ++pos) {
      StepCheckpoint& s = cp.steps[pos];
      if (s.file.empty() || !fs::exists(s.file, ec)) continue;
      s.problem = check_file(plan.steps[pos], s.key, s.file);
      s.found = found[pos] = s.problem.empty();
    }
    const std::vector<StepSource> src = resume_sources(plan, found);
    for (size_t pos = 0; pos < src.size(); ++pos) cp.steps[pos].source = src[pos];
  }
  return cp;
}

std::string checkpoint_table(const Plan& plan, const CheckpointPlan& cp) {
  if (!cp.any_write() && !cp.resume) return "";
  std::vector<std::string> written;
  for (size_t pos = 0; pos < cp.steps.size(); ++pos)
    if (cp.steps[pos].write) written.push_back(plan.steps[pos].step->id);
  std::string o = fmt::format(
      "checkpoints: {}{} (steps: {})\n", cp.dir, cp.dir_given ? "" : " (default; --checkpoint-dir DIR)",
      written.empty() ? std::string("none") : fmt::format("{}", fmt::join(written, ", ")));
  if (!cp.resume) return o;
  o += "resume:\n";
  for (size_t pos = 0; pos < cp.steps.size(); ++pos) {
    const StepCheckpoint& s = cp.steps[pos];
    const std::string id = plan.steps[pos].step->id;
    switch (s.source) {
      case StepSource::checkpoint:
        o += fmt::format("  {:<16} read from {}\n", id, s.file);
        break;
      case StepSource::skipped:
        o += fmt::format("  {:<16} skipped (its results are not needed)\n", id);
        break;
      default:
        o += fmt::format("  {:<16} run{}\n", id,
                         s.problem.empty() ? std::string()
                                           : fmt::format(" (its checkpoint {} {})", s.file, s.problem));
    }
  }
  return o;
}

std::string checkpoint_json(const Plan& plan, const CheckpointPlan& cp) {
  using nlohmann::ordered_json;
  ordered_json steps = ordered_json::array();
  for (size_t pos = 0; pos < cp.steps.size(); ++pos) {
    const StepCheckpoint& s = cp.steps[pos];
    ordered_json j = {{"id", plan.steps[pos].step->id},
                      {"key", s.key},
                      {"write", s.write},
                      {"file", s.file.empty() ? ordered_json() : ordered_json(s.file)}};
    if (cp.resume) {
      j["source"] = source_name(s.source);
      if (!s.problem.empty()) j["problem"] = s.problem;
    }
    steps.push_back(std::move(j));
  }
  const ordered_json j = {{"dir", cp.dir}, {"resume", cp.resume}, {"steps", steps}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

uint64_t array_checksum(const DNDarray& a) {
  const Communicator& comm = a.comm();
  uint64_t local = 0;
  if (a.split() || comm.rank() == 0) {
    at::Tensor t = a.larray().contiguous().cpu();
    const int64_t isz = static_cast<int64_t>(t.element_size());
    const auto* p = static_cast<const unsigned char*>(t.numel() ? t.data_ptr() : nullptr);
    const Shape& g = a.gshape();
    if (!a.split()) {
      if (p) local = hash_run(p, t.numel(), isz, 0);
    } else if (p) {
      const auto k = static_cast<size_t>(*a.split());
      int64_t outer = 1, inner = 1;
      for (size_t i = 0; i < k; ++i) outer *= g[i];
      for (size_t i = k + 1; i < g.size(); ++i) inner *= g[i];
      const int64_t mid = t.size(static_cast<int64_t>(k)), off = a.chunk().offset;
      const int64_t run = mid * inner;
      for (int64_t o = 0; o < outer; ++o)
        local += hash_run(p + o * run * isz, run, isz, static_cast<uint64_t>((o * g[k] + off) * inner));
    }
  }
  // Sums of 32-bit halves cannot overflow int64 for any rank count MPI allows.
  std::vector<int64_t> halves = {static_cast<int64_t>(local & 0xffffffffull),
                                 static_cast<int64_t>(local >> 32)};
  at::Tensor h = at::tensor(halves, at::kLong);
  allreduce_(comm, h, ReduceOp::sum);
  const auto lo = static_cast<uint64_t>(h[0].item<int64_t>());
  const auto hi = static_cast<uint64_t>(h[1].item<int64_t>());
  return lo + (hi << 32);
}

std::vector<CheckpointEntry> list_checkpoints(const std::string& dir) {
  std::vector<CheckpointEntry> out;
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 3 && name.substr(name.size() - 3) == ".h5" && name[0] != '.' &&
        e.is_regular_file(ec))
      files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  const auto now = std::chrono::system_clock::now();
  for (const fs::path& f : files) {
    CheckpointEntry c;
    c.file = fs::absolute(f, ec).string();
    struct stat st {};
    if (::stat(c.file.c_str(), &st) == 0) {
      c.bytes = static_cast<int64_t>(st.st_size);
      c.age_seconds =
          std::chrono::duration<double>(now.time_since_epoch()).count() -
          (static_cast<double>(st.st_mtim.tv_sec) + 1e-9 * static_cast<double>(st.st_mtim.tv_nsec));
    }
    try {
      for (const io::Entry& e : io::list(c.file, io::Format::hdf5)) {
        if (e.is_group) continue;
        std::map<std::string, std::string> attrs(e.attrs.begin(), e.attrs.end());
        if (attrs["dnd_checkpoint_key"].empty()) continue;
        c.step = unquote(attrs["dnd_step"]);
        c.key = unquote(attrs["dnd_checkpoint_key"]);
        c.op = unquote(attrs["dnd_op"]);
        c.datasets.push_back(e.path);
        ArrayMeta m;
        m.shape = e.info.shape;
        m.dtype = e.info.dtype;
        const std::string split = attrs["dnd_split"];
        if (!split.empty() && split != "-1") m.split = std::stoll(split);
        c.metas.push_back(e.info.supported ? dnd::meta_str(m)
                                           : shape_str(e.info.shape) + " " + e.info.type);
      }
      if (c.datasets.empty()) c.problem = "not a dnd checkpoint";
    } catch (const std::exception& e) {
      c.problem = fmt::format("cannot be read ({})", without_backtrace(e.what()));
    }
    out.push_back(std::move(c));
  }
  return out;
}

// ---- the stop signal -----------------------------------------------------------------

namespace {
volatile sig_atomic_t g_stop = 0;
std::atomic<bool> g_stop_installed{false};
void on_stop(int) { g_stop = 1; }
}  // namespace

void install_stop_signal() {
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, nullptr);
  g_stop_installed = true;
}

bool stop_signal_installed() { return g_stop_installed.load(); }

bool stop_requested(const Communicator& comm, const std::string& next_step) {
  if (!g_stop_installed.load()) return false;
  if (fault_injected("stop-before:" + next_step)) g_stop = 1;
  // slow-before:STEP: a few seconds before STEP, for tests that signal a job meanwhile.
  if (fault_injected("slow-before:" + next_step)) std::this_thread::sleep_for(std::chrono::seconds(4));
  // stop-signal-before:STEP: rank 0 signals the launcher (mpirun forwards SIGUSR1 to every
  // rank), then waits for its own copy: the path a Slurm warning signal takes.
  if (comm.rank() == 0 && fault_injected("signal-launcher-before:" + next_step)) {
    ::kill(::getppid(), SIGUSR1);
    for (int i = 0; i < 200 && !g_stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return allreduce_value(comm, int64_t{g_stop ? 1 : 0}, ReduceOp::max) != 0;
}

// ---- the run-time side -------------------------------------------------------------------

Checkpointer::Checkpointer(const Plan& plan, CheckpointPlan cp, const Communicator& comm, bool sync)
    : plan_(plan), cp_(std::move(cp)), comm_(comm), sync_(sync) {
  // Every rank follows rank 0's reading of the directory (a rank that sees other files
  // must not choose other steps).
  std::string found;
  for (const StepCheckpoint& s : cp_.steps) found += s.found ? '1' : '0';
  broadcast_string(comm_, found, 0);
  std::vector<bool> f(found.size());
  for (size_t i = 0; i < found.size(); ++i) f[i] = found[i] == '1';
  for (size_t i = 0; i < cp_.steps.size(); ++i) cp_.steps[i].found = f[i];
  sources_ = cp_.resume ? resume_sources(plan_, f)
                        : std::vector<StepSource>(plan_.steps.size(), StepSource::run);
}

namespace {
StepState g_state;
const StepState* g_current = nullptr;
}  // namespace

const StepState* current_step_state() { return g_current; }

void Checkpointer::begin_step(size_t pos) {
  const PlannedStep& ps = plan_.steps.at(pos);
  g_state =
      StepState{ps.step->id,
                cp_.steps[pos].key,
                (fs::path(cp_.dir) / (ps.step->id + "." + cp_.steps[pos].key + ".state.h5")).string(),
                cp_.resume,
                sync_,
                this};
  g_current = &g_state;
}

void Checkpointer::end_step() { g_current = nullptr; }

Checkpointer::~Checkpointer() {
  if (g_current && g_current->owner == this) g_current = nullptr;
}

namespace {

// Rank 0's attributes of one dataset of a file, on every rank ({} when unreadable).
std::map<std::string, std::string> shared_attrs(const Communicator& comm, const std::string& file,
                                                const std::string& dataset) {
  std::string text;
  if (comm.rank() == 0) {
    try {
      nlohmann::json j = nlohmann::json::object();
      for (const io::Entry& e : io::list(file, io::Format::hdf5))
        if (e.path == dataset)
          for (const auto& [k, v] : e.attrs) j[k] = unquote(v);
      text = j.dump();
    } catch (const std::exception&) {
      text = "{}";
    }
  }
  broadcast_string(comm, text, 0);
  std::map<std::string, std::string> out;
  const nlohmann::json j = nlohmann::json::parse(text);
  for (const auto& [k, v] : j.items()) out[k] = v.get<std::string>();
  return out;
}

}  // namespace

std::optional<cluster::KMeansState> load_kmeans_state(const StepState& st, const Communicator& comm,
                                                      std::string& note) {
  int64_t there = 0;
  std::error_code ec;
  if (comm.rank() == 0) there = fs::exists(st.file, ec) ? 1 : 0;
  if (allreduce_value(comm, there, ReduceOp::max) == 0) return std::nullopt;
  try {
    std::map<std::string, std::string> a = shared_attrs(comm, st.file, "/centers");
    if (a["dnd_checkpoint_key"] != st.key) throw ValueError("it was written for another key");
    io::LoadOptions lo;
    lo.format = io::Format::hdf5;
    lo.dataset = "/centers";
    cluster::KMeansState s;
    const DNDarray centers = io::load(st.file, lo, comm);
    if (fmt::format("{:016x}", array_checksum(centers)) != a["dnd_checksum"])
      throw ValueError("the checksum of /centers differs");
    s.centers = centers.larray();
    s.run = std::stoll(a.at("dnd_state_run"));
    s.iter = std::stoll(a.at("dnd_state_iter"));
    s.done = a.at("dnd_state_done") == "1";
    s.best_n_iter = std::stoll(a.at("dnd_state_best_n_iter"));
    if (s.run > 0) {
      lo.dataset = "/best";
      std::map<std::string, std::string> b = shared_attrs(comm, st.file, "/best");
      const DNDarray best = io::load(st.file, lo, comm);
      if (fmt::format("{:016x}", array_checksum(best)) != b["dnd_checksum"])
        throw ValueError("the checksum of /best differs");
      s.best = best.larray();
    }
    note = fmt::format("continues from its state after iteration {} (run {}): {}", s.iter, s.run + 1,
                       st.file);
    return s;
  } catch (const std::exception& e) {
    note = fmt::format("its state {} is not used, the fit starts anew: {}", st.file,
                       without_backtrace(e.what()));
    return std::nullopt;
  }
}

void save_kmeans_state(const StepState& st, const Communicator& comm, const cluster::KMeansState& s) {
  st.owner->ensure_dir();
  io::Outputs set(comm, st.sync);
  auto save = [&](const at::Tensor& t, const std::string& ds, bool with_state) {
    const DNDarray a(t.clone(), t.sizes().vec(), kReplicated, comm);
    io::SaveOptions o;
    o.dataset = ds;
    o.overwrite = true;
    o.format = io::Format::hdf5;
    o.attrs = {{"dnd_checkpoint_key", st.key},
               {"dnd_checksum", fmt::format("{:016x}", array_checksum(a))},
               {"dnd_step", st.step},
               {"dnd_op", std::string("kmeans state")}};
    if (with_state)
      for (const auto& [k, v] : {std::pair<const char*, int64_t>{"dnd_state_run", s.run},
                                 {"dnd_state_iter", s.iter},
                                 {"dnd_state_done", s.done ? 1 : 0},
                                 {"dnd_state_best_n_iter", s.best_n_iter}})
        o.attrs.push_back({k, std::to_string(v)});
    set.save(a, st.file, o);
  };
  save(s.centers, "/centers", true);
  if (s.best.defined()) save(s.best, "/best", false);
  set.commit();
}

void Checkpointer::restore(std::map<std::string, DNDarray>& store, std::vector<std::string>& notes) {
  if (!cp_.resume) return;
  if (comm_.rank() == 0)
    for (size_t pos = 0; pos < cp_.steps.size(); ++pos)
      if (!cp_.steps[pos].problem.empty())
        notes.push_back(fmt::format("checkpoint of step '{}' ignored (recomputed if needed): {} {}",
                                    plan_.steps[pos].step->id, cp_.steps[pos].file,
                                    cp_.steps[pos].problem));
  std::vector<bool> found;
  for (const StepCheckpoint& s : cp_.steps) found.push_back(s.found);
  std::set<size_t> loaded;
  // Damaged checkpoints turn their steps into runs, which may need more checkpoints: the
  // sources only ever move from skipped to read or run, so one pass in order suffices
  // after each change.
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t pos = 0; pos < sources_.size() && !changed; ++pos) {
      if (sources_[pos] != StepSource::checkpoint || loaded.count(pos)) continue;
      const PlannedStep& ps = plan_.steps[pos];
      const StepCheckpoint& s = cp_.steps[pos];
      std::string problem;
      std::vector<DNDarray> values;
      for (size_t f = 0; f < ps.output_names.size() && problem.empty(); ++f) {
        const ArrayMeta& m = ps.info.outputs[f];
        io::LoadOptions lo;
        lo.dataset = dataset_of(ps, f);
        lo.split = m.split;
        lo.format = io::Format::hdf5;
        try {  // io's errors are agreed on every rank
          DNDarray a = io::load(s.file, lo, comm_);
          if (!fits(meta_of(a), m, ps.at_most[f]))
            throw ValueError(fmt::format("{} holds {}, the plan says {}", lo.dataset,
                                         dnd::meta_str(meta_of(a)), meta_str(m, ps.at_most[f])));
          const std::string want = shared_attrs(comm_, s.file, lo.dataset)["dnd_checksum"];
          const std::string got = fmt::format("{:016x}", array_checksum(a));
          if (got != want)
            throw ValueError(fmt::format("the checksum of {} is {}, the file says {}", lo.dataset, got,
                                         want.empty() ? "none" : want));
          values.push_back(std::move(a));
        } catch (const std::exception& e) {
          problem = without_backtrace(e.what());
        }
      }
      if (!problem.empty()) {
        if (comm_.rank() == 0)
          notes.push_back(
              fmt::format("checkpoint of step '{}' is damaged, ignored and recomputed: {}: {}",
                          ps.step->id, s.file, problem));
        found[pos] = false;
        cp_.steps[pos].found = false;
        cp_.steps[pos].problem = problem;
        sources_ = resume_sources(plan_, found);
        changed = true;
        continue;
      }
      for (size_t f = 0; f < values.size(); ++f)
        store.insert_or_assign(ps.output_names[f], std::move(values[f]));
      loaded.insert(pos);
    }
  }
}

void Checkpointer::ensure_dir() {
  if (dir_ready_) return;
  std::string error;
  if (comm_.rank() == 0) {
    std::error_code ec;
    fs::create_directories(cp_.dir, ec);
    if (ec || !fs::is_directory(cp_.dir))
      error = fmt::format("cannot create the checkpoint directory {}: {}", cp_.dir,
                          ec ? ec.message() : "not a directory");
  }
  if (auto failed = first_error(comm_, error)) throw ValueError(failed->message);
  dir_ready_ = true;
}

std::string Checkpointer::after_step(size_t pos, const std::vector<DNDarray>& outs) {
  const StepCheckpoint& s = cp_.steps.at(pos);
  if (!s.write || sources_.at(pos) != StepSource::run) return "";
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  ensure_dir();
  const PlannedStep& ps = plan_.steps[pos];
  io::Outputs set(comm_, sync_);
  int64_t bytes = 0;
  double checksum_secs = 0;
  for (size_t f = 0; f < outs.size(); ++f) {
    const auto tc = Clock::now();
    const uint64_t sum = array_checksum(outs[f]);
    checksum_secs += std::chrono::duration<double>(Clock::now() - tc).count();
    io::SaveOptions o;
    o.dataset = dataset_of(ps, f);
    o.overwrite = true;
    o.format = io::Format::hdf5;
    o.attrs = {{"dnd_checkpoint", int64_t{kFormatVersion}},
               {"dnd_checkpoint_key", s.key},
               {"dnd_checksum", fmt::format("{:016x}", sum)},
               {"dnd_step", ps.step->id},
               {"dnd_op", ps.op->name},
               {"dnd_pipeline", plan_.doc->file},
               {"dnd_ranks", int64_t{comm_.size()}},
               {"dnd_created", static_cast<int64_t>(std::time(nullptr))}};
    set.save(outs[f], s.file, o);
    bytes += outs[f].gnbytes();
  }
  set.commit();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  return fmt::format("checkpoint written ({} in {:.3f} s, checksum {:.3f} s{}): {}",
                     human_bytes(static_cast<double>(bytes)), secs, checksum_secs,
                     sync_ ? ", synced" : "", s.file);
}

}  // namespace dnd::pipeline
