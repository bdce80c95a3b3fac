// `dnd jobs sbatch`: sbatch scripts rendered from the templates in jobs/ (compiled into
// the executable, so a copied `dnd` needs no source tree). Pure functions over a request;
// cmd_jobs.cpp adds the command line and the calls of `dnd plan` and `sinfo`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dnd::cli::jobs {

// What the user asked for; `normalize` fills the defaults and checks it.
struct Request {
  std::string pipeline;       // the pipeline file as given ("" for the bench template)
  std::string pipeline_path;  // absolute path written into the script
  std::string pipeline_name;  // the file's `name:`, else its stem: names the job and its output
  int nodes = 0;
  int ntasks_per_node = 0;  // 0: not given (the gpu template takes --gpus-per-node)
  int cpus_per_task = 1;
  int gpus_per_node = 0;
  std::string time, partition, account, mem;
  int signal_before = -1;  // --signal-before SECONDS (-1: 300, at most a tenth of the time limit)
  std::string array;       // Slurm --array spec
  std::string sweep;       // PARAM or PARAM=V1,V2,...
  std::vector<std::string> sets;
  std::string template_name;  // a built-in name or a file path; "" chooses from the options
  std::string launcher = "srun";
  std::string workload, bench_ranks, bench_mode = "strong", bench_out;
  std::string dnd;  // the executable the script runs

  int ranks() const { return nodes * ntasks_per_node; }
};

// The array template's sweep, parsed from --sweep.
struct Sweep {
  std::string param;
  std::vector<std::string> values;  // empty: each task's id is the value
};

struct Template {
  std::string name;  // built-in name, or the file path
  std::string text;
  bool builtin = true;
};

// The templates of jobs/, by name (pipeline, array, bench, gpu).
const std::vector<std::pair<std::string, std::string>>& builtin_templates();
// One line on what a built-in template runs, for `dnd jobs templates`.
std::string template_summary(const std::string& name);

// Fills defaults (template chosen from the options, ranks per node for GPUs, bench rank
// list) and checks every option; throws UsageError naming the option.
void normalize(Request& r);
// The built-in template r.template_name, or the file it names; throws UsageError.
Template load_template(const Request& r);
Sweep parse_sweep(const std::string& sweep);
// The array task ids a Slurm spec like "0-9:2,12%4" names; throws UsageError.
std::vector<int64_t> array_ids(const std::string& spec);
// A Slurm time limit (MINUTES, MIN:SEC, H:MIN:SEC, D-H, D-H:MIN, D-H:MIN:SEC) in seconds.
int64_t time_seconds(const std::string& time);
// A Slurm size ("4000", "64G", "512M"; no suffix means MiB) in bytes; throws UsageError.
uint64_t parse_mem(const std::string& text);

// The script. `plan_note` is a comment block (lines starting with '#') or "".
std::string render(const Request& r, const Template& t, const std::string& plan_note);

// The number under `key` at the top level of a JSON object, if there is one.
std::optional<double> json_top_level_number(const std::string& json, const std::string& key);

// What `dnd plan` and `sinfo` said, for the checks of the request against the nodes.
struct Fit {
  std::optional<uint64_t> peak_bytes_per_rank;  // from `dnd plan` at r.ranks()
  std::optional<uint64_t> node_bytes;           // memory per node: --mem, else sinfo's
  std::string node_bytes_source;                // "--mem 8G", "sinfo, partition batch"
  std::optional<int> node_cpus;                 // CPUs per node, from sinfo
  std::string node_cpus_source;
};
struct FitReport {
  std::string note;                   // comment lines for the script, or ""
  std::vector<std::string> warnings;  // the request cannot hold the pipeline / fit the node
};
FitReport check_fit(const Request& r, const Fit& f);

// "1.5 GiB"
// A word the shell reads back unchanged.
std::string shell_quote(const std::string& s);

}  // namespace dnd::cli::jobs
