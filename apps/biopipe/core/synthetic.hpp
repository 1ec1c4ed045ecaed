#pragma once
// Synthetic reference contigs and reads sampled from them, the same bytes on
// every machine for one configuration.
#include <cstdint>
#include <vector>

#include "sequences.hpp"

namespace biopipe {

struct GeneratorConfig {
  std::uint64_t seed = 42;
  int contigs = 3;
  std::int64_t contig_length = 100000;
  std::int64_t reads = 10000;
  int read_length = 150;
  double substitution_rate = 0.01;     ///< per base of a read
  double indel_rate = 0.001;           ///< per base, for insertions and for deletions each
  double random_read_fraction = 0.02;  ///< reads not from the reference
  double low_quality_fraction = 0.05;  ///< reads with a low-quality 3' tail, for the filter
};

struct SyntheticData {
  std::vector<Record> reference;  ///< FASTA records "contig<c>"
  std::vector<Record> reads;      ///< FASTQ records "read<i> contig=<c> pos=<p>" or "read<i> random"
};

/// Reference contigs of uniform random bases and reads from their forward
/// strand with substitutions, insertions and deletions. Every value comes
/// from the raw output of std::mt19937_64 seeded with `config.seed` (no
/// standard distributions, whose output differs between libraries), so one
/// configuration gives the same data everywhere. `pos` in a read's name is
/// the 0-based contig position of its first base. Throws msa::ConfigError
/// for counts, lengths or rates out of range.
SyntheticData generate(const GeneratorConfig& config);

}  // namespace biopipe
