// The communicator itself (src/core/communicator.h, p2p.h): the personalised exchange with
// strided, empty and self blocks on both transfer paths (single-copy reads and plain MPI
// messages), allreduce on bool and on the large-message path, point-to-point messages and
// the kernels' own communicator, the piece loop, and the collectives that agree on
// failures (first_error, agree, FailureVote) and broadcast strings.
#include "src/core/collectives.h"
#include "src/core/communicator.h"
#include "src/core/error.h"
#include "src/core/p2p.h"
#include "tests/support/testing.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

using namespace dnd;

namespace {

// Sets DND_CMA (nullopt: unset) and re-decides single-copy transfers on every rank; the
// destructor restores what the test was started with.
class CmaMode {
 public:
  explicit CmaMode(std::optional<std::string> value) {
    if (const char* e = std::getenv("DND_CMA")) saved_ = e;
    set(value);
  }
  ~CmaMode() { set(saved_); }

 private:
  static void set(const std::optional<std::string>& v) {
    if (v)
      setenv("DND_CMA", v->c_str(), 1);
    else
      unsetenv("DND_CMA");
    enable_single_copy(Communicator::world());
  }
  std::optional<std::string> saved_;
};

// The value rank `from` puts at (i, j) of what it sends to rank `to`: exact in double.
double value(int from, int to, int64_t i, int64_t j) {
  return from * 1e8 + to * 1e6 + static_cast<double>(i) * 1e3 + j;
}

// Pairs of ranks that send each other nothing (at 2 ranks, none).
bool silent(int a, int b) { return (a + b) % 4 == 3; }

at::Tensor expected_block(int from, int to, int64_t rows, int64_t cols) {
  at::Tensor e = at::empty({rows, cols}, at::kDouble);
  auto a = e.accessor<double, 2>();
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) a[i][j] = value(from, to, i, j);
  return e;
}

// Every rank sends rank q a rows x cols block: a strided view of a larger tensor
// (`transposed`: element-strided, too short runs for single-copy reads; else rows of
// cols contiguous elements), received into a strided view too. silent() pairs send nothing to each other
// (undefined tensors one way, empty views the other); the self block goes from a strided view into a
// contiguous tensor of another shape. Returns the bytes this rank read with single-copy transfers.
int64_t exchange_blocks(const Communicator& comm, int64_t rows, int64_t cols, bool transposed) {
  const int p = comm.size(), me = comm.rank();
  // src[q] holds the block for q in its first `cols` columns of 2 * cols.
  at::Tensor src = at::zeros({p, rows, 2 * cols}, at::kDouble);
  for (int q = 0; q < p; ++q) src[q].narrow(1, 0, cols).copy_(expected_block(me, q, rows, cols));
  // dst holds the block from q at dst[:, q, :] (rows apart by p * cols).
  at::Tensor dst = at::full({rows, p, cols}, -1.0, at::kDouble);
  at::Tensor self_dst = at::full({rows * cols}, -1.0, at::kDouble);
  std::vector<at::Tensor> sends(static_cast<size_t>(p)), recvs(static_cast<size_t>(p));
  for (int q = 0; q < p; ++q) {
    const auto k = static_cast<size_t>(q);
    if (q == me) {
      sends[k] = src[q].narrow(1, 0, cols);
      recvs[k] = self_dst;
      continue;
    }
    if (silent(me, q)) {
      sends[k] = q % 2 ? at::Tensor() : src[q].narrow(0, 0, 0);
      recvs[k] = me % 2 ? at::Tensor() : dst.select(1, q).narrow(0, 0, 0);
      continue;
    }
    at::Tensor s = src[q].narrow(1, 0, cols), r = dst.select(1, q);
    if (transposed) {  // the transposes: (cols, rows) views, one element per run
      s = s.t();
      r = at::full({rows, cols}, -1.0, at::kDouble).t();
    }
    EXPECT_FALSE(s.is_contiguous());
    EXPECT_FALSE(r.is_contiguous());
    sends[k] = s;
    recvs[k] = r;
  }
  const int64_t before = single_copy_bytes();
  exchange(comm, sends, recvs);
  const int64_t pulled = single_copy_bytes() - before;
  EXPECT_TRUE(at::equal(self_dst.view({rows, cols}), expected_block(me, me, rows, cols)));
  for (int q = 0; q < p; ++q) {
    if (q == me) continue;
    SCOPED_TRACE(::testing::Message() << "from rank " << q << (transposed ? " (transposed)" : ""));
    if (silent(me, q)) {
      EXPECT_TRUE(at::equal(dst.select(1, q), at::full({rows, cols}, -1.0, at::kDouble)));  // untouched
      continue;
    }
    const at::Tensor want = expected_block(q, me, rows, cols);
    const at::Tensor got = transposed ? recvs[static_cast<size_t>(q)].t() : dst.select(1, q);
    EXPECT_TRUE(at::equal(got, want));
  }
  return pulled;
}

}  // namespace

TEST(Communicator, ExchangeStridedEmptyAndSelfBlocksOnThePlainMpiPath) {
  const Communicator world = Communicator::world();
  CmaMode off("0");
  EXPECT_FALSE(single_copy_enabled());
  for (bool transposed : {false, true})
    for (int64_t rows : {int64_t{2}, int64_t{5}})
      EXPECT_EQ(exchange_blocks(world, rows, 300, transposed), 0);
}

TEST(Communicator, ExchangeSingleCopyPathAndItsFallback) {
  const Communicator world = Communicator::world();
  CmaMode on(std::nullopt);
  if (world.size() == 1) {
    EXPECT_FALSE(single_copy_enabled());  // nothing to read from
    EXPECT_EQ(exchange_blocks(world, 3, 300, false), 0);
    return;
  }
  if (!single_copy_enabled())
    GTEST_SKIP() << "the kernel does not let ranks read each other's memory here";
  // Runs of 300 doubles (2400 bytes): read directly from the sender's view.
  const int64_t rows = 4, cols = 300;
  const int64_t pulled = exchange_blocks(world, rows, cols, false);
  int64_t partners = 0;
  for (int q = 0; q < world.size(); ++q) partners += q != world.rank() && !silent(world.rank(), q);
  EXPECT_GT(partners, 0);
  EXPECT_EQ(pulled, partners * rows * cols * 8);
  // Element-strided views: too fragmented, they travel as MPI messages instead.
  EXPECT_EQ(exchange_blocks(world, rows, cols, true), 0);
}

TEST(Communicator, ExchangeBoolAndComplexStridedViews) {
  const Communicator world = Communicator::world();
  const int p = world.size(), me = world.rank();
  for (at::ScalarType dt : {at::kBool, at::kComplexFloat}) {
    // Rank r sends q the column q of its (5, p) block; receives into row r of (p, 5).
    at::Tensor mine = dnd::testing::sample({5, p}, dt, me);
    at::Tensor got = at::zeros({p, 5}, mine.options());
    std::vector<at::Tensor> s(static_cast<size_t>(p)), r(static_cast<size_t>(p));
    for (int q = 0; q < p; ++q) {
      s[static_cast<size_t>(q)] = mine.select(1, q);
      r[static_cast<size_t>(q)] = got.select(0, q);
    }
    exchange(world, s, r);
    for (int q = 0; q < p; ++q)
      EXPECT_TRUE(at::equal(got[q], dnd::testing::sample({5, p}, dt, q).select(1, me)));
  }
}

TEST(Communicator, AllreduceBool) {
  const Communicator world = Communicator::world();
  const int p = world.size(), me = world.rank();
  // Element k is true on rank r when bit r of k is set: k = 2^p - 1 is true everywhere.
  const int64_t n = int64_t{1} << std::min(p, 10);
  at::Tensor k = at::arange(n, at::kLong);
  auto bit = [&](int r) { return at::floor_divide(k, int64_t{1} << (r % 10)).remainder(2) == 1; };
  at::Tensor mine = bit(me);
  std::vector<at::Tensor> all;
  for (int r = 0; r < p; ++r) all.push_back(bit(r));
  at::Tensor every = at::stack(all).all(0), some = at::stack(all).any(0);
  for (auto [op, want] : {std::pair{ReduceOp::land, every}, std::pair{ReduceOp::min, every},
                          std::pair{ReduceOp::prod, every}, std::pair{ReduceOp::lor, some},
                          std::pair{ReduceOp::max, some}, std::pair{ReduceOp::sum, some}}) {
    at::Tensor t = mine.clone();
    allreduce_(world, t, op);
    EXPECT_EQ(t.scalar_type(), at::kBool);
    EXPECT_TRUE(at::equal(t, want)) << "op " << static_cast<int>(op);
  }
}

TEST(Communicator, AllreduceAboveOneMiBMatchesTheSmallPath) {
  const Communicator world = Communicator::world();
  const int p = world.size(), me = world.rank();
  // 300000 floats (1.2 MB): the reduce-scatter + allgather path; integers, so sums are exact.
  const int64_t n = 300000;
  auto part = [&](int r) { return ((at::arange(n, at::kLong) * (r + 3)) % 17 - 8).to(at::kFloat); };
  std::vector<at::Tensor> all;
  for (int r = 0; r < p; ++r) all.push_back(part(r));
  const at::Tensor stacked = at::stack(all);
  for (auto [op, want] :
       {std::pair{ReduceOp::sum, stacked.sum(0)}, std::pair{ReduceOp::min, std::get<0>(stacked.min(0))},
        std::pair{ReduceOp::max, std::get<0>(stacked.max(0))}}) {
    at::Tensor t = part(me);
    allreduce_(world, t, op);
    EXPECT_TRUE(at::equal(t, want)) << "op " << static_cast<int>(op);
    // Bitwise identical on every rank.
    at::Tensor lo = t.clone(), hi = t.clone();
    allreduce_(world, lo, ReduceOp::min);
    allreduce_(world, hi, ReduceOp::max);
    EXPECT_TRUE(at::equal(lo, hi));
  }
  // Large bool tensors (2 MiB) too.
  at::Tensor b = at::ones({int64_t{2} << 20}, at::kBool);
  if (me == p - 1) b[12345] = false;
  allreduce_(world, b, ReduceOp::land);
  EXPECT_EQ(b.sum().item<int64_t>(), (int64_t{2} << 20) - 1);
  EXPECT_FALSE(b[12345].item<bool>());
}

TEST(Communicator, PieceLoopCoversEveryByteOnce) {
  for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{8}, int64_t{9}, int64_t{100}}) {
    std::vector<int> seen(static_cast<size_t>(n), 0);
    int64_t next = 0;
    for_each_piece(n, 8, [&](int64_t off, int count) {
      EXPECT_EQ(off, next);
      EXPECT_GT(count, 0);
      EXPECT_LE(count, 8);
      for (int64_t i = off; i < off + count; ++i) ++seen[static_cast<size_t>(i)];
      next = off + count;
    });
    EXPECT_EQ(next, n);
    for (int s : seen) EXPECT_EQ(s, 1);
  }
  // The real piece keeps every count inside an int.
  int64_t pieces = 0;
  for_each_piece((int64_t{5} << 30) + 3, kMaxMessageBytes, [&](int64_t, int count) {
    EXPECT_LE(count, kMaxMessageBytes);
    ++pieces;
  });
  EXPECT_EQ(pieces, 6);
}

TEST(Communicator, PointToPointTensorsOfEveryDtype) {
  const Communicator world = Communicator::world();
  const int p = world.size(), me = world.rank();
  const Communicator& k = kernel_comm(world);
  const int next = (me + 1) % p, prev = (me + p - 1) % p;
  for (at::ScalarType dt :
       {at::kBool, at::kByte, at::kInt, at::kLong, at::kFloat, at::kDouble, at::kComplexDouble})
    for (const Shape& shape : {Shape{0}, Shape{1}, Shape{7, 3}, Shape{3000}}) {
      // Round the ring: send mine to next, receive prev's.
      const at::Tensor mine = dnd::testing::sample(shape, dt, me);
      at::Tensor got = at::zeros(shape, mine.options());
      {
        Requests r;
        r.irecv(k, got, prev, 5);
        r.isend(k, mine, next, 5);
        r.wait();
        EXPECT_TRUE(r.empty());
      }
      EXPECT_TRUE(at::equal(got, dnd::testing::sample(shape, dt, prev)));
      // Blocking, rank 0 to the last rank.
      if (p > 1 && shape_numel(shape) > 0) {
        at::Tensor back = at::zeros(shape, mine.options());
        if (me == 0) send(k, mine, p - 1);
        if (me == p - 1) {
          recv(k, back, 0);
          EXPECT_TRUE(at::equal(back, dnd::testing::sample(shape, dt, 0)));
        }
      }
    }
  // Only contiguous CPU tensors: a bug in the caller, not a user error.
  at::Tensor strided = at::zeros({4, 4}).t();
  EXPECT_THROW(send(k, strided, me), InternalError);
}

TEST(Communicator, KernelCommunicatorIsADuplicateOfItsOwnCachedOnce) {
  const Communicator world = Communicator::world();
  const Communicator& k1 = kernel_comm(world);
  const Communicator& k2 = kernel_comm(Communicator::world());  // copies share the cache
  EXPECT_EQ(k1.get(), k2.get());
  EXPECT_NE(k1.get(), world.get());
  int cmp = 0;
  MPI_Comm_compare(k1.get(), world.get(), &cmp);
  EXPECT_EQ(cmp, MPI_CONGRUENT);
  EXPECT_EQ(k1.rank(), world.rank());
  EXPECT_EQ(k1.size(), world.size());
  // A sub-communicator has its own.
  const Communicator sub = world.split(world.rank() % 2, world.rank());
  EXPECT_NE(kernel_comm(sub).get(), sub.get());
  EXPECT_EQ(kernel_comm(sub).size(), sub.size());
  // Messages on the kernel communicator never match the parent's, whatever their tags:
  // a ring message sent first on k1 is not what the receive on world gets.
  const int p = world.size(), me = world.rank();
  if (p == 1) return;
  at::Tensor ring = at::full({4}, 1.0), core = at::full({4}, 2.0);
  at::Tensor got_core = at::zeros({4}), got_ring = at::zeros({4});
  Requests r;
  r.isend(k1, ring, (me + 1) % p, 0);
  r.isend(world, core, (me + 1) % p, 0);
  recv(world, got_core, (me + p - 1) % p, 0);
  recv(k1, got_ring, (me + p - 1) % p, 0);
  r.wait();
  EXPECT_TRUE(at::equal(got_core, core));
  EXPECT_TRUE(at::equal(got_ring, ring));
}

TEST(Communicator, Alltoall) {
  const Communicator world = Communicator::world();
  const int p = world.size(), me = world.rank();
  at::Tensor s = at::empty({p, 3}, at::kLong), r = at::zeros({p, 3}, at::kLong);
  for (int q = 0; q < p; ++q) s[q] = at::arange(3, at::kLong) + 100 * me + 10 * q;
  alltoall(world, s, r);
  for (int q = 0; q < p; ++q) EXPECT_TRUE(at::equal(r[q], at::arange(3, at::kLong) + 100 * q + 10 * me));
}

TEST(Communicator, BroadcastString) {
  const Communicator world = Communicator::world();
  const int p = world.size(), me = world.rank();
  std::string big(int64_t{3} << 20, 'x');
  big[17] = '\0';
  big.back() = 'y';
  for (int root : {0, p - 1})
    for (const std::string& text : {std::string(), std::string("one"), big}) {
      std::string s = me == root ? text : std::string("something else on rank ") + std::to_string(me);
      broadcast_string(world, s, root);
      EXPECT_EQ(s, text);
    }
}

TEST(Communicator, FirstErrorIsTheLowestFailingRanksOnEveryRank) {
  const Communicator world = Communicator::world();
  const int p = world.size(), me = world.rank();
  EXPECT_FALSE(first_error(world, "").has_value());
  // The upper half of the ranks fail, each with its own message.
  const int lowest = p / 2;
  const auto e = first_error(world, me >= lowest ? "broken on rank " + std::to_string(me) : "");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->rank, lowest);
  EXPECT_EQ(e->message, "broken on rank " + std::to_string(lowest));
}

TEST(Communicator, AgreeRethrowsTheSameKindOnEveryRank) {
  const Communicator world = Communicator::world();
  const int p = world.size(), me = world.rank();
  int ran = 0;
  EXPECT_NO_THROW(agree(world, [&] { ++ran; }));
  EXPECT_EQ(ran, 1);
  // Only the last rank fails; every rank throws its error, as the same kind.
  auto only_last = [&](auto make) {
    return [&, make] {
      if (me == p - 1) throw make("bad shape (2, 3) on the last rank");
    };
  };
  try {
    agree(world, only_last([](const char* m) { return ShapeError(m); }));
    ADD_FAILURE() << "agree did not throw";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "bad shape (2, 3) on the last rank");
  }
  EXPECT_THROW(agree(world, only_last([](const char* m) { return TypeError(m); })), TypeError);
  EXPECT_THROW(agree(world, only_last([](const char* m) { return ValueError(m); })), ValueError);
  EXPECT_THROW(agree(world, only_last([](const char* m) { return CommError(m); })), CommError);
  EXPECT_THROW(agree(world, only_last([](const char* m) { return InternalError(m); })), InternalError);
  // Not one of dnd's: a plain dnd::Error, same message.
  try {
    agree(world, only_last([](const char* m) { return std::runtime_error(m); }));
    ADD_FAILURE() << "agree did not throw";
  } catch (const ValueError&) {
    ADD_FAILURE() << "a foreign exception became a ValueError";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "bad shape (2, 3) on the last rank");
  }
  // Several ranks fail: the lowest one's message wins everywhere.
  try {
    agree(world, [&] { throw ValueError("rank " + std::to_string(me)); });
    ADD_FAILURE() << "agree did not throw";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "rank 0");
  }
}

TEST(Communicator, FailureVoteOnEveryRankOrNot) {
  const Communicator world = Communicator::world();
  const int p = world.size(), me = world.rank();
  using Outcome = FailureVote::Outcome;
  const auto patient = std::chrono::seconds(60);  // returns as soon as every rank voted
  {
    FailureVote v(world);
    EXPECT_EQ(v.vote("step 'b' failed", patient), Outcome::every_rank_same);
    EXPECT_THROW(v.vote("again", patient), InternalError);
  }
  {
    FailureVote v(world);
    EXPECT_EQ(v.vote(me == p - 1 ? "other" : "same", patient),
              p == 1 ? Outcome::every_rank_same : Outcome::every_rank);
  }
  if (p == 1) return;
  {
    // Rank 0 fails alone: its wait runs out (the others vote only after it gave up).
    FailureVote v(world);
    if (me == 0) {
      EXPECT_EQ(v.vote("alone", std::chrono::milliseconds(200)), Outcome::not_every_rank);
    }
    barrier(world);
    if (me != 0) {
      EXPECT_EQ(v.vote("alone", patient), Outcome::every_rank_same);  // rank 0's vote stays posted
    }
    barrier(world);
  }
}

TEST(Communicator, IdleBarrier) {
  const Communicator world = Communicator::world();
  idle_barrier(world);
  idle_barrier(world, std::chrono::microseconds(50));
  SUCCEED();
}
