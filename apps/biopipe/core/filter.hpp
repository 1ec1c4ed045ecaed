#pragma once
// The quality and length filter of reads.
#include <cstdint>
#include <vector>

#include "sequences.hpp"

namespace biopipe {

struct FilterConfig {
  int min_length = 50;           ///< after trimming
  double min_mean_quality = 20;  ///< phred, after trimming; reads without qualities pass
  int trim_quality = 0;          ///< trim the 3' tail of bases below this phred; 0 = off
};

struct FilterStats {
  std::int64_t reads_in = 0, reads_out = 0, bases_in = 0, bases_out = 0;
  FilterStats& operator+=(const FilterStats& other) {
    reads_in += other.reads_in;
    reads_out += other.reads_out;
    bases_in += other.bases_in;
    bases_out += other.bases_out;
    return *this;
  }
};

inline bool operator==(const FilterStats& a, const FilterStats& b) {
  return a.reads_in == b.reads_in && a.reads_out == b.reads_out && a.bases_in == b.bases_in &&
         a.bases_out == b.bases_out;
}

/// The reads that pass, trimmed, in input order. Qualities are phred+33.
/// Adds this call's counts to `stats` (so one FilterStats can total chunks).
std::vector<Record> filter_reads(const std::vector<Record>& reads, const FilterConfig& config, FilterStats& stats);

}  // namespace biopipe
