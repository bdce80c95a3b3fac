// Process-wide set-up: MPI, threads per rank, the allocator, and what we are linked to.
#pragma once

#include "src/core/communicator.h"

#include <string>

namespace dnd {

struct RuntimeOptions {
  // Torch (and OpenMP/BLAS) threads per rank; 0 = DND_NUM_THREADS, else cores / ranks
  // on this node (at least 1).
  int threads = 0;
  // Print the runtime report (BLAS, threads, ranks) on rank 0 at start-up.
  bool verbose = false;
};

// Initialises MPI (when not yet initialised) and finalises it in the destructor (when it
// initialised it), picks threads per rank, and installs the caching allocator. One per
// process.
class Runtime {
 public:
  Runtime(int* argc, char*** argv, const RuntimeOptions& opts = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

 private:
  bool finalize_ = false;
};

// The rank and number of ranks on this node (MPI_COMM_TYPE_SHARED).
int node_local_rank();
int node_local_size();
// Sets torch's intra-op threads (and OpenMP's, which OpenBLAS uses).
void set_threads(int n);
int threads();

// Which BLAS torch's matrix products run on, e.g.
// "OpenBLAS 0.3.21 (openmp) core=Haswell, /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3".
std::string blas_info();
// What dnd runs on: `dnd info` prints it as text or, with --json, as one object.
struct RuntimeFacts {
  std::string dnd, torch, mpi, blas, allocator, transfers;
  int ranks = 1, node_ranks = 1, threads = 1;
  bool cuda = false;  // this libtorch was built with CUDA
  int gpus = 0;       // GPUs visible to this rank
};
RuntimeFacts runtime_facts();
// Several lines: dnd, torch, MPI library, BLAS, threads, ranks.
std::string runtime_report();

// Ends every rank of the job: used when one rank fails outside a collective, so no
// other rank waits forever.
[[noreturn]] void abort_all(int code);

}  // namespace dnd
