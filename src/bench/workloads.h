// The built-in workloads of `dnd bench`, and a pipeline file as a workload. Each built-in
// workload reports its natural unit next to a baseline measured in the same run; one
// table (defs() in workloads.cpp) lists them, with their default sizes, and `dnd bench
// --list` prints it. The README's "Benchmarks" figures all come from these workloads.
//
//   workloads.cpp           elementwise, reduce, resplit, reshape, matmul, qr, svd, kmeans,
//                           io-save, io-save-sync, io-load, io-load-warm
//   workloads_core.cpp      stream (vs a STREAM triad and torch), allreduce (vs Isend/Irecv)
//   workloads_movement.cpp  movement: one data movement per case, vs MPI_Alltoall, with
//                           its peak memory
//   workloads_map.cpp       pipeline-overhead, map, map-compile, halo
//
// rows is --size (S) at one rank, times the rank count in weak scaling; S stays fixed.
// One-process baselines run on rank 0 alone (the others sleep) with the same threads per
// rank, at the size of one rank; baselines that depend on the ranks (MPI_Alltoall, the
// triad, point-to-point messages, the same calls from C++) run at every rank count on the
// same sub-communicator.
#pragma once

#include "src/bench/study.h"

#include <string>
#include <vector>

namespace dnd::bench {

struct WorkloadOptions {
  int64_t size = 0;        // S, the rows at one rank (0: each workload's default)
  std::string split_pair;  // matmul: "0x1", "rx0", ... ("r" or "none": replicated); "" for all nine
  std::string io_format = "h5";  // io-load, io-save: "h5" or "npy"
  std::string scratch_dir;       // io-load, io-save: where their files go (removed after each size)
  bool io_sync = false;          // io-save: durable saves (fsync), against write() + fsync()
  int64_t cols = 0;              // qr, svd: the columns (0: 32)
};

// The names --workload accepts, besides "all".
std::vector<std::string> workload_names();

// One line per workload: name, default size, unit and baseline.
std::string workload_list();

// The cases of a workload, of a comma-separated list of them, or of every workload for
// "all". Throws dnd::ValueError for an
// unknown name (with the nearest one) or a bad split pair. No MPI.
std::vector<Case> workload_cases(const std::string& name, const WorkloadOptions& o);

// A pipeline file as a case. `scale` names the param that weak scaling multiplies by the
// rank count ("n", or "n=4096" to set its value at one rank); empty: strong scaling only.
// `timed` (--time): the step ids whose sum is the time of a run (empty: the whole run).
// The file is read (and its param and timed steps checked) now; Case::check plans it at
// a size. Its runs have one more step, "(outside steps)": the run minus its steps. Throws
// pipeline::PipelineError for an invalid file, dnd::ValueError for a bad scale or an
// unknown timed step (with the nearest id).
Case pipeline_case(const std::string& path, const std::vector<std::string>& sets,
                   const std::string& scale, const std::vector<std::string>& timed = {});

}  // namespace dnd::bench
