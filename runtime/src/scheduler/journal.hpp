#pragma once
// The journal of completed tasks: one append-only file per rank
// (<dir>/journal.<rank>.bin) of checksummed records (task name, fingerprint,
// output). A process killed while writing leaves at most one torn record at
// the end of its file, which the checksums detect; the records before it
// stay valid. (HDF5 1.10 files are not safe against a kill in the middle of
// a write, which is why the journal is not an HDF5 file.)

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace msa::detail {

/// Where a journaled output lives.
struct JournalEntry {
  std::uint64_t fingerprint = 0;
  std::int32_t file = -1;  ///< index into JournalIndex::files
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

struct JournalIndex {
  std::vector<std::string> files;
  std::vector<std::uint64_t> valid_bytes;       ///< per file: end of its last valid record
  std::map<std::string, JournalEntry> entries;  ///< by task name (the newest record wins)
  std::vector<std::string> warnings;
};

/// Scans every journal.*.bin in `dir` (missing dir: empty index). Not collective.
JournalIndex scan_journal(const std::string& dir);

/// Reads one output back (verifying its checksum). Throws IoError.
std::vector<std::uint8_t> read_journal_entry(const std::string& file, const JournalEntry& entry);

/// This rank's journal file, opened for appending after truncating any torn
/// record (`valid_bytes`, from scan_journal; negative: the file is new).
class JournalWriter {
 public:
  JournalWriter(const std::string& dir, int rank, std::int64_t valid_bytes);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  /// Appends a record. Thread-compatible (one writer). Throws IoError (disk
  /// full, ...) naming the file and the task.
  void append(const std::string& name, std::uint64_t fingerprint, const std::vector<std::uint8_t>& output);
  /// fsync: called at the end of a run.
  void sync();

 private:
  std::string m_path;
  int m_fd = -1;
};

}  // namespace msa::detail
