#include "history.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "msa/error.hpp"

namespace msa::detail {

namespace {
// Old observations fade: about the last 50 count, so a history written on
// another day or after a code change adapts within one run.
constexpr double forget = 0.98;
}  // namespace

void History::observe(Line& line, double bytes, double seconds) {
  line.n = line.n * forget + 1;
  line.sx = line.sx * forget + bytes;
  line.sy = line.sy * forget + seconds;
  line.sxx = line.sxx * forget + bytes * bytes;
  line.sxy = line.sxy * forget + bytes * seconds;
}

double History::predict(const std::string& kind, const std::string& module, double bytes) const {
  const auto it = m_lines.find({kind, module});
  return it == m_lines.end() ? -1 : predict(it->second, bytes);
}

double History::predict(const Line& l, double bytes) {
  if (l.n <= 0) return -1;
  const double mx = l.sx / l.n, my = l.sy / l.n;
  const double var = l.sxx / l.n - mx * mx;
  // Sizes that vary by more than a few percent: fit the line (a fixed cost
  // plus a cost per byte). A negative fit means noise dominates: fall back.
  if (var > 1e-3 * mx * mx && var > 0) {
    const double slope = (l.sxy / l.n - mx * my) / var;
    const double intercept = my - slope * mx;
    if (slope >= 0 && intercept >= 0) return intercept + slope * bytes;
  }
  // One size seen so far: time proportional to size around it.
  if (mx > 0 && bytes > 0) return my * bytes / mx;
  return my;
}

double History::mean(const std::string& kind, const std::string& module) const {
  const auto it = m_lines.find({kind, module});
  if (it == m_lines.end() || it->second.n <= 0) return -1;
  return it->second.sy / it->second.n;
}

void History::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  parse(text, path);
}

void History::parse(const std::string& text, const std::string& path) {
  try {
    const auto doc = nlohmann::json::parse(text);
    m_lines.clear();
    if (doc.value("format", std::string()) != "msa-task-history-1")
      throw ConfigError("history file '" + path + "': not an msa task history (no \"format\": \"msa-task-history-1\")");
    for (const auto& e : doc.at("entries")) {
      Line line;
      line.n = e.at("n").get<double>();
      line.sx = e.at("sum_bytes").get<double>();
      line.sy = e.at("sum_seconds").get<double>();
      line.sxx = e.at("sum_bytes2").get<double>();
      line.sxy = e.at("sum_bytes_seconds").get<double>();
      if (!(line.n >= 0) || !std::isfinite(line.sy) || line.sy < 0)
        throw ConfigError("history file '" + path + "': entry " + e.dump() + " has invalid sums");
      m_lines[{e.at("kind").get<std::string>(), e.at("module").get<std::string>()}] = line;
    }
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError("history file '" + path + "': " + e.what() + " (delete it to start a new history)");
  }
}

std::string History::dump() const {
  nlohmann::json doc;
  doc["format"] = "msa-task-history-1";
  doc["entries"] = nlohmann::json::array();
  for (const auto& [key, l] : m_lines) {
    if (l.n <= 0) continue;
    doc["entries"].push_back({{"kind", key.first},
                              {"module", key.second},
                              {"n", l.n},
                              {"sum_bytes", l.sx},
                              {"sum_seconds", l.sy},
                              {"sum_bytes2", l.sxx},
                              {"sum_bytes_seconds", l.sxy},
                              {"mean_seconds", l.sy / l.n}});
  }
  return doc.dump(1);
}

void History::save(const std::string& path) const {
  const std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << dump() << '\n';
    out.flush();
    if (!out) throw IoError("history file '" + tmp + "': write failed: " + std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, target, ec);
  if (ec) throw IoError("history file '" + path + "': rename failed: " + ec.message());
}

}  // namespace msa::detail
