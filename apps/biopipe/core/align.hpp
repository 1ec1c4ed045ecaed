#pragma once
// Seeded Smith-Waterman alignment of reads against reference windows: the
// windows, a k-mer seed index that picks candidate windows per read, and the
// aligner (a Kokkos kernel and a plain host loop giving identical hits).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sequences.hpp"

namespace biopipe {

/// Affine-gap local alignment scores over A, C, G, T, N. Gaps follow
/// parasail: a gap of length L costs gap_open + (L-1) * gap_extend.
struct Scoring {
  int match = 2;
  int mismatch = -3;
  int n_score = -1;  ///< any pair involving N
  int gap_open = 5;
  int gap_extend = 2;
};

/// A stretch of one reference contig.
struct Window {
  int contig = 0;
  std::int64_t start = 0;  ///< 0-based position of sequence[0] in the contig
  std::string sequence;
};

/// Windows of `length` bases starting every `length - overlap` bases over
/// each contig, in contig order; the last window of a contig may be shorter.
/// With overlap >= read length every read lies wholly inside some window.
/// Needs length > 0 and 0 <= overlap < length, else msa::ConfigError.
std::vector<Window> make_windows(const std::vector<Record>& reference, std::int64_t length, std::int64_t overlap);

/// Forward-strand k-mers sampled every `stride` positions of each window,
/// mapped to the windows holding them. Immutable after construction, so
/// candidates() may be called from several threads.
class SeedIndex {
 public:
  /// 1 <= k <= 31 and stride >= 1, else msa::ConfigError.
  SeedIndex(const std::vector<Window>& windows, int k, int stride);

  /// Up to `max_candidates` windows with the most seed hits of the read's
  /// k-mers (every position of the read), at least `min_hits` each; more
  /// hits first, ties by lower window id. A read k-mer found in a window's
  /// samples counts once for that window however often it was sampled there.
  std::vector<std::int32_t> candidates(const std::string& read, int max_candidates, int min_hits) const;

  int k() const { return m_k; }
  int stride() const { return m_stride; }
  /// Number of distinct sampled k-mers.
  std::size_t size() const { return m_codes.size(); }

 private:
  int m_k;
  int m_stride;
  std::vector<std::uint64_t> m_codes;    // sorted, unique
  std::vector<std::uint32_t> m_offsets;  // m_codes.size() + 1 entries into m_windows
  std::vector<std::int32_t> m_windows;   // per code: ascending window ids
};

/// The best local alignment of one read against one window. Positions are
/// 0-based and inclusive; all -1 when the score is 0 (nothing aligns).
struct Hit {
  std::int32_t read = -1;
  std::int32_t window = -1;
  std::int32_t score = 0;
  std::int32_t query_end = -1;  ///< last aligned base of the read
  std::int32_t ref_end = -1;    ///< last aligned base of the window
  std::int32_t ref_begin = -1;  ///< first aligned base of the window
};

inline bool operator==(const Hit& a, const Hit& b) {
  return a.read == b.read && a.window == b.window && a.score == b.score && a.query_end == b.query_end &&
         a.ref_end == b.ref_end && a.ref_begin == b.ref_begin;
}
inline bool operator!=(const Hit& a, const Hit& b) { return !(a == b); }

/// (read index, window index)
using Pair = std::pair<std::int32_t, std::int32_t>;

/// Aligns every pair in one Kokkos kernel in the default execution space
/// (one pair per iteration; reads and windows are copied to the device as
/// bytes, hits copied back). Of several cells with the best score, the end is
/// the one with the smallest window position, then the smallest read
/// position, as parasail_sw reports it; ref_begin starts an optimal
/// alignment ending there (of several, the latest start). Indices out of
/// range: msa::ConfigError. Kokkos must be initialised; not to be called
/// concurrently from several threads.
std::vector<Hit> align(const std::vector<Record>& reads, const std::vector<Window>& windows,
                       const std::vector<Pair>& pairs, const Scoring& scoring);

/// The same hits as align(), from a plain host loop without Kokkos. Thread-safe.
std::vector<Hit> align_host(const std::vector<Record>& reads, const std::vector<Window>& windows,
                            const std::vector<Pair>& pairs, const Scoring& scoring);

/// The local alignment score of two sequences: a textbook Gotoh
/// implementation, independent of align()'s kernel, for checks.
int sw_score(const std::string& query, const std::string& reference, const Scoring& scoring);

}  // namespace biopipe
