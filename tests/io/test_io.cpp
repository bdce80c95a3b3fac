// Parallel I/O at any rank count: files written by h5py / numpy (fixtures made by
// tests/io/make_fixtures.py at test time) read exactly, round trips of every dtype and
// split through HDF5, .npy and CSV, slices pushed into reads, and every bad-file case
// failing with the same clear error on every rank.
#include "io/io.h"

#include "src/core/distribution.h"
#include "src/core/error.h"
#include "src/core/factories.h"
#include "src/core/manipulation.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

using namespace dnd;
using dnd::testing::expect_global;
using dnd::testing::sample;

namespace {

namespace fs = std::filesystem;

const std::vector<at::ScalarType> kDtypes = {
    at::kBool, at::kByte,  at::kChar,   at::kShort,        at::kInt,
    at::kLong, at::kFloat, at::kDouble, at::kComplexFloat, at::kComplexDouble};

std::string fixtures() {
  const char* d = std::getenv("DND_IO_FIXTURES");
  return d ? d : "io_fixtures";
}
std::string fx(const std::string& name) { return fixtures() + "/" + name; }

// A directory of its own for this rank count (ctest runs the counts side by side).
std::string scratch() {
  const Communicator w = Communicator::world();
  const std::string d = fmt::format("{}/out_np{}", fixtures(), w.size());
  if (w.rank() == 0) fs::create_directories(d);
  barrier(w);
  return d;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Temporary files of saves left in a directory.
int leftovers(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".dnd-tmp.") != std::string::npos) ++n;
  return n;
}

// Expects fn to throw E on every rank with the same message containing `needle`.
template <class E>
void expect_error(const std::function<void()>& fn, const std::string& needle) {
  std::string msg = "(no exception)";
  try {
    fn();
  } catch (const E& e) {
    msg = e.what();
  } catch (const std::exception& e) {
    msg = std::string("wrong exception type: ") + e.what();
  }
  EXPECT_NE(msg.find(needle), std::string::npos)
      << "message: " << msg << "\nexpected to contain: " << needle;
  const Communicator w = Communicator::world();
  const auto h = static_cast<int64_t>(std::hash<std::string>{}(msg) >> 1);
  EXPECT_EQ(allreduce_value(w, h, ReduceOp::min), allreduce_value(w, h, ReduceOp::max))
      << "ranks disagree; this rank says: " << msg;
}

io::LoadOptions opts(const std::string& dataset, Split split) {
  io::LoadOptions o;
  o.dataset = dataset;
  o.split = split;
  return o;
}

// `full` indexed by explicit index lists per axis (the slices' expected selections).
at::Tensor pick(at::Tensor full, const std::vector<std::vector<int64_t>>& idx) {
  for (size_t d = 0; d < idx.size(); ++d)
    full = full.index_select(static_cast<int64_t>(d), at::tensor(idx[d], at::kLong));
  return full.contiguous();
}

}  // namespace

TEST(IoHdf5, EveryDtypeAndSplitFromH5py) {
  for (at::ScalarType t : kDtypes)
    for (const std::string& prefix : {"", "gzip/"})
      for (Split s : dnd::testing::all_splits(2)) {
        const DNDarray a = io::load(fx("types.h5"), opts(prefix + dtype_name(t), s));
        EXPECT_EQ(a.split(), s);
        EXPECT_TRUE(a.is_balanced());
        expect_global(a, sample({7, 5}, t), 0, 0, prefix + dtype_name(t));
      }
}

TEST(IoHdf5, ShapesLayoutsAndPaths) {
  for (Split s : dnd::testing::all_splits(3)) {
    expect_global(io::load(fx("types.h5"), opts("shuffled", s)), sample({9, 4, 3}, at::kDouble, 1));
    expect_global(io::load(fx("types.h5"), opts("/cube", s)), sample({4, 3, 5}, at::kDouble, 2));
  }
  for (Split s : dnd::testing::all_splits(1))
    expect_global(io::load(fx("types.h5"), opts("vec", s)), sample({11}, at::kLong, 3));
  for (Split s : dnd::testing::all_splits(2)) {
    expect_global(io::load(fx("types.h5"), opts("empty", s)), at::zeros({0, 3}, at::kFloat));
    expect_global(io::load(fx("types.h5"), opts("big_endian", s)), sample({7, 5}, at::kDouble));
    expect_global(io::load(fx("types.h5"), opts("group/sub/deep", s)), sample({6, 2}, at::kInt, 4));
  }
  expect_global(io::load(fx("types.h5"), opts("scalar", kReplicated)),
                at::scalar_tensor(2.5, at::kDouble));
  // The only dataset of a file needs no name.
  expect_global(io::load(fx("single.h5"), opts("", 0)), sample({5, 3}, at::kFloat, 5));
}

TEST(IoHdf5, SlicesArePushedIntoTheRead) {
  // cube is 4 x 3 x 5: rows 1:4, every other column, the last axis backwards by 2.
  std::vector<Slice> sl{Slice{1, 4, std::nullopt}, Slice{std::nullopt, std::nullopt, 2},
                        Slice{-1, 0, -2}};
  const at::Tensor want = pick(sample({4, 3, 5}, at::kDouble, 2), {{1, 2, 3}, {0, 2}, {4, 2}});
  for (const std::string& file : {"types.h5", "cube.npy"})
    for (Split s : dnd::testing::all_splits(3)) {
      io::LoadOptions o = opts("cube", s);
      o.slices = sl;
      const DNDarray a = io::load(fx(file), o);
      EXPECT_TRUE(a.is_balanced());
      expect_global(a, want, 0, 0, file);
    }
  // A single column of a compressed dataset; an empty selection.
  for (Split s : dnd::testing::all_splits(2)) {
    io::LoadOptions o = opts("gzip/int64", s);
    o.slices = {Slice{}, Slice{3, 4, std::nullopt}};
    expect_global(io::load(fx("types.h5"), o), sample({7, 5}, at::kLong).narrow(1, 3, 1));
    o.slices = {Slice{5, 2, std::nullopt}};
    expect_global(io::load(fx("types.h5"), o), at::zeros({0, 5}, at::kLong));
  }
  io::LoadOptions bad = opts("cube", 0);
  bad.slices = {Slice{}, Slice{}, Slice{}, Slice{}};
  expect_error<ValueError>([&] { io::load(fx("types.h5"), bad); },
                           "4 slices given for an array of shape (4, 3, 5)");
  bad.slices = {Slice{0, 2, 0}};
  expect_error<ValueError>([&] { io::load(fx("types.h5"), bad); }, "step of axis 0 cannot be zero");
}

TEST(IoHdf5, BadFilesFailAlikeOnEveryRank) {
  const std::string h5 = fx("types.h5");
  expect_error<ValueError>([&] { io::load(fx("missing.h5"), opts("x", 0)); }, "No such file");
  expect_error<ValueError>([&] { io::load(h5, opts("nope", 0)); }, "no dataset '/nope'");
  expect_error<ValueError>([&] { io::load(h5, opts("group/nope/x", 0)); },
                           "'/group/nope' does not exist");
  expect_error<ValueError>([&] { io::load(h5, opts("group/sub", 0)); }, "is a group, not a dataset");
  expect_error<ValueError>([&] { io::load(h5, opts("", 0)); }, "datasets (");
  expect_error<TypeError>([&] { io::load(h5, opts("strings", 0)); },
                          "element type string is not supported");
  expect_error<TypeError>([&] { io::load(h5, opts("uint16", 0)); },
                          "element type uint16 is not supported");
  expect_error<ValueError>([&] { io::load(fx("not_hdf5.h5"), opts("x", 0)); }, "is not an HDF5 file");
  expect_error<ValueError>([&] { io::load(fx("truncated.h5"), opts("int64", 0)); }, "truncated");
  expect_error<ValueError>([&] { io::load(h5, opts("scalar", 0)); }, "a 0-d array cannot be split");
  expect_error<ValueError>([&] { io::load(h5, opts("cube", 3)); }, "axis");
  expect_error<ValueError>([&] { io::load(fx("types.txt.gz"), opts("x", 0)); },
                           "cannot tell the format");
  // lzf is h5py's own filter: a plain libhdf5 cannot decode it (a correct read if it can).
  try {
    expect_global(io::load(fx("lzf.h5"), opts("x", 0)), sample({8, 8}, at::kFloat));
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("lzf, which this HDF5 library cannot decode"),
              std::string::npos)
        << e.what();
  }
}

TEST(IoNpy, EveryDtypeAndSplitFromNumpy) {
  for (at::ScalarType t : kDtypes)
    for (Split s : dnd::testing::all_splits(2))
      expect_global(io::load(fx(dtype_name(t) + ".npy"), opts("", s)), sample({7, 5}, t), 0, 0,
                    dtype_name(t));
  expect_global(io::load(fx("scalar.npy"), opts("", kReplicated)), at::scalar_tensor(2.5, at::kDouble));
}

TEST(IoNpy, BadFilesFailAlikeOnEveryRank) {
  expect_error<ValueError>([&] { io::load(fx("missing.npy"), opts("", 0)); }, "No such file");
  expect_error<ValueError>([&] { io::load(fx("fortran.npy"), opts("", 0)); }, "Fortran-order");
  expect_error<TypeError>([&] { io::load(fx("uint16.npy"), opts("", 0)); },
                          "numpy dtype '<u2' is not supported");
  expect_error<TypeError>([&] { io::load(fx("big_endian.npy"), opts("", 0)); }, "big-endian");
  expect_error<ValueError>([&] { io::load(fx("truncated.npy"), opts("", 0)); }, "the file is truncated");
  expect_error<ValueError>([&] { io::load(fx("absurd.npy"), opts("", 0)); }, "absurdly large");
  expect_error<ValueError>([&] { io::load(fx("terabytes.npy"), opts("", 0)); }, "the file is truncated");
  expect_error<ValueError>([&] { io::load(fx("huge_header.npy"), opts("", 0)); },
                           "claims 2147483648 header bytes");
  expect_error<ValueError>([&] { io::load(fx("garbage_header.npy"), opts("", 0)); },
                           "corrupted .npy header");
  expect_error<ValueError>([&] { io::load(fx("not_npy.npy"), opts("", 0)); }, "bad magic");
}

TEST(IoRoundTrip, EveryDtypeSplitAndFormat) {
  const std::string dir = scratch();
  for (const std::string& ext : {"h5", "npy"})
    for (at::ScalarType t : kDtypes)
      // Every shape for one dtype of each kind, a few shapes for the others.
      for (const Shape& shape :
           t == at::kFloat || t == at::kLong || t == at::kBool || t == at::kComplexDouble
               ? dnd::testing::test_shapes()
               : std::vector<Shape>{{7, 5}, {3}, {}, {0, 3}})
        for (Split s : dnd::testing::all_splits(static_cast<int64_t>(shape.size()))) {
          const at::Tensor full = sample(shape, t, 3);
          const DNDarray a = array(full, s);
          const std::string path = fmt::format("{}/rt.{}", dir, ext);
          io::SaveOptions so;
          so.overwrite = true;
          so.dataset = "g/x";
          io::save(a, path, so);
          // Read back split another way.
          const Split back = shape.empty() ? kReplicated : Split(static_cast<int64_t>(shape.size()) - 1);
          const std::string ctx =
              fmt::format("{} {} {} split {}", ext, dtype_name(t), shape_str(shape), split_str(s));
          expect_global(io::load(path, opts("g/x", back)), full, 0, 0, ctx);
          expect_global(io::load(path, opts("g/x", kReplicated)), full, 0, 0, ctx);
        }
  // Unbalanced inputs, chunked and compressed HDF5.
  const at::Tensor full = sample({23, 6}, at::kFloat, 1);
  for (int64_t axis : {0, 1}) {
    io::SaveOptions so;
    so.overwrite = true;
    so.compression = 6;
    io::save(dnd::testing::unbalanced(full, axis), dir + "/u.h5", so);
    io::save(dnd::testing::unbalanced(full, axis), dir + "/u.npy", so);
    so.chunks = {5, 4};
    io::save(dnd::testing::unbalanced(full, axis), dir + "/c.h5", so);
    for (Split s : dnd::testing::all_splits(2)) {
      expect_global(io::load(dir + "/u.h5", opts("data", s)), full);
      expect_global(io::load(dir + "/u.npy", opts("", s)), full);
      expect_global(io::load(dir + "/c.h5", opts("data", s)), full);
    }
    const io::ArrayInfo i = io::probe(dir + "/c.h5", "data");
    EXPECT_EQ(i.layout, "chunked");
    EXPECT_EQ(i.chunks, (Shape{5, 4}));
    EXPECT_EQ(i.compression, "gzip(6)");
    EXPECT_EQ(io::probe(dir + "/u.h5", "data").compression, "gzip(6)");
  }
}

TEST(IoRoundTrip, StridedSelectionsOfLargerFiles) {
  // Rows of 8 KB: the sparse paths of the strided reader (row by row, windows) run.
  const std::string dir = scratch();
  const at::Tensor full = at::arange(300 * 1000, at::kDouble).reshape({300, 1000});
  for (Split s : {Split(0), Split(1)}) {
    io::SaveOptions so;
    so.overwrite = true;
    io::save(array(full, s), dir + "/big.npy", so);
    io::save(array(full, s), dir + "/big.h5", so);
  }
  struct Case {
    std::vector<Slice> sl;
    at::Tensor want;
  };
  const std::vector<Case> cases = {
      {{Slice{}, Slice{5, 6, std::nullopt}}, full.narrow(1, 5, 1)},
      {{Slice{7, 290, 3}, Slice{1, 999, 97}}, full.slice(0, 7, 290, 3).slice(1, 1, 999, 97)},
      {{Slice{std::nullopt, std::nullopt, 150}}, full.slice(0, 0, 300, 150)},
      {{Slice{10, 20, std::nullopt}, Slice{100, 900, std::nullopt}},
       full.slice(0, 10, 20).slice(1, 100, 900)},
      {{Slice{-1, -300, -7}}, pick(full, {[] {
                                     std::vector<int64_t> v;
                                     for (int64_t i = 299; i > 0; i -= 7) v.push_back(i);
                                     return v;
                                   }()})},
  };
  for (const std::string& f : {"big.npy", "big.h5"})
    for (const Case& c : cases)
      for (Split s : dnd::testing::all_splits(2)) {
        io::LoadOptions o = opts("data", s);
        o.slices = c.sl;
        expect_global(io::load(dir + "/" + f, o), c.want.contiguous(), 0, 0, f);
      }
}

TEST(IoCsv, NumpyFilesAndRoundTrips) {
  for (Split s : dnd::testing::all_splits(2)) {
    io::LoadOptions o = opts("", s);
    o.header_lines = 1;
    o.delimiter = ';';
    o.dtype = at::kDouble;
    expect_global(io::load(fx("floats.csv"), o), sample({13, 4}, at::kDouble, 6));
    o.slices = {Slice{-2, 0, -3}, Slice{1, 3, std::nullopt}};
    expect_global(io::load(fx("floats.csv"), o),
                  pick(sample({13, 4}, at::kDouble, 6), {{11, 8, 5, 2}, {1, 2}}));
    io::LoadOptions i = opts("", s);
    i.dtype = at::kLong;
    expect_global(io::load(fx("ints.csv"), i), sample({10, 3}, at::kLong, 7));
  }
  const std::string dir = scratch();
  for (at::ScalarType t : kDtypes) {
    if (at::isComplexType(t)) continue;
    for (const Shape& shape : {Shape{9, 4}, Shape{2, 3}, Shape{1, 1}, Shape{6}, Shape{0, 0}})
      for (Split s : dnd::testing::all_splits(static_cast<int64_t>(shape.size()))) {
        const at::Tensor full = sample(shape, t, 2);
        io::SaveOptions so;
        so.overwrite = true;
        so.header = "# written by dnd";
        so.delimiter = '\t';
        io::save(array(full, s), dir + "/rt.csv", so);
        io::LoadOptions o = opts("", 0);
        o.header_lines = 1;
        o.delimiter = '\t';
        o.dtype = t;
        const at::Tensor want = shape.size() == 1 ? full.reshape({shape[0], 1}) : full;
        expect_global(io::load(dir + "/rt.csv", o), want, 0, 0, dtype_name(t) + " " + shape_str(shape));
      }
  }
  io::LoadOptions i = opts("", 0);
  i.dtype = at::kLong;
  expect_error<ValueError>([&] { io::load(fx("ragged.csv"), i); },
                           "line 3: 2 fields where line 1 has 3");
  expect_error<ValueError>([&] { io::load(fx("words.csv"), i); },
                           "line 2: 'x' is not a valid int64 (field 2)");
  i.dtype = at::kComplexFloat;
  expect_error<TypeError>([&] { io::load(fx("ints.csv"), i); }, "CSV does not hold complex64");
  expect_error<TypeError>(
      [&] {
        io::save(array(sample({2, 2}, at::kComplexFloat), 0), dir + "/c.csv");
      },
      "CSV does not hold complex64");
  expect_error<ValueError>(
      [&] {
        io::save(array(sample({2, 2, 2}, at::kFloat), 0), dir + "/c.csv");
      },
      "CSV holds 1-D or 2-D arrays");
}

// Empty fields read as LoadOptions::missing (numpy.genfromtxt's filling_values), else an
// error; a header line or another delimiter fails with the option that fixes it.
TEST(IoCsv, MissingValuesAndHints) {
  // missing.csv (make_fixtures.py): 40 rows, field (i, j) empty where (3i + j) % 5 == 0.
  const at::Tensor values = at::arange(120, at::kDouble).reshape({40, 3});
  const at::Tensor empty = (at::arange(120, at::kLong) % 5 == 0).reshape({40, 3});
  for (Split s : dnd::testing::all_splits(2)) {
    io::LoadOptions o = opts("", s);
    o.dtype = at::kDouble;
    o.missing = std::nan("");
    expect_global(io::load(fx("missing.csv"), o), values.masked_fill(empty, std::nan("")));
    o.dtype = at::kLong;
    o.missing = -1;
    expect_global(io::load(fx("missing.csv"), o), values.to(at::kLong).masked_fill(empty, -1));
    EXPECT_EQ(io::probe(fx("missing.csv"), o).shape, (Shape{40, 3}));
    o.dtype = at::kFloat;
    o.missing = 2.5;
    o.slices = {Slice{1, 3, std::nullopt}};
    expect_global(io::load(fx("missing.csv"), o),
                  values.masked_fill(empty, 2.5).narrow(0, 1, 2).to(at::kFloat));
  }
  io::LoadOptions o = opts("", 0);
  o.dtype = at::kDouble;
  const std::string no_fill = "line 1: field 1 is empty (missing: nan reads empty fields as NaN)";
  expect_error<ValueError>([&] { io::load(fx("missing.csv"), o); }, no_fill);
  expect_error<ValueError>([&] { io::probe(fx("missing.csv"), o); }, no_fill);
  o.dtype = at::kInt;
  expect_error<ValueError>([&] { io::load(fx("missing.csv"), o); },
                           "(missing: 0 reads empty fields as 0)");
  o.missing = std::nan("");
  for (const auto& fn : std::vector<std::function<void()>>{
           [&] { io::load(fx("missing.csv"), o); }, [&] { io::probe(fx("missing.csv"), o); },
           [&] { io::check_csv_options("missing.csv", o); }})
    expect_error<ValueError>(fn, "missing: nan cannot fill int32 values (NaN is not an integer)");
  o.dtype = at::kChar;
  o.missing = 1000;
  expect_error<ValueError>([&] { io::load(fx("missing.csv"), o); },
                           "missing: 1000 is not a value of int8");
  o.missing = 0.5;
  expect_error<ValueError>([&] { io::load(fx("missing.csv"), o); },
                           "missing: 0.5 is not a value of int8");

  // floats.csv: a header line "a;b;c;d" over ';'-separated values, read with the defaults.
  const std::string hints =
      "line 1: 'a;b;c;d' is not a valid float32 (field 1); the fields look separated by ';': set "
      "delimiter: ';'; if line 1 is a header, skip it with header: 1";
  io::LoadOptions d = opts("", 0);
  expect_error<ValueError>([&] { io::load(fx("floats.csv"), d); }, hints);
  expect_error<ValueError>([&] { io::probe(fx("floats.csv"), d); }, hints);
  d.delimiter = ';';
  expect_error<ValueError>(
      [&] { io::probe(fx("floats.csv"), d); },
      "line 1: 'a' is not a valid float32 (field 1); if line 1 is a header, skip it "
      "with header: 1");
  d.delimiter = ',';
  d.header_lines = 1;
  expect_error<ValueError>([&] { io::load(fx("floats.csv"), d); }, "set delimiter: ';'");
  expect_error<ValueError>(
      [&] { io::probe(fx("tabs.csv"), opts("", 0)); },
      "line 1: '1\t2' is not a valid float32 (field 1); the fields look tab-separated: "
      "set delimiter: tab");
  // A bad value after the first row: no header hint.
  io::LoadOptions w = opts("", 0);
  w.dtype = at::kLong;
  expect_error<ValueError>(
      [&] {
        try {
          io::load(fx("words.csv"), w);
        } catch (const ValueError& e) {
          EXPECT_EQ(std::string(e.what()).find("header"), std::string::npos) << e.what();
          throw;
        }
      },
      "line 2: 'x' is not a valid int64 (field 2)");
}

TEST(IoSave, NeverReplacesOrLeavesPartialFiles) {
  const Communicator w = Communicator::world();
  const std::string dir = scratch() + "/safety";
  if (w.rank() == 0) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  barrier(w);
  const DNDarray a = array(sample({6, 4}, at::kFloat), 0);
  const DNDarray b = array(sample({6, 4}, at::kFloat, 9), 1);
  for (const std::string& ext : {"h5", "npy", "csv"}) {
    const std::string path = dir + "/out." + ext;
    io::save(a, path);
    const std::string before = read_all(path);
    expect_error<ValueError>([&] { io::save(b, path); }, "exists; set overwrite to replace it");
    EXPECT_EQ(read_all(path), before);
    io::SaveOptions so;
    so.overwrite = true;
    io::save(b, path, so);
    expect_global(io::load(path, opts("data", 0)), sample({6, 4}, at::kFloat, 9), 0, 0, ext);
  }
  // A failure after the temporary file exists (HDF5 refuses the dataset name): no
  // target, no temporary left.
  io::SaveOptions bad;
  bad.dataset = "/";
  expect_error<ValueError>([&] { io::save(a, dir + "/failed.h5", bad); }, "cannot create the dataset");
  bad.dataset = "x";
  bad.chunks = {2};
  expect_error<ValueError>([&] { io::save(a, dir + "/failed.h5", bad); }, "chunks (2,) do not match");
  barrier(w);
  EXPECT_FALSE(fs::exists(dir + "/failed.h5"));
  EXPECT_EQ(leftovers(dir), 0);
  // Missing directories are created.
  io::save(a, dir + "/new/sub/out.npy");
  expect_global(io::load(dir + "/new/sub/out.npy"), sample({6, 4}, at::kFloat));
  if (w.rank() == 0) fs::create_directories(dir + "/folder.h5");
  barrier(w);
  expect_error<ValueError>([&] { io::save(a, dir + "/folder.h5"); },
                           "folder.h5 is a directory, not a regular file");
}

TEST(IoHdf5, H5pyReadsWhatDndWrites) {
  const Communicator w = Communicator::world();
  const char* py = std::getenv("DND_PYTHON");
  if (!py) GTEST_SKIP() << "DND_PYTHON not set";
  const std::string dir = scratch();
  std::string files;
  for (at::ScalarType t : kDtypes) {
    io::SaveOptions so;
    so.overwrite = true;
    so.dataset = "a/b";
    io::save(array(sample({5, 3}, t, 4), 0), fmt::format("{}/for_h5py_{}.h5", dir, dtype_name(t)), so);
    files += " " + dtype_name(t);
  }
  // h5py reads them and numpy writes them back as .npy: dtypes and values must survive.
  int rc = 0;
  if (w.rank() == 0) {
    const std::string cmd = fmt::format(
        "{} -c \"import h5py, numpy, sys\n"
        "for t in sys.argv[2:]:\n"
        "  d = h5py.File(sys.argv[1] + '/for_h5py_' + t + '.h5', 'r')['a/b']\n"
        "  assert d.dtype == numpy.dtype(t), (t, d.dtype)\n"
        "  assert d.attrs['dnd_split'] == 0\n"
        "  numpy.save(sys.argv[1] + '/from_h5py_' + t + '.npy', d[()])\n\" {}{}",
        py, dir, files);
    rc = std::system(cmd.c_str());
  }
  EXPECT_EQ(allreduce_value(w, int64_t{rc}, ReduceOp::max), 0);
  for (at::ScalarType t : kDtypes)
    expect_global(io::load(fmt::format("{}/from_h5py_{}.npy", dir, dtype_name(t)), opts("", 1)),
                  sample({5, 3}, t, 4), 0, 0, dtype_name(t));
}

TEST(IoProbe, MetadataOnly) {
  const io::ArrayInfo c = io::probe(fx("types.h5"), "gzip/int16");
  EXPECT_EQ(c.shape, (Shape{7, 5}));
  EXPECT_EQ(c.dtype, at::kShort);
  EXPECT_EQ(c.layout, "chunked");
  EXPECT_EQ(c.chunks, (Shape{3, 2}));
  EXPECT_EQ(c.compression, "gzip(4)");
  EXPECT_EQ(c.nbytes, 70);
  const io::ArrayInfo b = io::probe(fx("types.h5"), "bool");
  EXPECT_EQ(b.dtype, at::kBool);
  EXPECT_EQ(b.layout, "contiguous");
  EXPECT_GT(b.data_offset, 0);
  const io::ArrayInfo n = io::probe(fx("complex128.npy"));
  EXPECT_EQ(n.shape, (Shape{7, 5}));
  EXPECT_EQ(n.dtype, at::kComplexDouble);
  EXPECT_EQ(n.data_offset % 64, 0);
  io::LoadOptions o;
  o.header_lines = 1;
  o.delimiter = ';';
  EXPECT_EQ(io::probe(fx("floats.csv"), o).shape, (Shape{13, 4}));
  EXPECT_EQ(io::selection_shape({4, 3, 5}, {Slice{1, 4, std::nullopt}, Slice{}, Slice{-1, 0, -2}}),
            (Shape{3, 3, 2}));
  const auto entries = io::list(fx("types.h5"));
  bool group = false, deep = false, strings = false;
  for (const io::Entry& e : entries) {
    group = group || (e.path == "/group/sub" && e.is_group);
    deep = deep || (e.path == "/group/sub/deep" && !e.is_group && e.info.shape == Shape{6, 2});
    strings = strings || (e.path == "/strings" && !e.info.supported && e.info.type == "string");
  }
  EXPECT_TRUE(group && deep && strings);
  EXPECT_THROW(io::probe(fx("missing.h5"), "x"), ValueError);
  EXPECT_THROW(io::probe(fx("types.h5"), "strings"), TypeError);
  EXPECT_THROW(io::probe(fx("absurd.npy")), ValueError);
}
