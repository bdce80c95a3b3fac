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
// Outputs: a save writes to a hidden temporary beside its target (".NAME.dnd-tmp.HOST.PID.
// RAND"); an `Outputs` set collects the temporaries of several saves (several datasets of
// one HDF5 file share one temporary) and commits them together: every rank syncs the
// data (fsync), rank 0 renames each temporary onto its target (rolling back the renames
// already done if one fails) and syncs the directories. Until then no target changes; a
// failed or killed writer leaves only temporaries, which rank 0 holds an open-file-
// description lock on, so that the next save into that directory recognises the ones of
// dead processes (the lock is free) and removes them. SIGTERM and SIGINT remove the
// temporaries of every live set before the process exits. Symlinks are written through
// (the temporary is made beside the link's final target, which is replaced; the link
// stays); an existing target that is not a regular file is refused.
//
// `mode: append` copies the existing HDF5 file into the temporary first (a reflink where
// the file system has them, else an in-kernel copy_file_range: O(file size) time and
// disk space) and adds datasets to the copy, so the file under its final name is at every
// moment either the old one or the complete new one. Replacing one dataset
// (overwrite) unlinks the old one in the copy; its bytes stay unused in the file (HDF5
// does not reclaim space; h5repack does).
#pragma once

#include "src/core/dndarray.h"
#include "src/core/indexing.h"
#include "src/core/types.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
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
  // CSV: the value of an empty (or whitespace-only) field, as numpy.genfromtxt's
  // filling_values (NaN: floating dtypes only; integer dtypes take an integer in range);
  // none: an empty field is an error.
  std::optional<double> missing;
};

// HDF5 attribute values: a bool (h5py's enum), an integer (int64), a float (float64), a
// UTF-8 string (variable length, as h5py writes str), or a 1-D list of integers or floats.
using AttrValue =
    std::variant<bool, int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;
struct Attribute {
  std::string name;
  AttrValue value;
};

// write: the file is written anew (an existing one needs overwrite). append (h5py's "a",
// HDF5 only): the datasets are added to the existing file, if any, keeping the others.
enum class SaveMode { write, append };

struct SaveOptions {
  // HDF5: the dataset's path; groups on the way are created. Empty means "data".
  std::string dataset;
  // write mode: replace an existing file (otherwise an existing target is an error);
  // append mode: replace the dataset if the file already holds one of that name.
  bool overwrite = false;
  SaveMode mode = SaveMode::write;
  // Sync the data before the rename and the directory after it (durable across a power
  // loss); false for scratch data.
  bool sync = true;
  // HDF5: attributes of the dataset.
  std::vector<Attribute> attrs;
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
  std::string layout;         // "contiguous", "chunked", "compact", "virtual", "npy", "csv"
  Shape chunks;               // HDF5 chunk shape (empty unless chunked)
  std::string compression;    // "gzip(4)", "shuffle+gzip(4)", "" for none
  int64_t nbytes = 0;         // logical bytes: numel * itemsize
  int64_t storage_bytes = 0;  // bytes the data occupy in the file
  int64_t data_offset = -1;   // npy / contiguous HDF5: byte offset of the data, else -1
};

// One entry of an HDF5 file's tree (groups and datasets), for listings.
struct Entry {
  std::string path;  // "/", "/group", "/group/data"
  bool is_group = false;
  ArrayInfo info;                                          // datasets only
  std::vector<std::pair<std::string, std::string>> attrs;  // HDF5 attributes: name, value as text
};

// Metadata of one array, read in this process only; needs no MPI (works before or
// without MPI_Init). Throws ValueError for a missing or unreadable file, a missing
// dataset (naming those present), a corrupted or absurd header, TypeError for an
// unsupported element type.
ArrayInfo probe(const std::string& path, const std::string& dataset = "",
                Format format = Format::automatic);
// The same with load's options: the dataset, the format, and for CSV the header lines,
// delimiter and dtype (a CSV's shape needs one pass over the file's lines; its first row
// is parsed too, so that a header line or a wrong delimiter fails here, with a hint).
ArrayInfo probe(const std::string& path, const LoadOptions& o);
// The checks of a CSV load's options that need no file: a CSV dtype, header lines >= 0,
// a missing value of the dtype (NaN for floating dtypes only). ValueError / TypeError
// naming "load PATH".
void check_csv_options(const std::string& path, const LoadOptions& o);
// The shape a load with these slices gives for an array of `shape` (numpy's rules);
// ValueError for a zero step or more slices than axes.
Shape selection_shape(const Shape& shape, const std::vector<Slice>& slices);
// Every group and dataset of an HDF5 file (one entry for npy / CSV). No MPI.
std::vector<Entry> list(const std::string& path, Format format = Format::automatic);
// The same with load's options (a CSV's header lines, delimiter, dtype, missing).
std::vector<Entry> list(const std::string& path, const LoadOptions& o);

// Collective over comm: the array in `path`, split as asked (balanced blocks).
DNDarray load(const std::string& path, const LoadOptions& o = {},
              const Communicator& comm = Communicator::world());

// Collective over a's communicator: writes a to `path` (see the header comment for the
// temporary-file protocol) and commits it. CSV takes 1-D and 2-D arrays.
void save(const DNDarray& a, const std::string& path, const SaveOptions& o = {});

// Where a save of `path` writes (no MPI): the absolute path with symlinks followed
// (those of the final name too: the link's target is replaced, the link stays), and what
// is there now: "" (nothing), "file", "directory", "character device", "block device",
// "FIFO", "socket". Relative paths resolve against the working directory.
struct OutputTarget {
  std::string path;
  std::string kind;
};
OutputTarget resolve_output(const std::string& path);
// The same rule for a file to read (missing files resolve too), so that a load and a
// save of one file under two spellings meet.
std::string resolve_path(const std::string& path);

// Collective: the outputs of one run, committed together (see the header comment).
class Outputs {
 public:
  explicit Outputs(const Communicator& comm, bool sync = true);
  // Without commit(): every rank removes the temporaries (no communication).
  ~Outputs();
  Outputs(const Outputs&) = delete;
  Outputs& operator=(const Outputs&) = delete;

  // Collective: writes `a` into the temporary of `path` (created at the first save of
  // that file). o.sync is ignored (the set's own). A second save of the same dataset, or
  // of an npy / CSV file, or a save of another mode or format into a file already
  // written, is a ValueError.
  void save(const DNDarray& a, const std::string& path, const SaveOptions& o);
  // Collective: the file a load of `path` reads to see what this set wrote (its
  // temporary), or `path` itself when the set did not write it.
  std::string read_path(const std::string& path) const;
  // Collective: syncs (when asked), renames every temporary onto its target, syncs the
  // directories. A failure (agreed on every rank) leaves every target as it was.
  void commit();
  bool empty() const;
  // Rank 0: one line per directory in which temporaries of dead processes were removed.
  const std::vector<std::string>& notes() const;

  struct State;

 private:
  std::unique_ptr<State> s_;
};

// Removes the temporaries of every live Outputs of this process (no communication);
// for a rank about to abort the job.
void remove_temporaries() noexcept;

}  // namespace dnd::io
