// Checkpoints: written by some ranks, restarted by another number of ranks;
// the newest K kept; damaged, truncated, interrupted and failed (disk full)
// checkpoints never replace the previous good one. Runs at 1, 3 and 4 ranks.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>

#include "error_message.hpp"
#include "io_test_util.hpp"
#include "msa/comm.hpp"
#include "msa/io/checkpoint.hpp"

namespace {

using msa::Box;
using msa::Decomposition;
using msa::io::Checkpoints;
using msa::test::ScratchDir;
using msa::test::world_rank;
using msa::test::world_size;

double h_value(int64_t i, int64_t j, int64_t k) { return 1e4 * i + 1e2 * j + k + 0.5; }

template <class F>
std::string io_error(F&& f) {
  return msa::test::error_message<msa::IoError>(std::forward<F>(f));
}

// The first `n` ranks of the world (others get a null Comm).
msa::Comm first_ranks(int n) {
  MPI_Comm c = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, world_rank() < n ? 0 : MPI_UNDEFINED, world_rank(), &c);
  return msa::Comm::adopt(c);
}

void write_checkpoint(MPI_Comm comm, const std::string& dir, int64_t step, int keep = 2, int64_t n0 = 6) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  Checkpoints checkpoints(comm, dir, "model", keep);
  auto cp = checkpoints.begin(step, 0.25 * static_cast<double>(step));
  const std::vector<int64_t> shape{n0, 4, 5};
  const auto d = Decomposition::of(shape, msa::block_along(shape, 0, size, rank));
  Kokkos::View<double***, Kokkos::LayoutLeft, Kokkos::HostSpace> h("h", d.box.count[0], 4, 5);
  for (int64_t i = 0; i < d.box.count[0]; ++i)
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t k = 0; k < 5; ++k) h(i, j, k) = h_value(d.box.start[0] + i, j, k) + static_cast<double>(step);
  cp.write("h", h, d);
  const std::vector<int64_t> shape2{3, 7};
  const auto d2 = Decomposition::of(shape2, msa::block_along(shape2, 1, size, rank));
  Kokkos::View<int32_t**, Kokkos::HostSpace> n("n", 3, d2.box.count[1]);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < d2.box.count[1]; ++j) n(i, j) = static_cast<int32_t>(10 * i + d2.box.start[1] + j);
  cp.write("n", n, d2);
  cp.set_attribute("dt", 0.125);
  cp.set_attribute("scheme", std::string("upwind"));
  const auto info = cp.commit();
  EXPECT_EQ(info.step, step);
  EXPECT_EQ(info.arrays, (std::vector<std::string>{"h", "n"}));
}

// Reads "h" in a block decomposition along dimension 1 and counts wrong values.
int64_t wrong_values(const msa::io::Restart& restart, MPI_Comm comm, int64_t step) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const auto shape = restart.shape("h");
  const auto d = Decomposition::of(shape, msa::block_along(shape, 1, size, rank));
  Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> h("h", d.box.count[0], d.box.count[1],
                                                                    d.box.count[2]);
  restart.read("h", h, d);
  int64_t wrong = 0;
  for (int64_t i = 0; i < d.box.count[0]; ++i)
    for (int64_t j = 0; j < d.box.count[1]; ++j)
      for (int64_t k = 0; k < d.box.count[2]; ++k)
        wrong += h(i, j, k) != h_value(i, d.box.start[1] + j, k) + static_cast<double>(step);
  return wrong;
}

TEST(Checkpoint, WrittenBySomeRanksRestartedByOthers) {
  ScratchDir dir;
  const int writers = std::max(1, world_size() / 2);
  {
    msa::Comm w = first_ranks(writers);
    if (w) write_checkpoint(w, dir.path().string(), 7);
  }
  // All ranks restart.
  Checkpoints checkpoints(MPI_COMM_WORLD, dir.path().string(), "model");
  auto restart = checkpoints.latest();
  ASSERT_TRUE(restart.has_value());
  EXPECT_EQ(restart->info().step, 7);
  EXPECT_EQ(restart->info().time, 1.75);
  EXPECT_EQ(restart->info().writer_ranks, writers);
  EXPECT_EQ(restart->attribute_as<double>("dt"), 0.125);
  EXPECT_EQ(restart->attribute_as<std::string>("scheme"), "upwind");
  EXPECT_EQ(wrong_values(*restart, MPI_COMM_WORLD, 7), 0);
  Kokkos::View<int32_t**, Kokkos::HostSpace> n("n", 3, 7);
  restart->read("n", n, Decomposition::of({3, 7}, Box::whole({3, 7})));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 7; ++j) EXPECT_EQ(n(i, j), 10 * i + j);
  // Asking for what is not there.
  Kokkos::View<double**, Kokkos::HostSpace> x("x", 1, 1);
  auto error = io_error([&] { restart->read("u", x, Decomposition::of({1, 1}, Box::whole({1, 1}))); });
  EXPECT_NE(error.find("has no array 'u' (arrays: h, n)"), std::string::npos) << error;
  error = io_error([&] { restart->read("n", x, Decomposition::of({1, 1}, Box::whole({1, 1}))); });
  EXPECT_NE(error.find("expected double[1, 1], the file holds int32[3, 7]"), std::string::npos) << error;
}

TEST(Checkpoint, KeepsTheNewestK) {
  ScratchDir dir;
  for (int64_t step : {10, 20, 30, 40}) write_checkpoint(MPI_COMM_WORLD, dir.path().string(), step, 2);
  Checkpoints checkpoints(MPI_COMM_WORLD, dir.path().string(), "model", 2);
  EXPECT_EQ(checkpoints.files(), (std::vector<std::string>{dir.file("model.40.h5"), dir.file("model.30.h5")}));
  auto restart = checkpoints.latest();
  ASSERT_TRUE(restart);
  EXPECT_EQ(restart->info().step, 40);
  EXPECT_EQ(wrong_values(*restart, MPI_COMM_WORLD, 40), 0);
}

TEST(Checkpoint, NoneYet) {
  ScratchDir dir;
  Checkpoints checkpoints(MPI_COMM_WORLD, dir.file("not-created"), "model");
  EXPECT_FALSE(checkpoints.latest().has_value());
}

TEST(Checkpoint, DamagedTruncatedAndInterruptedOnesAreSkipped) {
  ScratchDir dir;
  const std::string d = dir.path().string();
  for (int64_t step : {1, 2, 3}) write_checkpoint(MPI_COMM_WORLD, d, step, 5);
  if (world_rank() == 0) {
    // Step 3: one bit of h flipped in place.
    haddr_t offset = 0;
    {
      auto file = msa::io::File::open(dir.file("model.3.h5"));
      offset = H5Dget_offset(static_cast<hid_t>(file.dataset("h").id()));
    }
    ASSERT_NE(offset, HADDR_UNDEF);
    std::fstream f(dir.file("model.3.h5"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset + 100));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x10);
    f.seekp(static_cast<std::streamoff>(offset + 100));
    f.write(&c, 1);
    // Step 2: cut short.
    std::filesystem::resize_file(dir.file("model.2.h5"), std::filesystem::file_size(dir.file("model.2.h5")) / 3);
    // Step 4: a crash while writing left a temporary file.
    std::ofstream(dir.file("model.4.h5.tmp")) << "partial";
  }
  MPI_Barrier(MPI_COMM_WORLD);
  Checkpoints checkpoints(MPI_COMM_WORLD, d, "model", 5);
  auto error = io_error([&] { checkpoints.open(dir.file("model.3.h5")); });
  EXPECT_NE(error.find("array 'h' checksum"), std::string::npos) << error;
  EXPECT_NE(error.find("the data is damaged"), std::string::npos) << error;
  error = io_error([&] { checkpoints.open(dir.file("model.2.h5")); });
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  auto restart = checkpoints.latest();
  ASSERT_TRUE(restart);
  EXPECT_EQ(restart->info().step, 1);
  EXPECT_EQ(wrong_values(*restart, MPI_COMM_WORLD, 1), 0);
}

TEST(Checkpoint, AFailedCheckpointLeavesThePreviousOneIntact) {
  ScratchDir dir;
  const std::string d = dir.path().string();
  write_checkpoint(MPI_COMM_WORLD, d, 1);
  // A full disk, made here with a file-size limit: writes past 256 KiB fail
  // with EFBIG (SIGXFSZ ignored), as they would with ENOSPC. The limit is
  // lifted before the abandoned checkpoint is cleaned up: unlike a full disk,
  // it also forbids the sparse extension HDF5 makes when closing the file.
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  rlimit small = old;
  small.rlim_cur = 256 * 1024;
  std::string error;
  {
    Checkpoints checkpoints(MPI_COMM_WORLD, d, "model");
    std::optional<msa::io::CheckpointWriter> cp;
    const std::vector<int64_t> shape{64, 64, 64};  // 2 MiB
    const auto decomposition = Decomposition::of(shape, msa::block_along(shape, 0, world_size(), world_rank()));
    Kokkos::View<double***, Kokkos::HostSpace> h("h", decomposition.box.count[0], 64, 64);
    setrlimit(RLIMIT_FSIZE, &small);
    error = io_error([&] {
      cp.emplace(checkpoints.begin(2, 0.5));
      cp->write("h", h, decomposition);
      cp->commit();
    });
    setrlimit(RLIMIT_FSIZE, &old);
  }
  EXPECT_NE(error.find("model.2.h5.tmp"), std::string::npos) << error;
  EXPECT_NE(error.find("cannot write"), std::string::npos) << error;
  MPI_Barrier(MPI_COMM_WORLD);
  Checkpoints checkpoints(MPI_COMM_WORLD, d, "model");
  EXPECT_EQ(checkpoints.files(), (std::vector<std::string>{dir.file("model.1.h5")}));
  EXPECT_FALSE(std::filesystem::exists(dir.file("model.2.h5.tmp")));
  auto restart = checkpoints.latest();
  ASSERT_TRUE(restart);
  EXPECT_EQ(restart->info().step, 1);
  EXPECT_EQ(wrong_values(*restart, MPI_COMM_WORLD, 1), 0);
}

}  // namespace
