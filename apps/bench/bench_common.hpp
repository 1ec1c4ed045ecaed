#pragma once
// What the benchmarks share: medians, DESIGN's JSON records and their file.
// Each benchmark prints its own line per record.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <msa/error.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace msa::bench {

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Waits for every rank of MPI_COMM_WORLD without keeping a core busy (ranks
/// idle in a case must not slow the ones measured).
inline void sleepy_barrier() {
  MPI_Request r;
  MPI_Ibarrier(MPI_COMM_WORLD, &r);
  int done = 0;
  while (!done) {
    MPI_Test(&r, &done, MPI_STATUS_IGNORE);
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

/// "  goal >= 0.95" (or <=), for the printed line.
inline std::string goal_text(const std::string& better, double goal) {
  char b[64];
  std::snprintf(b, sizeof b, "  goal %s %.2f", better == "higher" ? ">=" : "<=", goal);
  return b;
}

/// One record with DESIGN's keys; `ratio` is msa / baseline; `goal` only when > 0.
inline nlohmann::json make_record(const std::string& bench, const std::string& case_name, const std::string& metric,
                                  const std::string& unit, double msa, double baseline,
                                  const std::string& baseline_name, const std::string& better, double goal) {
  nlohmann::json r = {{"bench", bench},
                      {"case", case_name},
                      {"metric", metric},
                      {"unit", unit},
                      {"msa", msa},
                      {"baseline", baseline},
                      {"baseline_name", baseline_name},
                      {"ratio", baseline > 0 ? msa / baseline : 0},
                      {"better", better}};
  if (goal > 0) r["goal"] = goal;
  return r;
}

/// Writes the records as a JSON array to `file` (IoError if it cannot) and says so.
inline void write_records(const nlohmann::json& records, const std::string& file) {
  std::ofstream out(file);
  out << records.dump(2) << "\n";
  if (!out) throw msa::IoError("cannot write " + file);
  std::printf("records written to %s\n", file.c_str());
}

}  // namespace msa::bench
