#pragma once
// Packing a box of a Kokkos view into a contiguous LayoutRight buffer and
// back: Kokkos kernels in the view's space, staged through a device buffer
// and a copy to host when the view's memory is not host-accessible.

#include <Kokkos_Core.hpp>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "msa/decomposition.hpp"
#include "msa/error.hpp"

namespace msa::detail {

/// Throws `Err` (ChannelError unless given) unless `view` has `box`'s rank and
/// extents. `context` is a string or a callable returning one (built only on failure).
template <class Err = ChannelError, class View, class Context>
void check_extents(const View& view, const Box& box, const Context& context) {
  bool ok = static_cast<int>(View::rank) == box.ndims;
  for (int d = 0; ok && d < box.ndims; ++d)
    ok = static_cast<int64_t>(view.extent(static_cast<unsigned>(d))) == box.count[static_cast<std::size_t>(d)];
  if (!ok) {
    std::string extents = "[";
    for (unsigned d = 0; d < View::rank; ++d) extents += (d ? ", " : "") + std::to_string(view.extent(d));
    std::string where;
    if constexpr (std::is_invocable_v<Context>)
      where = context();
    else
      where = context;
    throw Err(where + ": the view is " + std::to_string(View::rank) + "-d with extents " + extents +
              "] but this rank's box is " + box.to_string());
  }
}

// Offsets of `part` inside `owner` and its extents, for kernels (trivially copyable).
struct PartGeometry {
  int64_t offset[kMaxDims];
  int64_t count[kMaxDims];
  int64_t rows;  // product of all but the last extent
  int64_t last;  // the last extent
};

inline PartGeometry geometry(const Box& owner, const Box& part) {
  PartGeometry g{};
  g.rows = 1;
  for (int d = 0; d < part.ndims; ++d) {
    const auto i = static_cast<std::size_t>(d);
    g.offset[d] = part.start[i] - owner.start[i];
    g.count[d] = part.count[i];
    if (d + 1 < part.ndims) g.rows *= part.count[i];
  }
  g.last = part.count[static_cast<std::size_t>(part.ndims - 1)];
  return g;
}

/// Where `part` lies in a LayoutRight array over `owner` when it is one
/// contiguous run of it (past its leading extents of 1, at most its first
/// other extent differs from the owner's): the offset of its first element;
/// -1 when it is not one run, or empty.
inline int64_t contiguous_offset(const Box& owner, const Box& part) {
  if (part.empty() || part.ndims != owner.ndims || !owner.contains(part)) return -1;
  std::size_t d = 0;
  const auto nd = static_cast<std::size_t>(part.ndims);
  while (d < nd && part.count[d] == 1) ++d;
  for (std::size_t e = d + 1; e < nd; ++e)
    if (part.count[e] != owner.count[e]) return -1;
  int64_t offset = 0;
  for (std::size_t e = 0; e < nd; ++e) offset = offset * owner.count[e] + (part.start[e] - owner.start[e]);
  return offset;
}

// The element of `v` at the (local) index of row `row`, column `j` of a part.
template <class View>
KOKKOS_INLINE_FUNCTION auto& element(const View& v, const PartGeometry& g, int64_t row, int64_t j) {
  constexpr int R = static_cast<int>(View::rank);
  int64_t idx[kMaxDims] = {0, 0, 0, 0};
  idx[R - 1] = g.offset[R - 1] + j;
  for (int d = R - 2; d >= 0; --d) {
    idx[d] = g.offset[d] + row % g.count[d];
    row /= g.count[d];
  }
  if constexpr (R == 1)
    return v(idx[0]);
  else if constexpr (R == 2)
    return v(idx[0], idx[1]);
  else if constexpr (R == 3)
    return v(idx[0], idx[1], idx[2]);
  else
    return v(idx[0], idx[1], idx[2], idx[3]);
}

template <class View>
constexpr bool host_accessible() {
  return Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename View::memory_space>::accessible;
}

// Whether the whole of `v` is one contiguous block in LayoutRight order.
template <class View>
bool contiguous_right(const View& v) {
  return v.span_is_contiguous() &&
         (std::is_same_v<typename View::array_layout, Kokkos::LayoutRight> || View::rank == 1);
}

/// Copies `part` (global indices) of `src`, which holds `owner`, into `dst`
/// in LayoutRight order of `part`. `dst` is host memory.
template <class View>
void pack_view(const View& src, const Box& owner, const Box& part, typename View::non_const_value_type* dst) {
  using T = typename View::non_const_value_type;
  static_assert(static_cast<int>(View::rank) >= 1 && static_cast<int>(View::rank) <= kMaxDims, "1-d to 4-d views");
  if (part.empty()) return;
  const PartGeometry g = geometry(owner, part);
  if constexpr (host_accessible<View>()) {
    if (part == owner && contiguous_right(src)) {
      std::memcpy(dst, src.data(), static_cast<std::size_t>(part.volume()) * sizeof(T));
      return;
    }
    using Exec = Kokkos::DefaultHostExecutionSpace;
    Kokkos::parallel_for("msa::channel::pack", Kokkos::RangePolicy<Exec>(0, g.rows), [=](const int64_t row) {
      T* out = dst + row * g.last;
      for (int64_t j = 0; j < g.last; ++j) out[j] = element(src, g, row, j);
    });
    Exec().fence();
  } else {
    // Device memory: pack on the device, then one contiguous copy to host
    // (on GH200 this crosses NVLink-C2C before the network).
    using Exec = typename View::execution_space;
    Kokkos::View<T*, typename View::memory_space> staged("msa::channel::staged",
                                                         static_cast<std::size_t>(part.volume()));
    Kokkos::parallel_for(
        "msa::channel::pack", Kokkos::RangePolicy<Exec>(0, g.rows), KOKKOS_LAMBDA(const int64_t row) {
          for (int64_t j = 0; j < g.last; ++j) staged(row * g.last + j) = element(src, g, row, j);
        });
    Kokkos::View<T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> host(
        dst, static_cast<std::size_t>(part.volume()));
    Kokkos::deep_copy(host, staged);
  }
}

/// The reverse: writes `src` (LayoutRight order of `part`, host memory) into
/// `part` of `dst`, which holds `owner`.
template <class View>
void unpack_view(const View& dst, const Box& owner, const Box& part, const typename View::non_const_value_type* src) {
  using T = typename View::non_const_value_type;
  if (part.empty()) return;
  const PartGeometry g = geometry(owner, part);
  if constexpr (host_accessible<View>()) {
    if (part == owner && contiguous_right(dst)) {
      std::memcpy(dst.data(), src, static_cast<std::size_t>(part.volume()) * sizeof(T));
      return;
    }
    using Exec = Kokkos::DefaultHostExecutionSpace;
    Kokkos::parallel_for("msa::channel::unpack", Kokkos::RangePolicy<Exec>(0, g.rows), [=](const int64_t row) {
      const T* in = src + row * g.last;
      for (int64_t j = 0; j < g.last; ++j) element(dst, g, row, j) = in[j];
    });
    Exec().fence();
  } else {
    using Exec = typename View::execution_space;
    Kokkos::View<T*, typename View::memory_space> staged("msa::channel::staged",
                                                         static_cast<std::size_t>(part.volume()));
    Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> host(
        src, static_cast<std::size_t>(part.volume()));
    Kokkos::deep_copy(staged, host);
    Kokkos::parallel_for(
        "msa::channel::unpack", Kokkos::RangePolicy<Exec>(0, g.rows), KOKKOS_LAMBDA(const int64_t row) {
          for (int64_t j = 0; j < g.last; ++j) element(dst, g, row, j) = staged(row * g.last + j);
        });
    Exec().fence();
  }
}

}  // namespace msa::detail
