// `dnd jobs sbatch`'s request checks and rendering (src/cli/jobs.h). The scripts are run
// against a real Slurm by tests/slurm/test_slurm.sh.
#include "src/cli/commands.h"
#include "src/cli/jobs.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace dnd::cli;
using namespace dnd::cli::jobs;

namespace {

// A pipeline file that exists for the duration of the test program.
const std::string& pipeline_file() {
  static const std::string path = [] {
    const std::string p = (std::filesystem::temp_directory_path() / "dnd_test_jobs_pipe.yaml").string();
    std::ofstream(p) << "version: 1\nname: my pipe\nparams: {n: 10}\nsteps: []\n";
    return p;
  }();
  return path;
}

Request base() {
  Request r;
  r.pipeline = pipeline_file();
  r.nodes = 2;
  r.ntasks_per_node = 4;
  r.dnd = "/opt/dnd/bin/dnd";
  return r;
}

// normalize's message, or "" when the request is accepted.
std::string error_of(Request r) {
  try {
    normalize(r);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

std::string rendered(Request r, const std::string& note = "") {
  normalize(r);
  return render(r, load_template(r), note);
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST(Jobs, TemplateChosenFromTheOptions) {
  Request r = base();
  normalize(r);
  EXPECT_EQ(r.template_name, "pipeline");
  EXPECT_EQ(r.pipeline_name, "my-pipe");  // the file's name:, made safe for #SBATCH lines
  EXPECT_TRUE(std::filesystem::path(r.pipeline_path).is_absolute());

  r = base();
  r.sweep = "n=1,2,3";
  normalize(r);
  EXPECT_EQ(r.template_name, "array");
  EXPECT_EQ(r.array, "0-2");

  r = base();
  r.ntasks_per_node = 0;
  r.gpus_per_node = 4;
  normalize(r);
  EXPECT_EQ(r.template_name, "gpu");
  EXPECT_EQ(r.ntasks_per_node, 4);  // one rank per GPU

  r = base();
  r.pipeline.clear();
  r.workload = "matmul";
  r.nodes = 1;
  r.ntasks_per_node = 6;
  normalize(r);
  EXPECT_EQ(r.template_name, "bench");
  EXPECT_EQ(r.bench_ranks, "1,2,4,6");
}

TEST(Jobs, PipelineNameFromTheFileElseItsStem) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto name_of = [&](const std::string& file, const std::string& text) {
    const std::string path = (dir / file).string();
    std::ofstream(path) << text;
    Request r = base();
    r.pipeline = path;
    normalize(r);
    std::remove(path.c_str());
    return r.pipeline_name;
  };
  // ${...} in a flow sequence is not YAML until substituted: the name is read as text.
  EXPECT_EQ(name_of("dnd_test_jobs_a.yaml",
                    "version: 1\nname: \"cluster points\"  # k-means\nparams: {n: 4}\n"
                    "steps:\n  - op: random.normal\n    shape: [${n}, 4]\n"),
            "cluster-points");
  EXPECT_EQ(name_of("dnd_test_jobs_b.yaml", "steps:\n  - id: x\n    name: inner\n"), "dnd_test_jobs_b");
  EXPECT_EQ(name_of("dnd_test_jobs_c.yaml", "name: 'it'\n"), "it");
}

TEST(Jobs, MalformedRequestsAreUsageErrors) {
  Request r = base();
  r.template_name = "pipline";
  EXPECT_TRUE(
      has(error_of(r),
          "no template 'pipline', did you mean 'pipeline'? (templates: pipeline, array, bench, gpu"))
      << error_of(r);
  r = base();
  r.nodes = 0;
  EXPECT_EQ(error_of(r), "--nodes N is required");
  r = base();
  r.nodes = -1;
  EXPECT_EQ(error_of(r), "--nodes -1: must be at least 1");
  r = base();
  r.ntasks_per_node = 0;
  EXPECT_EQ(error_of(r), "--ntasks-per-node M is required (MPI ranks per node)");
  r = base();
  r.cpus_per_task = 0;
  EXPECT_EQ(error_of(r), "--cpus-per-task 0: must be at least 1");
  r = base();
  r.nodes = 1 << 20;
  r.ntasks_per_node = 1 << 10;
  EXPECT_TRUE(has(error_of(r), "more than 2^24 ranks"));
  r = base();
  r.gpus_per_node = 2;  // 4 ranks per node on 2 GPUs
  EXPECT_EQ(
      error_of(r),
      "the gpu template runs one rank per GPU: --ntasks-per-node 4 differs from --gpus-per-node 2");
  r = base();
  r.template_name = "gpu";
  EXPECT_EQ(error_of(r), "the gpu template needs --gpus-per-node G (one rank per GPU)");
  r = base();
  r.pipeline = "/nonexistent/pipe.yaml";
  EXPECT_EQ(error_of(r), "/nonexistent/pipe.yaml: no such pipeline file");
  r = base();
  r.pipeline.clear();
  EXPECT_EQ(error_of(r), "the pipeline template needs a pipeline file: dnd jobs sbatch PIPE.yaml ...");
  r = base();
  r.time = "ten minutes";
  EXPECT_EQ(error_of(r), "--time ten minutes: give MINUTES, H:MM:SS or D-HH:MM:SS");
  r = base();
  r.partition = "a b";
  EXPECT_TRUE(has(error_of(r), "--partition 'a b'"));
  r = base();
  r.sets = {"=3"};
  EXPECT_EQ(error_of(r), "--set =3: give KEY=VALUE");
  r = base();
  r.launcher = "mpirn";
  EXPECT_EQ(error_of(r), "--launcher mpirn: give srun or mpirun, did you mean 'mpirun'?");
  r = base();
  r.mem = "8X";
  EXPECT_TRUE(has(error_of(r), "--mem 8X"));
}

TEST(Jobs, BenchAndArrayRequestsAreChecked) {
  Request r = base();
  r.pipeline.clear();
  r.workload = "matmul";
  r.bench_ranks = "1,2,16";  // 2 nodes x 4 = 8 ranks
  EXPECT_EQ(error_of(r),
            "--ranks 1,2,16: 16 ranks exceed the allocation's 8 (2 node(s) x 4 ranks per node)");
  r.bench_ranks = "1,0";
  EXPECT_EQ(error_of(r), "--ranks: rank counts start at 1");
  r.bench_ranks = "";
  r.bench_mode = "stronk";
  EXPECT_EQ(error_of(r), "--mode stronk: give strong or weak, did you mean 'strong'?");
  r = base();
  r.template_name = "bench";
  r.workload = "matmul";
  EXPECT_TRUE(has(error_of(r),
                  "the bench template runs a built-in workload (--workload matmul), not the pipeline"));
  r = base();
  r.bench_ranks = "1,2";
  EXPECT_EQ(error_of(r), "--ranks is for the bench template (--template bench)");

  r = base();
  r.sweep = "n=8,16";
  r.array = "0-2";
  EXPECT_EQ(error_of(r), "--array 0-2: task 2 has no value (--sweep gives 2: tasks 0-1)");
  r.array = "1";
  EXPECT_EQ(error_of(r), "");
  r = base();
  r.sweep = "n";
  EXPECT_EQ(error_of(r), "--sweep n without values needs --array SPEC (each task's id is its value)");
  r = base();
  r.array = "0-3";
  EXPECT_TRUE(has(error_of(r), "the array template needs --sweep PARAM=V1,V2,..."));
  r = base();
  r.sweep = "9n=1";
  EXPECT_TRUE(has(error_of(r), "'9n' is not a parameter name"));
  r = base();
  r.sweep = "n=1,,2";
  EXPECT_EQ(error_of(r), "--sweep n=1,,2: an empty value");
  r = base();
  r.template_name = "pipeline";
  r.sweep = "n=1,2";
  EXPECT_EQ(error_of(r), "--array and --sweep are for the array template, not 'pipeline'");
}

TEST(Jobs, ArraySpecs) {
  EXPECT_EQ(array_ids("0-9:3,12"), (std::vector<int64_t>{0, 3, 6, 9, 12}));
  EXPECT_EQ(array_ids("4"), (std::vector<int64_t>{4}));
  EXPECT_EQ(array_ids("1,3%2"), (std::vector<int64_t>{1, 3}));
  for (const char* bad : {"5-2", "x", "0-4:0", "1,,2", "0-3%0", "", "-1"}) {
    EXPECT_THROW(array_ids(bad), UsageError) << bad;
  }
}

TEST(Jobs, MemorySizes) {
  EXPECT_EQ(parse_mem("4000"), 4000ull << 20);
  EXPECT_EQ(parse_mem("512m"), 512ull << 20);
  EXPECT_EQ(parse_mem("64G"), 64ull << 30);
  EXPECT_EQ(parse_mem("2T"), 2ull << 40);
  EXPECT_EQ(parse_mem("100K"), 100ull << 10);
  for (const char* bad : {"", "G", "1.5G", "0", "-3", "4 G"}) {
    EXPECT_THROW(parse_mem(bad), UsageError) << bad;
  }
}

TEST(Jobs, PipelineScriptCarriesTheRequest) {
  Request r = base();
  r.cpus_per_task = 3;
  r.time = "1-02:00:00";
  r.partition = "batch";
  r.account = "proj7";
  r.mem = "64G";
  r.sets = {"n=5", "label=a b's"};
  const std::string s = rendered(r, "# dnd plan: note\n");
  for (const char* line :
       {"#SBATCH --job-name=dnd-my-pipe\n", "#SBATCH --nodes=2\n", "#SBATCH --ntasks-per-node=4\n",
        "#SBATCH --cpus-per-task=3\n", "#SBATCH --time=1-02:00:00\n", "#SBATCH --partition=batch\n",
        "#SBATCH --account=proj7\n", "#SBATCH --mem=64G\n", "#SBATCH --output=dnd-my-pipe-%j.out\n",
        "DND=/opt/dnd/bin/dnd\n", "SETS=(--set n=5 --set 'label=a b'\\''s')\n",
        "THREADS=${SLURM_CPUS_PER_TASK:-3}\n",
        "export DND_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS\n", "# dnd plan: note\n",
        "\"$DND\" validate \"$PIPELINE\" \"${SETS[@]}\"\n",
        "srun --mpi=pmix --cpus-per-task=\"${SLURM_CPUS_PER_TASK:-3}\" --kill-on-bad-exit=1 \"$DND\" -v "
        "run "
        "\"$PIPELINE\" "
        "\"${SETS[@]}\" \"${RESUME[@]}\" &\n",
        // Time limits: a warning signal 300 s before, passed on to the ranks; exit 75 requeues.
        "#SBATCH --signal=B:USR1@300\n#SBATCH --requeue\n#SBATCH --open-mode=append\n",
        "if [ \"${SLURM_RESTART_COUNT:-0}\" -gt 0 ]; then RESUME=(--resume); fi\n",
        "trap 'if [ -n \"$launcher\" ]; then kill -USR1 \"$launcher\" 2>/dev/null || true; fi' USR1\n",
        "if [ \"$rc\" -eq 75 ]; then\n", "  scontrol requeue \"${SLURM_JOB_ID}\"\n"})
    EXPECT_TRUE(has(s, line)) << "missing: " << line << "\nin:\n" << s;
  EXPECT_TRUE(
      has(s, "PIPELINE=" + shell_quote(std::filesystem::absolute(pipeline_file()).string()) + "\n"));
  EXPECT_FALSE(has(s, "{{"));
  EXPECT_FALSE(has(s, "--gpus-per-node"));
  EXPECT_FALSE(has(s, "--array"));
  // The #SBATCH lines come before the first command (sbatch stops reading them there).
  EXPECT_LT(s.find("#SBATCH --output"), s.find("set -euo pipefail"));
  EXPECT_EQ(s.rfind("#!/bin/bash\n", 0), 0u);
}

TEST(Jobs, WarningSignalBeforeTheTimeLimit) {
  Request r = base();
  r.time = "10";  // 600 s: the signal comes a tenth of it before the limit
  EXPECT_TRUE(has(rendered(r), "#SBATCH --signal=B:USR1@60\n"));
  r.signal_before = 90;
  EXPECT_TRUE(has(rendered(r), "#SBATCH --signal=B:USR1@90\n"));
  r.time = "1:30";  // 90 s
  EXPECT_NE(error_of(r).find(
                "--signal-before 90: the signal must come before the time limit --time 1:30 (90 s)"),
            std::string::npos)
      << error_of(r);
  r.signal_before = 0;
  EXPECT_NE(error_of(r).find("at least 1"), std::string::npos);
  r = base();
  r.sweep = "n=1,2";
  const std::string a = rendered(r);
  EXPECT_TRUE(has(a, "#SBATCH --signal=B:USR1@300\n")) << a;
  EXPECT_TRUE(has(a, "scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"")) << a;
  r = base();
  r.pipeline.clear();
  r.workload = "matmul";
  EXPECT_FALSE(has(rendered(r), "--signal")) << "the bench template does not stop on a signal";
  for (const auto& [t, s] : {std::pair<const char*, int64_t>{"10", 600},
                             {"1:30", 90},
                             {"2:03:04", 7384},
                             {"1-2", 93600},
                             {"1-2:03", 93780},
                             {"1-2:03:04", 93784}})
    EXPECT_EQ(time_seconds(t), s) << t;
}

TEST(Jobs, MpirunLauncherMapsRanksPerNode) {
  Request r = base();
  r.launcher = "mpirun";
  const std::string s = rendered(r);
  EXPECT_TRUE(has(s, "mpirun -n \"$SLURM_NTASKS\" --map-by ppr:4:node --bind-to none \"$DND\" -v run"))
      << s;
  EXPECT_FALSE(has(s, "\nsrun "));
}

TEST(Jobs, ArrayScriptPicksTheTasksValue) {
  Request r = base();
  r.sweep = "n=100,2e3,x y";
  const std::string s = rendered(r);
  for (const char* line :
       {"#SBATCH --array=0-2\n", "#SBATCH --output=dnd-my-pipe-%A_%a.out\n", "SWEEP_PARAM=n\n",
        "SWEEP_VALUES=(100 2e3 'x y')\n", "\"${SETS[@]}\" --set \"$SWEEP_PARAM=$value\"\n"})
    EXPECT_TRUE(has(s, line)) << "missing: " << line << "\nin:\n" << s;

  r = base();
  r.sweep = "seed";
  r.array = "1-7:2%2";
  const std::string t = rendered(r);
  EXPECT_TRUE(has(t, "#SBATCH --array=1-7:2%2\n"));
  EXPECT_TRUE(has(t, "SWEEP_VALUES=()\n"));
}

TEST(Jobs, BenchAndGpuScripts) {
  Request r = base();
  r.pipeline.clear();
  r.workload = "matmul";
  r.bench_mode = "weak";
  const std::string s = rendered(r);
  for (const char* line :
       {"#SBATCH --job-name=dnd-bench-matmul\n", "#SBATCH --output=dnd-bench-matmul-%j.out\n",
        "WORKLOAD=matmul\n", "BENCH_RANKS=1,2,4,8\n", "BENCH_MODE=weak\n",
        "BENCH_OUT=\"dnd-bench-$WORKLOAD-$SLURM_JOB_ID\"\n",
        "\"$DND\" -v bench --workload \"$WORKLOAD\" --ranks \"$BENCH_RANKS\" --mode \"$BENCH_MODE\" "
        "--out \"$BENCH_OUT\"\n"})
    EXPECT_TRUE(has(s, line)) << "missing: " << line << "\nin:\n" << s;

  r = base();
  r.gpus_per_node = 4;
  const std::string g = rendered(r);
  EXPECT_TRUE(has(g, "#SBATCH --gpus-per-node=4\n#SBATCH"));
  EXPECT_TRUE(has(g, "#SBATCH --ntasks-per-node=4\n"));
  EXPECT_TRUE(has(g, "one MPI rank per GPU"));
}

TEST(Jobs, OwnTemplatesAreCheckedForUnknownPlaceholders) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "dnd_test_jobs_own.sbatch").string();
  std::ofstream(path) << "#!/bin/bash\n{{SBATCH}}\necho {{RANKS}}\necho {{NOPE}}\n";
  Request r = base();
  r.template_name = path;
  normalize(r);
  try {
    render(r, load_template(r), "");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_TRUE(has(e.what(), "template " + path + ":4: unknown placeholder '{{NOPE}}' (known: "))
        << e.what();
  }
  std::ofstream(path) << "#!/bin/bash\n{{SBATCH}}\necho {{RANKS}}\n";
  EXPECT_TRUE(has(render(r, load_template(r), ""), "\necho 8\n"));
  std::remove(path.c_str());
}

TEST(Jobs, ShellQuoting) {
  EXPECT_EQ(shell_quote("a/b-c_1.yaml"), "a/b-c_1.yaml");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's $HOME"), "'it'\\''s $HOME'");
}

TEST(Jobs, PlanJsonTopLevelField) {
  const std::string json =
      R"({"steps": [{"id": "x", "peak_bytes_per_rank": 5}], "note": "peak_bytes_per_rank", )"
      R"("peak_bytes_per_rank" : 1.5e9, "ranks": 4})";
  EXPECT_EQ(json_top_level_number(json, "peak_bytes_per_rank"), 1.5e9);
  EXPECT_EQ(json_top_level_number(R"({"a": {"peak_bytes_per_rank": 3}})", "peak_bytes_per_rank"),
            std::nullopt);
  EXPECT_EQ(json_top_level_number(R"({"peak_bytes_per_rank": "big"})", "peak_bytes_per_rank"),
            std::nullopt);
  EXPECT_EQ(json_top_level_number("not json", "peak_bytes_per_rank"), std::nullopt);
  EXPECT_EQ(json_top_level_number(R"({"k\"ey": 1, "peak_bytes_per_rank": 42})", "peak_bytes_per_rank"),
            42.0);
}

TEST(Jobs, FitWarnsWhenTheNodesCannotHoldThePipeline) {
  Request r = base();  // 4 ranks per node
  normalize(r);
  Fit f;
  f.peak_bytes_per_rank = 3ull << 30;
  f.node_bytes = 8ull << 30;
  f.node_bytes_source = "--mem 8G";
  FitReport rep = check_fit(r, f);
  ASSERT_EQ(rep.warnings.size(), 1u);
  EXPECT_EQ(
      rep.warnings[0],
      "the pipeline needs about 3.0 GiB per rank at 8 ranks (dnd plan), 12.0 GiB for the 4 rank(s) of a "
      "node, "
      "but a node has 8.0 GiB (--mem 8G): use more nodes, fewer ranks per node, or more memory (--mem)");
  EXPECT_EQ(rep.note,
            "# dnd plan: about 3.0 GiB per rank at 8 ranks, 12.0 GiB for the 4 rank(s) of a node; a "
            "node has 8.0 GiB "
            "(--mem 8G)\n");

  f.node_bytes = 12ull << 30;  // exactly enough
  EXPECT_TRUE(check_fit(r, f).warnings.empty());

  f = Fit{};  // no plan, no sinfo: nothing to say
  EXPECT_TRUE(check_fit(r, f).warnings.empty());
  EXPECT_EQ(check_fit(r, f).note, "");

  f.node_cpus = 6;
  f.node_cpus_source = "sinfo, partition batch";
  r.cpus_per_task = 2;  // 4 x 2 = 8 > 6
  rep = check_fit(r, f);
  ASSERT_EQ(rep.warnings.size(), 1u);
  EXPECT_EQ(rep.warnings[0],
            "4 rank(s) per node x 2 core(s) per rank need 8 CPUs per node, but the nodes have 6 (sinfo, "
            "partition "
            "batch): Slurm will refuse or hold the job");
}
