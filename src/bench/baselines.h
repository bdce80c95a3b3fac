// Baselines that benchmark figures are set against, measured in the same run: shared by
// `dnd bench`'s workloads.
#pragma once

#include "src/bench/timing.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dnd::bench {

// STREAM triad a[i] = b[i] + s * c[i]: the memory bandwidth one core reaches. Cloned for
// the widest vector unit the CPU has (torch's kernels dispatch the same way), so the
// baseline is not handicapped by the portable SSE2 default.
void triad(float* a, const float* b, const float* c, float s, int64_t n);

// Collective over comm: MPI_Alltoall in which every rank sends `bytes_per_rank` bytes
// (as float32), an equal share to every rank, itself included.
Timing alltoall(const Communicator& comm, int64_t bytes_per_rank, int warmup, int reps);

// Collective over comm: nonblocking point-to-point messages (core's p2p: MPI_Isend /
// MPI_Irecv) of `bytes` (as float32) to each rank of `dests` and from each of `srcs`, then
// a wait for all: the link bandwidth that halo exchanges and allreduce are set against.
Timing p2p(const Communicator& comm, int64_t bytes, const std::vector<int>& dests,
           const std::vector<int>& srcs, int warmup, int reps);

// Plain sequential file I/O, the baseline of parallel load / save: one process writing
// or reading n bytes with write() / read() in 64 MiB pieces. Throw std::runtime_error
// naming the call and the file.
void plain_write(const std::string& path, const void* data, size_t n);
void plain_read(const std::string& path, void* data, size_t n);
// fsync: a write starts with no dirty pages of an earlier one in flight.
void flush_file(const std::string& path);
// Flushes the file and drops its pages from the page cache (posix_fadvise DONTNEED, no
// root needed), so that the next read comes from the device.
void drop_page_cache(const std::string& path);

// Peak resident bytes while fn runs, above what was resident before it: cached idle
// blocks of dnd's allocator are released first and the kernel's high-water mark is reset.
int64_t peak_extra_bytes(const std::function<void()>& fn);

}  // namespace dnd::bench
