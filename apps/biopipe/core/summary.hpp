#pragma once
// The summary of alignments: best hit per read, a histogram of best scores
// and the read depth along every contig, built chunk by chunk and merged.
#include <cstdint>
#include <vector>

#include "align.hpp"

namespace biopipe {

/// Where a best hit lies on its contig (0-based, inclusive).
struct Span {
  std::int32_t contig = 0;
  std::int64_t begin = 0, end = -1;
};

inline bool operator==(const Span& a, const Span& b) {
  return a.contig == b.contig && a.begin == b.begin && a.end == b.end;
}

struct Summary {
  std::int32_t bin = 0;        ///< histogram bin width; 0 only in the empty value merge() treats as neutral
  std::int32_t min_score = 0;  ///< hits below this are not counted
  /// One per read that had a hit with score >= max(min_score, 1), sorted by
  /// read: the highest score, ties by lowest window id (then by end and start
  /// positions, so the choice never depends on the order hits arrive in).
  std::vector<Hit> best;
  std::vector<Span> spans;                           ///< parallel to best
  std::vector<std::int64_t> score_histogram;         ///< [s / bin] over best; no trailing zero bins
  std::vector<std::vector<std::uint32_t>> coverage;  ///< [contig][position]: best spans covering it
};

bool operator==(const Summary& a, const Summary& b);

/// An empty summary for a reference: coverage of each contig's length.
/// bin >= 1, else msa::ConfigError.
Summary make_summary(const std::vector<Record>& reference, std::int32_t bin, std::int32_t min_score);

/// Adds hits of one chunk (read ids global, any order, several per read
/// allowed; a read already in the summary keeps the better of its hits).
/// `windows` are the ones the hits' window ids index. Throws
/// msa::ConfigError for a window id out of range or a window beyond the
/// summary's contigs.
void add_hits(Summary& summary, const std::vector<Hit>& hits, const std::vector<Window>& windows);

/// Both summaries as one: per read the better best hit; histogram and
/// coverage are those of the merged best hits. Associative and commutative,
/// so chunks may be merged in any order and grouping with the same result; a
/// default Summary (bin 0) is neutral. Summaries of different bins, minimum
/// scores or contig lengths: msa::ConfigError.
Summary merge(const Summary& a, const Summary& b);

}  // namespace biopipe
