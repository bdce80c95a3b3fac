// Private helpers shared by the format back-ends (hdf5.cpp, npy.cpp, csv.cpp, io.cpp).
#pragma once

#include "io/io.h"

#include "src/core/collectives.h"
#include "src/core/communicator.h"
#include "src/core/error.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dnd::io::detail {

// One axis of a selection with a positive step: indices start, start + step, ...
// (count of them). Negative numpy steps are read forwards and flipped afterwards.
struct Sel {
  int64_t start = 0;
  int64_t step = 1;
  int64_t count = 0;
  bool full(int64_t extent) const { return start == 0 && step == 1 && count == extent; }
};

struct Selection {
  std::vector<Sel> axes;       // one per axis of the file's array
  std::vector<int64_t> flips;  // axes whose numpy step was negative
  Shape shape() const;
};

// numpy slicing of `shape` by `slices` (leading axes; at most ndim of them). Throws
// ValueError naming `what` for a zero step or too many slices.
Selection select(const Shape& shape, const std::vector<Slice>& slices, const std::string& what);

// agree() and broadcast_string(): core/collectives.h.

// Throws ValueError when `bytes` per rank exceed this node's physical memory (a corrupt
// header claiming a huge shape must not become a huge allocation).
void check_allocation(int64_t bytes, const std::string& what);
// numel * itemsize with overflow checks (ValueError naming `what`).
int64_t checked_nbytes(const Shape& shape, int64_t itemsize, const std::string& what);

int64_t itemsize(Dtype t);

// Test-only fault injection: true when the environment variable DND_TEST_FAULT names
// `point` ("commit-start", "commit-mid", "kill-in-save:R" is handled by Outputs).
bool fault(const char* point);
// The checks of a save's options against its array (format, dtype, shape, chunks,
// compression, mode, attributes), alike on every rank; ValueError / TypeError.
void check_save(const DNDarray& a, const std::string& path, const SaveOptions& o);
// Opens `path` for reading only if it is a regular file: the open is non-blocking (a FIFO
// cannot stall it) and a FIFO, device, socket or directory is refused with ValueError
// ("cannot open 'p': it is a FIFO (named pipe), not a regular file"). Returns the fd
// (blocking again); the caller closes it.
int open_regular(const std::string& path);
// The same check by name (for readers that open the file themselves: HDF5, MPI-IO),
// and unreadable files named as such ("permission denied") before a reader guesses.
void check_regular(const std::string& path);

// Reads `n` bytes at `offset` of an open MPI file (independent, in pieces below 2 GiB);
// a short read is a ValueError ("truncated").
void mpi_read_at(MPI_File f, int64_t offset, void* buf, int64_t n, const std::string& what);
void mpi_write_at(MPI_File f, int64_t offset, const void* buf, int64_t n, const std::string& what);
// MPI_File_open for reading / creating, collective over comm, agreed on failure.
MPI_File mpi_open_read(const std::string& path, const Communicator& comm);
MPI_File mpi_open_write(const std::string& path, const Communicator& comm);
void mpi_close(MPI_File& f);

// Reads the selection `sel` (one Sel per axis of `gshape`) of a row-major array of
// `isize`-byte elements stored from byte `base` into `out` (contiguous, selection
// order). Dense selections are read in large runs; sparse ones run by run (whole rows
// are read and cut in memory when that reads fewer requests, bounded by a small buffer).
using ReadFn = std::function<void(int64_t offset, void* buf, int64_t n)>;
void read_strided(const ReadFn& read, int64_t base, const Shape& gshape, int64_t isize,
                  const std::vector<Sel>& sel, uint8_t* out);

// The axis along which to read a selection of shape `shape` that must end up split as
// `split` over p ranks: the first axis up to the split axis long enough to give every
// rank rows (row blocks of row-major data are contiguous), else the split axis itself.
// None for 0-d arrays.
Split read_axis(const Shape& shape, Split split, int p);

// The selection this rank reads: `sel` with axis `axis` narrowed to the rank's balanced
// block of it (every axis whole along none).
std::vector<Sel> rank_selection(const std::vector<Sel>& sel, Split axis, int rank, int p);

// Back-ends. probe_*: metadata only, no MPI. load_*: collective, metadata already agreed
// (info from rank 0's probe), returns this rank's block of the selection read along
// `axis` (balanced). save_*: collective, writes a (already in the layout the back-end
// wants) to the temporary path.
ArrayInfo probe_hdf5(const std::string& path, const std::string& dataset);
std::vector<Entry> list_hdf5(const std::string& path);
at::Tensor load_hdf5(const std::string& path, const ArrayInfo& info, const std::vector<Sel>& mine,
                     bool collective, const Communicator& comm);
// create: a new file; else the dataset is added to the existing (temporary) file, an
// existing dataset of that name replaced when o.overwrite, else a ValueError.
void save_hdf5(const DNDarray& a, const std::string& tmp, const SaveOptions& o, bool create);
// Whether `path` starts with HDF5's signature (no MPI).
bool is_hdf5_file(const std::string& path);

ArrayInfo probe_npy(const std::string& path);
at::Tensor load_npy(const std::string& path, const ArrayInfo& info, const std::vector<Sel>& mine,
                    const Communicator& comm);
void save_npy(const DNDarray& a, const std::string& tmp);

ArrayInfo probe_csv(const std::string& path, const LoadOptions& o);
DNDarray load_csv(const std::string& path, const LoadOptions& o, const Communicator& comm);
void save_csv(const DNDarray& a, const std::string& tmp, const SaveOptions& o);

// The block this rank writes: along `axis` (0 when possible) the rows [first, first +
// t.size(axis)), t contiguous on the CPU. Split 0: the rank's block; replicated: a
// balanced share of its copy (so every rank writes); split along a later axis: resplit
// to the first axis long enough to give every rank rows (always 0 when rows_only).
struct Block {
  int64_t axis = 0;
  int64_t first = 0;
  at::Tensor t;
};
Block write_block(const DNDarray& a, bool rows_only);

}  // namespace dnd::io::detail
