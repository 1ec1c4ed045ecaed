#include "rank_status.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "msa/error.hpp"

namespace msa::tools {

namespace fs = std::filesystem;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void write_rank_status(const std::string& run_dir, const RankStatus& s) {
  const fs::path dir = fs::path(run_dir) / "status";
  std::error_code ec;
  fs::create_directories(dir, ec);
  const nlohmann::json j = {
      {"component", s.component}, {"rank", s.rank},     {"world_rank", s.world_rank}, {"host", s.host},
      {"exit_code", s.exit_code}, {"signal", s.signal}, {"start", s.start},           {"end", s.end}};
  const fs::path final_path = dir / fmt::format("rank.{}", s.world_rank);
  const fs::path tmp = dir / fmt::format(".rank.{}.tmp", s.world_rank);
  {
    std::ofstream out(tmp);
    out << j.dump() << '\n';
    if (!out) throw IoError(fmt::format("cannot write rank status {}: {}", tmp.string(), std::strerror(errno)));
  }
  fs::rename(tmp, final_path, ec);
  if (ec) throw IoError(fmt::format("cannot rename {} to {}: {}", tmp.string(), final_path.string(), ec.message()));
}

std::vector<RankStatus> read_rank_statuses(const std::string& run_dir) {
  std::vector<RankStatus> out;
  const fs::path dir = fs::path(run_dir) / "status";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("rank.", 0) != 0) continue;
    std::ifstream in(it->path());
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    RankStatus s;
    s.component = j.value("component", "");
    s.rank = j.value("rank", 0);
    s.world_rank = j.value("world_rank", 0);
    s.host = j.value("host", "");
    s.exit_code = j.value("exit_code", 0);
    s.signal = j.value("signal", 0);
    s.start = j.value("start", 0.0);
    s.end = j.value("end", 0.0);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace msa::tools
