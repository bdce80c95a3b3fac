// The planner: checks a Document against the op registry (ops, parameters, inputs,
// ids, cycles), orders the steps, infers every result's shape/dtype/split without data,
// and accounts for memory per rank (arrays are freed after their last use). It needs no
// MPI: `dnd validate` and `dnd plan` run it on a login node.
#pragma once

#include "src/pipeline/registry.h"

#include <memory>
#include <string>
#include <vector>

namespace dnd::pipeline {

struct PlannedStep {
  const Step* step = nullptr;
  const OpDef* op = nullptr;
  std::unique_ptr<Params> params;
  std::vector<std::string> input_names;  // value names ("" for a number)
  std::vector<InputMeta> inputs;
  std::vector<std::string> output_names;  // "X" or "model.centroids"
  InferResult info;                       // outputs, communication, note
  std::vector<uint64_t> at_most;          // per output: axes whose extent is a bound (extents.h)
  int64_t out_bytes = 0;                  // per rank (largest block) of the outputs
  int64_t live_bytes = 0;                 // per rank while the step runs
  std::vector<std::string> frees;         // values dropped after the step
  std::vector<FileUse> files;             // files read / written (the planner's file table)
  // info.comm_bytes is a bound, not the exact bytes: the values decide what moves (sort,
  // kmeans, balance, ..., see comm_bytes_bounded), or an input's extent is a bound.
  bool comm_at_most = false;
};

// Whether an op's planned bytes depend on the data (the plan gives a bound for them);
// every other op's comm_bytes are what comm_count.h counts during the run.
bool comm_bytes_bounded(const std::string& op);

struct Plan {
  std::shared_ptr<const Document> doc;  // the steps above point into it
  int nranks = 1;
  std::vector<PlannedStep> steps;  // in execution order
  int64_t peak_bytes = 0;          // per rank
  std::string peak_step;
  int64_t comm_bytes = 0;  // total over steps, busiest rank
};

// Throws PipelineError (file:line:column) for anything invalid, InternalError for a bug
// in dnd (an op's rule that broke its own contract). The plan keeps the document.
Plan make_plan(std::shared_ptr<const Document> doc, int nranks);
Plan make_plan(Document doc, int nranks);

// `dnd plan` output.
std::string plan_table(const Plan& plan);
// For an op name numpy users type that dnd spells otherwise: ": mean is `op: reduce` with
// `fn: mean`" (what an unknown op's error adds); "" for other names.
std::string numpy_name_hint(const std::string& name);
std::string plan_json(const Plan& plan);

}  // namespace dnd::pipeline
