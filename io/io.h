// Parallel file I/O for DNDarrays: HDF5 (parallel HDF5 over MPI-IO), .npy and CSV.
//
// | format | load                                         | save                              |
// |--------|----------------------------------------------|-----------------------------------|
// | HDF5   | each rank reads its hyperslab (collective for | collective hyperslab writes;      |
// |        | contiguous data, independent for chunked)     | optional chunks + gzip            |
// | .npy   | each rank reads its byte runs with MPI-IO     | collective MPI-IO writes          |
// | CSV    | each rank parses a byte range cut at lines    | each rank formats its rows; one   |
// |        |                                               | collective write at known offsets |
//
// Loads read row blocks (axis 0) and resplit in memory when asked for a split along a
// later axis, since strided column reads of row-major files are slow. Slices are pushed
// into the read: only the selected elements' bytes are read (whole rows of small
// selections may be read and cut in memory).
//
// Every error about the file (missing file or dataset, wrong type, truncated or
// corrupted data, an absurd header) is a dnd::ValueError or dnd::TypeError thrown alike
// on every rank: rank 0 reads the metadata first and every rank agrees on failures
// before the next collective step.
//
// save writes to a hidden temporary file beside the target and renames it once every
// rank has finished; a failure leaves no partial file and the old file (if any) intact.
#pragma once

#include "src/core/dndarray.h"
#include "src/core/indexing.h"
#include "src/core/types.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dnd::io {

enum class Format { automatic, hdf5, npy, csv };

// "hdf5", "npy", "csv" ("auto" for automatic).
std::string format_name(Format f);
// Parses "hdf5"/"h5", "npy", "csv", "auto"; throws ValueError otherwise.
Format parse_format(const std::string& name);
// The format of a path from its extension: .h5 .hdf5 .hdf .nc .nc4 .he5 -> hdf5, .npy,
// .csv/.txt -> csv. Throws ValueError naming the path when the extension is unknown.
Format format_of(const std::string& path, Format explicit_format = Format::automatic);

struct LoadOptions {
  // HDF5: the dataset's path in the file ("group/sub/data"); empty: the file's only
  // dataset. Ignored by npy and CSV.
  std::string dataset;
  Split split = kReplicated;
  // Per-axis numpy slices (start, stop, step; negative steps allowed) of the leading
  // axes; missing axes are taken whole. Only the selection is read.
  std::vector<Slice> slices;
  Format format = Format::automatic;
  // CSV: lines to skip at the top, the field delimiter, and the element type.
  int64_t header_lines = 0;
  char delimiter = ',';
  Dtype dtype = kDefaultDtype;
};

struct SaveOptions {
  // HDF5: the dataset's path; groups on the way are created. Empty means "data".
  std::string dataset;
  // Replace an existing file (otherwise an existing target is an error).
  bool overwrite = false;
  Format format = Format::automatic;
  // HDF5: chunk shape (empty: contiguous, or an automatic chunk shape when compressing)
  // and gzip level 0-9 (0: none).
  Shape chunks;
  int compression = 0;
  // CSV: field delimiter and an optional first line (written verbatim, no newline needed).
  char delimiter = ',';
  std::string header;
};

// What a file holds, from its metadata alone.
struct ArrayInfo {
  Format format = Format::automatic;
  std::string dataset;  // HDF5 path ("/group/data"); empty for npy/CSV
  Shape shape;
  // dnd's dtype when supported; `type` always describes the file's element type
  // ("float32", "int64", "string", "uint16", ">f8", ...).
  bool supported = false;
  Dtype dtype = kDefaultDtype;
  std::string type;
  std::string layout;       // "contiguous", "chunked", "compact", "virtual", "npy", "csv"
  Shape chunks;             // HDF5 chunk shape (empty unless chunked)
  std::string compression;  // "gzip(4)", "shuffle+gzip(4)", "" for none
  int64_t nbytes = 0;       // logical bytes: numel * itemsize
  int64_t storage_bytes = 0;  // bytes the data occupy in the file
  int64_t data_offset = -1;   // npy / contiguous HDF5: byte offset of the data, else -1
};

// One entry of an HDF5 file's tree (groups and datasets), for listings.
struct Entry {
  std::string path;  // "/", "/group", "/group/data"
  bool is_group = false;
  ArrayInfo info;  // datasets only
};

// Metadata of one array, read in this process only; needs no MPI (works before or
// without MPI_Init). Throws ValueError for a missing or unreadable file, a missing
// dataset (naming those present), a corrupted or absurd header, TypeError for an
// unsupported element type.
ArrayInfo probe(const std::string& path, const std::string& dataset = "",
                Format format = Format::automatic);
// The same with load's options: the dataset, the format, and for CSV the header lines,
// delimiter and dtype (a CSV's shape needs one pass over the file's lines).
ArrayInfo probe(const std::string& path, const LoadOptions& o);
// The shape a load with these slices gives for an array of `shape` (numpy's rules);
// ValueError for a zero step or more slices than axes.
Shape selection_shape(const Shape& shape, const std::vector<Slice>& slices);
// Every group and dataset of an HDF5 file (one entry for npy / CSV). No MPI.
std::vector<Entry> list(const std::string& path, Format format = Format::automatic);

// Collective over comm: the array in `path`, split as asked (balanced blocks).
DNDarray load(const std::string& path, const LoadOptions& o = {}, const Communicator& comm = Communicator::world());

// Collective over a's communicator: writes a to `path` (see the header comment for the
// temporary-file protocol). CSV takes 1-D and 2-D arrays.
void save(const DNDarray& a, const std::string& path, const SaveOptions& o = {});

}  // namespace dnd::io
