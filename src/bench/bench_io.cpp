// dnd-bench-io: parallel load and save against a plain sequential read / write of the
// same bytes, in one run.
//
//   mpirun -n 2 build/dnd-bench-io [--mib 1024] [--dir DIR] [--repeat 3]
//
// A float32 array of --mib MiB (rows of 1024 values), split along axis 0, is saved to and
// loaded from HDF5 (contiguous) and .npy. The baseline is one process writing the same
// bytes with write() in 64 MiB pieces and reading them back with read(), in the same
// directory. Every figure is GB/s of the array's bytes, median over the repeats, slowest
// rank.
//
// Page cache: a write returns once the bytes are in the page cache, so two write figures
// are given: "cached" (no flush: a save with sync off) and "+fsync" (the file flushed to
// the device inside the timed region: dnd's durable save, data synced before the rename
// and the directory after, against write() + fsync()). Reads are given "warm" (the file still cached
// from the write) and "cold" (its pages dropped with posix_fadvise(DONTNEED) after an fsync, which needs
// no root and works for any clean page, before each timed read). The same rules apply to the baseline
// and to dnd.
#include "src/bench/baselines.h"
#include "src/bench/timing.h"
#include "src/core/factories.h"
#include "src/core/runtime.h"
#include "io/io.h"

#include <ATen/ATen.h>
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

using namespace dnd;

using bench::drop_page_cache;
using bench::flush_file;
using bench::plain_read;
using bench::plain_write;

int main(int argc, char** argv) {
  CLI::App app{"dnd I/O benchmark: parallel load / save vs a plain sequential read / write"};
  int64_t mib = 1024;
  int reps = 3, threads = 1;
  std::string dir = "bench-io-files";
  app.add_option("--mib", mib, "array size in MiB (float32, rows of 1024 values)")
      ->capture_default_str();
  app.add_option("--dir", dir, "directory for the files (removed at the end)")->capture_default_str();
  app.add_option("--repeat", reps, "timed repeats")->capture_default_str();
  app.add_option("--threads", threads, "torch threads per rank")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  Runtime runtime(&argc, &argv, RuntimeOptions{threads, false});
  const Communicator comm = Communicator::world();
  const int p = comm.size(), rank = comm.rank();
  const int64_t cols = 1024, rows = std::max<int64_t>(1, mib * (1 << 20) / (cols * 4));
  const double bytes = static_cast<double>(rows * cols * 4);
  if (rank == 0) std::filesystem::create_directories(dir);
  barrier(comm);

  const DNDarray a = random_uniform({rows, cols}, 7, 0, 1, {0});
  // The baseline's buffer: rank 0 writes and reads the same number of bytes alone.
  at::Tensor buf = rank == 0 ? at::rand({rows, cols}) : at::Tensor();
  const std::string base = dir + "/plain.bin";

  struct Row {
    std::string name;
    double seconds;
    double baseline;
  };
  std::vector<Row> table;
  auto time_it = [&](const std::function<void()>& fn, const std::function<void()>& before = {}) {
    // Untimed preparation (cache dropping) before every repeat, then the timed call.
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) {
      if (before) before();
      t.push_back(bench::measure(comm, 0, 1, fn).median);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  };
  auto on_root = [&](const std::function<void()>& fn) {
    return [&, fn] {
      if (rank == 0) fn();
    };
  };

  // Baselines.
  const auto* data = rank == 0 ? static_cast<const uint8_t*>(buf.data_ptr()) : nullptr;
  auto* rdata = rank == 0 ? static_cast<uint8_t*>(buf.data_ptr()) : nullptr;
  // Writes start with no dirty pages of earlier repeats in flight (flushed, untimed).
  const auto settle = [&](const std::string& path) {
    return on_root([&, path] {
      if (std::filesystem::exists(path)) flush_file(path);
    });
  };
  const double w_base =
      time_it(on_root([&] { plain_write(base, data, static_cast<size_t>(bytes)); }), settle(base));
  const double wf_base = time_it(on_root([&] {
                                   plain_write(base, data, static_cast<size_t>(bytes));
                                   flush_file(base);
                                 }),
                                 settle(base));
  const double rw_base = time_it(on_root([&] { plain_read(base, rdata, static_cast<size_t>(bytes)); }));
  const double rc_base = time_it(on_root([&] { plain_read(base, rdata, static_cast<size_t>(bytes)); }),
                                 on_root([&] { drop_page_cache(base); }));

  for (const std::string ext : {"h5", "npy"}) {
    const std::string path = dir + "/array." + ext;
    io::SaveOptions so;
    so.overwrite = true;
    so.sync = false;
    io::SaveOptions synced = so;
    synced.sync = true;  // dnd's own: fsync of the data before the rename, of the directory after
    io::LoadOptions lo;
    lo.dataset = "data";
    lo.split = 0;
    table.push_back(
        {ext + " save (cached)", time_it([&] { io::save(a, path, so); }, settle(path)), w_base});
    table.push_back(
        {ext + " save +fsync", time_it([&] { io::save(a, path, synced); }, settle(path)), wf_base});
    table.push_back({ext + " load (warm)", time_it([&] { DNDarray b = io::load(path, lo); }), rw_base});
    table.push_back(
        {ext + " load (cold)",
         time_it([&] { DNDarray b = io::load(path, lo); }, on_root([&] { drop_page_cache(path); })),
         rc_base});
  }

  if (rank == 0) {
    fmt::print("dnd-bench-io: {} ranks, {} x {} float32 = {:.0f} MiB, split 0, in {}\n", p, rows, cols,
               bytes / (1 << 20), dir);
    fmt::print("baseline: one process, write()/read() of the same bytes in 64 MiB pieces\n");
    fmt::print("{:<22} {:>10} {:>8} {:>14} {:>8} {:>12}\n", "operation", "median s", "GB/s",
               "baseline s", "GB/s", "vs baseline");
    for (const Row& r : table)
      fmt::print("{:<22} {:>10.3f} {:>8.2f} {:>14.3f} {:>8.2f} {:>11.0f}%\n", r.name, r.seconds,
                 bytes / r.seconds / 1e9, r.baseline, bytes / r.baseline / 1e9,
                 100 * r.baseline / r.seconds);
    std::filesystem::remove_all(dir);
  }
  return 0;
}
