#pragma once
// k-mer spectra of reads: canonical k-mers, 2 bits per base.
#include <cstdint>
#include <string>
#include <vector>

#include "sequences.hpp"

namespace biopipe {

/// Distinct canonical k-mers and how often each was seen.
struct KmerCounts {
  int k = 0;                          ///< 0 only for the empty value merge() treats as neutral
  std::vector<std::uint64_t> codes;   ///< sorted, unique; base i of the k-mer in bits 2(k-1-i)
  std::vector<std::uint32_t> counts;  ///< parallel to codes; saturates at 2^32-1
};

inline bool operator==(const KmerCounts& a, const KmerCounts& b) {
  return a.k == b.k && a.codes == b.codes && a.counts == b.counts;
}

/// The 2-bit code of a k-mer of ACGT (A 0, C 1, G 2, T 3), first base in the high bits.
std::uint64_t kmer_code(const std::string& kmer);
/// The k-mer of a code, for messages and tests.
std::string kmer_string(std::uint64_t code, int k);
/// The code of the reverse complement.
std::uint64_t reverse_complement(std::uint64_t code, int k);

/// Counts every canonical k-mer (the smaller code of a k-mer and its reverse
/// complement) of every read; k-mers with a base other than ACGT are skipped.
/// 1 <= k <= 31, else msa::ConfigError.
KmerCounts count_kmers(const std::vector<Record>& reads, int k);

/// The counts of both. Associative and commutative; a default KmerCounts
/// (k = 0) is neutral. Different k: msa::ConfigError.
KmerCounts merge(const KmerCounts& a, const KmerCounts& b);

/// [m] = number of distinct k-mers seen m times, for 1 <= m < max_multiplicity;
/// [max_multiplicity] = those seen at least max_multiplicity times; [0] = 0.
/// max_multiplicity >= 1, else msa::ConfigError.
std::vector<std::uint64_t> spectrum(const KmerCounts& counts, int max_multiplicity);

}  // namespace biopipe
