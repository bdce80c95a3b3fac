// The output protocol (io.h's header comment): temporaries beside their targets, locked
// by rank 0 so that the next run can tell a dead writer's leftovers from a live one's,
// removed on SIGTERM / SIGINT, synced and renamed together at the commit.
#include "io/io_impl.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

namespace dnd::io {

namespace fs = std::filesystem;
using namespace detail;

namespace detail {

bool fault(const char* point) {
  const char* v = std::getenv("DND_TEST_FAULT");
  if (!v) return false;
  std::stringstream s(v);
  for (std::string item; std::getline(s, item, ',');)
    if (item == point) return true;
  return false;
}

}  // namespace detail

namespace {

constexpr const char* kTmpTag = ".dnd-tmp.";
// The byte range rank 0 locks in its temporaries: far beyond any data, so that MPI-IO's
// own record locks (ROMIO's data sieving) never overlap it.
constexpr off_t kLockOffset = off_t{1} << 62;

std::string kind_of(const struct stat& st) {
  if (S_ISREG(st.st_mode)) return "file";
  if (S_ISDIR(st.st_mode)) return "directory";
  if (S_ISCHR(st.st_mode)) return "character device";
  if (S_ISBLK(st.st_mode)) return "block device";
  if (S_ISFIFO(st.st_mode)) return "FIFO";
  if (S_ISSOCK(st.st_mode)) return "socket";
  return "special file";
}

// ---- temporaries removed on SIGTERM / SIGINT -------------------------------------------

constexpr int kSlots = 256;
char g_paths[kSlots][PATH_MAX];
std::atomic<int> g_used[kSlots];
struct sigaction g_old_term, g_old_int;
std::once_flag g_installed;

void remove_all_registered() noexcept {
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i].load()) ::unlink(g_paths[i]);
}

void on_signal(int sig) {
  remove_all_registered();
  const struct sigaction& old = sig == SIGTERM ? g_old_term : g_old_int;
  if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN && !(old.sa_flags & SA_SIGINFO) &&
      old.sa_handler != on_signal) {
    old.sa_handler(sig);
    return;
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_handlers() {
  std::call_once(g_installed, [] {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGTERM, &sa, &g_old_term);
    sigaction(SIGINT, &sa, &g_old_int);
  });
}

int register_temp(const std::string& path) {
  install_handlers();
  if (path.size() >= PATH_MAX) return -1;
  for (int i = 0; i < kSlots; ++i) {
    if (g_used[i].load()) continue;
    std::memcpy(g_paths[i], path.c_str(), path.size() + 1);
    g_used[i].store(1);
    return i;
  }
  return -1;  // too many live temporaries: they are still removed by the next run
}

void unregister_temp(int slot) {
  if (slot >= 0) g_used[slot].store(0);
}

// ---- leftovers of dead writers ---------------------------------------------------------

// Whether the temporary at `path` belongs to a live process: its lock is held (by any
// process, this one included). Without OFD locks, by the pid in its name on this host.
bool owner_alive(const std::string& path, const std::string& name) {
  const int fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return true;  // not ours to judge
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = kLockOffset;
  fl.l_len = 1;
  const int rc = ::fcntl(fd, F_OFD_SETLK, &fl);
  const int err = errno;
  ::close(fd);  // an OFD lock taken here goes with its descriptor
  if (rc == 0) return false;
  if (err == EAGAIN || err == EACCES) return true;
  // No OFD locks: ".NAME.dnd-tmp.HOST.PID.RAND" of this host with a dead pid is stale.
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const size_t t = name.find(kTmpTag);
  std::stringstream s(name.substr(t + std::strlen(kTmpTag)));
  std::string h, pid;
  std::getline(s, h, '.');
  std::getline(s, pid, '.');
  if (h != host) return true;
  const long p = std::strtol(pid.c_str(), nullptr, 10);
  return p <= 0 || ::kill(static_cast<pid_t>(p), 0) == 0 || errno != ESRCH;
}

// Removes the temporaries of dead writers in `dir`; a line saying so, or "".
std::string remove_stale(const fs::path& dir) {
  std::error_code ec;
  std::vector<std::string> gone;
  int64_t bytes = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() < 2 || name[0] != '.' || name.find(kTmpTag) == std::string::npos) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (owner_alive(it->path().string(), name)) continue;
    if (::unlink(it->path().c_str()) == 0) {
      gone.push_back(name);
      bytes += st.st_size;
    }
  }
  if (gone.empty()) return "";
  std::string list;
  for (size_t i = 0; i < gone.size() && i < 5; ++i) list += (i ? ", " : "") + gone[i];
  if (gone.size() > 5) list += fmt::format(", ... ({} more)", gone.size() - 5);
  return fmt::format("removed {} temporar{} of killed runs from {} ({:.1f} MB): {}", gone.size(),
                     gone.size() == 1 ? "y" : "ies", dir.string(), static_cast<double>(bytes) / 1e6,
                     list);
}

// The old file's bytes into the (empty) temporary: a reflink where the file system can,
// else copy_file_range (in the kernel; server-side on NFS 4.2), else read/write.
void copy_contents(const std::string& from, int to_fd, const std::string& what) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0)
    throw ValueError(
        fmt::format("{}: cannot read '{}' to append to it: {}", what, from, std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{in};
  if (::ioctl(to_fd, FICLONE, in) == 0) return;
  struct stat st {};
  ::fstat(in, &st);
  off_t left = st.st_size;
  bool kernel = true;
  std::vector<char> buf;
  while (left > 0) {
    ssize_t n = -1;
    if (kernel) {
      n = ::copy_file_range(in, nullptr, to_fd, nullptr,
                            static_cast<size_t>(std::min<off_t>(left, off_t{1} << 30)), 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
        kernel = false;
        continue;
      }
    } else {
      buf.resize(8 << 20);
      n = ::read(in, buf.data(), std::min<size_t>(buf.size(), static_cast<size_t>(left)));
      for (ssize_t done = 0; n > 0 && done < n;) {
        const ssize_t w = ::write(to_fd, buf.data() + done, static_cast<size_t>(n - done));
        if (w < 0)
          throw ValueError(fmt::format("{}: copying '{}' failed: {}", what, from, std::strerror(errno)));
        done += w;
      }
    }
    if (n < 0)
      throw ValueError(fmt::format("{}: copying '{}' failed: {}", what, from, std::strerror(errno)));
    if (n == 0) break;
    left -= n;
  }
}

void fsync_path(const std::string& path, int flags, const std::string& what) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0)
    throw ValueError(
        fmt::format("{}: cannot open '{}' to sync it: {}", what, path, std::strerror(errno)));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Directories of some file systems refuse fsync (EINVAL): nothing more can be done.
  if (rc != 0 && !(err == EINVAL && (flags & O_DIRECTORY)))
    throw ValueError(fmt::format("{}: syncing '{}' failed: {}", what, path, std::strerror(err)));
}

}  // namespace

// ---- paths -------------------------------------------------------------------------------

OutputTarget resolve_output(const std::string& path) {
  if (path.empty()) throw ValueError("save: empty output path");
  fs::path p = fs::absolute(fs::path(path)).lexically_normal();
  std::error_code ec;
  for (int hops = 0;; ++hops) {
    // Symlinks of the directories on the way, then of the final name.
    const fs::path parent = fs::weakly_canonical(p.parent_path(), ec);
    if (!ec) p = parent / p.filename();
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return OutputTarget{p.string(), ""};
    if (!S_ISLNK(st.st_mode)) return OutputTarget{p.string(), kind_of(st)};
    if (hops >= 40) throw ValueError(fmt::format("save: '{}': too many levels of symbolic links", path));
    const fs::path to = fs::read_symlink(p, ec);
    if (ec)
      throw ValueError(fmt::format("save: cannot read the link '{}': {}", p.string(), ec.message()));
    p = (to.is_absolute() ? to : p.parent_path() / to).lexically_normal();
  }
}

std::string resolve_path(const std::string& path) { return resolve_output(path).path; }

// ---- the set -----------------------------------------------------------------------------

namespace {

struct Staged {
  std::string target, tmp;
  Format format = Format::hdf5;
  SaveMode mode = SaveMode::write;
  bool existed = false;            // the target was there when staged
  std::set<std::string> datasets;  // written by this set
  int lock_fd = -1;                // rank 0
  int slot = -1;                   // signal registry
};

std::string norm_dataset(const std::string& d) {
  std::string p = d.empty() ? "/data" : d[0] == '/' ? d : "/" + d;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace

struct Outputs::State {
  Communicator comm;
  bool sync = true;
  bool committed = false;
  std::vector<Staged> files;
  std::set<std::string> scanned;  // directories searched for leftovers
  std::vector<std::string> notes;
};

Outputs::Outputs(const Communicator& comm, bool sync) : s_(std::make_unique<State>()) {
  s_->comm = comm;
  s_->sync = sync;
}

Outputs::~Outputs() {
  if (s_->committed) return;
  for (Staged& f : s_->files) {
    if (!f.tmp.empty()) ::unlink(f.tmp.c_str());
    unregister_temp(f.slot);
    if (f.lock_fd >= 0) ::close(f.lock_fd);
  }
}

bool Outputs::empty() const { return s_->files.empty(); }
const std::vector<std::string>& Outputs::notes() const { return s_->notes; }

void Outputs::save(const DNDarray& a, const std::string& path, const SaveOptions& o) {
  State& s = *s_;
  const Communicator& comm = s.comm;
  check_save(a, path, o);
  const Format f = format_of(path, o.format);
  const std::string dataset = f == Format::hdf5 ? norm_dataset(o.dataset) : "";
  const std::string what = "save " + path;

  // Rank 0 resolves the target (its working directory is everybody's) and stages it.
  std::string target;
  agree(comm, [&] {
    if (comm.rank() == 0) target = resolve_output(path).path;
  });
  broadcast_string(comm, target, 0);
  size_t k = 0;
  while (k < s.files.size() && s.files[k].target != target) ++k;
  const bool fresh = k == s.files.size();
  if (!fresh) {
    const Staged& st = s.files[k];
    if (st.format != f || f != Format::hdf5)
      throw ValueError(fmt::format("{}: this run already wrote {} ({}); a {} file holds one array", what,
                                   target, format_name(st.format), format_name(st.format)));
    if (st.mode != o.mode)
      throw ValueError(fmt::format("{}: {} is written in mode {} by an earlier save of this run", what,
                                   target, st.mode == SaveMode::append ? "append" : "write"));
    if (st.datasets.count(dataset))
      throw ValueError(
          fmt::format("{}: dataset {} of {} was already written by this run", what, dataset, target));
  }

  bool create = true;  // HDF5: a new file, else datasets added to the temporary
  if (fresh) {
    Staged st;
    st.target = target;
    st.format = f;
    st.mode = o.mode;
    std::string note;
    agree(comm, [&] {
      if (comm.rank() != 0) return;
      struct stat tst {};
      const bool exists = ::stat(target.c_str(), &tst) == 0;
      if (exists && !S_ISREG(tst.st_mode))
        throw ValueError(fmt::format("{}: {} is a {}, not a regular file; it is never replaced", what,
                                     target, kind_of(tst)));
      if (exists && o.mode == SaveMode::write && !o.overwrite)
        throw ValueError(fmt::format("{}: '{}' exists; set overwrite to replace it", what, path));
      if (exists && o.mode == SaveMode::append && !is_hdf5_file(target))
        throw ValueError(fmt::format("{}: cannot append to {}: it is not an HDF5 file", what, target));
      st.existed = exists;
      const fs::path p(target), dir = p.parent_path();
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (!fs::is_directory(dir))
        throw ValueError(fmt::format("{}: cannot create directory '{}'{}", what, dir.string(),
                                     ec ? ": " + ec.message() : ""));
      if (::access(dir.c_str(), W_OK) != 0)
        throw ValueError(fmt::format("{}: directory '{}' is not writable ({})", what, dir.string(),
                                     std::strerror(errno)));
      if (s.scanned.insert(dir.string()).second) note = remove_stale(dir);
      if (exists && o.mode == SaveMode::write) {
        // The old file is about to be replaced: hand its clean cached pages back first,
        // so that the new file's pages reuse them instead of memory never touched before
        // (slow to fault in on virtual machines). Dirty pages stay; nothing is lost.
        const int fd = ::open(target.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
          ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
          ::close(fd);
        }
      }
      char host[256] = {};
      ::gethostname(host, sizeof host - 1);
      std::string h(host);
      for (char& c : h)
        if (c == '.' || c == '/') c = '_';
      static std::atomic<int> counter{0};
      std::random_device rd;
      st.tmp = (dir / fmt::format(".{}{}{}.{}.{}{:x}", p.filename().string(), kTmpTag, h, getpid(),
                                  counter++, rd()))
                   .string();
      st.lock_fd = ::open(st.tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (st.lock_fd < 0)
        throw ValueError(fmt::format("{}: cannot create '{}': {}", what, st.tmp, std::strerror(errno)));
      struct flock fl {};
      fl.l_type = F_WRLCK;
      fl.l_whence = SEEK_SET;
      fl.l_start = kLockOffset;
      fl.l_len = 1;
      ::fcntl(st.lock_fd, F_OFD_SETLK, &fl);  // best effort: without it, the pid in the name tells
      st.slot = register_temp(st.tmp);
      if (exists && o.mode == SaveMode::append) copy_contents(target, st.lock_fd, what);
    });
    broadcast_string(comm, st.tmp, 0);
    if (comm.rank() != 0) st.slot = register_temp(st.tmp);
    int64_t existed = st.existed;
    existed = allreduce_value(comm, existed, ReduceOp::max);
    st.existed = existed != 0;
    if (!note.empty()) s.notes.push_back(note);
    create = !(st.existed && o.mode == SaveMode::append);
    s.files.push_back(std::move(st));
    k = s.files.size() - 1;
  } else {
    create = false;
  }

  if (const char* v = std::getenv("DND_TEST_FAULT")) {  // test only: this rank dies mid-save
    const std::string kill = fmt::format("kill-in-save:{}", comm.rank());
    if (std::string(v).find(kill) != std::string::npos) ::raise(SIGKILL);
  }
  Staged& st = s.files[k];
  switch (f) {
    case Format::hdf5:
      save_hdf5(a, st.tmp, o, create);
      break;
    case Format::npy:
      save_npy(a, st.tmp);
      break;
    default:
      save_csv(a, st.tmp, o);
      break;
  }
  st.datasets.insert(dataset);
  if (fault("pause-after-save")) ::sleep(60);  // test only: a window to signal the run in
}

std::string Outputs::read_path(const std::string& path) const {
  std::string target;
  agree(s_->comm, [&] {
    if (s_->comm.rank() == 0) target = resolve_output(path).path;
  });
  broadcast_string(s_->comm, target, 0);
  for (const Staged& f : s_->files)
    if (f.target == target) return f.tmp;
  return path;
}

void Outputs::commit() {
  State& s = *s_;
  const Communicator& comm = s.comm;
  agree(comm, [&] {
    if (fault("commit-start"))
      throw Error("injected fault (DND_TEST_FAULT=commit-start) before the commit");
  });
  // Every rank's writes reach the device before any name changes.
  if (s.sync)
    agree(comm, [&] {
      for (const Staged& f : s.files) fsync_path(f.tmp, O_RDONLY, "save " + f.target);
    });
  agree(comm, [&] {
    if (comm.rank() != 0) return;
    struct Done {
      const Staged* f;
      bool replaced;       // the target existed
      std::string backup;  // a hard link to the replaced file, for the roll-back ("": none possible)
    };
    std::vector<Done> done;
    auto roll_back = [&] {
      for (auto it = done.rbegin(); it != done.rend(); ++it) {
        if (it->replaced) {
          if (!it->backup.empty()) ::rename(it->backup.c_str(), it->f->target.c_str());
        } else {
          ::link(it->f->target.c_str(), it->f->tmp.c_str());  // keep the new data as a temporary
          ::unlink(it->f->target.c_str());
        }
      }
    };
    try {
      for (const Staged& f : s.files) {
        const std::string what = "save " + f.target;
        if (!done.empty() && fault("commit-mid"))
          throw Error("injected fault (DND_TEST_FAULT=commit-mid) in the middle of the commit");
        struct stat st {};
        if (::lstat(f.target.c_str(), &st) == 0) {
          if (!S_ISREG(st.st_mode))
            throw ValueError(
                fmt::format("{}: {} became a {}; not replaced", what, f.target, kind_of(st)));
          if (!f.existed)
            throw ValueError(
                fmt::format("{}: '{}' appeared while the run wrote it; not replaced", what, f.target));
          std::string backup = f.tmp + ".old";
          if (::link(f.target.c_str(), backup.c_str()) != 0)
            backup.clear();  // no hard links: no roll-back
          if (::rename(f.tmp.c_str(), f.target.c_str()) != 0) {
            const int err = errno;
            if (!backup.empty()) ::unlink(backup.c_str());
            throw ValueError(
                fmt::format("{}: cannot rename '{}' onto it: {}", what, f.tmp, std::strerror(err)));
          }
          done.push_back({&f, true, backup});
        } else {
          // link() fails when the target appeared meanwhile: never replace a file silently.
          if (::link(f.tmp.c_str(), f.target.c_str()) == 0) {
            ::unlink(f.tmp.c_str());
          } else if (errno == EEXIST) {
            throw ValueError(
                fmt::format("{}: '{}' appeared while the run wrote it; not replaced", what, f.target));
          } else if (::rename(f.tmp.c_str(), f.target.c_str()) !=
                     0) {  // file systems without hard links
            throw ValueError(
                fmt::format("{}: cannot rename '{}' onto it: {}", what, f.tmp, std::strerror(errno)));
          }
          done.push_back({&f, false, ""});
        }
      }
      if (s.sync) {
        std::set<std::string> dirs;
        for (const Staged& f : s.files) dirs.insert(fs::path(f.target).parent_path().string());
        for (const std::string& d : dirs) fsync_path(d, O_RDONLY | O_DIRECTORY, "save into " + d);
      }
    } catch (...) {
      roll_back();
      throw;
    }
    for (const Done& d : done)
      if (!d.backup.empty()) ::unlink(d.backup.c_str());
  });
  s.committed = true;
  for (Staged& f : s.files) {
    unregister_temp(f.slot);
    if (f.lock_fd >= 0) ::close(f.lock_fd);
    f.lock_fd = -1;
  }
}

void remove_temporaries() noexcept { remove_all_registered(); }

}  // namespace dnd::io
