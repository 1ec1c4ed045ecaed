#include "shallow_water.hpp"

#include <fmt/format.h>

#include <cmath>

#include "msa/comm.hpp"
#include "msa/error.hpp"

namespace climate {

void Config::validate(int ranks) const {
  auto fail = [](const std::string& what) { throw msa::ConfigError("climate model: " + what); };
  if (nx < 4 || ny < 4) fail(fmt::format("the grid is {} x {}; use at least 4 x 4 cells", nx, ny));
  if (ny < ranks) fail(fmt::format("{} rows cannot be split over {} ranks; use --ny >= {}", ny, ranks, ranks));
  if (!(lx > 0 && ly > 0 && g > 0 && depth > 0 && dt > 0)) fail("lx, ly, g, depth and dt must be positive");
  if (initial != "jet" && initial != "bump" && initial != "wave")
    fail(fmt::format("initial state '{}' is not one of jet, bump, wave", initial));
  // The fastest discrete gravity wave, 2 c sqrt(1/dx^2 + 1/dy^2), must stay
  // inside RK3's stability interval on the imaginary axis (sqrt(3)).
  const double c = std::sqrt(g * depth);
  const double omega_dt = 2.0 * c * dt * std::sqrt(1.0 / (dx() * dx()) + 1.0 / (dy() * dy()));
  if (omega_dt > std::sqrt(3.0))
    fail(
        fmt::format("time step {} s is too long for {:.0f} m/s gravity waves on {:.0f} x {:.0f} m cells "
                    "(omega dt = {:.2f} > sqrt(3)); use --dt <= {:.1f}",
                    dt, c, dx(), dy(), omega_dt, dt * std::sqrt(3.0) / omega_dt));
}

Grid grid_of(const Config& c) {
  Grid g;
  g.nx = c.nx;
  g.ny = c.ny;
  g.lx = c.lx;
  g.ly = c.ly;
  g.g = c.g;
  g.depth = c.depth;
  return g;
}

double global_sum(MPI_Comm comm, double local) {
  double total = 0;
  msa::check_mpi(MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, comm), "climate: global sum");
  return total;
}

namespace {

// The discrete operators at one point; all reads stay within one halo.
struct Stencil {
  Fields s;
  double rdx, rdy, g, f, nu;

  KOKKOS_INLINE_FUNCTION double flux_x(int64_t j, int64_t i) const {  // h u on the west face of (j, i)
    return 0.5 * (s(H, j, i - 1) + s(H, j, i)) * s(U, j, i);
  }
  KOKKOS_INLINE_FUNCTION double flux_y(int64_t j, int64_t i) const {  // h v on the south face of (j, i)
    return 0.5 * (s(H, j - 1, i) + s(H, j, i)) * s(V, j, i);
  }
  KOKKOS_INLINE_FUNCTION double pv(int64_t j, int64_t i) const {  // (f + zeta) / h at the south-west corner
    const double zeta = (s(V, j, i) - s(V, j, i - 1)) * rdx - (s(U, j, i) - s(U, j - 1, i)) * rdy;
    const double hv = 0.25 * (s(H, j, i) + s(H, j, i - 1) + s(H, j - 1, i) + s(H, j - 1, i - 1));
    return (f + zeta) / hv;
  }
  KOKKOS_INLINE_FUNCTION double bernoulli(int64_t j, int64_t i) const {  // g h + kinetic energy, at the centre
    const double k = 0.25 * (s(U, j, i) * s(U, j, i) + s(U, j, i + 1) * s(U, j, i + 1) + s(V, j, i) * s(V, j, i) +
                             s(V, j + 1, i) * s(V, j + 1, i));
    return g * s(H, j, i) + k;
  }
  KOKKOS_INLINE_FUNCTION double laplacian(int k, int64_t j, int64_t i) const {
    return (s(k, j, i + 1) - 2 * s(k, j, i) + s(k, j, i - 1)) * rdx * rdx +
           (s(k, j + 1, i) - 2 * s(k, j, i) + s(k, j - 1, i)) * rdy * rdy;
  }
};

using Range2 = Kokkos::MDRangePolicy<Kokkos::Rank<2>>;

}  // namespace

Model::Model(const Config& config, MPI_Comm comm) : m_config(config), m_comm(comm) {
  msa::check_mpi(MPI_Comm_rank(comm, &m_rank), "climate: MPI_Comm_rank");
  msa::check_mpi(MPI_Comm_size(comm, &m_size), "climate: MPI_Comm_size");
  m_config.validate(m_size);
  m_box = msa::block_along(global_shape(), 1, m_size, m_rank);
  m_rows = m_box.count[1];
  m_row0 = m_box.start[1];
  const auto rows = static_cast<std::size_t>(m_rows + 2), cols = static_cast<std::size_t>(m_config.nx + 2);
  m_state = Fields("climate::state", 3, rows, cols);
  m_stage1 = Fields("climate::stage1", 3, rows, cols);
  m_stage2 = Fields("climate::stage2", 3, rows, cols);
  m_work = Fields("climate::work", 4, rows, cols);
}

void Model::initialise() {
  const Config c = m_config;
  const double dx = c.dx(), dy = c.dy();
  const int64_t row0 = m_row0;
  const Fields s = m_state;
  const int kind = c.initial == "jet" ? 0 : c.initial == "bump" ? 1 : 2;
  const double pi = 3.14159265358979323846;
  Kokkos::parallel_for(
      "climate::initialise", Range2({1, 1}, {m_rows + 1, c.nx + 1}), KOKKOS_LAMBDA(const int64_t j, const int64_t i) {
        const double y = (static_cast<double>(row0 + j - 1) + 0.5) * dy;  // centres and u points
        const double x = (static_cast<double>(i - 1) + 0.5) * dx;         // centres and v points
        double h = c.depth, u = 0, v = 0;
        if (kind == 0) {
          // Two opposite jets (the domain is periodic in y) in geostrophic
          // balance, f u = -g dh/dy, and a small wave-4 bump on the first.
          const double a = (y - 0.25 * c.ly) / c.jet_width, b = (y - 0.75 * c.ly) / c.jet_width;
          u = c.jet_speed * (1.0 / (::cosh(a) * ::cosh(a)) - 1.0 / (::cosh(b) * ::cosh(b)));
          h = c.depth - c.f * c.jet_speed * c.jet_width / c.g * (::tanh(a) - ::tanh(b)) +
              0.01 * c.amplitude * ::cos(8.0 * pi * x / c.lx) * ::exp(-a * a);
        } else if (kind == 1) {
          const double sigma = c.lx / 20.0, rx = x - 0.5 * c.lx, ry = y - 0.5 * c.ly;
          h = c.depth + c.amplitude * ::exp(-(rx * rx + ry * ry) / (2.0 * sigma * sigma));
        } else {
          h = c.depth + c.amplitude * ::cos(2.0 * pi * x / c.lx);
        }
        s(H, j, i) = h;
        s(U, j, i) = u;
        s(V, j, i) = v;
      });
  Kokkos::fence();
  m_steps = 0;
}

void Model::exchange_halos(const Fields& s) const {
  const int64_t n = m_rows, nx = m_config.nx;
  // Rows: the neighbours' first and last owned rows (periodic in y).
  if (m_size == 1) {
    Kokkos::parallel_for(
        "climate::halo_rows", Range2({0, 1}, {3, nx + 1}), KOKKOS_LAMBDA(const int64_t k, const int64_t i) {
          s(k, 0, i) = s(k, n, i);
          s(k, n + 1, i) = s(k, 1, i);
        });
  } else {
    using Buffer = Kokkos::View<double**, Kokkos::LayoutRight>;
    Buffer send_low("send_low", 3, nx), send_high("send_high", 3, nx), recv_low("recv_low", 3, nx),
        recv_high("recv_high", 3, nx);
    Kokkos::parallel_for(
        "climate::halo_pack", Range2({0, 0}, {3, nx}), KOKKOS_LAMBDA(const int64_t k, const int64_t i) {
          send_low(k, i) = s(k, 1, i + 1);
          send_high(k, i) = s(k, n, i + 1);
        });
    Kokkos::fence();
    // Device data goes through host copies (no assumption of a GPU-aware MPI).
    auto sl = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), send_low);
    auto sh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), send_high);
    auto rl = Kokkos::create_mirror_view(recv_low);
    auto rh = Kokkos::create_mirror_view(recv_high);
    const int below = (m_rank + m_size - 1) % m_size, above = (m_rank + 1) % m_size;
    const int count = static_cast<int>(3 * nx);
    msa::check_mpi(MPI_Sendrecv(sh.data(), count, MPI_DOUBLE, above, 11, rl.data(), count, MPI_DOUBLE, below, 11,
                                m_comm, MPI_STATUS_IGNORE),
                   "climate: halo exchange");
    msa::check_mpi(MPI_Sendrecv(sl.data(), count, MPI_DOUBLE, below, 12, rh.data(), count, MPI_DOUBLE, above, 12,
                                m_comm, MPI_STATUS_IGNORE),
                   "climate: halo exchange");
    Kokkos::deep_copy(recv_low, rl);
    Kokkos::deep_copy(recv_high, rh);
    Kokkos::parallel_for(
        "climate::halo_unpack", Range2({0, 0}, {3, nx}), KOKKOS_LAMBDA(const int64_t k, const int64_t i) {
          s(k, 0, i + 1) = recv_low(k, i);
          s(k, n + 1, i + 1) = recv_high(k, i);
        });
  }
  // Columns (periodic in x), halo rows included so the corners are right.
  Kokkos::parallel_for(
      "climate::halo_columns", Range2({0, 0}, {3, n + 2}), KOKKOS_LAMBDA(const int64_t k, const int64_t j) {
        s(k, j, 0) = s(k, j, nx);
        s(k, j, nx + 1) = s(k, j, 1);
      });
  Kokkos::fence();
}

// out = a base + b (in + dt L(in)) on the owned cells. Two passes: the face
// fluxes, potential vorticity and Bernoulli function once per point (on the
// owned cells and the one-point rim the update reads), then the update, which
// combines them (recomputing them per use cost five times the arithmetic).
void Model::stage(const Fields& in, const Fields& base, const Fields& out, double a, double b) const {
  exchange_halos(in);
  const Stencil st{in, 1.0 / m_config.dx(), 1.0 / m_config.dy(), m_config.g, m_config.f, m_config.nu()};
  const double dt = m_config.dt, rdx = st.rdx, rdy = st.rdy, nu = st.nu;
  const int64_t n = m_rows, nx = m_config.nx;
  const Fields w = m_work;
  enum { FX = 0, FY = 1, Q = 2, B = 3 };
  // One team per row, the row's points spread over the team's threads and
  // vector lanes: contiguous, vectorisable inner loops on CPUs, coalesced on GPUs.
  using Team = Kokkos::TeamPolicy<>::member_type;
  Kokkos::parallel_for(
      "climate::stage_terms", Kokkos::TeamPolicy<>(static_cast<int>(n + 2), Kokkos::AUTO),
      KOKKOS_LAMBDA(const Team& t) {
        const int64_t j = t.league_rank();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(t, nx + 2), [&](const int64_t i) {
          if (i >= 1) w(FX, j, i) = st.flux_x(j, i);
          if (j >= 1) w(FY, j, i) = st.flux_y(j, i);
          if (j >= 1 && i >= 1) w(Q, j, i) = st.pv(j, i);
          if (j <= n && i <= nx) w(B, j, i) = st.bernoulli(j, i);
        });
      });
  Kokkos::parallel_for(
      "climate::stage_update", Kokkos::TeamPolicy<>(static_cast<int>(n), Kokkos::AUTO), KOKKOS_LAMBDA(const Team& t) {
        const int64_t j = t.league_rank() + 1;
        Kokkos::parallel_for(Kokkos::TeamThreadRange(t, int64_t{1}, nx + 1), [&](const int64_t i) {
          const double dh = -((w(FX, j, i + 1) - w(FX, j, i)) * rdx + (w(FY, j + 1, i) - w(FY, j, i)) * rdy);
          const double du = 0.5 * (w(Q, j, i) + w(Q, j + 1, i)) *
                                (0.25 * (w(FY, j, i - 1) + w(FY, j, i) + w(FY, j + 1, i - 1) + w(FY, j + 1, i))) -
                            (w(B, j, i) - w(B, j, i - 1)) * rdx + nu * st.laplacian(U, j, i);
          const double dv = -(0.5 * (w(Q, j, i) + w(Q, j, i + 1))) *
                                (0.25 * (w(FX, j - 1, i) + w(FX, j - 1, i + 1) + w(FX, j, i) + w(FX, j, i + 1))) -
                            (w(B, j, i) - w(B, j - 1, i)) * rdy + nu * st.laplacian(V, j, i);
          const double h = in(H, j, i) + dt * dh;
          const double u = in(U, j, i) + dt * du;
          const double v = in(V, j, i) + dt * dv;
          // `out` may be `base`: each point reads only its own base value.
          const double hb = a != 0 ? base(H, j, i) : 0, ub = a != 0 ? base(U, j, i) : 0,
                       vb = a != 0 ? base(V, j, i) : 0;
          out(H, j, i) = a * hb + b * h;
          out(U, j, i) = a * ub + b * u;
          out(V, j, i) = a * vb + b * v;
        });
      });
  Kokkos::fence();
}

void Model::step() {
  // SSP-RK3 (Shu and Osher).
  stage(m_state, m_state, m_stage1, 0.0, 1.0);
  stage(m_stage1, m_state, m_stage2, 0.75, 0.25);
  stage(m_stage2, m_state, m_state, 1.0 / 3.0, 2.0 / 3.0);
  ++m_steps;
}

double Model::mass() const {
  const Fields s = m_state;
  double local = 0;
  Kokkos::parallel_reduce(
      "climate::mass", Range2({1, 1}, {m_rows + 1, m_config.nx + 1}),
      KOKKOS_LAMBDA(const int64_t j, const int64_t i, double& sum) { sum += s(H, j, i); }, local);
  return global_sum(m_comm, local) * m_config.dx() * m_config.dy();
}

double Model::energy() const {
  exchange_halos(m_state);
  const Fields s = m_state;
  const double g = m_config.g;
  double local = 0;
  Kokkos::parallel_reduce(
      "climate::energy", Range2({1, 1}, {m_rows + 1, m_config.nx + 1}),
      KOKKOS_LAMBDA(const int64_t j, const int64_t i, double& sum) {
        const double h = s(H, j, i);
        const double k = 0.25 * (s(U, j, i) * s(U, j, i) + s(U, j, i + 1) * s(U, j, i + 1) + s(V, j, i) * s(V, j, i) +
                                 s(V, j + 1, i) * s(V, j + 1, i));
        sum += h * k + 0.5 * g * h * h;
      },
      local);
  return global_sum(m_comm, local) * m_config.dx() * m_config.dy();
}

}  // namespace climate
