#include "shallow_water.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "msa/comm.hpp"
#include "msa/error.hpp"

// The CPU sweep's blocks are vectors of GCC (12 or later) and Clang (see
// Lanes). Builds with a GPU backend, whose kernels are compiled for the
// device too, and other compilers have the GPU sweep only.
#if defined(__GNUC__) && defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector) && !defined(KOKKOS_ENABLE_CUDA) && !defined(KOKKOS_ENABLE_HIP) && \
    !defined(KOKKOS_ENABLE_SYCL) && !defined(KOKKOS_ENABLE_OPENMPTARGET)
#define CLIMATE_ROW_SWEEP 1
// Functions taking and returning those vectors are all inlined in this file,
// so the compilers' note that their calling convention differs without
// AVX-512 concerns no call that exists.
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
#endif

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
  if (sweep == "rows" && !row_sweep_available())
    fail("sweep 'rows' needs a CPU-only build with GCC 12 or later or Clang; this build has 'points' only");
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

bool row_sweep_available() {
#ifdef CLIMATE_ROW_SWEEP
  return true;
#else
  return false;
#endif
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

/// Doubles in a cache line (64 bytes on the CPUs we build for).
constexpr int64_t kLine = 8;

struct Physics {
  double dt, rdx, rdy, rdx2, rdy2, g, f, nu;
};

// The discrete operators on values, so that both sweeps evaluate the same
// expressions and give the same bits: V is double (the GPU sweep, a point per
// thread) or a block of points along a row (the CPU sweep).
//
// The terms of row r, T(r), are what the updates of rows r and r + 1 share:
// the mass flux across the west faces of row r (h u, columns 1..nx+1), the
// Bernoulli function g h + kinetic energy at its centres (columns 0..nx), the
// mass flux across the south faces of row r + 1 (h v, columns 0..nx) and the
// potential vorticity (f + zeta) / h at the south-west corners of row r + 1
// (columns 1..nx+1). T(r) reads rows r and r + 1 of the input. Suffixes name
// neighbours: _w column i - 1, _e column i + 1, _n the next row, _s the one
// before (for terms: T(j - 1) when updating row j).
enum Term : int { FX = 0, BE = 1, FY = 2, PV = 3, TERMS = 4 };

template <class V>
KOKKOS_FORCEINLINE_FUNCTION V flux_x(V h_w, V h, V u) {
  return 0.5 * (h_w + h) * u;
}
template <class V>
KOKKOS_FORCEINLINE_FUNCTION V bernoulli(const Physics& p, V h, V u, V u_e, V v, V v_n) {
  return p.g * h + 0.25 * (u * u + u_e * u_e + v * v + v_n * v_n);
}
template <class V>
KOKKOS_FORCEINLINE_FUNCTION V flux_y(V h, V h_n, V v_n) {
  return 0.5 * (h + h_n) * v_n;
}
template <class V>
KOKKOS_FORCEINLINE_FUNCTION V potential_vorticity(const Physics& p, V h_w, V h, V u, V h_nw, V h_n, V u_n, V v_nw,
                                                  V v_n) {
  const V zeta = (v_n - v_nw) * p.rdx - (u_n - u) * p.rdy;
  return (p.f + zeta) / (0.25 * (h_n + h_nw + h + h_w));
}

// out = a base + b (in + dt L(in)) of one field of row j; `Base` false: a = 0.
// Terms without a suffix are T(j)'s, with _s T(j - 1)'s.
template <bool Base, class V>
KOKKOS_FORCEINLINE_FUNCTION V next_state(double a, double b, V in, V base, V dt_tendency) {
  const V stepped = in + dt_tendency;
  if constexpr (Base)
    return a * base + b * stepped;
  else
    return b * stepped;
}
template <bool Base, class V>
KOKKOS_FORCEINLINE_FUNCTION V update_h(const Physics& p, double a, double b, V h, V hb, V fx, V fx_e, V fy_s, V fy) {
  const V dh = -((fx_e - fx) * p.rdx + (fy - fy_s) * p.rdy);
  return next_state<Base>(a, b, h, hb, p.dt * dh);
}
template <bool Base, class V>
KOKKOS_FORCEINLINE_FUNCTION V update_u(const Physics& p, double a, double b, V u_w, V u, V u_e, V u_s, V u_n, V ub,
                                       V pv_s, V pv, V fy_sw, V fy_s, V fy_w, V fy, V be_w, V be) {
  const V du = 0.5 * (pv_s + pv) * (0.25 * (fy_sw + fy_s + fy_w + fy)) - (be - be_w) * p.rdx +
               p.nu * ((u_e - 2 * u + u_w) * p.rdx2 + (u_n - 2 * u + u_s) * p.rdy2);
  return next_state<Base>(a, b, u, ub, p.dt * du);
}
template <bool Base, class V>
KOKKOS_FORCEINLINE_FUNCTION V update_v(const Physics& p, double a, double b, V v_w, V v, V v_e, V v_s, V v_n, V vb,
                                       V pv_s, V pv_se, V fx_s, V fx_se, V fx, V fx_e, V be_s, V be) {
  const V dv = -(0.5 * (pv_s + pv_se)) * (0.25 * (fx_s + fx_se + fx + fx_e)) - (be - be_s) * p.rdy +
               p.nu * ((v_e - 2 * v + v_w) * p.rdx2 + (v_n - 2 * v + v_s) * p.rdy2);
  return next_state<Base>(a, b, v, vb, p.dt * dv);
}

/// Pointers to column 0 of the rows the terms of row r use.
struct TermRows {
  const double *h, *u, *v;     // input row r
  const double *hn, *un, *vn;  // input row r + 1
  double* t[TERMS];            // T(r)
  const double* ahead[3];      // input rows kAhead further on (CPU sweep: asked for early)
};

/// T(r) at column i (the GPU sweep).
KOKKOS_FORCEINLINE_FUNCTION void terms_point(const Physics& p, const TermRows& r, int64_t nx, int64_t i) {
  if (i <= nx) {
    r.t[BE][i] = bernoulli(p, r.h[i], r.u[i], r.u[i + 1], r.v[i], r.vn[i]);
    r.t[FY][i] = flux_y(r.h[i], r.hn[i], r.vn[i]);
  }
  if (i >= 1) {
    r.t[FX][i] = flux_x(r.h[i - 1], r.h[i], r.u[i]);
    r.t[PV][i] =
        potential_vorticity(p, r.h[i - 1], r.h[i], r.u[i], r.hn[i - 1], r.hn[i], r.un[i], r.vn[i - 1], r.vn[i]);
  }
}

/// Pointers to column 0 of the rows the update of row j uses.
struct UpdateRows {
  const double *h, *u, *v;      // input row j
  const double *us, *vs;        // input row j - 1
  const double *un, *vn;        // input row j + 1
  const double* below[TERMS];   // T(j - 1)
  const double* above[TERMS];   // T(j)
  const double *hb, *ub, *vb;   // base row j
  double *ho, *uo, *vo;         // output row j
  const double* base_ahead[3];  // base and output rows kAhead further on (CPU sweep)
  const double* out_ahead[3];
};

/// All three fields at column i of row j (the GPU sweep).
template <bool Base>
KOKKOS_FORCEINLINE_FUNCTION void update_point(const Physics& p, const UpdateRows& r, double a, double b, int64_t i) {
  const double *fx_s = r.below[FX], *be_s = r.below[BE], *fy_s = r.below[FY], *pv_s = r.below[PV];
  const double *fx = r.above[FX], *be = r.above[BE], *fy = r.above[FY], *pv = r.above[PV];
  r.ho[i] = update_h<Base>(p, a, b, r.h[i], r.hb[i], fx[i], fx[i + 1], fy_s[i], fy[i]);
  r.uo[i] = update_u<Base>(p, a, b, r.u[i - 1], r.u[i], r.u[i + 1], r.us[i], r.un[i], r.ub[i], pv_s[i], pv[i],
                           fy_s[i - 1], fy_s[i], fy[i - 1], fy[i], be[i - 1], be[i]);
  r.vo[i] = update_v<Base>(p, a, b, r.v[i - 1], r.v[i], r.v[i + 1], r.vs[i], r.vn[i], r.vb[i], pv_s[i], pv_s[i + 1],
                           fx_s[i], fx_s[i + 1], fx[i], fx[i + 1], be_s[i], be[i]);
}

#ifdef CLIMATE_ROW_SWEEP
// The CPU sweep works on blocks of kLine columns, 1 + kLine b .. kLine (b + 1),
// each a whole cache line, as vectors of the compiler (one AVX-512 register
// where built for it, two AVX2 or four NEON ones elsewhere). A block's neighbours at
// i - 1 and i + 1 are put together in registers from the blocks beside it
// instead of loaded at an offset, which reads two cache lines each time: on
// 128 x 128 this sweep takes 5.1 ns per point and step where loops the
// compiler vectorised point by point took 7.0 (msa_bench_climate).
typedef double Lanes __attribute__((vector_size(kLine * sizeof(double))));
static_assert(kLine == 8, "Blocks::w() and e() pick lanes of 8");

/// Blocks per strip: a stage sweeps the rows in strips of columns, so that the
/// rows it reuses stay in the level-1 cache (1024 x 1024: 8.5-9 ns per point
/// and step, against 11.3 sweeping whole rows, whose 25 row streams spill it).
constexpr int64_t kStrip = 32;

/// Input, base and output rows the CPU sweep asks for this many rows ahead.
constexpr int64_t kAhead = 2;

// The lambdas a row's blocks are computed in: inlined where they are called,
// else each block costs a call (GCC kept them out of line in the fused step,
// whose functions are larger: 1.4x slower in cache).
#define CLIMATE_INLINE_LAMBDA __attribute__((always_inline))

// Asks for the cache line at `ptr` ahead of its use.
#define CLIMATE_PREFETCH(ptr, for_write) __builtin_prefetch((ptr), (for_write), 3)

KOKKOS_FORCEINLINE_FUNCTION Lanes load_block(const double* row, int64_t b) {
  Lanes x;
  __builtin_memcpy(&x, row + 1 + kLine * b, sizeof x);
  return x;
}
KOKKOS_FORCEINLINE_FUNCTION void store_block(double* row, int64_t b, Lanes x) {
  __builtin_memcpy(row + 1 + kLine * b, &x, sizeof x);
}
/// A row read block by block: the block at hand and the two beside it.
struct Blocks {
  const double* row;
  Lanes before, at, after;
  KOKKOS_FORCEINLINE_FUNCTION Blocks(const double* r, int64_t b)
      : row(r), before(load_block(r, b - 1)), at(load_block(r, b)), after(load_block(r, b + 1)) {}
  /// From block b to b + 1.
  KOKKOS_FORCEINLINE_FUNCTION void advance(int64_t b) {
    before = at;
    at = after;
    after = load_block(row, b + 2);
  }
  /// Columns i - 1 and i + 1 of the block at hand.
  KOKKOS_FORCEINLINE_FUNCTION Lanes w() const {
    return __builtin_shufflevector(before, at, 7, 8, 9, 10, 11, 12, 13, 14);
  }
  KOKKOS_FORCEINLINE_FUNCTION Lanes e() const { return __builtin_shufflevector(at, after, 1, 2, 3, 4, 5, 6, 7, 8); }
};

/// T(r) on blocks first..last. Blocks reach past columns 0 and nx + 1 into
/// the rows' padding (see padded_rows): values there are computed from
/// whatever it holds and never read.
KOKKOS_FORCEINLINE_FUNCTION void terms_blocks(const Physics& p, const TermRows& r, int64_t first, int64_t last) {
  Blocks h(r.h, first), u(r.u, first), hn(r.hn, first), un(r.un, first), vn(r.vn, first);
  Lanes v = load_block(r.v, first);
  for (int64_t b = first; b <= last; ++b) {
    for (int k = 0; k < 3; ++k) CLIMATE_PREFETCH(r.ahead[k] + 1 + kLine * b, 0);
    store_block(r.t[BE], b, bernoulli(p, h.at, u.at, u.e(), v, vn.at));
    store_block(r.t[FY], b, flux_y(h.at, hn.at, vn.at));
    store_block(r.t[FX], b, flux_x(h.w(), h.at, u.at));
    store_block(r.t[PV], b, potential_vorticity(p, h.w(), h.at, u.at, hn.w(), hn.at, un.at, vn.w(), vn.at));
    h.advance(b), u.advance(b), hn.advance(b), un.advance(b), vn.advance(b);
    v = load_block(r.v, b + 1);
  }
}

/// Calls `update(b, whole)` for blocks k0..k1-1 of columns 1..nx; `whole`
/// false for a last block that reaches past column nx.
template <class Update>
KOKKOS_FORCEINLINE_FUNCTION void for_blocks(int64_t nx, int64_t k0, int64_t k1, const Update& update) {
  const int64_t whole = nx / kLine < k1 ? nx / kLine : k1;
  for (int64_t b = k0; b < whole; ++b) update(b, true);
  if (whole < k1) update(whole, false);
}

/// Writes block b of a row, or only its columns up to nx if it is not whole.
KOKKOS_FORCEINLINE_FUNCTION void put_block(double* row, int64_t b, bool whole, int64_t nx, Lanes x) {
  if (whole) {
    store_block(row, b, x);
  } else {
    for (int64_t l = 0; 1 + kLine * b + l <= nx; ++l) row[1 + kLine * b + l] = x[l];
  }
}

/// Row j on blocks k0..k1-1, from T(j - 1) and T(j): a sweep per field, each
/// with few enough row pointers to keep them in registers.
template <bool Base>
KOKKOS_FORCEINLINE_FUNCTION void update_blocks(const Physics& p, const UpdateRows& r, double a, double b, int64_t nx,
                                               int64_t k0, int64_t k1) {
  const auto ask_ahead = [&](int field, int64_t k) {
    CLIMATE_PREFETCH(r.base_ahead[field] + 1 + kLine * k, 0);
    CLIMATE_PREFETCH(r.out_ahead[field] + 1 + kLine * k, 1);
  };
  {
    Blocks fx(r.above[FX], k0);
    for_blocks(nx, k0, k1, [&](int64_t k, bool whole) CLIMATE_INLINE_LAMBDA {
      ask_ahead(H, k);
      put_block(r.ho, k, whole, nx,
                update_h<Base>(p, a, b, load_block(r.h, k), load_block(r.hb, k), fx.at, fx.e(),
                               load_block(r.below[FY], k), load_block(r.above[FY], k)));
      fx.advance(k);
    });
  }
  {
    Blocks u(r.u, k0), fy_s(r.below[FY], k0), fy(r.above[FY], k0), be(r.above[BE], k0);
    for_blocks(nx, k0, k1, [&](int64_t k, bool whole) CLIMATE_INLINE_LAMBDA {
      ask_ahead(U, k);
      put_block(r.uo, k, whole, nx,
                update_u<Base>(p, a, b, u.w(), u.at, u.e(), load_block(r.us, k), load_block(r.un, k),
                               load_block(r.ub, k), load_block(r.below[PV], k), load_block(r.above[PV], k), fy_s.w(),
                               fy_s.at, fy.w(), fy.at, be.w(), be.at));
      u.advance(k), fy_s.advance(k), fy.advance(k), be.advance(k);
    });
  }
  {
    Blocks v(r.v, k0), pv_s(r.below[PV], k0), fx_s(r.below[FX], k0), fx(r.above[FX], k0);
    for_blocks(nx, k0, k1, [&](int64_t k, bool whole) CLIMATE_INLINE_LAMBDA {
      ask_ahead(V, k);
      put_block(r.vo, k, whole, nx,
                update_v<Base>(p, a, b, v.w(), v.at, v.e(), load_block(r.vs, k), load_block(r.vn, k),
                               load_block(r.vb, k), pv_s.at, pv_s.e(), fx_s.at, fx_s.e(), fx.at, fx.e(),
                               load_block(r.below[BE], k), load_block(r.above[BE], k)));
      v.advance(k), pv_s.advance(k), fx_s.advance(k), fx.advance(k);
    });
  }
}
#endif

using Range2 = Kokkos::MDRangePolicy<Kokkos::Rank<2>>;

/// A view of rows of `cols` values whose column 1 starts a cache line: the
/// rows of a larger allocation, shifted so and padded to whole lines (vector
/// loads of a block then stay on one line; measured 1.3x faster at 1024 x
/// 1024 than rows of exactly nx + 2 values). The CPU sweep reads whole blocks
/// from two before column 1's to three after the one holding column nx (see
/// Blocks and terms_blocks): every row has at least that much padding on each
/// side. In the fields it only ever holds the zeros it was initialised with;
/// in the terms, values computed from them that nothing reads.
template <class View>
View padded_rows(const std::string& name, std::array<std::size_t, View::rank - 1> outer, std::size_t cols) {
  static_assert(View::rank == 3 || View::rank == 4, "fields and terms only");
  using Whole = Kokkos::View<typename View::data_type, Kokkos::LayoutRight, typename View::memory_space>;
  const auto line = static_cast<std::size_t>(kLine);
  const std::size_t padded = (cols + line - 1) / line * line + 7 * line;
  Whole whole;
  if constexpr (View::rank == 3)
    whole = Whole(name, outer[0], outer[1], padded);
  else
    whole = Whole(name, outer[0], outer[1], outer[2], padded);
  // Column 1 of row 0 on a line, 16 to 23 values into the row; rows are whole
  // lines, so then every row's.
  const auto address = reinterpret_cast<std::uintptr_t>(whole.data()) / sizeof(double);
  const std::size_t shift = 2 * line - 1 + (line - address % line) % line;
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
#ifdef CLIMATE_ROW_SWEEP
  const bool host =
      Kokkos::SpaceAccessibility<Kokkos::HostSpace, Kokkos::DefaultExecutionSpace::memory_space>::accessible;
  m_sweep_rows = m_config.sweep == "rows" || (m_config.sweep == "auto" && host);
#else
  m_sweep_rows = false;
#endif
  if (m_sweep_rows) {
    const int64_t wanted = m_config.row_chunks > 0 ? m_config.row_chunks : Kokkos::DefaultExecutionSpace::concurrency();
    const auto chunks = static_cast<std::size_t>(std::clamp<int64_t>(wanted, 1, m_rows));
    m_terms = padded_rows<Terms>("climate::terms", {chunks, 6, TERMS}, cols);
    m_ring = padded_rows<Terms>("climate::ring", {chunks, 8, 3}, cols);
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
// On CPUs ("rows"): each chunk of rows is swept from south to north, a strip
// of columns at a time, keeping the terms of the last two rows in a small ring
// (cache resident), so the stage reads `in` and `base` and writes `out` once
// from memory; the rows kAhead further on are asked for early, since the
// hardware prefetchers lose track of this many streams. A chunk recomputes the
// terms of the row below it.
// On GPUs ("points"): a thread per point, the terms of all rows in one pass,
// then the update in a second.
void Model::stage(const Fields& in, const Fields& base, const Fields& out, double a, double b) const {
  exchange_halos(in);
  const double rdx = 1.0 / m_config.dx(), rdy = 1.0 / m_config.dy();
  const Physics p{m_config.dt, rdx, rdy, rdx * rdx, rdy * rdy, m_config.g, m_config.f, m_config.nu()};
  const int64_t n = m_rows, nx = m_config.nx;
  const Terms terms = m_terms;
  const bool with_base = a != 0;
  // Row pointers of T(r) in chunk c, slot k; of the input rows r, r + 1.
  const auto term_rows = [=] KOKKOS_FUNCTION(int64_t c, int64_t k, int64_t r) {
    return TermRows{&in(H, r, 0),
                    &in(U, r, 0),
                    &in(V, r, 0),
                    &in(H, r + 1, 0),
                    &in(U, r + 1, 0),
                    &in(V, r + 1, 0),
                    {&terms(c, k, FX, 0), &terms(c, k, BE, 0), &terms(c, k, FY, 0), &terms(c, k, PV, 0)},
                    {}};
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
#ifdef CLIMATE_ROW_SWEEP
  if (m_sweep_rows) {
    const int64_t chunks = static_cast<int64_t>(terms.extent(0)), per = (n + chunks - 1) / chunks;
    const int64_t blocks = (nx + kLine - 1) / kLine;
    Kokkos::parallel_for(
        "climate::stage_rows", Kokkos::RangePolicy<>(0, chunks), KOKKOS_LAMBDA(const int64_t c) {
          const int64_t first = 1 + c * per, last = first + per < n + 1 ? first + per : n + 1;
          // The row kAhead after `row`, or `row` itself past `end`.
          const auto ahead = [](int64_t row, int64_t end) { return row + kAhead <= end ? row + kAhead : row; };
          for (int64_t k0 = 0; k0 < blocks && first < last; k0 += kStrip) {
            const int64_t k1 = k0 + kStrip < blocks ? k0 + kStrip : blocks;
            // T(r) on the strip's blocks and one beside it on each side.
            const auto terms_of = [&](int64_t r) {
              TermRows t = term_rows(c, r & 1, r);
              for (int f = 0; f < 3; ++f) t.ahead[f] = &in(f, ahead(r + 1, n + 1), 0);
              terms_blocks(p, t, k0 - 1, k1);
            };
            terms_of(first - 1);
            for (int64_t j = first; j < last; ++j) {
              terms_of(j);
              UpdateRows r = update_rows(c, (j - 1) & 1, j & 1, j);
              for (int f = 0; f < 3; ++f) {
                r.base_ahead[f] = &base(f, ahead(j, n), 0);
                r.out_ahead[f] = &out(f, ahead(j, n), 0);
              }
              if (with_base)
                update_blocks<true>(p, r, a, b, nx, k0, k1);
              else
                update_blocks<false>(p, r, a, b, nx, k0, k1);
            }
          }
        });
    Kokkos::fence();
    return;
  }
#endif
  {
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

// The three stages of a step in one pass over the rows, for CPUs: stage 3
// of row j reads the stage-2 rows j - 1 .. j + 1, which read the stage-1 rows
// j - 1 .. j + 2, so a chunk computes, row after row, stage 1 of row j + 2,
// stage 2 of row j + 1 and stage 3 of row j, and the rows each stage reads are
// still in cache. The rows stages 1 and 2 compute in that pass live in small
// rings (m_ring) and never go to memory: of the 24 field arrays a step reads
// or writes stage by stage, the state crosses memory once each way (stage 3
// writes it in place, as a stage on its own does); figures in the README. A
// stage's rows next to another chunk or rank are computed first (stage 1:
// the first two and last two rows of every chunk; stage 2: the first and
// last), each followed by the halo exchange the stage would have had, so
// chunks and ranks meet as they do stage by stage, with the same arithmetic
// for every point: the fields are bitwise those of the stage-by-stage sweeps.
// Each stage keeps its terms in ring slots of its own (2 k, 2 k + 1), and
// every row sets its periodic column halos at once, as exchange_halos()
// would before the next stage. Rows are swept whole, not in strips: a strip
// of stage 2 would need stage 1's halo column of a row not finished yet.
void Model::fused_step(int64_t chunks) const {
#ifdef CLIMATE_ROW_SWEEP
  const double rdx = 1.0 / m_config.dx(), rdy = 1.0 / m_config.dy();
  const Physics physics{m_config.dt, rdx, rdy, rdx * rdx, rdy * rdy, m_config.g, m_config.f, m_config.nu()};
  const int64_t n = m_rows, columns = m_config.nx, column_blocks = (columns + kLine - 1) / kLine;
  const Terms terms = m_terms;
  const Fields s0 = m_state, s1 = m_stage1, s2 = m_stage2;
  const Terms ring = m_ring;
  // Row r of field f of what stage k (0, 1) computes, in the chunk of rows
  // [first, last): the rows computed in the pass (stage 1: first + 2 ..
  // last - 3, stage 2: first + 1 .. last - 2) live in a ring of 4 per stage
  // and chunk, never written to memory; the others (and the halo rows) in s1
  // and s2, where the halo exchanges find them.
  const auto stage_row = [=] KOKKOS_FUNCTION(int k, int64_t c, int64_t first, int64_t last, int f, int64_t r) {
    const bool in_ring = k == 0 ? r >= first + 2 && r <= last - 3 : r >= first + 1 && r <= last - 2;
    if (in_ring) return &ring(c, 4 * k + (r & 3), f, 0);
    return k == 0 ? &s1(f, r, 0) : &s2(f, r, 0);
  };
  // Stage k (0, 1, 2) of row j in chunk c (rows [first, last)), with T(j - 1)
  // computed first unless the ring holds it (`fresh` false: this stage's last
  // row in the chunk was j - 1).
  const auto row = [=] KOKKOS_FUNCTION(int64_t c, auto stage, int64_t first, int64_t last, int64_t j, bool fresh) {
    constexpr int k = decltype(stage)::value;
    const Physics p = physics;  // a local: stores through the row pointers cannot alias it
    const int64_t nx = columns, blocks = column_blocks;
    const auto in_row = [&](int f, int64_t r) -> const double* {
      if constexpr (k == 0)
        return &s0(f, r, 0);
      else
        return stage_row(k - 1, c, first, last, f, r);
    };
    const auto out_row = [&](int f, int64_t r) -> double* {
      if constexpr (k == 2)
        return &s0(f, r, 0);
      else
        return stage_row(k, c, first, last, f, r);
    };
    const auto terms_of = [&](int64_t r) {
      const int64_t slot = 2 * k + (r & 1);
      TermRows t{in_row(H, r),
                 in_row(U, r),
                 in_row(V, r),
                 in_row(H, r + 1),
                 in_row(U, r + 1),
                 in_row(V, r + 1),
                 {&terms(c, slot, FX, 0), &terms(c, slot, BE, 0), &terms(c, slot, FY, 0), &terms(c, slot, PV, 0)},
                 {}};
      // Only stage 1 reads rows from memory (the state, asked for ahead).
      const int64_t next = k == 0 && r + 1 + kAhead <= n + 1 ? r + 1 + kAhead : r + 1;
      for (int f = 0; f < 3; ++f) t.ahead[f] = in_row(f, next);
      terms_blocks(p, t, -1, blocks);
    };
    for (int64_t t = fresh ? j - 1 : j; t <= j; ++t) terms_of(t);  // one call site: inlined
    UpdateRows r{};
    r.h = in_row(H, j), r.u = in_row(U, j), r.v = in_row(V, j);
    r.us = in_row(U, j - 1), r.vs = in_row(V, j - 1), r.un = in_row(U, j + 1), r.vn = in_row(V, j + 1);
    for (int t = 0; t < TERMS; ++t) {
      r.below[t] = &terms(c, 2 * k + ((j - 1) & 1), t, 0);
      r.above[t] = &terms(c, 2 * k + (j & 1), t, 0);
    }
    r.hb = &s0(H, j, 0), r.ub = &s0(U, j, 0), r.vb = &s0(V, j, 0);
    r.ho = out_row(H, j), r.uo = out_row(U, j), r.vo = out_row(V, j);
    // The base and output rows are in cache already.
    for (int f = 0; f < 3; ++f) {
      r.base_ahead[f] = &s0(f, j, 0);
      r.out_ahead[f] = out_row(f, j);
    }
    // The same coefficients as step()'s stages.
    if constexpr (k == 0)
      update_blocks<false>(p, r, 0.0, 1.0, nx, 0, blocks);
    else if constexpr (k == 1)
      update_blocks<true>(p, r, 0.75, 0.25, nx, 0, blocks);
    else
      update_blocks<true>(p, r, 1.0 / 3.0, 2.0 / 3.0, nx, 0, blocks);
    for (int f = 0; f < 3; ++f) {
      double* o = out_row(f, j);
      o[0] = o[nx];
      o[nx + 1] = o[1];
    }
  };
  using S1 = std::integral_constant<int, 0>;
  using S2 = std::integral_constant<int, 1>;
  using S3 = std::integral_constant<int, 2>;
  // Chunk c's rows [first, last), at least 4 of them.
  const auto first_of = [=] KOKKOS_FUNCTION(int64_t c) { return 1 + c * n / chunks; };
  using Chunks = Kokkos::RangePolicy<>;
  exchange_halos(m_state);
  Kokkos::parallel_for(
      "climate::fused_stage1_edges", Chunks(0, chunks), KOKKOS_LAMBDA(const int64_t c) {
        const int64_t first = first_of(c), last = first_of(c + 1);
        row(c, S1{}, first, last, first, true);
        row(c, S1{}, first, last, first + 1, false);
        row(c, S1{}, first, last, last - 2, true);
        row(c, S1{}, first, last, last - 1, false);
      });
  Kokkos::fence();
  exchange_halos(m_stage1);
  Kokkos::parallel_for(
      "climate::fused_stage2_edges", Chunks(0, chunks), KOKKOS_LAMBDA(const int64_t c) {
        const int64_t first = first_of(c), last = first_of(c + 1);
        row(c, S2{}, first, last, first, true);
        row(c, S2{}, first, last, last - 1, true);
      });
  Kokkos::fence();
  exchange_halos(m_stage2);
  Kokkos::parallel_for(
      "climate::fused_rows", Chunks(0, chunks), KOKKOS_LAMBDA(const int64_t c) {
        const int64_t first = first_of(c), last = first_of(c + 1);
        for (int64_t j = first; j < last; ++j) {
          // Stage 1 of rows first + 2 .. last - 3 and stage 2 of rows
          // first + 1 .. last - 2: the others were computed above.
          if (j + 2 <= last - 3) row(c, S1{}, first, last, j + 2, j == first);
          if (j + 1 <= last - 2) row(c, S2{}, first, last, j + 1, j == first);
          row(c, S3{}, first, last, j, j == first);
        }
      });
  Kokkos::fence();
#else
  (void)chunks;
  throw msa::ConfigError("climate model: fused stages need the rows sweep, which this build has not");
#endif
}

void Model::step() {
#ifdef CLIMATE_ROW_SWEEP
  if (m_sweep_rows && m_config.fuse_stages) {
    const int64_t chunks = std::min<int64_t>(static_cast<int64_t>(m_terms.extent(0)), m_rows / 4);
    if (chunks >= 1) {
      fused_step(chunks);
      ++m_steps;
      return;
    }
  }
#endif
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
