// GoogleTest main for dnd: starts MPI through dnd::Runtime, runs every test on every
// rank, lets rank 0 alone print the usual report, prints failures of the other ranks
// prefixed with their rank, and fails on every rank if any rank failed (DLAF's
// gtest_mpi_listener, simplified).
#include "src/core/communicator.h"
#include "src/core/runtime.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

namespace {

class RankFailurePrinter : public testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  // The name is recorded here: asking gtest for the current test inside
  // OnTestPartResult would take a lock gtest already holds there (a deadlock).
  void OnTestStart(const testing::TestInfo& info) override {
    test_ = std::string(info.test_suite_name()) + "." + info.name();
  }
  void OnTestPartResult(const testing::TestPartResult& r) override {
    if (!r.failed()) return;
    fmt::print(stderr, "[rank {}] {} failed at {}:{}\n{}\n", rank_, test_,
               r.file_name() ? r.file_name() : "?", r.line_number(), r.message());
  }

 private:
  int rank_;
  std::string test_;
};

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  dnd::Runtime runtime(&argc, &argv);
  const dnd::Communicator world = dnd::Communicator::world();
  auto& listeners = testing::UnitTest::GetInstance()->listeners();
  if (world.rank() != 0) {
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(world.rank()));
  }
  const int local = RUN_ALL_TESTS();
  const int64_t failed_ranks =
      dnd::allreduce_value(world, static_cast<int64_t>(local != 0), dnd::ReduceOp::sum);
  if (world.rank() == 0 && failed_ranks > 0)
    fmt::print(stderr, "FAILED on {} of {} ranks (other ranks' failures are printed with [rank N])\n",
               failed_ranks, world.size());
  return failed_ranks > 0 ? 1 : 0;
}
