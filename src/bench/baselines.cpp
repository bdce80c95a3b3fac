#include "src/bench/baselines.h"

#include "src/core/memory.h"
#include "src/core/p2p.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace dnd::bench {

__attribute__((noinline, target_clones("avx512f", "avx2", "default"))) void triad(
    float* __restrict a, const float* __restrict b, const float* __restrict c, float s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

Timing alltoall(const Communicator& comm, int64_t bytes_per_rank, int warmup, int reps) {
  const int p = comm.size();
  const int64_t per_peer = std::max<int64_t>(1, bytes_per_rank / 4 / p);
  at::Tensor sbuf = at::ones({per_peer * p}, at::kFloat), rbuf = at::zeros({per_peer * p}, at::kFloat);
  return measure(comm, warmup, reps, [&] { dnd::alltoall(comm, sbuf, rbuf); });
}

Timing p2p(const Communicator& comm, int64_t bytes, const std::vector<int>& dests,
           const std::vector<int>& srcs, int warmup, int reps) {
  const int64_t n = std::max<int64_t>(1, bytes / 4);
  std::vector<at::Tensor> out, in;
  for (size_t i = 0; i < dests.size(); ++i) out.push_back(at::ones({n}, at::kFloat));
  for (size_t i = 0; i < srcs.size(); ++i) in.push_back(at::empty({n}, at::kFloat));
  return measure(comm, warmup, reps, [&] {
    Requests r;
    for (size_t i = 0; i < srcs.size(); ++i) r.irecv(comm, in[i], srcs[i]);
    for (size_t i = 0; i < dests.size(); ++i) r.isend(comm, out[i], dests[i]);
    r.wait();
  });
}

namespace {

constexpr size_t kPiece = size_t{64} << 20;

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

void plain_write(const std::string& path, const void* data, size_t n) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  check(fd >= 0, "open " + path);
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t done = 0; done < n;) {
    const ssize_t w = ::write(fd, p + done, std::min(kPiece, n - done));
    check(w > 0, "write " + path);
    done += static_cast<size_t>(w);
  }
  ::close(fd);
}

void plain_read(const std::string& path, void* data, size_t n) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  check(fd >= 0, "open " + path);
  auto* p = static_cast<uint8_t*>(data);
  for (size_t done = 0; done < n;) {
    const ssize_t r = ::read(fd, p + done, std::min(kPiece, n - done));
    check(r > 0, "read " + path);
    done += static_cast<size_t>(r);
  }
  ::close(fd);
}

void flush_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  check(fd >= 0, "open " + path);
  check(::fsync(fd) == 0, "fsync " + path);
  ::close(fd);
}

void drop_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  check(fd >= 0, "open " + path);
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

namespace {
int64_t status_kb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return std::stoll(line.substr(std::string(key).size()));
  return -1;
}
}  // namespace

int64_t peak_extra_bytes(const std::function<void()>& fn) {
  memory::release_cached();
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  const int64_t before = status_kb("VmRSS:");
  fn();
  return (status_kb("VmHWM:") - before) * 1024;
}

}  // namespace dnd::bench
