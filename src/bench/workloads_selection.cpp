// Sorting and selection against torch on one process (workload `selection`):
//
//   sort    sort of a 1-D float32 array of `--size` elements split 0 (the distributed
//           sample sort, then rebalanced): Mvalues/s. Baseline: torch.sort of the whole
//           array on rank 0.
//   unique  unique of a 1-D int64 array of `--size` elements split 0, values drawn from
//           [0, size) (about 63% distinct): Mvalues/s. Baseline: torch.unique (sorted) of
//           the whole array on rank 0.
#include "src/bench/baselines.h"
#include "src/bench/timing.h"
#include "src/bench/workloads_impl.h"
#include "src/core/selection.h"
#include "src/core/sort.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <memory>

namespace dnd::bench::detail {

namespace {

Case selection_case(const std::string& what, int64_t base) {
  const bool is_sort = what == "sort";
  Case c = case_of("selection-" + what, "selection", "Mvalues/s",
                   "input elements per second, all ranks together", "elements", base);
  c.unit_scale = 1e6;
  c.definition = fmt::format("selection {} ({},) {} split 0", what, base, is_sort ? "float32" : "int64");
  c.check = divides(c.name, base, 1);
  c.make = [is_sort](const Communicator& comm, int64_t n) {
    ArrayOptions o = ArrayOptions{}.with_comm(comm).with_split(0);
    auto x =
        std::make_shared<DNDarray>(is_sort ? random_normal({n}, 3, 0.0, 1.0, o.with_dtype(at::kFloat))
                                           : random_integers({n}, 3, 0, n, o.with_dtype(at::kLong)));
    Problem p;
    p.shape = fmt::format("({},) {} split 0", n, is_sort ? "float32" : "int64");
    p.work = static_cast<double>(n);
    if (is_sort)
      p.run = [x](StepClock& k) { k.step("sort", [&] { auto r = sort(*x, 0); }); };
    else
      p.run = [x](StepClock& k) { k.step("unique", [&] { UniqueResult r = unique(*x, false); }); };
    return p;
  };
  c.solo_baseline = [base, is_sort](const Communicator& world, int warmup, int repeat) {
    at::Tensor x;
    if (world.rank() == 0) x = is_sort ? at::randn({base}) : at::randint(0, base, {base}, at::kLong);
    const double n = static_cast<double>(base);
    if (is_sort)
      return solo(world, warmup, repeat, "torch.sort, 1 process", n, 1e6,
                  [&] { auto r = at::sort(x, /*stable=*/true, 0, false); });
    return solo(world, warmup, repeat, "torch.unique (sorted), 1 process", n, 1e6,
                [&] { auto r = at::_unique2(x, /*sorted=*/true, false, false); });
  };
  return c;
}

}  // namespace

std::vector<Case> selection_cases(int64_t base, const WorkloadOptions&) {
  return {selection_case("sort", base), selection_case("unique", base)};
}

}  // namespace dnd::bench::detail
