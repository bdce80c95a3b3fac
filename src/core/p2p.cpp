#include "src/core/p2p.h"

#include "src/core/comm_count.h"
#include "src/core/error.h"

#include <ATen/core/Tensor.h>

namespace dnd {

namespace {

// Calls post(address, count, datatype) for each piece of t (counts in elements).
template <typename Fn>
void pieces(const at::Tensor& t, const char* what, Fn post) {
  DND_ASSERT(t.defined() && t.is_contiguous() && t.device().is_cpu(),
             std::string(what) + ": contiguous CPU tensors only");
  const MPI_Datatype dt = mpi_datatype(static_cast<int>(t.scalar_type()));
  const auto esize = static_cast<int64_t>(t.element_size());
  auto* p = static_cast<char*>(t.data_ptr());
  for_each_piece(t.numel(), std::max<int64_t>(1, kMaxMessageBytes / esize),
                 [&](int64_t off, int n) { post(p + off * esize, n, dt); });
}

}  // namespace

Requests::~Requests() {
  if (!reqs_.empty()) MPI_Waitall(static_cast<int>(reqs_.size()), reqs_.data(), MPI_STATUSES_IGNORE);
}

void Requests::isend(const Communicator& comm, const at::Tensor& t, int dest, int tag) {
  if (dest != comm.rank()) count_comm(t.numel() * static_cast<int64_t>(t.element_size()), 0);
  pieces(t, "isend", [&](char* p, int n, MPI_Datatype dt) {
    MPI_Request r;
    DND_MPI_CHECK(MPI_Isend(p, n, dt, dest, tag, comm.get(), &r));
    reqs_.push_back(r);
  });
}

void Requests::irecv(const Communicator& comm, const at::Tensor& t, int src, int tag) {
  if (src != comm.rank()) count_comm(0, t.numel() * static_cast<int64_t>(t.element_size()));
  pieces(t, "irecv", [&](char* p, int n, MPI_Datatype dt) {
    MPI_Request r;
    DND_MPI_CHECK(MPI_Irecv(p, n, dt, src, tag, comm.get(), &r));
    reqs_.push_back(r);
  });
}

void Requests::wait() {
  if (reqs_.empty()) return;
  std::vector<MPI_Request> r;
  r.swap(reqs_);
  DND_MPI_CHECK(MPI_Waitall(static_cast<int>(r.size()), r.data(), MPI_STATUSES_IGNORE));
}

void send(const Communicator& comm, const at::Tensor& t, int dest, int tag) {
  Requests r;
  r.isend(comm, t, dest, tag);
  r.wait();
}

void recv(const Communicator& comm, const at::Tensor& t, int src, int tag) {
  Requests r;
  r.irecv(comm, t, src, tag);
  r.wait();
}

}  // namespace dnd
