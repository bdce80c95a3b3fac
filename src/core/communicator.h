// A thin, value-semantics wrapper over an MPI communicator, and the collectives dnd uses.
//
// Copies share one handle; the last copy of an owned communicator frees it. rank() and
// size() are cached. Every collective here is "collective over comm": all ranks of the
// communicator must call it in the same order.
//
// Tensors passed to these functions must be CPU tensors; callers stage device memory.
// Message sizes are unbounded: payloads are cut into pieces below MPI's int limits.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace at {
class Tensor;
}

namespace dnd {

namespace detail {
struct CommState;
}

class Communicator {
 public:
  // MPI_COMM_WORLD (not owned). MPI must be initialised (see runtime.h).
  static Communicator world();
  // MPI_COMM_SELF (not owned): the one-process communicator of this rank.
  static Communicator self();
  // Wraps an existing handle; `owned` frees it with the last copy.
  Communicator(MPI_Comm comm, bool owned);
  // Defaults to world().
  Communicator();

  // Collective over this communicator: ranks with the same color form a new one,
  // ordered by key (then by old rank). color < 0 (MPI_UNDEFINED) yields a null
  // communicator (is_null()).
  Communicator split(int color, int key) const;
  // Collective: a private copy (owned), e.g. for a library that must not mix messages.
  Communicator dup() const;

  int rank() const noexcept;
  int size() const noexcept;
  MPI_Comm get() const noexcept;
  bool is_null() const noexcept;
  bool operator==(const Communicator& o) const noexcept { return get() == o.get(); }
  bool operator!=(const Communicator& o) const noexcept { return !(*this == o); }

 private:
  std::shared_ptr<const detail::CommState> s_;
};

enum class ReduceOp { sum, prod, min, max, land, lor };

// Throws CommError naming the MPI call and the source position when rc != MPI_SUCCESS.
void check_mpi(int rc, const char* call, const char* file, int line);

// Collective over comm.
void barrier(const Communicator& comm);

// Collective over comm: in-place elementwise reduction of a contiguous CPU tensor with
// the same shape and dtype on every rank. Large tensors are reduced in pieces.
void allreduce_(const Communicator& comm, at::Tensor& t, ReduceOp op);

// Collective over comm: in-place exclusive prefix reduction (MPI_Exscan) of a contiguous
// CPU tensor with the same shape and dtype on every rank: rank r ends with the sum (or
// product) of ranks 0..r-1's tensors, rank 0 with the identity (zeros or ones). op is
// sum or prod. Large tensors are scanned in pieces.
void exscan_(const Communicator& comm, at::Tensor& t, ReduceOp op);

// Collective over comm: root's contiguous CPU tensor overwrites everyone's (same shape
// and dtype on every rank).
void broadcast_(const Communicator& comm, at::Tensor& t, int root);

// Collective over comm: every rank's value, in rank order.
std::vector<int64_t> allgather_value(const Communicator& comm, int64_t v);
// Collective over comm: every rank's vector (all of the same length), concatenated.
std::vector<int64_t> allgather_values(const Communicator& comm, const std::vector<int64_t>& v);

// Collective over comm: scalar reductions of small metadata.
int64_t allreduce_value(const Communicator& comm, int64_t v, ReduceOp op);
double allreduce_value(const Communicator& comm, double v, ReduceOp op);

// Collective over comm: the general personalised exchange (an Alltoallv of strided
// blocks). sends[q] is what this rank sends to rank q, recvs[q] where it receives what
// rank q sends; either may be an undefined or empty tensor for "nothing". Views may be
// non-contiguous (they are packed / unpacked); the matching send and receive must have
// the same number of bytes and the same dtype. The self block is copied directly.
// Messages of any size work (they travel in pieces of at most 1 GiB).
void exchange(const Communicator& comm, const std::vector<at::Tensor>& sends,
              const std::vector<at::Tensor>& recvs);

// Collective over world (called by Runtime): turns on single-copy transfers between ranks
// of one node for exchange (the receiver reads the sender's strided view directly with
// process_vm_readv) when every rank is on this node, the kernel allows it, and DND_CMA is
// not 0. Falls back to plain MPI otherwise, and per message when a view's runs are short.
void enable_single_copy(const Communicator& world);
bool single_copy_enabled();

// A byte range of another rank's exposed buffer and where it lands in this rank's.
struct RangeCopy {
  int64_t remote_offset;
  int64_t local_offset;
  int64_t bytes;
};

// Collective over comm: every rank exposes `exposed` (host memory, unchanged until the
// call returns) and copies, from each rank q, the ranges wanted[q] of q's exposed buffer
// into its own `into` (ranges from itself included), with single-copy reads. Returns
// false on every rank, having completed nothing reliable, when single-copy transfers are
// off or some rank's ranges are too fragmented to be worth it; callers then fall back to
// exchange().
bool copy_ranges(const Communicator& comm, const void* exposed, void* into,
                 const std::vector<std::vector<RangeCopy>>& wanted);

// The MPI datatype of a torch dtype (one table for the whole project).
MPI_Datatype mpi_datatype(int scalar_type /* c10::ScalarType */);

}  // namespace dnd

#define DND_MPI_CHECK(call) ::dnd::check_mpi((call), #call, __FILE__, __LINE__)
