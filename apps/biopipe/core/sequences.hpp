#pragma once
// Reading and writing FASTA and FASTQ, plain or gzip.
#include <string>
#include <vector>

namespace biopipe {

/// One sequence: a read or a contig.
struct Record {
  std::string name;      ///< the header line without its '>' or '@'
  std::string sequence;  ///< upper case, ACGTN
  std::string quality;   ///< phred+33, one character per base; empty for FASTA
};

inline bool operator==(const Record& a, const Record& b) {
  return a.name == b.name && a.sequence == b.sequence && a.quality == b.quality;
}
inline bool operator!=(const Record& a, const Record& b) { return !(a == b); }

/// Reads FASTA ('>') or FASTQ ('@'), told apart by the first non-blank
/// character, plain or gzip (detected from the content, not the name).
/// Sequences are upper-cased, multi-line FASTA sequences joined and IUPAC
/// ambiguity codes (RYSWKMBDHV) mapped to N. FASTQ records are four lines
/// (the sequence on one line). Throws msa::ConfigError naming file:line for a
/// missing or unreadable file, an empty file, a file that is neither format,
/// a FASTQ record without its '+' line or with a quality of another length
/// than its sequence, a character that is no base, and a truncated or
/// corrupt gzip stream. Thread-safe.
std::vector<Record> read_sequences(const std::string& path);

/// Writes FASTA with 60 bases per line; gzip when `path` ends in ".gz".
/// Throws msa::ConfigError naming the path when the file cannot be written
/// (no such folder, no permission, disk full).
void write_fasta(const std::string& path, const std::vector<Record>& records);

/// Writes FASTQ (four lines per record); gzip when `path` ends in ".gz".
/// Records without a quality get 'I' (phred 40) for every base. Throws like
/// write_fasta, and when a quality's length differs from its sequence's.
void write_fastq(const std::string& path, const std::vector<Record>& records);

/// The 2-bit code of a base: A 0, C 1, G 2, T 3, anything else 4 (N).
inline int base_code(char c) {
  switch (c) {
    case 'A':
    case 'a':
      return 0;
    case 'C':
    case 'c':
      return 1;
    case 'G':
    case 'g':
      return 2;
    case 'T':
    case 't':
      return 3;
    default:
      return 4;
  }
}

}  // namespace biopipe
