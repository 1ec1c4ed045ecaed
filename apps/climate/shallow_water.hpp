#pragma once
// Rotating shallow-water equations on a doubly periodic f-plane, on an
// Arakawa C grid: h at cell centres, u on west faces, v on south faces.
// Mass in flux form (face fluxes telescope: total mass is conserved to
// round-off), momentum in vector-invariant form with the potential vorticity
// flux, SSP Runge-Kutta 3 in time. The domain is split into bands of rows
// over the component's ranks, with one halo row exchanged with each neighbour
// (periodic) before every stage.
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "analysis.hpp"
#include "msa/decomposition.hpp"

namespace climate {

/// Physical and numerical settings of a run.
struct Config {
  int64_t nx = 128, ny = 128;     ///< grid cells
  double lx = 2.0e6, ly = 2.0e6;  ///< domain size (m)
  double g = 9.81;                ///< gravity (m/s^2)
  double f = 1.0e-4;              ///< Coriolis parameter (1/s)
  double depth = 1000.0;          ///< mean depth H (m)
  double dt = 60.0;               ///< time step (s)
  std::string initial = "jet";    ///< jet | bump | wave
  double jet_speed = 20.0;        ///< m/s
  double jet_width = 1.0e5;       ///< m
  double amplitude = 10.0;        ///< bump or wave height (m)
  /// Laplacian viscosity on u and v (m^2/s); < 0: 0.01 dx dy / dt, enough to
  /// keep grid-scale noise from growing in long runs. Mass is not affected.
  double viscosity = -1;
  /// How a stage sweeps the grid: "rows" (chunks of rows in strips of
  /// columns, vectors of 8 points, terms kept in cache; for CPUs), "points" (a
  /// thread per point; for GPUs) or "auto" (by where Kokkos runs kernels).
  /// Both give the same fields. "rows" exists in CPU-only builds with GCC 12
  /// or later or Clang (see row_sweep_available()); elsewhere "auto" is
  /// "points" and "rows" a ConfigError.
  std::string sweep = "auto";
  /// "rows" sweep: chunks of rows swept independently (in parallel on
  /// threaded backends); 0: one per thread Kokkos runs.
  int64_t row_chunks = 0;
  /// "rows" sweep: the three stages of a step in one pass over the rows
  /// (stage 1 two rows ahead of stage 3, so that stage 2 and 3 read what the
  /// stage before wrote from cache), where every chunk has at least 4 rows;
  /// false, or fewer rows: stage by stage. Both give the same fields.
  bool fuse_stages = true;
  double nu() const { return viscosity >= 0 ? viscosity : 0.01 * dx() * dy() / dt; }

  double dx() const { return lx / static_cast<double>(nx); }
  double dy() const { return ly / static_cast<double>(ny); }
  /// Checks the settings; throws msa::ConfigError naming the bad one.
  void validate(int ranks) const;
};

/// Whether this build has the "rows" sweep (Config::sweep).
bool row_sweep_available();

/// The grid and physics the analysis needs, from a model configuration.
Grid grid_of(const Config& config);

/// Fields: state(0|1|2, row, column) = h, u, v; rows 0 and n+1, columns 0
/// and nx+1 are halos. Rows are padded so that column 1 starts a cache line,
/// with a few lines before and after (whole-line vector loads along rows);
/// hence the strided layout.
using Fields = Kokkos::View<double***, Kokkos::LayoutStride>;
enum Field : int { H = 0, U = 1, V = 2 };

class Model {
 public:
  /// Collective over `comm` (the component's ranks): this rank's band of rows.
  Model(const Config& config, MPI_Comm comm);

  const Config& config() const { return m_config; }
  /// The global shape of the fields as one array: [3, ny, nx].
  std::vector<int64_t> global_shape() const { return {3, m_config.ny, m_config.nx}; }
  /// This rank's box of [3, ny, nx].
  const msa::Box& box() const { return m_box; }
  /// The owned part of the fields (no halos), a strided view of [3, rows, nx].
  auto owned() const {
    return Kokkos::subview(m_state, Kokkos::ALL, std::make_pair<int64_t, int64_t>(1, m_rows + 1),
                           std::make_pair<int64_t, int64_t>(1, m_config.nx + 1));
  }
  /// The whole state with halos (for tests).
  const Fields& state() const { return m_state; }

  /// Sets the initial state (config().initial).
  void initialise();
  /// Advances one time step. Collective.
  void step();
  int64_t steps() const { return m_steps; }
  double time() const { return static_cast<double>(m_steps) * m_config.dt; }
  /// Restores a state read from a checkpoint: `owned` holds [3, rows, nx].
  template <class View>
  void restore(const View& owned_state, int64_t steps) {
    Kokkos::deep_copy(owned(), owned_state);
    m_steps = steps;
  }

  /// Collective: total mass (sum of h dx dy) and energy (kinetic + potential).
  double mass() const;
  double energy() const;

  // Public only because CUDA's device lambdas may not live in private member
  // functions; not part of the interface.
  void exchange_halos(const Fields& s) const;
  void stage(const Fields& in, const Fields& base, const Fields& out, double a, double b) const;
  /// The step with its stages fused (Config::fuse_stages) over `chunks` chunks of at least 4 rows.
  void fused_step(int64_t chunks) const;

 private:
  Config m_config;
  MPI_Comm m_comm;
  int m_rank = 0, m_size = 1;
  int64_t m_rows = 0, m_row0 = 0;
  msa::Box m_box;
  Fields m_state, m_stage1, m_stage2;
  // Per stage: mass fluxes, Bernoulli function and potential vorticity of rows,
  // as (chunk, ring slot, term, column) or (0, row, term, column); see stage().
  // The "rows" sweep has two ring slots for each of the three stages (slots
  // 0-1 for a stage on its own; all six in fused_step()).
  using Terms = Kokkos::View<double****, Kokkos::LayoutStride>;
  Terms m_terms;
  // fused_step()'s rows of stages 1 and 2 computed in its pass, as (chunk,
  // 4 stage + row % 4, field, column).
  Terms m_ring;
  bool m_sweep_rows = false;  // set by the constructor
  // The rows a halo exchange sends and receives, (low | high, field, column),
  // and their host copies for MPI; allocated once when there are neighbours.
  using HaloRows = Kokkos::View<double***, Kokkos::LayoutRight>;
  HaloRows m_halo_send, m_halo_recv;
  HaloRows::HostMirror m_halo_send_host, m_halo_recv_host;
  int64_t m_steps = 0;
};

/// Collective: sum over `comm`.
double global_sum(MPI_Comm comm, double local);

}  // namespace climate
