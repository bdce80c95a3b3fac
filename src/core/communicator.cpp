#include "src/core/communicator.h"

#include "src/core/collectives.h"
#include "src/core/comm_count.h"
#include "src/core/error.h"
#include "src/core/p2p.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <thread>

#include <sys/uio.h>
#include <unistd.h>

namespace dnd {

namespace detail {
struct CommState {
  MPI_Comm comm = MPI_COMM_NULL;
  bool owned = false;
  int rank = -1;
  int size = 0;
  ~CommState() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owned && comm != MPI_COMM_NULL && !finalized) MPI_Comm_free(&comm);
  }
};
}  // namespace detail

namespace {

std::shared_ptr<const detail::CommState> make_state(MPI_Comm comm, bool owned) {
  auto s = std::make_shared<detail::CommState>();
  s->comm = comm;
  s->owned = owned;
  if (comm != MPI_COMM_NULL) {
    DND_MPI_CHECK(MPI_Comm_rank(comm, &s->rank));
    DND_MPI_CHECK(MPI_Comm_size(comm, &s->size));
  }
  return s;
}

void check_initialized() {
  int init = 0;
  MPI_Initialized(&init);
  if (!init) throw CommError("MPI is not initialised: create a dnd::Runtime before using communicators");
}

}  // namespace

void check_mpi(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw CommError(fmt::format("MPI error in {} at {}:{}: {}", call, file, line,
                              std::string(msg, static_cast<size_t>(len))));
}

Communicator Communicator::world() {
  check_initialized();
  static const auto w = make_state(MPI_COMM_WORLD, false);
  Communicator c(MPI_COMM_NULL, false);
  c.s_ = w;
  return c;
}

Communicator Communicator::self() {
  check_initialized();
  static const auto s = make_state(MPI_COMM_SELF, false);
  Communicator c(MPI_COMM_NULL, false);
  c.s_ = s;
  return c;
}

Communicator::Communicator(MPI_Comm comm, bool owned) : s_(make_state(comm, owned)) {}

Communicator::Communicator() : Communicator(world()) {}

Communicator Communicator::split(int color, int key) const {
  MPI_Comm out = MPI_COMM_NULL;
  DND_MPI_CHECK(MPI_Comm_split(get(), color < 0 ? MPI_UNDEFINED : color, key, &out));
  return Communicator(out, out != MPI_COMM_NULL);
}

Communicator Communicator::dup() const {
  MPI_Comm out = MPI_COMM_NULL;
  DND_MPI_CHECK(MPI_Comm_dup(get(), &out));
  return Communicator(out, true);
}

// kernel_comm's cache is MPI's own: an attribute of the parent communicator (the
// standard's way for a library to keep its private duplicate), deleted with the parent.
namespace {

int delete_kernel_comm(MPI_Comm parent, int, void* attr, void*) {
  // World's and self's attributes go at MPI_Finalize, when freeing communicators is no
  // longer safe: their duplicate is left to the end of the process.
  if (parent != MPI_COMM_WORLD && parent != MPI_COMM_SELF) delete static_cast<Communicator*>(attr);
  return MPI_SUCCESS;
}

int kernel_keyval() {
  static const int kv = [] {
    int k = MPI_KEYVAL_INVALID;
    DND_MPI_CHECK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, delete_kernel_comm, &k, nullptr));
    return k;
  }();
  return kv;
}

}  // namespace

const Communicator& kernel_comm(const Communicator& comm) {
  DND_ASSERT(!comm.is_null(), "kernel_comm of a null communicator");
  void* attr = nullptr;
  int found = 0;
  DND_MPI_CHECK(MPI_Comm_get_attr(comm.get(), kernel_keyval(), &attr, &found));
  if (found) return *static_cast<const Communicator*>(attr);
  auto* k = new Communicator(comm.dup());
  DND_MPI_CHECK(MPI_Comm_set_attr(comm.get(), kernel_keyval(), k));
  return *k;
}

int Communicator::rank() const noexcept { return s_->rank; }
int Communicator::size() const noexcept { return s_->size; }
MPI_Comm Communicator::get() const noexcept { return s_->comm; }
bool Communicator::is_null() const noexcept { return s_->comm == MPI_COMM_NULL; }

MPI_Datatype mpi_datatype(int scalar_type) {
  switch (static_cast<c10::ScalarType>(scalar_type)) {
    case c10::ScalarType::Bool:
      return MPI_C_BOOL;
    case c10::ScalarType::Byte:
      return MPI_UINT8_T;
    case c10::ScalarType::Char:
      return MPI_INT8_T;
    case c10::ScalarType::Short:
      return MPI_INT16_T;
    case c10::ScalarType::Int:
      return MPI_INT32_T;
    case c10::ScalarType::Long:
      return MPI_INT64_T;
    case c10::ScalarType::Float:
      return MPI_FLOAT;
    case c10::ScalarType::Double:
      return MPI_DOUBLE;
    case c10::ScalarType::ComplexFloat:
      return MPI_C_FLOAT_COMPLEX;
    case c10::ScalarType::ComplexDouble:
      return MPI_C_DOUBLE_COMPLEX;
    default:
      throw TypeError(fmt::format("no MPI datatype for dtype {}",
                                  c10::toString(static_cast<c10::ScalarType>(scalar_type))));
  }
}

static MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return MPI_SUM;
    case ReduceOp::prod:
      return MPI_PROD;
    case ReduceOp::min:
      return MPI_MIN;
    case ReduceOp::max:
      return MPI_MAX;
    case ReduceOp::land:
      return MPI_LAND;
    case ReduceOp::lor:
      return MPI_LOR;
  }
  return MPI_OP_NULL;
}

namespace {
std::atomic<int64_t> g_sent{0}, g_received{0};
}  // namespace

CommCount comm_count() { return CommCount{g_sent.load(), g_received.load()}; }
void count_comm(int64_t sent, int64_t received) {
  g_sent += sent;
  g_received += received;
}

void barrier(const Communicator& comm) { DND_MPI_CHECK(MPI_Barrier(comm.get())); }

static void check_host_contiguous(const at::Tensor& t, const char* what) {
  if (!t.defined() || !t.device().is_cpu() || !t.is_contiguous())
    throw InternalError(fmt::format("{}: needs a defined, contiguous CPU tensor (a dnd bug)", what));
}

namespace {

// Above this size allreduce runs as a reduce-scatter and an allgather over point-to-point
// messages into reused (cached) buffers, with torch doing the arithmetic. Open MPI 4.1's
// large-message allreduce allocates fresh temporaries on every call and, where first
// touch of a page is expensive, runs at a fraction of the link's bandwidth.
constexpr int64_t kLargeAllreduceBytes = int64_t{1} << 20;

void combine_into(at::Tensor& acc, const at::Tensor& x, ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      acc.add_(x);
      break;
    case ReduceOp::prod:
      acc.mul_(x);
      break;
    case ReduceOp::min:
      at::minimum_out(acc, acc, x);
      break;
    case ReduceOp::max:
      at::maximum_out(acc, acc, x);
      break;
    case ReduceOp::land:
      acc.logical_and_(x);
      break;
    case ReduceOp::lor:
      acc.logical_or_(x);
      break;
  }
}

// Every rank owns one balanced segment: it receives that segment from every other
// rank, reduces it, and sends the result to everyone (one rank reduces each element, so
// all ranks end with bitwise identical results). Each rank moves 2 (p-1)/p of the buffer.
void large_allreduce(const Communicator& comm, at::Tensor& flat, ReduceOp op) {
  const int p = comm.size(), me = comm.rank();
  const int64_t n = flat.numel();
  std::vector<int64_t> off(static_cast<size_t>(p) + 1, 0);
  for (int r = 0; r < p; ++r)
    off[static_cast<size_t>(r) + 1] = off[static_cast<size_t>(r)] + n / p + (r < n % p ? 1 : 0);
  auto seg = [&](const at::Tensor& t, int r) {
    return t.narrow(0, off[static_cast<size_t>(r)],
                    off[static_cast<size_t>(r) + 1] - off[static_cast<size_t>(r)]);
  };
  const int64_t mine = off[static_cast<size_t>(me) + 1] - off[static_cast<size_t>(me)];
  at::Tensor incoming = at::empty({p, mine}, flat.options());
  std::vector<at::Tensor> sends(static_cast<size_t>(p)), recvs(static_cast<size_t>(p));
  for (int r = 0; r < p; ++r) {
    if (r == me) continue;
    sends[static_cast<size_t>(r)] = seg(flat, r);
    recvs[static_cast<size_t>(r)] = incoming[r];
  }
  exchange(comm, sends, recvs);
  at::Tensor acc = seg(flat, me);
  for (int r = 0; r < p; ++r)
    if (r != me) combine_into(acc, incoming[r], op);
  for (int r = 0; r < p; ++r) {
    sends[static_cast<size_t>(r)] = r == me ? at::Tensor() : seg(flat, me);
    recvs[static_cast<size_t>(r)] = r == me ? at::Tensor() : seg(flat, r);
  }
  exchange(comm, sends, recvs);
}

}  // namespace

void allreduce_(const Communicator& comm, at::Tensor& t, ReduceOp op) {
  check_host_contiguous(t, "allreduce");
  if (comm.size() == 1) return;
  at::Tensor buf = t;
  // MPI defines no MIN/MAX/PROD on C_BOOL; reduce bools as bytes.
  if (t.scalar_type() == at::kBool) buf = t.to(at::kByte);
  if (buf.numel() * static_cast<int64_t>(buf.element_size()) >= kLargeAllreduceBytes &&
      buf.numel() >= comm.size()) {
    at::Tensor flat = buf.view({-1});
    large_allreduce(comm, flat, op);
  } else {
    MPI_Datatype dt = mpi_datatype(static_cast<int>(buf.scalar_type()));
    const int64_t esize = buf.element_size();
    // Counted as the large path moves it (its exchanges count themselves).
    const int64_t moved = allreduce_rank_bytes(buf.numel(), esize, comm.size(), comm.rank());
    count_comm(moved, moved);
    char* p = static_cast<char*>(buf.data_ptr());
    for_each_piece(
        buf.numel(), std::max<int64_t>(1, kMaxMessageBytes / esize), [&](int64_t off, int cnt) {
          DND_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, p + off * esize, cnt, dt, mpi_op(op), comm.get()));
        });
  }
  if (!buf.is_same(t)) t.copy_(buf);
}

void exscan_(const Communicator& comm, at::Tensor& t, ReduceOp op) {
  check_host_contiguous(t, "exscan");
  if (op != ReduceOp::sum && op != ReduceOp::prod)
    throw InternalError("exscan_: only sum and prod have an identity here");
  if (comm.size() > 1) {
    at::Tensor buf = t.scalar_type() == at::kBool ? t.to(at::kByte) : t;
    MPI_Datatype dt = mpi_datatype(static_cast<int>(buf.scalar_type()));
    const int64_t esize = buf.element_size();
    const int64_t n = buf.numel() * esize;
    count_comm(comm.rank() + 1 < comm.size() ? n : 0, comm.rank() > 0 ? n : 0);
    char* p = static_cast<char*>(buf.data_ptr());
    for_each_piece(
        buf.numel(), std::max<int64_t>(1, kMaxMessageBytes / esize), [&](int64_t off, int cnt) {
          DND_MPI_CHECK(MPI_Exscan(MPI_IN_PLACE, p + off * esize, cnt, dt, mpi_op(op), comm.get()));
        });
    if (!buf.is_same(t)) t.copy_(buf);
  }
  // MPI leaves rank 0's buffer undefined.
  if (comm.rank() == 0) t.fill_(op == ReduceOp::sum ? 0 : 1);
}

void broadcast_(const Communicator& comm, at::Tensor& t, int root) {
  check_host_contiguous(t, "broadcast");
  if (comm.size() == 1) return;
  char* p = static_cast<char*>(t.data_ptr());
  const int64_t n = t.numel() * static_cast<int64_t>(t.element_size());
  count_comm(binomial_children(comm.size(), root, comm.rank()) * n, comm.rank() == root ? 0 : n);
  for_each_piece(n, kMaxMessageBytes, [&](int64_t off, int cnt) {
    DND_MPI_CHECK(MPI_Bcast(p + off, cnt, MPI_BYTE, root, comm.get()));
  });
}

std::vector<int64_t> allgather_value(const Communicator& comm, int64_t v) {
  return allgather_values(comm, {v});
}

std::vector<int64_t> allgather_values(const Communicator& comm, const std::vector<int64_t>& v) {
  std::vector<int64_t> out(v.size() * static_cast<size_t>(comm.size()));
  DND_MPI_CHECK(MPI_Allgather(v.data(), static_cast<int>(v.size()), MPI_INT64_T, out.data(),
                              static_cast<int>(v.size()), MPI_INT64_T, comm.get()));
  return out;
}

int64_t allreduce_value(const Communicator& comm, int64_t v, ReduceOp op) {
  int64_t out = 0;
  DND_MPI_CHECK(MPI_Allreduce(&v, &out, 1, MPI_INT64_T, mpi_op(op), comm.get()));
  return out;
}

double allreduce_value(const Communicator& comm, double v, ReduceOp op) {
  double out = 0;
  DND_MPI_CHECK(MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, mpi_op(op), comm.get()));
  return out;
}

void idle_barrier(const Communicator& comm, std::chrono::microseconds poll) {
  MPI_Request req;
  DND_MPI_CHECK(MPI_Ibarrier(comm.get(), &req));
  for (int done = 0; !done;) {
    DND_MPI_CHECK(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
    if (!done) std::this_thread::sleep_for(poll);
  }
}

void alltoall(const Communicator& comm, const at::Tensor& send, at::Tensor& recv) {
  check_host_contiguous(send, "alltoall");
  check_host_contiguous(recv, "alltoall");
  const int p = comm.size();
  const int64_t bytes = send.numel() * static_cast<int64_t>(send.element_size());
  DND_ASSERT(bytes == recv.numel() * static_cast<int64_t>(recv.element_size()) && bytes % p == 0,
             "alltoall: send and receive buffers of p equal parts");
  const int64_t share = bytes / p;
  count_comm(bytes - share, bytes - share);
  const auto* sp = static_cast<const char*>(send.data_ptr());
  auto* rp = static_cast<char*>(recv.data_ptr());
  // Shares above one piece go in rounds: round k moves piece k of every share, a strided
  // datatype of p blocks one share apart.
  for_each_piece(share, kMaxMessageBytes, [&](int64_t off, int n) {
    if (n == share) {
      DND_MPI_CHECK(MPI_Alltoall(sp, n, MPI_BYTE, rp, n, MPI_BYTE, comm.get()));
      return;
    }
    MPI_Datatype t, rt;
    DND_MPI_CHECK(MPI_Type_contiguous(n, MPI_BYTE, &t));
    DND_MPI_CHECK(MPI_Type_create_resized(t, 0, static_cast<MPI_Aint>(share), &rt));
    DND_MPI_CHECK(MPI_Type_commit(&rt));
    DND_MPI_CHECK(MPI_Alltoall(sp + off, 1, rt, rp + off, 1, rt, comm.get()));
    DND_MPI_CHECK(MPI_Type_free(&rt));
    DND_MPI_CHECK(MPI_Type_free(&t));
  });
}

void broadcast_string(const Communicator& comm, std::string& s, int root) {
  if (comm.size() == 1) return;
  int64_t len = static_cast<int64_t>(s.size());
  DND_MPI_CHECK(MPI_Bcast(&len, 1, MPI_INT64_T, root, comm.get()));
  if (comm.rank() != root) s.assign(static_cast<size_t>(len), '\0');
  for_each_piece(len, kMaxMessageBytes, [&](int64_t off, int n) {
    DND_MPI_CHECK(MPI_Bcast(s.data() + off, n, MPI_CHAR, root, comm.get()));
  });
}

std::optional<RankError> first_error(const Communicator& comm, const std::string& error) {
  const int64_t none = std::numeric_limits<int64_t>::max();
  const int64_t first =
      allreduce_value(comm, error.empty() ? none : int64_t{comm.rank()}, ReduceOp::min);
  if (first == none) return std::nullopt;
  RankError e{static_cast<int>(first), error};
  broadcast_string(comm, e.message, e.rank);
  return e;
}

namespace {

// An agreed failure travels as its kind's letter followed by its message.
enum Kind : char { kValue = 'V', kShape = 'S', kType = 'T', kComm = 'C', kInternal = 'I', kOther = 'E' };

[[noreturn]] void throw_kind(char kind, const std::string& msg) {
  switch (kind) {
    case kShape:
      throw ShapeError(msg);
    case kType:
      throw TypeError(msg);
    case kValue:
      throw ValueError(msg);
    case kComm:
      throw CommError(msg);
    case kInternal:
      throw InternalError(msg);
    default:
      throw Error(msg);
  }
}

}  // namespace

void agree(const Communicator& comm, const std::function<void()>& f) {
  std::string failure;  // empty: f returned
  try {
    f();
  } catch (const TypeError& e) {
    failure = std::string(1, kType) + e.what();
  } catch (const ShapeError& e) {
    failure = std::string(1, kShape) + e.what();
  } catch (const ValueError& e) {
    failure = std::string(1, kValue) + e.what();
  } catch (const CommError& e) {
    failure = std::string(1, kComm) + e.what();
  } catch (const InternalError& e) {
    failure = std::string(1, kInternal) + e.what();
  } catch (const std::exception& e) {
    failure = std::string(1, kOther) + e.what();
  }
  if (const auto first = first_error(comm, failure))
    throw_kind(first->message[0], first->message.substr(1));
}

FailureVote::FailureVote(const Communicator& comm) : comm_(comm.dup()), buf_(new int64_t[4]()) {}

FailureVote::~FailureVote() {
  int done = 1;
  if (pending_ != MPI_REQUEST_NULL) MPI_Test(&pending_, &done, MPI_STATUS_IGNORE);
  // A vote still in flight may be written into later: its buffer is left to the process.
  if (done) delete[] buf_;
}

FailureVote::Outcome FailureVote::vote(const std::string& message, std::chrono::milliseconds wait) {
  DND_ASSERT(pending_ == MPI_REQUEST_NULL && buf_[2] == 0, "FailureVote::vote called twice");
  // FNV-1a of the message: the same on every rank for the same text. The minimum of
  // (h, -h) over the ranks gives the smallest and the largest h: equal when every
  // message is. h >= 1, so that a completed vote never reads as zero.
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : message) h = (h ^ c) * 1099511628211ULL;
  const auto hs = static_cast<int64_t>(h >> 2) + 1;
  int64_t* v = buf_;
  int64_t* out = buf_ + 2;
  v[0] = hs, v[1] = -hs;
  DND_MPI_CHECK(MPI_Iallreduce(v, out, 2, MPI_INT64_T, MPI_MIN, comm_.get(), &pending_));
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (int done = 0;;) {
    DND_MPI_CHECK(MPI_Test(&pending_, &done, MPI_STATUS_IGNORE));
    if (done) return out[0] == -out[1] ? Outcome::every_rank_same : Outcome::every_rank;
    if (std::chrono::steady_clock::now() >= deadline) return Outcome::not_every_rank;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

namespace {

bool has_data(const at::Tensor& t) { return t.defined() && t.numel() > 0; }

// Posts nonblocking transfers of `bytes` at p to/from `peer`, in pieces.
void post_pieces(bool send, char* p, int64_t bytes, int peer, MPI_Comm comm,
                 std::vector<MPI_Request>& reqs) {
  for_each_piece(bytes, kMaxMessageBytes, [&](int64_t off, int cnt) {
    MPI_Request r;
    if (send)
      DND_MPI_CHECK(MPI_Isend(p + off, cnt, MPI_BYTE, peer, 0, comm, &r));
    else
      DND_MPI_CHECK(MPI_Irecv(p + off, cnt, MPI_BYTE, peer, 0, comm, &r));
    reqs.push_back(r);
  });
}

// ---- single-copy transfers between ranks of one node (Linux cross-memory attach) ----
//
// MPI moves a strided view by copying it into shared-memory fragments on the sender and
// out of them on the receiver: two copies. When every rank lives on one node and the
// kernel lets ranks read each other's memory, the receiver instead reads the sender's
// view directly with process_vm_readv (one copy, strided on both sides), as Open MPI does
// for contiguous buffers. The sender sends a small descriptor of its view, the receiver
// pulls and acknowledges; either side falls back to plain MPI for that pair when the
// pull is not worth it (runs shorter than 2 KiB) or fails.

std::atomic<bool> g_cma{false};
std::atomic<int64_t> g_cma_bytes{0};

constexpr int kTagData = 0, kTagDesc = 1, kTagAck = 2;
constexpr int64_t kMaxDims = 32;
constexpr int64_t kMinRun = 2048;  // bytes: shorter runs are not worth one iovec each
enum : int64_t { kAckPulled = 1, kAckSendPlease = 2 };

// A strided view in bytes: its address, element size, extents and byte strides.
struct ByteView {
  uintptr_t base = 0;
  int64_t esize = 0;
  std::vector<int64_t> sizes, strides;

  static ByteView of(const at::Tensor& v) {
    ByteView b{reinterpret_cast<uintptr_t>(v.data_ptr()),
               static_cast<int64_t>(v.element_size()),
               v.sizes().vec(),
               {}};
    for (int64_t k = 0; k < v.dim(); ++k) b.strides.push_back(v.stride(k) * b.esize);
    return b;
  }
  // Wire form: [pid, address, element size, ndim, sizes..., byte strides...], padded.
  std::vector<int64_t> describe() const {
    const auto nd = static_cast<int64_t>(sizes.size());
    std::vector<int64_t> d{static_cast<int64_t>(getpid()), static_cast<int64_t>(base), esize, nd};
    d.insert(d.end(), sizes.begin(), sizes.end());
    d.insert(d.end(), strides.begin(), strides.end());
    d.resize(static_cast<size_t>(4 + 2 * kMaxDims), 0);
    return d;
  }
  static ByteView from(const std::vector<int64_t>& d) {
    const auto nd = static_cast<std::ptrdiff_t>(d[3]);
    return ByteView{static_cast<uintptr_t>(d[1]),
                    d[2],
                    {d.begin() + 4, d.begin() + 4 + nd},
                    {d.begin() + 4 + nd, d.begin() + 4 + 2 * nd}};
  }

  // The innermost axes that are contiguous merge into one run of `block` bytes; axes
  // [0, outer) are iterated, giving `count` runs.
  struct Runs {
    int64_t outer, block, count;
  };
  Runs runs() const {
    int64_t d = static_cast<int64_t>(sizes.size()) - 1, block = esize, count = 1;
    while (d >= 0 && (sizes[static_cast<size_t>(d)] == 1 || strides[static_cast<size_t>(d)] == block))
      block *= sizes[static_cast<size_t>(d--)];
    for (int64_t k = 0; k <= d; ++k) count *= sizes[static_cast<size_t>(k)];
    return Runs{d + 1, block, count};
  }

  // The contiguous runs, in row-major order.
  std::vector<iovec> iovecs() const {
    const Runs r = runs();
    std::vector<iovec> out;
    out.reserve(static_cast<size_t>(r.count));
    std::vector<int64_t> idx(static_cast<size_t>(r.outer), 0);
    for (int64_t i = 0; i < r.count; ++i) {
      uintptr_t a = base;
      for (int64_t k = 0; k < r.outer; ++k)
        a += static_cast<uintptr_t>(idx[static_cast<size_t>(k)] * strides[static_cast<size_t>(k)]);
      out.push_back(iovec{reinterpret_cast<void*>(a), static_cast<size_t>(r.block)});
      for (int64_t k = r.outer - 1; k >= 0; --k) {
        if (++idx[static_cast<size_t>(k)] < sizes[static_cast<size_t>(k)]) break;
        idx[static_cast<size_t>(k)] = 0;
      }
    }
    return out;
  }
};

// Reads the remote runs into the local runs (equal byte totals). False on any failure.
bool pull(pid_t pid, std::vector<iovec> local, std::vector<iovec> remote) {
  size_t li = 0, ri = 0;
  while (li < local.size() && ri < remote.size()) {
    const size_t ln = std::min<size_t>(local.size() - li, IOV_MAX),
                 rn = std::min<size_t>(remote.size() - ri, IOV_MAX);
    const ssize_t got = process_vm_readv(pid, &local[li], ln, &remote[ri], rn, 0);
    if (got <= 0) return false;
    // Advance both lists by `got` bytes.
    for (auto* list : {&local, &remote}) {
      size_t& i = list == &local ? li : ri;
      size_t left = static_cast<size_t>(got);
      while (left > 0) {
        iovec& v = (*list)[i];
        const size_t take = std::min(left, v.iov_len);
        v.iov_base = static_cast<char*>(v.iov_base) + take;
        v.iov_len -= take;
        left -= take;
        if (v.iov_len == 0) ++i;
      }
    }
  }
  return li == local.size() && ri == remote.size();
}

}  // namespace

void enable_single_copy(const Communicator& world) {
  // Collective over world: on only when every rank is on this node, the user did not
  // turn it off (DND_CMA=0), and every rank could read its neighbour's probe.
  const char* env = std::getenv("DND_CMA");
  MPI_Comm node;
  DND_MPI_CHECK(MPI_Comm_split_type(world.get(), MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  int node_size = 0;
  MPI_Comm_size(node, &node_size);
  MPI_Comm_free(&node);
  const int p = world.size(), me = world.rank();
  int64_t probe = 1000 + me;
  const auto info = allgather_values(world, {static_cast<int64_t>(getpid()),
                                             static_cast<int64_t>(reinterpret_cast<uintptr_t>(&probe))});
  int64_t ok = p > 1 && node_size == p && !(env && std::string(env) == "0");
  if (ok) {
    const int q = (me + 1) % p;
    int64_t seen = -1;
    iovec l{&seen, sizeof(seen)},
        r{reinterpret_cast<void*>(static_cast<uintptr_t>(info[static_cast<size_t>(2 * q + 1)])),
          sizeof(seen)};
    ok = process_vm_readv(static_cast<pid_t>(info[static_cast<size_t>(2 * q)]), &l, 1, &r, 1, 0) ==
             static_cast<ssize_t>(sizeof(seen)) &&
         seen == 1000 + q;
  }
  g_cma =
      allreduce_value(world, ok, ReduceOp::min) == 1;  // also keeps `probe` alive until all have read
}

bool single_copy_enabled() { return g_cma.load(); }
int64_t single_copy_bytes() { return g_cma_bytes.load(); }

bool copy_ranges(const Communicator& comm, const void* exposed, void* into,
                 const std::vector<std::vector<RangeCopy>>& wanted) {
  if (!g_cma.load() || comm.size() == 1) return false;
  int64_t ok = 1;
  for (const auto& list : wanted) {
    int64_t bytes = 0;
    for (const RangeCopy& r : list) bytes += r.bytes;
    if (static_cast<int64_t>(list.size()) * kMinRun > bytes) ok = 0;
  }
  if (allreduce_value(comm, ok, ReduceOp::min) == 0) return false;
  int64_t sent = 0, received = 0;  // what this rank reads from others, and what they read from it
  {
    const int p = comm.size();
    std::vector<int64_t> want(static_cast<size_t>(p), 0), given(static_cast<size_t>(p), 0);
    for (int q = 0; q < p; ++q)
      if (q != comm.rank())
        for (const RangeCopy& r : wanted[static_cast<size_t>(q)])
          want[static_cast<size_t>(q)] += r.bytes;
    DND_MPI_CHECK(MPI_Alltoall(want.data(), 1, MPI_INT64_T, given.data(), 1, MPI_INT64_T, comm.get()));
    for (int q = 0; q < p; ++q)
      sent += given[static_cast<size_t>(q)], received += want[static_cast<size_t>(q)];
  }
  const auto where = allgather_values(
      comm,
      {static_cast<int64_t>(getpid()), static_cast<int64_t>(reinterpret_cast<uintptr_t>(exposed))});
  for (int q = 0; q < comm.size() && ok; ++q) {
    const auto& list = wanted[static_cast<size_t>(q)];
    if (list.empty()) continue;
    if (q == comm.rank()) {
      for (const RangeCopy& r : list)
        std::memcpy(static_cast<char*>(into) + r.local_offset,
                    static_cast<const char*>(exposed) + r.remote_offset, static_cast<size_t>(r.bytes));
      continue;
    }
    std::vector<iovec> local, remote;
    const auto base = static_cast<uintptr_t>(where[static_cast<size_t>(2 * q + 1)]);
    for (const RangeCopy& r : list) {
      local.push_back(iovec{static_cast<char*>(into) + r.local_offset, static_cast<size_t>(r.bytes)});
      remote.push_back(iovec{reinterpret_cast<void*>(base + static_cast<uintptr_t>(r.remote_offset)),
                             static_cast<size_t>(r.bytes)});
    }
    int64_t bytes = 0;
    for (const RangeCopy& r : list) bytes += r.bytes;
    ok = pull(static_cast<pid_t>(where[static_cast<size_t>(2 * q)]), std::move(local), std::move(remote))
             ? 1
             : 0;
    if (ok) g_cma_bytes += bytes;
  }
  // Also the barrier that keeps every exposed buffer alive until all reads are done.
  const bool done = allreduce_value(comm, ok, ReduceOp::min) == 1;
  if (done) count_comm(sent, received);  // else the caller's exchange counts the move
  return done;
}

namespace {

// Views up to this size travel as one message of a derived datatype; larger ones are
// packed and sent in pieces (derived datatypes count their size in int bytes).
constexpr int64_t kMaxStridedBytes = kMaxMessageBytes;

// An MPI datatype describing a strided view in place (bytes, relative to its data
// pointer), so MPI reads or writes it without a packed copy. Innermost contiguous axes
// are merged into one block. The caller frees it.
MPI_Datatype strided_type(const at::Tensor& v) {
  const ByteView b = ByteView::of(v);
  const ByteView::Runs r = b.runs();
  MPI_Datatype t;
  DND_MPI_CHECK(MPI_Type_contiguous(static_cast<int>(r.block), MPI_BYTE, &t));
  for (int64_t d = r.outer - 1; d >= 0; --d) {
    if (b.sizes[static_cast<size_t>(d)] == 1) continue;
    MPI_Datatype outer;
    DND_MPI_CHECK(MPI_Type_create_hvector(static_cast<int>(b.sizes[static_cast<size_t>(d)]), 1,
                                          b.strides[static_cast<size_t>(d)], t, &outer));
    DND_MPI_CHECK(MPI_Type_free(&t));
    t = outer;
  }
  DND_MPI_CHECK(MPI_Type_commit(&t));
  return t;
}

}  // namespace

void exchange(const Communicator& comm, const std::vector<at::Tensor>& sends,
              const std::vector<at::Tensor>& recvs) {
  const int p = comm.size(), me = comm.rank();
  DND_ASSERT(static_cast<int>(sends.size()) == p && static_cast<int>(recvs.size()) == p,
             "exchange needs one send and one receive slot per rank");

  {
    int64_t sent = 0, received = 0;
    for (int q = 0; q < p; ++q) {
      if (q == me) continue;
      if (has_data(sends[q])) sent += sends[q].numel() * static_cast<int64_t>(sends[q].element_size());
      if (has_data(recvs[q]))
        received += recvs[q].numel() * static_cast<int64_t>(recvs[q].element_size());
    }
    count_comm(sent, received);
  }
  std::vector<MPI_Request> reqs;
  std::vector<MPI_Datatype> types;                        // freed after Waitall
  std::vector<std::pair<at::Tensor, at::Tensor>> unpack;  // (staging buffer, destination view)
  std::vector<at::Tensor> keep;                           // packed send buffers live until Waitall
  auto bytes_of = [](const at::Tensor& t) { return t.numel() * static_cast<int64_t>(t.element_size()); };
  // A matching send and receive agree on the path: both sides know the byte count, and a
  // strided message of a derived datatype matches contiguous bytes of the same length.
  auto post = [&](bool send, const at::Tensor& view, int peer) {
    DND_ASSERT(view.device().is_cpu(), "exchange: views must be on the CPU");
    const int64_t bytes = bytes_of(view);
    if (view.is_contiguous()) {
      post_pieces(send, static_cast<char*>(view.data_ptr()), bytes, peer, comm.get(), reqs);
    } else if (bytes <= kMaxStridedBytes) {
      MPI_Datatype t = strided_type(view);
      types.push_back(t);
      MPI_Request r;
      if (send)
        DND_MPI_CHECK(MPI_Isend(view.data_ptr(), 1, t, peer, kTagData, comm.get(), &r));
      else
        DND_MPI_CHECK(MPI_Irecv(view.data_ptr(), 1, t, peer, kTagData, comm.get(), &r));
      reqs.push_back(r);
    } else if (send) {
      at::Tensor buf = view.contiguous();
      keep.push_back(buf);
      post_pieces(true, static_cast<char*>(buf.data_ptr()), bytes, peer, comm.get(), reqs);
    } else {
      at::Tensor buf = at::empty(view.sizes(), view.options());
      unpack.emplace_back(buf, view);
      post_pieces(false, static_cast<char*>(buf.data_ptr()), bytes, peer, comm.get(), reqs);
    }
  };

  if (!g_cma.load() || p == 1) {
    // Receives first, so that sends find a posted buffer.
    for (int k = 1; k < p; ++k) {
      const int q = (me - k + p) % p;
      if (has_data(recvs[q])) post(false, recvs[q], q);
    }
    for (int k = 1; k < p; ++k) {
      const int q = (me + k) % p;
      if (has_data(sends[q])) post(true, sends[q], q);
    }
  } else {
    // Single-copy protocol: descriptors out, acknowledgements back.
    std::vector<std::vector<int64_t>> descs_out(static_cast<size_t>(p)),
        descs_in(static_cast<size_t>(p));
    std::vector<int64_t> acks_in(static_cast<size_t>(p), 0), acks_out(static_cast<size_t>(p), 0);
    std::vector<MPI_Request> desc_reqs, ack_in_reqs(static_cast<size_t>(p), MPI_REQUEST_NULL);
    const int dn = static_cast<int>(4 + 2 * kMaxDims);
    for (int k = 1; k < p; ++k) {
      const int q = (me + k) % p;
      if (!has_data(sends[q])) continue;
      DND_ASSERT(sends[q].device().is_cpu() && sends[q].dim() <= kMaxDims,
                 "exchange: unsupported send view");
      descs_out[static_cast<size_t>(q)] = ByteView::of(sends[q]).describe();
      MPI_Request r;
      DND_MPI_CHECK(MPI_Isend(descs_out[static_cast<size_t>(q)].data(), dn, MPI_INT64_T, q, kTagDesc,
                              comm.get(), &r));
      desc_reqs.push_back(r);
      DND_MPI_CHECK(MPI_Irecv(&acks_in[static_cast<size_t>(q)], 1, MPI_INT64_T, q, kTagAck, comm.get(),
                              &ack_in_reqs[static_cast<size_t>(q)]));
    }
    for (int k = 1; k < p; ++k) {
      const int q = (me - k + p) % p;
      if (!has_data(recvs[q])) continue;
      auto& d = descs_in[static_cast<size_t>(q)];
      d.resize(static_cast<size_t>(dn));
      DND_MPI_CHECK(MPI_Recv(d.data(), dn, MPI_INT64_T, q, kTagDesc, comm.get(), MPI_STATUS_IGNORE));
      // Worth it only with long runs on both sides (few iovecs per byte).
      const ByteView remote = ByteView::from(d), local = ByteView::of(recvs[q]);
      const int64_t bytes = bytes_of(recvs[q]);
      const bool pulled = remote.runs().count * kMinRun <= bytes &&
                          local.runs().count * kMinRun <= bytes &&
                          pull(static_cast<pid_t>(d[0]), local.iovecs(), remote.iovecs());
      acks_out[static_cast<size_t>(q)] = pulled ? kAckPulled : kAckSendPlease;
      if (pulled) g_cma_bytes += bytes;
      MPI_Request r;
      DND_MPI_CHECK(
          MPI_Isend(&acks_out[static_cast<size_t>(q)], 1, MPI_INT64_T, q, kTagAck, comm.get(), &r));
      desc_reqs.push_back(r);
      if (!pulled) post(false, recvs[q], q);
    }
    // Serve the peers that asked for plain messages.
    for (int k = 1; k < p; ++k) {
      const int q = (me + k) % p;
      if (ack_in_reqs[static_cast<size_t>(q)] == MPI_REQUEST_NULL) continue;
      DND_MPI_CHECK(MPI_Wait(&ack_in_reqs[static_cast<size_t>(q)], MPI_STATUS_IGNORE));
      if (acks_in[static_cast<size_t>(q)] == kAckSendPlease) post(true, sends[q], q);
    }
    reqs.insert(reqs.end(), desc_reqs.begin(), desc_reqs.end());
  }
  // The self block never touches MPI; copying it now overlaps the transfers in flight.
  if (has_data(sends[me]) || has_data(recvs[me])) {
    DND_ASSERT(has_data(sends[me]) && has_data(recvs[me]) && sends[me].numel() == recvs[me].numel(),
               "exchange: self block sizes differ");
    recvs[me].copy_(sends[me].sizes() == recvs[me].sizes() ? sends[me]
                                                           : sends[me].reshape(recvs[me].sizes()));
  }
  if (!reqs.empty())
    DND_MPI_CHECK(MPI_Waitall(static_cast<int>(reqs.size()), reqs.data(), MPI_STATUSES_IGNORE));
  for (MPI_Datatype& t : types) MPI_Type_free(&t);
  for (auto& [buf, dst] : unpack) dst.copy_(buf);
}

}  // namespace dnd
