// Runs a pipeline text through the planner and executor on every rank of the world and
// keeps its results, for the pipeline tests.
#pragma once

#include "src/pipeline/execute.h"
#include "tests/support/testing.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace dnd::testing {

struct Ran {
  std::unique_ptr<pipeline::Document> doc;
  std::unique_ptr<pipeline::Plan> plan;
  pipeline::RunResult result;
  const DNDarray& operator[](const std::string& k) const { return result.values.at(k); }
  at::Tensor full(const std::string& k) const { return allgather(result.values.at(k)); }
};

// `yaml` is the pipeline without its "version: 1" line; `sets` are --set values.
inline Ran run_pipeline(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  Ran r;
  r.doc = std::make_unique<pipeline::Document>(
      pipeline::parse_document("version: 1\n" + yaml, "test.yaml", sets));
  r.plan = std::make_unique<pipeline::Plan>(pipeline::make_plan(*r.doc, Communicator::world().size()));
  pipeline::RunOptions o;
  o.quiet = true;
  o.keep_results = true;
  o.out = std::fopen("/dev/null", "w");
  r.result = pipeline::execute(*r.plan, Communicator::world(), o);
  std::fclose(o.out);
  return r;
}

}  // namespace dnd::testing
