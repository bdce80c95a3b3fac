// The print op: rank 0 writes the array Heat-style (summarised above a threshold,
// without gathering a large array) to the run's output.
#include "src/core/printing.h"
#include "src/pipeline/ops/common.h"

namespace dnd::pipeline::ops {
namespace {

OpDef print_op() {
  OpDef d;
  d.name = "print";
  d.summary = "print an array on rank 0 (summarised like numpy/Heat when large)";
  d.category = "output";
  d.has_result = false;
  d.params = {
      ParamSpec{"label", ParamKind::string,
                "a line printed before the array (default: the input's name)"},
      ParamSpec{"precision", ParamKind::integer, "digits after the point", false, "4"},
      ParamSpec{"threshold", ParamKind::integer, "summarise above this many elements", false, "1000"},
      ParamSpec{"distribution", ParamKind::boolean, "also print each rank's block", false, "false"}};
  d.infer = [](const InferContext& c) {
    if (c.params.integer("precision") < 0 || c.params.integer("precision") > 30)
      throw ValueError("print: precision must be between 0 and 30");
    return InferResult{};
  };
  d.run = [](RunContext& c) {
    PrintOptions po;
    po.precision = static_cast<int>(c.params.integer("precision"));
    po.threshold = c.params.integer("threshold");
    const DNDarray& a = c.array(0);
    const std::string text = to_string(a, po);  // collective
    const std::string dist = c.params.boolean("distribution") ? distribution_table(a) : std::string();
    if (c.comm.rank() == 0) {
      const std::string label =
          c.params.is_none("label") ? c.step.inputs[0].ref : c.params.string("label");
      std::fprintf(c.out, "%s:\n%s\n%s", label.c_str(), text.c_str(), dist.c_str());
      std::fflush(c.out);
    }
    return std::vector<DNDarray>{};
  };
  return d;
}
DND_REGISTER_OP(print_op());

}  // namespace
}  // namespace dnd::pipeline::ops
