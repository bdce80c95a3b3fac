#include "src/pipeline/watchdog.h"

#include "src/core/communicator.h"

#include <mpi.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace dnd::pipeline {

namespace {

using Clock = std::chrono::steady_clock;

struct Peer {
  int rank;  // in the watch's communicator
  pid_t pid;
  unsigned long long start;  // its start time (/proc/PID/stat): a reused pid is another process
};

// One watch per process: the SIGTERM handler reaches it through these globals, and only
// through async-signal-safe calls (no allocation, no locks, no stdio).
std::vector<Peer> g_peers;  // the other ranks of this node, by rank; fixed while armed
// A rank that leaves the steps early on purpose (an error it will report, a stop request)
// tells its peers first, so that its exit is not taken for a death: one datagram to each
// peer's socket in the abstract namespace (gone with its process: nothing to clean up).
int g_sock = -1;
std::vector<char> g_leaving;  // per peer: it said it leaves
int g_rank = 0;
MPI_Comm g_comm = MPI_COMM_NULL;  // the watch's communicator, for finish()
char g_host[256] = "?";
std::atomic<bool> g_armed{false};
std::atomic<bool> g_ending{false};
std::atomic<const char*> g_step{nullptr};
std::atomic<bool> g_reported{false};
struct sigaction g_old_term {};

std::mutex g_mu;
std::condition_variable g_cv;
bool g_stop_thread = false;
std::thread g_thread;

// ---- async-signal-safe pieces ---------------------------------------------------------

struct Buf {
  char s[1024];
  size_t n = 0;
  void add(const char* t) {
    while (*t && n + 1 < sizeof(s)) s[n++] = *t++;
  }
  void add(long long v) {
    char d[24];
    int k = 0;
    const bool neg = v < 0;
    unsigned long long u =
        neg ? 0ULL - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
    do {
      d[k++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u && k < 23);
    if (neg) d[k++] = '-';
    while (k && n + 1 < sizeof(s)) s[n++] = d[--k];
  }
};

// What /proc/PID/stat says of a process: whether it exists, its state letter and its
// start time (clock ticks after boot, field 22).
struct ProcStat {
  bool exists = false;
  char state = '?';
  unsigned long long start = 0;
};

ProcStat proc_stat(pid_t pid) {
  ProcStat r;
  Buf path;
  path.add("/proc/");
  path.add(static_cast<long long>(pid));
  path.add("/stat");
  path.s[path.n] = 0;
  const int fd = ::open(path.s, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return r;
  char st[1024];
  const ssize_t got = ::read(fd, st, sizeof(st) - 1);
  ::close(fd);
  if (got <= 0) return r;
  // "pid (comm) S ppid ...": the fields after the last ')' are separated by spaces.
  ssize_t i = -1;
  for (ssize_t k = 0; k < got; ++k)
    if (st[k] == ')') i = k;
  if (i < 0 || i + 2 >= got) return r;
  r.exists = true;
  r.state = st[i + 2];
  int field = 3;  // the state's
  for (i += 2; i < got && field < 22; ++i)
    if (st[i] == ' ') ++field;
  for (; i < got && st[i] >= '0' && st[i] <= '9'; ++i)
    r.start = r.start * 10 + static_cast<unsigned>(st[i] - '0');
  return r;
}

// Gone, a zombie nobody reaped yet, or its pid now another process's.
bool dead(const Peer& p) {
  if (::kill(p.pid, 0) == -1 && errno == ESRCH) return true;
  const ProcStat s = proc_stat(p.pid);
  if (!s.exists) return errno == ENOENT;
  return s.state == 'Z' || s.state == 'X' || s.start != p.start;
}

// The abstract socket address of a rank's watch ("\0dnd-watch.PID.START").
socklen_t watch_address(sockaddr_un& a, pid_t pid, unsigned long long start) {
  std::memset(&a, 0, sizeof(a));
  a.sun_family = AF_UNIX;
  Buf n;
  n.add("dnd-watch.");
  n.add(static_cast<long long>(pid));
  n.add(".");
  n.add(static_cast<long long>(start));
  std::memcpy(a.sun_path + 1, n.s, std::min(n.n, sizeof(a.sun_path) - 1));
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n.n);
}

// Tells every peer that this rank ends on purpose: "L" (it leaves the steps early: an
// error, a stop), "T" (the launcher terminates it) or "R" (it reported a dead peer and
// ends), and the rank. Async-signal-safe.
void send_notes(char kind) {
  if (g_sock < 0) return;
  Buf note;
  const char k[2] = {kind, 0};
  note.add(k);
  note.add(static_cast<long long>(g_rank));
  for (const Peer& p : g_peers) {
    sockaddr_un to{};
    const socklen_t len = watch_address(to, p.pid, p.start);
    ::sendto(g_sock, note.s, note.n, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to), len);
  }
}

// Reads the peers' notes ("L", "T" or "R", and the rank: send_notes).
void drain_notes() {
  if (g_sock < 0) return;
  char m[32];
  for (;;) {
    const ssize_t got = ::recv(g_sock, m, sizeof(m), MSG_DONTWAIT);
    if (got <= 0) return;
    if (m[0] != 'L' && m[0] != 'T' && m[0] != 'R') continue;
    // R: a peer printed the message (not twice). L: a peer left the steps for an error it
    // reports itself (or a stop): the launcher then ends the job, its ranks in any order
    // and not always by SIGTERM, which is no news either.
    if (m[0] == 'R' || m[0] == 'L') g_reported.store(true);
    long long r = 0;
    for (ssize_t i = 1; i < got && m[i] >= '0' && m[i] <= '9'; ++i) r = r * 10 + (m[i] - '0');
    for (size_t i = 0; i < g_peers.size(); ++i)
      if (g_peers[i].rank == r) g_leaving[i] = 1;
  }
}

// The first peer that died without saying it leaves, or nullptr.
const Peer* dead_peer() {
  drain_notes();
  for (size_t i = 0; i < g_peers.size(); ++i)
    if (!g_leaving[i] && dead(g_peers[i])) return &g_peers[i];
  return nullptr;
}

// The lowest surviving rank of this node speaks for it.
bool speaks() {
  for (size_t i = 0; i < g_peers.size(); ++i)
    if (g_peers[i].rank < g_rank && !g_leaving[i] && !dead(g_peers[i])) return false;
  return true;
}

// Prints the message when this rank speaks for the node and nobody printed it yet; true
// when it printed.
bool report(const Peer& p) {
  drain_notes();
  if (g_reported.load() || !speaks() || g_reported.exchange(true)) return false;
  Buf m;
  m.add("dnd run: error: rank ");
  m.add(static_cast<long long>(p.rank));
  m.add(" (pid ");
  m.add(static_cast<long long>(p.pid));
  m.add(" on ");
  m.add(g_host);
  m.add(") died");
  if (const char* step = g_step.load()) {
    m.add(" ");
    m.add(step);
  }
  m.add(
      " (killed by a signal: SIGKILL, or the out-of-memory killer?); the other ranks end now."
      " The checkpoints written before stay valid: `dnd run --resume` continues from them\n");
  ssize_t off = 0;
  while (off < static_cast<ssize_t>(m.n)) {
    const ssize_t w = ::write(STDERR_FILENO, m.s + off, m.n - static_cast<size_t>(off));
    if (w <= 0) break;
    off += w;
  }
  return true;
}

void on_term(int sig) {
  const int saved = errno;
  // The launcher ends the ranks one by one after a death (or another rank's abort): the
  // survivors must not take this rank's end for news.
  if (g_armed.load()) send_notes('T');
  if (g_armed.load() && !g_ending.load())
    if (const Peer* p = dead_peer())
      if (report(*p)) send_notes('R');
  // Then the launcher's intent: end as SIGTERM would have.
  ::sigaction(SIGTERM, &g_old_term, nullptr);
  errno = saved;
  ::raise(sig);
}

// ---- the watching thread ---------------------------------------------------------------

constexpr auto kPoll = std::chrono::milliseconds(500);
// At the end, a peer that exited is taken for dead only when the others waited this long
// for it at the final barrier.
constexpr auto kEndGrace = std::chrono::seconds(10);

void watch_loop() {
  Clock::time_point ending_since{};
  std::unique_lock<std::mutex> lock(g_mu);
  while (!g_stop_thread) {
    g_cv.wait_for(lock, kPoll);
    if (g_stop_thread || !g_armed.load()) continue;
    if (g_ending.load()) {
      if (ending_since == Clock::time_point{}) ending_since = Clock::now();
      if (Clock::now() - ending_since < kEndGrace) continue;
    }
    if (const Peer* p = dead_peer()) {
      const bool spoke = report(*p);
      send_notes(spoke ? 'R' : 'T');  // this rank's exit is not news either
      // Give the rank that speaks a moment to be heard before the launcher ends it.
      if (!spoke) std::this_thread::sleep_for(std::chrono::seconds(1));
      std::_Exit(1);
    }
  }
}

}  // namespace

PeerWatch::PeerWatch(const Communicator& comm) {
  g_peers.clear();
  g_rank = comm.rank();
  g_step.store(nullptr);
  g_ending.store(false);
  g_reported.store(false);
  g_comm = comm.size() > 1 ? comm.get() : MPI_COMM_NULL;
  if (comm.size() == 1) return;
  MPI_Comm local = MPI_COMM_NULL;
  if (MPI_Comm_split_type(comm.get(), MPI_COMM_TYPE_SHARED, comm.rank(), MPI_INFO_NULL, &local) !=
      MPI_SUCCESS)
    return;
  int nlocal = 1;
  MPI_Comm_size(local, &nlocal);
  const long long mine[3] = {comm.rank(), static_cast<long long>(::getpid()),
                             static_cast<long long>(proc_stat(::getpid()).start)};
  // The socket for the peers' notes, bound before the allgather: once it returns, every
  // peer's socket exists, and a note sent after that cannot be lost.
  g_sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un me{};
  const socklen_t len = watch_address(me, ::getpid(), static_cast<unsigned long long>(mine[2]));
  const bool bound = g_sock >= 0 && ::bind(g_sock, reinterpret_cast<const sockaddr*>(&me), len) == 0;
  std::vector<long long> all(3 * static_cast<size_t>(nlocal));
  const int rc = MPI_Allgather(mine, 3, MPI_LONG_LONG, all.data(), 3, MPI_LONG_LONG, local);
  MPI_Comm_free(&local);
  if (rc != MPI_SUCCESS) {
    if (g_sock >= 0) ::close(g_sock);
    g_sock = -1;
    return;
  }
  for (int i = 0; i < nlocal; ++i) {
    const Peer p{static_cast<int>(all[3 * i]), static_cast<pid_t>(all[3 * i + 1]),
                 static_cast<unsigned long long>(all[3 * i + 2])};
    if (p.rank == comm.rank()) continue;
    // Watched only when this rank sees that very process: a peer in another pid namespace
    // (a container per rank) is left to the launcher.
    const ProcStat seen = proc_stat(p.pid);
    if (seen.exists && p.start != 0 && seen.start == p.start) g_peers.push_back(p);
  }
  if (g_peers.empty() || !bound) {
    // Without the notes an error on a peer would read as its death: watch nobody.
    if (g_sock >= 0) ::close(g_sock);
    g_sock = -1;
    g_peers.clear();
    return;
  }
  g_leaving.assign(g_peers.size(), 0);
  ::gethostname(g_host, sizeof(g_host) - 1);
  struct sigaction sa {};
  sa.sa_handler = on_term;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, &g_old_term);
  g_stop_thread = false;
  g_armed.store(true);
  g_thread = std::thread(watch_loop);
}

PeerWatch::~PeerWatch() {
  if (!g_thread.joinable()) return;
  if (g_armed.load()) send_notes('L');  // before finish(): an exception (an error, a stop)
  g_armed.store(false);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_stop_thread = true;
  }
  g_cv.notify_all();
  g_thread.join();
  ::sigaction(SIGTERM, &g_old_term, nullptr);
  ::close(g_sock);
  g_sock = -1;
  g_peers.clear();
  g_leaving.clear();
}

void PeerWatch::at_step(const char* label) { g_step.store(label); }

void PeerWatch::finish() {
  // Every rank of the communicator takes part, watched or not (a rank alone on its node
  // watches nobody, but its peers elsewhere wait for it here).
  if (g_comm == MPI_COMM_NULL) return;
  g_ending.store(true);
  // Not MPI_Barrier: the watch goes on while this rank waits.
  MPI_Request req = MPI_REQUEST_NULL;
  if (MPI_Ibarrier(g_comm, &req) == MPI_SUCCESS) {
    int done = 0;
    for (int spins = 0; !done; ++spins) {
      if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) break;
      if (!done && spins > 100) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  g_armed.store(false);
  g_comm = MPI_COMM_NULL;
}

}  // namespace dnd::pipeline
