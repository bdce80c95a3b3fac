// Distributed matmul: the algorithms plan_matmul chooses (see plan.h for the rules).
#include "kernels/linalg/matmul.h"

#include "src/core/error.h"
#include "src/core/manipulation.h"
#include "src/core/p2p.h"
#include "kernels/linalg/plan_impl.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

namespace dnd::linalg {

using detail::MatmulDecision;
using detail::MatmulGeom;
using detail::Role;

namespace {

void check_operands(const DNDarray& a, const DNDarray& b, const char* op) {
  if (a.comm() != b.comm())
    throw ValueError(fmt::format("{}: the operands live on different communicators", op));
  if ((a.device() != DeviceKind::cpu || b.device() != DeviceKind::cpu) && a.comm().size() > 1)
    throw TypeError(
        fmt::format("{}: distributed products need cpu arrays (move them with to_device)", op));
}

// out (+)= lhs @ rhs, with BLAS writing straight into out for matrices.
void gemm(const at::Tensor& out, const at::Tensor& lhs, const at::Tensor& rhs, bool accumulate) {
  if (out.numel() == 0) return;
  if (out.dim() == 2 && lhs.dim() == 2 && rhs.dim() == 2) {
    if (accumulate)
      out.addmm_(lhs, rhs);
    else
      at::mm_out(const_cast<at::Tensor&>(out), lhs, rhs);
    return;
  }
  if (accumulate)
    out.add_(at::matmul(lhs, rhs));
  else
    out.copy_(at::matmul(lhs, rhs));
}

// Shape of block q of an operand of shape `shape` cut along `axis` by counts.
Shape block_shape(Shape shape, int64_t axis, const std::vector<int64_t>& counts, int q) {
  shape[static_cast<size_t>(axis)] = counts[static_cast<size_t>(q)];
  return shape;
}

// A view of `buf` (1-D, large enough) with `shape`.
at::Tensor view_of(const at::Tensor& buf, const Shape& shape) {
  return buf.narrow(0, 0, shape_numel(shape)).view(shape);
}

std::vector<int64_t> offsets_of(const std::vector<int64_t>& counts) { return counts_to_offsets(counts); }

// Rotates the blocks of the split operand X (local block `mine`, cut along `axis` by
// `counts`) round the ring: at step t this rank holds block (me + t) % p, receives the
// next one from me + 1 and passes the current one to me - 1, and calls fn(q, block)
// while the transfer is in flight.
template <typename Fn>
void ring_rotate(const Communicator& comm, const at::Tensor& mine, const Shape& shape, int64_t axis,
                 const std::vector<int64_t>& counts, Fn fn) {
  const int p = comm.size(), me = comm.rank();
  const Communicator& k = kernel_comm(comm);
  int64_t most = 0;
  for (int q = 0; q < p; ++q) most = std::max(most, shape_numel(block_shape(shape, axis, counts, q)));
  at::Tensor bufs[2];
  if (p > 1) {
    bufs[0] = at::empty({most}, mine.options());
    bufs[1] = at::empty({most}, mine.options());
  }
  at::Tensor cur = mine;
  for (int t = 0; t < p; ++t) {
    const int q = (me + t) % p;
    Requests reqs;
    at::Tensor next;
    if (t + 1 < p) {
      const int nq = (me + t + 1) % p;
      next = view_of(bufs[t % 2], block_shape(shape, axis, counts, nq));
      if (next.numel() > 0) reqs.irecv(k, next, (me + 1) % p);
      if (cur.numel() > 0) reqs.isend(k, cur, (me + p - 1) % p);
    }
    fn(q, cur);
    reqs.wait();
    cur = next;
  }
}

// Ring reduce-scatter of partial products: the result is cut along `axis` of its local
// shape by `counts`; partial(j, out) writes this rank's contribution to block j into out.
// At step t this rank adds its part of block (me - t - 1) % p to what me - 1 sent and
// passes the sum on; after p steps it holds the full sum of its own block.
template <typename Fn>
at::Tensor ring_reduce_scatter(const Communicator& comm, const Shape& shape, int64_t axis,
                               const std::vector<int64_t>& counts, const at::TensorOptions& opts,
                               Fn partial) {
  const int p = comm.size(), me = comm.rank();
  const Communicator& k = kernel_comm(comm);
  int64_t most = 0;
  for (int q = 0; q < p; ++q) most = std::max(most, shape_numel(block_shape(shape, axis, counts, q)));
  // Three buffers: one in flight to me + 1, one receiving from me - 1, one being computed.
  at::Tensor bufs[3] = {at::empty({most}, opts), at::empty({most}, opts), at::empty({most}, opts)};
  Requests sending;
  int send_buf = -1;
  at::Tensor result;
  for (int t = 0; t < p; ++t) {
    const int j = ((me - t - 1) % p + p) % p;
    const Shape bs = block_shape(shape, axis, counts, j);
    const int compute_buf = send_buf < 0 ? 0 : (send_buf + 1) % 3, recv_buf = (compute_buf + 1) % 3;
    at::Tensor acc = t + 1 == p ? at::empty(bs, opts) : view_of(bufs[compute_buf], bs);
    at::Tensor incoming = view_of(bufs[recv_buf], bs);
    Requests receiving;
    if (t > 0 && incoming.numel() > 0) receiving.irecv(k, incoming, (me + p - 1) % p);
    partial(j, acc);
    receiving.wait();
    if (t > 0 && acc.numel() > 0) acc.add_(incoming);
    sending.wait();  // the buffer sent last step is free again
    if (t + 1 < p) {
      if (acc.numel() > 0) sending.isend(k, acc, (me + 1) % p);
      send_buf = compute_buf;
    } else {
      result = acc;
    }
  }
  return result;
}

}  // namespace

MatmulPlan plan_matmul(const DNDarray& a, const DNDarray& b) {
  return plan_matmul(a.gshape(), a.split(), a.counts(), b.gshape(), b.split(), b.counts(),
                     a.comm().size(), a.dtype(), b.dtype());
}

namespace {

DNDarray product(const DNDarray& a, const DNDarray& b, bool outer) {
  const char* op = outer ? "outer" : "matmul";
  check_operands(a, b, op);
  const Communicator& comm = a.comm();
  const int p = comm.size(), me = comm.rank();
  const MatmulDecision d = detail::decide_matmul(a.gshape(), a.split(), a.counts(), b.gshape(),
                                                 b.split(), b.counts(), p, a.dtype(), b.dtype(), outer);
  const MatmulGeom& g = d.g;
  const Dtype dtype = d.plan.dtype;
  const auto nbc = static_cast<int64_t>(g.batch.size());

  // The promoted local blocks, in the result dtype.
  at::Tensor A = a.larray().to(dtype), B = b.larray().to(dtype);
  if (outer) {
    A = A.unsqueeze(1);
    B = B.unsqueeze(0);
  } else {
    if (g.vec_a) A = A.unsqueeze(0);
    if (g.vec_b) B = B.unsqueeze(1);
  }
  const Split psa = g.ra == Role::none ? kReplicated : Split(g.axis_a);
  const Split psb = g.rb == Role::none ? kReplicated : Split(g.axis_b);
  std::vector<int64_t> ca = a.counts(), cb = b.counts();
  if (d.align_a) {
    DNDarray moved =
        resplit(DNDarray(A.contiguous(), g.pa, psa, comm, ca), d.align_axis, d.align_counts);
    A = moved.larray();
    ca = d.align_counts;
  }
  if (d.align_b) {
    DNDarray moved =
        resplit(DNDarray(B.contiguous(), g.pb, psb, comm, cb), d.align_axis, d.align_counts);
    B = moved.larray();
    cb = d.align_counts;
  }

  // The local result in the promoted (full) shape: this rank's block of it.
  Shape local_shape = g.full_shape;
  if (g.full_split >= 0)
    local_shape[static_cast<size_t>(g.full_split)] = d.out_counts[static_cast<size_t>(me)];
  at::Tensor C;
  const auto opts = A.options();
  const int64_t row = nbc, col = nbc + 1;

  switch (d.plan.algorithm) {
    case MatmulAlgorithm::local: {
      if (p > 1 && (g.ra == Role::batch || g.rb == Role::batch)) {
        // The replicated operand contributes this rank's slab of the split batch axis.
        const bool x_is_a = g.ra == Role::batch;
        at::Tensor& other = x_is_a ? B : A;
        const Role ro = x_is_a ? g.rb : g.ra;
        const Shape& po = x_is_a ? g.pb : g.pa;
        const int64_t own_ax = g.full_split - (nbc - static_cast<int64_t>(po.size() - 2));
        const auto& cx = x_is_a ? ca : cb;
        if (ro == Role::none && own_ax >= 0 && po[static_cast<size_t>(own_ax)] != 1)
          other = other.narrow(own_ax, counts_to_offsets(cx)[static_cast<size_t>(me)],
                               cx[static_cast<size_t>(me)]);
      }
      C = at::matmul(A, B);
      break;
    }
    case MatmulAlgorithm::ring_b: {
      C = at::zeros(local_shape, opts);
      const bool rows = g.rb == Role::row;  // b cut along k (else along m)
      const auto off = offsets_of(cb);
      at::Tensor Bc = B.contiguous();
      ring_rotate(comm, Bc, g.pb, g.axis_b, cb, [&](int q, const at::Tensor& blk) {
        const int64_t o = off[static_cast<size_t>(q)], c = cb[static_cast<size_t>(q)];
        if (rows)
          gemm(C, A.narrow(-1, o, c), blk, true);
        else
          gemm(C.narrow(-1, o, c), A, blk, false);
      });
      break;
    }
    case MatmulAlgorithm::ring_a: {
      C = at::zeros(local_shape, opts);
      const auto off = offsets_of(ca);
      at::Tensor Ac = A.contiguous();
      const bool cols = g.ra == Role::col;  // a cut along k (else along n)
      ring_rotate(comm, Ac, g.pa, g.axis_a, ca, [&](int q, const at::Tensor& blk) {
        const int64_t o = off[static_cast<size_t>(q)], c = ca[static_cast<size_t>(q)];
        if (cols)
          gemm(C, blk, B.narrow(-2, o, c), true);
        else
          gemm(C.narrow(-2, o, c), blk, B, false);
      });
      break;
    }
    case MatmulAlgorithm::reduce_scatter:
    case MatmulAlgorithm::allreduce: {
      // The operands cut alike along the contraction axis.
      at::Tensor Ak = A, Bk = B;
      if (g.ra == Role::col && g.rb == Role::none)
        Bk = B.narrow(-2, counts_to_offsets(ca)[static_cast<size_t>(me)], ca[static_cast<size_t>(me)]);
      else if (g.ra == Role::none && g.rb == Role::row)
        Ak = A.narrow(-1, counts_to_offsets(cb)[static_cast<size_t>(me)], cb[static_cast<size_t>(me)]);
      if (d.plan.algorithm == MatmulAlgorithm::allreduce) {
        C = at::matmul(Ak, Bk).contiguous();
        allreduce_(comm, C, ReduceOp::sum);
        break;
      }
      const auto off = offsets_of(d.out_counts);
      C = ring_reduce_scatter(
          comm, local_shape, d.reduce_axis, d.out_counts, opts, [&](int j, const at::Tensor& out) {
            const int64_t o = off[static_cast<size_t>(j)], c = d.out_counts[static_cast<size_t>(j)];
            if (d.reduce_axis == row)
              gemm(out, Ak.narrow(-2, o, c), Bk, false);
            else
              gemm(out, Ak, Bk.narrow(-1, o, c), false);
          });
      (void)col;
      break;
    }
    case MatmulAlgorithm::resplit_a: {
      DNDarray moved = resplit(DNDarray(A.contiguous(), g.pa, psa, comm, ca),
                               static_cast<int64_t>(g.pa.size()) - 2, d.out_counts);
      C = at::matmul(moved.larray(), B);
      break;
    }
    case MatmulAlgorithm::resplit_b: {
      DNDarray moved = resplit(DNDarray(B.contiguous(), g.pb, psb, comm, cb),
                               static_cast<int64_t>(g.pb.size()) - 1, d.out_counts);
      C = at::matmul(A, moved.larray());
      break;
    }
  }
  // at::matmul broadcasts batch axes; a product of a split batch slab keeps its shape.
  DND_ASSERT(C.sizes().vec() == local_shape,
             fmt::format("{}: local result {} instead of {}", op, shape_str(C.sizes().vec()),
                         shape_str(local_shape)));
  if (!outer) {
    if (g.vec_b) C = C.squeeze(-1);
    if (g.vec_a) C = C.squeeze(nbc);
  }
  if (!C.is_contiguous()) C = C.contiguous();
  if (!g.split) return DNDarray(C, g.shape, kReplicated, comm);
  return DNDarray(C, g.shape, g.split, comm, d.out_counts);
}

}  // namespace

DNDarray matmul(const DNDarray& a, const DNDarray& b) { return product(a, b, false); }

DNDarray dot(const DNDarray& a, const DNDarray& b) {
  if (a.ndim() > 2 || b.ndim() > 2)
    throw ValueError(fmt::format("dot: operands of shapes {} and {} have more than 2 axes; use matmul",
                                 shape_str(a.gshape()), shape_str(b.gshape())));
  return product(a, b, false);
}

DNDarray matvec(const DNDarray& a, const DNDarray& x) {
  if (a.ndim() != 2 || x.ndim() != 1)
    throw ShapeError(fmt::format("matvec: needs a matrix and a vector, got shapes {} and {}",
                                 shape_str(a.gshape()), shape_str(x.gshape())));
  return product(a, x, false);
}

DNDarray outer(const DNDarray& a, const DNDarray& b) { return product(a, b, true); }

}  // namespace dnd::linalg
