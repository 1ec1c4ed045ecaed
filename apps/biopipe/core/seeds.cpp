// Reference windows and the k-mer seed index that picks windows per read.
#include <fmt/format.h>

#include <algorithm>

#include "align.hpp"
#include "msa/error.hpp"

namespace biopipe {

std::vector<Window> make_windows(const std::vector<Record>& reference, std::int64_t length, std::int64_t overlap) {
  if (length <= 0 || overlap < 0 || overlap >= length)
    throw msa::ConfigError(
        fmt::format("windows: length {} and overlap {} do not tile a contig; use length > 0 and 0 <= overlap < length",
                    length, overlap));
  const std::int64_t step = length - overlap;
  std::vector<Window> windows;
  for (std::size_t c = 0; c < reference.size(); ++c) {
    const std::string& seq = reference[c].sequence;
    const auto size = static_cast<std::int64_t>(seq.size());
    for (std::int64_t start = 0; start < size; start += step) {
      const std::int64_t len = std::min(length, size - start);
      windows.push_back(Window{static_cast<int>(c), start,
                               seq.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(len))});
      if (start + length >= size) break;  // this window reached the end: a further one would lie inside it
    }
  }
  return windows;
}

namespace {

// Calls visit(position, code) for every k-mer of ACGT in `seq` whose start is
// a multiple of `stride`; k-mers with another character are skipped.
template <class Visit>
void for_each_kmer(const std::string& seq, int k, int stride, Visit visit) {
  const std::uint64_t mask = k == 32 ? ~std::uint64_t{0} : (std::uint64_t{1} << (2 * k)) - 1;
  std::uint64_t code = 0;
  int valid = 0;  // bases of ACGT ending at i
  for (std::size_t i = 0; i < seq.size(); ++i) {
    const int b = base_code(seq[i]);
    if (b == 4) {
      valid = 0;
      continue;
    }
    code = ((code << 2) | static_cast<std::uint64_t>(b)) & mask;
    if (++valid >= k) {
      const std::size_t start = i + 1 - static_cast<std::size_t>(k);
      if (start % static_cast<std::size_t>(stride) == 0) visit(start, code);
    }
  }
}

}  // namespace

SeedIndex::SeedIndex(const std::vector<Window>& windows, int k, int stride) : m_k(k), m_stride(stride) {
  if (k < 1 || k > 31) throw msa::ConfigError(fmt::format("seed index: k = {}; use 1 <= k <= 31", k));
  if (stride < 1) throw msa::ConfigError(fmt::format("seed index: stride = {}; use stride >= 1", stride));
  std::vector<std::pair<std::uint64_t, std::int32_t>> entries;
  for (std::size_t w = 0; w < windows.size(); ++w)
    for_each_kmer(windows[w].sequence, k, stride,
                  [&](std::size_t, std::uint64_t code) { entries.emplace_back(code, static_cast<std::int32_t>(w)); });
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  m_windows.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i == 0 || entries[i].first != entries[i - 1].first) {
      m_codes.push_back(entries[i].first);
      m_offsets.push_back(static_cast<std::uint32_t>(m_windows.size()));
    }
    m_windows.push_back(entries[i].second);
  }
  m_offsets.push_back(static_cast<std::uint32_t>(m_windows.size()));
}

std::vector<std::int32_t> SeedIndex::candidates(const std::string& read, int max_candidates, int min_hits) const {
  std::vector<std::int32_t> found;
  if (max_candidates <= 0) return found;
  for_each_kmer(read, m_k, 1, [&](std::size_t, std::uint64_t code) {
    const auto it = std::lower_bound(m_codes.begin(), m_codes.end(), code);
    if (it == m_codes.end() || *it != code) return;
    const auto c = static_cast<std::size_t>(it - m_codes.begin());
    found.insert(found.end(), m_windows.begin() + m_offsets[c], m_windows.begin() + m_offsets[c + 1]);
  });
  std::sort(found.begin(), found.end());
  std::vector<std::pair<int, std::int32_t>> ranked;  // (-hits, window): sorts by most hits, then lower id
  for (std::size_t i = 0; i < found.size();) {
    std::size_t j = i;
    while (j < found.size() && found[j] == found[i]) ++j;
    if (static_cast<int>(j - i) >= min_hits) ranked.emplace_back(-static_cast<int>(j - i), found[i]);
    i = j;
  }
  const auto keep = std::min(ranked.size(), static_cast<std::size_t>(max_candidates));
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep), ranked.end());
  std::vector<std::int32_t> out(keep);
  for (std::size_t i = 0; i < keep; ++i) out[i] = ranked[i].second;
  return out;
}

}  // namespace biopipe
