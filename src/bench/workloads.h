// The built-in workloads of `dnd bench`, and a pipeline file as a workload. Each built-in
// workload reports its natural unit next to a baseline measured in the same run:
//
//   workload     what one run does                                   unit      baseline
//   elementwise  a*b+c on (rows, 256) float32 split 0                 GB/s      torch a*b+c, one process
//   reduce       sum over axis 0 (the split one), then over axis 1    GB/s      torch, the same sums,
//   one process resplit      (rows, S) float32 split 0 -> 1 -> 0                  GB/s      MPI_Alltoall
//   of the same bytes reshape      (rows, S) split 0 -> (rows/2, 2S) split 1 -> back    GB/s
//   MPI_Alltoall of the same bytes matmul-AxB   (rows, S) @ (S, S) float32, splits A and B GFLOP/s
//   at::mm (S, S) @ (S, S), one process qr           (rows, 32) float32 split 0 (tall-skinny) GFLOP/s
//   torch.linalg.qr, one process svd          (rows, 32) float32 split 0, U S V (tsqr) GFLOP/s
//   torch.linalg.svd, one process kmeans       Lloyd, k=8, 10 iterations at most, (rows, 16) Mrows/s
//   torch Lloyd steps, one process io-save      save (rows, 256) float32 split 0 to HDF5 (or npy)   GB/s
//   write() of the same bytes, one process io-load      load it back split 0 (cold: pages dropped first)
//   GB/s      read() of the same bytes, cold
//
// rows is --size (S) at one rank, times the rank count in weak scaling; S stays fixed.
// One-process baselines run on rank 0 alone (the others sleep) with the same threads per
// rank, at the size of one rank; the MPI_Alltoall baseline runs at every rank count on
// the same sub-communicator.
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
// The file is read (and its param checked) now; Case::check plans it at a size. Throws
// pipeline::PipelineError for an invalid file, dnd::ValueError for a bad scale.
Case pipeline_case(const std::string& path, const std::vector<std::string>& sets,
                   const std::string& scale);

}  // namespace dnd::bench
