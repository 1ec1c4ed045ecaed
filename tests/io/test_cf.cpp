// CF/NetCDF-4 output written by 2 ranks: read back here through the Store;
// ncdump -h and xarray (decoded times, masked _FillValue) check the same file
// in the ctest entries cf.ncdump and cf.xarray (tests/io/CMakeLists.txt).
#include <gtest/gtest.h>
#include <hdf5_hl.h>

#include <cstdlib>
#include <filesystem>

#include "error_message.hpp"
#include "io_test_util.hpp"
#include "msa/io/cf.hpp"

namespace {

using msa::Box;
using msa::test::world_rank;
using msa::test::world_size;

constexpr int64_t kNy = 6, kNx = 8;

float h_value(int64_t t, int64_t y, int64_t x) {
  return static_cast<float>(100 * t + 10 * y) + 0.5f * static_cast<float>(x);
}

template <class F>
std::string io_error(F&& f) {
  return msa::test::error_message<msa::IoError>(std::forward<F>(f));
}

TEST(Cf, WritesAFileNetcdfAndXarrayRead) {
  const char* out = std::getenv("MSA_TEST_CF_OUT");
  ASSERT_NE(out, nullptr) << "MSA_TEST_CF_OUT names the file the ncdump and xarray checks read";
  const std::string path = out;
  if (world_rank() == 0) std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  MPI_Barrier(MPI_COMM_WORLD);
  const Box mine = msa::block_along({kNy, kNx}, 0, world_size(), world_rank());
  {
    auto nc = msa::io::CfFile::create(path, MPI_COMM_WORLD, {{"title", std::string("msa CF test")}});
    nc.add_time("days since 2000-01-01 00:00:00");
    std::vector<double> ys, xs;
    for (int64_t y = 0; y < kNy; ++y) ys.push_back(1000.0 * static_cast<double>(y));
    for (int64_t x = 0; x < kNx; ++x) xs.push_back(500.0 * static_cast<double>(x));
    nc.add_dimension("y", ys, {"y coordinate", "m", "projection_y_coordinate"}, "Y");
    nc.add_dimension("x", xs, {"x coordinate", "m", "projection_x_coordinate"}, "X");
    msa::io::VariableInfo h_info{"fluid depth", "m", "", -9999.0};
    h_info.deflate = 4;
    h_info.attributes["cell_methods"] = std::string("time: point");
    nc.add_variable<float>("h", {"time", "y", "x"}, h_info);
    nc.add_variable<int32_t>("mask", {"y", "x"}, {"land mask", "1"});
    Kokkos::View<int32_t**, Kokkos::LayoutLeft, Kokkos::HostSpace> mask("mask", mine.count[0], kNx);
    for (int64_t y = 0; y < mine.count[0]; ++y)
      for (int64_t x = 0; x < kNx; ++x) mask(y, x) = static_cast<int32_t>((mine.start[0] + y + x) % 2);
    nc.write("mask", mask, mine);
    for (int64_t t = 0; t < 3; ++t) {
      EXPECT_EQ(nc.append_time(0.5 * static_cast<double>(t + 1)), t);
      // The last step covers only the first half of the rows: the rest stays _FillValue.
      const Box box = t < 2 ? mine : mine.intersect(Box::of({0, 0}, {kNy / 2, kNx}));
      Kokkos::View<float**, Kokkos::HostSpace> h("h", box.count[0], box.count[1]);
      for (int64_t y = 0; y < box.count[0]; ++y)
        for (int64_t x = 0; x < box.count[1]; ++x) h(y, x) = h_value(t, box.start[0] + y, x);
      nc.write("h", t, h, box);
    }
    EXPECT_EQ(nc.time_steps(), 3);
    auto error = io_error([&] {
      nc.write("h", 3, Kokkos::View<float**, Kokkos::HostSpace>("h", 0, 0), Box::of({0, 0}, {0, 0}));
    });
    EXPECT_NE(error.find("time index 3; append_time() first (3 time steps so far)"), std::string::npos) << error;
    error = io_error([&] { nc.add_variable<double>("u", {"time", "z"}, msa::io::VariableInfo{}); });
    EXPECT_NE(error.find("dimension 'z', which was not added"), std::string::npos) << error;
    nc.close();
  }
  // Read back through the Store.
  auto file = msa::io::File::open(path);
  EXPECT_EQ(file.attribute_as<std::string>("Conventions"), "CF-1.8");
  auto h = file.dataset("h", msa::DataType::float32, {3, kNy, kNx});
  EXPECT_EQ(h.max_shape(), (std::vector<int64_t>{-1, kNy, kNx}));
  EXPECT_EQ(h.attribute_as<std::string>("units"), "m");
  EXPECT_EQ(H5DSis_attached(static_cast<hid_t>(h.id()), static_cast<hid_t>(file.dataset("time").id()), 0), 1);
  EXPECT_EQ(H5DSis_attached(static_cast<hid_t>(h.id()), static_cast<hid_t>(file.dataset("x").id()), 2), 1);
  Kokkos::View<float***, Kokkos::HostSpace> all("all", 3, kNy, kNx);
  h.read(all, Box::whole({3, kNy, kNx}));
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t y = 0; y < kNy; ++y)
      for (int64_t x = 0; x < kNx; ++x)
        EXPECT_EQ(all(t, y, x), t == 2 && y >= kNy / 2 ? -9999.0f : h_value(t, y, x)) << t << "," << y << "," << x;
}

}  // namespace
