#pragma once
// biopipe's pipeline file (TOML): inputs, synthetic data, and the settings of
// each stage. Every mistake is an msa::ConfigError "<file>:<line>:<col>: ...".
//
//   [input]      reference = "ref.fa", reads = ["a.fq.gz", ...], chunk_reads = 2000
//   [synthetic]  seed, contigs, contig_length, reads, read_length, ... (make the inputs when missing)
//   [filter]     min_length, min_mean_quality, trim_quality
//   [kmers]      k, max_multiplicity
//   [align]      window, overlap, seed_k, seed_stride, max_candidates, min_seed_hits,
//                match, mismatch, n_score, gap_open, gap_extend, min_score, histogram_bin
//   [output]     dir
// Relative paths are taken from the directory the program runs in.

#include <optional>
#include <string>
#include <vector>

#include "core.hpp"

namespace biopipe {

struct AlignConfig {
  std::int64_t window = 2000;
  std::int64_t overlap = 200;
  int seed_k = 15;
  int seed_stride = 4;
  int max_candidates = 2;
  int min_seed_hits = 2;
  Scoring scoring;
  int min_score = 40;
  int histogram_bin = 10;
};

struct Pipeline {
  std::string source;  ///< the file it was read from
  std::string name = "biopipe";
  std::string reference;
  std::vector<std::string> reads;
  std::int64_t chunk_reads = 2000;
  std::optional<GeneratorConfig> synthetic;
  FilterConfig filter;
  int kmer_k = 21;
  int max_multiplicity = 64;
  AlignConfig align;
  std::string output_dir = "biopipe-output";
};

/// Reads and checks a pipeline file. Not collective.
Pipeline load_pipeline(const std::string& path);
/// Parses pipeline text; `source` names it in errors.
Pipeline parse_pipeline(const std::string& text, const std::string& source);

}  // namespace biopipe
