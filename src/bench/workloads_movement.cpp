// Workload `movement`: one data movement per case on a (rows, S) float32 array, each next
// to MPI_Alltoall of the same bytes at each rank count, with the peak resident memory per
// rank during the operation in units of the local block (input and output included):
//
//   movement-resplit-0to1   split 0 -> split 1
//   movement-resplit-1to0   split 1 -> split 0
//   movement-reshape        (rows, S) split 0 -> (rows/2, 2S) split 1 (the general path)
//   movement-flatten        (rows, S) split 0 -> (rows*S,) split 0 (the contiguous path)
//   movement-transpose      transpose (local: no bytes cross, no figure)
//
// rows is --size at one rank (times p in weak scaling), S the size at one rank. GB/s
// counts the bytes that cross ranks, (p-1)/p of the array (nominally for the reshapes).
// The workloads `resplit` and `reshape` time the round trips as two steps of one run.
#include "src/bench/workloads_impl.h"
#include "src/core/manipulation.h"
#include "src/core/shape_ops.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <memory>

namespace dnd::bench::detail {

namespace {

struct Movement {
  const char* name;
  const char* what;  // for the definition hash and the shape
  Split from;
  bool crosses;  // false: a local operation
  int64_t multiple;
  std::function<void(const DNDarray& a, int64_t rows, int64_t cols)> op;
};

Case movement_case(const Movement& m, int64_t base) {
  Case c = case_of(std::string("movement-") + m.name, "movement", "GB/s",
                   m.crosses ? "bytes that cross ranks, (p-1)/p of the array (nominally for the "
                               "reshapes), all ranks together (none at 1 rank)"
                             : "none: a local operation (see its time and peak memory)",
                   "rows", base);
  if (m.crosses) c.rank_baseline_name = "MPI_Alltoall of the same bytes";
  c.definition = fmt::format("movement {} rows={} cols={} float32", m.what, base, base);
  c.check = divides(c.name, base, m.multiple,
                    m.multiple == 2 ? " (and an even number: reshape halves the rows)" : "");
  c.make = [m, base](const Communicator& comm, int64_t rows) {
    auto a = std::make_shared<DNDarray>(random_uniform({rows, base}, 1, 0, 1, f32_on(comm, 0)));
    if (m.from && *m.from == 1) *a = resplit(*a, 1);
    const int p = comm.size();
    Problem pb;
    pb.shape = fmt::format("({}, {}) float32 split {}, {}", rows, base, *m.from, m.what);
    pb.work = m.crosses ? 4.0 * static_cast<double>(rows * base) * (p - 1) / p : 0;
    pb.run = [a, m, rows, base](StepClock& k) { k.step(m.what, [&] { m.op(*a, rows, base); }); };
    if (m.crosses) pb.baseline = alltoall_baseline(comm, a->lnbytes(), 1);
    pb.extras = [a, m, rows, base, comm](const Row&, double) {
      const double peak =
          peak_over_block(comm, static_cast<double>(a->lnbytes()), [&] { m.op(*a, rows, base); });
      return std::vector<Extra>{{"peak memory / local block", peak}};
    };
    return pb;
  };
  return c;
}

}  // namespace

std::vector<Case> movement_cases(int64_t base, const WorkloadOptions&) {
  const std::vector<Movement> ms = {
      {"resplit-0to1", "resplit 0 -> 1", Split(0), true, 1,
       [](const DNDarray& a, int64_t, int64_t) { DNDarray r = resplit(a, 1); }},
      {"resplit-1to0", "resplit 1 -> 0", Split(1), true, 1,
       [](const DNDarray& a, int64_t, int64_t) { DNDarray r = resplit(a, 0); }},
      {"reshape", "reshape to (rows/2, 2S) split 1", Split(0), true, 2,
       [](const DNDarray& a, int64_t r, int64_t c) {
         DNDarray b = reshape(a, {r / 2, 2 * c}, Split(1));
       }},
      {"flatten", "reshape to (rows*S,) split 0", Split(0), true, 1,
       [](const DNDarray& a, int64_t r, int64_t c) { DNDarray b = reshape(a, {r * c}); }},
      {"transpose", "transpose (local)", Split(0), false, 1,
       [](const DNDarray& a, int64_t, int64_t) { DNDarray b = transpose(a); }},
  };
  std::vector<Case> out;
  for (const Movement& m : ms) out.push_back(movement_case(m, base));
  return out;
}

}  // namespace dnd::bench::detail
