#pragma once
// Diagnostics of shallow-water fields received in the analysis component's
// own decomposition (bands of rows): global mean/min/max of h, u, v and
// relative vorticity, total mass and energy, zonal means, a histogram of h,
// the area where h exceeds a threshold, and running time mean and variance
// per grid point (Welford).
#include <mpi.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "msa/decomposition.hpp"

namespace climate {

/// The grid and physics the diagnostics need (sent by the model with each step).
struct Grid {
  int64_t nx = 0, ny = 0;
  double lx = 0, ly = 0, g = 9.81, depth = 1000;
  double dx() const { return lx / static_cast<double>(nx); }
  double dy() const { return ly / static_cast<double>(ny); }
};

struct AnalysisConfig {
  double threshold = 0;  ///< h above this counts towards the area (m)
  int bins = 40;         ///< histogram bins over [hist_min, hist_max]; outside values go to the end bins
  double hist_min = 0, hist_max = 0;
};

/// Results of one step. Global values are the same on every rank; zonal
/// means are this rank's rows.
struct Diagnostics {
  static constexpr int kFields = 4;  // h, u, v, vorticity
  std::array<double, kFields> mean{}, min{}, max{};
  double mass = 0, energy = 0, area_above = 0;
  std::vector<double> zonal_h, zonal_u;
  std::vector<int64_t> histogram;
};

class Analysis {
 public:
  /// Collective over `comm`; `rows` is this rank's band [row0, row0 + rows)
  /// (non-empty; the bands cover the rows, in any order of ranks).
  Analysis(const Grid& grid, const AnalysisConfig& config, MPI_Comm comm, int64_t row0, int64_t rows);

  /// Collective: diagnostics of a step; `fields` is [3][rows][nx] (h, u, v), LayoutRight.
  Diagnostics compute(const double* fields);
  /// Adds a step to the running mean and variance.
  void accumulate(const double* fields);
  int64_t samples() const { return m_samples; }
  /// Running mean and (population) variance of field k (0 h, 1 u, 2 v), [rows][nx].
  const std::vector<double>& mean(int k) const { return m_mean[static_cast<std::size_t>(k)]; }
  std::vector<double> variance(int k) const;

  const Grid& grid() const { return m_grid; }
  const AnalysisConfig& config() const { return m_config; }
  int64_t row0() const { return m_row0; }
  int64_t rows() const { return m_rows; }
  /// Centres of the histogram bins.
  std::vector<double> bin_centres() const;

 private:
  Grid m_grid;
  AnalysisConfig m_config;
  MPI_Comm m_comm;
  int m_rank = 0, m_size = 1;
  int m_below = 0, m_above = 0;  // ranks holding the rows just below and above my band (periodic)
  int64_t m_row0 = 0, m_rows = 0;
  int64_t m_samples = 0;
  std::array<std::vector<double>, 3> m_mean, m_m2;
};

}  // namespace climate
