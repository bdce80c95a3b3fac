// Test-only fault injection: DND_TEST_FAULT names points (comma-separated) where dnd
// fails on purpose, so that tests can pin what users would see after a failure that no
// valid input provokes (a bug in dnd, a crash between two steps). Unset in normal runs.
//
//   DND_TEST_FAULT=internal-plan:STEP   the planner's rule for STEP breaks an invariant
//   DND_TEST_FAULT=internal-run:STEP    STEP breaks an invariant while running
//   DND_TEST_FAULT=stop-before:STEP     a stop request (SIGUSR1) before STEP; STEP@N: kmeans
//                                       after iteration N (checkpoint.h)
//   DND_TEST_FAULT=signal-launcher-before:STEP   rank 0 sends SIGUSR1 to its parent (mpirun)
//   DND_TEST_FAULT=slow-before:STEP     4 s of sleep before STEP
//   DND_TEST_FAULT=slow-in:STEP         3 s of sleep inside STEP (its progress lines)
//   DND_TEST_FAULT=die-before:STEP      the last rank kills itself (SIGKILL) before STEP
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>

namespace dnd::pipeline {

inline bool fault_injected(std::string_view point) {
  const char* env = std::getenv("DND_TEST_FAULT");
  if (!env || !*env) return false;
  const std::string list = std::string(",") + env + ",";
  return list.find(std::string(",") + std::string(point) + ",") != std::string::npos;
}

}  // namespace dnd::pipeline
