// Canonical k-mer counting, merging and spectra.
#include "kmers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "msa/error.hpp"

namespace biopipe {
namespace {

void check_k(int k, const char* what) {
  if (k < 1 || k > 31) throw msa::ConfigError(fmt::format("{}: k = {}; use 1 <= k <= 31", what, k));
}

std::uint32_t saturating_add(std::uint32_t a, std::uint32_t b) {
  const std::uint32_t sum = a + b;
  return sum < a ? std::numeric_limits<std::uint32_t>::max() : sum;
}

}  // namespace

std::uint64_t kmer_code(const std::string& kmer) {
  std::uint64_t code = 0;
  for (char c : kmer) {
    const int b = base_code(c);
    if (b == 4) throw msa::ConfigError(fmt::format("k-mer '{}': '{}' is not one of ACGT", kmer, c));
    code = (code << 2) | static_cast<std::uint64_t>(b);
  }
  return code;
}

std::string kmer_string(std::uint64_t code, int k) {
  std::string s(static_cast<std::size_t>(k), 'A');
  for (int i = k - 1; i >= 0; --i, code >>= 2) s[static_cast<std::size_t>(i)] = "ACGT"[code & 3];
  return s;
}

std::uint64_t reverse_complement(std::uint64_t code, int k) {
  std::uint64_t rc = 0;
  for (int i = 0; i < k; ++i, code >>= 2) rc = (rc << 2) | (3 - (code & 3));
  return rc;
}

KmerCounts count_kmers(const std::vector<Record>& reads, int k) {
  check_k(k, "k-mer counting");
  const std::uint64_t mask = (std::uint64_t{1} << (2 * k)) - 1;
  const int shift = 2 * (k - 1);
  std::size_t total = 0;
  for (const auto& r : reads)
    if (r.sequence.size() >= static_cast<std::size_t>(k)) total += r.sequence.size() - static_cast<std::size_t>(k) + 1;
  std::vector<std::uint64_t> all;
  all.reserve(total);
  for (const auto& r : reads) {
    // The forward code shifts in at the low end, the reverse complement's at the high end.
    std::uint64_t forward = 0, reverse = 0;
    int valid = 0;
    for (char c : r.sequence) {
      const int b = base_code(c);
      if (b == 4) {
        valid = 0;
        continue;
      }
      forward = ((forward << 2) | static_cast<std::uint64_t>(b)) & mask;
      reverse = (reverse >> 2) | (static_cast<std::uint64_t>(3 - b) << shift);
      if (++valid >= k) all.push_back(std::min(forward, reverse));
    }
  }
  std::sort(all.begin(), all.end());
  KmerCounts out;
  out.k = k;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j] == all[i]) ++j;
    out.codes.push_back(all[i]);
    out.counts.push_back(
        static_cast<std::uint32_t>(std::min<std::size_t>(j - i, std::numeric_limits<std::uint32_t>::max())));
    i = j;
  }
  return out;
}

KmerCounts merge(const KmerCounts& a, const KmerCounts& b) {
  if (a.k == 0 && a.codes.empty()) return b;
  if (b.k == 0 && b.codes.empty()) return a;
  if (a.k != b.k)
    throw msa::ConfigError(fmt::format("k-mer merge: counts of k = {} and k = {}; merge equal k only", a.k, b.k));
  KmerCounts out;
  out.k = a.k;
  out.codes.reserve(a.codes.size() + b.codes.size());
  out.counts.reserve(a.codes.size() + b.codes.size());
  std::size_t i = 0, j = 0;
  while (i < a.codes.size() || j < b.codes.size()) {
    if (j == b.codes.size() || (i < a.codes.size() && a.codes[i] < b.codes[j])) {
      out.codes.push_back(a.codes[i]);
      out.counts.push_back(a.counts[i++]);
    } else if (i == a.codes.size() || b.codes[j] < a.codes[i]) {
      out.codes.push_back(b.codes[j]);
      out.counts.push_back(b.counts[j++]);
    } else {
      out.codes.push_back(a.codes[i]);
      out.counts.push_back(saturating_add(a.counts[i++], b.counts[j++]));
    }
  }
  return out;
}

std::vector<std::uint64_t> spectrum(const KmerCounts& counts, int max_multiplicity) {
  if (max_multiplicity < 1)
    throw msa::ConfigError(fmt::format("k-mer spectrum: max multiplicity {}; use >= 1", max_multiplicity));
  std::vector<std::uint64_t> bins(static_cast<std::size_t>(max_multiplicity) + 1, 0);
  const auto top = static_cast<std::uint32_t>(max_multiplicity);
  for (std::uint32_t c : counts.counts) ++bins[std::min(c, top)];
  return bins;
}

}  // namespace biopipe
