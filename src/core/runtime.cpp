#include "src/core/runtime.h"

#include "src/core/error.h"
#include "src/core/memory.h"
#include "dnd/version.h"

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <fmt/format.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <link.h>
#include <sched.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace dnd {

namespace {

struct NodeInfo {
  int rank = 0;
  int size = 1;
};

NodeInfo& node_info() {
  static NodeInfo info = [] {
    NodeInfo n;
    int init = 0;
    MPI_Initialized(&init);
    if (!init) return n;
    MPI_Comm local;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) ==
        MPI_SUCCESS) {
      MPI_Comm_rank(local, &n.rank);
      MPI_Comm_size(local, &n.size);
      MPI_Comm_free(&local);
    }
    return n;
  }();
  return info;
}

int affinity_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(std::thread::hardware_concurrency());
}

int default_threads() {
  if (const char* env = std::getenv("DND_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int mine = affinity_cores();
  // A launcher that bound this rank to some cores already divided the machine.
  if (mine > 0 && mine < hw) return mine;
  return std::max(1, hw / std::max(1, node_info().size));
}

}  // namespace

Runtime::Runtime(int* argc, char*** argv, const RuntimeOptions& opts) {
  int init = 0;
  MPI_Initialized(&init);
  if (!init) {
    int provided = 0;
    DND_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
    finalize_ = true;
  }
  // Errors come back as codes (and become CommError) instead of aborting silently.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  node_info();  // collective: every rank learns its node-local rank now, not lazily on one rank
  enable_single_copy(Communicator::world());
  memory::install_caching_allocator();
  set_threads(opts.threads > 0 ? opts.threads : default_threads());
  if (opts.verbose && Communicator::world().rank() == 0) fmt::print(stderr, "{}", runtime_report());
}

Runtime::~Runtime() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalize_ && !finalized) MPI_Finalize();
}

int node_local_rank() { return node_info().rank; }
int node_local_size() { return node_info().size; }

void set_threads(int n) { at::set_num_threads(std::max(1, n)); }
int threads() { return at::get_num_threads(); }

std::string blas_info() {
  // Which shared objects with BLAS in their name are loaded, resolved through the
  // alternatives symlinks to the real file.
  std::vector<std::string> libs;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* out = static_cast<std::vector<std::string>*>(data);
        const std::string name = info->dlpi_name ? info->dlpi_name : "";
        if (name.find("blas") != std::string::npos || name.find("mkl") != std::string::npos) {
          char buf[PATH_MAX];
          out->push_back(realpath(name.c_str(), buf) ? std::string(buf) : name);
        }
        return 0;
      },
      &libs);
  std::string where = libs.empty() ? "no BLAS library found among the loaded objects" : libs.front();
  using StrFn = char* (*)();
  auto config = reinterpret_cast<StrFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  auto core = reinterpret_cast<StrFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (config) {
    std::string s = config();
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return fmt::format("OpenBLAS ({}), core {}, {}", s, core ? core() : "?", where);
  }
  if (where.find("blas/libblas") != std::string::npos || where.find("netlib") != std::string::npos)
    return fmt::format("reference BLAS (netlib, slow: install libopenblas0-openmp), {}", where);
  return where;
}

RuntimeFacts runtime_facts() {
  char mpi_version[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(mpi_version, &len);
  RuntimeFacts f;
  f.mpi.assign(mpi_version, static_cast<size_t>(len));
  if (auto nl = f.mpi.find_first_of(",\n"); nl != std::string::npos) f.mpi.resize(nl);
  MPI_Comm_size(MPI_COMM_WORLD, &f.ranks);
  f.dnd = DND_VERSION_STRING;
  f.torch = TORCH_VERSION;
  f.blas = blas_info();
  f.node_ranks = node_local_size();
  f.threads = threads();
  f.allocator =
      memory::caching_enabled() ? "caching (large blocks reused, huge pages advised)" : "system";
  const auto& cuda = at::detail::getCUDAHooks();
  f.cuda = cuda.hasCUDA();
  f.gpus = f.cuda ? static_cast<int>(cuda.getNumGPUs()) : 0;
  f.transfers =
      single_copy_enabled() ? "single-copy between ranks of this node (process_vm_readv)" : "MPI";
  return f;
}

std::string runtime_report() {
  const RuntimeFacts f = runtime_facts();
  return fmt::format(
      "dnd {}\n  torch     {}\n  MPI       {}\n  BLAS      {}\n  ranks     {} ({} on this node)\n"
      "  threads   {} per rank\n  GPUs      {}\n  allocator {}\n  transfers {}\n",
      f.dnd, f.torch, f.mpi, f.blas, f.ranks, f.node_ranks, f.threads,
      !f.cuda       ? std::string("none (this libtorch has no CUDA)")
      : f.gpus == 0 ? std::string("none visible")
                    : fmt::format("{} visible", f.gpus),
      f.allocator, f.transfers);
}

void abort_all(int code) {
  int init = 0, finalized = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&finalized);
  if (init && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace dnd
