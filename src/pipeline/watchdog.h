// A rank that dies (SIGKILL, the out-of-memory killer) never reaches the next collective,
// and the ranks waiting in it would wait there forever: srun without --kill-on-bad-exit
// leaves them running, and mpirun's own report names the rank but not the step.
//
// PeerWatch watches the other ranks of this node while the steps run: a thread looks at
// their processes twice a second, and a SIGTERM handler (mpirun and srun send SIGTERM to
// the survivors when a rank dies) looks once more before the process ends. When a peer is
// gone, the lowest surviving rank of the node prints one line naming the dead rank, its
// pid and node, and the step, and every survivor ends (exit 1). Checkpoints written before
// stay valid: they are durable before a step is counted as done (checkpoint.h).
//
// A peer whose process this rank cannot see (another pid namespace: a container per rank)
// is not watched, and a pid that now belongs to another process (by its start time) counts
// as dead. Ranks on other nodes are not watched; the launcher ends them (the job templates run srun
// with --kill-on-bad-exit=1; mpirun ends the job when a rank dies).
#pragma once

namespace dnd {
class Communicator;
}

namespace dnd::pipeline {

class PeerWatch {
 public:
  // Collective over comm. One PeerWatch at a time in a process.
  explicit PeerWatch(const Communicator& comm);
  // Disarms. Before finish() (an error, a stop request: an exception), it first tells the
  // peers of this node that this rank leaves, so that its exit is not taken for a death.
  ~PeerWatch();
  PeerWatch(const PeerWatch&) = delete;
  PeerWatch& operator=(const PeerWatch&) = delete;

  // What this rank does now, for the message ("during step 'c' ..."); the string must
  // outlive the watch.
  void at_step(const char* label);
  // The normal end, on every rank: waits until every rank got here, so that a rank that
  // ends first is not taken for a dead one. A rank that died before the end is still
  // reported (after 10 s without the others).
  void finish();
};

}  // namespace dnd::pipeline
