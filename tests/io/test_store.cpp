// The Store: files, groups, attributes, and collective hyperslab I/O of
// distributed Kokkos views, written with one decomposition and layout and
// read with another. Runs at 1, 2 and 3 ranks.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "error_message.hpp"
#include "io_test_util.hpp"
#include "msa/io/store.hpp"

namespace {

using msa::Box;
using msa::io::File;
using msa::test::ScratchDir;
using msa::test::world_rank;
using msa::test::world_size;

double value(int64_t i, int64_t j, int64_t k) { return 10000.0 * i + 100.0 * j + k + 0.25; }

template <class F>
std::string io_error(F&& f) {
  return msa::test::error_message<msa::IoError>(std::forward<F>(f));
}

TEST(Store, DistributedWriteAndReadInAnotherDecompositionAndLayout) {
  ScratchDir dir;
  const std::vector<int64_t> shape{7, 5, 6};
  const std::string path = dir.file("field.h5");
  {
    auto file = File::create(path, MPI_COMM_WORLD);
    EXPECT_TRUE(file.parallel());
    auto ds = file.create_dataset<double>("u", shape);
    // Written along dimension 0 from a LayoutLeft view.
    const Box box = msa::block_along(shape, 0, world_size(), world_rank());
    Kokkos::View<double***, Kokkos::LayoutLeft, Kokkos::HostSpace> u("u", box.count[0], box.count[1], box.count[2]);
    for (int64_t i = 0; i < box.count[0]; ++i)
      for (int64_t j = 0; j < box.count[1]; ++j)
        for (int64_t k = 0; k < box.count[2]; ++k) u(i, j, k) = value(box.start[0] + i, j, k);
    ds.write(u, box);
    file.close();
  }
  ASSERT_TRUE(msa::io::is_hdf5(path));
  // Read along dimension 2 into LayoutRight, by ranks in reverse order.
  auto file = File::open(path, MPI_COMM_WORLD);
  auto ds = file.dataset("u", msa::DataType::float64, shape);
  const Box box = msa::block_along(shape, 2, world_size(), world_size() - 1 - world_rank());
  Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> v("v", box.count[0], box.count[1], box.count[2]);
  ds.read(v, box);
  int64_t wrong = 0;
  for (int64_t i = 0; i < box.count[0]; ++i)
    for (int64_t j = 0; j < box.count[1]; ++j)
      for (int64_t k = 0; k < box.count[2]; ++k) wrong += v(i, j, k) != value(i, j, box.start[2] + k);
  EXPECT_EQ(wrong, 0);
}

TEST(Store, StridedSubviewsAndEmptyBoxes) {
  ScratchDir dir;
  // Dimension 0 has 2 rows: at 3 ranks one rank has an empty box.
  const std::vector<int64_t> shape{2, 9};
  const Box box = msa::block_along(shape, 0, world_size(), world_rank());
  auto file = File::create(dir.file("strided.h5"), MPI_COMM_WORLD);
  auto ds = file.create_dataset<int32_t>("n", shape);
  // Every other column of a wider view: a LayoutStride subview.
  Kokkos::View<int32_t**, Kokkos::LayoutRight, Kokkos::HostSpace> wide("wide", box.count[0], 2 * shape[1]);
  for (int64_t i = 0; i < box.count[0]; ++i)
    for (int64_t j = 0; j < 2 * shape[1]; ++j)
      wide(i, j) = j % 2 ? -1 : static_cast<int32_t>(100 * (box.start[0] + i) + j / 2);
  Kokkos::View<int32_t**, Kokkos::LayoutStride, Kokkos::HostSpace> strided(
      wide.data(), Kokkos::LayoutStride(static_cast<std::size_t>(box.count[0]), static_cast<std::size_t>(2 * shape[1]),
                                        static_cast<std::size_t>(shape[1]), 2));
  ds.write(strided, box);
  // The whole array on every rank, into LayoutLeft.
  Kokkos::View<int32_t**, Kokkos::LayoutLeft, Kokkos::HostSpace> all("all", shape[0], shape[1]);
  ds.read(all, Box::whole(shape));
  int64_t wrong = 0;
  for (int64_t i = 0; i < shape[0]; ++i)
    for (int64_t j = 0; j < shape[1]; ++j) wrong += all(i, j) != 100 * i + j;
  EXPECT_EQ(wrong, 0);
}

TEST(Store, EveryElementType) {
  ScratchDir dir;
  auto file = File::create(dir.file("types.h5"), MPI_COMM_WORLD);
  const std::vector<int64_t> shape{11};
  const Box box = msa::block_along(shape, 0, world_size(), world_rank());
  auto round_trip = [&](auto tag, const char* name) {
    using T = decltype(tag);
    auto ds = file.create_dataset<T>(name, shape);
    EXPECT_EQ(ds.type(), msa::data_type_of<T>());
    Kokkos::View<T*, Kokkos::HostSpace> x("x", box.count[0]);
    for (int64_t i = 0; i < box.count[0]; ++i) x(i) = static_cast<T>(box.start[0] + i + 1);
    ds.write(x, box);
    Kokkos::View<T*, Kokkos::HostSpace> all("all", shape[0]);
    ds.read(all, Box::whole(shape));
    for (int64_t i = 0; i < shape[0]; ++i) EXPECT_EQ(all(i), static_cast<T>(i + 1)) << name << " " << i;
  };
  round_trip(float{}, "f32");
  round_trip(double{}, "f64");
  round_trip(int32_t{}, "i32");
  round_trip(int64_t{}, "i64");
  round_trip(uint8_t{}, "u8");
}

TEST(Store, ChunkedDeflatedParallelWrite) {
  ScratchDir dir;
  const std::vector<int64_t> shape{64, 256};
  const std::string path = dir.file("deflate.h5");
  auto file = File::create(path, MPI_COMM_WORLD);
  msa::io::DatasetOptions options;
  options.chunk = {16, 256};
  options.deflate = 4;
  options.shuffle = true;
  auto ds = file.create_dataset<double>("smooth", shape, options);
  EXPECT_EQ(ds.chunk(), (std::vector<int64_t>{16, 256}));
  const Box box = msa::block_along(shape, 0, world_size(), world_rank());
  Kokkos::View<double**, Kokkos::HostSpace> x("x", box.count[0], box.count[1]);
  for (int64_t i = 0; i < box.count[0]; ++i)
    for (int64_t j = 0; j < box.count[1]; ++j) x(i, j) = static_cast<double>((box.start[0] + i) / 8);
  ds.write(x, box);
  file.flush();
  // Compressible data: far fewer bytes on disk than in memory.
  const hsize_t stored = H5Dget_storage_size(static_cast<hid_t>(ds.id()));
  EXPECT_GT(stored, 0u);
  EXPECT_LT(stored, 64u * 256u * 8u / 4u);
  Kokkos::View<double**, Kokkos::HostSpace> back("back", shape[0], shape[1]);
  ds.read(back, Box::whole(shape));
  int64_t wrong = 0;
  for (int64_t i = 0; i < shape[0]; ++i)
    for (int64_t j = 0; j < shape[1]; ++j) wrong += back(i, j) != static_cast<double>(i / 8);
  EXPECT_EQ(wrong, 0);
}

TEST(Store, UnlimitedDatasetGrowsStepByStep) {
  ScratchDir dir;
  auto file = File::create(dir.file("grow.h5"), MPI_COMM_WORLD);
  msa::io::DatasetOptions options;
  options.max_shape = {-1, 6};
  options.fill = -7;
  auto ds = file.create_dataset<double>("series", {0, 6}, options);
  EXPECT_EQ(ds.max_shape(), (std::vector<int64_t>{-1, 6}));
  for (int64_t step = 0; step < 3; ++step) {
    ds.resize({step + 1, 6});
    Box row = msa::block_along({1, 6}, 1, world_size(), world_rank());
    row.start[0] = step;
    Kokkos::View<double**, Kokkos::HostSpace> x("x", 1, row.count[1]);
    for (int64_t j = 0; j < row.count[1]; ++j) x(0, j) = static_cast<double>(10 * step + row.start[1] + j);
    ds.write(x, row);
  }
  ds.resize({4, 6});  // a row never written holds the fill value
  EXPECT_EQ(ds.shape(), (std::vector<int64_t>{4, 6}));
  Kokkos::View<double**, Kokkos::HostSpace> all("all", 4, 6);
  ds.read(all, Box::whole({4, 6}));
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 6; ++j) EXPECT_EQ(all(i, j), i < 3 ? 10.0 * i + j : -7.0) << i << "," << j;
  const auto error = io_error([&] { ds.resize({5, 7}); });
  EXPECT_NE(error.find("largest shape is [-1, 6]"), std::string::npos) << error;
}

TEST(Store, GroupsAndAttributes) {
  ScratchDir dir;
  const std::string path = dir.file("attrs.h5");
  {
    auto file = File::create(path, MPI_COMM_WORLD);
    auto run = file.create_group("run");
    auto fields = run.create_group("fields");
    run.create_group("alpha");
    file.set_attribute("title", std::string("a test"));
    file.set_attribute("empty", std::string());
    run.set_attribute("steps", int64_t{42});
    run.set_attribute("dt", 0.125);
    run.set_attribute("shape", std::vector<int64_t>{3, 4});
    run.set_attribute("weights", std::vector<double>{0.5, 0.25});
    run.set_attribute("steps", int64_t{43});  // replaces
    auto ds = fields.create_dataset<float>("t", {4});
    ds.set_attribute("units", std::string("K"));
    file.close();
  }
  auto file = File::open(path);  // serial, on every rank
  EXPECT_FALSE(file.parallel());
  EXPECT_EQ(file.attribute_as<std::string>("title"), "a test");
  EXPECT_EQ(file.attribute_as<std::string>("empty"), "");
  auto run = file.group("run");
  EXPECT_EQ(run.members(), (std::vector<std::string>{"fields", "alpha"}));  // creation order
  EXPECT_EQ(run.attribute_as<int64_t>("steps"), 43);
  EXPECT_EQ(run.attribute_as<double>("dt"), 0.125);
  EXPECT_EQ(run.attribute_as<double>("steps"), 43.0);
  EXPECT_EQ(run.attribute_as<std::vector<int64_t>>("shape"), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(run.attribute_as<std::vector<double>>("weights"), (std::vector<double>{0.5, 0.25}));
  EXPECT_TRUE(file.contains("run/fields/t"));
  EXPECT_FALSE(file.contains("run/nothing/t"));
  EXPECT_EQ(file.dataset("run/fields/t").attribute_as<std::string>("units"), "K");
  EXPECT_EQ(file.dataset("run/fields/t").path(), "/run/fields/t");
  auto error = io_error([&] { run.attribute_as<std::string>("dt"); });
  EXPECT_NE(error.find("attribute 'dt' of '" + path + "':/run is a floating-point number"), std::string::npos) << error;
  error = io_error([&] { run.attribute("nope"); });
  EXPECT_NE(error.find("has no attribute 'nope'"), std::string::npos) << error;
  error = io_error([&] { file.group("runs"); });
  EXPECT_NE(error.find("has no group 'runs' (members: run)"), std::string::npos) << error;
}

TEST(Store, BadInputIsAClearIoError) {
  ScratchDir dir;
  // Missing.
  auto error = io_error([&] { File::open(dir.file("missing.h5"), MPI_COMM_WORLD); });
  EXPECT_NE(error.find(dir.file("missing.h5")), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
  // Not HDF5.
  if (world_rank() == 0) std::ofstream(dir.file("text.h5")) << "time,value\n0,1\n";
  MPI_Barrier(MPI_COMM_WORLD);
  error = io_error([&] { File::open(dir.file("text.h5"), MPI_COMM_WORLD); });
  EXPECT_NE(error.find("not an HDF5 file"), std::string::npos) << error;
  EXPECT_FALSE(msa::io::is_hdf5(dir.file("text.h5")));
  // Truncated: a real file cut short.
  const std::string cut = dir.file("cut.h5");
  {
    auto file = File::create(cut, MPI_COMM_WORLD);
    auto ds = file.create_dataset<double>("x", {1 << 14});
    const Box box = world_rank() == 0 ? Box::whole({1 << 14}) : Box::of({0}, {0});
    Kokkos::View<double*, Kokkos::HostSpace> x("x", box.count[0]);
    Kokkos::deep_copy(x, 1.5);
    ds.write(x, box);
    file.close();
  }
  if (world_rank() == 0) std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
  MPI_Barrier(MPI_COMM_WORLD);
  error = io_error([&] { File::open(cut, MPI_COMM_WORLD); });
  EXPECT_NE(error.find(cut), std::string::npos) << error;
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;

  // Wrong type, wrong shape, a box outside on one rank only: every rank throws.
  auto file = File::create(dir.file("shape.h5"), MPI_COMM_WORLD);
  auto ds = file.create_dataset<double>("x", {4, 4});
  Kokkos::View<float**, Kokkos::HostSpace> f("f", 4, 4);
  error = io_error([&] { ds.write(f, Box::whole({4, 4})); });
  EXPECT_NE(error.find("the data is float but the dataset holds double"), std::string::npos) << error;
  error = io_error([&] { file.dataset("x", msa::DataType::float64, {4, 5}); });
  EXPECT_NE(error.find("expected double[4, 5], the file holds double[4, 4]"), std::string::npos) << error;
  Kokkos::View<double**, Kokkos::HostSpace> d("d", 2, 4);
  const Box outside = world_rank() == world_size() - 1 ? Box::of({3, 0}, {2, 4}) : Box::of({0, 0}, {0, 4});
  error =
      io_error([&] { ds.write(Kokkos::subview(d, std::make_pair(0, int(outside.count[0])), Kokkos::ALL), outside); });
  EXPECT_NE(error.find("box [3:5, 0:4] lies outside the dataset's shape [4, 4]"), std::string::npos) << error;
  // A view that does not match its box on one rank only.
  const Box mine = msa::block_along({4, 4}, 0, world_size(), world_rank());
  Kokkos::View<double**, Kokkos::HostSpace> wrong("wrong", world_rank() == 0 ? 3 : mine.count[0], 4);
  error = io_error([&] { ds.write(wrong, mine); });
  EXPECT_NE(error.find("write of '" + dir.file("shape.h5") + "':/x: the view is 2-d with extents [3, 4]"),
            std::string::npos)
      << error;
}

}  // namespace
