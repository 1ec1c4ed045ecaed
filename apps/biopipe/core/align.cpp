// The aligner: one Kokkos kernel over (read, window) pairs, its host twin and
// a textbook scalar score for checks.
#include "align.hpp"

#include <fmt/format.h>

#include <Kokkos_Core.hpp>
#include <algorithm>

#include "msa/error.hpp"
#include "sw_kernel.hpp"

namespace biopipe {
namespace {

detail::DeviceScoring device_scoring(const Scoring& scoring) {
  if (scoring.gap_open < 0 || scoring.gap_extend < 0)
    throw msa::ConfigError(fmt::format("alignment scoring: gap costs must be >= 0 (open {}, extend {})",
                                       scoring.gap_open, scoring.gap_extend));
  detail::DeviceScoring s{};
  for (int a = 0; a < 5; ++a)
    for (int b = 0; b < 5; ++b)
      s.matrix[a * 5 + b] = a == 4 || b == 4 ? scoring.n_score : (a == b ? scoring.match : scoring.mismatch);
  s.gap_open = scoring.gap_open;
  s.gap_extend = scoring.gap_extend;
  return s;
}

void check_pairs(const std::vector<Record>& reads, const std::vector<Window>& windows, const std::vector<Pair>& pairs) {
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    const auto [read, window] = pairs[p];
    if (read < 0 || static_cast<std::size_t>(read) >= reads.size() || window < 0 ||
        static_cast<std::size_t>(window) >= windows.size())
      throw msa::ConfigError(fmt::format("align: pair {} is (read {}, window {}) but there are {} reads and {} windows",
                                         p, read, window, reads.size(), windows.size()));
    if (reads[static_cast<std::size_t>(read)].sequence.size() > 0x7fffffffu ||
        windows[static_cast<std::size_t>(window)].sequence.size() > 0x7fffffffu)
      throw msa::ConfigError(fmt::format("align: pair {} has a sequence longer than 2^31-1 bases", p));
  }
}

// Sequences as codes 0..4 back to back, with offsets (n + 1 entries).
template <class Bytes, class Offsets, class Get>
void pack(const Bytes& bytes, const Offsets& offsets, std::size_t count, Get get) {
  std::int64_t at = 0;
  for (std::size_t i = 0; i < count; ++i) {
    offsets(i) = at;
    for (char c : get(i)) bytes(at++) = static_cast<std::uint8_t>(base_code(c));
  }
  offsets(count) = at;
}

}  // namespace

std::vector<Hit> align(const std::vector<Record>& reads, const std::vector<Window>& windows,
                       const std::vector<Pair>& pairs, const Scoring& scoring) {
  using Space = Kokkos::DefaultExecutionSpace;
  using Memory = Space::memory_space;
  check_pairs(reads, windows, pairs);
  const detail::DeviceScoring s = device_scoring(scoring);
  const auto npairs = static_cast<std::int64_t>(pairs.size());
  std::vector<Hit> hits(pairs.size());
  if (npairs == 0) return hits;

  std::size_t read_bases = 0, window_bases = 0, capacity = 1;
  for (const auto& r : reads) read_bases += r.sequence.size();
  for (const auto& w : windows) window_bases += w.sequence.size();
  for (const auto& [read, window] : pairs)
    capacity = std::max(capacity, reads[static_cast<std::size_t>(read)].sequence.size());

  const Kokkos::View<std::uint8_t*, Memory> read_codes(Kokkos::ViewAllocateWithoutInitializing("biopipe::read_codes"),
                                                       std::max<std::size_t>(read_bases, 1));
  const Kokkos::View<std::int64_t*, Memory> read_offsets(
      Kokkos::ViewAllocateWithoutInitializing("biopipe::read_offsets"), reads.size() + 1);
  const Kokkos::View<std::uint8_t*, Memory> window_codes(
      Kokkos::ViewAllocateWithoutInitializing("biopipe::window_codes"), std::max<std::size_t>(window_bases, 1));
  const Kokkos::View<std::int64_t*, Memory> window_offsets(
      Kokkos::ViewAllocateWithoutInitializing("biopipe::window_offsets"), windows.size() + 1);
  const Kokkos::View<std::int32_t* [2], Memory> pair_view(Kokkos::ViewAllocateWithoutInitializing("biopipe::pairs"),
                                                          pairs.size());
  {
    // On host spaces the mirrors are the views themselves: no copy.
    auto h_read_codes = Kokkos::create_mirror_view(read_codes);
    auto h_read_offsets = Kokkos::create_mirror_view(read_offsets);
    auto h_window_codes = Kokkos::create_mirror_view(window_codes);
    auto h_window_offsets = Kokkos::create_mirror_view(window_offsets);
    auto h_pairs = Kokkos::create_mirror_view(pair_view);
    pack(h_read_codes, h_read_offsets, reads.size(),
         [&](std::size_t i) -> const std::string& { return reads[i].sequence; });
    pack(h_window_codes, h_window_offsets, windows.size(),
         [&](std::size_t i) -> const std::string& { return windows[i].sequence; });
    for (std::size_t p = 0; p < pairs.size(); ++p) {
      h_pairs(p, 0) = pairs[p].first;
      h_pairs(p, 1) = pairs[p].second;
    }
    Kokkos::deep_copy(read_codes, h_read_codes);
    Kokkos::deep_copy(read_offsets, h_read_offsets);
    Kokkos::deep_copy(window_codes, h_window_codes);
    Kokkos::deep_copy(window_offsets, h_window_offsets);
    Kokkos::deep_copy(pair_view, h_pairs);
  }

  // Scratch for the pairs in flight: enough pairs to fill the device, at most
  // 256 MiB, so a CPU build does not allocate scratch for every pair at once.
  const auto cap = static_cast<std::int64_t>(capacity);
  const std::int64_t per_pair = 2 * cap;
  const std::int64_t by_memory = std::max<std::int64_t>(1, (std::int64_t{256} << 20) / (per_pair * 8));
  const std::int64_t by_device = std::max<std::int64_t>(1024, 4 * static_cast<std::int64_t>(Space().concurrency()));
  const std::int64_t batch = std::min({npairs, by_memory, by_device});
  const Kokkos::View<std::int64_t**, Memory> scratch(Kokkos::ViewAllocateWithoutInitializing("biopipe::sw_scratch"),
                                                     batch, per_pair);
  const Kokkos::View<std::int32_t* [4], Memory> results(Kokkos::ViewAllocateWithoutInitializing("biopipe::hits"),
                                                        pairs.size());
  for (std::int64_t first = 0; first < npairs; first += batch) {
    const std::int64_t last = std::min(npairs, first + batch);
    Kokkos::parallel_for(
        "biopipe::align", Kokkos::RangePolicy<Space, Kokkos::IndexType<std::int64_t>>(first, last),
        KOKKOS_LAMBDA(const std::int64_t p) {
          const std::int32_t read = pair_view(p, 0), window = pair_view(p, 1);
          const std::int64_t q0 = read_offsets(read), r0 = window_offsets(window);
          const auto m = static_cast<std::int32_t>(read_offsets(read + 1) - q0);
          const auto n = static_cast<std::int32_t>(window_offsets(window + 1) - r0);
          const detail::SwResult res =
              detail::smith_waterman(read_codes.data() + q0, m, window_codes.data() + r0, n, s,
                                     scratch.data() + (p - first) * scratch.stride(0), scratch.stride(1), cap);
          results(p, 0) = res.score;
          results(p, 1) = res.query_end;
          results(p, 2) = res.ref_end;
          results(p, 3) = res.ref_begin;
        });
  }
  const auto h_results = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), results);
  for (std::size_t p = 0; p < pairs.size(); ++p)
    hits[p] = Hit{pairs[p].first, pairs[p].second, h_results(p, 0), h_results(p, 1), h_results(p, 2), h_results(p, 3)};
  return hits;
}

std::vector<Hit> align_host(const std::vector<Record>& reads, const std::vector<Window>& windows,
                            const std::vector<Pair>& pairs, const Scoring& scoring) {
  check_pairs(reads, windows, pairs);
  const detail::DeviceScoring s = device_scoring(scoring);
  std::vector<Hit> hits(pairs.size());
  std::vector<std::uint8_t> query, ref;
  std::vector<std::int64_t> scratch;
  // Pairs of one window usually come together: convert a window only when it changes.
  std::int32_t last_window = -1;
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    const auto [read, window] = pairs[p];
    const std::string& qs = reads[static_cast<std::size_t>(read)].sequence;
    query.resize(qs.size());
    for (std::size_t i = 0; i < qs.size(); ++i) query[i] = static_cast<std::uint8_t>(base_code(qs[i]));
    if (window != last_window) {
      const std::string& rs = windows[static_cast<std::size_t>(window)].sequence;
      ref.resize(rs.size());
      for (std::size_t j = 0; j < rs.size(); ++j) ref[j] = static_cast<std::uint8_t>(base_code(rs[j]));
      last_window = window;
    }
    const auto m = static_cast<std::int64_t>(query.size());
    if (scratch.size() < static_cast<std::size_t>(2 * m)) scratch.resize(static_cast<std::size_t>(2 * m));
    const detail::SwResult res = detail::smith_waterman(query.data(), static_cast<std::int32_t>(m), ref.data(),
                                                        static_cast<std::int32_t>(ref.size()), s, scratch.data(), 1, m);
    hits[p] = Hit{read, window, res.score, res.query_end, res.ref_end, res.ref_begin};
  }
  return hits;
}

int sw_score(const std::string& query, const std::string& reference, const Scoring& scoring) {
  const detail::DeviceScoring s = device_scoring(scoring);
  const std::size_t n = reference.size();
  // Gotoh, row by row over the query: h and f hold the previous row.
  std::vector<int> h(n + 1, 0), f(n + 1, detail::kNegInf);
  int best = 0;
  for (char qc : query) {
    const int* row = s.matrix + 5 * base_code(qc);
    int diag = 0, e = detail::kNegInf;
    h[0] = 0;
    for (std::size_t j = 1; j <= n; ++j) {
      f[j] = std::max(h[j] - s.gap_open, f[j] - s.gap_extend);
      e = std::max(h[j - 1] - s.gap_open, e - s.gap_extend);
      const int cell = std::max({0, diag + row[base_code(reference[j - 1])], e, f[j]});
      diag = h[j];
      h[j] = cell;
      best = std::max(best, cell);
    }
  }
  return best;
}

}  // namespace biopipe
