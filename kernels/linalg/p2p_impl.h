// Private to kernels/linalg: nonblocking point-to-point transfers of contiguous CPU
// tensors (the rings of matmul, the trees of TSQR and hsvd). Messages travel as bytes in
// pieces of at most 1 GiB; tags sit above core's so an early rank's next collective never
// matches a late rank's ring message.
#pragma once

#include "core/communicator.h"

#include <ATen/core/Tensor.h>
#include <mpi.h>

#include <vector>

namespace dnd::linalg::detail {

inline constexpr int kTagRing = 7101;
inline constexpr int kTagTree = 7102;
inline constexpr int kTagPanel = 7103;

class Requests {
 public:
  Requests() = default;
  Requests(const Requests&) = delete;
  Requests& operator=(const Requests&) = delete;
  ~Requests();  // waits for anything still in flight (an exception unwinding mid-ring)
  void isend(const Communicator& comm, const at::Tensor& t, int dest, int tag);
  void irecv(const Communicator& comm, const at::Tensor& t, int src, int tag);
  void wait();

 private:
  std::vector<MPI_Request> reqs_;
};

// Blocking versions.
void send(const Communicator& comm, const at::Tensor& t, int dest, int tag);
void recv(const Communicator& comm, const at::Tensor& t, int src, int tag);

}  // namespace dnd::linalg::detail
