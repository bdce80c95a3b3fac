// Private to src/bench: what the workload files share. workloads.cpp holds the table of
// workloads (defs()) and the helpers below; each workloads_*.cpp file adds the cases of
// one family of workloads, registered in that table.
#pragma once

#include "src/bench/study.h"
#include "src/bench/workloads.h"
#include "src/core/factories.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dnd::bench::detail {

// float32 arrays with split s on comm.
ArrayOptions f32_on(const Communicator& comm, Split s);

// "(r, c) float32 split s".
std::string shape2(int64_t r, int64_t c, Split s);

using Check = std::function<void(const std::vector<int>&, const std::vector<std::string>&)>;

// Every rank count must divide the size at one rank (and `multiple` must too), so that
// every rank holds an equal block and the ideal lines are exact; the message suggests sizes.
Check divides(const std::string& name, int64_t base, int64_t multiple,
              const std::string& why_multiple = {});

// A case's names and unit: what every workload sets first (check, make and the baselines
// come after).
Case case_of(const std::string& name, const std::string& workload, const std::string& unit,
             const std::string& unit_doc, const std::string& size_name, int64_t size);

// Rank 0 alone runs fn while the others sleep; the figure is work / median / unit_scale.
Baseline solo(const Communicator& world, int warmup, int repeat, const std::string& name, double work,
              double unit_scale, const std::function<void()>& fn);

// The baseline of a data movement at p > 1 ranks: `moves` MPI_Alltoall, each rank sending
// its block of `block_bytes` (a 1/p share to every rank). Empty at one rank.
std::function<double(int, int)> alltoall_baseline(const Communicator& comm, int64_t block_bytes,
                                                  int moves);

// Peak resident memory while fn runs, the most of any rank of comm, in units of `block`
// bytes, counting the block itself (input and output included): 2.0 for an operation that
// needs its input and an output of the same size. Collective over comm.
double peak_over_block(const Communicator& comm, double block, const std::function<void()>& fn);

// The workload families of the other files (the size at one rank, the options).
std::vector<Case> stream_cases(int64_t base, const WorkloadOptions& o);     // workloads_core.cpp
std::vector<Case> allreduce_cases(int64_t base, const WorkloadOptions& o);  // workloads_core.cpp
std::vector<Case> random_cases(int64_t base, const WorkloadOptions& o);     // workloads_core.cpp
std::vector<Case> movement_cases(int64_t base, const WorkloadOptions& o);   // workloads_movement.cpp
std::vector<Case> pipeline_overhead_cases(int64_t base, const WorkloadOptions& o);  // workloads_map.cpp
std::vector<Case> map_cases(int64_t base, const WorkloadOptions& o);                // workloads_map.cpp
std::vector<Case> map_compile_cases(int64_t base, const WorkloadOptions& o);        // workloads_map.cpp
std::vector<Case> halo_cases(int64_t base, const WorkloadOptions& o);               // workloads_map.cpp
std::vector<Case> statistics_cases(int64_t base, const WorkloadOptions& o);  // workloads_statistics.cpp
std::vector<Case> selection_cases(int64_t base, const WorkloadOptions& o);   // workloads_selection.cpp

}  // namespace dnd::bench::detail
