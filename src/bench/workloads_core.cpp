// The memory-bound core against the memory bandwidth and plain torch (workload `stream`),
// the random generators against torch's (workload `random`), and dnd's allreduce against
// point-to-point bandwidth (workload `allreduce`).
//
//   stream     (n,) float32 split 0, n = --size: a*b+c, the fused multiply_add, a*b+c with
//              the system allocator (fresh pages every time), sum over the split axis.
//              Baseline at each rank count: a STREAM triad a = b + s*c over each rank's
//              block, all ranks at once (the bandwidth the cores reach); one-process
//              baseline: torch on rank 0 alone with torch's own allocator (what a torch
//              user gets). GB/s counts 16 bytes per element for a*b+c, 4 for a sum.
//   allreduce  a float32 buffer of --size elements on every rank (times p in weak
//              scaling), summed in place by
//              dnd's allreduce_; baseline: every rank sending the same bytes to the next
//              rank and receiving from the previous one (Isend/Irecv, a ring shift).
#include "src/bench/baselines.h"
#include "src/bench/timing.h"
#include "src/bench/workloads_impl.h"
#include "src/core/elementwise.h"
#include "src/core/memory.h"
#include "src/core/random.h"
#include "src/core/reductions.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <memory>
#include <optional>

namespace dnd::bench::detail {

namespace {

struct Inputs {
  DNDarray a, b, c;
};

// The triad over this rank's blocks of b and c, as seconds for `bytes_per_element` (the
// case's count) at the triad's bandwidth (12 bytes per element): the baseline's figure
// is then the triad's GB/s.
std::function<double(int, int)> triad_baseline(const Communicator& comm, std::shared_ptr<Inputs> in,
                                               double bytes_per_element) {
  return [comm, in, bytes_per_element](int warmup, int repeat) {
    const int64_t nl = in->b.larray().numel();
    at::Tensor out = at::zeros({nl}, at::kFloat);
    const float* pb = in->b.larray().data_ptr<float>();
    const float* pc = in->c.larray().data_ptr<float>();
    float* pa = out.data_ptr<float>();
    const Timing t = measure(comm, warmup, std::max(1, repeat), [&] { triad(pa, pb, pc, 3.0f, nl); });
    return t.median * bytes_per_element / 12.0;
  };
}

// Rank 0 alone, the whole array, torch's own allocator (dnd's cache off), as a torch user.
Baseline torch_solo(const Communicator& world, int warmup, int repeat, int64_t n, bool is_sum) {
  const bool was = memory::caching_enabled();
  memory::set_caching(false);
  memory::release_cached();
  at::Tensor a, b, c;
  if (world.rank() == 0) {
    a = at::rand({n}), b = at::rand({n}), c = at::rand({n});
  }
  const double nn = static_cast<double>(n);
  Baseline r = is_sum ? solo(world, warmup, repeat, "torch sum, 1 process, torch's allocator", 4 * nn,
                             1e9, [&] { at::Tensor s = a.sum(); })
                      : solo(world, warmup, repeat, "torch a*b+c, 1 process, torch's allocator", 16 * nn,
                             1e9, [&] { at::Tensor r = a * b + c; });
  a = b = c = at::Tensor();
  memory::set_caching(was);
  return r;
}

Case stream_case(const std::string& what, int64_t base,
                 std::shared_ptr<std::optional<Baseline>> torch_once) {
  const bool is_sum = what == "sum";
  const double bpe = is_sum ? 4 : 16;
  Case c = case_of("stream-" + what, "stream", "GB/s",
                   is_sum ? "bytes read, 4 per element, all ranks together"
                          : "bytes an ideal kernel moves for a*b+c, 16 per element (3 reads, 1 "
                            "write), all ranks together",
                   "elements", base);
  c.rank_baseline_name = "STREAM triad on each rank's block (its GB/s)";
  c.definition = fmt::format("stream {} n={} float32 split 0", what, base);
  c.check = divides(c.name, base, 1);
  c.make = [what, bpe](const Communicator& comm, int64_t n) {
    auto in = std::make_shared<Inputs>(Inputs{random_uniform({n}, 1, 0, 1, f32_on(comm, 0)),
                                              random_uniform({n}, 2, 0, 1, f32_on(comm, 0)),
                                              random_uniform({n}, 3, 0, 1, f32_on(comm, 0))});
    Problem p;
    p.shape = fmt::format("({},) float32 split 0", n);
    p.work = bpe * static_cast<double>(n);
    if (what == "a*b+c") {
      p.run = [in](StepClock& k) { k.step("a*b+c", [&] { DNDarray r = in->a * in->b + in->c; }); };
    } else if (what == "multiply_add") {
      p.run = [in](StepClock& k) {
        k.step("multiply_add", [&] { DNDarray r = multiply_add(in->a, in->b, in->c); });
      };
    } else if (what == "system-allocator") {
      p.prepare = [] { memory::release_cached(); };
      p.run = [in](StepClock& k) {
        k.step("a*b+c, system allocator", [&] {
          memory::set_caching(false);
          { DNDarray r = in->a * in->b + in->c; }
          memory::set_caching(true);
        });
      };
    } else {
      p.run = [in](StepClock& k) { k.step("sum", [&] { DNDarray r = sum(in->a); }); };
    }
    p.baseline = triad_baseline(comm, in, bpe);
    return p;
  };
  c.solo_baseline = [base, is_sum, torch_once](const Communicator& world, int warmup, int repeat) {
    if (is_sum) return torch_solo(world, warmup, repeat, base, true);
    if (!torch_once->has_value()) *torch_once = torch_solo(world, warmup, repeat, base, false);
    return **torch_once;
  };
  return c;
}

}  // namespace

std::vector<Case> stream_cases(int64_t base, const WorkloadOptions&) {
  auto torch_once = std::make_shared<std::optional<Baseline>>();
  std::vector<Case> out;
  for (const char* what : {"a*b+c", "multiply_add", "system-allocator", "sum"})
    out.push_back(stream_case(what, base, torch_once));
  return out;
}

// random.uniform, random.normal (float32) and random.integers (int32 in [0, 100)) of n
// values split 0, next to torch's rand, randn and randint of the same n on one process.
Case random_case(const std::string& what, int64_t base) {
  Case c = case_of("random-" + what, "random", "Mvalues/s", "values generated, all ranks together",
                   "elements", base);
  c.unit_scale = 1e6;
  c.definition = fmt::format("random {} n={} split 0", what, base);
  c.check = divides(c.name, base, 1);
  c.make = [what](const Communicator& comm, int64_t n) {
    Problem p;
    p.shape = fmt::format("({},) {} split 0", n, what == "integers" ? "int32" : "float32");
    p.work = static_cast<double>(n);
    p.run = [what, n, comm](StepClock& k) {
      k.step(what, [&] {
        if (what == "uniform")
          DNDarray r = random_uniform({n}, 1, 0, 1, f32_on(comm, 0));
        else if (what == "normal")
          DNDarray r = random_normal({n}, 1, 0, 1, f32_on(comm, 0));
        else
          DNDarray r = random_integers({n}, 1, 0, 100, f32_on(comm, 0).with_dtype(at::kInt));
      });
    };
    return p;
  };
  c.solo_baseline = [what, base](const Communicator& world, int warmup, int repeat) {
    const std::string name = fmt::format("torch {}, 1 process", what == "uniform"  ? "rand"
                                                                : what == "normal" ? "randn"
                                                                                   : "randint");
    return solo(world, warmup, repeat, name, static_cast<double>(base), 1e6, [&] {
      if (what == "uniform")
        at::Tensor t = at::rand({base});
      else if (what == "normal")
        at::Tensor t = at::randn({base});
      else
        at::Tensor t = at::randint(0, 100, {base}, at::kInt);
    });
  };
  return c;
}

std::vector<Case> random_cases(int64_t base, const WorkloadOptions&) {
  return {random_case("uniform", base), random_case("normal", base), random_case("integers", base)};
}

std::vector<Case> allreduce_cases(int64_t base, const WorkloadOptions&) {
  Case c =
      case_of("allreduce", "allreduce", "GB/s",
              "bytes of every rank's buffer, all ranks together (none at 1 rank)", "elements", base);
  c.rank_baseline_name = "Isend/Irecv of the same bytes to the next rank";
  c.definition = fmt::format("allreduce sum n={} float32", base);
  c.check = [](const std::vector<int>&, const std::vector<std::string>&) {};
  c.make = [](const Communicator& comm, int64_t n) {
    auto buf = std::make_shared<at::Tensor>(at::zeros({n}, at::kFloat));
    const int p = comm.size(), r = comm.rank();
    Problem pb;
    pb.shape = fmt::format("({},) float32 on every rank", n);
    pb.work = p > 1 ? 4.0 * static_cast<double>(n) * p : 0;
    pb.run = [buf, comm](StepClock& k) {
      k.step("allreduce", [&] { allreduce_(comm, *buf, ReduceOp::sum); });
    };
    if (p > 1)
      pb.baseline = [comm, n, p, r](int warmup, int repeat) {
        return p2p(comm, 4 * n, {(r + 1) % p}, {(r + p - 1) % p}, warmup, std::max(1, repeat)).median;
      };
    return pb;
  };
  return {c};
}

}  // namespace dnd::bench::detail
