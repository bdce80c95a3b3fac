#include "linalg/p2p_impl.h"

#include "core/error.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace dnd::linalg::detail {

namespace {

constexpr int64_t kPiece = int64_t{1} << 30;

template <typename Fn>
void pieces(const at::Tensor& t, Fn fn) {
  DND_ASSERT(t.is_contiguous() && t.device().is_cpu(), "p2p: contiguous CPU tensors only");
  auto* p = static_cast<char*>(t.data_ptr());
  const int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
  for (int64_t done = 0; done < bytes; done += kPiece) fn(p + done, static_cast<int>(std::min(kPiece, bytes - done)));
}

}  // namespace

Requests::~Requests() {
  if (!reqs_.empty()) MPI_Waitall(static_cast<int>(reqs_.size()), reqs_.data(), MPI_STATUSES_IGNORE);
}

void Requests::isend(const Communicator& comm, const at::Tensor& t, int dest, int tag) {
  pieces(t, [&](char* p, int n) {
    MPI_Request r;
    DND_MPI_CHECK(MPI_Isend(p, n, MPI_BYTE, dest, tag, comm.get(), &r));
    reqs_.push_back(r);
  });
}

void Requests::irecv(const Communicator& comm, const at::Tensor& t, int src, int tag) {
  pieces(t, [&](char* p, int n) {
    MPI_Request r;
    DND_MPI_CHECK(MPI_Irecv(p, n, MPI_BYTE, src, tag, comm.get(), &r));
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

}  // namespace dnd::linalg::detail
