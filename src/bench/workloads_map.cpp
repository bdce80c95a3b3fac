// Workloads of the pipeline layer and of op: map, each next to its baseline in the same run:
//
//   pipeline-overhead  20 cheap steps on a (rows, 8) float32 array split 0 (a factory, then
//                      elementwise ops, every fourth a reduction, one resplit), parsed,
//                      planned and executed; baseline at each rank count: the same core
//                      calls from C++. Extras: the overhead (run - baseline) in ms.
//   map                a pipeline of random.uniform (--size elements per rank at one
//                      rank) and `op: map` with fn "x * 2.0 + 1.0"; the figure counts the
//                      map step (the executor's step time); baseline at each rank count:
//                      x * 2.0 + 1.0 with at::Tensor on the same block.
//   map-compile        planning a pipeline whose last step is a 4-line map fn (TorchScript
//                      compilation and the two probe runs that infer its result; a fresh
//                      source every run, so nothing is cached); baseline: planning the same
//                      pipeline without it. Extras: the difference in ms.
//   halo               get_halo of h rows on each side of a (rows, S) float32 array split 0
//                      (cases h = 1 and h = S/8), next to Isend/Irecv of the same bytes with
//                      the same neighbours.
#include "src/bench/baselines.h"
#include "src/bench/timing.h"
#include "src/bench/workloads_impl.h"
#include "src/core/elementwise.h"
#include "src/core/error.h"
#include "src/core/halo.h"
#include "src/core/manipulation.h"
#include "src/core/reductions.h"
#include "src/pipeline/execute.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cstdio>
#include <memory>

namespace dnd::bench::detail {

namespace {

constexpr int kSteps = 20;

std::FILE* devnull() {
  static std::FILE* f = std::fopen("/dev/null", "w");
  return f ? f : stdout;
}

pipeline::RunOptions quiet_run() {
  pipeline::RunOptions o;
  o.quiet = true;
  o.out = devnull();
  return o;
}

// steps: X, then for k = 1.. : an elementwise op on the previous array, every fourth a
// reduction of it; one resplit in the middle. run_direct makes the same calls.
std::string overhead_pipeline(int64_t rows) {
  std::string s = fmt::format(
      "version: 1\nsteps:\n  - {{id: s0, op: random.uniform, shape: [{}, 8], split: 0, seed: 1}}\n",
      rows);
  std::string prev = "s0";
  for (int k = 1; k < kSteps; ++k) {
    const std::string id = fmt::format("s{}", k);
    if (k == kSteps / 2) {
      s += fmt::format("  - {{id: {}, op: resplit, input: {}, axis: 1}}\n", id, prev);
      prev = id;
    } else if (k % 4 == 0) {
      s += fmt::format("  - {{id: {}, op: reduce, input: {}, fn: sum, axis: 0}}\n", id, prev);
    } else {
      const char* op = k % 4 == 1 ? "multiply" : k % 4 == 2 ? "add" : "subtract";
      s += fmt::format("  - {{id: {}, op: {}, inputs: [{}, 1.5]}}\n", id, op, prev);
      prev = id;
    }
  }
  return s;
}

void run_direct(int64_t rows, const Communicator& comm) {
  DNDarray prev = random_uniform({rows, 8}, 1, 0.0, 1.0, ArrayOptions{0}.with_comm(comm));
  for (int k = 1; k < kSteps; ++k) {
    if (k == kSteps / 2) {
      prev = resplit(prev, 1);
    } else if (k % 4 == 0) {
      DNDarray r = sum(prev, axis(0));
    } else {
      prev = k % 4 == 1 ? multiply(prev, 1.5) : k % 4 == 2 ? add(prev, 1.5) : subtract(prev, 1.5);
    }
  }
}

double step_median(const Row& row, const std::string& name) {
  for (const StepStats& s : row.steps)
    if (s.name == name) return s.t.median;
  return kNaN;
}

Case untimed_case(const std::string& name, int64_t base, const std::string& size_name) {
  Case c = case_of(name, name, "", "", size_name, base);
  c.check = [](const std::vector<int>&, const std::vector<std::string>&) {};
  return c;
}

const char* kNormalise = R"~(
      def normalise(x: Tensor, s1: Tensor, s2: Tensor, n: int, clip: float) -> Tensor:
          mu = s1 / n
          sd = torch.sqrt(s2 / n - mu * mu)
          return ((x - mu) / sd).clamp(-clip, clip)
)~";

std::string compile_base(int64_t n) {
  return fmt::format(R"~(version: 1
steps:
  - {{id: X, op: random.normal, shape: [{}, 4], split: 0}}
  - id: moments
    op: map
    input: X
    reduce: sum
    outputs: [s1, s2]
    fn: "def f(x: Tensor) -> Tuple[Tensor, Tensor]:\n  return x.sum(0), (x * x).sum(0)"
)~",
                     n);
}

}  // namespace

std::vector<Case> pipeline_overhead_cases(int64_t base, const WorkloadOptions&) {
  Case c = untimed_case("pipeline-overhead", base, "rows");
  c.rank_baseline_name = "the same core calls from C++";
  c.definition = overhead_pipeline(base);
  c.make = [](const Communicator& comm, int64_t rows) {
    const std::string text = overhead_pipeline(rows);
    Problem p;
    p.shape = fmt::format("{} steps on ({}, 8) float32 split 0", kSteps, rows);
    p.run = [text, comm](StepClock& k) {
      std::unique_ptr<pipeline::Plan> plan;
      pipeline::Document doc;
      k.step("parse + plan", [&] {
        doc = pipeline::parse_document(text, "bench.yaml");
        plan = std::make_unique<pipeline::Plan>(pipeline::make_plan(doc, comm.size()));
      });
      k.step("execute", [&] { pipeline::execute(*plan, comm, quiet_run()); });
    };
    p.baseline = [comm, rows](int warmup, int repeat) {
      return measure(comm, warmup, std::max(1, repeat), [&] { run_direct(rows, comm); }).median;
    };
    p.extras = [](const Row& row, double base_s) {
      return std::vector<Extra>{{"direct C++ ms", base_s * 1e3},
                                {"overhead ms", (row.t.median - base_s) * 1e3},
                                {"parse + plan ms", step_median(row, "parse + plan") * 1e3}};
    };
    return p;
  };
  return {c};
}

std::vector<Case> map_cases(int64_t base, const WorkloadOptions&) {
  Case c = case_of("map", "map", "GB/s",
                   "bytes of the map step, 8 per element (read, write), all ranks together", "elements",
                   base);
  c.rank_baseline_name = "x * 2.0 + 1.0 from C++ on the same block";
  c.definition = fmt::format("map x*2+1 n={} float32 split 0", base);
  c.check = divides(c.name, base, 1);
  c.make = [](const Communicator& comm, int64_t n) {
    const std::string yaml = fmt::format(R"~(version: 1
steps:
  - {{id: x, op: random.uniform, shape: [{}], split: 0, seed: 1}}
  - {{id: y, op: map, input: x, fn: "def f(x: Tensor) -> Tensor: return x * 2.0 + 1.0"}}
)~",
                                         n);
    struct Loaded {
      pipeline::Document doc;
      std::unique_ptr<pipeline::Plan> plan;
    };
    auto l = std::make_shared<Loaded>();
    l->doc = pipeline::parse_document(yaml, "bench.yaml");
    l->plan = std::make_unique<pipeline::Plan>(pipeline::make_plan(l->doc, comm.size()));
    auto x = std::make_shared<DNDarray>(random_uniform({n}, 1, 0, 1, f32_on(comm, 0)));
    Problem p;
    p.shape = fmt::format("({},) float32 split 0, map x * 2.0 + 1.0", n);
    p.work = 8.0 * static_cast<double>(n);
    p.figure_step = "y";
    p.run = [l, comm](StepClock& k) {
      const pipeline::RunResult r = pipeline::execute(*l->plan, comm, quiet_run());
      for (const pipeline::StepTiming& t : r.steps) k.record(t.id, t.seconds);
    };
    p.baseline = [x, comm](int warmup, int repeat) {
      const at::Tensor xl = x->larray();
      return measure(comm, warmup, std::max(1, repeat), [&] { at::Tensor y = xl * 2.0 + 1.0; }).median;
    };
    return p;
  };
  return {c};
}

std::vector<Case> map_compile_cases(int64_t base, const WorkloadOptions&) {
  Case c = untimed_case("map-compile", base, "rows");
  c.rank_baseline_name = "planning the pipeline without the map step";
  c.definition = compile_base(base) + kNormalise;
  c.make = [](const Communicator& comm, int64_t n) {
    const std::string without = compile_base(n);
    auto variant = std::make_shared<int>(0);
    Problem p;
    p.shape = fmt::format("plan a 3-step pipeline on ({}, 4), its last step a 4-line map fn", n);
    p.run = [without, variant, n, comm](StepClock& k) {
      // A fresh source each run (a comment differs), so nothing comes from the cache.
      const std::string yaml = without + fmt::format(R"~(  - id: Z
    op: map
    inputs: [X, moments.s1, moments.s2]
    args: {{n: {}, clip: 3.0}}
    fn: |
      # variant {}
{})~",
                                                     n, (*variant)++, kNormalise);
      k.step("parse + plan", [&] {
        const pipeline::Document d = pipeline::parse_document(yaml, "bench.yaml");
        const pipeline::Plan plan = pipeline::make_plan(d, comm.size());
      });
    };
    p.baseline = [without, comm](int warmup, int repeat) {
      return measure(comm, std::max(1, warmup), std::max(1, repeat),
                     [&] {
                       const pipeline::Document d = pipeline::parse_document(without, "bench.yaml");
                       const pipeline::Plan plan = pipeline::make_plan(d, comm.size());
                     })
          .median;
    };
    p.extras = [](const Row& row, double base_s) {
      return std::vector<Extra>{{"plan without it ms", base_s * 1e3},
                                {"compile and infer ms", (row.t.median - base_s) * 1e3}};
    };
    return p;
  };
  return {c};
}

std::vector<Case> halo_cases(int64_t base, const WorkloadOptions&) {
  std::vector<Case> out;
  for (int64_t h : {int64_t{1}, std::max<int64_t>(2, base / 8)}) {
    Case c = case_of(fmt::format("halo-h{}", h), "halo", "GB/s",
                     "bytes received, h rows each way across every boundary, all ranks together "
                     "(none at 1 rank)",
                     "rows", base);
    c.rank_baseline_name = "Isend/Irecv of the same bytes with the same neighbours";
    c.definition = fmt::format("halo h={} rows={} cols={} float32 split 0", h, base, base);
    c.check = [name = c.name, base, h, d = divides(c.name, base, 1)](
                  const std::vector<int>& ranks, const std::vector<std::string>& modes) {
      d(ranks, modes);
      if (h < 1 || base / ranks.back() < h)
        throw ValueError(
            fmt::format("{}: --size {} gives {} rows per rank at {} ranks, fewer than the halo of {} "
                        "(S/8, at least 2): use "
                        "--size {} or more",
                        name, base, base / ranks.back(), ranks.back(), h, 8 * ranks.back()));
    };
    c.make = [h, base](const Communicator& comm, int64_t rows) {
      auto a = std::make_shared<DNDarray>(random_uniform({rows, base}, 2, 0, 1, f32_on(comm, 0)));
      const int p = comm.size(), r = comm.rank();
      const int64_t bytes = h * base * 4;
      Problem pb;
      pb.shape = fmt::format(
          "({}, {}) float32 split 0, h={} ({} per side)", rows, base, h,
          bytes >= 1024 ? fmt::format("{} KiB", bytes / 1024) : fmt::format("{} bytes", bytes));
      pb.work = 2.0 * static_cast<double>(p - 1) * static_cast<double>(bytes);
      pb.run = [a, h](StepClock& k) {
        k.step("get_halo", [&] { Halo halo = get_halo(*a, h, Boundary::none); });
      };
      if (p > 1)
        pb.baseline = [comm, bytes, p, r](int warmup, int repeat) {
          std::vector<int> peers;
          if (r > 0) peers.push_back(r - 1);
          if (r + 1 < p) peers.push_back(r + 1);
          return p2p(comm, bytes, peers, peers, warmup, std::max(1, repeat)).median;
        };
      return pb;
    };
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace dnd::bench::detail
