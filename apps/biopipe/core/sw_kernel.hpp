#pragma once
// The Smith-Waterman cell loop shared by align() (inside a Kokkos kernel) and
// align_host(), so both give the same hits by construction. Internal to
// biopipe_core.
#include <Kokkos_Macros.hpp>
#include <cstdint>

namespace biopipe::detail {

/// Below any reachable score, and far enough from INT32_MIN that subtracting
/// gap costs cannot wrap.
constexpr std::int32_t kNegInf = -(1 << 28);

/// The 5x5 substitution scores (A, C, G, T, N) and gap costs, by value so a
/// kernel captures it whole.
struct DeviceScoring {
  std::int32_t matrix[25];
  std::int32_t gap_open;
  std::int32_t gap_extend;
};

/// Score and 0-based inclusive ends; all -1 when the score is 0.
struct SwResult {
  std::int32_t score;
  std::int32_t query_end;
  std::int32_t ref_end;
  std::int32_t ref_begin;
};

/// Local alignment of query codes q[0, m) against reference codes r[0, n)
/// (codes 0..4).
///
/// Each cell holds its score and the reference column its alignment starts
/// at packed in one int64 (score in the high half, start in the low half), so
/// one max picks both, ties going to the later start, and carrying the start
/// costs no extra loads, stores or selects. A cell of score 0 is stored with
/// start j + 1: a diagonal step from it starts a new alignment in the next
/// column.
///
/// The outer loop runs over the reference and the inner one over the query,
/// so the scratch is two int64 arrays of the query's length (H and E of the
/// previous column), which stay in L1 for reads, instead of arrays of the
/// window's length. The scan order is column-major, so the strict '>' keeps
/// the first maximum in that order: the smallest reference end, then the
/// smallest query end, as parasail_sw does.
///
/// Array a, element i lives at scratch[(a * capacity + i) * stride]: stride 1
/// on the host; on GPUs the pair count, so that consecutive pairs (threads)
/// access neighbouring words.
KOKKOS_INLINE_FUNCTION SwResult smith_waterman(const std::uint8_t* q, std::int32_t m, const std::uint8_t* r,
                                               std::int32_t n, const DeviceScoring& s, std::int64_t* scratch,
                                               std::int64_t stride, std::int64_t capacity) {
  constexpr int kShift = 32;
  std::int64_t* h_col = scratch;                      // H[i][j-1]
  std::int64_t* e_col = scratch + capacity * stride;  // E[i][j-1]: gap along the reference
  const std::int64_t neg_inf = static_cast<std::int64_t>(kNegInf) * (std::int64_t{1} << kShift);
  for (std::int32_t i = 0; i < m; ++i) {
    h_col[i * stride] = 0;  // column -1: score 0, an alignment from it starts at column 0
    e_col[i * stride] = neg_inf;
  }
  const std::int64_t open = static_cast<std::int64_t>(s.gap_open) * (std::int64_t{1} << kShift);
  const std::int64_t extend = static_cast<std::int64_t>(s.gap_extend) * (std::int64_t{1} << kShift);
  std::int64_t profile[25];  // substitution scores, shifted into the score half
  for (int k = 0; k < 25; ++k) profile[k] = static_cast<std::int64_t>(s.matrix[k]) * (std::int64_t{1} << kShift);
  SwResult best{0, -1, -1, -1};
  for (std::int32_t j = 0; j < n; ++j) {
    const std::int64_t* row = profile + 5 * r[j];
    const std::int64_t zero = j + 1;  // score 0, start j + 1
    std::int64_t diag = j;            // row -1: score 0, start j
    std::int64_t up = zero;
    std::int64_t f = neg_inf;  // F[i][j]: gap along the query
    for (std::int32_t i = 0; i < m; ++i) {
      const std::int64_t o = i * stride;
      const std::int64_t left = h_col[o];
      const std::int64_t e_open = left - open, e_extend = e_col[o] - extend;
      const std::int64_t e = e_open > e_extend ? e_open : e_extend;
      const std::int64_t f_open = up - open, f_extend = f - extend;
      f = f_open > f_extend ? f_open : f_extend;
      std::int64_t h = diag + row[q[i]];
      h = e > h ? e : h;
      h = f > h ? f : h;
      h = zero > h ? zero : h;
      diag = left;
      h_col[o] = h;
      e_col[o] = e;
      up = h;
      const auto score = static_cast<std::int32_t>(h >> kShift);
      if (score > best.score) best = SwResult{score, i, j, static_cast<std::int32_t>(h & 0xffffffff)};
    }
  }
  return best;
}

}  // namespace biopipe::detail
