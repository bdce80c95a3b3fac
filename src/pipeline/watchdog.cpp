#include "src/pipeline/watchdog.h"

#include "src/core/communicator.h"

#include <mpi.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
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
};

// One watch per process: the SIGTERM handler reaches it through these globals, which it
// only reads (async-signal-safe: no allocation, no locks, no stdio).
std::vector<Peer> g_peers;  // the other ranks of this node, by rank; fixed while armed
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

// Gone, or a zombie nobody reaped yet.
bool dead(pid_t pid) {
  if (::kill(pid, 0) == -1 && errno == ESRCH) return true;
  Buf path;
  path.add("/proc/");
  path.add(static_cast<long long>(pid));
  path.add("/stat");
  path.s[path.n] = 0;
  const int fd = ::open(path.s, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT;
  char st[512];
  const ssize_t got = ::read(fd, st, sizeof(st) - 1);
  ::close(fd);
  if (got <= 0) return false;
  // "pid (comm) S ...": the state follows the last ')'.
  ssize_t close_paren = -1;
  for (ssize_t i = 0; i < got; ++i)
    if (st[i] == ')') close_paren = i;
  if (close_paren < 0 || close_paren + 2 >= got) return false;
  const char state = st[close_paren + 2];
  return state == 'Z' || state == 'X';
}

// The first dead peer, or nullptr.
const Peer* dead_peer() {
  for (const Peer& p : g_peers)
    if (dead(p.pid)) return &p;
  return nullptr;
}

// The lowest surviving rank of this node speaks for it.
bool speaks() {
  for (const Peer& p : g_peers)
    if (p.rank < g_rank && !dead(p.pid)) return false;
  return true;
}

void report(const Peer& p) {
  if (g_reported.exchange(true) || !speaks()) return;
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
}

void on_term(int sig) {
  const int saved = errno;
  if (g_armed.load() && !g_ending.load())
    if (const Peer* p = dead_peer()) report(*p);
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
      report(*p);
      // Give the rank that speaks a moment to be heard before the launcher ends it.
      if (!speaks()) std::this_thread::sleep_for(std::chrono::seconds(1));
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
  const long long mine[2] = {comm.rank(), static_cast<long long>(::getpid())};
  std::vector<long long> all(2 * static_cast<size_t>(nlocal));
  const int rc = MPI_Allgather(mine, 2, MPI_LONG_LONG, all.data(), 2, MPI_LONG_LONG, local);
  MPI_Comm_free(&local);
  if (rc != MPI_SUCCESS) return;
  for (int i = 0; i < nlocal; ++i)
    if (all[2 * i] != comm.rank())
      g_peers.push_back({static_cast<int>(all[2 * i]), static_cast<pid_t>(all[2 * i + 1])});
  if (g_peers.empty()) return;
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
  g_armed.store(false);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_stop_thread = true;
  }
  g_cv.notify_all();
  g_thread.join();
  ::sigaction(SIGTERM, &g_old_term, nullptr);
  g_peers.clear();
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
