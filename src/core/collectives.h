// Collectives beyond communicator.h's data movement: agreement on failures, strings, an
// idle barrier, and the plain MPI_Alltoall that benchmarks measure exchange() against.
// Each is collective over comm (every rank calls it, in the same order), except where
// FailureVote says otherwise.
//
// communicator.h, this header and p2p.h are dnd's MPI layer: the rest of dnd (kernels,
// the pipeline, the CLI, the benchmarks) reaches MPI only through them; io adds MPI-IO.
#pragma once

#include "src/core/communicator.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace dnd {

// Collective over comm: root's string on every rank (of any length).
void broadcast_string(const Communicator& comm, std::string& s, int root);

// A failure of one rank, as every rank learns it from first_error().
struct RankError {
  int rank = -1;
  std::string message;
};

// Collective over comm: `error` is this rank's failure message, empty for none. Returns,
// on every rank, the lowest rank whose error is not empty, with its message; nullopt
// when no rank failed. One allreduce when nobody failed.
std::optional<RankError> first_error(const Communicator& comm, const std::string& error);

// Collective over comm: runs f on every rank, then agrees: when f threw on some rank,
// every rank throws the same exception: the lowest failing rank's message, as the same
// dnd error kind (ValueError, ShapeError, TypeError, CommError, InternalError; anything
// else as dnd::Error). f must not communicate (a rank that fails must not leave the
// others waiting inside f).
void agree(const Communicator& comm, const std::function<void()>& f);

// Agreement on a failure with a bounded wait, for a program's top level (the dnd
// executable's main): when a step fails, was it on every rank (one message is enough) or
// on some ranks only (the others may be waiting for them in a collective, or be stuck or
// dead, and cannot answer)? Construct it collectively before the work that may fail: it
// holds its own duplicate of comm, so its messages never meet what a failure left in
// flight on comm.
class FailureVote {
 public:
  explicit FailureVote(const Communicator& comm);  // collective over comm
  ~FailureVote();
  FailureVote(const FailureVote&) = delete;
  FailureVote& operator=(const FailureVote&) = delete;
  enum class Outcome {
    every_rank_same,  // every rank failed, all with the same message
    every_rank,       // every rank failed, with different messages
    not_every_rank,   // the wait ran out: some rank did not fail (or is stuck, or dead)
  };
  // Called by a rank that failed, with its message, at most once; the ranks that did not
  // fail never call it. Returns as soon as every rank of comm has called it, or after
  // `wait` at most: never hangs (the vote of a rank that timed out stays posted, so ranks
  // that vote later still complete theirs).
  Outcome vote(const std::string& message, std::chrono::milliseconds wait);

 private:
  Communicator comm_;
  int64_t* buf_;                            // what the vote sends and receives
  MPI_Request pending_ = MPI_REQUEST_NULL;  // a vote that timed out
};

// Collective over comm: a barrier at which ranks wait without spinning (testing every
// `poll`), so that ranks with nothing to do leave the cores to those that work.
void idle_barrier(const Communicator& comm,
                  std::chrono::microseconds poll = std::chrono::milliseconds(2));

// Collective over comm: MPI_Alltoall of equal shares: send and recv are contiguous CPU
// tensors of p equal parts (part q goes to / comes from rank q), of any size. The plain
// MPI baseline that benchmarks put next to exchange(), which is what dnd moves data with.
void alltoall(const Communicator& comm, const at::Tensor& send, at::Tensor& recv);

// Bytes this rank has read from other ranks with single-copy transfers (exchange and
// copy_ranges, see enable_single_copy) since start-up. For tests and benchmarks: a view
// whose runs are too short for single-copy reads travels as an MPI message instead and
// is not counted.
int64_t single_copy_bytes();

}  // namespace dnd
