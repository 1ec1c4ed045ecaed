#pragma once
// The record each rank's `msa exec` wrapper leaves in the run directory when
// its program ends, and `msa run` reads to name the first failure and print
// the summary. One JSON file per rank: <run_dir>/status/rank.<world rank>.

#include <optional>
#include <string>
#include <vector>

namespace msa::tools {

struct RankStatus {
  std::string component;
  int rank = 0;  ///< rank within the component
  int world_rank = 0;
  std::string host;
  int exit_code = 0;  ///< the program's exit code, or 128 + signal
  int signal = 0;     ///< the signal that ended it, 0 if it exited
  double start = 0;   ///< seconds since the epoch
  double end = 0;
};

/// Writes the record atomically (temporary file + rename). Throws IoError.
void write_rank_status(const std::string& run_dir, const RankStatus& status);

/// All records present now (unreadable or half-written files are skipped).
std::vector<RankStatus> read_rank_statuses(const std::string& run_dir);

/// Seconds since the epoch, as a double.
double now_seconds();

}  // namespace msa::tools
