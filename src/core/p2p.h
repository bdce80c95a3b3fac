// Point-to-point messages of tensors, after DLA-Future's communication/kernels/p2p.h: typed
// sends and receives of contiguous CPU tensors of any size (in pieces of at most
// kMaxMessageBytes, matched in order, so a receive must name a tensor of the same dtype
// and number of elements as its send).
//
// Kernels send on their own communicator (kernel_comm(comm)), never on the communicator
// core's collectives use: a rank that is early for its next collective cannot match a
// late rank's ring or tree message, whatever the tags.
#pragma once

#include "src/core/communicator.h"

#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace at {
class Tensor;
}

namespace dnd {

// The largest message dnd hands MPI in one call: 1 GiB, far inside MPI's int counts.
inline constexpr int64_t kMaxMessageBytes = int64_t{1} << 30;

// The piece loop: calls fn(offset, count) for consecutive pieces [offset, offset + count)
// of [0, n), each at most `piece` long (so that count fits an int). Every MPI call of dnd
// that moves a buffer of unbounded size goes through it (core's collectives and
// exchange, these messages, io's MPI-IO reads and writes).
template <typename Fn>
void for_each_piece(int64_t n, int64_t piece, Fn&& fn) {
  for (int64_t done = 0; done < n; done += piece) fn(done, static_cast<int>(std::min(piece, n - done)));
}

// The communicator kernels (kernels/linalg's rings and trees) send their point-to-point
// messages on: a duplicate of comm, made on first use (collective over comm then: every
// rank must make its first call at the same point) and cached with comm (its copies share
// it; it is freed with the last of them), so that a kernel's messages never match core's,
// whatever the tags.
const Communicator& kernel_comm(const Communicator& comm);

// Nonblocking transfers in flight. wait() completes them all; the destructor waits too
// (an exception unwinding mid-ring must not free buffers MPI still writes). A tensor
// must stay alive, and unchanged (send) or untouched (receive), until then.
class Requests {
 public:
  Requests() = default;
  Requests(const Requests&) = delete;
  Requests& operator=(const Requests&) = delete;
  ~Requests();
  void isend(const Communicator& comm, const at::Tensor& t, int dest, int tag = 0);
  void irecv(const Communicator& comm, const at::Tensor& t, int src, int tag = 0);
  void wait();
  bool empty() const noexcept { return reqs_.empty(); }

 private:
  std::vector<MPI_Request> reqs_;
};

// Blocking versions.
void send(const Communicator& comm, const at::Tensor& t, int dest, int tag = 0);
void recv(const Communicator& comm, const at::Tensor& t, int src, int tag = 0);

}  // namespace dnd
