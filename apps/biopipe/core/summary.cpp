// Best hits per read, their score histogram and coverage, merged order-free.
#include "summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "msa/error.hpp"

namespace biopipe {
namespace {

// A total order on one read's hits, so the best one never depends on arrival order.
bool better(const Hit& a, const Hit& b) {
  return std::make_tuple(-std::int64_t{a.score}, a.window, a.ref_end, a.query_end, a.ref_begin) <
         std::make_tuple(-std::int64_t{b.score}, b.window, b.ref_end, b.query_end, b.ref_begin);
}

// Adds (sign 1) or removes (sign -1) one best hit's share of histogram and coverage.
void account(Summary& s, const Hit& hit, const Span& span, int sign) {
  const auto b = static_cast<std::size_t>(hit.score / s.bin);
  if (b >= s.score_histogram.size()) s.score_histogram.resize(b + 1, 0);
  s.score_histogram[b] += sign;
  auto& depth = s.coverage[static_cast<std::size_t>(span.contig)];
  for (auto p = span.begin; p <= span.end; ++p) depth[static_cast<std::size_t>(p)] += static_cast<std::uint32_t>(sign);
}

// Merges sorted best hits (one per read) into `into`, keeping its invariants.
void merge_best(Summary& into, const std::vector<Hit>& best, const std::vector<Span>& spans) {
  std::vector<Hit> hits;
  std::vector<Span> where;
  hits.reserve(into.best.size() + best.size());
  where.reserve(into.best.size() + best.size());
  std::size_t i = 0, j = 0;
  while (i < into.best.size() || j < best.size()) {
    if (j == best.size() || (i < into.best.size() && into.best[i].read < best[j].read)) {
      hits.push_back(into.best[i]);
      where.push_back(into.spans[i++]);
    } else if (i == into.best.size() || best[j].read < into.best[i].read) {
      account(into, best[j], spans[j], 1);
      hits.push_back(best[j]);
      where.push_back(spans[j++]);
    } else {
      if (better(best[j], into.best[i])) {
        account(into, into.best[i], into.spans[i], -1);
        account(into, best[j], spans[j], 1);
        hits.push_back(best[j]);
        where.push_back(spans[j]);
      } else {
        hits.push_back(into.best[i]);
        where.push_back(into.spans[i]);
      }
      ++i;
      ++j;
    }
  }
  into.best = std::move(hits);
  into.spans = std::move(where);
  // Canonical length, so the histogram depends on the best hits only.
  while (!into.score_histogram.empty() && into.score_histogram.back() == 0) into.score_histogram.pop_back();
}

}  // namespace

bool operator==(const Summary& a, const Summary& b) {
  return a.bin == b.bin && a.min_score == b.min_score && a.best == b.best && a.spans == b.spans &&
         a.score_histogram == b.score_histogram && a.coverage == b.coverage;
}

Summary make_summary(const std::vector<Record>& reference, std::int32_t bin, std::int32_t min_score) {
  if (bin < 1) throw msa::ConfigError(fmt::format("summary: histogram bin width {}; use >= 1", bin));
  Summary s;
  s.bin = bin;
  s.min_score = min_score;
  s.coverage.reserve(reference.size());
  for (const auto& contig : reference) s.coverage.emplace_back(contig.sequence.size(), 0);
  return s;
}

void add_hits(Summary& summary, const std::vector<Hit>& hits, const std::vector<Window>& windows) {
  if (summary.bin < 1)
    throw msa::ConfigError("summary: add_hits on a summary without a reference; create it with make_summary()");
  const std::int32_t threshold = std::max(summary.min_score, 1);
  std::vector<Hit> kept;
  for (const auto& h : hits)
    if (h.score >= threshold) kept.push_back(h);
  std::sort(kept.begin(), kept.end(),
            [](const Hit& a, const Hit& b) { return a.read < b.read || (a.read == b.read && better(a, b)); });
  std::vector<Hit> best;
  std::vector<Span> spans;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (i > 0 && kept[i].read == kept[i - 1].read) continue;
    const Hit& h = kept[i];
    if (h.window < 0 || static_cast<std::size_t>(h.window) >= windows.size())
      throw msa::ConfigError(fmt::format("summary: hit of read {} names window {}, but there are {} windows", h.read,
                                         h.window, windows.size()));
    const Window& w = windows[static_cast<std::size_t>(h.window)];
    const Span span{w.contig, w.start + h.ref_begin, w.start + h.ref_end};
    if (w.contig < 0 || static_cast<std::size_t>(w.contig) >= summary.coverage.size() || h.ref_begin < 0 ||
        span.begin > span.end ||
        span.end >= static_cast<std::int64_t>(summary.coverage[static_cast<std::size_t>(w.contig)].size()))
      throw msa::ConfigError(fmt::format(
          "summary: hit of read {} covers contig {} [{}, {}], outside the summary's {} contig(s); are the windows "
          "from the same reference?",
          h.read, w.contig, span.begin, span.end, summary.coverage.size()));
    best.push_back(h);
    spans.push_back(span);
  }
  merge_best(summary, best, spans);
}

Summary merge(const Summary& a, const Summary& b) {
  if (a.bin == 0 && a.best.empty()) return b;
  if (b.bin == 0 && b.best.empty()) return a;
  bool same_contigs = a.coverage.size() == b.coverage.size();
  for (std::size_t c = 0; same_contigs && c < a.coverage.size(); ++c)
    same_contigs = a.coverage[c].size() == b.coverage[c].size();
  if (a.bin != b.bin || a.min_score != b.min_score || !same_contigs)
    throw msa::ConfigError(fmt::format(
        "summary merge: bins {} and {}, minimum scores {} and {}, {} and {} contigs{}; merge summaries made by "
        "make_summary() with the same reference and settings",
        a.bin, b.bin, a.min_score, b.min_score, a.coverage.size(), b.coverage.size(),
        same_contigs ? "" : " (or contig lengths differ)"));
  // Merge the smaller into a copy of the larger: the work is that of the smaller's spans.
  const bool a_larger = a.best.size() >= b.best.size();
  Summary out = a_larger ? a : b;
  const Summary& other = a_larger ? b : a;
  merge_best(out, other.best, other.spans);
  return out;
}

}  // namespace biopipe
