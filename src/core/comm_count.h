// Bytes moved between ranks, counted by dnd's MPI layer (communicator.h, p2p.h) as it
// hands data to MPI, and the formulas the planner uses for the same collectives, so that
// what `dnd plan` promises and what a run counts are computed by one rule.
//
// What counts: the tensor payloads of exchange, copy_ranges, allreduce_, exscan_,
// broadcast_, alltoall and the point-to-point messages (Requests), to and from other
// ranks; a rank's block to itself is not counted. Control messages of a few words
// (allgather_value(s), allreduce_value, strings, failure votes, the single-copy
// descriptors) are not counted. Where MPI runs the algorithm (a small allreduce, a
// broadcast, an exscan), the bytes are those of the algorithm dnd's own large allreduce
// uses or of a binomial tree, whatever MPI does inside:
//   allreduce of n elements: a reduce-scatter into balanced segments and an allgather;
//   broadcast: a binomial tree rooted at root;
//   exscan: each rank passes its n bytes to the next.
// Parallel HDF5's own aggregation (MPI-IO collective buffering) is not counted.
#pragma once

#include <cstdint>

namespace dnd {

struct CommCount {
  int64_t sent = 0;
  int64_t received = 0;
};

// This rank's totals since start-up (a thread-safe counter; callers take differences).
CommCount comm_count();
// Adds to this rank's totals (the MPI layer calls it).
void count_comm(int64_t sent, int64_t received);

// Rank r's share of an allreduce of `numel` elements of `esize` bytes over p ranks:
// balanced segments (the first numel % p ranks one element more); r receives the other
// ranks' copies of its segment and sends them the reduced one, and sends its copy of
// every other segment to that segment's owner. Sent and received are equal.
inline int64_t allreduce_rank_bytes(int64_t numel, int64_t esize, int p, int r) {
  if (p <= 1 || numel <= 0) return 0;
  const int64_t seg = numel / p + (r < numel % p ? 1 : 0);
  return ((numel - seg) + static_cast<int64_t>(p - 1) * seg) * esize;
}
// The busiest rank's (the largest segment's owner).
inline int64_t allreduce_max_bytes(int64_t numel, int64_t esize, int p) {
  return allreduce_rank_bytes(numel, esize, p, 0);
}

// How many ranks rank r sends to in a binomial broadcast tree over p ranks rooted at root.
inline int64_t binomial_children(int p, int root, int r) {
  const int64_t v = (static_cast<int64_t>(r) - root + p) % p;  // relative rank
  int64_t low = 1;                                             // children are v + 2^k, 2^k > v
  while (low <= v) low <<= 1;
  int64_t n = 0;
  for (int64_t step = low; v + step < p; step <<= 1) ++n;
  return n;
}
// The busiest rank's bytes sent by a broadcast of `bytes` over p ranks (the root's).
inline int64_t broadcast_max_bytes(int64_t bytes, int p) {
  return p <= 1 ? 0 : binomial_children(p, 0, 0) * bytes;
}

}  // namespace dnd
