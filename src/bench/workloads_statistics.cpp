// Statistics against the rates they are built on (workload `statistics`):
//
//   cov          cov of a (rows, 64) float32 table split 0: GFLOP/s counts the Gram
//                matrix's 2 rows 64^2 flops. Baseline at each rank count: torch.mm of
//                each rank's block, X^T X on the same shapes, all ranks at once (the GEMM
//                rate); one-process baseline: torch.mm of the whole table on rank 0.
//   standardize  standardize of the same table: GB/s counts 16 bytes per element (an
//                ideal two-pass kernel: the column sums, the squared deviations, then one
//                read and one write). Baseline at each rank count: a STREAM triad over
//                each rank's block, all ranks at once, its GB/s; one-process baseline:
//                torch's (x - x.mean(0)) / x.std(0) on rank 0.
//   nan_to_num   nan_to_num of the same table: GB/s counts 8 bytes per element (one read,
//                one write). Baseline at each rank count: the STREAM triad as above, in
//                this case's bytes; one-process baseline: torch.nan_to_num on rank 0.
#include "src/bench/baselines.h"
#include "src/bench/timing.h"
#include "src/bench/workloads_impl.h"
#include "src/core/math.h"
#include "src/core/statistics.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <limits>
#include <memory>

namespace dnd::bench::detail {

namespace {

constexpr int64_t kCols = 64;

Case statistics_case(const std::string& what, int64_t base) {
  const bool is_cov = what == "cov", is_nan = what == "nan_to_num";
  const double bytes = is_nan ? 8.0 : 16.0;  // per element, the two bandwidth cases
  Case c = case_of("statistics-" + what, "statistics", is_cov ? "GFLOP/s" : "GB/s",
                   is_cov   ? "2 rows 64^2 flops of the Gram matrix, all ranks together"
                   : is_nan ? "8 bytes per element (a read and a write), all ranks together"
                            : "16 bytes per element (two reads for the statistics, a read and a "
                              "write), all ranks together",
                   "rows", base);
  c.rank_baseline_name =
      is_cov ? "torch.mm X^T X on each rank's block" : "STREAM triad on each rank's block";
  c.definition = fmt::format("statistics {} ({}, {}) float32 split 0", what, base, kCols);
  c.check = divides(c.name, base, 1);
  c.make = [is_cov, is_nan, bytes](const Communicator& comm, int64_t rows) {
    auto x = std::make_shared<DNDarray>(random_normal({rows, kCols}, 1, 0.0, 1.0, f32_on(comm, 0)));
    Problem p;
    p.shape = shape2(rows, kCols, 0);
    const double nr = static_cast<double>(rows);
    p.work = is_cov ? 2.0 * nr * kCols * kCols : bytes * nr * kCols;
    if (is_cov) {
      p.run = [x](StepClock& k) { k.step("cov", [&] { DNDarray r = cov(*x); }); };
      p.baseline = [comm, x](int warmup, int repeat) {
        const at::Tensor b = x->larray();
        at::Tensor g = at::empty({kCols, kCols}, b.options());
        const Timing t = measure(comm, warmup, std::max(1, repeat), [&] { at::mm_out(g, b.t(), b); });
        return t.median;
      };
    } else {
      if (is_nan) {
        // Every 97th entry NaN, so the kernel has something to replace.
        at::Tensor b = x->larray().view({-1});
        b.index_fill_(0, at::arange(0, b.numel(), 97, at::kLong),
                      std::numeric_limits<float>::quiet_NaN());
        p.run = [x](StepClock& k) { k.step("nan_to_num", [&] { DNDarray r = nan_to_num(*x); }); };
      } else {
        p.run = [x](StepClock& k) {
          k.step("standardize", [&] { StandardizeResult r = standardize(*x); });
        };
      }
      p.baseline = [comm, x, bytes](int warmup, int repeat) {
        const int64_t n = x->larray().numel();
        at::Tensor b = at::rand({n}), cc = at::rand({n}), out = at::empty({n});
        const Timing t = measure(comm, warmup, std::max(1, repeat), [&] {
          triad(out.data_ptr<float>(), b.data_ptr<float>(), cc.data_ptr<float>(), 3.0f, n);
        });
        return t.median * bytes / 12.0;  // the triad's bandwidth, in this case's bytes
      };
    }
    return p;
  };
  c.solo_baseline = [base, is_cov, is_nan](const Communicator& world, int warmup, int repeat) {
    at::Tensor x, g;
    if (world.rank() == 0) {
      x = at::randn({base, kCols});
      g = at::empty({kCols, kCols});
    }
    const double nr = static_cast<double>(base);
    if (is_cov)
      return solo(world, warmup, repeat, "torch.mm X^T X, 1 process", 2.0 * nr * kCols * kCols, 1e9,
                  [&] { at::mm_out(g, x.t(), x); });
    if (is_nan)
      return solo(world, warmup, repeat, "torch.nan_to_num, 1 process", 8.0 * nr * kCols, 1e9,
                  [&] { at::Tensor r = at::nan_to_num(x); });
    return solo(world, warmup, repeat, "torch (x - x.mean(0)) / x.std(0), 1 process", 16.0 * nr * kCols,
                1e9, [&] { at::Tensor r = (x - x.mean(0)) / x.std(0, /*unbiased=*/false); });
  };
  return c;
}

}  // namespace

std::vector<Case> statistics_cases(int64_t base, const WorkloadOptions&) {
  return {statistics_case("cov", base), statistics_case("standardize", base),
          statistics_case("nan_to_num", base)};
}

}  // namespace dnd::bench::detail
