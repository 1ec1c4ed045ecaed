// The climate app's model and analysis: conservation, a gravity wave against
// the analytic phase speed, a balanced jet, restart equality, and the
// analysis against a serial recomputation from fields written to HDF5.
// Runs at 1 and 3 ranks.
#include <gtest/gtest.h>

#include <cmath>
#include <msa/io/checkpoint.hpp>
#include <msa/io/store.hpp>

#include "analysis.hpp"
#include "io_test_util.hpp"
#include "msa/comm.hpp"
#include "shallow_water.hpp"

namespace {

using climate::Config;
using climate::Model;
using msa::test::world_rank;
using msa::test::world_size;

// The owned state of every rank, gathered in global order on every rank.
std::vector<double> gather_state(const Model& m, MPI_Comm comm) {
  const auto& b = m.box();
  const auto nx = m.config().nx, ny = m.config().ny;
  auto owned = m.owned();
  std::vector<double> local;
  for (int k = 0; k < 3; ++k)
    for (int64_t j = 0; j < b.count[1]; ++j)
      for (int64_t i = 0; i < nx; ++i) local.push_back(owned(k, j, i));
  int size = 0;
  MPI_Comm_size(comm, &size);
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size));
  const int mine = static_cast<int>(local.size());
  MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, comm);
  for (int r = 1; r < size; ++r)
    displs[static_cast<std::size_t>(r)] =
        displs[static_cast<std::size_t>(r - 1)] + counts[static_cast<std::size_t>(r - 1)];
  std::vector<double> all(static_cast<std::size_t>(3 * nx * ny));
  MPI_Allgatherv(local.data(), mine, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE, comm);
  // Reorder [rank][k][row][i] into [k][row][i].
  std::vector<double> out(all.size());
  std::size_t pos = 0;
  for (int r = 0; r < size; ++r) {
    const msa::Box rb = msa::block_along({3, ny, nx}, 1, size, r);
    for (int k = 0; k < 3; ++k)
      for (int64_t j = 0; j < rb.count[1]; ++j)
        for (int64_t i = 0; i < nx; ++i)
          out[static_cast<std::size_t>((k * ny + rb.start[1] + j) * nx + i)] = all[pos++];
  }
  return out;
}

TEST(Climate, MassIsConservedToRoundOff) {
  Config c;
  c.nx = c.ny = 32;
  c.initial = "bump";
  c.dt = 200;
  Model m(c, MPI_COMM_WORLD);
  m.initialise();
  const double mass0 = m.mass();
  for (int s = 0; s < 1000; ++s) m.step();
  EXPECT_LT(std::abs(m.mass() - mass0) / mass0, 1e-12);
  // Something happened: the bump spread out.
  const auto state = gather_state(m, MPI_COMM_WORLD);
  const double centre = state[static_cast<std::size_t>(16 * 32 + 16)];
  EXPECT_LT(centre, c.depth + 0.5 * c.amplitude);
}

TEST(Climate, GravityWaveTravelsAtSqrtGH) {
  Config c;
  c.nx = 64;
  c.ny = 6;
  c.lx = 1.0e6;
  c.ly = c.lx * 6 / 64;
  c.f = 0;
  c.viscosity = 0;
  c.initial = "wave";
  c.amplitude = 0.01;  // linear
  c.dt = 20;
  Model m(c, MPI_COMM_WORLD);
  m.initialise();
  const double pi = 3.14159265358979323846;
  // Projection of h - H on cos(k x): a standing wave, A cos(c k t).
  auto projection = [&] {
    auto s = m.owned();
    double p = 0;
    for (int64_t j = 0; j < m.box().count[1]; ++j)
      for (int64_t i = 0; i < c.nx; ++i)
        p += (s(climate::H, j, i) - c.depth) *
             std::cos(2 * pi * (static_cast<double>(i) + 0.5) / static_cast<double>(c.nx));
    return climate::global_sum(MPI_COMM_WORLD, p);
  };
  double previous = projection(), t_quarter = 0;
  for (int s = 0; s < 1000 && t_quarter == 0; ++s) {
    m.step();
    const double now = projection();
    if (previous > 0 && now <= 0) t_quarter = m.time() - c.dt * now / (now - previous);  // linear interpolation
    previous = now;
  }
  ASSERT_GT(t_quarter, 0);
  const double measured = c.lx / (4 * t_quarter), expected = std::sqrt(c.g * c.depth);
  EXPECT_LT(std::abs(measured / expected - 1), 0.01) << "phase speed " << measured << " m/s, sqrt(gH) " << expected;
}

TEST(Climate, BalancedJetStaysSteady) {
  Config c;
  c.nx = c.ny = 96;
  c.dt = 80;
  c.viscosity = 0;
  c.amplitude = 0;  // no perturbation
  Model m(c, MPI_COMM_WORLD);
  m.initialise();
  const auto before = gather_state(m, MPI_COMM_WORLD);
  for (int s = 0; s < 225; ++s) m.step();  // 5 hours
  const auto after = gather_state(m, MPI_COMM_WORLD);
  const std::size_t n = static_cast<std::size_t>(c.nx * c.ny);
  double dh = 0, du = 0, dv = 0;
  for (std::size_t p = 0; p < n; ++p) {
    dh = std::max(dh, std::abs(after[p] - before[p]));
    du = std::max(du, std::abs(after[n + p] - before[n + p]));
    dv = std::max(dv, std::abs(after[2 * n + p] - before[2 * n + p]));
  }
  // The jet's height drop is 2 f U w / g ~ 41 m and its speed 20 m/s.
  EXPECT_LT(dh, 0.01 * 41) << "h moved by " << dh << " m";
  EXPECT_LT(du, 0.01 * c.jet_speed) << "u moved by " << du << " m/s";
  EXPECT_LT(dv, 0.01 * c.jet_speed) << "v grew to " << dv << " m/s";
}

// The CPU sweep (rows, in 1 or several chunks, its stages fused or one by
// one) and the GPU one (a thread per point) are the same arithmetic:
// identical fields after an eddying jet run, on rows of two strips of the CPU
// sweep ending in a part-filled block and on rows of a block and one column.
// At 3 ranks (12 rows each) 5 chunks fuse as 3 of 4 rows, the fewest allowed.
TEST(Climate, RowAndPointSweepsGiveIdenticalFields) {
  if (!climate::row_sweep_available()) GTEST_SKIP() << "this build has the points sweep only";
  for (const int64_t nx : {300, 9}) {
    auto run = [nx](const std::string& sweep, int64_t chunks, int steps, bool fuse = true) {
      Config c;
      c.nx = nx;
      c.ny = 36;
      c.dt = 50;
      c.amplitude = 200;  // a strong perturbation, so every term matters
      c.sweep = sweep;
      c.row_chunks = chunks;
      c.fuse_stages = fuse;
      Model m(c, MPI_COMM_WORLD);
      m.initialise();
      for (int s = 0; s < steps; ++s) m.step();
      return gather_state(m, MPI_COMM_WORLD);
    };
    const auto points = run("points", 0, 60), rows = run("rows", 1, 60), chunked = run("rows", 5, 60);
    const auto staged = run("rows", 1, 60, false), staged_chunked = run("rows", 5, 60, false);
    const auto initial = run("rows", 1, 0);
    ASSERT_EQ(points.size(), rows.size());
    std::size_t rows_differ = 0, chunks_differ = 0, staged_differ = 0, staged_chunks_differ = 0;
    double moved = 0;
    for (std::size_t p = 0; p < points.size(); ++p) {
      rows_differ += rows[p] != points[p];
      chunks_differ += chunked[p] != points[p];
      staged_differ += staged[p] != points[p];
      staged_chunks_differ += staged_chunked[p] != points[p];
      moved = std::max(moved, std::abs(points[p] - initial[p]));
    }
    EXPECT_EQ(rows_differ, 0u) << "fused, of " << points.size() << " values, nx = " << nx;
    EXPECT_EQ(chunks_differ, 0u) << "fused in chunks, of " << points.size() << " values, nx = " << nx;
    EXPECT_EQ(staged_differ, 0u) << "stage by stage, of " << points.size() << " values, nx = " << nx;
    EXPECT_EQ(staged_chunks_differ, 0u) << "stage by stage in chunks, of " << points.size() << " values, nx = " << nx;
    EXPECT_GT(moved, 1.0) << "nx = " << nx;  // the state evolved
  }
  Config bad;
  bad.sweep = "diagonal";
  EXPECT_THROW(Model(bad, MPI_COMM_WORLD), msa::ConfigError);
  // Bands of 3 rows are too thin to fuse the stages: stage by stage, the
  // same fields (one rank has at least 4 rows: the grid's smallest).
  int ranks = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  if (ranks == 1) return;
  auto thin = [ranks](const std::string& sweep) {
    Config c;
    c.nx = 40;
    c.ny = 3 * ranks;
    c.dt = 50;
    c.amplitude = 200;
    c.sweep = sweep;
    Model m(c, MPI_COMM_WORLD);
    m.initialise();
    for (int s = 0; s < 30; ++s) m.step();
    return gather_state(m, MPI_COMM_WORLD);
  };
  EXPECT_EQ(thin("rows"), thin("points")) << "bands of 3 rows";
}

TEST(Climate, RestartIsBitwiseIdenticalAndAgreesAtAnotherRankCount) {
  msa::test::ScratchDir dir(MPI_COMM_WORLD, "climate");
  Config c;
  c.nx = c.ny = 48;
  c.dt = 120;
  Model straight(c, MPI_COMM_WORLD);
  straight.initialise();
  for (int s = 0; s < 40; ++s) straight.step();
  const auto reference = gather_state(straight, MPI_COMM_WORLD);

  msa::io::Checkpoints checkpoints(MPI_COMM_WORLD, dir.path().string(), "model");
  {
    Model first(c, MPI_COMM_WORLD);
    first.initialise();
    for (int s = 0; s < 25; ++s) first.step();
    auto cp = checkpoints.begin(first.steps(), first.time());
    cp.write("state", first.owned(), msa::Decomposition::of(first.global_shape(), first.box()));
    cp.commit();
  }
  auto restart_on = [&](MPI_Comm comm) {
    Model second(c, comm);
    second.initialise();
    msa::io::Checkpoints mine(comm, dir.path().string(), "model");
    auto latest = mine.latest();
    EXPECT_TRUE(latest.has_value());
    Kokkos::View<double***, Kokkos::LayoutRight> owned("owned", 3, second.box().count[1], c.nx);
    latest->read("state", owned, msa::Decomposition::of(second.global_shape(), second.box()));
    second.restore(owned, latest->info().step);
    while (second.steps() < 40) second.step();
    return gather_state(second, comm);
  };
  const auto restarted = restart_on(MPI_COMM_WORLD);
  ASSERT_EQ(restarted.size(), reference.size());
  std::size_t different = 0;
  for (std::size_t p = 0; p < reference.size(); ++p) different += restarted[p] != reference[p];
  EXPECT_EQ(different, 0u) << "of " << reference.size() << " values";

  // Restarted by fewer ranks (all but the last).
  if (world_size() > 1) {
    MPI_Comm fewer = MPI_COMM_NULL;
    MPI_Comm_split(MPI_COMM_WORLD, world_rank() < world_size() - 1 ? 0 : MPI_UNDEFINED, world_rank(), &fewer);
    if (fewer != MPI_COMM_NULL) {
      msa::Comm owner = msa::Comm::adopt(fewer);
      const auto other = restart_on(owner);
      double worst = 0;
      for (std::size_t p = 0; p < reference.size(); ++p)
        worst = std::max(worst, std::abs(other[p] - reference[p]) / std::max(1.0, std::abs(reference[p])));
      EXPECT_LT(worst, 1e-12);
    }
  }
}

TEST(Climate, AnalysisEqualsASerialRecomputationFromHdf5) {
  msa::test::ScratchDir dir(MPI_COMM_WORLD, "climate");
  Config c;
  c.nx = 40;
  c.ny = 30;
  c.dt = 120;
  Model m(c, MPI_COMM_WORLD);
  m.initialise();
  const std::string path = dir.file("fields.h5");
  const int frames = 3;
  {
    auto file = msa::io::File::create(path, MPI_COMM_WORLD);
    auto ds = file.create_dataset<double>("state", {frames, 3, c.ny, c.nx});
    for (int f = 0; f < frames; ++f) {
      for (int s = 0; s < 15; ++s) m.step();
      msa::Box box = msa::Box::of({f, 0, m.box().start[1], 0}, {1, 3, m.box().count[1], c.nx});
      auto owned = m.owned();
      Kokkos::View<double****, Kokkos::LayoutRight, Kokkos::HostSpace> one("one", 1, 3, m.box().count[1], c.nx);
      Kokkos::deep_copy(Kokkos::subview(one, 0, Kokkos::ALL, Kokkos::ALL, Kokkos::ALL), owned);
      ds.write(one, box);
    }
    file.close();
  }
  // Parallel analysis, in its own decomposition (read back with the Store).
  const climate::Grid grid = climate::grid_of(c);
  climate::AnalysisConfig ac;
  ac.threshold = c.depth - 20.0;  // inside the jets' range of h
  ac.bins = 16;
  ac.hist_min = c.depth - 40;
  ac.hist_max = c.depth + 10;
  const msa::Box rows = msa::block_along({c.ny}, 0, world_size(), world_size() - 1 - world_rank());
  climate::Analysis analysis(grid, ac, MPI_COMM_WORLD, rows.start[0], rows.count[0]);
  auto file = msa::io::File::open(path, MPI_COMM_WORLD);
  auto ds = file.dataset("state");
  // Serial recomputation from the whole file, on every rank.
  auto whole_file = msa::io::File::open(path);
  std::vector<double> all(static_cast<std::size_t>(frames * 3 * c.ny * c.nx));
  whole_file.dataset("state").read_raw(all.data(), msa::DataType::float64, msa::Box::whole({frames, 3, c.ny, c.nx}));
  const double dx = c.dx(), dy = c.dy();
  for (int f = 0; f < frames; ++f) {
    std::vector<double> mine(static_cast<std::size_t>(3 * rows.count[0] * c.nx));
    ds.read_raw(mine.data(), msa::DataType::float64,
                msa::Box::of({f, 0, rows.start[0], 0}, {1, 3, rows.count[0], c.nx}));
    const auto d = analysis.compute(mine.data());
    analysis.accumulate(mine.data());

    auto at = [&](int k, int64_t j, int64_t i) {
      j = (j + c.ny) % c.ny;
      i = (i + c.nx) % c.nx;
      return all[static_cast<std::size_t>(((f * 3 + k) * c.ny + j) * c.nx + i)];
    };
    double sum[4] = {0, 0, 0, 0}, lo[4], hi[4], mass = 0, energy = 0, area = 0;
    std::vector<int64_t> histogram(16, 0);
    for (int k = 0; k < 4; ++k) lo[k] = 1e300, hi[k] = -1e300;
    for (int64_t j = 0; j < c.ny; ++j)
      for (int64_t i = 0; i < c.nx; ++i) {
        const double zeta = (at(2, j, i) - at(2, j, i - 1)) / dx - (at(1, j, i) - at(1, j - 1, i)) / dy;
        const double v[4] = {at(0, j, i), at(1, j, i), at(2, j, i), zeta};
        for (int k = 0; k < 4; ++k) sum[k] += v[k], lo[k] = std::min(lo[k], v[k]), hi[k] = std::max(hi[k], v[k]);
        const double ke = 0.25 * (std::pow(at(1, j, i), 2) + std::pow(at(1, j, i + 1), 2) + std::pow(at(2, j, i), 2) +
                                  std::pow(at(2, j + 1, i), 2));
        mass += at(0, j, i) * dx * dy;
        energy += (at(0, j, i) * ke + 0.5 * c.g * at(0, j, i) * at(0, j, i)) * dx * dy;
        if (at(0, j, i) > ac.threshold) area += dx * dy;
        const int b = std::clamp(static_cast<int>(std::floor((at(0, j, i) - ac.hist_min) / 50.0 * 16)), 0, 15);
        ++histogram[static_cast<std::size_t>(b)];
      }
    const double cells = static_cast<double>(c.nx * c.ny);
    auto close = [](double a, double b) { return std::abs(a - b) <= 1e-12 * std::max(1.0, std::abs(b)); };
    for (int k = 0; k < 4; ++k) {
      EXPECT_TRUE(close(d.mean[static_cast<std::size_t>(k)], sum[k] / cells)) << "frame " << f << " field " << k;
      EXPECT_EQ(d.min[static_cast<std::size_t>(k)], lo[k]) << "frame " << f << " field " << k;
      EXPECT_EQ(d.max[static_cast<std::size_t>(k)], hi[k]) << "frame " << f << " field " << k;
    }
    EXPECT_TRUE(close(d.mass, mass)) << d.mass << " vs " << mass;
    EXPECT_TRUE(close(d.energy, energy)) << d.energy << " vs " << energy;
    EXPECT_TRUE(close(d.area_above, area)) << d.area_above << " vs " << area;
    EXPECT_GT(area, 0);  // the threshold is crossed somewhere
    EXPECT_EQ(d.histogram, histogram);
    for (int64_t j = 0; j < rows.count[0]; ++j) {
      double zh = 0;
      for (int64_t i = 0; i < c.nx; ++i) zh += at(0, rows.start[0] + j, i);
      EXPECT_TRUE(close(d.zonal_h[static_cast<std::size_t>(j)], zh / static_cast<double>(c.nx)));
    }
  }
  // Running mean and variance against two passes over the frames.
  for (int64_t j = 0; j < rows.count[0]; ++j)
    for (int64_t i = 0; i < c.nx; ++i) {
      double mean = 0, var = 0;
      for (int f = 0; f < frames; ++f)
        mean += all[static_cast<std::size_t>(((f * 3 + 1) * c.ny + rows.start[0] + j) * c.nx + i)] / frames;
      for (int f = 0; f < frames; ++f)
        var += std::pow(all[static_cast<std::size_t>(((f * 3 + 1) * c.ny + rows.start[0] + j) * c.nx + i)] - mean, 2) /
               frames;
      const auto cell = static_cast<std::size_t>(j * c.nx + i);
      EXPECT_NEAR(analysis.mean(1)[cell], mean, 1e-12 * std::max(1.0, std::abs(mean)));
      EXPECT_NEAR(analysis.variance(1)[cell], var, 1e-10 * std::max(1e-6, var));
    }
  EXPECT_EQ(analysis.samples(), frames);
}

}  // namespace
