// Deterministic synthetic reference and reads.
#include "synthetic.hpp"

#include <fmt/format.h>

#include <random>

#include "msa/error.hpp"

namespace biopipe {
namespace {

// Values from the raw engine output only: std::mt19937_64's sequence is fixed
// by the standard, the distributions' are not.
class Draw {
 public:
  explicit Draw(std::uint64_t seed) : m_engine(seed) {}
  /// Uniform in [0, 1) with 53 random bits.
  double unit() { return static_cast<double>(m_engine() >> 11) * 0x1.0p-53; }
  /// In [0, n); the modulo bias is below 2^-40 for the sizes used here.
  std::uint64_t below(std::uint64_t n) { return m_engine() % n; }
  char base() { return "ACGT"[m_engine() >> 62]; }
  /// A base other than `b`.
  char other_base(char b) {
    const char* others = b == 'A' ? "CGT" : b == 'C' ? "AGT" : b == 'G' ? "ACT" : "ACG";
    return others[below(3)];
  }

 private:
  std::mt19937_64 m_engine;
};

void check(bool ok, const std::string& what) {
  if (!ok) throw msa::ConfigError("synthetic data: " + what);
}

void check_rate(double rate, const char* name) {
  check(rate >= 0 && rate <= 1, fmt::format("{} = {}; use a value in [0, 1]", name, rate));
}

}  // namespace

SyntheticData generate(const GeneratorConfig& config) {
  check(config.contigs >= 1, fmt::format("contigs = {}; use >= 1", config.contigs));
  check(config.read_length >= 1, fmt::format("read length = {}; use >= 1", config.read_length));
  check(config.contig_length >= config.read_length,
        fmt::format("contig length {} is shorter than the read length {}", config.contig_length, config.read_length));
  check(config.reads >= 0, fmt::format("reads = {}; use >= 0", config.reads));
  check_rate(config.substitution_rate, "substitution rate");
  check_rate(config.indel_rate, "indel rate");
  check(config.indel_rate <= 0.5, fmt::format("indel rate = {}; use <= 0.5", config.indel_rate));
  check_rate(config.random_read_fraction, "random read fraction");
  check_rate(config.low_quality_fraction, "low quality fraction");

  Draw draw(config.seed);
  SyntheticData data;
  const auto length = static_cast<std::size_t>(config.contig_length);
  for (int c = 0; c < config.contigs; ++c) {
    Record contig{fmt::format("contig{}", c), std::string(length, 'A'), ""};
    for (auto& b : contig.sequence) b = draw.base();
    data.reference.push_back(std::move(contig));
  }

  const auto read_length = static_cast<std::size_t>(config.read_length);
  // Room for deletions after the start, so reads rarely run off the contig's end.
  const std::uint64_t slack = read_length / 8;
  const std::uint64_t starts =
      std::max<std::uint64_t>(1, static_cast<std::uint64_t>(config.contig_length) - read_length - slack + 1);
  data.reads.reserve(static_cast<std::size_t>(config.reads));
  for (std::int64_t i = 0; i < config.reads; ++i) {
    Record read;
    read.sequence.reserve(read_length);
    if (draw.unit() < config.random_read_fraction) {
      read.name = fmt::format("read{} random", i);
      for (std::size_t k = 0; k < read_length; ++k) read.sequence += draw.base();
    } else {
      const auto c = static_cast<std::size_t>(draw.below(static_cast<std::uint64_t>(config.contigs)));
      const std::uint64_t pos = draw.below(starts);
      read.name = fmt::format("read{} contig={} pos={}", i, c, pos);
      const std::string& ref = data.reference[c].sequence;
      std::size_t at = static_cast<std::size_t>(pos);
      while (read.sequence.size() < read_length) {
        const double u = draw.unit();
        if (at >= ref.size() || u < config.indel_rate) {
          read.sequence += draw.base();  // insertion (or past the contig's end)
        } else if (u < 2 * config.indel_rate && !read.sequence.empty()) {
          ++at;  // deletion; never the first base, so pos stays the first base's origin
        } else {
          const char b = ref[at++];
          read.sequence += draw.unit() < config.substitution_rate ? draw.other_base(b) : b;
        }
      }
    }
    // Phred 30..40 everywhere; a low-quality read has phred 2..10 over its
    // last third to two thirds, so some fail the mean quality and some only
    // lose their tail to trimming.
    read.quality.resize(read_length);
    for (auto& q : read.quality) q = static_cast<char>(33 + 30 + draw.below(11));
    if (draw.unit() < config.low_quality_fraction) {
      const std::size_t tail = read_length / 3 + static_cast<std::size_t>(draw.below(read_length / 3 + 1));
      for (std::size_t k = read_length - tail; k < read_length; ++k)
        read.quality[k] = static_cast<char>(33 + 2 + draw.below(9));
    }
    data.reads.push_back(std::move(read));
  }
  return data;
}

}  // namespace biopipe
