// The random.blobs op: Gaussian clusters for examples and benchmarks.
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "src/pipeline/ops/common.h"

#include <ATen/Parallel.h>

#include <cmath>

namespace dnd::pipeline::ops {
namespace {

// Gaussian blobs for examples and benchmarks (scikit-learn's make_blobs): row i belongs
// to cluster i % k; the centres are uniform in [-box, box]^d; each row is its centre plus
// normal noise of standard deviation `std`. Seeded values do not depend on the rank count.
OpDef blobs_op() {
  OpDef d;
  d.name = "random.blobs";
  d.summary = "n points in d dimensions around k random centres (row i in cluster i % k)";
  d.category = "factory";
  d.min_inputs = d.max_inputs = 0;
  d.params = {
      ParamSpec{"n", ParamKind::integer, "number of points", true},
      ParamSpec{"d", ParamKind::integer, "dimensions", false, "2"},
      ParamSpec{"k", ParamKind::integer, "number of centres", false, "3"},
      ParamSpec{"std", ParamKind::number, "standard deviation around each centre", false, "1.0"},
      ParamSpec{"box", ParamKind::number, "centres are drawn uniformly from [-box, box]", false, "10.0"},
      ParamSpec{"seed", ParamKind::integer, "seed (same points at any rank count)", false, "0"},
      p_split("axis to distribute the points along (0: rows)", "0"),
      p_dtype("float32 or float64 (default: defaults.dtype)")};
  d.outputs = {"X", "labels", "centers"};
  d.infer = [](const InferContext& c) {
    const int64_t n = c.params.integer("n"), dim = c.params.integer("d"), k = c.params.integer("k");
    if (n < 0 || dim < 1 || k < 1)
      throw ValueError(
          fmt::format("random.blobs: need n >= 0, d >= 1, k >= 1 (got n={}, d={}, k={})", n, dim, k));
    const double sd = c.params.number("std"), box = c.params.number("box");
    if (!(sd >= 0) || !std::isfinite(sd))
      throw ValueError(fmt::format("random.blobs: std must be finite and >= 0, got {}", sd));
    if (!(box >= 0) || !std::isfinite(box))
      throw ValueError(fmt::format("random.blobs: box must be finite and >= 0, got {}", box));
    const Dtype dt = c.params.dtype("dtype", c.default_dtype);
    if (dt != at::kFloat && dt != at::kDouble)
      throw TypeError(
          fmt::format("random.blobs: dtype must be float32 or float64, got {}", dtype_name(dt)));
    const Split split = checked_split(c.params.split("split"), 2, "random.blobs");
    InferResult r;
    r.outputs.push_back(ArrayMeta{{n, dim}, dt, split, c.default_device});
    r.outputs.push_back(
        ArrayMeta{{n}, at::kLong, split && *split == 0 ? Split(0) : kReplicated, c.default_device});
    r.outputs.push_back(ArrayMeta{{k, dim}, dt, kReplicated, c.default_device});
    r.temp_bytes = random_normal_scratch_bytes(
        dt, max_block_bytes(r.outputs[0], c.nranks) / static_cast<int64_t>(c10::elementSize(dt)));
    return r;
  };
  d.run = [](RunContext& c) {
    const ArrayMeta& xm = c.planned[0];
    const int64_t n = xm.shape[0], dim = xm.shape[1], k = c.params.integer("k");
    const uint64_t seed = static_cast<uint64_t>(c.params.integer("seed"));
    const double box = c.params.number("box");
    const ArrayOptions rows = ArrayOptions{}.with_comm(c.comm).with_split(0).with_dtype(xm.dtype);
    DNDarray centers =
        random_uniform({k, dim}, seed + 1, -box, box, ArrayOptions(rows).with_split(kReplicated));
    DNDarray x = random_normal({n, dim}, seed, 0.0, c.params.number("std"), rows);
    const Chunk mine = x.chunk();
    at::Tensor lab = at::remainder(at::arange(mine.offset, mine.offset + mine.count, at::kLong), k);
    // Each row plus its centre, in place (no block-sized temporary of the centres).
    at::Tensor xl = x.larray();
    AT_DISPATCH_FLOATING_TYPES(xl.scalar_type(), "random.blobs", [&] {
      scalar_t* xp = xl.data_ptr<scalar_t>();
      const scalar_t* cp = centers.larray().data_ptr<scalar_t>();
      const int64_t first = mine.offset;
      at::parallel_for(0, mine.count, 1024, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const scalar_t* ci = cp + ((first + i) % k) * dim;
          scalar_t* xi = xp + i * dim;
          for (int64_t j = 0; j < dim; ++j) xi[j] += ci[j];
        }
      });
    });
    DNDarray labels(lab, {n}, 0, c.comm, x.counts());
    std::vector<DNDarray> out;
    out.push_back(resplit(x, xm.split));
    out.push_back(resplit(labels, c.planned[1].split));
    out.push_back(std::move(centers));
    return out;
  };
  return d;
}
DND_REGISTER_OP(blobs_op());

}  // namespace
}  // namespace dnd::pipeline::ops
