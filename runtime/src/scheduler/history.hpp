#pragma once
// Execution-time history of task kinds per module: a least-squares line
// t = a + b * bytes with exponential forgetting, persisted as JSON.

#include <map>
#include <string>
#include <utility>

namespace msa::detail {

class History {
 public:
  /// Weighted sums of one (kind, module) pair.
  struct Line {
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  };
  /// The sums of (kind, module), created empty if new; the reference stays valid.
  Line& line(const std::string& kind, const std::string& module) { return m_lines[{kind, module}]; }
  static void observe(Line& line, double bytes, double seconds);
  /// Expected time for `bytes`, or a negative number when never observed.
  static double predict(const Line& line, double bytes);

  /// The expected time, or a negative number when the pair was never observed.
  double predict(const std::string& kind, const std::string& module, double bytes) const;
  /// Mean observed time of `kind` on `module` (negative if never observed).
  double mean(const std::string& kind, const std::string& module) const;

  /// Reads `path` (missing file: empty history). Throws ConfigError naming the
  /// file for malformed content.
  void load(const std::string& path);
  /// Writes `path` atomically (temporary file + rename). Throws IoError.
  void save(const std::string& path) const;

  /// The history as JSON text, and back (`source` names it in errors).
  std::string dump() const;
  void parse(const std::string& text, const std::string& source);

 private:
  std::map<std::pair<std::string, std::string>, Line> m_lines;
};

}  // namespace msa::detail
