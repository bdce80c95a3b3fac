#include "src/cli/jobs.h"

#include "src/cli/commands.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace dnd::cli::jobs {

namespace {

namespace fs = std::filesystem;

bool matches(const std::string& s, const char* pattern) {
  return std::regex_match(s, std::regex(pattern));
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

std::vector<std::string> builtin_names() {
  std::vector<std::string> names;
  for (const auto& [name, text] : builtin_templates()) names.push_back(name);
  return names;
}

bool is_builtin(const std::string& name) {
  const auto names = builtin_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A template given as a path rather than a name.
bool is_template_file(const std::string& name) {
  return name.find('/') != std::string::npos ||
         (name.size() > 7 && name.substr(name.size() - 7) == ".sbatch");
}

// Job and file names appear unquoted in #SBATCH lines: keep them to safe characters.
std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '-';
  return out.empty() ? std::string("pipeline") : out;
}

int64_t to_int(const std::string& s, const std::string& what) {
  if (!matches(s, "[0-9]{1,9}"))
    throw UsageError(fmt::format("{}: '{}' is not a non-negative integer", what, s));
  return std::stoll(s);
}

std::string pipeline_name(const std::string& path) {
  // The top-level `name:` line, read as text: pipelines hold ${param} references that are
  // not YAML until substituted, and a broken file is `dnd validate`'s business (the
  // script runs it first), not the renderer's.
  std::ifstream in(path);
  std::string line;
  std::smatch m;
  static const std::regex name_line(R"(name:[ \t]*(["']?)([^"'#]*?)\1[ \t]*(#.*)?\r?)");
  while (std::getline(in, line))
    if (std::regex_match(line, m, name_line) && m[2].length() > 0) return safe_name(m[2]);
  return safe_name(fs::path(path).stem().string());
}

std::vector<int> parse_rank_list(const std::string& text, int max_ranks, const Request& r) {
  std::vector<int> out;
  for (const std::string& item : split(text, ',')) {
    const int64_t n = to_int(item, "--ranks");
    if (n < 1) throw UsageError("--ranks: rank counts start at 1");
    if (n > max_ranks)
      throw UsageError(
          fmt::format("--ranks {}: {} ranks exceed the allocation's {} ({} node(s) x {} ranks per node)",
                      text, n, max_ranks, r.nodes, r.ntasks_per_node));
    out.push_back(static_cast<int>(n));
  }
  if (out.empty()) throw UsageError("--ranks: give at least one rank count");
  return out;
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& builtin_templates() {
  // Generated from jobs/*.sbatch by src/cli/CMakeLists.txt.
  static const std::vector<std::pair<std::string, std::string>> templates{
#include "jobs_templates.inc"
  };
  return templates;
}

std::string template_summary(const std::string& name) {
  if (name == "pipeline")
    return "a pipeline: `dnd validate`, then `dnd run` on every rank (the default)";
  if (name == "array")
    return "a job array: the pipeline once per value of one --set parameter (--sweep, --array)";
  if (name == "bench")
    return "a scaling study: `dnd bench` at several rank counts in one allocation (--workload)";
  if (name == "gpu") return "a pipeline with one rank per GPU (--gpus-per-node)";
  return "";
}

std::vector<int64_t> array_ids(const std::string& spec) {
  // Slurm: a comma list of N, N-M or N-M:S, optionally followed by %LIMIT.
  std::string list = spec;
  if (auto pct = spec.find('%'); pct != std::string::npos) {
    if (to_int(spec.substr(pct + 1), "--array limit after %") < 1)
      throw UsageError("--array: the %limit must be at least 1");
    list = spec.substr(0, pct);
  }
  std::vector<int64_t> ids;
  for (const std::string& item : split(list, ',')) {
    std::smatch m;
    if (!std::regex_match(item, m, std::regex("([0-9]+)(?:-([0-9]+)(?::([0-9]+))?)?")))
      throw UsageError(fmt::format("--array {}: '{}' is not N, N-M or N-M:STEP", spec, item));
    const int64_t first = to_int(m[1], "--array"), last = m[2].matched ? to_int(m[2], "--array") : first;
    const int64_t step = m[3].matched ? to_int(m[3], "--array step") : 1;
    if (last < first)
      throw UsageError(fmt::format("--array {}: the range {} runs backwards", spec, item));
    if (step < 1)
      throw UsageError(fmt::format("--array {}: the step of {} must be at least 1", spec, item));
    if ((last - first) / step + static_cast<int64_t>(ids.size()) > 1000000)
      throw UsageError(fmt::format("--array {}: more than a million tasks", spec));
    for (int64_t i = first; i <= last; i += step) ids.push_back(i);
  }
  if (ids.empty()) throw UsageError("--array: no task ids");
  return ids;
}

Sweep parse_sweep(const std::string& sweep) {
  Sweep s;
  const auto eq = sweep.find('=');
  s.param = sweep.substr(0, eq);
  if (!matches(s.param, "[A-Za-z_][A-Za-z0-9_]*"))
    throw UsageError(fmt::format(
        "--sweep {}: '{}' is not a parameter name (give PARAM or PARAM=V1,V2,...)", sweep, s.param));
  if (eq == std::string::npos) return s;
  s.values = split(sweep.substr(eq + 1), ',');
  for (const std::string& v : s.values)
    if (v.empty()) throw UsageError(fmt::format("--sweep {}: an empty value", sweep));
  if (s.values.empty()) throw UsageError(fmt::format("--sweep {}: no values after '='", sweep));
  return s;
}

int64_t time_seconds(const std::string& time) {
  std::string t = time;
  int64_t days = 0;
  if (const auto dash = t.find('-'); dash != std::string::npos) {
    days = std::stoll(t.substr(0, dash));
    t = t.substr(dash + 1);
  }
  std::vector<int64_t> f;
  for (const std::string& part : split(t, ':')) f.push_back(std::stoll(part));
  int64_t s = 0;
  if (days > 0 || time.find('-') != std::string::npos) {  // D-H, D-H:M, D-H:M:S
    s = f[0] * 3600 + (f.size() > 1 ? f[1] * 60 : 0) + (f.size() > 2 ? f[2] : 0);
  } else if (f.size() == 1) {  // MINUTES
    s = f[0] * 60;
  } else if (f.size() == 2) {  // MIN:SEC
    s = f[0] * 60 + f[1];
  } else {  // H:MIN:SEC
    s = f[0] * 3600 + f[1] * 60 + f[2];
  }
  return days * 86400 + s;
}

uint64_t parse_mem(const std::string& text) {
  std::smatch m;
  if (!std::regex_match(text, m, std::regex("([0-9]+)([KkMmGgTt]?)")))
    throw UsageError(fmt::format("--mem {}: give a size like 4000 (MiB), 512M, 64G or 1T", text));
  const uint64_t n = std::stoull(m[1]);
  const char unit = m[2].matched && m[2].length() ? static_cast<char>(std::toupper(m[2].str()[0])) : 'M';
  const int shift = unit == 'K' ? 10 : unit == 'M' ? 20 : unit == 'G' ? 30 : 40;
  if (n == 0)
    throw UsageError("--mem 0: Slurm reads it as 'all the memory of the node'; leave --mem out instead");
  if (n > (uint64_t{1} << (63 - shift))) throw UsageError(fmt::format("--mem {}: too large", text));
  return n << shift;
}

void normalize(Request& r) {
  if (r.launcher != "srun" && r.launcher != "mpirun")
    throw UsageError(fmt::format("--launcher {}: give srun or mpirun{}", r.launcher,
                                 did_you_mean(r.launcher, {"srun", "mpirun"})));

  if (r.template_name.empty()) {
    if (!r.array.empty() || !r.sweep.empty())
      r.template_name = "array";
    else if (r.gpus_per_node > 0)
      r.template_name = "gpu";
    else if (!r.workload.empty())
      r.template_name = "bench";
    else
      r.template_name = "pipeline";
  }
  const bool custom = is_template_file(r.template_name);
  if (!custom && !is_builtin(r.template_name)) {
    std::string names;
    for (const auto& n : builtin_names()) names += (names.empty() ? "" : ", ") + n;
    throw UsageError(
        fmt::format("no template '{}'{} (templates: {}; or a path to your own .sbatch file)",
                    r.template_name, did_you_mean(r.template_name, builtin_names()), names));
  }
  const std::string& t = r.template_name;

  // Resources. Each rank is one MPI process; the gpu template gives each its own GPU.
  if (r.gpus_per_node < 0)
    throw UsageError(fmt::format("--gpus-per-node {}: must be 0 or more", r.gpus_per_node));
  if (t == "gpu") {
    if (r.gpus_per_node == 0)
      throw UsageError("the gpu template needs --gpus-per-node G (one rank per GPU)");
    if (r.ntasks_per_node == 0) r.ntasks_per_node = r.gpus_per_node;
    if (r.ntasks_per_node != r.gpus_per_node)
      throw UsageError(
          fmt::format("the gpu template runs one rank per GPU: --ntasks-per-node {} differs from "
                      "--gpus-per-node {}",
                      r.ntasks_per_node, r.gpus_per_node));
  }
  if (r.nodes == 0) throw UsageError("--nodes N is required");
  if (r.nodes < 0) throw UsageError(fmt::format("--nodes {}: must be at least 1", r.nodes));
  if (r.ntasks_per_node == 0) throw UsageError("--ntasks-per-node M is required (MPI ranks per node)");
  if (r.ntasks_per_node < 0)
    throw UsageError(fmt::format("--ntasks-per-node {}: must be at least 1", r.ntasks_per_node));
  if (r.cpus_per_task < 1)
    throw UsageError(fmt::format("--cpus-per-task {}: must be at least 1", r.cpus_per_task));
  if (static_cast<int64_t>(r.nodes) * r.ntasks_per_node > (int64_t{1} << 24))
    throw UsageError(fmt::format("--nodes {} x --ntasks-per-node {}: more than 2^24 ranks", r.nodes,
                                 r.ntasks_per_node));
  // Slurm's formats: MIN, MIN:SEC, H:MIN:SEC, D-H, D-H:MIN, D-H:MIN:SEC.
  if (!r.time.empty() &&
      !matches(r.time, "[0-9]+(:[0-9]{1,2}){0,2}|[0-9]+-[0-9]{1,2}(:[0-9]{1,2}){0,2}"))
    throw UsageError(fmt::format("--time {}: give MINUTES, H:MM:SS or D-HH:MM:SS", r.time));
  for (const auto& [opt, value] :
       {std::pair<const char*, const std::string&>{"--partition", r.partition},
        {"--account", r.account}})
    if (!value.empty() && !matches(value, "[A-Za-z0-9_.,-]+"))
      throw UsageError(fmt::format("{} '{}': letters, digits, '_', '.', '-' and ',' only", opt, value));
  if (!r.mem.empty()) parse_mem(r.mem);
  // The warning signal before the time limit (pipeline templates: stop, requeue, resume).
  if (r.signal_before < -1 || r.signal_before == 0)
    throw UsageError(
        fmt::format("--signal-before {}: give a number of seconds, at least 1", r.signal_before));
  if (r.signal_before > 65535)
    throw UsageError(
        fmt::format("--signal-before {}: Slurm allows at most 65535 seconds", r.signal_before));
  const int64_t limit = r.time.empty() ? 0 : time_seconds(r.time);
  if (r.signal_before > 0 && limit > 0 && r.signal_before >= limit)
    throw UsageError(
        fmt::format("--signal-before {}: the signal must come before the time limit --time {} "
                    "({} s)",
                    r.signal_before, r.time, limit));
  if (r.signal_before < 0)
    r.signal_before = static_cast<int>(limit > 0 ? std::clamp<int64_t>(limit / 10, 1, 300) : 300);
  for (const std::string& s : r.sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError(fmt::format("--set {}: give KEY=VALUE", s));
  }

  // What the template runs: a pipeline, or a built-in workload (bench).
  if (t == "bench") {
    if (r.workload.empty())
      throw UsageError("the bench template needs --workload NAME (`dnd bench --help` lists them)");
    if (!r.pipeline.empty())
      throw UsageError(
          fmt::format("the bench template runs a built-in workload (--workload {}), not the pipeline {}",
                      r.workload, r.pipeline));
  } else if (!custom) {
    if (r.pipeline.empty())
      throw UsageError(
          fmt::format("the {} template needs a pipeline file: dnd jobs sbatch PIPE.yaml ...", t));
    for (const auto& [opt, given] : {std::pair<const char*, bool>{"--workload", !r.workload.empty()},
                                     {"--ranks", !r.bench_ranks.empty()},
                                     {"--out", !r.bench_out.empty()}})
      if (given) throw UsageError(fmt::format("{} is for the bench template (--template bench)", opt));
  }
  if (!r.workload.empty() && !matches(r.workload, "[A-Za-z0-9_.-]+"))
    throw UsageError(fmt::format("--workload '{}': letters, digits, '_', '.' and '-' only", r.workload));
  if (r.bench_mode != "strong" && r.bench_mode != "weak")
    throw UsageError(fmt::format("--mode {}: give strong or weak{}", r.bench_mode,
                                 did_you_mean(r.bench_mode, {"strong", "weak"})));
  if (t == "bench" || !r.workload.empty()) {
    if (r.bench_ranks.empty()) {
      // Powers of two up to the allocation, and the allocation itself.
      for (int n = 1; n < r.ranks(); n *= 2) r.bench_ranks += std::to_string(n) + ",";
      r.bench_ranks += std::to_string(r.ranks());
    }
    parse_rank_list(r.bench_ranks, r.ranks(), r);
  }

  // A path is made absolute (jobs start in the submission directory, but users move
  // scripts); a bare name is looked up on the compute nodes' PATH.
  if (r.dnd.find('/') != std::string::npos) r.dnd = fs::absolute(r.dnd).lexically_normal().string();

  if (!r.pipeline.empty()) {
    std::error_code ec;
    if (!fs::is_regular_file(r.pipeline, ec))
      throw UsageError(fmt::format("{}: no such pipeline file", r.pipeline));
    r.pipeline_path = fs::absolute(r.pipeline).lexically_normal().string();
    if (r.pipeline_name.empty()) r.pipeline_name = pipeline_name(r.pipeline);
  }

  // The sweep: each array task runs with its own value of one parameter.
  if (t == "array") {
    if (r.sweep.empty())
      throw UsageError(
          "the array template needs --sweep PARAM=V1,V2,... (task i runs with V_i) or --sweep PARAM "
          "with --array SPEC (each task's id is its value)");
    const Sweep s = parse_sweep(r.sweep);
    if (s.values.empty() && r.array.empty())
      throw UsageError(fmt::format(
          "--sweep {} without values needs --array SPEC (each task's id is its value)", r.sweep));
    if (r.array.empty()) r.array = fmt::format("0-{}", s.values.size() - 1);
    const auto ids = array_ids(r.array);
    const int64_t top = *std::max_element(ids.begin(), ids.end());
    if (!s.values.empty() && top >= static_cast<int64_t>(s.values.size()))
      throw UsageError(fmt::format("--array {}: task {} has no value (--sweep gives {}: tasks 0-{})",
                                   r.array, top, s.values.size(), s.values.size() - 1));
  } else if (!custom && (!r.array.empty() || !r.sweep.empty())) {
    throw UsageError(fmt::format("--array and --sweep are for the array template, not '{}'", t));
  } else if (!r.array.empty()) {
    array_ids(r.array);
  }
}

Template load_template(const Request& r) {
  for (const auto& [name, text] : builtin_templates())
    if (name == r.template_name) return Template{name, text, true};
  std::ifstream in(r.template_name);
  if (!in) throw UsageError(fmt::format("--template {}: cannot read the file", r.template_name));
  std::stringstream ss;
  ss << in.rdbuf();
  return Template{r.template_name, ss.str(), false};
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && matches(s, "[A-Za-z0-9_./:=,+@%-]+")) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string render(const Request& r, const Template& t, const std::string& plan_note) {
  const bool array = !r.array.empty();
  const bool bench = t.name == "bench" || (!t.builtin && !r.workload.empty() && r.pipeline.empty());
  // Jobs and their output are named after what they run: the pipeline, the workload, or
  // (an own template without either) the template file.
  const std::string base = bench ? "dnd-bench-" + r.workload
                           : !r.pipeline_name.empty()
                               ? "dnd-" + r.pipeline_name
                               : "dnd-" + safe_name(fs::path(t.name).stem().string());

  std::string sbatch = fmt::format(
      "#SBATCH --job-name={}\n#SBATCH --nodes={}\n#SBATCH --ntasks-per-node={}\n"
      "#SBATCH --cpus-per-task={}\n",
      base, r.nodes, r.ntasks_per_node, r.cpus_per_task);
  if (r.gpus_per_node > 0) sbatch += fmt::format("#SBATCH --gpus-per-node={}\n", r.gpus_per_node);
  if (!r.mem.empty()) sbatch += fmt::format("#SBATCH --mem={}\n", r.mem);
  if (!r.time.empty()) sbatch += fmt::format("#SBATCH --time={}\n", r.time);
  if (!r.partition.empty()) sbatch += fmt::format("#SBATCH --partition={}\n", r.partition);
  if (!r.account.empty()) sbatch += fmt::format("#SBATCH --account={}\n", r.account);
  if (array) sbatch += fmt::format("#SBATCH --array={}\n", r.array);
  // The built-in pipeline templates stop on SIGUSR1 before the time limit and requeue.
  if (t.builtin && !bench)
    sbatch += fmt::format("#SBATCH --signal=B:USR1@{}\n#SBATCH --requeue\n#SBATCH --open-mode=append\n",
                          r.signal_before > 0 ? r.signal_before : 300);
  sbatch += fmt::format("#SBATCH --output={}-{}.out", base, array ? "%A_%a" : "%j");

  // Slurm >= 22.05 no longer hands --cpus-per-task from sbatch to srun: say it again.
  // mpirun reads the allocation from Slurm; threads are set explicitly, so no binding.
  const std::string launch =
      r.launcher == "srun"
          ? fmt::format(
                "srun --mpi=pmix --cpus-per-task=\"${{SLURM_CPUS_PER_TASK:-{}}}\" --kill-on-bad-exit=1",
                r.cpus_per_task)
          : fmt::format("mpirun -n \"$SLURM_NTASKS\" --map-by ppr:{}:node --bind-to none",
                        r.ntasks_per_node);

  std::string sets;
  for (const std::string& s : r.sets)
    sets += (sets.empty() ? "" : " ") + std::string("--set ") + shell_quote(s);
  Sweep sweep;
  if (!r.sweep.empty()) sweep = parse_sweep(r.sweep);
  std::string values;
  for (const std::string& v : sweep.values) values += (values.empty() ? "" : " ") + shell_quote(v);

  const std::map<std::string, std::string> vars{
      {"SBATCH", sbatch},
      {"DND", shell_quote(r.dnd)},
      {"PIPELINE", shell_quote(r.pipeline_path)},
      {"PIPELINE_NAME", r.pipeline_name},
      {"NODES", std::to_string(r.nodes)},
      {"TASKS_PER_NODE", std::to_string(r.ntasks_per_node)},
      {"RANKS", std::to_string(r.ranks())},
      // The allocation's own figure wins, so editing the #SBATCH line is enough.
      {"THREADS", fmt::format("${{SLURM_CPUS_PER_TASK:-{}}}", r.cpus_per_task)},
      {"SETS", sets},
      {"LAUNCH", launch},
      {"PLAN_NOTE", plan_note},
      {"SWEEP_PARAM", sweep.param},
      {"SWEEP_VALUES", values},
      {"WORKLOAD", r.workload},
      {"BENCH_RANKS", r.bench_ranks},
      {"BENCH_MODE", r.bench_mode},
      {"BENCH_OUT",
       r.bench_out.empty() ? "\"dnd-bench-$WORKLOAD-$SLURM_JOB_ID\"" : shell_quote(r.bench_out)},
  };

  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t open = t.text.find("{{", pos);
    if (open == std::string::npos) break;
    const size_t close = t.text.find("}}", open);
    const std::string key =
        close == std::string::npos ? std::string() : t.text.substr(open + 2, close - open - 2);
    auto it = vars.find(key);
    if (it == vars.end()) {
      std::string known;
      for (const auto& [k, v] : vars) known += (known.empty() ? "" : " ") + k;
      const auto line =
          std::count(t.text.begin(), t.text.begin() + static_cast<std::ptrdiff_t>(open), '\n') + 1;
      throw UsageError(
          fmt::format("template {}:{}: unknown placeholder '{}' (known: {})", t.name, line,
                      t.text.substr(open, close == std::string::npos ? 2 : close + 2 - open), known));
    }
    out += t.text.substr(pos, open - pos) + it->second;
    pos = close + 2;
  }
  return out + t.text.substr(pos);
}

std::optional<double> json_top_level_number(const std::string& text, const std::string& key) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;  // also what a parse error gives (discarded)
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

FitReport check_fit(const Request& r, const Fit& f) {
  FitReport rep;
  const int per_node = r.ntasks_per_node;
  if (f.peak_bytes_per_rank) {
    const double rank = static_cast<double>(*f.peak_bytes_per_rank);
    const double node = rank * per_node;
    rep.note = fmt::format("# dnd plan: about {} per rank at {} ranks, {} for the {} rank(s) of a node",
                           human_bytes(rank), r.ranks(), human_bytes(node), per_node);
    if (f.node_bytes) {
      rep.note += fmt::format("; a node has {} ({})", human_bytes(static_cast<double>(*f.node_bytes)),
                              f.node_bytes_source);
      if (node > static_cast<double>(*f.node_bytes))
        rep.warnings.push_back(
            fmt::format("the pipeline needs about {} per rank at {} ranks (dnd plan), {} for the {} "
                        "rank(s) of a node, but a node "
                        "has {} ({}): use more nodes, fewer ranks per node, or more memory (--mem)",
                        human_bytes(rank), r.ranks(), human_bytes(node), per_node,
                        human_bytes(static_cast<double>(*f.node_bytes)), f.node_bytes_source));
    }
    rep.note += "\n";
  }
  if (f.node_cpus && static_cast<int64_t>(per_node) * r.cpus_per_task > *f.node_cpus)
    rep.warnings.push_back(
        fmt::format("{} rank(s) per node x {} core(s) per rank need {} CPUs per node, but the nodes "
                    "have {} ({}): Slurm will "
                    "refuse or hold the job",
                    per_node, r.cpus_per_task, static_cast<int64_t>(per_node) * r.cpus_per_task,
                    *f.node_cpus, f.node_cpus_source));
  return rep;
}

}  // namespace dnd::cli::jobs
