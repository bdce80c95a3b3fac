// Outputs that never lose data (io::Outputs): several datasets per HDF5 file, append and
// overwrite of one dataset, attributes, all-or-nothing commits with injected faults,
// symlinks written through, special files refused, leftovers of dead writers removed.
#include "io/io.h"

#include "src/core/error.h"
#include "src/core/factories.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace dnd;
using dnd::testing::expect_global;
using dnd::testing::sample;

namespace {

namespace fs = std::filesystem;

// A fresh directory of its own for this test and rank count.
std::string fresh_dir(const std::string& name) {
  const Communicator w = Communicator::world();
  const char* d = std::getenv("DND_IO_FIXTURES");
  const std::string dir = fmt::format("{}/outputs_np{}/{}", d ? d : "io_fixtures", w.size(), name);
  if (w.rank() == 0) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  barrier(w);
  return dir;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

int temporaries(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".dnd-tmp.") != std::string::npos) ++n;
  return n;
}

template <class E>
std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "(no exception)";
}

io::LoadOptions ds(const std::string& name, Split split = 0) {
  io::LoadOptions o;
  o.dataset = name;
  o.split = split;
  return o;
}

io::SaveOptions in(const std::string& name, bool overwrite = false,
                   io::SaveMode mode = io::SaveMode::write) {
  io::SaveOptions o;
  o.dataset = name;
  o.overwrite = overwrite;
  o.mode = mode;
  return o;
}

struct FaultEnv {
  explicit FaultEnv(const char* v) { setenv("DND_TEST_FAULT", v, 1); }
  ~FaultEnv() { unsetenv("DND_TEST_FAULT"); }
};

}  // namespace

TEST(IoOutputs, SeveralDatasetsInOneFileCommittedOnce) {
  const std::string dir = fresh_dir("two");
  const std::string path = dir + "/model.h5";
  const at::Tensor c = sample({5, 3}, at::kFloat, 1), l = sample({11}, at::kLong, 2),
                   e = sample({0, 4}, at::kDouble);
  {
    io::Outputs out(Communicator::world());
    out.save(array(c, 0), path, in("centroids"));
    out.save(array(l, 0), path, in("/fit/labels"));  // the group is created
    out.save(array(e, 1), path, in("fit/empty"));
    barrier(Communicator::world());
    EXPECT_FALSE(fs::exists(path));  // nothing under the final name before the commit
    EXPECT_EQ(temporaries(dir), 1);  // one temporary for the file
    // A load planned from the run reads the temporary.
    io::LoadOptions lo = ds("centroids", 1);
    lo.format = io::Format::hdf5;  // the temporary's name has no extension to go by
    expect_global(io::load(out.read_path(path), lo), c);
    const std::string twice =
        error_of<ValueError>([&] { out.save(array(c, 0), path, in("centroids")); });
    EXPECT_NE(twice.find("dataset /centroids of"), std::string::npos) << twice;
    EXPECT_NE(twice.find("already written by this run"), std::string::npos) << twice;
    out.commit();
  }
  for (Split s : dnd::testing::all_splits(2)) expect_global(io::load(path, ds("centroids", s)), c);
  expect_global(io::load(path, ds("fit/labels")), l);
  expect_global(io::load(path, ds("fit/empty", 1)), e);
  EXPECT_EQ(temporaries(dir), 0);
}

TEST(IoOutputs, AppendKeepsOtherDatasetsAndReplacesOne) {
  const Communicator w = Communicator::world();
  const std::string dir = fresh_dir("append");
  const std::string path = dir + "/data.h5";
  const at::Tensor a = sample({7, 2}, at::kDouble, 3), b = sample({4}, at::kInt, 4),
                   b2 = sample({6, 6}, at::kFloat, 5);
  io::save(array(a, 0), path, in("a"));
  io::save(array(b, 0), path, in("grp/b", false, io::SaveMode::append));
  expect_global(io::load(path, ds("a")), a);
  expect_global(io::load(path, ds("grp/b")), b);
  // An existing dataset needs overwrite, and then only that one changes.
  const std::string refused = error_of<ValueError>(
      [&] { io::save(array(b2, 0), path, in("grp/b", false, io::SaveMode::append)); });
  EXPECT_NE(refused.find("already holds a dataset /grp/b; set overwrite"), std::string::npos) << refused;
  expect_global(io::load(path, ds("grp/b")), b);
  io::save(array(b2, 1), path, in("grp/b", true, io::SaveMode::append));
  expect_global(io::load(path, ds("a", 1)), a);
  expect_global(io::load(path, ds("grp/b", 1)), b2);
  // Append creates a missing file (h5py's "a"); append to a non-HDF5 file is refused.
  io::save(array(a, 0), dir + "/new.h5", in("x", false, io::SaveMode::append));
  expect_global(io::load(dir + "/new.h5", ds("x")), a);
  if (w.rank() == 0) std::ofstream(dir + "/text.h5") << "not hdf5";
  barrier(w);
  const std::string bad = error_of<ValueError>(
      [&] { io::save(array(a, 0), dir + "/text.h5", in("x", false, io::SaveMode::append)); });
  EXPECT_NE(bad.find("it is not an HDF5 file"), std::string::npos) << bad;
  EXPECT_EQ(read_all(dir + "/text.h5"), "not hdf5");
  EXPECT_EQ(temporaries(dir), 0);
}

TEST(IoOutputs, AttributesAreWrittenAndListed) {
  const std::string dir = fresh_dir("attrs");
  const std::string path = dir + "/a.h5";
  io::SaveOptions o = in("x");
  o.attrs = {{"units", std::string("m/s")},
             {"scale", 2.5},
             {"count", int64_t{3}},
             {"ok", true},
             {"dims", std::vector<int64_t>{4, 5}},
             {"w", std::vector<double>{0.5, 1}}};
  io::save(array(sample({4, 5}, at::kFloat), 0), path, o);
  std::map<std::string, std::string> got;
  for (const io::Entry& e : io::list(path))
    if (e.path == "/x")
      for (const auto& [k, v] : e.attrs) got[k] = v;
  EXPECT_EQ(got["units"], "\"m/s\"");
  EXPECT_EQ(got["scale"], "2.5");
  EXPECT_EQ(got["count"], "3");
  EXPECT_EQ(got["ok"], "true");
  EXPECT_EQ(got["dims"], "[4, 5]");
  EXPECT_EQ(got["w"], "[0.5, 1]");
  EXPECT_EQ(got["dnd_split"], "0");
}

TEST(IoOutputs, FailedCommitChangesNothing) {
  const Communicator w = Communicator::world();
  const std::string dir = fresh_dir("fault");
  const std::string old_file = dir + "/old.h5", new_file = dir + "/new.npy";
  io::save(array(sample({3, 3}, at::kFloat), 0), old_file, in("data"));
  const std::string before = read_all(old_file);
  for (const char* point : {"commit-start", "commit-mid"}) {
    FaultEnv fault(point);
    const std::string msg = error_of<Error>([&] {
      io::Outputs out(w);
      out.save(array(sample({4, 2}, at::kFloat, 7), 0), old_file, in("data", true));
      out.save(array(sample({5}, at::kLong, 8), 0), new_file, in(""));
      out.commit();
    });
    EXPECT_NE(msg.find(std::string("injected fault (DND_TEST_FAULT=") + point), std::string::npos)
        << msg;
    barrier(w);
    EXPECT_EQ(read_all(old_file), before) << point;
    EXPECT_FALSE(fs::exists(new_file)) << point;
    EXPECT_EQ(temporaries(dir), 0) << point;
  }
  // The same set commits without the fault; both files change together.
  io::Outputs out(w);
  out.save(array(sample({4, 2}, at::kFloat, 7), 0), old_file, in("data", true));
  out.save(array(sample({5}, at::kLong, 8), 0), new_file, in(""));
  out.commit();
  expect_global(io::load(old_file, ds("data")), sample({4, 2}, at::kFloat, 7));
  expect_global(io::load(new_file, ds("")), sample({5}, at::kLong, 8));
}

TEST(IoOutputs, SymlinksAreWrittenThroughAndSpecialFilesRefused) {
  const Communicator w = Communicator::world();
  const std::string dir = fresh_dir("links");
  const std::string target = dir + "/real/target.npy", link = dir + "/link.npy";
  if (w.rank() == 0) {
    fs::create_directories(dir + "/real");
    std::ofstream(target) << "old";
    fs::create_symlink("real/target.npy", link);
    ::mkfifo((dir + "/fifo.npy").c_str(), 0644);
  }
  barrier(w);
  EXPECT_EQ(io::resolve_output(link).path, fs::absolute(target).lexically_normal().string());
  io::save(array(sample({6}, at::kFloat), 0), link, in("", true));
  barrier(w);
  EXPECT_TRUE(fs::is_symlink(link));
  expect_global(io::load(target), sample({6}, at::kFloat));
  EXPECT_EQ(temporaries(dir + "/real"), 0);
  for (const std::string& special : {std::string("/dev/null"), dir + "/fifo.npy", dir + "/real"}) {
    const std::string msg = error_of<ValueError>([&] {
      io::SaveOptions o = in("", true);
      o.format = io::Format::npy;
      io::save(array(sample({6}, at::kFloat), 0), special, o);
    });
    EXPECT_NE(msg.find("not a regular file; it is never replaced"), std::string::npos)
        << special << ": " << msg;
  }
  struct stat st {};
  EXPECT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_TRUE(fs::is_fifo(dir + "/fifo.npy"));
  EXPECT_EQ(io::resolve_output(dir + "/fifo.npy").kind, "FIFO");
  EXPECT_EQ(io::resolve_output("/dev/null").kind, "character device");
}

TEST(IoOutputs, LeftoversOfDeadWritersAreRemovedLiveOnesKept) {
  const Communicator w = Communicator::world();
  const std::string dir = fresh_dir("stale");
  // A dead writer's temporary: nobody holds its lock.
  const std::string stale = dir + "/.x.h5.dnd-tmp.somehost.99999999.0abc";
  if (w.rank() == 0) std::ofstream(stale) << std::string(1000, 'x');
  barrier(w);
  io::Outputs live(w);  // a live writer's temporary in the same directory
  live.save(array(sample({3}, at::kFloat), 0), dir + "/live.npy", in(""));
  barrier(w);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_EQ(temporaries(dir), 1);
  if (w.rank() == 0) {
    ASSERT_EQ(live.notes().size(), 1u);
    EXPECT_NE(live.notes()[0].find("removed 1 temporary of killed runs from"), std::string::npos)
        << live.notes()[0];
    EXPECT_NE(live.notes()[0].find(".x.h5.dnd-tmp.somehost.99999999.0abc"), std::string::npos);
  }
  io::save(array(sample({3}, at::kFloat), 0), dir + "/other.npy",
           in(""));  // scans again: the live one stays
  barrier(w);
  EXPECT_EQ(temporaries(dir), 1);
  live.commit();
  expect_global(io::load(dir + "/live.npy"), sample({3}, at::kFloat));
  EXPECT_EQ(temporaries(dir), 0);
}

TEST(IoOutputs, ModesAndFormatsMustAgree) {
  const std::string dir = fresh_dir("modes");
  io::Outputs out(Communicator::world());
  out.save(array(sample({3}, at::kFloat), 0), dir + "/a.npy", in(""));
  std::string msg =
      error_of<ValueError>([&] { out.save(array(sample({3}, at::kFloat), 0), dir + "/a.npy", in("")); });
  EXPECT_NE(msg.find("a npy file holds one array"), std::string::npos) << msg;
  out.save(array(sample({3}, at::kFloat), 0), dir + "/b.h5", in("x"));
  msg = error_of<ValueError>([&] {
    out.save(array(sample({3}, at::kFloat), 0), dir + "/b.h5", in("y", false, io::SaveMode::append));
  });
  EXPECT_NE(msg.find("is written in mode write by an earlier save"), std::string::npos) << msg;
  msg = error_of<ValueError>([&] {
    out.save(array(sample({3}, at::kFloat), 0), dir + "/c.npy", in("", false, io::SaveMode::append));
  });
  EXPECT_NE(msg.find("mode append adds datasets to an HDF5 file"), std::string::npos) << msg;
}
