// The byte layouts of serialize.hpp.
#include "serialize.hpp"

#include <fmt/format.h>

#include <cstring>
#include <string>
#include <type_traits>

#include "msa/error.hpp"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "biopipe's buffers are written with memcpy and assume a little-endian host"
#endif

namespace biopipe {
namespace {

// Tags: four ASCII bytes read as a little-endian uint32.
constexpr std::uint32_t kRecordsTag = 0x43455242;  // "BREC"
constexpr std::uint32_t kKmersTag = 0x524d4b42;    // "BKMR"
constexpr std::uint32_t kHitsTag = 0x54494842;     // "BHIT"
constexpr std::uint32_t kSummaryTag = 0x4d555342;  // "BSUM"
constexpr std::uint32_t kStatsTag = 0x54535342;    // "BSST"

static_assert(sizeof(Hit) == 6 * sizeof(std::int32_t) && std::is_trivially_copyable_v<Hit>,
              "hits are copied as arrays of six int32");

class Out {
 public:
  explicit Out(std::size_t reserve) { m_bytes.reserve(reserve); }
  template <class T>
  void put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    append(&value, sizeof(T));
  }
  template <class T>
  void put_array(const T* data, std::size_t count) {
    static_assert(std::is_trivially_copyable_v<T>);
    put<std::uint64_t>(count);
    append(data, count * sizeof(T));
  }
  void put_string(const std::string& s) { put_array(s.data(), s.size()); }
  std::vector<std::uint8_t> take() { return std::move(m_bytes); }

 private:
  void append(const void* data, std::size_t n) {
    if (n == 0) return;
    const std::size_t at = m_bytes.size();
    m_bytes.resize(at + n);
    std::memcpy(m_bytes.data() + at, data, n);
  }
  std::vector<std::uint8_t> m_bytes;
};

class In {
 public:
  In(const std::uint8_t* data, std::size_t size, const char* what, std::uint32_t tag)
      : m_data(data), m_size(size), m_what(what) {
    if (get<std::uint32_t>() != tag)
      corrupt(fmt::format("it does not start with the {} tag (is it another type's buffer?)", what));
  }
  template <class T>
  T get() {
    T value;
    need(sizeof(T), "a field");
    std::memcpy(&value, m_data + m_pos, sizeof(T));
    m_pos += sizeof(T);
    return value;
  }
  /// Reads a length prefix and checks that `count` elements of `element` bytes fit.
  std::size_t count(std::size_t element) {
    const auto n = get<std::uint64_t>();
    if (element != 0 && n > (m_size - m_pos) / element)
      corrupt(fmt::format("an array of {} elements of {} bytes at offset {} does not fit in {} bytes", n, element,
                          m_pos, m_size));
    return static_cast<std::size_t>(n);
  }
  template <class T>
  void get_array(std::vector<T>& out) {
    out.resize(count(sizeof(T)));
    copy(out.data(), out.size() * sizeof(T));
  }
  void get_string(std::string& out) {
    out.resize(count(1));
    copy(out.data(), out.size());
  }
  void finish() {
    if (m_pos != m_size) corrupt(fmt::format("{} bytes left over after the value", m_size - m_pos));
  }
  [[noreturn]] void corrupt(const std::string& why) const {
    throw msa::ConfigError(fmt::format("corrupt {} buffer: {}", m_what, why));
  }

 private:
  void need(std::size_t n, const char* what) {
    if (m_size - m_pos < n)
      corrupt(
          fmt::format("{} of {} bytes at offset {} runs past the end ({} bytes): truncated", what, n, m_pos, m_size));
  }
  void copy(void* to, std::size_t n) {
    if (n == 0) return;
    std::memcpy(to, m_data + m_pos, n);
    m_pos += n;
  }
  const std::uint8_t* m_data;
  std::size_t m_size;
  std::size_t m_pos = 0;
  const char* m_what;
};

void put_hits(Out& out, const std::vector<Hit>& hits) { out.put_array(hits.data(), hits.size()); }

}  // namespace

std::vector<std::uint8_t> to_bytes(const std::vector<Record>& records) {
  std::size_t total = 12;
  for (const auto& r : records) total += 24 + r.name.size() + r.sequence.size() + r.quality.size();
  Out out(total);
  out.put(kRecordsTag);
  out.put<std::uint64_t>(records.size());
  for (const auto& r : records) {
    out.put_string(r.name);
    out.put_string(r.sequence);
    out.put_string(r.quality);
  }
  return out.take();
}

std::vector<std::uint8_t> to_bytes(const KmerCounts& counts) {
  Out out(24 + counts.codes.size() * 12);
  out.put(kKmersTag);
  out.put<std::int32_t>(counts.k);
  out.put_array(counts.codes.data(), counts.codes.size());
  out.put_array(counts.counts.data(), counts.counts.size());
  return out.take();
}

std::vector<std::uint8_t> to_bytes(const std::vector<Hit>& hits) {
  Out out(12 + hits.size() * sizeof(Hit));
  out.put(kHitsTag);
  put_hits(out, hits);
  return out.take();
}

std::vector<std::uint8_t> to_bytes(const Summary& summary) {
  std::size_t total = 64 + summary.best.size() * (sizeof(Hit) + 20) + summary.score_histogram.size() * 8;
  for (const auto& c : summary.coverage) total += 8 + c.size() * 4;
  Out out(total);
  out.put(kSummaryTag);
  out.put<std::int32_t>(summary.bin);
  out.put<std::int32_t>(summary.min_score);
  put_hits(out, summary.best);
  out.put<std::uint64_t>(summary.spans.size());
  for (const auto& s : summary.spans) {
    out.put<std::int32_t>(s.contig);
    out.put<std::int64_t>(s.begin);
    out.put<std::int64_t>(s.end);
  }
  out.put_array(summary.score_histogram.data(), summary.score_histogram.size());
  out.put<std::uint64_t>(summary.coverage.size());
  for (const auto& c : summary.coverage) out.put_array(c.data(), c.size());
  return out.take();
}

std::vector<std::uint8_t> to_bytes(const FilterStats& stats) {
  Out out(36);
  out.put(kStatsTag);
  out.put<std::int64_t>(stats.reads_in);
  out.put<std::int64_t>(stats.reads_out);
  out.put<std::int64_t>(stats.bases_in);
  out.put<std::int64_t>(stats.bases_out);
  return out.take();
}

template <>
std::vector<Record> decode<std::vector<Record>>(const std::uint8_t* data, std::size_t size) {
  In in(data, size, "records", kRecordsTag);
  std::vector<Record> records(in.count(24));  // each record has three length prefixes
  for (auto& r : records) {
    in.get_string(r.name);
    in.get_string(r.sequence);
    in.get_string(r.quality);
  }
  in.finish();
  return records;
}

template <>
KmerCounts decode<KmerCounts>(const std::uint8_t* data, std::size_t size) {
  In in(data, size, "k-mer counts", kKmersTag);
  KmerCounts c;
  c.k = in.get<std::int32_t>();
  in.get_array(c.codes);
  in.get_array(c.counts);
  in.finish();
  if (c.codes.size() != c.counts.size())
    in.corrupt(fmt::format("{} codes but {} counts", c.codes.size(), c.counts.size()));
  if (c.k < 0 || c.k > 31) in.corrupt(fmt::format("k = {}", c.k));
  return c;
}

template <>
std::vector<Hit> decode<std::vector<Hit>>(const std::uint8_t* data, std::size_t size) {
  In in(data, size, "hits", kHitsTag);
  std::vector<Hit> hits;
  in.get_array(hits);
  in.finish();
  return hits;
}

template <>
Summary decode<Summary>(const std::uint8_t* data, std::size_t size) {
  In in(data, size, "summary", kSummaryTag);
  Summary s;
  s.bin = in.get<std::int32_t>();
  s.min_score = in.get<std::int32_t>();
  in.get_array(s.best);
  s.spans.resize(in.count(20));
  for (auto& span : s.spans) {
    span.contig = in.get<std::int32_t>();
    span.begin = in.get<std::int64_t>();
    span.end = in.get<std::int64_t>();
  }
  in.get_array(s.score_histogram);
  s.coverage.resize(in.count(8));
  for (auto& c : s.coverage) in.get_array(c);
  in.finish();
  if (s.spans.size() != s.best.size())
    in.corrupt(fmt::format("{} best hits but {} spans", s.best.size(), s.spans.size()));
  for (const auto& span : s.spans)
    if (span.contig < 0 || static_cast<std::size_t>(span.contig) >= s.coverage.size() || span.begin < 0 ||
        span.end >= static_cast<std::int64_t>(s.coverage[static_cast<std::size_t>(span.contig)].size()))
      in.corrupt(fmt::format("a span on contig {} [{}, {}] lies outside the {} contig(s)", span.contig, span.begin,
                             span.end, s.coverage.size()));
  return s;
}

template <>
FilterStats decode<FilterStats>(const std::uint8_t* data, std::size_t size) {
  In in(data, size, "filter stats", kStatsTag);
  FilterStats s;
  s.reads_in = in.get<std::int64_t>();
  s.reads_out = in.get<std::int64_t>();
  s.bases_in = in.get<std::int64_t>();
  s.bases_out = in.get<std::int64_t>();
  in.finish();
  return s;
}

}  // namespace biopipe
