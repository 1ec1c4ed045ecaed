#include "shallow_water.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

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
  if (sweep != "auto" && sweep != "rows" && sweep != "points")
    fail(fmt::format("sweep '{}' is not one of auto, rows, points", sweep));
  if (row_chunks < 0) fail(fmt::format("row_chunks is {}; use 0 (one per thread) or more", row_chunks));
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

// Lets the compiler vectorise a loop over one row without run-time overlap
// checks. Safe: a loop writes rows of `out` or of the terms ring and reads
// other arrays (`in` is never `out`, see step()), except that `out` is `base`
// in the last stage, where each iteration reads base[i] and writes out[i].
#if defined(__clang__)
#define CLIMATE_ROW_LOOP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__) && !defined(__CUDA_ARCH__) && !defined(__NVCC__)
#define CLIMATE_ROW_LOOP _Pragma("GCC ivdep")
#else
#define CLIMATE_ROW_LOOP
#endif

// Asks for the cache line at `ptr` ahead of its use (host compilers only).
#if defined(__GNUC__) && !defined(__CUDA_ARCH__) && !defined(__HIP_DEVICE_COMPILE__)
#define CLIMATE_PREFETCH(ptr, for_write) __builtin_prefetch((ptr), (for_write), 3)
#else
#define CLIMATE_PREFETCH(ptr, for_write) ((void)(ptr), (void)(for_write))
#endif

/// Doubles in a cache line (64 bytes on the CPUs we build for).
constexpr int64_t kLine = 8;

struct Physics {
  double dt, rdx, rdy, rdx2, rdy2, g, f, nu;
};

// The discrete operators, written on rows (pointers to column 0 of a row) so
// that the same code serves a loop along a row on CPUs and a thread per point
// on GPUs. All reads stay within one halo.
//
// The terms of row r, T(r), are what the updates of rows r and r + 1 share:
// the mass flux across the west faces of row r (h u, columns 1..nx+1), the
// Bernoulli function g h + kinetic energy at its centres (columns 0..nx), the
// mass flux across the south faces of row r + 1 (h v, columns 0..nx) and the
// potential vorticity (f + zeta) / h at the south-west corners of row r + 1
// (columns 1..nx+1). T(r) reads rows r and r + 1 of the input.
enum Term : int { FX = 0, BE = 1, FY = 2, PV = 3, TERMS = 4 };

struct TermRows {
  const double *h, *u, *v;     // input row r
  const double *hn, *un, *vn;  // input row r + 1
  double* t[TERMS];            // T(r)
};

KOKKOS_FORCEINLINE_FUNCTION double flux_x(const TermRows& r, int64_t i) { return 0.5 * (r.h[i - 1] + r.h[i]) * r.u[i]; }
KOKKOS_FORCEINLINE_FUNCTION double bernoulli(const Physics& p, const TermRows& r, int64_t i) {
  return p.g * r.h[i] + 0.25 * (r.u[i] * r.u[i] + r.u[i + 1] * r.u[i + 1] + r.v[i] * r.v[i] + r.vn[i] * r.vn[i]);
}
KOKKOS_FORCEINLINE_FUNCTION double flux_y(const TermRows& r, int64_t i) { return 0.5 * (r.h[i] + r.hn[i]) * r.vn[i]; }
KOKKOS_FORCEINLINE_FUNCTION double potential_vorticity(const Physics& p, const TermRows& r, int64_t i) {
  const double zeta = (r.vn[i] - r.vn[i - 1]) * p.rdx - (r.un[i] - r.u[i]) * p.rdy;
  return (p.f + zeta) / (0.25 * (r.hn[i] + r.hn[i - 1] + r.h[i] + r.h[i - 1]));
}

/// T(r) where the update of columns [lo, hi) reads it: Bernoulli function and
/// south-face fluxes on [lo - 1, hi - 1], west-face fluxes and potential
/// vorticity on [lo, hi].
KOKKOS_FORCEINLINE_FUNCTION void terms_row(const Physics& p, const TermRows& r, int64_t lo, int64_t hi) {
  double *fx = r.t[FX], *be = r.t[BE], *fy = r.t[FY], *pv = r.t[PV];
  CLIMATE_ROW_LOOP
  for (int64_t i = lo - 1; i < hi; ++i) {
    be[i] = bernoulli(p, r, i);
    fy[i] = flux_y(r, i);
  }
  CLIMATE_ROW_LOOP
  for (int64_t i = lo; i <= hi; ++i) {
    fx[i] = flux_x(r, i);
    pv[i] = potential_vorticity(p, r, i);
  }
}

/// T(r) at one point of the row.
KOKKOS_FORCEINLINE_FUNCTION void terms_point(const Physics& p, const TermRows& r, int64_t nx, int64_t i) {
  if (i <= nx) {
    r.t[BE][i] = bernoulli(p, r, i);
    r.t[FY][i] = flux_y(r, i);
  }
  if (i >= 1) {
    r.t[FX][i] = flux_x(r, i);
    r.t[PV][i] = potential_vorticity(p, r, i);
  }
}

struct UpdateRows {
  const double *h, *u, *v;     // input row j
  const double *us, *vs;       // input row j - 1
  const double *un, *vn;       // input row j + 1
  const double* below[TERMS];  // T(j - 1)
  const double* above[TERMS];  // T(j)
  const double *hb, *ub, *vb;  // base row j
  double *ho, *uo, *vo;        // output row j
};

/// out = a base + b (in + dt L(in)) at column i of row j, one field per
/// function: a CPU sweeps a row once per field (three short loops keep their
/// row pointers in registers); `Base` false: a = 0.
template <bool Base>
KOKKOS_FORCEINLINE_FUNCTION void update_h(const Physics& p, const UpdateRows& r, double a, double b, int64_t i) {
  const double *fy = r.below[FY], *fx = r.above[FX], *fyn = r.above[FY];
  const double dh = -((fx[i + 1] - fx[i]) * p.rdx + (fyn[i] - fy[i]) * p.rdy);
  const double h = r.h[i] + p.dt * dh;
  r.ho[i] = Base ? a * r.hb[i] + b * h : b * h;
}
template <bool Base>
KOKKOS_FORCEINLINE_FUNCTION void update_u(const Physics& p, const UpdateRows& r, double a, double b, int64_t i) {
  const double *fy = r.below[FY], *pv = r.below[PV];
  const double *be = r.above[BE], *fyn = r.above[FY], *pvn = r.above[PV];
  const double du =
      0.5 * (pv[i] + pvn[i]) * (0.25 * (fy[i - 1] + fy[i] + fyn[i - 1] + fyn[i])) - (be[i] - be[i - 1]) * p.rdx +
      p.nu * ((r.u[i + 1] - 2 * r.u[i] + r.u[i - 1]) * p.rdx2 + (r.un[i] - 2 * r.u[i] + r.us[i]) * p.rdy2);
  const double u = r.u[i] + p.dt * du;
  r.uo[i] = Base ? a * r.ub[i] + b * u : b * u;
}
template <bool Base>
KOKKOS_FORCEINLINE_FUNCTION void update_v(const Physics& p, const UpdateRows& r, double a, double b, int64_t i) {
  const double *fxs = r.below[FX], *bes = r.below[BE], *pv = r.below[PV];
  const double *fx = r.above[FX], *be = r.above[BE];
  const double dv =
      -(0.5 * (pv[i] + pv[i + 1])) * (0.25 * (fxs[i] + fxs[i + 1] + fx[i] + fx[i + 1])) - (be[i] - bes[i]) * p.rdy +
      p.nu * ((r.v[i + 1] - 2 * r.v[i] + r.v[i - 1]) * p.rdx2 + (r.vn[i] - 2 * r.v[i] + r.vs[i]) * p.rdy2);
  const double v = r.v[i] + p.dt * dv;
  r.vo[i] = Base ? a * r.vb[i] + b * v : b * v;
}

/// All three fields at one point (the GPU sweep).
template <bool Base>
KOKKOS_FORCEINLINE_FUNCTION void update_point(const Physics& p, const UpdateRows& r, double a, double b, int64_t i) {
  update_h<Base>(p, r, a, b, i);
  update_u<Base>(p, r, a, b, i);
  update_v<Base>(p, r, a, b, i);
}

/// The rows of one field the next row's update reads first from memory (input
/// row j + 2, base and output rows j + 1).
struct NextRows {
  const double *in, *base;
  double* out;
};

constexpr int64_t kBlock = 32;

/// Columns 1..nx of a row in blocks of kBlock, each block asking for the
/// same columns of the next rows, so that their loads are in flight while this
/// row computes (the hardware prefetchers alone left a 1024 x 1024 step 1.4x
/// slower).
template <class Point>
KOKKOS_FORCEINLINE_FUNCTION void row_loop(int64_t nx, const NextRows& next, const Point& point) {
  int64_t i0 = 1;
  for (; i0 + kBlock <= nx + 1; i0 += kBlock) {
    for (int64_t l = 0; l < kBlock; l += kLine) {
      CLIMATE_PREFETCH(next.in + i0 + l, 0);
      CLIMATE_PREFETCH(next.base + i0 + l, 0);
      CLIMATE_PREFETCH(next.out + i0 + l, 1);
    }
    CLIMATE_ROW_LOOP
    for (int64_t k = 0; k < kBlock; ++k) point(i0 + k);
  }
  for (int64_t i = i0; i <= nx; ++i) point(i);
}

template <bool Base>
KOKKOS_FORCEINLINE_FUNCTION void update_row(const Physics& p, const UpdateRows& r, double a, double b, int64_t nx,
                                            const NextRows next[3]) {
  row_loop(nx, next[H], [&](int64_t i) { update_h<Base>(p, r, a, b, i); });
  row_loop(nx, next[U], [&](int64_t i) { update_u<Base>(p, r, a, b, i); });
  row_loop(nx, next[V], [&](int64_t i) { update_v<Base>(p, r, a, b, i); });
}

using Range2 = Kokkos::MDRangePolicy<Kokkos::Rank<2>>;

/// A view of rows of `cols` values whose column 1 starts a cache line: the
/// rows of a larger allocation padded to whole lines, shifted so. Vector
/// loads at column i then stay on one line (measured 1.3x faster at
/// 1024 x 1024 than rows of exactly nx + 2 values).
template <class View>
View padded_rows(const std::string& name, std::array<std::size_t, View::rank - 1> outer, std::size_t cols) {
  static_assert(View::rank == 3 || View::rank == 4, "fields and terms only");
  using Whole = Kokkos::View<typename View::data_type, Kokkos::LayoutRight, typename View::memory_space>;
  const auto line = static_cast<std::size_t>(kLine);
  const std::size_t padded = (cols + 2 * line) / line * line;
  Whole whole;
  if constexpr (View::rank == 3)
    whole = Whole(name, outer[0], outer[1], padded);
  else
    whole = Whole(name, outer[0], outer[1], outer[2], padded);
  // Column 1 of row 0 on a line; rows are whole lines, so then every row's.
  const auto address = reinterpret_cast<std::uintptr_t>(whole.data()) / sizeof(double);
  const std::size_t shift = (2 * line - 1 - address % line) % line;
  const auto columns = std::make_pair(shift, shift + cols);
  if constexpr (View::rank == 3)
    return Kokkos::subview(whole, Kokkos::ALL, Kokkos::ALL, columns);
  else
    return Kokkos::subview(whole, Kokkos::ALL, Kokkos::ALL, Kokkos::ALL, columns);
}

}  // namespace

Model::Model(const Config& config, MPI_Comm comm) : m_config(config), m_comm(comm) {
  msa::check_mpi(MPI_Comm_rank(comm, &m_rank), "climate: MPI_Comm_rank");
  msa::check_mpi(MPI_Comm_size(comm, &m_size), "climate: MPI_Comm_size");
  m_config.validate(m_size);
  m_box = msa::block_along(global_shape(), 1, m_size, m_rank);
  m_rows = m_box.count[1];
  m_row0 = m_box.start[1];
  const auto rows = static_cast<std::size_t>(m_rows + 2), cols = static_cast<std::size_t>(m_config.nx + 2);
  if (m_size > 1) {
    m_halo_send = HaloRows("climate::halo_send", 2, 3, static_cast<std::size_t>(m_config.nx));
    m_halo_recv = HaloRows("climate::halo_recv", 2, 3, static_cast<std::size_t>(m_config.nx));
    m_halo_send_host = Kokkos::create_mirror_view(m_halo_send);
    m_halo_recv_host = Kokkos::create_mirror_view(m_halo_recv);
  }
  m_state = padded_rows<Fields>("climate::state", {3, rows}, cols);
  m_stage1 = padded_rows<Fields>("climate::stage1", {3, rows}, cols);
  m_stage2 = padded_rows<Fields>("climate::stage2", {3, rows}, cols);
  // Where kernels run decides how a stage sweeps (see stage()).
  const std::string sweep =
      m_config.sweep != "auto" ? m_config.sweep
      : Kokkos::SpaceAccessibility<Kokkos::HostSpace, Kokkos::DefaultExecutionSpace::memory_space>::accessible
          ? "rows"
          : "points";
  m_sweep_rows = sweep == "rows";
  if (m_sweep_rows) {
    const int64_t wanted = m_config.row_chunks > 0 ? m_config.row_chunks : Kokkos::DefaultExecutionSpace::concurrency();
    const auto chunks = static_cast<std::size_t>(std::clamp<int64_t>(wanted, 1, m_rows));
    m_terms = padded_rows<Terms>("climate::terms", {chunks, 2, TERMS}, cols);
  } else {
    m_terms = padded_rows<Terms>("climate::terms", {1, rows - 1, TERMS}, cols);
  }
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
    enum : int { kLow = 0, kHigh = 1 };
    const HaloRows send = m_halo_send, recv = m_halo_recv;
    Kokkos::parallel_for(
        "climate::halo_pack", Range2({0, 0}, {3, nx}), KOKKOS_LAMBDA(const int64_t k, const int64_t i) {
          send(kLow, k, i) = s(k, 1, i + 1);
          send(kHigh, k, i) = s(k, n, i + 1);
        });
    Kokkos::fence();
    // Device data goes through host copies (no assumption of a GPU-aware MPI);
    // on the host they are the same views and the copies no-ops.
    Kokkos::deep_copy(m_halo_send_host, send);
    const auto &sh = m_halo_send_host, &rh = m_halo_recv_host;
    const int below = (m_rank + m_size - 1) % m_size, above = (m_rank + 1) % m_size;
    const int count = static_cast<int>(3 * nx);
    msa::check_mpi(MPI_Sendrecv(&sh(kHigh, 0, 0), count, MPI_DOUBLE, above, 11, &rh(kLow, 0, 0), count, MPI_DOUBLE,
                                below, 11, m_comm, MPI_STATUS_IGNORE),
                   "climate: halo exchange");
    msa::check_mpi(MPI_Sendrecv(&sh(kLow, 0, 0), count, MPI_DOUBLE, below, 12, &rh(kHigh, 0, 0), count, MPI_DOUBLE,
                                above, 12, m_comm, MPI_STATUS_IGNORE),
                   "climate: halo exchange");
    Kokkos::deep_copy(recv, m_halo_recv_host);
    Kokkos::parallel_for(
        "climate::halo_unpack", Range2({0, 0}, {3, nx}), KOKKOS_LAMBDA(const int64_t k, const int64_t i) {
          s(k, 0, i + 1) = recv(kLow, k, i);
          s(k, n + 1, i + 1) = recv(kHigh, k, i);
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

// out = a base + b (in + dt L(in)) on the owned cells.
//
// On CPUs ("rows"): each chunk of rows is swept from south to north, keeping
// the terms of the last two rows in a small ring (cache resident), so the stage
// reads `in` and `base` and writes `out` once from memory, and the loops along
// rows vectorise. A chunk recomputes the terms of the row below it.
// On GPUs ("points"): a thread per point, the terms of all rows in one pass,
// then the update in a second.
void Model::stage(const Fields& in, const Fields& base, const Fields& out, double a, double b) const {
  exchange_halos(in);
  const double rdx = 1.0 / m_config.dx(), rdy = 1.0 / m_config.dy();
  const Physics p{m_config.dt, rdx, rdy, rdx * rdx, rdy * rdy, m_config.g, m_config.f, m_config.nu()};
  const int64_t n = m_rows, nx = m_config.nx;
  const Terms terms = m_terms;
  const bool with_base = a != 0;
  // Row pointers of T(r) in block c, slot k; of the input rows r, r + 1.
  const auto term_rows = [=] KOKKOS_FUNCTION(int64_t c, int64_t k, int64_t r) {
    return TermRows{&in(H, r, 0),
                    &in(U, r, 0),
                    &in(V, r, 0),
                    &in(H, r + 1, 0),
                    &in(U, r + 1, 0),
                    &in(V, r + 1, 0),
                    {&terms(c, k, FX, 0), &terms(c, k, BE, 0), &terms(c, k, FY, 0), &terms(c, k, PV, 0)}};
  };
  const auto update_rows = [=] KOKKOS_FUNCTION(int64_t c, int64_t below, int64_t above, int64_t j) {
    UpdateRows r{};
    r.h = &in(H, j, 0), r.u = &in(U, j, 0), r.v = &in(V, j, 0);
    r.us = &in(U, j - 1, 0), r.vs = &in(V, j - 1, 0), r.un = &in(U, j + 1, 0), r.vn = &in(V, j + 1, 0);
    for (int k = 0; k < TERMS; ++k) {
      r.below[k] = &terms(c, below, k, 0);
      r.above[k] = &terms(c, above, k, 0);
    }
    r.hb = &base(H, j, 0), r.ub = &base(U, j, 0), r.vb = &base(V, j, 0);
    r.ho = &out(H, j, 0), r.uo = &out(U, j, 0), r.vo = &out(V, j, 0);
    return r;
  };
  if (m_sweep_rows) {
    const int64_t chunks = static_cast<int64_t>(terms.extent(0)), per = (n + chunks - 1) / chunks;
    Kokkos::parallel_for(
        "climate::stage_rows", Kokkos::RangePolicy<>(0, chunks), KOKKOS_LAMBDA(const int64_t c) {
          const int64_t first = 1 + c * per, last = first + per < n + 1 ? first + per : n + 1;
          if (first >= last) return;
          // Strips of columns (to keep the rows in L1) measured slower: the
          // memory streams then break every strip.
          terms_row(p, term_rows(c, (first - 1) & 1, first - 1), 1, nx + 1);
          for (int64_t j = first; j < last; ++j) {
            terms_row(p, term_rows(c, j & 1, j), 1, nx + 1);
            const UpdateRows r = update_rows(c, (j - 1) & 1, j & 1, j);
            const int64_t next_in = j + 2 <= n + 1 ? j + 2 : j, next = j + 1 <= n ? j + 1 : j;
            NextRows ahead[3];
            for (int k = 0; k < 3; ++k) ahead[k] = {&in(k, next_in, 0), &base(k, next, 0), &out(k, next, 0)};
            if (with_base)
              update_row<true>(p, r, a, b, nx, ahead);
            else
              update_row<false>(p, r, a, b, nx, ahead);
          }
        });
  } else {
    using Points = Kokkos::MDRangePolicy<Kokkos::Rank<2>>;
    Kokkos::parallel_for(
        "climate::stage_terms", Points({0, 0}, {n + 1, nx + 2}),
        KOKKOS_LAMBDA(const int64_t r, const int64_t i) { terms_point(p, term_rows(0, r, r), nx, i); });
    Kokkos::parallel_for(
        "climate::stage_update", Points({1, 1}, {n + 1, nx + 1}), KOKKOS_LAMBDA(const int64_t j, const int64_t i) {
          const UpdateRows r = update_rows(0, j - 1, j, j);
          if (with_base)
            update_point<true>(p, r, a, b, i);
          else
            update_point<false>(p, r, a, b, i);
        });
  }
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
