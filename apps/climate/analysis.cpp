#include "analysis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "msa/comm.hpp"
#include "msa/error.hpp"

namespace climate {

Analysis::Analysis(const Grid& grid, const AnalysisConfig& config, MPI_Comm comm, int64_t row0, int64_t rows)
    : m_grid(grid), m_config(config), m_comm(comm), m_row0(row0), m_rows(rows) {
  msa::check_mpi(MPI_Comm_rank(comm, &m_rank), "analysis: MPI_Comm_rank");
  msa::check_mpi(MPI_Comm_size(comm, &m_size), "analysis: MPI_Comm_size");
  if (grid.ny < m_size)
    throw msa::ConfigError("analysis: " + std::to_string(grid.ny) + " rows cannot be split over " +
                           std::to_string(m_size) + " ranks");
  // Neighbours by their rows, not by their rank numbers.
  std::vector<int64_t> starts(static_cast<std::size_t>(m_size)), ends(static_cast<std::size_t>(m_size));
  const int64_t end = row0 + rows;
  msa::check_mpi(MPI_Allgather(&row0, 1, MPI_INT64_T, starts.data(), 1, MPI_INT64_T, comm), "analysis: bands");
  msa::check_mpi(MPI_Allgather(&end, 1, MPI_INT64_T, ends.data(), 1, MPI_INT64_T, comm), "analysis: bands");
  m_below = m_above = -1;
  for (int r = 0; r < m_size; ++r) {
    if (starts[static_cast<std::size_t>(r)] == end % grid.ny) m_above = r;
    if (ends[static_cast<std::size_t>(r)] % grid.ny == row0) m_below = r;
  }
  bool tiled = m_above >= 0 && m_below >= 0;
  for (int r = 0; r < m_size; ++r)
    tiled = tiled && ends[static_cast<std::size_t>(r)] > starts[static_cast<std::size_t>(r)];
  int all_tiled = tiled ? 1 : 0;
  msa::check_mpi(MPI_Allreduce(MPI_IN_PLACE, &all_tiled, 1, MPI_INT, MPI_MIN, comm), "analysis: bands");
  if (!all_tiled)
    throw msa::ConfigError("analysis: the ranks' bands of rows do not tile the " + std::to_string(grid.ny) +
                           " rows (rank " + std::to_string(m_rank) + " has [" + std::to_string(row0) + ", " +
                           std::to_string(end) + "))");
  for (auto& v : m_mean) v.assign(static_cast<std::size_t>(rows * grid.nx), 0.0);
  for (auto& v : m_m2) v.assign(static_cast<std::size_t>(rows * grid.nx), 0.0);
}

std::vector<double> Analysis::bin_centres() const {
  std::vector<double> c;
  const double w = (m_config.hist_max - m_config.hist_min) / m_config.bins;
  for (int b = 0; b < m_config.bins; ++b) c.push_back(m_config.hist_min + (b + 0.5) * w);
  return c;
}

Diagnostics Analysis::compute(const double* fields) {
  const int64_t nx = m_grid.nx, n = m_rows;
  const auto at = [&](int k, int64_t j, int64_t i) {  // j in [0, n), i periodic
    return fields[(static_cast<std::size_t>(k) * static_cast<std::size_t>(n) + static_cast<std::size_t>(j)) *
                      static_cast<std::size_t>(nx) +
                  static_cast<std::size_t>((i + nx) % nx)];
  };
  // The neighbours' rows: u of the row below (vorticity), v of the row above (energy).
  std::vector<double> u_below(static_cast<std::size_t>(nx)), v_above(static_cast<std::size_t>(nx));
  std::vector<double> u_last(static_cast<std::size_t>(nx)), v_first(static_cast<std::size_t>(nx));
  for (int64_t i = 0; i < nx && n > 0; ++i) {
    u_last[static_cast<std::size_t>(i)] = at(1, n - 1, i);
    v_first[static_cast<std::size_t>(i)] = at(2, 0, i);
  }
  // Ranks without rows pass their neighbours' rows along (a periodic chain).
  {
    const int below = m_below, above = m_above;
    const int count = static_cast<int>(nx);
    msa::check_mpi(MPI_Sendrecv(u_last.data(), count, MPI_DOUBLE, above, 21, u_below.data(), count, MPI_DOUBLE, below,
                                21, m_comm, MPI_STATUS_IGNORE),
                   "analysis: halo");
    msa::check_mpi(MPI_Sendrecv(v_first.data(), count, MPI_DOUBLE, below, 22, v_above.data(), count, MPI_DOUBLE, above,
                                22, m_comm, MPI_STATUS_IGNORE),
                   "analysis: halo");
  }
  const double dx = m_grid.dx(), dy = m_grid.dy(), area = dx * dy, g = m_grid.g;
  Diagnostics d;
  std::array<double, 4> sum{}, lo, hi;
  lo.fill(std::numeric_limits<double>::infinity());
  hi.fill(-std::numeric_limits<double>::infinity());
  double mass = 0, energy = 0, above = 0;
  std::vector<int64_t> histogram(static_cast<std::size_t>(m_config.bins), 0);
  const double bin_width = (m_config.hist_max - m_config.hist_min) / m_config.bins;
  d.zonal_h.assign(static_cast<std::size_t>(n), 0.0);
  d.zonal_u.assign(static_cast<std::size_t>(n), 0.0);
  for (int64_t j = 0; j < n; ++j) {
    double zh = 0, zu = 0;
    for (int64_t i = 0; i < nx; ++i) {
      const double h = at(0, j, i), u = at(1, j, i), v = at(2, j, i);
      const double u_south = j > 0 ? at(1, j - 1, i) : u_below[static_cast<std::size_t>(i)];
      const double v_north = j + 1 < n ? at(2, j + 1, i) : v_above[static_cast<std::size_t>((i + nx) % nx)];
      // Relative vorticity at the cell's south-west corner.
      const double zeta = (v - at(2, j, i - 1)) / dx - (u - u_south) / dy;
      const double values[4] = {h, u, v, zeta};
      for (int k = 0; k < 4; ++k) {
        sum[static_cast<std::size_t>(k)] += values[k];
        lo[static_cast<std::size_t>(k)] = std::min(lo[static_cast<std::size_t>(k)], values[k]);
        hi[static_cast<std::size_t>(k)] = std::max(hi[static_cast<std::size_t>(k)], values[k]);
      }
      const double u_east = at(1, j, i + 1);
      const double ke = 0.25 * (u * u + u_east * u_east + v * v + v_north * v_north);
      mass += h;
      energy += h * ke + 0.5 * g * h * h;
      if (h > m_config.threshold) above += area;
      auto b = static_cast<int64_t>(std::floor((h - m_config.hist_min) / bin_width));
      b = std::clamp<int64_t>(b, 0, m_config.bins - 1);
      ++histogram[static_cast<std::size_t>(b)];
      zh += h;
      zu += u;
    }
    d.zonal_h[static_cast<std::size_t>(j)] = zh / static_cast<double>(nx);
    d.zonal_u[static_cast<std::size_t>(j)] = zu / static_cast<double>(nx);
  }
  double sums[7] = {sum[0], sum[1], sum[2], sum[3], mass, energy, above};
  msa::check_mpi(MPI_Allreduce(MPI_IN_PLACE, sums, 7, MPI_DOUBLE, MPI_SUM, m_comm), "analysis: sums");
  msa::check_mpi(MPI_Allreduce(MPI_IN_PLACE, lo.data(), 4, MPI_DOUBLE, MPI_MIN, m_comm), "analysis: min");
  msa::check_mpi(MPI_Allreduce(MPI_IN_PLACE, hi.data(), 4, MPI_DOUBLE, MPI_MAX, m_comm), "analysis: max");
  msa::check_mpi(MPI_Allreduce(MPI_IN_PLACE, histogram.data(), m_config.bins, MPI_INT64_T, MPI_SUM, m_comm),
                 "analysis: histogram");
  const double cells = static_cast<double>(nx * m_grid.ny);
  for (std::size_t k = 0; k < 4; ++k) {
    d.mean[k] = sums[k] / cells;
    d.min[k] = lo[k];
    d.max[k] = hi[k];
  }
  d.mass = sums[4] * area;
  d.energy = sums[5] * area;
  d.area_above = sums[6];
  d.histogram = std::move(histogram);
  return d;
}

void Analysis::accumulate(const double* fields) {
  ++m_samples;
  const auto n = static_cast<double>(m_samples);
  const std::size_t cells = static_cast<std::size_t>(m_rows * m_grid.nx);
  for (std::size_t k = 0; k < 3; ++k) {
    auto& mean = m_mean[k];
    auto& m2 = m_m2[k];
    const double* x = fields + k * cells;
    for (std::size_t c = 0; c < cells; ++c) {
      const double delta = x[c] - mean[c];
      mean[c] += delta / n;
      m2[c] += delta * (x[c] - mean[c]);
    }
  }
}

std::vector<double> Analysis::variance(int k) const {
  std::vector<double> v = m_m2[static_cast<std::size_t>(k)];
  for (auto& x : v) x = m_samples > 0 ? x / static_cast<double>(m_samples) : 0.0;
  return v;
}

}  // namespace climate
